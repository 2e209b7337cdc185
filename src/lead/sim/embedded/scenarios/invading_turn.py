"""InvadingTurn (scenario_runner's invading_turn.py): oncoming vehicles cut into the
ego's lane in a bend, around cones on their side. ScenarioTimeoutTest, 240 s.

Defaults: distance 100, offset 0.25 m. The oncoming lane from `distance` + 30 m ahead
(wp.next) to the trigger point carries an InvadingActorFlow: BasicAgents at the ego's
speed limit, a new one every 40 m, braking for vehicles within 10 + 2 * speed m, all
driving offset + lane_width / 2 - 0.7 m to their left, i.e. `offset` m over the centre
line into the ego's lane. Cones every 5 m over distance / 2 m on the outer side of the
oncoming lane (placed at the trigger). Ends when the ego is past the flow's source point
and within 50 m of it, or times out.
"""
from __future__ import annotations

from .actors import planned_path
from .base import Behaviour, Scenario, register
from .geometry import ScenarioSetupError, dist3, next_wp, offset_pose, wp_pose
from .traffic_flow import Flow, speed_limit_at


@register("InvadingTurn")
class InvadingTurn(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    flow_frequency = 40.0
    source_dist = 30.0
    check_distance = 50.0
    offset_constant = 0.7

    def setup(self) -> None:
        self.distance = self.param("distance", 100.0)
        self.offset = self.param("offset", 0.25)
        ref = self.reference_waypoint
        self.forward_wp = next_wp(ref, self.distance + self.source_dist, "flow source")
        self.source_wp = self.forward_wp.get_left_lane()
        self.sink_wp = ref.get_left_lane()
        if self.source_wp is None or self.sink_wp is None or self.source_wp.lane_id * ref.lane_id > 0:
            raise ScenarioSetupError("couldn't find the oncoming lane for the actor flow")
        self.true_offset = -(self.offset + self.sink_wp.lane_width / 2.0 - self.offset_constant)
        self.cones = []
        wp = next_wp(self.source_wp, 10.0, "cone place")
        d = 0.0
        while d < 0.5 * self.distance:
            wp = next_wp(wp, 5.0, "cone place")
            pose = offset_pose(wp_pose(wp), 0.8 * wp.lane_width / 2.0)
            self.cones.append((self.actor("static.prop.constructioncone", label=f"cone_{len(self.cones) + 1}"), pose))
            d += 5.0
        self.cones.reverse()
        self.path = planned_path(self.ctx.planner, self.source_wp.xyz, self.sink_wp.xyz)

    def end_condition(self) -> bool:
        pose = wp_pose(self.forward_wp)
        return self.ego_in_front_of(pose) and dist3(self.ego_location, pose[:3]) < self.check_distance

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + self.source_dist)
        for a, pose in self.cones:
            a.place(pose)
        speed = speed_limit_at(self.ego_waypoint()) / 3.6
        flow = Flow(self, self.path, (self.flow_frequency, self.flow_frequency), speed, hazard=(10.0, 2.0),
                    offset=self.true_offset, label="invading", constant_velocity=False, fixed_gap=True)
        self.start_task(flow.step)
        yield from self.wait_forever()
