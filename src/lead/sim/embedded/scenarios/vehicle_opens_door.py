"""VehicleOpensDoorTwoWays (scenario_runner's vehicle_opens_door.py): a car parked beside
the ego's lane opens its door into the lane. ScenarioTimeoutTest, 240 s.

Defaults: distance 50, direction right, speed 60, frequency 20-100 m. The parked car (a
car with dynamic doors) stands in the lane beside the ego's lane `distance` m ahead,
moved (lane_width - car half width) / 4 towards the ego's lane. When the ego is 3 s or
10 m from the point beside it, the door on the road side opens (front-left for a car on
the right); 5 s later the wrong-direction check is switched off and an
OppositeActorFlow starts on the lane left of the parked car's lane - which, as upstream
computes it, is the ego's own lane, so that flow comes from behind the ego. Ends when the
ego is past the point 50 m beyond, or times out.

The embedded world has no door animation: the open door is an extra actor of the same
blueprint, a 1.1 m x 0.1 m box hinged at the front of the car's front door and swung
70 deg open, so that sensors and the collision check see it.
"""
from __future__ import annotations

from .base import Behaviour, Scenario, register
from .blueprints import extent_of, pick, vehicle_choices
from .geometry import ScenarioSetupError, forward_vec, move_forward, next_wp, norm_yaw, offset_pose, right_vec, wp_pose
from .traffic_flow import Flow, opposite_flow

DOOR_LENGTH, DOOR_THICKNESS, DOOR_ANGLE = 1.1, 0.1, 70.0


def open_door_pose(car_pose, car_extent, side: str) -> tuple[tuple[float, float, float, float], tuple]:
    """Pose and half extents of an open front door box on `side` ('left'/'right') of a car."""
    x, y, z, yaw = car_pose
    sign = -1.0 if side == "left" else 1.0          # left is -y in CARLA's frame
    fx, fy = forward_vec(yaw)
    rx, ry = right_vec(yaw)
    hinge_fwd = 0.25 * car_extent[0]                # front door hinge, a quarter length ahead of the centre
    hx = x + hinge_fwd * fx + sign * car_extent[1] * rx
    hy = y + hinge_fwd * fy + sign * car_extent[1] * ry
    door_yaw = yaw + 180.0 - sign * DOOR_ANGLE      # pointing back, swung outwards
    dx, dy = forward_vec(door_yaw)
    cx, cy = hx + 0.5 * DOOR_LENGTH * dx, hy + 0.5 * DOOR_LENGTH * dy
    return (cx, cy, z, norm_yaw(door_yaw)), (DOOR_LENGTH / 2, DOOR_THICKNESS / 2, 0.6)


@register("VehicleOpensDoorTwoWays")
class VehicleOpensDoorTwoWays(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    min_trigger_dist = 10.0
    reaction_time = 3.0
    wait_duration = 5.0
    end_distance = 50.0

    def setup(self) -> None:
        self.distance = self.param("distance", 50.0)
        self.direction = self.param_direction()
        self.max_speed = self.param("speed", 60.0)
        self.interval = self.param_interval("frequency", (20.0, 100.0))
        self.front_wp = next_wp(self.reference_waypoint, self.distance, "parked car place")
        parked_wp = self.front_wp.get_left_lane() if self.direction == "left" else self.front_wp.get_right_lane()
        if parked_wp is None:
            raise ScenarioSetupError("couldn't find a spot to place the adversary vehicle")
        self.flow_ref = parked_wp.get_left_lane()
        if self.flow_ref is None:
            raise ScenarioSetupError("couldn't find a left lane to spawn the opposite traffic")
        car = pick(self.rng, vehicle_choices("car", has_dynamic_doors=True, special_type=None))
        ext = extent_of(car)
        shift = (parked_wp.lane_width - ext[1]) / 4.0
        # upstream moves the car towards the road: to the left for a car on the right
        pose = offset_pose(wp_pose(parked_wp), -shift if self.direction == "right" else shift)
        self.parked = self.actor(car, role="scenario", label="parked_vehicle")
        self.parked.place(pose)
        door_side = "right" if self.direction == "left" else "left"
        self.door_pose, door_ext = open_door_pose(pose, ext, door_side)
        self.door = self.actor(car, label="open_door")
        self.door.extent = door_ext
        self.end_wp = move_forward(self.front_wp, self.end_distance)
        self.flow: Flow | None = None

    def end_condition(self) -> bool:
        return self.ego_in_front_of(wp_pose(self.end_wp))

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + 20)
        loc = self.front_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        self.door.place(self.door_pose)                      # OpenVehicleDoor
        yield from self.idle(self.wait_duration)
        self.switch_wrong_direction_test(False)
        self.flow = opposite_flow(self, self.flow_ref, self.interval)
        self.start_task(self.flow.step)
        yield from self.wait_forever()

    def on_end(self) -> None:
        if self.flow is not None:
            self.switch_wrong_direction_test(True)


