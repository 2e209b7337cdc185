"""Test rig for scenarios: a world on a real map, routes, a blind route follower, a
stop-and-wait agent, and a runner that records what happened each tick.

Nothing here is mocked: the EmbeddedWorld steps its dynamics and collision sensor, the
agents drive the ego through VehicleControl, the ScenarioManager scripts the actors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lead.control.lateral import RouteLateralController, advance_route_index
from lead.control.vehicle_control import VehicleControl
from lead.sim.embedded.scenarios import ENDED, STARTED, ScenarioManager
from lead.sim.embedded.scenarios.actors import lane_waypoints
from lead.sim.embedded.scenarios.base import shared_planner
from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
from lead.world.map import Map
from lead.world.planner import interpolate_trajectory
from lead.world.routes import ScenarioConfig, TriggerPoint
from lead.world.transform import Location

REPO = Path(__file__).resolve().parents[2]
GENERATED = {"LeadGrid001": REPO / "routes" / "LeadGrid001.xodr",
             "LeadIrregular007": REPO / "routes" / "LeadIrregular007.xodr"}


@lru_cache(maxsize=None)
def _opendrive(path: str) -> str:
    return Path(path).read_text()


def make_world(town: str, maps_dir: Path | None = None, seed: int = 0, vehicles: int = 0,
               pedestrians: int = 0) -> EmbeddedWorld:
    """A world without cameras on a generated town or a CARLA town from `maps_dir`."""
    path = GENERATED.get(town) or Path(maps_dir) / f"{town}.xodr"
    w = EmbeddedWorld(WorldConfig(render=False, num_vehicles=vehicles, num_pedestrians=pedestrians))
    w.load(town, opendrive=_opendrive(str(path)), seed=seed)
    return w


def dense_route(m: Map, keypoints: Sequence[Sequence[float]]):
    """The leaderboard's dense route [(Transform, RoadOption)] through keypoints."""
    _, route = interpolate_trajectory(m, [Location(*k[:3]) for k in keypoints], planner=shared_planner(m))
    return route


_ROUTES: dict[tuple, Any] = {}


def lane_route(m: Map, x: float, y: float, length: float, turn: int = 0, back: float = 0.0):
    key = ("lane", id(m), round(x, 3), round(y, 3), length, turn, back)
    if key not in _ROUTES:
        _ROUTES[key] = (m, _lane_route(m, x, y, length, turn, back))
    return _ROUTES[key][1]


def _lane_route(m: Map, x: float, y: float, length: float, turn: int = 0, back: float = 0.0):
    """A dense route along the lane nearest (x, y): from `back` m behind it for `length` m
    (1 m points; at branches the straightest, or turn > 0 right / < 0 left)."""
    wp = m.get_waypoint(Location(x, y, 0.0))
    if back > 0:
        wp = lane_waypoints(wp, back, backwards=True)[0]
    return route_through(m, lane_waypoints(wp, length, 1.0, turn))


def route_through(m: Map, wps) -> list:
    """The leaderboard's dense route through keypoints taken about every 10 m of a
    waypoint chain, never inside a junction (interpolate_trajectory, so RoadOptions are
    the planner's)."""
    keys, last = [wps[0]], 0
    for i, w in enumerate(wps[1:-1], start=1):
        if i - last >= 10 and not w.is_junction:
            keys.append(w)
            last = i
    keys.append(wps[-1])
    return dense_route(m, [w.xyz for w in keys])


def trigger_on(route, s: float) -> TriggerPoint:
    """The route point `s` m from its start as a trigger point."""
    xy, keep = _clean(route)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    i = keep[min(int(np.searchsorted(cum, s)), len(keep) - 1)]
    tf = route[i][0]
    return TriggerPoint(tf.location.x, tf.location.y, tf.location.z, tf.rotation.yaw)


def scenario(type_: str, trigger: TriggerPoint, name: str | None = None, **params: Any) -> ScenarioConfig:
    """A ScenarioConfig as the route XML would give it (values as strings, intervals as
    (from, to), locations as dicts)."""
    p: dict[str, dict[str, str]] = {}
    for k, v in params.items():
        if isinstance(v, tuple):
            p[k] = {"from": str(v[0]), "to": str(v[1])}
        elif isinstance(v, dict):
            p[k] = {a: str(b) for a, b in v.items()}
        else:
            p[k] = {"value": str(v)}
    return ScenarioConfig(name or f"{type_}_1", type_, [trigger], p)


