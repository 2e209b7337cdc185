"""YieldToEmergencyVehicle (scenario_runner's yield_to_emergency_vehicle.py): an
emergency vehicle comes up fast behind the ego, which has to let it pass.
Criterion: YieldToEmergencyVehicleTest (fails if, when the scenario ends, the ego is
still in front of the emergency vehicle).

Default distance 140 m. At the trigger, an emergency vehicle (police car, ambulance or
fire truck) appears `distance` m behind the trigger point on the ego's lane and drives
at a constant ego speed + 90 km/h (AdaptiveConstantVelocityAgent, speed_increment 25
times 3.6), stopping at once for a vehicle within 10 m + its speed in m/s ahead on its
path. The scenario ends 10 s after the ego is within 50 m of it, or when it has passed
the ego and driven 50 m more.

Its path is its lane from where it appears; at forks it takes the branch nearest the
ego's route (upstream a plan-less agent follows its lane and turns at random at
junctions). It never changes lanes, so an ego that moves to another lane lets it pass.
"""
from __future__ import annotations

import math

import numpy as np

from .actors import Path
from .base import Behaviour, Scenario, register
from .blueprints import emergency_vehicles, pick
from .geometry import dist3, previous_wp, waypoint_at, wp_pose


@register("YieldToEmergencyVehicle")
class YieldToEmergencyVehicle(Scenario):
    ev_idle_time = 10.0
    speed_increment = 25.0          # upstream adds speed_increment * 3.6 km/h to the ego's speed
    trigger_distance = 50.0
    end_distance = 50.0

    def setup(self) -> None:
        self.distance = self.param("distance", 140.0)
        ref = self.reference_waypoint
        start = previous_wp(ref, self.distance, "emergency vehicle place")
        self.ev_pose = wp_pose(start)
        self.path = Path([w.xyz for w in self._lane_following(start, self.distance + 250.0)])
        self.ev = self.actor(pick(self.rng, emergency_vehicles()), label="emergency_vehicle")

    def _lane_following(self, wp, length: float) -> list:
        """Its lane from wp on; at a fork the branch that stays nearest the ego's route."""
        out, cur, d = [wp], wp, 0.0
        xy = self.route.xyz[:, :2]
        while d < length:
            nxt = cur.next(1.0)
            if not nxt:
                break
            if len(nxt) > 1:
                def off_route(w):
                    ahead = w.next(10.0)
                    p = np.array((ahead[0] if ahead else w).xyz[:2])
                    return float(np.min(np.hypot(*(xy - p).T)))
                nxt = [min(nxt, key=off_route)]
            cur = nxt[0]
            out.append(cur)
            d += 1.0
        return out

    def on_trigger(self) -> None:
        self.ev.place(self.ev_pose)
        self.emergency_vehicle = self.ev

    def _target(self) -> float:
        return self.ego_speed + self.speed_increment

    def behaviour(self) -> Behaviour:
        ev = self.ev
        # RemoveRoadLane: no background vehicle between the emergency vehicle and the ego
        s_ego = self.path.project(*self.ego_location[:2])[0]
        self.clear_traffic_near([self.path.pose(s)[:3] for s in np.arange(0.0, s_ego, 4.0)], 2.5)
        ev.follow(self.path, self._target(), accel=math.inf, decel=math.inf, start_speed=self._target(),
                  hazard=(10.0, 1.0), s0=0.0)
        self.parallel(self._adapt())
        self.parallel(self._passed())
        yield from self.wait(lambda: dist3(self.ego_location, ev.pose[:3]) < self.trigger_distance)
        yield from self.idle(self.ev_idle_time)

    def _adapt(self) -> Behaviour:
        while True:
            self.ev.set_target_speed(self._target())
            yield

    def _passed(self) -> Behaviour:
        ev = self.ev
        ext = self.ev.extent[0] + 2.45
        # WaitUntilInFront(ev, ego): the EV is ahead of the point (ego + ext) on the ego's lane
        while True:
            wp = waypoint_at(self.map, *self.ego_location)
            nxt = wp.next(ext)
            if nxt and np.dot(np.subtract(ev.pose[:2], nxt[0].xyz[:2]), _fwd(nxt[0].transform.rotation.yaw)) > 0:
                break
            yield
        start = ev.odometer
        while ev.odometer - start <= self.end_distance:
            yield
        self._passed_done = True

    def end_condition(self) -> bool:
        return getattr(self, "_passed_done", False)


def _fwd(yaw: float) -> tuple[float, float]:
    return math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
