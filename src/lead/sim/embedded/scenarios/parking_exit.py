"""ParkingExit (scenario_runner's parking_exit.py): the ego starts in a parking spot
between two parked cars and has to merge into traffic. ScenarioTimeoutTest, 240 s.

Defaults: direction right, front_vehicle_distance 20, behind_vehicle_distance 10,
flow_distance 25, speed 60. The parking spot is the lane beside the trigger point's
lane; the ego is moved there when the scenario is set up (at the route start, as
upstream), (lane_width - ego half width) / 4 away from the road. Parked cars stand
`front_vehicle_distance` ahead and `behind_vehicle_distance` behind in that lane, and a
car in the ego's target lane beside the spot drives off (Traffic Manager: 30 % under the
limit, braking for vehicles ahead) and disappears after 50 m. The scenario ends when the
ego drove front_vehicle_distance + 15 m, or times out. flow_distance only tunes the
Background Activity upstream.
"""
from __future__ import annotations

from .actors import lane_path
from .base import Behaviour, Scenario, register
from .blueprints import extent_of, pick, vehicle_choices
from .geometry import ScenarioSetupError, next_wp, offset_pose, previous_wp, wp_pose
from .traffic_flow import speed_limit_at

SIDE_END_DISTANCE = 50.0


@register("ParkingExit")
class ParkingExit(Scenario):
    has_timeout = True
    scenario_timeout = 240.0

    def setup(self) -> None:
        self.direction = self.param_direction()
        self.front_distance = self.param("front_vehicle_distance", 20.0)
        self.behind_distance = self.param("behind_vehicle_distance", 10.0)
        self.flow_distance = self.param("flow_distance", 25.0)
        self.max_speed = self.param("speed", 60.0)
        self.end_distance = self.front_distance + 15.0
        ref = self.reference_waypoint
        parking = ref.get_left_lane() if self.direction == "left" else ref.get_right_lane()
        if parking is None:
            raise ScenarioSetupError(f"couldn't find a parking point on the {self.direction} side")
        cars = vehicle_choices("car", generation=2, special_type=None)
        sign = 1.0 if self.direction == "right" else -1.0

        def displaced(wp, half_width: float):
            return offset_pose(wp_pose(wp), sign * (wp.lane_width - half_width) / 4.0)

        for label, wp in (("parked_front", next_wp(parking, self.front_distance, "front parked car place")),
                          ("parked_behind", previous_wp(parking, self.behind_distance, "rear parked car place"))):
            car = pick(self.rng, cars)
            self.actor(car, role="scenario no lights", label=label).place(displaced(wp, extent_of(car)[1]))
        ego_ext = extent_of(self.world.ego_blueprint)
        x, y, z, yaw = displaced(parking, ego_ext[1])
        self.world.spawn_ego((x, y, z, 0.0, 0.0, yaw), self.world.ego_blueprint)   # the ego starts parked
        self.side = self.actor(pick(self.rng, cars), label="side_vehicle")
        self.side.place(wp_pose(ref))
        self.side_path = lane_path(ref, SIDE_END_DISTANCE + 20.0)
        self.side_speed = 0.7 * speed_limit_at(ref) / 3.6

    def behaviour(self) -> Behaviour:
        self.side.follow(self.side_path, self.side_speed, accel=3.0, hazard=(5.0, 1.0), s0=0.0)
        self.parallel(self._side_vehicle())
        yield from self.drive_distance(self.end_distance)

    def _side_vehicle(self) -> Behaviour:
        start = self.side.odometer
        while self.side.odometer - start <= SIDE_END_DISTANCE:
            yield
        self.side.remove()
        yield from self.wait_forever()
