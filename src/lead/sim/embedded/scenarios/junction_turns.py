"""The ego turns at a junction across or into a stream of vehicles:
SignalizedJunctionLeftTurn, NonSignalizedJunctionLeftTurn (signalized_junction_left_turn.py),
SignalizedJunctionRightTurn, NonSignalizedJunctionRightTurn (signalized_junction_right_turn.py).
ScenarioTimeoutTest, 240 s.

Parameters: flow_speed (m/s, default 20), source_dist_interval (m, default 25-50).
Left turn: the flow comes from the opposite entry of the next junction (one of its
lanes, seeded choice), from 4 * flow_speed m before it (5 m steps, not past another
junction), and leaves 2.5 * flow_speed m after its straight exit. Right turn: from the
rightmost lane of the entry on the ego's left, from 5 * flow_speed m, to 3 * flow_speed m
after its straight exit, and the road starts filled (initial_actors).
The flow is an ActorFlow: constant flow_speed, no lights, signs or vehicles respected
until one of its vehicles collides. Signalized: for the first 5 s the ego's light is red
and the flow's green, then both green (every other light red) until the end. The
scenario ends when the ego has left the junction and driven 10 m.
"""
from __future__ import annotations

from lead.sim.embedded.traffic.lights import LightState

from .actors import planned_path
from .base import Behaviour, Scenario, register
from .geometry import (ScenarioSetupError, closest_traffic_light, filter_direction, first_junction_wp,
                       junction_topology, lights_in_junction, next_wp, same_dir_lanes, target_waypoint,
                       waypoint_at)
from .traffic_flow import Flow


class _JunctionFlow(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    green_light_delay = 5.0
    end_distance = 10.0
    flow_direction = "opposite"
    source_factor, sink_factor = 4.0, 2.5
    initial_actors = False
    signalized = False
    sink_turn = 0         # the flow's way through the junction: 0 straight, 1 right

    def setup(self) -> None:
        self.flow_speed = self.param("flow_speed", 20.0)
        self.interval = self.param_interval("source_dist_interval", (25.0, 50.0))
        self.source_dist = self.source_factor * self.flow_speed
        self.sink_dist = self.sink_factor * self.flow_speed
        starting_wp, _ = first_junction_wp(self.reference_waypoint)
        self.junction_id = starting_wp.junction_id
        entries, _ = junction_topology(self.map, self.junction_id)
        sources = filter_direction(starting_wp, entries, self.flow_direction)
        if not sources:
            raise ScenarioSetupError(f"trying to find a lane in the {self.flow_direction} direction but none was found")
        entry = self._pick_entry(sources)
        src, d = entry, 0.0
        while d < self.source_dist:
            prv = src.previous(5.0)
            if not prv:
                raise ScenarioSetupError("failed to find a source location")
            if prv[0].is_junction:
                break
            src, d = prv[0], d + 5.0
        self.source_wp = src
        sink_exit = target_waypoint(waypoint_at(self.map, *src.xyz), self.sink_turn)
        self.sink_wp = next_wp(sink_exit, self.sink_dist, "flow sink")
        self.path = planned_path(self.ctx.planner, src.xyz, self.sink_wp.xyz)
        self.light_init: dict[str, LightState] = {}
        self.light_flow: dict[str, LightState] = {}
        if self.signalized:
            lights = lights_in_junction(self.map, self.junction_id)
            if not lights:
                raise ScenarioSetupError("found no traffic lights, use the non signalized version instead")
            ego_tl = closest_traffic_light(self.reference_waypoint, lights)
            src_tl = closest_traffic_light(self.source_wp, lights)
            for tl in lights:
                if tl is ego_tl:
                    self.light_init[tl.id], self.light_flow[tl.id] = LightState.Red, LightState.Green
                elif tl is src_tl:
                    self.light_init[tl.id], self.light_flow[tl.id] = LightState.Green, LightState.Green
                else:
                    self.light_init[tl.id], self.light_flow[tl.id] = LightState.Red, LightState.Red
        self.flow: Flow | None = None

    def _pick_entry(self, sources):
        return sources[int(self.rng.integers(len(sources)))]

    def _lights(self) -> Behaviour:
        yield from self.freeze_lights(self.light_init, self.green_light_delay)
        self.force_lights(self.light_flow)
        yield from self.wait_forever()

    def behaviour(self) -> Behaviour:
        self.handle_junction(self.junction_id, [w.xyz for w in same_dir_lanes(self.source_wp)]
                             + [w.xyz for w in same_dir_lanes(self.sink_wp)])
        self.flow = Flow(self, self.path, self.interval, self.flow_speed, hazard=None, label="flow")
        if self.initial_actors:
            self.flow.fill()
        self.start_task(self.flow.step)
        if self.signalized:
            self.parallel(self._lights())
        yield from self.wait_end_intersection()
        yield from self.drive_distance(self.end_distance)


@register("SignalizedJunctionLeftTurn")
class SignalizedJunctionLeftTurn(_JunctionFlow):
    signalized = True


@register("NonSignalizedJunctionLeftTurn")
class NonSignalizedJunctionLeftTurn(_JunctionFlow):
    signalized = False


class _RightTurn(_JunctionFlow):
    flow_direction = "left"
    source_factor, sink_factor = 5.0, 3.0
    initial_actors = True

    def _pick_entry(self, sources):
        entry = sources[0]
        from lead.world.lane_types import LaneType
        while True:
            r = entry.get_right_lane()
            if r is None or r.lane_type != LaneType.Driving:
                return entry
            entry = r


@register("SignalizedJunctionRightTurn")
class SignalizedJunctionRightTurn(_RightTurn):
    signalized = True


@register("NonSignalizedJunctionRightTurn")
class NonSignalizedJunctionRightTurn(_RightTurn):
    signalized = False
