"""Waypoint and route geometry for scenarios: scenario_runner's scenario_helper functions
(junction topology, turn choice, same/opposite direction lanes, closest traffic light,
linear intersection) re-expressed on lead.world.map, and the dense route as arrays.

Poses are (x, y, z, yaw) tuples in CARLA's frame (x forward, y right, degrees; a
positive yaw turns +x towards +y, so a lane's right-hand side is at yaw + 90).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from lead.world.lane_types import LaneType
from lead.world.map import Map, Waypoint
from lead.world.transform import Location

Pose = tuple[float, float, float, float]   # x, y, z, yaw (deg)


class ScenarioSetupError(ValueError):
    """A scenario cannot be placed at its trigger point (the leaderboard skips it)."""


# ------------------------------------------------------------------ small vector helpers

def wp_pose(wp: Waypoint) -> Pose:
    tf = wp.transform
    return (tf.location.x, tf.location.y, tf.location.z, tf.rotation.yaw)


def wp_loc(wp: Waypoint) -> tuple[float, float, float]:
    return wp.xyz


def forward_vec(yaw: float) -> tuple[float, float]:
    r = math.radians(yaw)
    return math.cos(r), math.sin(r)


def right_vec(yaw: float) -> tuple[float, float]:
    r = math.radians(yaw)
    return -math.sin(r), math.cos(r)


def offset_pose(pose: Pose, lateral: float = 0.0, longitudinal: float = 0.0, dz: float = 0.0,
                dyaw: float = 0.0) -> Pose:
    """Pose moved `lateral` m to its right (negative: left) and `longitudinal` m forward."""
    x, y, z, yaw = pose
    fx, fy = forward_vec(yaw)
    rx, ry = right_vec(yaw)
    return (x + lateral * rx + longitudinal * fx, y + lateral * ry + longitudinal * fy, z + dz,
            norm_yaw(yaw + dyaw))


def norm_yaw(yaw: float) -> float:
    return (yaw + 180.0) % 360.0 - 180.0


def dist3(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)


def dist2(a: Sequence[float], b: Sequence[float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def in_front_of(point: Sequence[float], ref: Pose) -> bool:
    """Whether `point` lies ahead of the plane through ref perpendicular to its heading
    (WaitUntilInFrontPosition without the distance check)."""
    fx, fy = forward_vec(ref[3])
    return (point[0] - ref[0]) * fx + (point[1] - ref[1]) * fy > 0.0


# ------------------------------------------------------------------ waypoint walks

def waypoint_at(m: Map, x: float, y: float, z: float = 0.0, lane_type: LaneType = LaneType.Driving) -> Waypoint:
    wp = m.get_waypoint(Location(x, y, z), lane_type=lane_type)
    if wp is None:
        raise ScenarioSetupError(f"no {lane_type.name} lane near ({x:.1f}, {y:.1f})")
    return wp


def next_wp(wp: Waypoint, distance: float, what: str = "waypoint") -> Waypoint:
    """wp.next(distance)[0] (the first branch, as scenario_runner takes it)."""
    nxt = wp.next(distance)
    if not nxt:
        raise ScenarioSetupError(f"no {what} {distance:.1f} m ahead of road {wp.road_id} lane {wp.lane_id}")
    return nxt[0]


def previous_wp(wp: Waypoint, distance: float, what: str = "waypoint") -> Waypoint:
    prv = wp.previous(distance)
    if not prv:
        raise ScenarioSetupError(f"no {what} {distance:.1f} m behind road {wp.road_id} lane {wp.lane_id}")
    return prv[0]


def move_forward(wp: Waypoint, distance: float) -> Waypoint:
    """scenario_runner's `_move_waypoint_forward`: 1 m steps, stopping before a junction."""
    d, cur = 0, wp
    while d < distance:
        nxt = cur.next(1.0)
        if not nxt or nxt[0].is_junction:
            break
        cur = nxt[0]
        d += 1
    return cur


