"""Vehicles cutting into the ego's lane from the side: ParkingCutIn (parking_cut_in.py)
and StaticCutIn (cut_in_with_static_vehicle.py). No criteria of their own.

ParkingCutIn (direction right): a parked generation-2 car in the lane beside the ego's,
28 m after the trigger, and a second one 35 m after it, both moved
(lane_width - half width) / 4 away from the road. When the ego is 2.35 s or 10 m from
the second one's place, that car pulls out into the ego's lane (a BasicAgent with no
plan follows the nearest driving lane) at 20 km/h; after it drove 30 m both cars go.

StaticCutIn (distance 100, direction right): in the lane beside the ego's, `distance` m
ahead, two stopped cars 11 m apart, the cut-in car 11 m further, then three more stopped
cars 11 m apart (all placed when the scenario triggers). When the ego is 2.7 s or 15 m
from the cut-in car's place it changes into the ego's lane within 3 s at the ego's
speed, stays 2 s behind that speed, then drives 70 m on at 60 km/h (30 s at most); then
every car goes.

A standing car cannot change lanes in 0 m: the lane change takes the distance it covers
in those 3 s accelerating at 3 m/s^2 (at least 6 m), the merge out of the parking spot 10 m.
"""
from __future__ import annotations

from .actors import Path, lane_change_path, lane_waypoints
from .base import Behaviour, Scenario, register
from .blueprints import extent_of, pick, vehicle_choices
from .geometry import ScenarioSetupError, next_wp, offset_pose, right_vec, wp_pose

ACCEL = 3.0


def merge_path(start_pose, lane_wp, change: float, length: float) -> Path:
    """From start_pose into lane_wp's lane: the lateral offset fades out over `change` m."""
    wps = lane_waypoints(lane_wp, length)
    x0, y0 = start_pose[0], start_pose[1]
    lx, ly, _ = wps[0].xyz
    rx, ry = right_vec(wps[0].transform.rotation.yaw)
    lateral = (x0 - lx) * rx + (y0 - ly) * ry
    pts = [(x0, y0, start_pose[2])]
    for i, w in enumerate(wps[1:], start=1):
        u = min(i / max(change, 1e-6), 1.0)
        u = u * u * (3 - 2 * u)
        x, y, z = w.xyz
        r = right_vec(w.transform.rotation.yaw)
        pts.append((x + (1 - u) * lateral * r[0], y + (1 - u) * lateral * r[1], z))
    return Path(pts)


def accel_distance(v0: float, target: float, seconds: float, accel: float = ACCEL) -> float:
    """Distance covered in `seconds` accelerating from v0 towards target."""
    t_acc = max(0.0, min(seconds, (target - v0) / accel)) if target > v0 else 0.0
    v1 = v0 + accel * t_acc
    return v0 * t_acc + 0.5 * accel * t_acc ** 2 + v1 * (seconds - t_acc)


@register("ParkingCutIn")
class ParkingCutIn(Scenario):
    cut_in_distance = 35.0
    blocker_distance = 28.0
    adversary_speed = 20 / 3.6          # BasicAgent's default target speed
    reaction_time = 2.35
    min_trigger_dist = 10.0
    end_distance = 30.0
    merge_length = 10.0

    def _parked_pose(self, wp, car: str):
        side = wp.get_left_lane() if self.direction == "left" else wp.get_right_lane()
        if side is None:
            raise ScenarioSetupError(f"no lane on the {self.direction} for the parked car")
        shift = (side.lane_width - extent_of(car)[1]) / 4.0
        return offset_pose(wp_pose(side), shift if self.direction == "right" else -shift)

    def setup(self) -> None:
        self.direction = self.param_direction()
        blocker_wp = next_wp(self.reference_waypoint, self.blocker_distance, "parked car place")
        car = pick(self.rng, vehicle_choices("car", generation=2, special_type=None))
        self.blocker = self.actor(car, role="scenario no lights", label="parked_blocker")
        self.blocker.place(self._parked_pose(blocker_wp, car))
        self.collision_wp = next_wp(self.reference_waypoint, self.cut_in_distance, "cut-in place")
        car = pick(self.rng, vehicle_choices("car", generation=2))
        self.adversary = self.actor(car, label="adversary")
        self.adversary.place(self._parked_pose(self.collision_wp, car))

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.cut_in_distance + 10)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        self.clear_route_ahead(self.cut_in_distance + 30)
        path = merge_path(self.adversary.pose, self.collision_wp, self.merge_length, self.end_distance + 20)
        self.adversary.follow(path, self.adversary_speed, accel=ACCEL, hazard=(5.0, 1.0), s0=0.0)
        start = self.adversary.odometer
        while self.adversary.odometer - start <= self.end_distance and not self.adversary.path_done:
            yield
        self.adversary.remove()
        self.blocker.remove()


@register("StaticCutIn")
class StaticCutIn(Scenario):
    reaction_time = 2.7
    min_trigger_dist = 15.0
    back_vehicles = 2
    front_vehicles = 3
    vehicle_gap = 11.0
    speed = 60 / 3.6
    adversary_end_distance = 70.0
    change_time, other_lane_time = 3.0, 2.0

    def setup(self) -> None:
        self.distance = self.param("distance", 100.0)
        self.direction = self.param_direction()
        cars = vehicle_choices("car", special_type=None)     # base_type car, has_lights
        wp = next_wp(self.reference_waypoint, self.distance, "cut-in place")
        self.queue = []
        for i in range(self.back_vehicles + 1 + self.front_vehicles):
            side = wp.get_left_lane() if self.direction == "left" else wp.get_right_lane()
            if side is None:
                raise ScenarioSetupError(f"no lane on the {self.direction} for the standing cars")
            if i == self.back_vehicles:
                self.collision_wp, self.side_wp = wp, side
                self.adversary = self.actor(pick(self.rng, cars), label="adversary")
                self.queue.append((self.adversary, wp_pose(side)))
            else:
                a = self.actor(pick(self.rng, cars), label=f"standing_{i + 1}")
                self.queue.append((a, wp_pose(side)))
            wp = next_wp(wp, self.vehicle_gap, "standing car place")

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + self.vehicle_gap * (self.back_vehicles + self.front_vehicles + 1))
        for a, pose in self.queue:
            a.place(pose)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        target = self.ego_speed                       # CutIn: the ego's speed when it starts
        toward = "right" if self.direction == "left" else "left"
        change = max(accel_distance(0.0, target, self.change_time), 6.0)
        other = max(target * self.other_lane_time, 2.0)
        path = lane_change_path(self.side_wp, toward, 0.5, change, other + self.adversary_end_distance + 5.0)
        a = self.adversary
        a.follow(path, target, accel=ACCEL, hazard=(5.0, 1.0), s0=0.0)
        t0 = self.time
        while a.path_s < 0.5 + change + other and self.time - t0 <= 30.0:
            yield
        a.set_target_speed(self.speed)                # BasicAgentBehavior(plan, 60 km/h)
        start = a.path_s
        while a.path_s - start < self.adversary_end_distance and not a.path_done and self.time - t0 <= 30.0:
            yield
        self.remove_all_actors()

