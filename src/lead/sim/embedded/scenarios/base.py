"""The scenario base class: lifecycle, behaviour as a generator, criteria events.

Lifecycle, as Leaderboard 2.0's RouteScenario runs a route scenario:

1. pending  -> ready:   `setup()` when the ego comes within 500 m of the trigger point
   (RouteScenario.INIT_THRESHOLD): the scenario finds its places on the map and spawns
   the actors scenario_runner spawns in `_initialize_actors` (actors it keeps hidden
   until later are only created when placed). A ScenarioSetupError skips the scenario
   with a warning ("Skipping scenario ... due to setup error"); the route still runs.
2. ready    -> running: triggered by the manager when the ego's route position comes
   within 2 m of the trigger point (ScenarioTriggerer, DIST_THRESHOLD). The scenario's
   criteria start here (event STARTED: ScenarioTimeoutTest when it has a timeout,
   YieldToEmergencyVehicleTest with the emergency vehicle's id).
3. running  -> done:    the behaviour generator finishes, `end_condition()` holds, or the
   ScenarioTimeout (seconds since the trigger) expires; actors are removed, forced lights
   released, and event ENDED carries `timed_out` (ScenarioTimeoutTest's verdict).

A behaviour is a generator: each `yield` ends the tick; `yield from self.wait(cond)`,
`self.idle(seconds)`, `self.drive_distance(m)` mirror scenario_runner's atomics, and
conditions that already hold pass within the same tick, as a py_trees Sequence does.
"""
from __future__ import annotations

import inspect
import logging
import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Generator, Sequence

import numpy as np

from lead.control.vehicle_control import VehicleControl
from lead.world.routes import ScenarioConfig

from .actors import Other, ScriptedActor
from .geometry import Pose, RouteArrays, ScenarioSetupError, dist3, in_front_of, waypoint_at

log = logging.getLogger("lead.scenarios")

EPSILON = 0.001   # m/s; scenario_runner's trigger conditions treat slower as standing

STARTED = "started"
ENDED = "ended"
WRONG_DIRECTION_CHECK = "wrong_direction_check"
SKIPPED = "skipped"

Behaviour = Generator[None, None, None]


@dataclass(frozen=True)
class ScenarioEvent:
    """What a scenario reports to the route manager, which forwards it to the
    RouteEvaluator (`apply_events`): STARTED -> start_scenario(name, has_timeout,
    emergency_vehicle_id), ENDED -> end_scenario(name, timed_out), WRONG_DIRECTION_CHECK
    -> set_wrong_direction_check(active). SKIPPED is informational (unknown type, setup error)."""
    kind: str
    scenario: str
    type: str
    frame: int = 0
    time: float = 0.0
    has_timeout: bool = False
    emergency_vehicle_id: int | None = None
    timed_out: bool = False
    active: bool | None = None
    message: str = ""


@dataclass
class ScenarioContext:
    """What every scenario of a route shares: the world, its map, the dense route, the
    simulation step, a seed, and (built on first use) a global route planner."""
    world: Any
    route: RouteArrays
    seed: int = 0
    dt: float = 0.05
    _planner: Any = field(default=None, repr=False)

    @property
    def map(self):
        return self.world.map

    @property
    def planner(self):
        if self._planner is None:
            self._planner = shared_planner(self.world.map)
        return self._planner


_PLANNERS: dict[int, tuple[Any, Any]] = {}


def shared_planner(m: Any) -> Any:
    """A GlobalRoutePlanner (1 m) per map object, built once."""
    from lead.world.planner import GlobalRoutePlanner

    hit = _PLANNERS.get(id(m))
    if hit is None or hit[0] is not m:
        hit = (m, GlobalRoutePlanner(m, 1.0))
        _PLANNERS[id(m)] = hit
    return hit[1]


# ------------------------------------------------------------------ registry

SCENARIO_TYPES: dict[str, type["Scenario"]] = {}


