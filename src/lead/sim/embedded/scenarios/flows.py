"""Streams of traffic the ego has to enter or cross (scenario_runner's actor_flow.py,
cross_bicycle_flow.py and Bench2Drive's left_turn_enter_flow.py). All carry a
ScenarioTimeoutTest (240 s). flow_speed is in m/s (default 10; 20 for the enter-flow
left turns), source_dist_interval in m (default 20-50; 25-50 for the left turns). The
flows are ActorFlows (see traffic_flow.py) unless said otherwise.

EnterActorFlow (start_actor_flow, end_actor_flow): one flow per lane of the start's
direction to the matching lane at the end, the roads filled at the start (junctions
included); ends when the ego is within 2 m of one of the end lanes' points.
EnterActorFlowV2: one flow from start to end; same end.
MergerIntoSlowTraffic / MergerIntoSlowTrafficV2: one flow from start to end, filled;
ends within 2 m of an end lane point.
HighwayExit: one flow, filled; ends when the ego has left the first junction on the
flow's path.
InterurbanActorFlow: one flow (not filled); the lane left of the route's exit of the next
junction must be a driving lane; ends when the ego has left a junction.
InterurbanAdvancedActorFlow: a flow from start to end, and one in the other direction
from the lane left of the end to the lane left of the start; ends when the ego is past
the second flow's end point and within 10 m of it.
SignalizedJunctionLeftTurnEnterFlow / NonSignalizedJunctionLeftTurnEnterFlow: as the
junction left turns, but the oncoming flow turns right into the road the ego turns
into (4 * flow_speed m before the junction to 2.5 * flow_speed m after its exit).
CrossingBicycleFlow (start_actor_flow on a biking lane within 10 m): bicycles (flow
speed, ignoring lights and vehicles) along the biking lane through the ego's next
junction and 40 m beyond it, the lane filled at the start; at a signalized junction the
ego's light is red for 5 s, then green with all others red; ends when the ego has left a
junction. Maps without biking lanes skip it with a setup error, as upstream.
"""
from __future__ import annotations

from lead.sim.embedded.traffic.lights import LightState
from lead.world.lane_types import LaneType

from .actors import Path, planned_path
from .base import Behaviour, Scenario, register
from .blueprints import BICYCLES
from .geometry import (ScenarioSetupError, closest_traffic_light, dist3, first_junction_wp, lights_in_junction,
                       next_wp, same_dir_lanes, target_waypoint_in_route, waypoint_at, wp_pose)
from .junction_turns import _JunctionFlow
from .traffic_flow import Flow


