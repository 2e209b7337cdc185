"""Publishes /clock at a fixed wall-clock rate (a stand-in world for tests and the smoke graph).

Parameters: rate (Hz of wall time), step (sim seconds per tick, default 1/rate),
duration (sim seconds after which the node exits; 0 = run forever).
"""
from __future__ import annotations

import sys

import rclpy
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from lead.nodes._spin import run_node


class ClockSource(Node):
    def __init__(self) -> None:
        super().__init__("clock_source")
        rate = float(self.declare_parameter("rate", 20.0).value)
        step = float(self.declare_parameter("step", 0.0).value) or 1.0 / rate
        self.duration = float(self.declare_parameter("duration", 0.0).value)
        self.step_ns = int(round(step * 1e9))
        self.now_ns = 0
        self.pub = self.create_publisher(Clock, "/clock", 10)
        self.create_timer(1.0 / rate, self._tick)
        self.get_logger().info(f"publishing /clock at {rate:g} Hz, {step:g} s per tick")

    def _tick(self) -> None:
        self.now_ns += self.step_ns
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(self.now_ns, 1_000_000_000)
        self.pub.publish(msg)
        if self.duration and self.now_ns >= self.duration * 1e9:
            self.get_logger().info(f"reached {self.duration:g} s of sim time")
            rclpy.shutdown()


def main(argv: list[str] | None = None) -> int:
    return run_node(ClockSource, argv)


if __name__ == "__main__":
    sys.exit(main())