def move_backward(wp: Waypoint, distance: float) -> Waypoint:
    d, cur = 0, wp
    while d < distance:
        prv = cur.previous(1.0)
        if not prv or prv[0].is_junction:
            break
        cur = prv[0]
        d += 1
    return cur


def waypoint_in_distance(wp: Waypoint, distance: float, stop_at_junction: bool = True) -> tuple[Waypoint, float]:
    """scenario_helper.get_waypoint_in_distance: 1 m steps (last branch), travelled distance."""
    travelled, cur = 0.0, wp
    while not (cur.is_junction and stop_at_junction) and travelled < distance:
        nxt = cur.next(1.0)
        if not nxt:
            break
        new = nxt[-1]
        travelled += dist3(new.xyz, cur.xyz)
        cur = new
    return cur, travelled


def side_lane(wp: Waypoint, direction: str) -> Waypoint | None:
    return wp.get_right_lane() if direction == "right" else wp.get_left_lane()


def outward_lane(wp: Waypoint, direction: str, base_sign: int) -> Waypoint | None:
    """The next lane towards `direction` seen from a lane of sign `base_sign`: to the left
    the walk crosses the centre line and then continues outwards on the other side (CARLA's
    get_left_lane would flip between lanes 1 and -1 forever)."""
    if direction == "right" or wp.lane_id * base_sign < 0:
        return wp.get_right_lane()
    return wp.get_left_lane()


def walk_to_sidewalk(wp: Waypoint, direction: str) -> tuple[Waypoint, Waypoint | None]:
    """Side lanes from a driving lane to the sidewalk (or the last lane) on `direction`;
    returns (that lane, the last parking lane passed)."""
    cur, parking, sign = wp, None, 1 if wp.lane_id > 0 else -1
    for _ in range(20):
        if cur.lane_type == LaneType.Sidewalk:
            break
        nxt = outward_lane(cur, direction, sign)
        if nxt is None:
            break
        cur = nxt
        if cur.lane_type == LaneType.Parking:
            parking = cur
    return cur, parking


def same_dir_lanes(wp: Waypoint) -> list[Waypoint]:
    """Driving lanes of wp's direction, leftmost first (scenario_helper.get_same_dir_lanes)."""
    out = [wp]
    cur = wp
    while True:
        r = cur.get_right_lane()
        if r is None or r.lane_type != LaneType.Driving:
            break
        cur = r
        out.append(cur)
    cur = wp
    while True:
        left = cur.get_left_lane()
        if left is None or left.lane_type != LaneType.Driving or left.lane_id * cur.lane_id < 0:
            break
        cur = left
        out.insert(0, cur)
    return out


def opposite_dir_lanes(wp: Waypoint) -> list[Waypoint]:
    """Driving lanes of the other direction, innermost first (get_opposite_dir_lanes)."""
    cur, other = wp, None
    for _ in range(20):
        left = cur.get_left_lane()
        if left is None:
            break
        if left.lane_id * cur.lane_id < 0:
            other = left
            break
        cur = left
    out: list[Waypoint] = []
    cur = other
    for _ in range(20):
        if cur is None:
            break
        if cur.lane_type == LaneType.Driving:
            out.append(cur)
        cur = cur.get_right_lane()
    return out


def first_junction_wp(wp: Waypoint, step: float = 1.0, max_distance: float = 500.0) -> tuple[Waypoint, float]:
    """The first waypoint inside a junction ahead (1 m steps), and the distance to it."""
    cur, d = wp, 0.0
    while not cur.is_junction:
        nxt = cur.next(step)
        if not nxt:
            raise ScenarioSetupError("no junction ahead: a waypoint without successor was reached")
        cur = nxt[0]
        d += step
        if d > max_distance:
            raise ScenarioSetupError(f"no junction within {max_distance:.0f} m")
    return cur, d


