"""Obstacles blocking the ego's lane: Accident, AccidentTwoWays, ParkedObstacle,
ParkedObstacleTwoWays, HazardAtSideLane, HazardAtSideLaneTwoWays (scenario_runner's
route_obstacles.py). All carry a ScenarioTimeoutTest (240 s from the trigger).

Accident (distance 120, direction right, speed 60): a warning-accident sign on the first
lane beside the road at the trigger point; `distance` m ahead (1 m steps, never into a
junction) a police car, 10 m further and 6 m further two generation-2 cars, each shifted
0.6 * lane_width / 2 to the side. Ends when the ego is past the point 50 m beyond the last
car. ParkedObstacle (distance 120, direction right, speed 60): the sign and one parked
car shifted 0.7 * lane_width / 2, end 50 m beyond it. The TwoWays variants (frequency
from/to, default 20-100 m) start an OppositeActorFlow on the lane left of the obstacle
5 s after the ego came within 50 m of it, and switch the wrong-direction check off.

HazardAtSideLane (distance 100, speed 60, bicycle_speed 10 km/h, bicycle_drive_distance
50): two bicycles 9 m apart, 0.55 * lane_width / 2 to the right, riding at
bicycle_speed with that offset for bicycle_drive_distance m from the trigger on; ends when
the ego is ahead of the second bicycle and drove 50 m more. The TwoWays variant
(frequency, default 100) changes the Background Activity's oncoming traffic, which the
embedded world does not have: it keeps the lanes as they are (noted).
"""
from __future__ import annotations

from lead.world.lane_types import LaneType

from .base import Behaviour, Scenario, register
from .blueprints import BICYCLES, extent_of, pick, vehicle_choices
from .geometry import ScenarioSetupError, move_forward, norm_yaw, offset_pose, outward_lane, waypoint_at, wp_pose
from .actors import lane_path
from .traffic_flow import Flow, opposite_flow


def side_prop_pose(wp, direction: str) -> tuple[float, float, float, float]:
    """_spawn_side_prop: past every driving/parking lane on `direction`, 0.3 lane widths
    into the next lane, turned 90 deg."""
    sign_lane = 1 if wp.lane_id > 0 else -1
    prop_wp, nxt = wp, None
    for _ in range(20):
        nxt = outward_lane(prop_wp, direction, sign_lane)
        if nxt is None or nxt.lane_type not in (LaneType.Driving, LaneType.Parking):
            break
        prop_wp = nxt
    base_yaw = wp.transform.rotation.yaw
    sign = 1.0 if direction == "right" else -1.0
    if nxt is None:   # no lane beyond: just outside the last one
        x, y, z, _ = wp_pose(prop_wp)
        pose = offset_pose((x, y, z, base_yaw), sign * 0.8 * prop_wp.lane_width)
    else:
        x, y, z, _ = wp_pose(nxt)
        pose = offset_pose((x, y, z, base_yaw), sign * 0.3 * prop_wp.lane_width)
    return pose[0], pose[1], pose[2], norm_yaw(nxt.transform.rotation.yaw + 90.0 if nxt is not None
                                                else base_yaw + 90.0)


def obstacle_pose(wp, offset: float, direction: str) -> tuple[float, float, float, float]:
    sign = 1.0 if direction == "right" else -1.0
    return offset_pose(wp_pose(wp), sign * offset * wp.lane_width / 2.0)


class _Blocking(Scenario):
    """Shared behaviour: wait for the ego to come within 50 m of the obstacle, idle 5 s,
    (two ways: open the oncoming flow); end when the ego is past the end point."""
    has_timeout = True
    scenario_timeout = 240.0
    trigger_distance = 50.0
    wait_duration = 5.0
    end_distance = 50.0
    def setup(self) -> None:
        self.two_ways = self.type.endswith("TwoWays")
        self.distance = self.param("distance", 120.0)
        self.direction = self.param_direction()
        self.max_speed = self.param("speed", 60.0)
        self.interval = self.param_interval("frequency", (20.0, 100.0))
        self.flow: Flow | None = None

    def _check_flow_lane(self) -> None:
        if self.two_ways and self.flow_wp.get_left_lane() is None:
            raise ScenarioSetupError("no lane left of the obstacle for the opposite traffic")

    def end_condition(self) -> bool:
        return self.ego_in_front_of(wp_pose(self.end_wp))

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.clear_distance)
        loc = self.approach_wp.xyz
        yield from self.wait(lambda: self.ego_within(loc, self.trigger_distance))
        yield from self.idle(self.wait_duration)
        if self.two_ways:
            self.switch_wrong_direction_test(False)
            self.flow = opposite_flow(self, self.flow_wp.get_left_lane(), self.interval)
            self.start_task(self.flow.step)
        yield from self.wait_forever()

    def on_end(self) -> None:
        if self.two_ways:
            self.switch_wrong_direction_test(True)


