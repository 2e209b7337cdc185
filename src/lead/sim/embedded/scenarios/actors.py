"""Scripted scenario actors and their motions.

A ScriptedActor is a handle on one world actor that a scenario owns. It exists in the
world only between `place()` and `remove()` (scenario_runner hides actors it has not yet
placed 200-500 m under the ground; the embedded world's collision check is 2-D, so here
they are simply not spawned yet). Every tick the scenario calls `update(dt, others)`,
which moves the actor by its current motion and teleports it in the world
(`set_actor_state`) with the matching velocity:

- hold: stands still (parked cars, props, waiting walkers);
- keep_velocity: straight line at a speed along a heading (KeepVelocity on a walker, or
  with force_speed on a vehicle);
- follow: along a Path (lane centres, a planned route, a lane change) with a target
  speed, acceleration and deceleration limits, an optional lateral offset and optional
  hazard braking for actors ahead on the path (BasicAgent / Traffic Manager driving).

Kinematic on purpose: CARLA's scenario actors are driven by agents with physics; here
the same paths and speeds are played back exactly, so runs are deterministic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from lead.world.map import Waypoint

from .blueprints import FLAT_PROPS, extent_of, kind_of
from .geometry import Pose, ScenarioSetupError, forward_vec, norm_yaw, right_vec

if TYPE_CHECKING:
    from .base import Scenario

HAZARD_MARGIN = 0.3     # m of lateral clearance a path follower wants to an actor ahead


@dataclass(frozen=True)
class Other:
    """An actor a path follower may have to brake for."""
    id: int
    x: float
    y: float
    yaw: float
    hx: float
    hy: float
    kind: str


class Path:
    """A polyline with arc length, in CARLA's frame; poses interpolated along it."""

    def __init__(self, points: Sequence[Sequence[float]]):
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or len(p) < 2:
            raise ScenarioSetupError(f"a path needs at least 2 points, got {len(p)}")
        if p.shape[1] == 2:
            p = np.column_stack([p, np.zeros(len(p))])
        keep = np.concatenate([[True], np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1) > 1e-6])
        p = p[keep]
        if len(p) < 2:
            raise ScenarioSetupError("a path needs two distinct points")
        self.xyz = p[:, :3]
        seg = np.diff(self.xyz[:, :2], axis=0)
        self.seg_len = np.linalg.norm(seg, axis=1)
        self.cum = np.concatenate([[0.0], np.cumsum(self.seg_len)])
        self.seg_yaw = np.degrees(np.arctan2(seg[:, 1], seg[:, 0]))

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    @classmethod
    def from_waypoints(cls, wps: Sequence[Waypoint]) -> "Path":
        return cls([w.xyz for w in wps])

    def pose(self, s: float, lateral: float = 0.0) -> Pose:
        s = min(max(s, 0.0), self.length)
        i = int(min(np.searchsorted(self.cum, s, side="right") - 1, len(self.seg_len) - 1))
        f = (s - self.cum[i]) / self.seg_len[i] if self.seg_len[i] > 0 else 0.0
        x, y, z = self.xyz[i] + f * (self.xyz[i + 1] - self.xyz[i])
        # blend headings over the last metre of a segment so turns are smooth
        yaw = float(self.seg_yaw[i])
        if i + 1 < len(self.seg_yaw):
            rem = self.cum[i + 1] - s
            if rem < 0.5:
                d = norm_yaw(float(self.seg_yaw[i + 1]) - yaw)
                yaw += d * (0.5 - rem)
        if lateral:
            rx, ry = right_vec(yaw)
            x, y = x + lateral * rx, y + lateral * ry
        return float(x), float(y), float(z), norm_yaw(yaw)

    def project(self, x: float, y: float, s_from: float = 0.0, s_to: float | None = None) -> tuple[float, float]:
        """(s, signed lateral offset, + right) of the closest point of the path within [s_from, s_to]."""
        s_to = self.length if s_to is None else s_to
        i0 = max(int(np.searchsorted(self.cum, s_from, side="right")) - 1, 0)
        i1 = min(int(np.searchsorted(self.cum, s_to, side="right")), len(self.seg_len))
        a = self.xyz[i0:i1, :2]
        b = self.xyz[i0 + 1:i1 + 1, :2]
        if len(a) == 0:
            a, b, i0 = self.xyz[-2:-1, :2], self.xyz[-1:, :2], len(self.seg_len) - 1
        ab = b - a
        ln2 = np.maximum((ab ** 2).sum(1), 1e-12)
        t = np.clip(((np.array([x, y]) - a) * ab).sum(1) / ln2, 0.0, 1.0)
        q = a + ab * t[:, None]
        d2 = ((q - np.array([x, y])) ** 2).sum(1)
        k = int(np.argmin(d2))
        s = float(self.cum[i0 + k] + t[k] * math.sqrt(ln2[k]))
        cross = ab[k, 0] * (y - q[k, 1]) - ab[k, 1] * (x - q[k, 0])
        return s, math.copysign(math.sqrt(d2[k]), cross)