def junction_topology(m: Map, junction_id: int) -> tuple[list[Waypoint], list[Waypoint]]:
    """Entry and exit waypoints (just outside) of a junction's lanes, one per lane."""
    junction = m.get_junction(junction_id)
    entries, exits, seen_in, seen_out = [], [], set(), set()

    def leave(w: Waypoint, forward: bool) -> Waypoint | None:
        for _ in range(2000):
            if not w.is_junction:
                return w
            nxt = w.next(0.2) if forward else w.previous(0.2)
            if not nxt:
                return None
            w = nxt[0]
        return None

    for a, b in junction.get_waypoints(LaneType.Driving):
        e = leave(a, False)
        if e is None:
            continue
        if (e.road_id, e.lane_id) not in seen_in:
            seen_in.add((e.road_id, e.lane_id))
            entries.append(e)
        x = leave(b, True)
        if x is None:
            continue
        if (x.road_id, x.lane_id) not in seen_out:
            seen_out.add((x.road_id, x.lane_id))
            exits.append(x)
    return entries, exits


def junction_direction(ref_yaw: float, yaw: float) -> str:
    """filter_junction_wp_direction's classes of a lane heading relative to ref_yaw."""
    diff = (yaw - ref_yaw) % 360
    if diff > 330.0:
        return "ref"
    if diff > 225.0:
        return "right"
    if diff > 135.0:
        return "opposite"
    if diff > 30.0:
        return "left"
    return "ref"


def filter_direction(ref: Waypoint, wps: Iterable[Waypoint], direction: str) -> list[Waypoint]:
    ref_yaw = ref.transform.rotation.yaw
    return [w for w in wps if junction_direction(ref_yaw, w.transform.rotation.yaw) == direction]


def choose_at_junction(current: Waypoint, choices: Sequence[Waypoint], turn: int = 0) -> Waypoint:
    """scenario_helper.choose_at_junction: turn > 0 right-most, < 0 left-most, 0 straightest
    (by the cross product of the heading with the vector to each branch 10 m on)."""
    x, y, _, yaw = wp_pose(current)
    fx, fy = forward_vec(yaw)
    best = None
    for c in choices:
        ahead = c.next(10.0)
        tgt = ahead[0] if ahead else c
        tx, ty, _ = tgt.xyz
        cross = fx * (ty - y) - fy * (tx - x)
        key = cross if turn > 0 else -cross if turn < 0 else -abs(cross)
        if best is None or key > best[0]:
            best = (key, tgt)
    return best[1]


def target_waypoint(wp: Waypoint, turn: int = 0, max_steps: int = 2000) -> Waypoint:
    """scenario_helper.generate_target_waypoint: the first waypoint after the next junction
    taking the given turn."""
    reached, cur = False, wp
    for _ in range(max_steps):
        choices = cur.next(1.0)
        if not choices:
            raise ScenarioSetupError("dead end before leaving the junction")
        if not reached and (len(choices) > 1 or choices[0].is_junction):
            reached = True
            cur = choose_at_junction(cur, choices, turn)
        else:
            cur = choices[0]
        if reached and not cur.is_junction:
            return cur
    raise ScenarioSetupError("no junction exit found")


def linear_intersection(m: Map, a: Waypoint, b: Waypoint) -> tuple[float, float] | None:
    """get_geometric_linear_intersection(move_to_junction=True): where the lane directions
    of a and b, each taken at its last metre before the junction, cross."""
    def segment(w: Waypoint) -> tuple[tuple, tuple]:
        w1 = w
        w2 = next_wp(w1, 1.0)
        for _ in range(2000):
            n = next_wp(w2, 1.0)
            if n.is_junction:
                break
            w1, w2 = w2, n
        return w1.xyz, w2.xyz

    (p1, p2), (q1, q2) = segment(a), segment(b)
    h = np.array([[p1[0], p1[1], 1.0], [p2[0], p2[1], 1.0], [q1[0], q1[1], 1.0], [q2[0], q2[1], 1.0]])
    l1, l2 = np.cross(h[0], h[1]), np.cross(h[2], h[3])
    x, y, z = np.cross(l1, l2)
    if abs(z) < 1e-12:
        return None
    return float(x / z), float(y / z)


