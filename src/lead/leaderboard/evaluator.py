"""One route's evaluation: the Leaderboard 2.0 criteria tree of RouteScenario, stepped tick
by tick, deciding when the route ends and producing its record.

Per tick, as the leaderboard's scenario tree does: collision-sensor events, then the route
criteria in RouteScenario._create_test_criteria order, then the active scenario criteria, then
the route timeout. The route ends when RouteCompletionTest reports SUCCESS (the tick after
completion), a terminating criterion fails (route deviation, agent blocked) or the timeout fires.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lead.leaderboard.criteria import (
    ActorBlockedTest,
    CollisionTest,
    Criterion,
    InRouteTest,
    MinimumSpeedRouteTest,
    OutsideRouteLanesTest,
    RouteCompletionTest,
    RouteTimeout,
    RunningRedLightTest,
    RunningStopTest,
    ScenarioTimeoutTest,
    Status,
    YieldToEmergencyVehicleTest,
)
from lead.leaderboard.events import TrafficEvent
from lead.leaderboard.geometry import Pose, RouteGeometry
from lead.leaderboard.rules import OFFICIAL, Rules
from lead.leaderboard.scoring import RouteRecord, compute_route_record
from lead.leaderboard.snapshot import LaneMap, StopSign, Tick, TrafficLight

END_COMPLETED = "completed"
END_DEVIATION = "route_deviation"
END_BLOCKED = "blocked"
END_TIMEOUT = "timeout"


@dataclass(frozen=True)
class StepResult:
    # events first seen this tick (not ROUTE_COMPLETION; updates of the outside-lanes event are not new)
    new_events: list[TrafficEvent]
    done: bool
    reason: str | None               # END_* when done


class RouteEvaluator:
    """Criteria of one route.

    route: the dense route (waypoint transforms ~1 m apart, CARLA frame); traffic_lights /
    stop_signs: the town's lights and signs as the criteria see them; route_id / index: the
    record's 'RouteScenario_<id>_rep<k>' and position in the run; extras: Bench2Drive's record
    fields (scenario_name, weather_id, save_name, town_name)."""

    def __init__(
        self,
        route: Sequence[Pose],
        lane_map: LaneMap,
        *,
        traffic_lights: Sequence[TrafficLight] = (),
        stop_signs: Sequence[StopSign] = (),
        rules: Rules = OFFICIAL,
        route_id: str = "RouteScenario_0_rep0",
        index: int = 0,
        extras: dict[str, Any] | None = None,
        start_time: float = 0.0,
    ) -> None:
        self.route = RouteGeometry(route, source=route_id)
        self.rules = rules
        self.route_id = route_id
        self.index = index
        self.extras = dict(extras or {})
        self.start_time = start_time
        self.completion = RouteCompletionTest(self.route)
        self.outside_lanes = OutsideRouteLanesTest(self.route, lane_map)
        self.collisions = CollisionTest()
        self.in_route = InRouteTest(self.route, offroad_max=30)
        self.blocked = ActorBlockedTest(min_speed=0.1, max_time=rules.blocked_max_time)
        self.criteria: list[Criterion] = [
            self.completion,
            self.outside_lanes,
            self.collisions,
            RunningRedLightTest(traffic_lights, lane_map),
            RunningStopTest(stop_signs, lane_map),
            MinimumSpeedRouteTest(self.route, checkpoints=rules.min_speed_checkpoints,
                                  every_checkpoint_event=rules.min_speed_event_every_checkpoint),
            self.in_route,
            self.blocked,
        ]
        self.timeout = RouteTimeout(self.route)
        self._scenario_criteria: dict[str, list[Criterion]] = {}
        self._active_scenarios: list[str] = []
        self._timeout_scenarios: set[str] = set()
        # the route-completion event exists from the start and is no news
        self._reported: set[int] = {id(self.completion.events[0])}
        self._last_tick: Tick | None = None
        self.done = False
        self.reason: str | None = None
        self._finished = False

    @property
    def route_length(self) -> float:
        return self.route.length

    def all_criteria(self) -> list[Criterion]:
        """Route criteria, then scenario criteria in the order their scenarios started."""
        return self.criteria + [c for cs in self._scenario_criteria.values() for c in cs]

    def events(self) -> list[TrafficEvent]:
        return [e for c in self.all_criteria() for e in c.events]

    def take_new_events(self) -> list[TrafficEvent]:
        """Events not returned before (also those that `finish` creates)."""
        new = [e for e in self.events() if id(e) not in self._reported]
        self._reported.update(id(e) for e in new)
        return new

    def start_scenario(self, name: str, *, has_timeout: bool = False, emergency_vehicle_id: int | None = None) -> None:
        """A route scenario became active: attach its criteria. `has_timeout`: the scenario runs a
        ScenarioTimeout (which also pauses the blocked check while it runs);
        `emergency_vehicle_id`: YieldToEmergencyVehicle's ambulance."""
        if name in self._scenario_criteria:
            raise ValueError(f"{self.route_id}: scenario {name!r} started twice")
        criteria: list[Criterion] = []
        if has_timeout:
            criteria.append(ScenarioTimeoutTest(name))
            self._timeout_scenarios.add(name)
            self.blocked.switch(False)
        if emergency_vehicle_id is not None:
            criteria.append(YieldToEmergencyVehicleTest(emergency_vehicle_id))
        self._scenario_criteria[name] = criteria
        self._active_scenarios.append(name)

    def end_scenario(self, name: str, timed_out: bool = False) -> None:
        """The scenario finished; `timed_out` when its ScenarioTimeout expired."""
        if name not in self._active_scenarios:
            raise ValueError(f"{self.route_id}: scenario {name!r} is not running")
        self._active_scenarios.remove(name)
        for c in self._scenario_criteria[name]:
            if isinstance(c, ScenarioTimeoutTest):
                c.timed_out = timed_out
            c.terminate(self._last_tick)
        if name in self._timeout_scenarios:
            self.blocked.switch(True)

    def set_wrong_direction_check(self, active: bool) -> None:
        """Scenarios that make the ego invade the opposite lane turn this off (AC_SwitchWrongDirectionTest)."""
        self.outside_lanes.wrong_direction_active = active

    def step(self, tick: Tick) -> StepResult:
        if self.done:
            raise RuntimeError(f"{self.route_id}: route already ended ({self.reason}); no more ticks")
        for col in tick.collisions:
            self.collisions.on_collision(col.other_id, col.other_type, tick)
        statuses = {id(c): c.update(tick) for c in self.criteria}
        for name in self._active_scenarios:
            for c in self._scenario_criteria[name]:
                c.update(tick)
        timeout_status = self.timeout.update(tick)
        self._last_tick = tick
        if Status.FAILURE in statuses.values():
            self.done = True
            self.reason = END_DEVIATION if statuses[id(self.in_route)] == Status.FAILURE else END_BLOCKED
        elif Status.SUCCESS in statuses.values():
            self.done, self.reason = True, END_COMPLETED
        elif timeout_status == Status.SUCCESS:
            self.done, self.reason = True, END_TIMEOUT
        return StepResult(self.take_new_events(), self.done, self.reason)

    def _record(self, duration_system: float, failure_message: str) -> RouteRecord:
        game = (self._last_tick.time - self.start_time) if self._last_tick else 0.0
        return compute_route_record(
            self.route_id, self.index, self.events(),
            route_length=self.route_length, duration_game=game, duration_system=duration_system,
            route_timed_out=self.timeout.timeout, failure_message=failure_message,
            rules=self.rules, extras=self.extras)

    def current_record(self, duration_system: float = 0.0) -> RouteRecord:
        """Scores so far (for live status), without ending anything."""
        return self._record(duration_system, "")

    def finish(self, duration_system: float, failure_message: str = "") -> RouteRecord:
        """End the route (also when it was cut short: agent or simulator crash, pass the
        FAILURE_MESSAGES text) and return its record. Events created here (last min-speed
        checkpoint, a pending yield / scenario timeout) come from `take_new_events`."""
        if self._finished:
            raise RuntimeError(f"{self.route_id}: finish() was already called")
        self._finished = True
        for c in self.criteria:
            c.terminate(self._last_tick)
        for name in list(self._active_scenarios):
            self.end_scenario(name, timed_out=False)
        self.done = True
        return self._record(duration_system, failure_message)
