"""rclpy nodes inside the test process, on the test's ROS_DOMAIN_ID.

They are never destroyed during the run. Fast DDS 3.2 (ros-fastdds 3.2.3) can deadlock for
good while deleting a participant that has LARGE_DATA's TCP transport (lead's transport until
stop 16; kept this way in case a run chooses it again) (seen here: the test
process stuck in TCPChannelResourceBasic::disconnect under rcl_node_fini, where pytest-timeout's
signal never fires; cf. eProsima/Fast-DDS#2010 and #6066). A participant lives as long as its
context has a node, so each in-process node gets its own context; close() stops spinning and
drops the node's endpoints (nothing is delivered to it any more), and the participant stays
until the process ends: tests/conftest.py ends a run that made any with os._exit, so
interpreter teardown never deletes one either."""
from __future__ import annotations

import threading

KEPT: list = []  # closed nodes, alive until the process exits


class TestNode:
    __test__ = False  # not a pytest test class

    def __init__(self, name: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        self.context.init()
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def spin_once(self, timeout_sec: float = 0.05) -> None:
        self.executor.spin_once(timeout_sec=timeout_sec)

    def spin_in_thread(self) -> None:
        def spin() -> None:
            while not self._stop.is_set():
                self.executor.spin_once(timeout_sec=0.02)

        self._thread = threading.Thread(target=spin, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        n = self.node
        for sub in list(n.subscriptions):
            n.destroy_subscription(sub)
        for pub in list(n.publishers):
            if pub.topic_name not in ("/rosout", "/parameter_events"):
                n.destroy_publisher(pub)
        for timer in list(n.timers):
            n.destroy_timer(timer)
        KEPT.append(self)