def junction_s(m: Map, route) -> float:
    """Distance along the dense route to its first point inside a junction."""
    xy, keep = _clean(route)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    for k, i in enumerate(keep):
        if m.get_waypoint(route[i][0].location).is_junction:
            return float(cum[k])
    raise LookupError("the route crosses no junction")


_XY: dict[int, tuple[Any, np.ndarray]] = {}


def route_xy(route) -> np.ndarray:
    """The route's points as an (N, 2) array, without the steps back where consecutive
    trace_route segments overlap (so distances along it are metric)."""
    return _clean(route)[0]


def _clean(route) -> tuple[np.ndarray, list[int]]:
    hit = _XY.get(id(route))
    if hit is None or hit[0] is not route:
        keep, pts = [0], [(route[0][0].location.x, route[0][0].location.y)]
        for i, (tf, _) in enumerate(route[1:], start=1):
            x, y = tf.location.x, tf.location.y
            px, py = pts[-1]
            yaw = math.radians(route[keep[-1]][0].rotation.yaw)
            if (x - px) * math.cos(yaw) + (y - py) * math.sin(yaw) > 0.05:
                keep.append(i)
                pts.append((x, y))
        hit = (route, (np.array(pts), keep))
        _XY[id(route)] = hit
    return hit[1]


def spawn_at_route_start(world: EmbeddedWorld, route) -> None:
    tf = route[0][0]
    world.spawn_ego((tf.location.x, tf.location.y, tf.location.z, 0.0, 0.0, tf.rotation.yaw))


# ------------------------------------------------------------------ agents

class RouteFollower:
    """Blind route follower: LEAD's lateral PID on the route resampled to 10 points/m and
    a constant throttle/brake band around `speed` m/s; it ignores every actor."""

    def __init__(self, route, speed: float = 6.0, stop_at: float | None = None):
        xy = route_xy(route)
        seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        s = np.arange(0.0, cum[-1], 0.1)
        self.dense = np.column_stack([np.interp(s, cum, xy[:, 0]), np.interp(s, cum, xy[:, 1])])
        self.s = s
        self.speed = speed
        self.stop_at = stop_at
        self.lateral = RouteLateralController()
        self.index = 0

    def route_s(self, x: float, y: float) -> float:
        return float(self.s[self.index])

    def __call__(self, frame) -> VehicleControl:
        x, y, yaw = frame.ego.transform[0], frame.ego.transform[1], frame.ego.transform[5]
        self.index = advance_route_index(self.dense, np.array([x, y]), self.index, 40)
        v = frame.ego_speed
        steer = self.lateral.step(self.dense[self.index:], v, np.array([x, y]), math.radians(yaw))
        target = self.speed
        if self.stop_at is not None:
            remaining = self.stop_at - self.s[self.index]
            if remaining <= 0.5:
                return VehicleControl(throttle=0.0, steer=steer, brake=1.0)
            target = min(target, max(0.0, math.sqrt(2 * 2.5 * max(remaining - 0.5, 0.0))))
        if v < target - 0.3:
            return VehicleControl(throttle=0.6, steer=steer)
        if v > target + 0.7:
            return VehicleControl(throttle=0.0, steer=steer, brake=0.4)
        return VehicleControl(throttle=0.25, steer=steer)


def stop_and_wait(route, stop_s: float, speed: float = 6.0) -> RouteFollower:
    """Drives the route like RouteFollower but stops `stop_s` m along it and waits there."""
    return RouteFollower(route, speed, stop_at=stop_s)


# ------------------------------------------------------------------ running

@dataclass
class Tick:
    time: float
    ego: tuple[float, float, float, float]
    speed: float
    actors: dict[str, tuple[float, float, float, float, float]]   # label -> x, y, z, yaw, speed
    ids: dict[str, int]
    collisions: list[tuple[int, str]]
    control: VehicleControl
    applied: VehicleControl
    lights: dict[str, int]