def pick_branch(current: Waypoint, choices: Sequence[Waypoint], turn: int = 0) -> Waypoint:
    """The branch (one of `choices`) that turns most right (turn > 0), most left (< 0) or
    least (0), judged 10 m on as scenario_helper.choose_at_junction does."""
    if len(choices) == 1:
        return choices[0]
    x, y, _ = current.xyz
    fx, fy = forward_vec(current.transform.rotation.yaw)
    scored = []
    for c in choices:
        ahead = c.next(10.0)
        tx, ty, _ = (ahead[0] if ahead else c).xyz
        cross = fx * (ty - y) - fy * (tx - x)
        scored.append((cross if turn > 0 else -cross if turn < 0 else -abs(cross), c))
    return max(scored, key=lambda t: t[0])[1]


def lane_waypoints(wp: Waypoint, length: float, step: float = 1.0, turn: int = 0,
                   backwards: bool = False) -> list[Waypoint]:
    """Waypoints along the lane from wp (included) for `length` metres."""
    out, cur, d = [wp], wp, 0.0
    while d < length - 1e-9:
        nxt = cur.previous(step) if backwards else cur.next(step)
        if not nxt:
            break
        cur = pick_branch(cur, nxt, turn)
        out.append(cur)
        d += step
    return out[::-1] if backwards else out


def lane_path(wp: Waypoint, length: float, step: float = 1.0, turn: int = 0) -> Path:
    return Path.from_waypoints(lane_waypoints(wp, length, step, turn))


def planned_path(planner, origin: Sequence[float], destination: Sequence[float]) -> Path:
    """The global route planner's path between two locations (BasicAgent.trace_route)."""
    from lead.world.transform import Location

    trace = planner.trace_route(Location(*origin[:3]), Location(*destination[:3]))
    if len(trace) < 2:
        raise ScenarioSetupError(f"no route from {tuple(round(c, 1) for c in origin[:2])} "
                                 f"to {tuple(round(c, 1) for c in destination[:2])}")
    return Path([w.xyz for w, _ in trace])


def lane_change_path(wp: Waypoint, direction: str, same_lane: float, change: float, other_lane: float,
                     step: float = 1.0) -> Path:
    """A path that keeps wp's lane for `same_lane` m, moves to the lane on `direction`
    over `change` m (smoothstep blend of the two lane centres) and keeps that lane for
    `other_lane` m (BasicAgent._generate_lane_change_path in spirit)."""
    total = same_lane + change + other_lane
    base = lane_waypoints(wp, total + step, step)
    pts = []
    for i, w in enumerate(base):
        s = i * step
        side = w.get_left_lane() if direction == "left" else w.get_right_lane()
        a = np.array(w.xyz)
        if side is None:
            if s > same_lane:
                raise ScenarioSetupError(f"no {direction} lane for the lane change at road {w.road_id}")
            pts.append(a)
            continue
        b = np.array(side.xyz)
        u = 0.0 if s <= same_lane else 1.0 if s >= same_lane + change else (s - same_lane) / max(change, 1e-6)
        u = u * u * (3 - 2 * u)
        pts.append(a + u * (b - a))
    return Path(pts)