class _FlowScenario(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    sink_distance = 2.0
    default_speed = 10.0
    default_interval = (20.0, 50.0)

    def _flow_params(self) -> None:
        self.flow_speed = self.param("flow_speed", self.default_speed)
        self.interval = self.param_interval("source_dist_interval", self.default_interval)
        start = self.param_location("start_actor_flow")
        end = self.param_location("end_actor_flow")
        if start is None or end is None:
            raise ScenarioSetupError("needs the <start_actor_flow> and <end_actor_flow> parameters")
        self.source_wp = waypoint_at(self.map, *start)
        self.sink_wp = waypoint_at(self.map, *end)

    def _flow(self, source, sink, fill: bool, label: str = "flow", initial_junction: bool = True) -> Flow:
        path = planned_path(self.ctx.planner, source.xyz, sink.xyz)
        flow = Flow(self, path, self.interval, self.flow_speed, hazard=None, sink_dist=self.sink_distance,
                    label=label)
        if fill:
            flow.fill(initial_junction)
        self.start_task(flow.step)
        return flow

    def _near_any(self, wps) -> bool:
        return any(self.ego_within(w.xyz, self.sink_distance) for w in wps)


@register("EnterActorFlow", "EnterActorFlowV2")
class EnterActorFlow(_FlowScenario):
    def setup(self) -> None:
        self._flow_params()
        self.v2 = self.type == "EnterActorFlowV2"
        self.sources = [self.source_wp] if self.v2 else same_dir_lanes(self.source_wp)
        self.sinks = same_dir_lanes(self.sink_wp)

    def end_condition(self) -> bool:
        return self._near_any(self.sinks)

    def behaviour(self) -> Behaviour:
        self.handle_junction(None, [w.xyz for w in self.sources])
        pairs = [(self.source_wp, self.sink_wp)] if self.v2 else list(zip(self.sources, self.sinks))
        for i, (src, snk) in enumerate(pairs):
            self._flow(src, snk, fill=True, label=f"flow{i + 1}")
        yield from self.wait_forever()


@register("MergerIntoSlowTraffic", "MergerIntoSlowTrafficV2")
class MergerIntoSlowTraffic(_FlowScenario):
    def setup(self) -> None:
        self._flow_params()
        self.sinks = same_dir_lanes(self.sink_wp)

    def end_condition(self) -> bool:
        return self._near_any(self.sinks)

    def behaviour(self) -> Behaviour:
        self.handle_junction(None, [self.source_wp.xyz])
        self._flow(self.source_wp, self.sink_wp, fill=True)
        yield from self.wait_forever()


@register("HighwayExit")
class HighwayExit(_FlowScenario):
    def setup(self) -> None:
        self._flow_params()
        from lead.world.transform import Location
        trace = self.ctx.planner.trace_route(Location(*self.source_wp.xyz), Location(*self.sink_wp.xyz))
        self.junction_id = next((w.junction_id for w, _ in trace if w.is_junction), None)

    def behaviour(self) -> Behaviour:
        self.clear_traffic_near([self.source_wp.xyz], 30.0)
        self._flow(self.source_wp, self.sink_wp, fill=True)
        yield from self.wait_end_intersection(self.junction_id)


@register("InterurbanActorFlow")
class InterurbanActorFlow(_FlowScenario):
    def setup(self) -> None:
        self._flow_params()
        exit_wp = next_wp(target_waypoint_in_route(self.map, self.reference_waypoint, self.route), 8.0)
        other = exit_wp.get_left_lane()
        if other is None or other.lane_type != LaneType.Driving:
            raise ScenarioSetupError("couldn't find an end position (no driving lane left of the route's exit)")
        self.remove = [other.xyz, self.source_wp.xyz]

    def behaviour(self) -> Behaviour:
        self.handle_junction(None, self.remove)
        self._flow(self.source_wp, self.sink_wp, fill=False)
        yield from self.wait_end_intersection()


@register("InterurbanAdvancedActorFlow")
class InterurbanAdvancedActorFlow(_FlowScenario):
    end_check_distance = 10.0

    def setup(self) -> None:
        self._flow_params()
        self.source_wp_2 = self.sink_wp.get_left_lane()
        self.sink_wp_2 = self.source_wp.get_left_lane()
        for w in (self.source_wp_2, self.sink_wp_2):
            if w is None or w.lane_type != LaneType.Driving:
                raise ScenarioSetupError("couldn't find a position for the second actor flow")

    def end_condition(self) -> bool:
        pose = wp_pose(self.sink_wp_2)
        return self.ego_in_front_of(pose) and dist3(self.ego_location, pose[:3]) < self.end_check_distance

    def behaviour(self) -> Behaviour:
        entry, _ = first_junction_wp(self.reference_waypoint)
        jid = entry.junction_id
        self.handle_junction(jid, [self.source_wp.xyz, self.source_wp_2.xyz])
        self._flow(self.source_wp, self.sink_wp, fill=False, label="flow1")
        self._flow(self.source_wp_2, self.sink_wp_2, fill=False, label="flow2")
        yield from self.wait_forever()


@register("SignalizedJunctionLeftTurnEnterFlow")
class SignalizedJunctionLeftTurnEnterFlow(_JunctionFlow):
    signalized = True
    sink_turn = 1        # the oncoming flow turns right, into the ego's exit road


@register("NonSignalizedJunctionLeftTurnEnterFlow")
class NonSignalizedJunctionLeftTurnEnterFlow(_JunctionFlow):
    signalized = False
    sink_turn = 1


@register("CrossingBicycleFlow")
class CrossingBicycleFlow(_FlowScenario):
    end_dist_flow = 40.0
    green_light_delay = 5.0

    def setup(self) -> None:
        from lead.world.transform import Location
        self.flow_speed = self.param("flow_speed", 10.0)
        self.interval = self.param_interval("source_dist_interval", (20.0, 50.0))
        start = self.param_location("start_actor_flow")
        if start is None:
            raise ScenarioSetupError("needs the <start_actor_flow> parameter")
        entry, _ = first_junction_wp(self.reference_waypoint)
        self.junction_id = entry.junction_id
        src = self.map.get_waypoint(Location(*start), lane_type=LaneType.Biking)
        if src is None or dist3(src.xyz, start) > 10.0:
            raise ScenarioSetupError("couldn't find a biking lane at the specified location")
        plan, step, exit_loc, wp = [src], 0, None, src
        for _ in range(2000):
            nxt = wp.next(2.0)
            if not nxt:
                raise ScenarioSetupError("couldn't find a proper plan for the bicycle flow")
            wp = nxt[0]
            plan.append(wp)
            if step == 0 and wp.is_junction:
                step = 1
            elif step == 1 and not wp.is_junction:
                step, exit_loc = 2, wp.xyz
            elif step == 2 and dist3(exit_loc, wp.xyz) > self.end_dist_flow:
                break
        self.path = Path.from_waypoints(plan)
        self.light_init, self.light_flow = {}, {}
        lights = lights_in_junction(self.map, self.junction_id)
        if lights:
            ego_tl = closest_traffic_light(self.reference_waypoint, lights)
            for tl in lights:
                self.light_init[tl.id] = LightState.Red
                self.light_flow[tl.id] = LightState.Green if tl is ego_tl else LightState.Red

    def _lights(self) -> Behaviour:
        yield from self.freeze_lights(self.light_init, self.green_light_delay)
        self.force_lights(self.light_flow)
        yield from self.wait_forever()

    def behaviour(self) -> Behaviour:
        self.handle_junction(self.junction_id)
        flow = Flow(self, self.path, self.interval, self.flow_speed, hazard=None, label="bicycle",
                    blueprints=BICYCLES)
        flow.fill(initial_junction=False)
        self.start_task(flow.step)
        if self.light_init:
            self.parallel(self._lights())
        yield from self.wait_end_intersection()