def closest_traffic_light(wp: Waypoint, lights: Sequence[Any]) -> Any | None:
    """The light whose stop waypoints come closest to wp (get_closest_traffic_light)."""
    best, best_d = None, float("inf")
    loc = wp.xyz
    for tl in lights:
        for s in tl.stop_waypoints:
            d = dist3(loc, s.xyz)
            if d < best_d:
                best, best_d = tl, d
    return best


def lights_in_junction(m: Map, junction_id: int) -> list[Any]:
    return list(m.get_traffic_light_groups().get(junction_id, []))


# ------------------------------------------------------------------ the dense route

TURN_OPTIONS = (1, 2, 3)   # RoadOption LEFT, RIGHT, STRAIGHT


@dataclass
class RouteArrays:
    """The dense route as arrays: xyz (N, 3), yaw (N,) degrees, option (N,) RoadOption
    values (0 where unknown), in_turn (N,) whether the point belongs to a junction turn."""
    xyz: np.ndarray
    yaw: np.ndarray
    option: np.ndarray
    in_turn: np.ndarray
    cum: np.ndarray

    @property
    def length(self) -> float:
        return float(self.cum[-1]) if len(self.cum) else 0.0

    def closest(self, x: float, y: float, z: float | None = None) -> int:
        d = (self.xyz[:, 0] - x) ** 2 + (self.xyz[:, 1] - y) ** 2
        if z is not None:
            d = d + (self.xyz[:, 2] - z) ** 2
        return int(np.argmin(d))

    def point_at(self, s: float) -> Pose:
        i = int(np.clip(np.searchsorted(self.cum, s), 0, len(self.cum) - 1))
        return (*map(float, self.xyz[i]), float(self.yaw[i]))


def route_arrays(route: Any, m: Map | None = None) -> RouteArrays:
    """Accepts the leaderboard's dense route [(Transform, RoadOption), ...], a list of
    Transforms, or an (N, 2..4) array of x, y[, z[, yaw]]."""
    xyz, yaw, opt = [], [], []
    items = list(route) if not isinstance(route, np.ndarray) else route
    for it in items:
        option = 0
        if isinstance(it, tuple) and len(it) == 2 and hasattr(it[0], "location"):
            tf, o = it
            option = int(o)
        else:
            tf = it
        if hasattr(tf, "location"):
            xyz.append((tf.location.x, tf.location.y, tf.location.z))
            yaw.append(tf.rotation.yaw)
        else:
            v = [float(c) for c in tf]
            xyz.append((v[0], v[1], v[2] if len(v) > 2 else 0.0))
            yaw.append(v[3] if len(v) > 3 else float("nan"))
        opt.append(option)
    if len(xyz) < 2:
        raise ValueError(f"a route needs at least 2 points, got {len(xyz)}")
    xyz_a = np.asarray(xyz, dtype=float)
    yaw_a = np.asarray(yaw, dtype=float)
    if np.isnan(yaw_a).any():   # headings from the polyline where the input had none
        d = np.diff(xyz_a[:, :2], axis=0)
        h = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
        h = np.append(h, h[-1])
        yaw_a = np.where(np.isnan(yaw_a), h, yaw_a)
    opt_a = np.asarray(opt, dtype=int)
    if (opt_a == 0).all() and m is not None:   # no RoadOptions: junction membership from the map
        in_turn = np.array([bool(m.get_waypoint(Location(*p)).is_junction) for p in xyz_a])
    else:
        in_turn = np.isin(opt_a, TURN_OPTIONS)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xyz_a, axis=0), axis=1))])
    return RouteArrays(xyz_a, yaw_a, opt_a, in_turn, cum)


def target_waypoint_in_route(m: Map, wp: Waypoint, route: RouteArrays) -> Waypoint:
    """generate_target_waypoint_in_route: the route's first point after the first junction
    turn that follows the route point closest to wp."""
    x, y, z = wp.xyz
    i0 = route.closest(x, y, z)
    reached = False
    for i in range(i0, len(route.xyz)):
        if not reached and route.in_turn[i]:
            reached = True
        if reached and not route.in_turn[i]:
            return waypoint_at(m, *route.xyz[i])
    raise ScenarioSetupError("the route has no junction after the trigger point")
