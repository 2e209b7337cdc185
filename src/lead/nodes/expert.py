"""LEAD's expert autopilot node: privileged state from the carla-ros-bridge topics in,
control + /lead/plan + /lead/expert/labels out, one answer per tick stamp (lock-step).

Inputs: /carla/world_info (OpenDRIVE, parsed once per map name), /lead/route (latched),
/carla/objects, /carla/actor_list, /carla/traffic_lights/status, and the ego's odometry,
vehicle_status and vehicle_info. A tick is handled when its odometry, objects and vehicle
status (same stamp) have all arrived; a re-sent tick is answered with the same command and
nothing is stepped twice; a stamp older than the last one means a new route (the world
restarted its clock), so the expert starts again. Any failure is logged and answered with
a full brake, never a crash.

Parameters: config (expert YAML, default config/expert.yaml), role_name (ego_vehicle).
"""
from __future__ import annotations

import math
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns, make_header
from lead.nodes._spin import run_node
from lead.sim import decode
from lead.sim import messages as M

PENDING = 8  # incomplete tick stamps kept


@dataclass
class RouteInput:
    """A /lead/route message in CARLA's frame, as the expert library takes it."""
    route_id: str
    town: str
    dense: list  # [((x, y, z), road_option)]
    hints: list  # ScenarioHint


def route_input(msg) -> RouteInput:
    from lead.expert import ScenarioHint

    dense = [((p.pose.position.x, -p.pose.position.y, p.pose.position.z), int(p.road_option)) for p in msg.dense]
    hints = []
    for s in msg.scenarios:
        params = {kv.key: dict(item.split("=", 1) for item in kv.value.split(",") if "=" in item)
                  for kv in s.parameters}
        t = s.trigger.position
        hints.append(ScenarioHint(s.type, (t.x, -t.y, t.z), params))
    return RouteInput(msg.route_id, msg.town, dense, hints)


def town_name(name: str) -> str:
    """'Carla/Maps/Town01' (CARLA's world info) and 'Town01' name the same town."""
    return os.path.basename(str(name).rstrip("/"))


def _points(xy: np.ndarray):
    """CARLA ego frame (x forward, y right) -> REP-103 geometry_msgs/Point list (y left)."""
    from geometry_msgs.msg import Point

    return [Point(x=float(p[0]), y=-float(p[1]), z=0.0) for p in np.asarray(xy, dtype=float).reshape(-1, 2)]


def _point(xy):
    return _points(np.asarray(xy, dtype=float)[:2])[0]


