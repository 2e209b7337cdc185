"""A Scene as visualization_msgs/MarkerArray for RViz and Foxglove (/lead/markers).

Frames follow DESIGN.md's TF tree (map -> ego_vehicle -> sensors): world things (route,
ground-truth boxes, lights, infractions) in "map"; things that belong to the car (its box,
the plan, the route ahead) in "ego_vehicle", so they move with the ego through TF.
REP-103 throughout (the Scene keeps CARLA's frame; y and yaw are mirrored here).

Namespaces and lifetimes:
  route         map          LINE_STRIP of the whole route       forever (re-sent every second)
  route_ahead   ego_vehicle  LINE_STRIP, next ROUTE_AHEAD_M m    `lifetime`
  plan          ego_vehicle  LINE_STRIP + SPHERE_LIST waypoints  `lifetime`
  ego           ego_vehicle  CUBE of the ego (+ target speed)    `lifetime`
  objects       map          CUBE per ground-truth actor         `lifetime`
  detections    map          CUBE per detected object            `lifetime`
  lights        map          SPHERE per traffic light, by state  `lifetime`
  infractions   map          SPHERE + TEXT per infraction        forever (cleared on a new route)
"""
from __future__ import annotations

import math

import numpy as np

from lead.frames import carla_rotation_to_ros_quaternion
from lead.io.stamps import make_header
from lead.viz.scene import LIGHT_NAMES, Scene

MAP, EGO = "map", "ego_vehicle"
NAMESPACES = ("route", "route_ahead", "plan", "ego", "objects", "detections", "lights", "infractions")
ROUTE_AHEAD_M = 30.0
EGO_EXTENT = (2.45, 1.05, 0.75)  # half extents of the default ego (lincoln mkz 2020)
# RGBA
_LIGHT_RGBA = {0: (0.9, 0.1, 0.1, 1.0), 1: (1.0, 0.8, 0.0, 1.0), 2: (0.1, 0.9, 0.2, 1.0), 3: (0.4, 0.4, 0.4, 1.0),
               4: (0.4, 0.4, 0.4, 1.0)}


def _duration(seconds: float):
    from builtin_interfaces.msg import Duration

    sec = int(math.floor(seconds))
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def _marker(ns: str, mid: int, mtype: int, frame: str, stamp_ns: int, lifetime: float, rgba, scale=(1.0, 1.0, 1.0)):
    from visualization_msgs.msg import Marker

    m = Marker(header=make_header(stamp_ns, frame), ns=ns, id=int(mid) & 0x7FFFFFFF, type=mtype, action=Marker.ADD)
    m.pose.orientation.w = 1.0
    m.scale.x, m.scale.y, m.scale.z = (float(v) for v in scale)
    m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in rgba)
    m.lifetime = _duration(lifetime)
    m.frame_locked = frame == EGO  # re-transformed with the ego as TF moves
    return m


def _points(xy: np.ndarray, z: float = 0.3) -> list:
    from geometry_msgs.msg import Point

    return [Point(x=float(x), y=float(y), z=z) for x, y in xy]


def _set_pose(m, x: float, y: float, z: float, yaw_deg: float) -> None:
    """A CARLA-frame pose into a REP-103 marker pose."""
    m.pose.position.x, m.pose.position.y, m.pose.position.z = float(x), -float(y), float(z)
    q = carla_rotation_to_ros_quaternion(0.0, 0.0, yaw_deg)
    m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = q


def route_markers(scene: Scene, stamp_ns: int) -> list:
    from visualization_msgs.msg import Marker

    if not len(scene.route):
        return []
    m = _marker("route", 0, Marker.LINE_STRIP, MAP, stamp_ns, 0.0, (0.25, 0.55, 0.9, 0.8), (0.5, 0.0, 0.0))
    m.points = _points(scene.route * (1.0, -1.0), 0.05)
    return [m]


def route_ahead(scene: Scene, length_m: float = ROUTE_AHEAD_M) -> np.ndarray:
    """The route from the point nearest the ego for `length_m` metres, in the ego frame (REP-103)."""
    if scene.ego_pose is None or len(scene.route) < 2:
        return np.zeros((0, 2))
    d = np.hypot(*(scene.route - scene.ego_pose[:2]).T)
    i = int(np.argmin(d))
    seg = np.hypot(*np.diff(scene.route[i:], axis=0).T)
    n = int(np.searchsorted(np.cumsum(seg), length_m)) + 2
    return scene.world_to_ego(scene.route[i:i + n])


