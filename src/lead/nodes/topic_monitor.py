"""Reports message rates of topics (what `ros2 topic hz` gives on a full ROS 2 install).

Parameters: topics (list; empty = every topic it discovers), period (s between reports).
Types are discovered from the graph, so any installed message type works.
"""
from __future__ import annotations

import sys
import time

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from lead.nodes._spin import message_class, run_node


class TopicMonitor(Node):
    def __init__(self) -> None:
        super().__init__("topic_monitor")
        self.wanted = list(self.declare_parameter("topics", [""]).value or [])
        self.wanted = [t for t in self.wanted if t]
        period = float(self.declare_parameter("period", 1.0).value)
        self.counts: dict[str, int] = {}
        self.subs = {}
        self.t0 = time.monotonic()
        self.create_timer(period, self._report)

    def _discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self.subs or (self.wanted and topic not in self.wanted):
                continue
            try:
                cls = message_class(types[0])
            except (ImportError, AttributeError, ValueError):
                continue
            self.counts[topic] = 0
            self.subs[topic] = self.create_subscription(
                cls, topic, lambda _m, t=topic: self._count(t), qos_profile_sensor_data)

    def _count(self, topic: str) -> None:
        self.counts[topic] += 1

    def _report(self) -> None:
        self._discover()
        dt = time.monotonic() - self.t0
        self.t0 = time.monotonic()
        if not self.counts:
            self.get_logger().info("waiting for topics" + (f": {', '.join(self.wanted)}" if self.wanted else ""))
            return
        rates = ", ".join(f"{t} {n / dt:.1f} Hz" for t, n in sorted(self.counts.items()))
        self.get_logger().info(rates)
        for t in self.counts:
            self.counts[t] = 0


def main(argv: list[str] | None = None) -> int:
    return run_node(TopicMonitor, argv)


if __name__ == "__main__":
    sys.exit(main())
