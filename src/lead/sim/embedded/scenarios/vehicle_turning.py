"""The ego turns at a junction and meets a cyclist or a pedestrian crossing the road it
turns into: VehicleTurningRoute and VehicleTurningRoutePedestrian (scenario_runner's
object_crash_intersection.py).

VehicleTurningRoute: the route's first point after its next junction turn, 11 m on; a
bicycle (vehicle.diamondback.century) on the sidewalk to the right of that lane (1.5 m
beyond the last lane when there is no sidewalk), across the road. When the ego is 1.8 s
or 6 m away from that point the bicycle rides straight at 1.8 m/s for twice its distance
to it; then it goes and the scenario ends after 40 m of ego driving. No criteria in
route mode.

VehicleTurningRoutePedestrian: 0.5 m after the route's junction exit; a walker on the
sidewalk on the right of the exit road (left turn) or on the far side (right turn),
facing the road, crosses both sidewalks' distance at 1.8 m/s once the ego is 2.2 s or
6 m away. Upstream also attaches a CollisionTest to this scenario in route mode, which
double counts collisions; the route's own CollisionTest covers them here.
"""
from __future__ import annotations

import math

from lead.world.lane_types import LaneType

from .base import Behaviour, Scenario, register
from .blueprints import random_walker
from .crossing import walk
from .geometry import (dist3, next_wp, norm_yaw, offset_pose, opposite_dir_lanes, same_dir_lanes,
                       target_waypoint_in_route, walk_to_sidewalk, wp_pose)


def sidewalk_pose(wp, dyaw: float, k: float) -> tuple[float, float, float, float]:
    """get_sidewalk_transform: the sidewalk centre, or k m right of a non-sidewalk lane."""
    x, y, z, yaw = wp_pose(wp)
    if wp.lane_type != LaneType.Sidewalk:
        x, y, z, _ = offset_pose((x, y, z, yaw), k)
    return (x, y, z, norm_yaw(yaw + dyaw))


@register("VehicleTurningRoute")
class VehicleTurningRoute(Scenario):
    start_distance = 11.0
    adversary_speed = 1.8
    reaction_time = 1.8
    min_trigger_dist = 6.0
    ego_end_distance = 40.0

    def setup(self) -> None:
        exit_wp = target_waypoint_in_route(self.map, self.reference_waypoint, self.route)
        self.collision_wp = next_wp(exit_wp, self.start_distance, "crossing place")
        side, _ = walk_to_sidewalk(self.collision_wp, "right")
        self.adversary_pose = sidewalk_pose(side, 270.0, 1.5)
        self.bicycle = self.actor("vehicle.diamondback.century", label="adversary")
        self.bicycle.place(self.adversary_pose)
        self.collision_distance = dist3(self.collision_wp.xyz, self.adversary_pose[:3])

    def behaviour(self) -> Behaviour:
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        self.clear_traffic_near([loc], 8.0)
        yield from walk(self, self.bicycle, self.adversary_speed, 2.0 * self.collision_distance)
        self.bicycle.remove()
        yield from self.drive_distance(self.ego_end_distance)


@register("VehicleTurningRoutePedestrian")
class VehicleTurningRoutePedestrian(Scenario):
    adversary_speed = 1.8
    reaction_time = 2.2
    min_trigger_dist = 6.0
    ego_end_distance = 40.0

    def setup(self) -> None:
        exit_wp = target_waypoint_in_route(self.map, self.reference_waypoint, self.route)
        self.collision_wp = next_wp(exit_wp, 0.5, "crossing place")
        same = same_dir_lanes(self.collision_wp)
        right_wp = same[-1] if same else self.collision_wp
        right_wp, _ = walk_to_sidewalk(right_wp, "right")
        other = opposite_dir_lanes(self.collision_wp)
        dyaw = 270.0
        if other:
            left_wp, _ = walk_to_sidewalk(other[-1], "right")
        else:
            dyaw = 90.0
            left_wp, _ = walk_to_sidewalk(same[0], "left")
        self.adversary_distance = dist3(right_wp.xyz, left_wp.xyz)
        ey = self.reference_waypoint.transform.rotation.yaw
        xy = exit_wp.transform.rotation.yaw
        cross_z = math.sin(math.radians(xy - ey))     # entry x exit (z), CARLA's frame
        spawn = right_wp if cross_z < 0 else left_wp
        self.spawn_pose = sidewalk_pose(spawn, dyaw, 1.5)
        self.walker = self.actor(random_walker(self.rng), label="adversary")

    def behaviour(self) -> Behaviour:
        self.walker.place(self.spawn_pose)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        self.clear_traffic_near([loc], 8.0)
        yield from walk(self, self.walker, self.adversary_speed, self.adversary_distance)
        self.walker.remove()
        yield from self.drive_distance(self.ego_end_distance)