class ScriptedActor:
    """One scenario actor. `role` is the world's role_name ('scenario' as the leaderboard
    names its scenario actors)."""

    def __init__(self, scenario: "Scenario", type_id: str, role: str = "scenario",
                 extent: Sequence[float] | None = None, label: str = ""):
        self.scenario = scenario
        self.type_id = type_id
        self.kind = kind_of(type_id)
        self.extent = tuple(float(v) for v in (extent or extent_of(type_id)))
        self.role = role
        self.label = label or type_id
        self.id: int | None = None
        self.pose: Pose = (0.0, 0.0, 0.0, 0.0)
        self.speed = 0.0
        self.odometer = 0.0
        self.collides = not (self.kind == "static" and type_id in FLAT_PROPS)
        self._mode = "hold"
        self._heading = 0.0
        self._path: Path | None = None
        self._s = 0.0
        self._offset = 0.0
        self._target = 0.0
        self._accel = math.inf
        self._decel = math.inf
        self._hazard: tuple[float, float] | None = None
        self._stop_at_end = True
        self.path_done = False
        self.braking_for: int | None = None
        self._pushed_still = False      # a held actor's state is in the world already

    # ------------------------------------------------------------------ lifecycle
    @property
    def alive(self) -> bool:
        return self.id is not None

    def place(self, pose: Pose) -> "ScriptedActor":
        """Put the actor at pose (spawning it), at rest (ActorTransformSetter)."""
        self.pose = tuple(float(v) for v in pose)
        self.speed = 0.0
        self._mode = "hold"
        self.path_done = False
        if self.id is None:
            self.id = self.scenario.spawn(self)
        self.push()
        self._pushed_still = True
        return self

    def remove(self) -> None:
        if self.id is not None:
            self.scenario.despawn(self)
            self.id = None
        self._mode = "hold"

    # ------------------------------------------------------------------ motions
    def hold(self) -> None:
        self._mode, self.speed = "hold", 0.0
        self._pushed_still = False

    def keep_velocity(self, speed: float, heading: float | None = None) -> None:
        """Move straight at `speed` along `heading` (default: the actor's yaw)."""
        self._mode, self.speed = "straight", float(speed)
        self._heading = self.pose[3] if heading is None else float(heading)

    def follow(self, path: Path, speed: float, accel: float = 3.0, decel: float = 6.0, offset: float = 0.0,
               start_speed: float | None = None, hazard: tuple[float, float] | None = None,
               stop_at_end: bool = True, s0: float | None = None) -> None:
        """Drive along `path` towards `speed` m/s. `hazard` = (base distance, speed ratio):
        brake to a stop for an actor ahead on the path within base + ratio * speed metres
        (BasicAgent's vehicle detection); None ignores every actor."""
        self._path, self._mode = path, "path"
        self._s = path.project(self.pose[0], self.pose[1])[0] if s0 is None else s0
        self._target, self._accel, self._decel = float(speed), float(accel), float(decel)
        self._offset, self._hazard, self._stop_at_end = float(offset), hazard, stop_at_end
        if start_speed is not None:
            self.speed = float(start_speed)
        self.path_done = False

    def set_target_speed(self, speed: float, accel: float | None = None, decel: float | None = None) -> None:
        self._target = float(speed)
        if accel is not None:
            self._accel = float(accel)
        if decel is not None:
            self._decel = float(decel)

    def set_hazard(self, hazard: tuple[float, float] | None) -> None:
        self._hazard = hazard

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def path_s(self) -> float:
        return self._s

    # ------------------------------------------------------------------ stepping
    def update(self, dt: float, others: Sequence[Other] = ()) -> None:
        if self.id is None:
            return
        if self._mode == "hold":
            if not self._pushed_still:      # stopped: tell the world once (zero velocity)
                self.push()
                self._pushed_still = True
            return
        x0, y0 = self.pose[0], self.pose[1]
        if self._mode == "straight":
            fx, fy = forward_vec(self._heading)
            x, y, z, _ = self.pose
            self.pose = (x + fx * self.speed * dt, y + fy * self.speed * dt, z, self._heading)
        elif self._mode == "path" and self._path is not None:
            target = self._target
            self.braking_for = None
            if self._hazard is not None:
                blocker = self._blocker(others)
                if blocker is not None:
                    target, self.braking_for = 0.0, blocker
            dv = target - self.speed
            lim = self._accel * dt if dv > 0 else self._decel * dt
            self.speed = max(0.0, self.speed + max(-lim, min(lim, dv)))
            self._s += self.speed * dt
            if self._s >= self._path.length:
                self._s = self._path.length
                self.path_done = True
                if self._stop_at_end:
                    self.speed = 0.0
            self.pose = self._path.pose(self._s, self._offset)
        self.odometer += math.hypot(self.pose[0] - x0, self.pose[1] - y0)
        self.push()

    def _blocker(self, others: Sequence[Other]) -> int | None:
        base, ratio = self._hazard
        reach = base + ratio * self.speed + self.extent[0]
        x, y = self.pose[0], self.pose[1]
        path = self._path
        for o in others:
            if o.id == self.id or math.hypot(o.x - x, o.y - y) > reach + max(o.hx, o.hy) + 2.0:
                continue
            s, lat = path.project(o.x, o.y, self._s, self._s + reach + o.hx)
            ahead = s - self._s
            if 0.0 < ahead <= reach and abs(lat) < self.extent[1] + max(o.hy, 0.25) + HAZARD_MARGIN:
                return o.id
        return None

    def velocity(self) -> tuple[float, float, float]:
        yaw = self._heading if self._mode == "straight" else self.pose[3]
        fx, fy = forward_vec(yaw)
        return (fx * self.speed, fy * self.speed, 0.0)

    def world_pose(self) -> tuple[float, float, float, float, float, float]:
        x, y, z, yaw = self.pose
        if self.kind == "walker":   # a walker's transform is its box centre
            z += self.extent[2]
        return (x, y, z, 0.0, 0.0, yaw)

    def push(self) -> None:
        if self.id is not None:
            self.scenario.push_state(self)
