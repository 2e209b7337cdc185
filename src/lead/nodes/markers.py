"""Markers node: the contract's topics -> visualization_msgs/MarkerArray on /lead/markers
(route, route ahead, plan, ego, ground-truth and detected boxes, lights, infractions) for
RViz (config/lead.rviz) and Foxglove. Frames, namespaces and lifetimes: lead.viz.markers."""
from __future__ import annotations

import sys

from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.nodes._spin import run_node
from lead.viz import markers as VM
from lead.viz.scene import DETECTIONS_TOPIC, Scene


class MarkersNode(Node):
    def __init__(self) -> None:
        super().__init__("markers")
        from carla_msgs.msg import CarlaEgoVehicleInfo, CarlaTrafficLightInfoList, CarlaTrafficLightStatusList
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import Infraction, Plan, Route, RouteStatus
        from nav_msgs.msg import Odometry
        from visualization_msgs.msg import MarkerArray

        role = str(self.declare_parameter("role_name", "ego_vehicle").value)
        self.period_ns = int(float(self.declare_parameter("period", 0.1).value) * 1e9)      # sim seconds
        self.lifetime = float(self.declare_parameter("lifetime", 0.5).value)
        self.route_every_ns = int(float(self.declare_parameter("route_period", 1.0).value) * 1e9)
        self.scene = Scene(role=role)
        self.last_pub = self.last_route_pub = None
        self.route_dirty = self.infractions_dirty = False
        self.pub = self.create_publisher(MarkerArray, "/lead/markers", qos.SENSOR)
        sub = self.create_subscription
        r = f"/carla/{role}/"
        sub(Odometry, r + "odometry", self._on_odom, qos.SENSOR)
        sub(CarlaEgoVehicleInfo, r + "vehicle_info", lambda m: self._take(r + "vehicle_info", m), qos.LATCHED)
        sub(ObjectArray, "/carla/objects", lambda m: self._take("/carla/objects", m), qos.SENSOR)
        sub(ObjectArray, DETECTIONS_TOPIC, lambda m: self._take(DETECTIONS_TOPIC, m), qos.SENSOR)
        sub(CarlaTrafficLightStatusList, "/carla/traffic_lights/status",
            lambda m: self._take("/carla/traffic_lights/status", m), qos.SENSOR)
        sub(CarlaTrafficLightInfoList, "/carla/traffic_lights/info",
            lambda m: self._take("/carla/traffic_lights/info", m), qos.LATCHED)
        sub(Route, "/lead/route", self._on_route, qos.LATCHED)
        sub(Plan, "/lead/plan", lambda m: self._take("/lead/plan", m), qos.SENSOR)
        sub(Infraction, "/lead/leaderboard/event", self._on_event, qos.SENSOR)
        sub(RouteStatus, "/lead/leaderboard/status", lambda m: self._take("/lead/leaderboard/status", m), qos.SENSOR)
        self.MarkerArray = MarkerArray

    def _take(self, topic: str, msg) -> None:
        self.scene.update(topic, msg, self.scene.time_ns)

    def _on_route(self, msg) -> None:
        new = msg.route_id != self.scene.route_id
        self._take("/lead/route", msg)
        if new:  # another route: clear the last one's markers (its infractions have no lifetime)
            self.pub.publish(self.MarkerArray(markers=[VM.delete_all(self.scene.time_ns)]))
        self.route_dirty = True

    def _on_event(self, msg) -> None:
        self.scene.update("/lead/leaderboard/event", msg, header_stamp_ns(msg) or self.scene.time_ns)
        self.infractions_dirty = True

    def _on_odom(self, msg) -> None:
        t = header_stamp_ns(msg)
        if self.last_pub is not None and t < self.last_pub:  # sim time went back: the world loaded a route
            self.last_pub = self.last_route_pub = None
        self.scene.update(f"/carla/{self.scene.role}/odometry", msg, t)
        if self.last_pub is not None and t - self.last_pub < self.period_ns:
            return
        self.last_pub = t
        markers = VM.tick_markers(self.scene, t, self.lifetime)
        if self.route_dirty or self.last_route_pub is None or t - self.last_route_pub >= self.route_every_ns:
            markers += VM.route_markers(self.scene, t)
            markers += VM.infraction_markers(self.scene, t)
            self.last_route_pub, self.route_dirty, self.infractions_dirty = t, False, False
        elif self.infractions_dirty:
            markers += VM.infraction_markers(self.scene, t)
            self.infractions_dirty = False
        if markers:
            self.pub.publish(self.MarkerArray(markers=markers))


def main(argv: list[str] | None = None) -> int:
    return run_node(MarkersNode, argv)


if __name__ == "__main__":
    sys.exit(main())
