"""Route-follower agent node (the blind baseline): /lead/route + odometry -> control, one
command per tick, stamped with the tick it answers (the world's lock-step)."""
from __future__ import annotations

import sys

import numpy as np
from rclpy.node import Node

from lead.control.route_follower import RouteFollower
from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.nodes._spin import run_node
from lead.sim import decode
from lead.sim import messages as M


class RouteFollowerNode(Node):
    def __init__(self) -> None:
        super().__init__("route_follower")
        from carla_msgs.msg import CarlaEgoVehicleControl
        from lead_msgs.msg import Route
        from nav_msgs.msg import Odometry

        self.target_speed = float(self.declare_parameter("target_speed", 6.0).value)
        role = str(self.declare_parameter("role_name", "ego_vehicle").value)
        self.follower: RouteFollower | None = None
        self.route_id = ""
        self.last_stamp, self.last_msg = -1, None
        self.pub = self.create_publisher(CarlaEgoVehicleControl, f"/carla/{role}/vehicle_control_cmd", qos.SENSOR)
        self.create_subscription(Route, "/lead/route", self._on_route, qos.LATCHED)
        self.create_subscription(Odometry, f"/carla/{role}/odometry", self._on_odom, qos.SENSOR)

    def _on_route(self, msg) -> None:
        xy = np.array([[p.pose.position.x, -p.pose.position.y] for p in msg.dense])  # CARLA frame
        self.follower = RouteFollower(xy, self.target_speed)
        self.route_id = msg.route_id
        self.get_logger().info(f"route {msg.route_id}: {len(msg.dense)} points")

    def _on_odom(self, msg) -> None:
        from lead.control.vehicle_control import VehicleControl

        stamp = header_stamp_ns(msg)
        if stamp == self.last_stamp:  # the world re-sent a tick: answer again, do not step twice
            self.pub.publish(self.last_msg)
            return
        if self.follower is None:
            control = VehicleControl(brake=1.0)
        else:
            pose, vel, _ = decode.odometry(msg)
            speed = float(np.hypot(vel[0], vel[1]))
            control = self.follower.step(pose[0], pose[1], pose[5], speed)
        self.last_stamp, self.last_msg = stamp, M.vehicle_control(control, stamp)
        self.pub.publish(self.last_msg)


def main(argv: list[str] | None = None) -> int:
    return run_node(RouteFollowerNode, argv)


if __name__ == "__main__":
    sys.exit(main())