@dataclass
class Run:
    world: EmbeddedWorld
    manager: ScenarioManager
    ticks: list[Tick] = field(default_factory=list)
    events: list = field(default_factory=list)
    extents: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def kinds(self, name: str | None = None) -> list[str]:
        return [e.kind for e in self.events if name is None or e.scenario == name]

    def started(self, name: str | None = None) -> float | None:
        return next((e.time for e in self.events if e.kind == STARTED and (name is None or e.scenario == name)), None)

    def ended(self, name: str | None = None):
        return next((e for e in self.events if e.kind == ENDED and (name is None or e.scenario == name)), None)

    def track(self, label: str) -> list[tuple[float, tuple]]:
        """(time, pose) of the scenario actor whose label ends with `label`, while present."""
        out = []
        for t in self.ticks:
            for k, v in t.actors.items():
                if k.endswith("/" + label):
                    out.append((t.time, v))
        return out

    def collisions_with(self, label: str) -> list[float]:
        times = []
        for t in self.ticks:
            ids = {i for k, i in t.ids.items() if k.endswith("/" + label)}
            if any(c[0] in ids for c in t.collisions):
                times.append(t.time)
        return times

    def scenario_collisions(self) -> list[tuple[float, int, str]]:
        return [(t.time, c[0], c[1]) for t in self.ticks for c in t.collisions if c[0] in t.ids.values()]


def run(world: EmbeddedWorld, route, configs: Sequence[ScenarioConfig], agent: Callable, seconds: float,
        seed: int = 0, until: Callable[[Run], bool] | None = None, finish: bool = True,
        scenario_timeout: float | None = None) -> Run:
    """Spawn the ego at the route start, build the scenarios, drive `seconds` of sim time.
    `scenario_timeout` shortens every scenario's ScenarioTimeout (to test it quickly)."""
    spawn_at_route_start(world, route)
    manager = ScenarioManager(world, route, configs, seed=seed)
    if scenario_timeout is not None:
        for sc in manager.scenarios:
            sc.scenario_timeout = scenario_timeout
    r = Run(world, manager)
    r.events.extend(manager.take_events())
    steps = int(round(seconds / world.config.dt))
    for _ in range(steps):
        frame = world.tick()
        r.events.extend(manager.step(frame))
        control = agent(frame)
        applied = manager.filter_control(control)
        world.apply_control(applied)
        names = manager.actor_names()
        by_id = {a.id: a for a in frame.actors}
        actors = {}
        for aid, name in names.items():
            a = by_id.get(aid)
            if a is not None:
                actors[name] = (a.transform[0], a.transform[1], a.transform[2], a.transform[5], a.speed)
                r.extents[name] = tuple(a.extent)
        r.ticks.append(Tick(frame.time_ns * 1e-9, (frame.ego.transform[0], frame.ego.transform[1],
                                                    frame.ego.transform[2], frame.ego.transform[5]),
                            frame.ego_speed, actors, {n: i for i, n in names.items()},
                            [(c.other_id, c.other_type) for c in frame.collisions], control, applied,
                            {k: int(v) for k, v in frame.lights.items()}))
        if until is not None and until(r):
            break
    if finish:
        r.events.extend(manager.finish())
    return r


def lateral_offset(route, x: float, y: float) -> tuple[float, float]:
    """(s along the route, signed lateral offset, + right) of a point, projected on the
    nearest segment of the dense route."""
    xy = route_xy(route)
    a, b = xy[:-1], xy[1:]
    ab = b - a
    ln2 = (ab ** 2).sum(1)
    ok = ln2 > 1e-9
    a, ab, ln2 = a[ok], ab[ok], ln2[ok]
    seg = np.sqrt(ln2)
    cum = np.concatenate([[0.0], np.cumsum(seg)])[:-1]
    p = np.array([x, y])
    t = np.clip(((p - a) * ab).sum(1) / ln2, 0.0, 1.0)
    q = a + ab * t[:, None]
    d2 = ((q - p) ** 2).sum(1)
    k = int(np.argmin(d2))
    cross = ab[k, 0] * (y - q[k, 1]) - ab[k, 1] * (x - q[k, 0])
    return float(cum[k] + t[k] * seg[k]), math.copysign(math.sqrt(float(d2[k])), cross)


def in_ego_lane(route, pose, half_width: float = 1.75) -> bool:
    return abs(lateral_offset(route, pose[0], pose[1])[1]) < half_width


# ------------------------------------------------------------------ finding places on a map