def tick_markers(scene: Scene, stamp_ns: int, lifetime: float = 0.5) -> list:
    """Everything that changes every tick."""
    from visualization_msgs.msg import Marker

    out = []
    if scene.ego_pose is not None:
        ego = _marker("ego", 0, Marker.CUBE, EGO, stamp_ns, lifetime, (1.0, 0.85, 0.0, 0.9),
                      [2 * e for e in EGO_EXTENT])
        ego.pose.position.z = EGO_EXTENT[2]
        out.append(ego)
        label = f"{scene.ego_speed * 3.6:.0f} km/h"
        if scene.target_speed is not None:
            label += f" -> {scene.target_speed * 3.6:.0f} km/h"
        txt = _marker("ego", 1, Marker.TEXT_VIEW_FACING, EGO, stamp_ns, lifetime, (1, 1, 1, 1), (0, 0, 0.8))
        txt.pose.position.z = 3.0
        txt.text = label
        out.append(txt)
        ahead = route_ahead(scene)
        if len(ahead) >= 2:
            m = _marker("route_ahead", 0, Marker.LINE_STRIP, EGO, stamp_ns, lifetime, (0.3, 0.8, 1.0, 1.0),
                        (0.25, 0, 0))
            m.points = _points(ahead, 0.1)
            out.append(m)
    plan = scene.plan_in_ego()
    if len(plan):
        line = _marker("plan", 0, Marker.LINE_STRIP, EGO, stamp_ns, lifetime, (0.2, 0.9, 0.2, 1.0), (0.15, 0, 0))
        line.points = _points(np.vstack([[0.0, 0.0], plan]), 0.2)
        dots = _marker("plan", 1, Marker.SPHERE_LIST, EGO, stamp_ns, lifetime, (0.2, 0.9, 0.2, 1.0), (0.5, 0.5, 0.5))
        dots.points = _points(plan, 0.2)
        out += [line, dots]
    for ns, actors, rgba in (("objects", scene.objects, (0.85, 0.85, 0.85, 0.6)),
                             ("detections", scene.detections, (0.0, 1.0, 1.0, 0.5))):
        for a in actors:
            ext = [max(2 * e, 0.1) for e in a.extent]
            m = _marker(ns, a.id, Marker.CUBE, MAP, stamp_ns, lifetime, rgba, ext)
            _set_pose(m, a.transform[0], a.transform[1], a.transform[2] + a.extent[2], a.transform[5])
            out.append(m)
    for lid, pose in scene.light_poses.items():
        state = scene.light_states.get(lid, 4)
        m = _marker("lights", lid, Marker.SPHERE, MAP, stamp_ns, lifetime, _LIGHT_RGBA.get(state), (1.2, 1.2, 1.2))
        _set_pose(m, pose[0], pose[1], pose[2] + 4.0, 0.0)
        m.text = LIGHT_NAMES.get(state, "?")
        out.append(m)
    return out


def infraction_markers(scene: Scene, stamp_ns: int) -> list:
    from visualization_msgs.msg import Marker

    out = []
    for i, inf in enumerate(scene.infractions):
        x, y, z = inf.position
        s = _marker("infractions", 2 * i, Marker.SPHERE, MAP, stamp_ns, 0.0, (1.0, 0.1, 0.1, 0.9), (1.5, 1.5, 1.5))
        _set_pose(s, x, y, z + 1.0, 0.0)
        t = _marker("infractions", 2 * i + 1, Marker.TEXT_VIEW_FACING, MAP, stamp_ns, 0.0, (1, 0.3, 0.3, 1),
                    (0, 0, 1.0))
        _set_pose(t, x, y, z + 3.0, 0.0)
        t.text = f"{inf.event_type} @ {inf.game_time:.1f}s"
        out += [s, t]
    return out


def delete_all(stamp_ns: int):
    from visualization_msgs.msg import Marker

    m = Marker(header=make_header(stamp_ns, MAP), action=Marker.DELETEALL)
    return m
