"""ScenarioManager: all Leaderboard 2.0 scenarios of one route, stepped with the world.

    manager = ScenarioManager(world, dense_route, route_config.scenarios, seed=3)
    while True:
        frame = world.tick()
        tick = ...                                  # the evaluator's view of the frame
        evaluator.step(tick)
        apply_events(evaluator, manager.step(frame))
        world.apply_control(manager.filter_control(agent_control))
    manager.finish()                               # before evaluator.finish()

As RouteScenario does: scenarios whose trigger point is not on the route (2 m, 10 deg)
are dropped with a warning (RouteParser.is_scenario_at_route); a scenario is set up once
the ego is within 500 m of its trigger point; it is triggered when the ego's position on
the route (the closest of the next 6 route points, ScenarioTriggerer) is within 2 m of the
trigger point; an unknown type or a setup error is logged once and skipped while the
route runs on.
"""
from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, Iterable, Sequence

import numpy as np

from lead.control.vehicle_control import VehicleControl
from lead.world.routes import ScenarioConfig

from .actors import Other
from .base import (ENDED, SCENARIO_TYPES, SKIPPED, STARTED, WRONG_DIRECTION_CHECK, Scenario, ScenarioContext,
                   ScenarioEvent)
from .geometry import RouteArrays, dist3, route_arrays

log = logging.getLogger("lead.scenarios")

INIT_THRESHOLD = 500.0      # RouteScenario.INIT_THRESHOLD (m)
TRIGGER_DISTANCE = 2.0      # route_parser.DIST_THRESHOLD (m)
ANGLE_THRESHOLD = 10.0      # route_parser.ANGLE_THRESHOLD (deg)
TRIGGER_WINDOW = 5          # ScenarioTriggerer.WINDOWS_SIZE (route points)


def trigger_on_route(config: ScenarioConfig, route: RouteArrays) -> bool:
    """RouteParser.is_scenario_at_route: some route point within 2 m (and dz < 2 m) of the
    trigger point, heading within 10 deg."""
    tp = config.trigger_point
    dpos = np.hypot(route.xyz[:, 0] - tp.x, route.xyz[:, 1] - tp.y)
    dz = tp.z - route.xyz[:, 2]
    dyaw = (tp.yaw - route.yaw) % 360.0
    heading = (dyaw < ANGLE_THRESHOLD) | (dyaw > 360 - ANGLE_THRESHOLD)
    ok = (dz < TRIGGER_DISTANCE) & (dpos < TRIGGER_DISTANCE) & heading
    return bool(ok.any())


