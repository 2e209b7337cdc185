"""A pedestrian steps out from behind an occluder: DynamicObjectCrossing (behind a static
prop on the sidewalk) and ParkingCrossingPedestrian (behind a car parked at the side);
scenario_runner's object_crash_vehicle.py.

DynamicObjectCrossing (defaults: distance 12 m, direction right, blocker_model
static.prop.vendingmachine, crossing_angle 0): `distance` m ahead of the trigger point
(1 m steps, junctions passed), the blocker stands on the sidewalk (turned 90 deg unless it
is a vehicle), the walker blueprint-extent + 0.5 m further on, facing the road
(270 - crossing_angle deg from the lane). When the ego is 2.1 s (+0.1 s per 5 deg of
crossing angle) or 6 m from the crossing point, the walker crosses at 2 m/s for twice
its distance to the lane centre; then walker and blocker go, and the scenario ends after
the ego drove 40 m more. No criteria of its own.

ParkingCrossingPedestrian (distance 12, crossing_angle 0, direction right): a
generation-2 car parked one lane width to the side `distance` m ahead, the walker
extent + 0.5 m beyond it; trigger 2.15 s (+0.1 s per 5 deg) or 6 m; the walker walks 8 m
at 2 m/s.

Embedded differences: one spawn attempt (the world never rejects a spawn, so the 0.4 m
retries of the original are not needed); to the left, the side-lane walk crosses the
centre line and continues outwards (CARLA's get_left_lane would oscillate between lanes
1 and -1), and the walker faces the road from either side.
"""
from __future__ import annotations

import math

from .base import Behaviour, Scenario, register
from .blueprints import extent_of, pick, random_walker, vehicle_choices
from .geometry import (ScenarioSetupError, dist3, next_wp, norm_yaw, offset_pose, waypoint_at,
                       waypoint_in_distance, walk_to_sidewalk, wp_pose)
from lead.world.lane_types import LaneType


@register("DynamicObjectCrossing")
class DynamicObjectCrossing(Scenario):
    adversary_speed = 2.0
    min_trigger_dist = 6.0
    ego_end_distance = 40.0

    def setup(self) -> None:
        self.distance = self.param("distance", 12.0)
        self.crossing_angle = self.param("crossing_angle", 0.0)
        if abs(self.crossing_angle) > 90:
            raise ScenarioSetupError("'crossing_angle' must be between -90 and 90 deg for the pedestrian to cross")
        self.direction = self.param_direction()
        self.blocker_model = self.param("blocker_model", "static.prop.vendingmachine", str)
        try:
            blocker_ext = extent_of(self.blocker_model)
        except (KeyError, ValueError) as e:
            raise ScenarioSetupError(str(e)) from None
        self.reaction_time = 2.1 + 0.1 * math.floor(self.crossing_angle / 5)

        wp, _ = waypoint_in_distance(self.reference_waypoint, self.distance, stop_at_junction=False)
        self.collision_wp = waypoint_at(self.map, *wp.xyz)
        base_yaw = self.collision_wp.transform.rotation.yaw
        side, parking = walk_to_sidewalk(self.collision_wp, self.direction)
        sign = 1.0 if self.direction == "right" else -1.0
        # the blocker: on the sidewalk centre, else 1.5 m beyond the last lane's centre
        lateral = 0.0 if side.lane_type == LaneType.Sidewalk else 1.5
        is_vehicle = self.blocker_model.startswith("vehicle.")
        bx, by, bz, _ = wp_pose(side)
        bpose = offset_pose((bx, by, bz, base_yaw), sign * lateral)
        self.blocker_pose = (bpose[0], bpose[1], bpose[2], norm_yaw(base_yaw + (0.0 if is_vehicle else sign * 90.0)))
        walker_wp = next_wp(side, blocker_ext[0] + 0.5, "walker place")
        wx, wy, wz, _ = wp_pose(walker_wp)
        wlat = 0.0 if walker_wp.lane_type == LaneType.Sidewalk else 1.2
        wpose = offset_pose((wx, wy, wz, base_yaw), sign * wlat)
        walk_yaw = base_yaw + (270.0 - self.crossing_angle if self.direction == "right" else 90.0 + self.crossing_angle)
        self.walker_pose = (wpose[0], wpose[1], wpose[2], norm_yaw(walk_yaw))
        self.collision_dist = dist3(self.collision_wp.xyz, self.walker_pose[:3])
        self.parking_location = parking.xyz if parking is not None else None

        self.blocker = self.actor(self.blocker_model, role="scenario no lights", label="blocker")
        self.blocker.place(self.blocker_pose)
        self.walker = self.actor(random_walker(self.rng), label="adversary")

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + 10)
        self.walker.place(self.walker_pose)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        self.clear_traffic_near([loc], 8.0)
        move = 2.0 * self.collision_dist
        yield from walk(self, self.walker, self.adversary_speed, move)
        self.walker.remove()
        self.blocker.remove()
        yield from self.drive_distance(self.ego_end_distance)


def walk(sc: Scenario, actor, speed: float, distance: float, heading: float | None = None) -> Behaviour:
    """KeepVelocity(distance, duration = distance / speed): move straight until either is reached."""
    actor.keep_velocity(speed, heading)
    start_odo, t0 = actor.odometer, sc.time
    duration = distance / speed if speed > 0 else math.inf
    while actor.odometer - start_odo <= distance and sc.time - t0 <= duration:
        yield
    actor.hold()


@register("ParkingCrossingPedestrian")
class ParkingCrossingPedestrian(Scenario):
    adversary_speed = 2.0
    min_trigger_dist = 6.0
    ego_end_distance = 40.0
    crossing_distance = 8.0   # "meant to be used at a one lane - one direction road"

    def setup(self) -> None:
        self.distance = self.param("distance", 12.0)
        self.crossing_angle = self.param("crossing_angle", 0.0)
        if abs(self.crossing_angle) > 90:
            raise ScenarioSetupError("'crossing_angle' must be between -90 and 90 deg for the pedestrian to cross")
        self.direction = self.param_direction()
        self.reaction_time = 2.15 + 0.1 * math.floor(self.crossing_angle / 5)
        sign = 1.0 if self.direction == "right" else -1.0

        blocker_wp = next_wp(self.reference_waypoint, self.distance, "parked car place")
        width = blocker_wp.lane_width
        bx, by, bz, byaw = wp_pose(blocker_wp)
        self.blocker_pose = offset_pose((bx, by, bz, byaw), sign * width)
        car = pick(self.rng, vehicle_choices("car", generation=2, special_type=None))
        self.blocker = self.actor(car, label="parked_blocker")
        self.blocker.place(self.blocker_pose)

        walker_wp = next_wp(blocker_wp, extent_of(car)[0] + 0.5, "walker place")
        self.collision_wp = walker_wp
        wx, wy, wz, wyaw = wp_pose(walker_wp)
        wpose = offset_pose((wx, wy, wz, wyaw), sign * walker_wp.lane_width)
        walk_yaw = wyaw + (270.0 - self.crossing_angle if self.direction == "right" else 90.0 + self.crossing_angle)
        self.walker_pose = (wpose[0], wpose[1], wpose[2], norm_yaw(walk_yaw))
        self.walker = self.actor(random_walker(self.rng), label="adversary")

    def behaviour(self) -> Behaviour:
        self.clear_route_ahead(self.distance + 15)
        self.walker.place(self.walker_pose)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        yield from walk(self, self.walker, self.adversary_speed, self.crossing_distance)
        self.walker.remove()
        self.blocker.remove()
        yield from self.drive_distance(self.ego_end_distance)
