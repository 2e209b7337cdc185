"""Traffic lights, stop/yield signs, crosswalks and stop lines of a Map, in CARLA's frame.

Where CARLA puts the trigger volumes (its UE4 TrafficLightComponent / StopSignComponent
on OpenDRIVE towns), copied as facts:
- A signal governs the lanes named by the <validity> of the signal and of every
  <signalReference> to it (lane 0 skipped, non-driving lanes skipped).
- Traffic light: on a junction road whose lane has exactly one predecessor outside the
  junction, the box moves onto that incoming lane's end; the box centre is then
  BoxLength + 1.5 m = 3 m upstream (clamped inside the lane); half-extents are 1.5 m
  along the lane, a quarter of the lane width across, 1 m up; it turns with the lane.
- Stop and yield sign: a cube of half-size 0.9·width/2, moved that far upstream inside
  the referenced lane.
The stop waypoint of a governed lane is where the lane enters the junction (the end of
the incoming lane); vehicles stop there. Lights are grouped per junction by the
junction's <controller> list, else by the junction of the references' roads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lead.world.lane_types import LaneType
from lead.world.network import Signal
from lead.world.transform import BoundingBox, Location, Rotation, Transform, Vector3D

if TYPE_CHECKING:
    from lead.world.map import Map, Waypoint

TRAFFIC_LIGHT_TYPE = "1000001"
STOP_SIGN_TYPE = "206"
YIELD_SIGN_TYPE = "205"

_LIGHT_BOX_LENGTH = 1.5   # half-extent along the lane (m)
_LIGHT_BOX_HEIGHT = 1.0
_LIGHT_EXTRA_BACK = 1.5   # keeps the box clear of the junction


@dataclass
class TrafficSignal:
    """A traffic light or sign with the lanes it governs."""
    id: str                        # OpenDRIVE signal id
    name: str
    type: str                      # OpenDRIVE type: 1000001 light, 206 stop, 205 yield, ...
    road_id: int
    s: float
    t: float
    transform: Transform           # where the pole/head stands
    junction_id: int = -1
    affected_lane_waypoints: list["Waypoint"] = field(default_factory=list)  # at the references' s
    stop_waypoints: list["Waypoint"] = field(default_factory=list)           # on the incoming lanes
    trigger_volumes: list[BoundingBox] = field(default_factory=list)         # world frame

    @property
    def affected_lanes(self) -> list[tuple[int, int, int]]:
        """(road_id, section_id, lane_id) of the governed lanes as the file names them."""
        return [w.key for w in self.affected_lane_waypoints]

    def in_trigger(self, location: Vector3D) -> bool:
        """Whether a world location lies in one of the trigger volumes."""
        return any(b.contains(location) for b in self.trigger_volumes)


@dataclass
class TrafficLight(TrafficSignal):
    """A traffic light; `controller_ids` lists its OpenDRIVE controllers."""
    controller_ids: list[str] = field(default_factory=list)


@dataclass
class TrafficSign(TrafficSignal):
    """Any other signal (stop 206, yield 205, speed, ...)."""


@dataclass
class SignalData:
    traffic_lights: list[TrafficLight]
    groups: dict[int, list[TrafficLight]]
    signs: list[TrafficSign]
    crosswalks: list[list[Location]]
    stop_lines: list[list[Location]]


def extract_signals(m: "Map") -> SignalData:
    net = m.network
    refs: dict[str, list] = {}
    for road in net.roads.values():
        for ref in road.signal_references:
            refs.setdefault(ref.signal_id, []).append((road.id, ref.s, ref.validities))
    ctrl_of: dict[str, list[str]] = {}
    for c in net.controllers.values():
        for sid in c.signal_ids:
            if c.id not in ctrl_of.setdefault(sid, []):
                ctrl_of[sid].append(c.id)
    junction_of_ctrl = {cid: j.id for j in net.junctions.values() for cid in j.controllers}

    lights, signs = [], []
    for road in net.roads.values():
        for sig in road.signals:
            places = [(road.id, sig.s, sig.validities)] + refs.get(sig.id, [])
            base = _base(m, sig)
            if sig.type == TRAFFIC_LIGHT_TYPE:
                tl = TrafficLight(*base, controller_ids=ctrl_of.get(sig.id, []))
                _govern(m, tl, places, light=True)
                tl.junction_id = _junction(m, tl, places, junction_of_ctrl)
                lights.append(tl)
            else:
                sign = TrafficSign(*base)
                _govern(m, sign, places, light=False)
                sign.junction_id = _junction(m, sign, places, {})
                signs.append(sign)
    groups: dict[int, list[TrafficLight]] = {}
    for tl in lights:
        groups.setdefault(tl.junction_id, []).append(tl)
    crosswalks, stop_lines = [], []
    for road in net.roads.values():
        for obj in road.objects:
            if obj.is_crosswalk:
                poly = _object_outline(m, obj)
                if len(poly) >= 3:
                    crosswalks.append(poly)
            elif obj.is_stop_line:
                line = _object_outline(m, obj)
                if len(line) >= 2:
                    stop_lines.append(line)
    return SignalData(lights, groups, signs, crosswalks, stop_lines)


def _base(m: "Map", sig: Signal) -> tuple:
    x, y, z, yaw_ref = m._geoms[sig.road_id].point_at(sig.s, sig.t, sig.z_offset)
    yaw = math.degrees(yaw_ref - sig.h_offset)
    if sig.orientation == "-":
        yaw += 180.0
    tf = Transform(Location(x, y, z), Rotation(math.degrees(sig.pitch), yaw, math.degrees(sig.roll)))
    return (sig.id, sig.name, sig.type, sig.road_id, sig.s, sig.t, tf)


def _govern(m: "Map", sig: TrafficSignal, places: list, light: bool) -> None:
    seen, boxed = set(), set()
    for road_id, s, validities in places:
        for v in validities:
            for lane_id in v.lanes():
                wp = m.get_waypoint_xodr(road_id, lane_id, min(s, m.network.roads[road_id].length - 1e-6))
                if wp is None or wp.key in seen:
                    continue
                seen.add(wp.key)
                stop = _stop_waypoint(m, wp)
                if light:
                    box_wp = stop if stop is not None and stop.key != wp.key else wp
                    if box_wp.lane_type != LaneType.Driving:
                        continue
                    back = _LIGHT_BOX_LENGTH + _LIGHT_EXTRA_BACK
                    half = (_LIGHT_BOX_LENGTH, max(0.01, 0.25 * box_wp.lane_width), _LIGHT_BOX_HEIGHT)
                else:
                    if wp.lane_type != LaneType.Driving:
                        continue
                    box_wp = wp
                    size = max(0.01, 0.9 * wp.lane_width * 0.5)
                    back, half = size, (size, size, size)
                sig.affected_lane_waypoints.append(wp)
                if box_wp.key in boxed:  # several junction lanes fed by one incoming lane
                    continue
                boxed.add(box_wp.key)
                if stop is not None:
                    sig.stop_waypoints.append(stop)
                sig.trigger_volumes.append(_box(m, box_wp, back, half))


def _stop_waypoint(m: "Map", wp: "Waypoint") -> "Waypoint | None":
    """Where traffic on the governed lane stops: the end of the incoming lane when the
    reference lies inside a junction, else the reference itself."""
    if not wp.is_junction:
        return wp
    preds = [k for k in m.predecessors(wp.key) if not m.network.roads[k[0]].is_junction]
    if len(preds) != 1:
        return None
    return m._lane_end(preds[0])


def _box(m: "Map", wp: "Waypoint", back: float, half: tuple[float, float, float]) -> BoundingBox:
    """Box centred `back` metres upstream of wp on its lane (clamped inside the lane)."""
    sec = m._section(wp.key)
    eps = 1e-5
    s = wp.s - back if wp.lane_id < 0 else wp.s + back
    s = min(max(s, sec.s0 + eps), sec.s1 - eps)
    x, y, z, pitch, yaw, _ = m._pose(*wp.key, s)
    return BoundingBox(Location(x, y, z), Vector3D(*half), Rotation(pitch, yaw, 0.0))


def _junction(m: "Map", sig: TrafficSignal, places: list, junction_of_ctrl: dict) -> int:
    for cid in getattr(sig, "controller_ids", []):
        if cid in junction_of_ctrl:
            return junction_of_ctrl[cid]
    for road_id, _, _ in places:
        j = m.network.roads[road_id].junction
        if j != -1:
            return j
    for w in sig.stop_waypoints:
        for k in m.successors(w.key):
            j = m.network.roads[k[0]].junction
            if j != -1:
                return j
    return -1


def _object_outline(m: "Map", obj) -> list[Location]:
    geom = m._geoms[obj.road_id]
    if obj.outline_kind == "road":
        out = []
        for s, t, dz in obj.outline:
            x, y, z, _ = geom.point_at(s, t, obj.z_offset + dz)
            out.append(Location(x, y, z))
        return out
    corners = obj.outline
    if obj.outline_kind != "local":
        hl, hw = 0.5 * obj.length, 0.5 * obj.width
        if hl <= 0:
            return []
        corners = [(-hl, -hw, 0.0), (hl, -hw, 0.0), (hl, hw, 0.0), (-hl, hw, 0.0), (-hl, -hw, 0.0)] if hw > 0 \
            else [(-hl, 0.0, 0.0), (hl, 0.0, 0.0)]
    x0, y0_c, z0, yaw_ref = geom.point_at(obj.s, obj.t, obj.z_offset)
    # local (u, v) frame of the object in OpenDRIVE's frame: heading = road heading + hdg
    th = -yaw_ref + obj.hdg
    c, s_ = math.cos(th), math.sin(th)
    y0 = -y0_c
    out = []
    for u, v, dz in corners:
        px, py = x0 + c * u - s_ * v, y0 + s_ * u + c * v
        out.append(Location(px, -py, z0 + dz))
    return out