def register(*names: str) -> Callable[[type["Scenario"]], type["Scenario"]]:
    """Class decorator: the scenario types (route XML `type` values) a class implements."""
    def deco(cls: type["Scenario"]) -> type["Scenario"]:
        for n in names:
            if n in SCENARIO_TYPES:
                raise ValueError(f"scenario type {n!r} registered twice")
            SCENARIO_TYPES[n] = cls
        cls.type_names = tuple(names)
        return cls
    return deco


# ------------------------------------------------------------------ the base class

class Scenario:
    """One Leaderboard 2.0 scenario of a route.

    Subclasses set `has_timeout` (a ScenarioTimeoutTest is attached), `scenario_timeout`
    (seconds), and implement `setup()` and `behaviour()`, optionally `end_condition()`
    and `modify_control()`."""

    type_names: ClassVar[tuple[str, ...]] = ()
    has_timeout: ClassVar[bool] = False
    scenario_timeout: ClassVar[float] = 240.0

    def __init__(self, config: ScenarioConfig, ctx: ScenarioContext):
        self.config = config
        self.ctx = ctx
        self.world = ctx.world
        self.map = ctx.world.map
        self.route = ctx.route
        self.name = config.name
        self.type = config.type
        tp = config.trigger_point
        self.trigger_location = (tp.x, tp.y, tp.z)
        self.trigger_yaw = tp.yaw
        self.rng = np.random.default_rng(np.random.SeedSequence([int(ctx.seed) & 0xFFFFFFFF,
                                                                 zlib.crc32(config.name.encode())]))
        self.state = "pending"
        self.actors: list[ScriptedActor] = []
        self.frame = None
        self.time = 0.0
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.timed_out = False
        self.ego_odometer = 0.0
        self.emergency_vehicle: ScriptedActor | None = None
        self.notes: list[str] = []              # what this scenario could not do as upstream does
        self._events: list[ScenarioEvent] = []
        self._behaviour: Behaviour | None = None
        self._forced_lights: set[str] = set()
        self._ego_prev: tuple[float, float, float] | None = None
        self._others: Sequence[Other] = ()
        self._ref_wp = None
        self._taken = 0
        self._tasks: list[Callable[[], Any]] = []

    # ------------------------------------------------------------------ to implement
    def setup(self) -> None:
        """Find the scenario's places and spawn its initial actors (ScenarioSetupError if impossible)."""

    def behaviour(self) -> Behaviour:
        """The scenario's behaviour after its trigger (a generator, one step per tick)."""
        yield

    def end_condition(self) -> bool:
        """An end condition running in parallel with the behaviour."""
        return False

    def modify_control(self, control: VehicleControl) -> VehicleControl:
        """Change the ego's control (ControlLoss); the default leaves it."""
        return control

    def on_end(self) -> None:
        """Clean-up beyond removing actors and releasing forced lights."""

    def on_trigger(self) -> None:
        """Called at the trigger, before the criteria start (place actors the criteria need)."""

    def before_trigger(self) -> None:
        """Called every tick while the scenario waits for its trigger (actors move after it)."""

    # ------------------------------------------------------------------ parameters
    def param(self, tag: str, default: Any, cast: Callable[[str], Any] = float) -> Any:
        raw = self.config.value(tag)
        if raw is None:
            return default
        try:
            return cast(raw)
        except (TypeError, ValueError):
            raise ScenarioSetupError(f"parameter <{tag} value={raw!r}> is not a valid {cast.__name__}") from None

    def param_interval(self, tag: str, default: tuple[float, float]) -> tuple[float, float]:
        iv = self.config.interval(tag)
        return tuple(iv) if iv is not None else tuple(default)

    def param_location(self, tag: str) -> tuple[float, float, float] | None:
        p = self.config.parameters.get(tag)
        if p is None:
            return None
        try:
            return float(p["x"]), float(p["y"]), float(p.get("z", 0.0))
        except (KeyError, ValueError):
            raise ScenarioSetupError(f"parameter <{tag}> needs numeric x, y (and z) attributes, got {p}") from None

    def param_direction(self, default: str = "right", choices: Sequence[str] = ("left", "right")) -> str:
        d = self.param("direction", default, str)
        if d not in choices:
            raise ScenarioSetupError(f"'direction' must be one of {list(choices)} but {d!r} was given")
        return d

    @property
    def reference_waypoint(self):
        """The driving lane waypoint at the trigger point (map.get_waypoint(trigger))."""
        if self._ref_wp is None:
            self._ref_wp = waypoint_at(self.map, *self.trigger_location)
        return self._ref_wp

    # ------------------------------------------------------------------ actors
    def actor(self, type_id: str, role: str = "scenario", label: str = "") -> ScriptedActor:
        a = ScriptedActor(self, type_id, role=role, label=label)
        self.actors.append(a)
        return a

    def spawn(self, a: ScriptedActor) -> int:
        """Add the actor to the world (called by ScriptedActor.place)."""
        x, y, z, r, p, yaw = a.world_pose()
        kwargs = {}
        if not a.collides:
            if not _world_supports(self.world, "collides"):
                # The world cannot host an actor the ego drives over without a collision:
                # keep it out of the world (see the package docs), as a virtual actor.
                return -1
            kwargs["collides"] = False
        return self.world.add_scenario_actor(a.type_id, a.kind, (x, y, z, r, p, yaw), a.extent, role_name=a.role,
                                             static=a.kind == "static", **kwargs)

    def despawn(self, a: ScriptedActor) -> None:
        if a.id is not None and a.id >= 0:
            self.world.remove_actor(a.id)

    def push_state(self, a: ScriptedActor) -> None:
        if a.id is not None and a.id >= 0:
            self.world.set_actor_state(a.id, a.world_pose(), a.velocity())

    def remove_all_actors(self) -> None:
        for a in self.actors:
            a.remove()

    def actor_ids(self) -> dict[int, str]:
        """{world actor id: label} of the actors now in the world."""
        return {a.id: a.label for a in self.actors if a.id is not None and a.id >= 0}

    # ------------------------------------------------------------------ the ego
    @property
    def ego_location(self) -> tuple[float, float, float]:
        t = self.frame.ego.transform
        return (t[0], t[1], t[2])

    @property
    def ego_pose(self) -> Pose:
        t = self.frame.ego.transform
        return (t[0], t[1], t[2], t[5])

    @property
    def ego_speed(self) -> float:
        v = self.frame.ego.velocity
        return math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)

    def ego_within(self, location: Sequence[float], distance: float) -> bool:
        """InTriggerDistanceToLocation (3-D distance < distance)."""
        return dist3(self.ego_location, location) < distance

    def ego_time_to_arrival(self, location: Sequence[float]) -> float:
        v = self.ego_speed
        return dist3(self.ego_location, location) / v if v > EPSILON else math.inf

    def ego_in_front_of(self, pose: Pose) -> bool:
        """WaitUntilInFrontPosition(check_distance=False)."""
        return in_front_of(self.ego_location, pose)

    def ego_waypoint(self):
        return waypoint_at(self.map, *self.ego_location)

    # ------------------------------------------------------------------ behaviour atoms
    def wait(self, cond: Callable[[], bool]) -> Behaviour:
        while not cond():
            yield

    def idle(self, seconds: float) -> Behaviour:
        t0 = self.time
        while self.time - t0 <= seconds:
            yield

    def drive_distance(self, distance: float) -> Behaviour:
        """DriveDistance: until the ego has driven `distance` m from now."""
        start = self.ego_odometer
        while self.ego_odometer - start <= distance:
            yield

    def wait_end_intersection(self, junction_id: int | None = None) -> Behaviour:
        """WaitEndIntersection: until the ego has entered a junction and left it."""
        inside = False
        while True:
            wp = self.ego_waypoint()
            if not inside:
                if wp.is_junction and (junction_id is None or wp.junction_id == junction_id):
                    inside = True
            elif not wp.is_junction:
                return
            yield

    def wait_forever(self) -> Behaviour:
        while True:
            yield

    def start_task(self, fn: Callable[[], Any]) -> None:
        """Run fn every tick (before the behaviour step) until stop_task: a behaviour that
        runs in parallel with the rest (an actor flow, a light freezer)."""
        if fn not in self._tasks:
            self._tasks.append(fn)

    def parallel(self, behaviour: Behaviour) -> Callable[[], Any]:
        """Run a behaviour generator alongside the main one (a py_trees Parallel branch)
        until it finishes or the scenario ends; returns its task."""
        def step() -> None:
            try:
                next(behaviour)
            except StopIteration:
                self.stop_task(step)
        self.start_task(step)
        step()   # a parallel branch ticks in the tick it starts
        return step

    def stop_task(self, fn: Callable[[], Any]) -> None:
        if fn in self._tasks:
            self._tasks.remove(fn)

    # ------------------------------------------------------------------ lights, traffic, criteria switches
    def force_lights(self, states: dict[str, Any]) -> None:
        """TrafficLightFreezer: hold lights in the given states until released."""
        for lid, st in states.items():
            self.world.traffic.set_light_state(lid, st)
            self._forced_lights.add(lid)

    def release_lights(self) -> None:
        for lid in sorted(self._forced_lights):
            self.world.traffic.release_light(lid)
        self._forced_lights.clear()

    def freeze_lights(self, states: dict[str, Any], duration: float = math.inf) -> Behaviour:
        """TrafficLightFreezer as a behaviour: hold for `duration` s, then release."""
        self.force_lights(states)
        yield from self.idle(duration)
        self.release_lights()

    def switch_wrong_direction_test(self, active: bool) -> None:
        """SwitchWrongDirectionTest (the route's OutsideRouteLanesTest wrong-lane part)."""
        self._emit(WRONG_DIRECTION_CHECK, active=bool(active))

    def background_vehicles(self) -> list[Any]:
        return [a for a in self.frame.actors
                if a.kind == "vehicle" and self.frame.roles.get(a.id) == "background"]

    def clear_route_ahead(self, distance: float, lateral: float = 2.5) -> int:
        """LeaveSpaceInFront: remove background vehicles on the route ahead of the ego
        (within `distance` m along it, `lateral` m of it); returns how many."""
        if self.frame is None or self.world.traffic is None:
            return 0
        route = self.route
        i0 = route.closest(*self.ego_location)
        s0 = route.cum[i0]
        removed = 0
        for a in self.background_vehicles():
            x, y = a.transform[0], a.transform[1]
            d2 = (route.xyz[:, 0] - x) ** 2 + (route.xyz[:, 1] - y) ** 2
            j = int(np.argmin(d2))
            if math.sqrt(d2[j]) < lateral and 0.0 <= route.cum[j] - s0 <= distance:
                self.world.traffic.remove_actor(a.id)
                removed += 1
        return removed

    def handle_junction(self, junction_id: int | None, points: Sequence[Sequence[float]] = (),
                        radius: float = 30.0) -> int:
        """HandleJunctionScenario reduced to what the embedded traffic needs: background
        vehicles inside the junction, on the ego's entry and near the listed entries/exits
        (within `radius`) are removed."""
        if self.frame is None or self.world.traffic is None:
            return 0
        removed = self.clear_route_ahead(radius + 20.0)
        if junction_id is not None:
            from lead.world.transform import Location
            for a in self.background_vehicles():
                wp = self.map.get_waypoint(Location(a.transform[0], a.transform[1], a.transform[2]))
                if wp is not None and wp.is_junction and wp.junction_id == junction_id:
                    self.world.traffic.remove_actor(a.id)
                    removed += 1
        return removed + self.clear_traffic_near(points, radius)

    def clear_traffic_near(self, points: Sequence[Sequence[float]], radius: float) -> int:
        """Remove background vehicles within `radius` m of any point (LeaveCrossingSpace,
        HandleJunctionScenario's clearing)."""
        if self.frame is None or self.world.traffic is None or not points:
            return 0
        pts = np.asarray([p[:2] for p in points], dtype=float)
        removed = 0
        for a in self.background_vehicles():
            d = np.hypot(pts[:, 0] - a.transform[0], pts[:, 1] - a.transform[1])
            if d.min() < radius:
                self.world.traffic.remove_actor(a.id)
                removed += 1
        return removed

    # ------------------------------------------------------------------ framework (the manager calls these)
    def events(self) -> list[ScenarioEvent]:
        """Every event this scenario reported, in order."""
        return list(self._events)

    def _emit(self, kind: str, **kw: Any) -> None:
        f = self.frame
        self._events.append(ScenarioEvent(kind, self.name, self.type, f.number if f is not None else 0,
                                          self.time, **kw))

    def _observe(self, frame: Any, others: Sequence[Other]) -> None:
        self.frame = frame
        self.time = frame.time_ns * 1e-9
        self._others = others
        loc = self.ego_location
        if self._ego_prev is not None:
            self.ego_odometer += dist3(loc, self._ego_prev)
        self._ego_prev = loc

    def _initialize(self, frame: Any) -> bool:
        try:
            self.setup()
        except ScenarioSetupError as e:
            self.remove_all_actors()
            self.state = "skipped"
            log.warning("skipping scenario %s (%s) due to setup error: %s", self.name, self.type, e)
            self._emit(SKIPPED, message=str(e))
            return False
        self.state = "ready"
        return True

    def _trigger(self) -> None:
        self.state = "running"
        self.start_time = self.time
        self.on_trigger()
        self._behaviour = self.behaviour()
        ev = self.emergency_vehicle
        self._emit(STARTED, has_timeout=self.has_timeout,
                   emergency_vehicle_id=None if ev is None else ev.id)

    def _tick(self) -> None:
        done = False
        try:
            for task in list(self._tasks):
                task()
            if self._behaviour is not None:
                try:
                    next(self._behaviour)
                except StopIteration:
                    self._behaviour = None
                    done = True
        except ScenarioSetupError as e:      # e.g. no path for a flow: end the scenario, not the route
            log.warning("scenario %s (%s) stopped: %s", self.name, self.type, e)
            self.notes.append(f"stopped: {e}")
            self._behaviour = None
            done = True
        if not done and self.end_condition():
            done = True
        if not done and self.has_timeout and self.time - self.start_time > self.scenario_timeout:
            self.timed_out = True
            done = True
        for a in self.actors:
            a.update(self.ctx.dt, self._others)
        if done:
            self._end()

    def _end(self) -> None:
        if self.state != "running":
            return
        self.state = "done"
        self.end_time = self.time
        if self._behaviour is not None:
            self._behaviour.close()
            self._behaviour = None
        self._tasks.clear()
        self.on_end()
        self.remove_all_actors()
        self.release_lights()
        self._emit(ENDED, timed_out=self.timed_out)

    def _abort(self) -> None:
        """The route ended: stop wherever the scenario is (no timeout verdict)."""
        if self.state == "running":
            self._end()
        elif self.state == "ready":
            self.remove_all_actors()
            self.release_lights()
            self.state = "done"


_SUPPORT: dict[tuple[type, str], bool] = {}


def _world_supports(world: Any, kwarg: str) -> bool:
    key = (type(world), kwarg)
    if key not in _SUPPORT:
        try:
            _SUPPORT[key] = kwarg in inspect.signature(world.add_scenario_actor).parameters
        except (TypeError, ValueError):
            _SUPPORT[key] = False
    return _SUPPORT[key]
