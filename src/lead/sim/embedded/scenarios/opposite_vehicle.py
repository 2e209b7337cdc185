"""A vehicle crosses the junction in front of the ego against the rules:
OppositeVehicleRunningRedLight and OppositeVehicleTakingPriority (scenario_runner's
opposite_vehicle_taking_priority.py). Parameter: direction ('right' by default; 'left',
'opposite') - where the adversary comes from, seen from the ego entering the junction.

An emergency vehicle (police car, ambulance or fire truck; special_type 'emergency')
waits on the first junction entry lane of that direction, up to 30 m before the junction
(hidden until the scenario triggers). Its sink is 10 m after the junction, going
straight. The collision point is where the ego's and the adversary's headings at their
junction entries cross. When the ego is 2.2 s or 12 m from that point, the adversary
drives to its sink at a constant 60 km/h ignoring vehicles and lights, for as long as
the straight-line trip takes; then it goes, and the scenario ends when the ego has left
the junction. RunningRedLight also holds the ego's light green and every other light of
the junction red meanwhile. No criteria of their own.
"""
from __future__ import annotations

import math

from lead.sim.embedded.traffic.lights import LightState

from .actors import planned_path
from .base import Behaviour, Scenario, register
from .blueprints import emergency_vehicles, pick
from .geometry import (ScenarioSetupError, closest_traffic_light, dist3, filter_direction, first_junction_wp,
                       junction_topology, lights_in_junction, linear_intersection, next_wp, target_waypoint,
                       waypoint_at, wp_pose)


class _OppositeVehicle(Scenario):
    source_dist = 30.0
    sink_dist = 10.0
    adversary_speed = 60 / 3.6
    sync_time = 2.2
    min_trigger_dist = 12.0

    def setup(self) -> None:
        self.direction = self.param_direction("right", ("right", "left", "opposite"))
        starting_wp, _ = first_junction_wp(self.reference_waypoint)
        self.junction_id = starting_wp.junction_id
        entries, _ = junction_topology(self.map, self.junction_id)
        sources = filter_direction(starting_wp, entries, self.direction)
        if not sources:
            raise ScenarioSetupError(f"couldn't find a junction entry lane to the {self.direction}")
        spawn_wp, d = sources[0], 0
        while d < self.source_dist:
            prv = spawn_wp.previous(1.0)
            if not prv:
                raise ScenarioSetupError("no place for the adversary before the junction")
            if prv[0].is_junction:
                break
            spawn_wp, d = prv[0], d + 1
        self.spawn_wp = spawn_wp
        self.spawn_pose = wp_pose(spawn_wp)
        sink_exit = target_waypoint(waypoint_at(self.map, *spawn_wp.xyz), 0)
        self.sink_wp = next_wp(sink_exit, self.sink_dist, "adversary sink")
        point = linear_intersection(self.map, starting_wp, sources[0])
        if point is None:
            raise ScenarioSetupError("the ego's and the adversary's lanes do not intersect")
        cz = waypoint_at(self.map, point[0], point[1], starting_wp.xyz[2]).xyz[2]
        self.collision_location = (point[0], point[1], cz)
        self.adversary = self.actor(pick(self.rng, emergency_vehicles()), label="adversary")
        self.path = planned_path(self.ctx.planner, spawn_wp.xyz, self.sink_wp.xyz)
        self.travel_time = dist3(spawn_wp.xyz, self.sink_wp.xyz) / self.adversary_speed

    def _cross(self) -> Behaviour:
        loc = self.collision_location
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.sync_time
                             or self.ego_within(loc, self.min_trigger_dist))
        # ConstantVelocityAgent: the target speed at once, no braking for anything
        self.adversary.follow(self.path, self.adversary_speed, accel=math.inf, start_speed=self.adversary_speed,
                              s0=0.0)
        t0 = self.time
        while not self.adversary.path_done and self.time - t0 <= self.travel_time:
            yield
        self.adversary.remove()


@register("OppositeVehicleTakingPriority")
class OppositeVehicleTakingPriority(_OppositeVehicle):
    def behaviour(self) -> Behaviour:
        self.handle_junction(self.junction_id, [self.spawn_wp.xyz, self.sink_wp.xyz])
        self.adversary.place(self.spawn_pose)
        yield from self._cross()
        yield from self.wait_end_intersection()


@register("OppositeVehicleRunningRedLight")
class OppositeVehicleRunningRedLight(_OppositeVehicle):
    def setup(self) -> None:
        super().setup()
        lights = lights_in_junction(self.map, self.junction_id)
        ego_tl = closest_traffic_light(self.reference_waypoint, lights) if lights else None
        self.light_states = {tl.id: LightState.Green if tl is ego_tl else LightState.Red for tl in lights}

    def behaviour(self) -> Behaviour:
        self.handle_junction(self.junction_id, [self.spawn_wp.xyz, self.sink_wp.xyz])
        self.adversary.place(self.spawn_pose)
        self.force_lights(self.light_states)
        yield from self._cross()
        yield from self.wait_end_intersection()
        self.release_lights()
