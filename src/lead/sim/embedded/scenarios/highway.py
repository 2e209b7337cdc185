"""Highway types: HighwayCutIn (scenario_runner's highway_cut_in.py) and Bench2Drive's
SequentialLaneChange (sequentially_lane_change.py).

HighwayCutIn (other_actor_location): a car waits at that location (hidden until the
trigger); it drives towards the point 10 m after the next junction's straight exit
(generate_target_waypoint, then next(10)), at each tick at the speed that makes it
arrive when the ego reaches its own straight junction exit (SyncArrivalWithAgent); once
within 5 m of that point with the ego still short of its exit it cuts into the lane on
its left at 80 % of the ego's speed (0.3 s in its lane, 2 s changing, 3 s in the new
lane) and goes. No criteria of its own.

SequentialLaneChange: no actors; runs until the ego drove 200 m, ScenarioTimeout 240 s.
"""
from __future__ import annotations

import math

from .actors import lane_change_path, planned_path
from .base import Behaviour, Scenario, register
from .blueprints import pick, vehicle_choices
from .geometry import (ScenarioSetupError, dist3, forward_vec, next_wp, target_waypoint, waypoint_at, wp_pose)


@register("HighwayCutIn")
class HighwayCutIn(Scenario):
    same_lane_time, other_lane_time, change_time = 0.3, 3.0, 2.0
    speed_perc = 80.0
    cut_in_distance = 10.0
    end_dist = 5.0

    def setup(self) -> None:
        loc = self.param_location("other_actor_location")
        if loc is None:
            raise ScenarioSetupError("needs the <other_actor_location> parameter")
        self.other_wp = waypoint_at(self.map, *loc)
        self.target_wp = next_wp(target_waypoint(self.other_wp, 0), self.cut_in_distance, "cut-in point")
        self.reference_target = wp_pose(target_waypoint(self.reference_waypoint, 0))
        self.approach = planned_path(self.ctx.planner, self.other_wp.xyz, self.target_wp.xyz)
        left = self.target_wp.get_left_lane()
        if left is None or left.lane_id * self.target_wp.lane_id < 0:
            raise ScenarioSetupError("no lane on the left of the cut-in point to cut into")
        self.car = self.actor(pick(self.rng, vehicle_choices("car", special_type=None)), label="cut_in_vehicle")

    def behaviour(self) -> Behaviour:
        self.clear_traffic_near([self.other_wp.xyz], 20.0)
        car = self.car
        car.place(wp_pose(self.other_wp))
        car.follow(self.approach, 0.0, accel=math.inf, decel=math.inf, hazard=(5.0, 1.0), s0=0.0,
                   stop_at_end=False)
        tx, ty, tz = self.target_wp.xyz
        while True:                                    # SyncArrivalWithAgent
            d = dist3(car.pose[:3], (tx, ty, tz))
            if d < self.end_dist and self._ego_short_of_reference():
                break
            d_ref = dist3(self.ego_location, self.reference_target[:3])
            v_ref = self.ego_speed
            t_ref = d_ref / v_ref if v_ref > 0 else math.inf
            car.set_target_speed(d / t_ref if t_ref > 0 else 0.0)
            if car.path_done:
                break
            yield
        speed = self.ego_speed * self.speed_perc / 100.0      # CutIn
        same = self.same_lane_time * speed
        change = max(self.change_time * speed, 6.0)
        other = self.other_lane_time * speed
        wp = waypoint_at(self.map, *car.pose[:3])
        path = lane_change_path(wp, "left", max(same, 0.5), change, other + 1.0)
        car.follow(path, speed, accel=3.0, decel=6.0, hazard=(5.0, 1.0), s0=0.0, start_speed=car.speed)
        while not car.path_done:
            yield
        car.remove()

    def _ego_short_of_reference(self) -> bool:
        fx, fy = forward_vec(self.reference_target[3])
        ex, ey, _ = self.ego_location
        return (self.reference_target[0] - ex) * fx + (self.reference_target[1] - ey) * fy > 0


@register("SequentialLaneChange")
class SequentialLaneChange(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    end_distance = 200.0

    def behaviour(self) -> Behaviour:
        yield from self.drive_distance(self.end_distance)