@register("Accident", "AccidentTwoWays")
class Accident(_Blocking):
    offset = 0.6
    first_distance = 10.0
    second_distance = 6.0

    def setup(self) -> None:
        super().setup()
        start = self.reference_waypoint
        self.actor("static.prop.warningaccident", label="warning_sign").place(side_prop_pose(start, self.direction))
        police_wp = move_forward(start, self.distance)
        self.actor("vehicle.dodge.charger_police_2020", label="police_car").place(
            obstacle_pose(police_wp, self.offset, self.direction))
        first_wp = move_forward(police_wp, self.first_distance)
        cars = vehicle_choices("car", generation=2, special_type=None)
        self.actor(pick(self.rng, cars), role="scenario no lights", label="accident_car_1").place(
            obstacle_pose(first_wp, self.offset, self.direction))
        second_wp = move_forward(first_wp, self.second_distance)
        self.actor(pick(self.rng, cars), role="scenario no lights", label="accident_car_2").place(
            obstacle_pose(second_wp, self.offset, self.direction))
        self.approach_wp = first_wp
        self.flow_wp = second_wp
        self.end_wp = move_forward(second_wp, self.end_distance)
        self._check_flow_lane()
        self.clear_distance = self.distance + self.first_distance + self.second_distance + 20


@register("ParkedObstacle", "ParkedObstacleTwoWays")
class ParkedObstacle(_Blocking):
    offset = 0.7

    def setup(self) -> None:
        super().setup()
        start = self.reference_waypoint
        self.actor("static.prop.warningaccident", label="warning_sign").place(side_prop_pose(start, self.direction))
        self.vehicle_wp = move_forward(start, self.distance)
        self.actor(pick(self.rng, vehicle_choices("car", generation=2, special_type=None)), role="scenario no lights",
                   label="parked_vehicle").place(obstacle_pose(self.vehicle_wp, self.offset, self.direction))
        self.approach_wp = self.vehicle_wp
        self.flow_wp = self.vehicle_wp
        self.end_wp = move_forward(self.vehicle_wp, self.end_distance)
        self._check_flow_lane()
        self.clear_distance = self.distance + 20


@register("HazardAtSideLane", "HazardAtSideLaneTwoWays")
class HazardAtSideLane(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    obstacle_distance = 9.0
    trigger_distance = 50.0
    end_distance = 50.0
    offset = 0.55
    wait_duration = 5.0

    def setup(self) -> None:
        self.two_ways = self.type == "HazardAtSideLaneTwoWays"
        self.distance = self.param("distance", 100.0)
        self.max_speed = self.param("speed", 60.0)
        self.bicycle_speed = self.param("bicycle_speed", 10.0)             # km/h (BasicAgent)
        self.bicycle_drive_distance = self.param("bicycle_drive_distance", 50.0)
        if self.two_ways:
            self.frequency = self.param("frequency", 100.0)
            self.notes.append("oncoming Background Activity traffic (frequency) is not modelled")
        start = self.reference_waypoint
        first_wp = move_forward(start, self.distance)
        second_wp = move_forward(first_wp, self.obstacle_distance)
        self.lateral = self.offset * start.lane_width / 2.0
        self.bicycles = []
        for i, wp in enumerate((first_wp, second_wp)):
            bike = self.actor(pick(self.rng, BICYCLES), label=f"bicycle_{i + 1}")
            bike.place(offset_pose(wp_pose(wp), self.lateral))
            path = lane_path(wp, self.bicycle_drive_distance)
            self.bicycles.append((bike, path))
        self.end_length = extent_of("vehicle.lincoln.mkz_2020")[0] + self.bicycles[-1][0].extent[0]

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + self.obstacle_distance + 20)
        for bike, path in self.bicycles:
            bike.follow(path, self.bicycle_speed / 3.6, accel=2.0, offset=self.lateral, hazard=(5.0, 1.0), s0=0.0)
        bike2 = self.bicycles[-1][0]
        # end: WaitUntilInFront(ego, second bicycle), then DriveDistance(ego, 50)
        yield from self.wait(lambda: self._ego_ahead_of(bike2))
        yield from self.drive_distance(self.end_distance)

    def _ego_ahead_of(self, actor) -> bool:
        wp = waypoint_at(self.map, *actor.pose[:3])
        nxt = wp.next(self.end_length)
        if not nxt:
            return False
        return self.ego_in_front_of(wp_pose(nxt[0]))