def straight_lane(m: Map, length: float, same_dir_lanes: int = 1, lane_index: int = 0, skip: int = 0):
    """The start waypoint of a driving lane on a road outside junctions at least `length`
    m long, on a road with exactly `same_dir_lanes` lanes per direction; lane_index 0 is
    the innermost lane. Roads are taken longest first; `skip` skips that many."""
    from lead.world.lane_types import LaneType
    cands = []
    for r in m.network.roads.values():
        if r.is_junction or r.length < length or len(r.sections) != 1:
            continue
        sec = r.sections[0]
        neg = sorted((k for k, l in sec.lanes.items() if k < 0 and l.type == LaneType.Driving), reverse=True)
        if len(neg) != same_dir_lanes:
            continue
        cands.append((-r.length, r.id, neg[lane_index]))
    cands.sort()
    if len(cands) <= skip:
        raise LookupError(f"{m.name}: no road of {length} m with {same_dir_lanes} lanes per direction")
    _, rid, lid = cands[skip]
    return m.get_waypoint_xodr(rid, lid, 0.5)


def junction_route(m: Map, maneuver: str, signalized: bool | None = None, need: Sequence[str] = (),
                   before: float = 60.0, after: float = 60.0, skip: int = 0, rightmost: bool = False,
                   lane_on_right: bool = False):
    key = ("junction", id(m), maneuver, signalized, tuple(need), before, after, skip, rightmost, lane_on_right)
    if key not in _ROUTES:
        _ROUTES[key] = (m, _junction_route(m, maneuver, signalized, need, before, after, skip, rightmost,
                                           lane_on_right))
    return _ROUTES[key][1]


def _straight_through(entries) -> bool:
    """Whether one of these junction entries has a way straight through the junction."""
    from lead.sim.embedded.scenarios.geometry import ScenarioSetupError, target_waypoint
    for e in entries:
        try:
            x = target_waypoint(e, 0)
        except ScenarioSetupError:
            continue
        if abs((x.transform.rotation.yaw - e.transform.rotation.yaw + 180) % 360 - 180) < 30:
            return True
    return False


def _junction_route(m: Map, maneuver: str, signalized: bool | None = None, need: Sequence[str] = (),
                    before: float = 60.0, after: float = 60.0, skip: int = 0, rightmost: bool = False,
                    lane_on_right: bool = False):
    """A dense route that drives `before` m up to a junction, takes it `maneuver`
    ('straight', 'left', 'right') and goes on `after` m. `signalized` selects junctions
    with (True) / without (False) lights; `lane_on_right` wants a driving lane of the same
    direction right of the ego's; `need` lists entry directions ('left', 'right',
    'opposite') that must exist, each with a way straight through. Returns (route, metres
    from the route start to the junction)."""
    from lead.sim.embedded.scenarios.actors import pick_branch
    from lead.sim.embedded.scenarios.geometry import (filter_direction, junction_topology, lights_in_junction)
    from lead.world.lane_types import LaneType
    found = 0
    want = {"straight": 0, "right": 1, "left": -1}[maneuver]
    for jid in sorted(m.junctions):
        lights = lights_in_junction(m, jid)
        if signalized is not None and bool(lights) != signalized:
            continue
        entries, _ = junction_topology(m, jid)
        for entry in entries:
            r = entry.get_right_lane()
            has_right = r is not None and r.lane_type == LaneType.Driving and r.lane_id * entry.lane_id > 0
            if (rightmost and has_right) or (lane_on_right and not has_right):
                continue
            first = entry.next(1.0)
            if not first or not first[0].is_junction:
                continue
            if any(not _straight_through(filter_direction(first[0], entries, d)) for d in need):
                continue
            back = lane_waypoints(entry, before, backwards=True)
            if len(back) < before or any(w.is_junction for w in back):
                continue
            # through the junction with the wanted turn
            cur, path, ok = entry, [], True
            for _ in range(400):
                nxt = cur.next(1.0)
                if not nxt:
                    ok = False
                    break
                cur = pick_branch(cur, nxt, want)
                path.append(cur)
                if not cur.is_junction and len(path) > 2:
                    break
            if not ok:
                continue
            dyaw = (cur.transform.rotation.yaw - entry.transform.rotation.yaw + 180) % 360 - 180
            kind = "straight" if abs(dyaw) < 30 else "right" if dyaw > 0 else "left"
            if kind != maneuver:
                continue
            if lane_on_right:
                rr = cur.get_right_lane()
                if rr is None or rr.lane_type != LaneType.Driving or rr.lane_id * cur.lane_id < 0:
                    continue
            rest = lane_waypoints(cur, after)
            if len(rest) < after * 0.9 or any(w.is_junction for w in rest[1:]):
                continue
            if found < skip:
                found += 1
                continue
            wps = back + path + rest[1:]
            route = route_through(m, wps)
            return route, junction_s(m, route)
    raise LookupError(f"{m.name}: no {maneuver} junction route (signalized={signalized}, need={need})")


