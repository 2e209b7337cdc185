"""Road works closing the ego's lane: ConstructionObstacle and ConstructionObstacleTwoWays
(scenario_runner's construction_crash_vehicle.py). ScenarioTimeoutTest, 240 s.

Defaults: distance 100, direction right, speed 60; TwoWays: frequency 20-100 m.
A warning-construction sign beside the road at the trigger point. `distance` m ahead
(wp.next) the set-up, placed when the scenario triggers: a traffic-warning board 5 m
before the spot, dirt debris 2 m after it, and cones from 0.85 * lane_width / 2 on the
left of the lane centre (direction right; mirrored for left): four every 2 m along the
lane, then three every 1 m across it, closing the lane. The ego has to pass in the
next lane; the scenario ends when it is past the point 50 m beyond the spot, or times
out. TwoWays: 5 s after the ego came within 30 m of the spot, an OppositeActorFlow on
the lane left of the spot starts and the wrong-direction check is off meanwhile.
"""
from __future__ import annotations

from .base import Behaviour, Scenario, register
from .geometry import ScenarioSetupError, forward_vec, move_forward, next_wp, norm_yaw, wp_pose
from .obstacles import side_prop_pose
from .traffic_flow import Flow, opposite_flow


def construction_layout(start: tuple[float, float, float, float], lane_width: float,
                        direction: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(blueprint, pose) of the set-up around `start` (_create_construction_setup)."""
    x0, y0, z0, yaw0 = start
    out = []
    for bp, dyaw, k in (("static.prop.trafficwarning", 180.0, 5.0), ("static.prop.dirtdebris02", 0.0, 2.0)):
        yaw = yaw0 + dyaw
        fx, fy = forward_vec(yaw)
        out.append((bp, (x0 + k * fx, y0 + k * fy, z0, norm_yaw(yaw + 90.0))))
    # cones: start beside the lane centre, then walk the two legs of the set-up
    side_yaw = yaw0 + 90.0
    fx, fy = forward_vec(side_yaw)
    k = 0.85 * lane_width / 2.0
    sx, sy = (x0 - k * fx, y0 - k * fy) if direction == "right" else (x0 + k * fx, y0 + k * fy)
    yaw = side_yaw + 270.0
    for i, (length, step) in enumerate(((4, 2.0), (3, 1.0))):
        fx, fy = forward_vec(yaw)
        d = 0.0
        while d < length * step:
            d += step
            out.append(("static.prop.constructioncone", (sx + fx * d, sy + fy * d, z0, norm_yaw(yaw))))
        sx, sy = sx + fx * length * step, sy + fy * length * step
        yaw += -90.0 if (i == 0 and direction == "left") else 90.0
    return out


@register("ConstructionObstacle", "ConstructionObstacleTwoWays")
class ConstructionObstacle(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    trigger_distance = 30.0
    wait_duration = 5.0
    end_distance = 50.0

    def setup(self) -> None:
        self.two_ways = self.type == "ConstructionObstacleTwoWays"
        self.distance = self.param("distance", 100.0)
        self.max_speed = self.param("speed", 60.0)
        self.direction = self.param_direction()
        self.interval = self.param_interval("frequency", (20.0, 100.0))
        ref = self.reference_waypoint
        self.actor("static.prop.warningconstruction", label="warning_sign").place(side_prop_pose(ref, self.direction))
        self.construction_wp = next_wp(ref, self.distance, "construction place")
        self.layout = [(self.actor(bp, label=f"{bp.rsplit('.', 1)[1]}_{i}"), pose) for i, (bp, pose) in
                       enumerate(construction_layout(wp_pose(self.construction_wp), ref.lane_width, self.direction))]
        self.end_wp = move_forward(self.construction_wp, self.end_distance)
        self.flow: Flow | None = None
        self.flow_ref = self.construction_wp.get_left_lane()
        if self.two_ways and self.flow_ref is None:
            raise ScenarioSetupError("no lane left of the construction for the opposite traffic")

    def end_condition(self) -> bool:
        return self.ego_in_front_of(wp_pose(self.end_wp))

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + 20)
        for a, pose in self.layout:
            a.place(pose)
        loc = self.construction_wp.xyz
        yield from self.wait(lambda: self.ego_within(loc, self.trigger_distance))
        yield from self.idle(self.wait_duration)
        if self.two_ways:
            self.switch_wrong_direction_test(False)
            self.flow = opposite_flow(self, self.flow_ref, self.interval)
            self.start_task(self.flow.step)
        yield from self.wait_forever()

    def on_end(self) -> None:
        if self.two_ways:
            self.switch_wrong_direction_test(True)

