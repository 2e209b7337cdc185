"""A small closed-loop harness for the expert: the simulator's ego dynamics, scripted actors
on the real map, traffic lights by schedule, 20 Hz."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from lead.expert import Expert, ExpertConfig, ExpertOutput
from lead.leaderboard.criteria import RunningRedLightTest, RunningStopTest
from lead.leaderboard.geometry import Pose
from lead.leaderboard.snapshot import StopSign, Tick, TrafficLight, WaypointLanes, traffic_light_stop_lanes
from lead.world.lane_types import LaneType
from lead.sim.embedded.dynamics import VehicleDynamics
from lead.sim.embedded.vehicles import EGO_BLUEPRINT, vehicle, walker
from lead.world.map import Map, Waypoint
from lead.world.planner import interpolate_trajectory
from lead.world.transform import Location

DT = 0.05
EGO_ID = 1


@dataclass
class ActorState:
    """What the world reports of an actor (the fields the expert reads)."""
    id: int
    type_id: str
    kind: str
    transform: tuple[float, float, float, float, float, float]
    velocity: tuple[float, float, float]
    extent: tuple[float, float, float]
    role_name: str = ""


@dataclass
class PathActor:
    """An actor moving along a polyline (N, 2) with speed(t) m/s; static when speed is 0."""
    id: int
    type_id: str
    path: np.ndarray
    speed: Callable[[float], float]
    role_name: str = ""
    extent: tuple[float, float, float] | None = None  # static props: their box
    s: float = 0.0

    def __post_init__(self) -> None:
        seg = np.linalg.norm(np.diff(self.path, axis=0), axis=1)
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.kind = self.type_id.split(".")[0] if self.type_id.startswith(("walker.", "static.")) else "vehicle"
        if self.extent is None:
            self.extent = (walker(self.type_id) if self.kind == "walker" else vehicle(self.type_id)).extent
        self._v = 0.0

    def pose(self) -> tuple[float, float, float]:
        s = min(self.s, self._cum[-1])
        x = float(np.interp(s, self._cum, self.path[:, 0]))
        y = float(np.interp(s, self._cum, self.path[:, 1]))
        i = min(int(np.searchsorted(self._cum, s, side="right")) - 1, len(self.path) - 2)
        d = self.path[i + 1] - self.path[i]
        return x, y, math.degrees(math.atan2(d[1], d[0]))

    def step(self, t: float) -> None:
        self._v = float(self.speed(t)) if self.s < self._cum[-1] else 0.0
        self.s += self._v * DT

    def state(self) -> ActorState:
        x, y, yaw = self.pose()
        z = self.extent[2] if self.kind != "vehicle" else 0.0
        vel = (self._v * math.cos(math.radians(yaw)), self._v * math.sin(math.radians(yaw)), 0.0)
        return ActorState(self.id, self.type_id, self.kind, (x, y, z, 0.0, 0.0, yaw), vel, self.extent, self.role_name)


def lane_path(wp: Waypoint, length: float, step: float = 1.0, backwards: bool = False) -> np.ndarray:
    """Lane-centre points from a waypoint on, `length` metres (first branch at forks)."""
    pts = [wp.xyz[:2]]
    for _ in range(int(length / step)):
        nxt = wp.previous(step) if backwards else wp.next(step)
        if not nxt:
            break
        wp = nxt[0]
        pts.append(wp.xyz[:2])
    return np.array(pts)


def dense_route(m: Map, keypoints: Sequence[tuple[float, float]]):
    """The leaderboard's dense route between keypoints."""
    _, route = interpolate_trajectory(m, [Location(x, y, 0.0) for x, y in keypoints], 1.0)
    return route


def route_xy(route) -> np.ndarray:
    return np.array([[t.location.x, t.location.y] for t, _ in route])