class ExpertNode(Node):
    def __init__(self) -> None:
        super().__init__("expert")
        from carla_msgs.msg import (CarlaActorList, CarlaEgoVehicleControl, CarlaEgoVehicleInfo,
                                    CarlaEgoVehicleStatus, CarlaTrafficLightStatusList, CarlaWorldInfo)
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import ExpertLabels, Plan, Route
        from nav_msgs.msg import Odometry

        from lead.expert import load_expert_config

        path = str(self.declare_parameter("config", "config/expert.yaml").value)
        role = str(self.declare_parameter("role_name", "ego_vehicle").value)
        self.config = load_expert_config(path or None)  # a bad file stops the node with the file's name
        self.maps: dict[str, object] = {}  # town -> lead.world Map
        self.map_name = ""
        self.opendrive = ""
        self.route: RouteInput | None = None
        self.expert = None
        self.ego_id: int | None = None
        self.types: dict[int, str] = {}
        self.roles: dict[int, str] = {}
        self.lights: dict[int, int] = {}
        self.pending: OrderedDict[int, list] = OrderedDict()
        self.last_stamp, self.last_out = -1, None
        self.ticks = 0
        self.pub_control = self.create_publisher(CarlaEgoVehicleControl, f"/carla/{role}/vehicle_control_cmd",
                                                 qos.SENSOR)
        self.pub_plan = self.create_publisher(Plan, "/lead/plan", qos.SENSOR)
        self.pub_labels = self.create_publisher(ExpertLabels, "/lead/expert/labels", qos.SENSOR)
        self.create_subscription(CarlaWorldInfo, "/carla/world_info", self._on_world_info, qos.LATCHED)
        self.create_subscription(Route, "/lead/route", self._on_route, qos.LATCHED)
        self.create_subscription(CarlaActorList, "/carla/actor_list", self._on_actor_list, qos.LATCHED)
        self.create_subscription(CarlaEgoVehicleInfo, f"/carla/{role}/vehicle_info",
                                 lambda m: setattr(self, "ego_id", int(m.id)), qos.LATCHED)
        self.create_subscription(CarlaTrafficLightStatusList, "/carla/traffic_lights/status", self._on_lights,
                                 qos.SENSOR)
        self.create_subscription(Odometry, f"/carla/{role}/odometry", lambda m: self._add(0, m), qos.SENSOR)
        self.create_subscription(ObjectArray, "/carla/objects", lambda m: self._add(1, m), qos.SENSOR)
        self.create_subscription(CarlaEgoVehicleStatus, f"/carla/{role}/vehicle_status", lambda m: self._add(2, m),
                                 qos.SENSOR)
        self.get_logger().info(f"expert ready: config {path}")

    # ------------------------------------------------------------------ latched inputs
    def _on_world_info(self, msg) -> None:
        name = town_name(msg.map_name)
        if name != self.map_name or msg.opendrive != self.opendrive:
            self.map_name, self.opendrive = name, msg.opendrive
            self.expert = None

    def _map(self):
        m = self.maps.get(self.map_name)
        if m is None:
            from lead.world.map import Map

            m = Map.from_string(self.opendrive, self.map_name)
            self.maps = {self.map_name: m}  # the map of the town being driven; a town change parses again
            self.get_logger().info(f"parsed the OpenDRIVE map of {self.map_name}")
        return m

    def _on_route(self, msg) -> None:
        try:
            self.route = route_input(msg)
        except Exception as e:  # noqa: BLE001 — a bad route: keep braking, say why
            self.route = None
            self.get_logger().error(f"route {getattr(msg, 'route_id', '?')}: cannot read it: {e}")
        self.expert = None
        if self.route is not None:
            self.get_logger().info(f"route {msg.route_id} on {msg.town}: {len(msg.dense)} points, "
                                   f"{len(msg.scenarios)} scenarios")

    def _on_actor_list(self, msg) -> None:
        self.types, self.roles = decode.actor_types(msg)

    def _on_lights(self, msg) -> None:
        try:
            self.lights = decode.traffic_light_states(msg)
        except Exception as e:  # noqa: BLE001
            self.get_logger().error(f"/carla/traffic_lights/status: {e}", throttle_duration_sec=5.0)

    # ------------------------------------------------------------------ ticks
    def _add(self, i: int, msg) -> None:
        try:
            stamp = header_stamp_ns(msg)
        except TypeError:
            self.get_logger().error("a tick message without a header stamp", throttle_duration_sec=5.0)
            return
        slots = self.pending.setdefault(stamp, [None, None, None])
        slots[i] = msg
        if all(s is not None for s in slots):
            del self.pending[stamp]
            self._tick(stamp, *slots)
        while len(self.pending) > PENDING:
            self.pending.popitem(last=False)

    def _tick(self, stamp: int, odom, objects, status) -> None:
        if stamp == self.last_stamp:  # the world re-sent a tick: answer again, do not step twice
            for pub, msg in zip((self.pub_plan, self.pub_labels, self.pub_control), self.last_out):
                if msg is not None:
                    pub.publish(msg)
            return
        if stamp < self.last_stamp:  # the sim clock went back: a new route
            self.expert = None
            self.ticks = 0
        plan = labels = None
        try:
            out = self._step(stamp, odom, objects, status)
            if out is None:
                from lead.control.vehicle_control import VehicleControl

                control = M.vehicle_control(VehicleControl(brake=1.0), stamp)
            else:
                control = M.vehicle_control(out.control, stamp)
                plan, labels = self._plan_msg(out, stamp), self._labels_msg(out, stamp)
        except Exception as e:  # noqa: BLE001 — never crash on a bad tick: brake and say why
            import traceback

            self.get_logger().error(f"tick t={stamp / 1e9:.2f}: {e}\n{traceback.format_exc()}",
                                    throttle_duration_sec=5.0)
            from lead.control.vehicle_control import VehicleControl

            control = M.vehicle_control(VehicleControl(brake=1.0), stamp)
            plan = labels = None
        self.last_stamp, self.last_out = stamp, (plan, labels, control)
        # plan and labels first: a recorder or a test sees them before the world steps on
        for pub, msg in zip((self.pub_plan, self.pub_labels, self.pub_control), self.last_out):
            if msg is not None:
                pub.publish(msg)

    def _step(self, stamp: int, odom, objects, status):
        if self.route is None or not self.opendrive:
            return None
        if town_name(self.route.town) != self.map_name:
            self.get_logger().warning(f"route {self.route.route_id} is on {self.route.town} but the world has "
                                      f"{self.map_name}: braking", throttle_duration_sec=5.0)
            return None
        if self.expert is None:
            from lead.expert import Expert

            self.expert = Expert(self._map(), self.route.dense, self.config, self.route.hints)
            self.ticks = 0
        pose, vel, _ = decode.odometry(odom)
        if not all(math.isfinite(v) for v in (*pose, *vel)):
            raise ValueError(f"odometry with a non-finite pose or velocity: {pose}, {vel}")
        actors = [a for a in decode.objects(objects, self.types)
                  if all(math.isfinite(v) for v in (*a.transform, *a.velocity, *a.extent))]
        ego_id = self.ego_id
        if ego_id is None:
            ego_id = next((i for i, r in self.roles.items() if r == "ego_vehicle"), None)
        extent = next((a.extent for a in actors if a.id == ego_id), None)
        speed = float(status.velocity)
        if not math.isfinite(speed):
            speed = vel[0] * math.cos(math.radians(pose[5])) + vel[1] * math.sin(math.radians(pose[5]))
        ego = SimpleNamespace(id=ego_id, transform=pose, velocity=vel, speed=speed, extent=extent)
        self.ticks += 1
        out = self.expert.step(stamp / 1e9, ego, actors, self.lights, self.roles)
        ob = self.expert.obstacles.active
        if ob is not getattr(self, "_obstacle", None):
            self._obstacle = ob
            if ob is not None:
                self.get_logger().info(f"obstacle {ob.type}: actors {list(ob.ids)}, passing on the "
                                       f"{'left' if ob.to_left else 'right'}")
        c = out.control
        if not all(math.isfinite(v) for v in (c.throttle, c.steer, c.brake)):
            raise ValueError(f"the expert computed a non-finite control {c}")
        return out

    # ------------------------------------------------------------------ outputs
    def _plan_msg(self, out, stamp: int):
        from lead_msgs.msg import Plan

        p, lab = out.plan, out.labels
        return Plan(header=make_header(stamp, "ego_vehicle"), source="expert", waypoints=_points(p.waypoints),
                    waypoint_dt=float(p.waypoint_dt), route_checkpoints=_points(p.route_checkpoints),
                    target_speed=float(p.target_speed), emergency_brake=bool(lab.brake),
                    brake_reason=lab.brake_reason.name.lower() if int(lab.brake_reason) else "")

    def _labels_msg(self, out, stamp: int):
        from lead_msgs.msg import ExpertLabels

        lab = out.labels
        return ExpertLabels(
            header=make_header(stamp, "ego_vehicle"), target_speed=float(lab.target_speed),
            target_speed_class=int(lab.target_speed_class), brake_reason=int(lab.brake_reason), brake=bool(lab.brake),
            speed_limit=float(lab.speed_limit), ego_speed=float(lab.ego_speed),
            future_waypoints=_points(lab.future_waypoints), route_checkpoints=_points(lab.route_checkpoints),
            target_point=_point(lab.target_point), target_point_previous=_point(lab.target_point_previous),
            target_point_next=_point(lab.target_point_next), command=int(lab.command),
            next_command=int(lab.next_command), in_junction=bool(lab.in_junction),
            changing_lane=bool(lab.changing_lane), scenario_type=str(lab.scenario_type))


def main(argv: list[str] | None = None) -> int:
    return run_node(ExpertNode, argv)


if __name__ == "__main__":
    sys.exit(main())