class ScenarioManager:
    """Builds, triggers and steps the scenarios of one route.

    world: an EmbeddedWorld with the town loaded (and, best, the ego spawned);
    route: the dense route ([(Transform, RoadOption)] from interpolate_trajectory, or an
    (N, 2..4) array); scenario_configs: the route's ScenarioConfigs; seed: makes the
    scenarios' random choices (blueprints, flow gaps, noise) repeatable, default the
    world's seed."""

    def __init__(self, world: Any, route: Any, scenario_configs: Iterable[ScenarioConfig],
                 seed: int | None = None, route_name: str = ""):
        from . import load_all
        load_all()
        if world.map is None:
            raise RuntimeError("ScenarioManager needs a world with a town loaded")
        self.world = world
        self.route_name = route_name
        self.route = route_arrays(route, world.map)
        seed = int(getattr(world, "_seed", 0) if seed is None else seed)
        self.ctx = ScenarioContext(world, self.route, seed=seed, dt=float(world.config.dt))
        self.scenarios: list[Scenario] = []
        self.skipped: list[tuple[str, str, str]] = []     # (name, type, reason)
        self._pending_events: list[ScenarioEvent] = []
        self._seen = 0
        self._index = 0
        self._last_frame = None
        for cfg in scenario_configs:
            cls = SCENARIO_TYPES.get(cfg.type)
            if cls is None:
                self._skip(cfg, f"unknown scenario type {cfg.type!r}; the route runs without it "
                                f"(known: {len(SCENARIO_TYPES)} types, see lead.sim.embedded.scenarios.SCENARIO_TYPES)")
                continue
            if not trigger_on_route(cfg, self.route):
                tp = cfg.trigger_point
                self._skip(cfg, f"trigger point ({tp.x:.1f}, {tp.y:.1f}, yaw {tp.yaw:.0f}) is too far from the route")
                continue
            self.scenarios.append(cls(cfg, self.ctx))
        if world.ego is not None:   # as RouteScenario builds its scenarios before the first tick
            self._initialize_near(self._world_frame())

    # ------------------------------------------------------------------ stepping
    def step(self, frame: Any) -> list[ScenarioEvent]:
        """Advance every scenario by one tick after `world.tick()` returned `frame`;
        returns the events of this tick."""
        self._last_frame = frame
        ego = frame.ego.transform
        loc = (ego[0], ego[1], ego[2])
        self._advance_route_index(loc)
        route_loc = self.route.xyz[self._index]
        others = self._others(frame)
        for sc in self.scenarios:
            if sc.state == "pending" and dist3(sc.trigger_location, loc) < INIT_THRESHOLD:
                sc._observe(frame, others)
                sc._initialize(frame)
            if sc.state == "ready":
                if sc.frame is not frame:
                    sc._observe(frame, others)
                if dist3(route_loc, sc.trigger_location) < TRIGGER_DISTANCE:
                    sc._trigger()
                else:
                    sc.before_trigger()
                    for a in sc.actors:
                        a.update(self.ctx.dt, others)
            if sc.state == "running":
                if sc.frame is not frame:
                    sc._observe(frame, others)
                sc._tick()
        return self.take_events()

    def filter_control(self, control: VehicleControl) -> VehicleControl:
        """The ego's control after the running scenarios changed it (ControlLoss's noise)."""
        for sc in self.scenarios:
            if sc.state == "running":
                control = sc.modify_control(control)
        return control

    def finish(self) -> list[ScenarioEvent]:
        """The route ended: end running scenarios (no timeout), remove every actor."""
        for sc in self.scenarios:
            sc._abort()
        return self.take_events()

    # ------------------------------------------------------------------ events
    def events(self) -> list[ScenarioEvent]:
        """All events so far, in the order they happened."""
        out = list(self._pending_events)
        for sc in self.scenarios:
            out.extend(sc.events())
        return sorted(out, key=lambda e: (e.frame, e.time))

    def take_events(self) -> list[ScenarioEvent]:
        out = self._pending_events
        self._pending_events = []
        for sc in self.scenarios:
            n = getattr(sc, "_taken", 0)
            evs = sc.events()
            out.extend(evs[n:])
            sc._taken = len(evs)
        return out

    def actor_names(self) -> dict[int, str]:
        """{world actor id: '<scenario name>/<actor label>'} of scenario actors now present,
        so infractions can name them."""
        out = {}
        for sc in self.scenarios:
            for aid, label in sc.actor_ids().items():
                out[aid] = f"{sc.name}/{label}"
        return out

    def scenario(self, name: str) -> Scenario:
        for sc in self.scenarios:
            if sc.name == name:
                return sc
        raise KeyError(f"no scenario named {name!r} on this route; have {[s.name for s in self.scenarios]}")

    # ------------------------------------------------------------------ internals
    def _skip(self, cfg: ScenarioConfig, reason: str) -> None:
        log.warning("%sscenario %s (%s) skipped: %s", f"{self.route_name}: " if self.route_name else "",
                    cfg.name, cfg.type, reason)
        self.skipped.append((cfg.name, cfg.type, reason))
        self._pending_events.append(ScenarioEvent(SKIPPED, cfg.name, cfg.type, message=reason))

    def _world_frame(self) -> Any:
        """A frame-like view of the world before its next tick (the ego at rest where it
        stands, no other actors), for scenarios set up before the route's first tick."""
        from lead.sim.embedded.traffic.actors import ActorState
        from lead.sim.embedded.vehicles import vehicle

        s = self.world.ego.state
        ego = ActorState(1, self.world.ego_blueprint, "vehicle", (s.x, s.y, s.z, 0.0, 0.0, s.yaw), s.velocity,
                         s.acceleration, s.angular_velocity, tuple(vehicle(self.world.ego_blueprint).extent))
        actors = self.world.traffic.actors() if self.world.traffic is not None else []
        roles = {a.id: "background" for a in actors}
        return SimpleNamespace(number=self.world.frame_number, time_ns=self.world.time_ns, ego=ego,
                               ego_speed=abs(s.speed), actors=actors, roles=roles, lights={}, collisions=[])

    def _initialize_near(self, frame: Any) -> None:
        e = frame.ego.transform
        for sc in self.scenarios:
            if sc.state == "pending" and dist3(sc.trigger_location, (e[0], e[1], e[2])) < INIT_THRESHOLD:
                sc._observe(frame, self._others(frame))
                sc._initialize(frame)

    def _advance_route_index(self, loc: tuple[float, float, float]) -> None:
        lo = self._index
        hi = min(lo + TRIGGER_WINDOW + 1, len(self.route.xyz))
        pts = self.route.xyz[lo:hi]
        d = np.sqrt(((pts - np.asarray(loc)) ** 2).sum(1))
        # ScenarioTriggerer keeps the last of equally close points (<=)
        k = len(d) - 1 - int(np.argmin(d[::-1]))
        self._index = lo + k

    @staticmethod
    def _others(frame: Any) -> list[Other]:
        e = frame.ego
        out = [Other(-1 if e.id is None else e.id, e.transform[0], e.transform[1], e.transform[5],
                     e.extent[0], e.extent[1], "vehicle")]
        for a in frame.actors:
            if a.kind == "vehicle":
                out.append(Other(a.id, a.transform[0], a.transform[1], a.transform[5], a.extent[0], a.extent[1],
                                 a.kind))
        return out


def apply_events(evaluator: Any, events: Sequence[ScenarioEvent]) -> None:
    """Forward scenario events to a lead.leaderboard RouteEvaluator."""
    for e in events:
        if e.kind == STARTED:
            evaluator.start_scenario(e.scenario, has_timeout=e.has_timeout,
                                     emergency_vehicle_id=e.emergency_vehicle_id)
        elif e.kind == ENDED:
            try:
                evaluator.end_scenario(e.scenario, timed_out=e.timed_out)
            except ValueError:      # the evaluator already ended it (route finished first)
                pass
        elif e.kind == WRONG_DIRECTION_CHECK:
            evaluator.set_wrong_direction_check(bool(e.active))


__all__ = ["ScenarioManager", "apply_events", "trigger_on_route", "INIT_THRESHOLD", "TRIGGER_DISTANCE"]