def cross_track(route, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each (x, y) from the route polyline (10 cm resampled)."""
    pts = route_xy(route)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1], 0.1)
    dense = np.column_stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])])
    return np.array([np.min(np.hypot(dense[:, 0] - px, dense[:, 1] - py)) for px, py in zip(x, y)])


def _corners(transform, extent) -> np.ndarray:
    x, y, yaw = transform[0], transform[1], math.radians(transform[5])
    c, s = math.cos(yaw), math.sin(yaw)
    local = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * np.array(extent[:2])
    return np.column_stack([x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]])


def clearance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two rectangles given by their corners (4, 2); 0 when they touch."""
    for poly, other in ((a, b), (b, a)):  # separating axes of both
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = poly @ axis, other @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                break
        else:
            continue
        break
    else:
        return 0.0

    def point_segment(p, q, r):
        d = r - q
        t = np.clip(np.dot(p - q, d) / np.dot(d, d), 0.0, 1.0)
        return float(np.linalg.norm(p - (q + t * d)))

    return min(point_segment(p, poly[i], poly[(i + 1) % 4]) for poly, pts in ((a, b), (b, a))
               for p in pts for i in range(4))


LIGHT_NAMES = {0: "Red", 1: "Yellow", 2: "Green", 3: "Off", 4: "Unknown"}


def judges(m: Map) -> tuple[RunningRedLightTest, RunningStopTest]:
    """The leaderboard's red-light and stop-sign criteria on this map (ids: OpenDRIVE ids as ints)."""
    lanes = WaypointLanes(m, Location, {"driving": LaneType.Driving, "parking": LaneType.Parking})
    lights = []
    for tl in m.get_traffic_lights():
        t = tl.transform
        pose = Pose(t.location.x, t.location.y, t.location.z, t.rotation.yaw, t.rotation.pitch, t.rotation.roll)
        box = tl.trigger_volumes[0]
        local = t.inverse_transform(box.location)
        center, stop = traffic_light_stop_lanes(lanes, pose, (local.x, local.y, local.z),
                                                (box.extent.x, box.extent.y, box.extent.z))
        lights.append(TrafficLight(int(tl.id), t.location.as_tuple(), center, stop))
    # a CARLA stop actor has one trigger volume, on its approach lane; the map also boxes the
    # junction lanes its references name, which would make every sign two stops in a row
    signs = [StopSign(int(s.id), s.transform.location.as_tuple(), b.location.as_tuple(), (b.extent.x, b.extent.y))
             for s in m.get_stop_signs() for b in s.trigger_volumes if not m.get_waypoint(b.location).is_junction]
    return RunningRedLightTest(lights, lanes), RunningStopTest(signs, lanes)


@dataclass
class Log:
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    yaw: list[float] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    outputs: list[ExpertOutput] = field(default_factory=list)
    collisions: set[int] = field(default_factory=set)
    min_gap: dict[int, float] = field(default_factory=dict)  # closest approach of the boxes, m

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in ("t", "x", "y", "yaw", "speed")}

    @property
    def reasons(self) -> np.ndarray:
        return np.array([int(o.labels.brake_reason) for o in self.outputs])

    @property
    def targets(self) -> np.ndarray:
        return np.array([o.labels.target_speed for o in self.outputs])


class Harness:
    def __init__(self, m: Map, route, actors: Sequence[PathActor] = (), config: ExpertConfig | None = None,
                 lights: Callable[[float], dict] | None = None, scenarios=(), start_speed: float = 0.0,
                 start_offset: float = 0.0):
        self.map = m
        self.expert = Expert(m, route, config, scenarios)
        self.actors = list(actors)
        self.lights = lights or (lambda t: {})
        tf0, tf1 = route[0][0], route[1][0]
        yaw = math.degrees(math.atan2(tf1.location.y - tf0.location.y, tf1.location.x - tf0.location.x))
        self.ego = VehicleDynamics()
        self.ego.reset(tf0.location.x + start_offset * math.cos(math.radians(yaw)),
                       tf0.location.y + start_offset * math.sin(math.radians(yaw)), yaw, 0.0, start_speed)
        self.extent = vehicle(EGO_BLUEPRINT).extent
        self.t = 0.0
        self.log = Log()
        self.judges = judges(m)

    def ego_state(self) -> ActorState:
        s = self.ego.state
        st = ActorState(EGO_ID, EGO_BLUEPRINT, "vehicle", (s.x, s.y, s.z, 0.0, 0.0, s.yaw), s.velocity, self.extent)
        st.speed = s.speed  # the speedometer
        return st

    def tick(self) -> ExpertOutput:
        states = [a.state() for a in self.actors]
        ego = self.ego_state()
        lights = self.lights(self.t)
        out = self.expert.step(self.t, ego, states, lights)
        self._check_contacts(ego, states)
        tick = Tick(len(self.log.t), self.t, Pose(ego.transform[0], ego.transform[1], 0.0, ego.transform[5]),
                    ego.velocity, self.extent, 30.0,
                    light_states={int(k): LIGHT_NAMES[int(v)] for k, v in lights.items()})
        for judge in self.judges:
            judge.update(tick)
        s = self.ego.state
        for k, v in (("t", self.t), ("x", s.x), ("y", s.y), ("yaw", s.yaw), ("speed", s.speed)):
            getattr(self.log, k).append(v)
        self.log.outputs.append(out)
        self.ego.step(out.control)
        for a in self.actors:
            a.step(self.t)
        self.t += DT
        return out

    def _check_contacts(self, ego: ActorState, states: list[ActorState]) -> None:
        e = _corners(ego.transform, self.extent)
        for a in states:
            o = _corners(a.transform, a.extent)
            gap = clearance(e, o)
            self.log.min_gap[a.id] = min(self.log.min_gap.get(a.id, math.inf), gap)
            if gap == 0.0:
                self.log.collisions.add(a.id)

    @property
    def infractions(self) -> list:
        """Red lights and stop signs run, as the leaderboard's criteria record them."""
        return [e for j in self.judges for e in j.events]

    def run(self, seconds: float, until: Callable[["Harness"], bool] | None = None) -> Log:
        for _ in range(int(round(seconds / DT))):
            self.tick()
            if until is not None and until(self):
                break
        return self.log
