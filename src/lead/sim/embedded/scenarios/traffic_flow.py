"""Streams of vehicles from a source to a sink: scenario_runner's ActorFlow (Traffic
Manager vehicles at a constant velocity that ignore lights, signs and - until the first
collision - other vehicles), OppositeActorFlow (BasicAgents on the oncoming lane at the
ego's speed limit, braking for vehicles ahead) and InvadingActorFlow (the same with a
lateral offset into the ego's lane).

A new vehicle enters at the source when the last one is more than a gap drawn uniformly
from `interval` metres from it; a vehicle within `sink_dist` (2 m) of the sink leaves.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from lead.world.map import Waypoint

from .actors import Path, ScriptedActor, lane_waypoints
from .blueprints import pick, vehicle_choices
from .geometry import ScenarioSetupError, dist3, move_backward, move_forward

if TYPE_CHECKING:
    from .base import Scenario

DEFAULT_SPEED_LIMIT = 30.0   # km/h, a CARLA vehicle's speed limit before any sign


def speed_limit_at(wp: Waypoint | None) -> float:
    """The lane's speed limit in km/h (Vehicle.get_speed_limit), 30 when the map has none."""
    if wp is None:
        return DEFAULT_SPEED_LIMIT
    v = wp.speed_limit
    return float(v) if v else DEFAULT_SPEED_LIMIT


def path_between(source: Waypoint, sink_xyz: Sequence[float], max_length: float, step: float = 1.0,
                 planner=None) -> Path:
    """The lane path from source to the sink point: lane following, or the global planner's
    route when lane following does not reach within 3 m of the sink."""
    wps = lane_waypoints(source, max_length, step)
    best = min(range(len(wps)), key=lambda i: dist3(wps[i].xyz, sink_xyz))
    if dist3(wps[best].xyz, sink_xyz) < 3.0 and best > 0:
        return Path.from_waypoints(wps[:best + 1])
    if planner is not None:
        from .actors import planned_path
        return planned_path(planner, source.xyz, sink_xyz)
    raise ScenarioSetupError(f"no lane path from road {source.road_id} lane {source.lane_id} to the flow's sink")


class Flow:
    """One actor flow of a scenario; `step()` runs every tick while the flow is on."""

    def __init__(self, sc: "Scenario", path: Path, interval: tuple[float, float], speed: float,
                 hazard: tuple[float, float] | None, sink_dist: float = 2.0, offset: float = 0.0,
                 label: str = "flow", blueprints: Sequence[str] | None = None,
                 constant_velocity: bool = True, accel: float = 3.0, fixed_gap: bool = False):
        self.sc = sc
        self.path = path
        self.lo, self.hi = float(interval[0]), float(interval[1])
        self.speed = float(speed)
        self.hazard = hazard
        self.sink_dist = sink_dist
        self.offset = offset
        self.label = label
        self.blueprints = list(blueprints or vehicle_choices("car"))
        self.constant_velocity = constant_velocity
        self.accel = accel
        self.fixed_gap = fixed_gap
        self.actors: list[ScriptedActor] = []
        self.count = 0
        self.collided = False
        self.spawn_dist = self._draw()
        self.source = path.pose(0.0, offset)
        self.sink = path.pose(path.length)

    def _draw(self) -> float:
        return self.lo if self.fixed_gap else float(self.sc.rng.uniform(self.lo, self.hi))

    def _new_actor(self, s: float, speed: float) -> ScriptedActor:
        self.count += 1
        a = self.sc.actor(pick(self.sc.rng, self.blueprints), label=f"{self.label}_{self.count}")
        a.place(self.path.pose(s, self.offset))
        accel = math.inf if self.constant_velocity else self.accel
        a.follow(self.path, self.speed, accel=accel, decel=math.inf if self.constant_velocity else 6.0,
                 offset=self.offset, start_speed=speed, hazard=self.hazard, s0=s)
        self.actors.append(a)
        return a

    def fill(self, initial_junction: bool = False) -> None:
        """ActorFlow(initial_actors=True): vehicles along the whole path at the flow's gaps
        (not inside junctions unless `initial_junction`)."""
        from lead.world.transform import Location
        m = self.sc.map
        s, last = 0.0, None
        while s < self.path.length - self.sink_dist:
            x, y, z, _ = self.path.pose(s)
            wp = m.get_waypoint(Location(x, y, z))
            if (initial_junction or wp is None or not wp.is_junction) and \
                    (last is None or math.hypot(x - last[0], y - last[1]) >= self.spawn_dist):
                self._new_actor(s, self.speed if self.constant_velocity else 0.0)
                last = (x, y)
                self.spawn_dist = self._draw()
            s += 1.0
        self.actors.sort(key=lambda a: a.path_s)

    def step(self) -> None:
        for a in list(self.actors):
            if dist3(a.pose[:3], self.sink[:3]) < self.sink_dist or a.path_done:
                self._drop(a)
        if self.constant_velocity and not self.collided and self.sc.frame is not None:
            mine = {a.id for a in self.actors}
            if any(c.other_id in mine for c in self.sc.frame.collisions):
                self.on_collision()
        if not self.actors:
            gap = self.spawn_dist + 1
        else:
            newest = min(self.actors, key=lambda a: a.path_s)
            gap = dist3(self.source[:3], newest.pose[:3])
        if gap > self.spawn_dist:
            self._new_actor(0.0, self.speed if self.constant_velocity else 0.0)
            self.spawn_dist = self._draw()

    def on_collision(self) -> None:
        """ActorFlow.stop_constant_velocity: after a collision the flow drives as normal
        traffic that brakes for vehicles ahead."""
        self.collided = True
        for a in self.actors:
            a.set_hazard((5.0, 1.0))
            a.set_target_speed(self.speed, accel=3.0, decel=6.0)
        self.hazard = (5.0, 1.0)
        self.constant_velocity = False

    def _drop(self, a: ScriptedActor) -> None:
        a.remove()
        self.actors.remove(a)
        if a in self.sc.actors:
            self.sc.actors.remove(a)

    def stop(self) -> None:
        for a in list(self.actors):
            self._drop(a)


def opposite_flow(sc: "Scenario", reference_wp: Waypoint, interval: tuple[float, float],
                  time_distance: float = 1.5, base_distance: float = 30.0, offset: float = 0.0,
                  label: str = "opposite") -> Flow:
    """OppositeActorFlow on reference_wp's lane: source and sink `1.5 * limit[km/h] + 30` m
    before and after the reference (never into a junction), BasicAgents at the ego's speed
    limit braking for vehicles within 10 + 1.6 * speed m."""
    limit = speed_limit_at(sc.ego_waypoint())
    flow_distance = time_distance * limit + base_distance
    sink = move_forward(reference_wp, flow_distance)
    source = move_backward(reference_wp, flow_distance)
    path = path_between(source, sink.xyz, 3 * flow_distance + 10, planner=sc.ctx.planner)
    return Flow(sc, path, interval, limit / 3.6, hazard=(10.0, 1.6), offset=offset, label=label,
                constant_velocity=False, accel=3.0)
