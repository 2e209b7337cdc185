"""Helpers for the policy tests: start lead nodes as real processes, and an rclpy peer in the
test process that publishes and records."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any, Callable

from lead.graphs import NodeSpec, ros_arguments
from lead.runner import node_environment


def start_node(module: str, name: str, params: dict[str, Any], use_sim_time: bool = True) -> subprocess.Popen:
    spec = NodeSpec(name, module, params, use_sim_time=use_sim_time)
    return subprocess.Popen([sys.executable, "-m", module, *ros_arguments(spec)], env=node_environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(procs: list[subprocess.Popen], timeout: float = 10.0) -> dict[int, str]:
    """SIGINT every process, wait, kill stragglers; returns pid -> output."""
    import signal

    out = {}
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            o, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            o, _ = p.communicate()
        out[p.pid] = o or ""
    return out


class Peer:
    """An rclpy node spun in a thread; `record(type, topic)` keeps every message heard."""

    def __init__(self, name: str = "policy_test_peer") -> None:
        from tests.dds import TestNode

        self._test_node = TestNode(name)
        self.node = self._test_node.node
        self.got: dict[str, list] = {}
        self.lock = threading.Lock()
        self._test_node.spin_in_thread()

    def record(self, msg_type, topic: str, qos) -> None:
        self.got[topic] = []

        def keep(m, t=topic):
            with self.lock:
                self.got[t].append(m)
        self.node.create_subscription(msg_type, topic, keep, qos)

    def messages(self, topic: str) -> list:
        with self.lock:
            return list(self.got[topic])

    def wait_for(self, pred: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")

    def close(self) -> None:
        self._test_node.close()