# ------------------------------------------------------------------ what happened

def first_moving(r: Run, label: str, min_speed: float = 0.1) -> float | None:
    """Time the labelled actor first moved at more than min_speed m/s."""
    return next((t for t, p in r.track(label) if p[4] > min_speed), None)


def first_in_lane(r: Run, route, label: str, half_width: float, s_range: tuple[float, float] | None = None):
    """(time, pose) when the labelled actor's box centre first came within half_width of
    the route's centre line (optionally only between route distances s_range)."""
    for t, p in r.track(label):
        s, lat = lateral_offset(route, p[0], p[1])
        if abs(lat) < half_width and (s_range is None or s_range[0] <= s <= s_range[1]):
            return t, p
    return None


def ego_at(r: Run, t: float) -> Tick:
    return min(r.ticks, key=lambda k: abs(k.time - t))


def route_s(route, x: float, y: float) -> float:
    return lateral_offset(route, x, y)[0]


def dist3_xy(a, b) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


# ------------------------------------------------------------------ with the leaderboard's criteria

def evaluator_for(world: EmbeddedWorld, route, route_id: str = "RouteScenario_0_rep0", rules=None):
    """A RouteEvaluator on the dense route and the world's map (official rules by default)."""
    from lead.leaderboard.evaluator import RouteEvaluator
    from lead.leaderboard.geometry import Pose
    from lead.leaderboard.snapshot import WaypointLanes
    from lead.world.lane_types import LaneType

    poses = [Pose(tf.location.x, tf.location.y, tf.location.z, tf.rotation.yaw) for tf, _ in route]
    lanes = WaypointLanes(world.map, Location, {"driving": LaneType.Driving, "parking": LaneType.Parking})
    if rules is None:
        return RouteEvaluator(poses, lanes, route_id=route_id)
    return RouteEvaluator(poses, lanes, route_id=route_id, rules=rules)


def to_tick(frame, t0: float = 0.0):
    """The criteria's view of a world frame (every actor's pose, for the emergency-vehicle test)."""
    from lead.leaderboard.geometry import Pose
    from lead.leaderboard.snapshot import Collision, Tick

    e = frame.ego.transform
    actors = {a.id: Pose(a.transform[0], a.transform[1], a.transform[2], a.transform[5]) for a in frame.actors}
    return Tick(frame.number, frame.time_ns * 1e-9 - t0, Pose(e[0], e[1], e[2], e[5]), tuple(frame.ego.velocity),
                tuple(frame.ego.extent), 30.0, tuple(Collision(c.other_id, c.other_type) for c in frame.collisions),
                actors=actors)


def run_evaluated(world: EmbeddedWorld, route, configs, agent: Callable, seconds: float, seed: int = 0,
                  scenario_timeout: float | None = None, rules=None):
    """Drive with the route's criteria: scenario events go to the evaluator (apply_events);
    returns (Run, evaluator, every traffic event)."""
    from lead.sim.embedded.scenarios import apply_events

    spawn_at_route_start(world, route)
    manager = ScenarioManager(world, route, configs, seed=seed)
    if scenario_timeout is not None:
        for sc in manager.scenarios:
            sc.scenario_timeout = scenario_timeout
    ev = evaluator_for(world, route, rules=rules)
    r = Run(world, manager)
    t0 = world.time_ns * 1e-9
    for _ in range(int(round(seconds / world.config.dt))):
        frame = world.tick()
        res = ev.step(to_tick(frame, t0))
        new = manager.step(frame)
        r.events.extend(new)
        apply_events(ev, new)
        world.apply_control(manager.filter_control(agent(frame)))
        if res.done:
            break
    end = manager.finish()
    r.events.extend(end)
    apply_events(ev, end)
    ev.finish(0.0)
    return r, ev, ev.events()
