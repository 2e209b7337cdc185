"""HardBreakRoute (scenario_runner's hard_break.py): the vehicles ahead of the ego brake
to a stop, stay stopped for 10 s, drive on; the scenario ends 15 m of ego driving later.
No criteria of its own.

Upstream the braking vehicles are the Background Activity's: it always keeps two
vehicles in front of the ego on its road, 15 m apart (road_front_vehicles,
road_spawn_dist), and StopFrontVehicles sets their speed to 0. The embedded traffic keeps
no such vehicles, so this scenario brings its own lead vehicle: when it is set up (the
ego within 500 m of the trigger point) it places a car 15 m ahead of the ego on the
route, unless a background vehicle already drives there; the car drives the route at
the Traffic Manager's default speed (30 % under the lane's limit) and waits for the ego
when more than 30 m ahead (the Background Activity keeps its vehicles near the ego). At
the trigger, that car and every background vehicle ahead of the ego on the route within
50 m brake hard (8 m/s^2) and are held; the background ones are handed back to traffic
when the scenario ends, the lead car too.
"""
from __future__ import annotations

import math

import numpy as np

from .actors import Path, ScriptedActor, lane_path
from .base import Behaviour, Scenario, register
from .blueprints import pick, vehicle_choices
from .geometry import waypoint_at
from .traffic_flow import speed_limit_at

HARD_DECEL = 8.0
TM_SPEED_FACTOR = 0.7     # Traffic Manager default: 30 % under the speed limit
FRONT_RANGE = 50.0


@register("HardBreakRoute")
class HardBreakRoute(Scenario):
    stop_duration = 10.0
    end_distance = 15.0
    spawn_distance = 15.0
    max_gap = 30.0

    def setup(self) -> None:
        self.leader: ScriptedActor | None = None
        self.front: list[ScriptedActor] = []
        self._speeds: dict[int, float] = {}
        route = self.route
        i0 = route.closest(*self.ego_location)
        s0 = route.cum[i0]
        if self._background_ahead(s0, s0 + self.spawn_distance + 5.0):
            return
        s = s0 + self.spawn_distance
        if s >= route.length - 5.0:
            return
        j = int(np.searchsorted(route.cum, s))
        self.leader = self.actor(pick(self.rng, vehicle_choices("car")), label="lead_vehicle")
        path = Path(route.xyz[j:])
        self.leader.place((*route.xyz[j], float(route.yaw[j])))
        self.leader.follow(path, self._cruise_speed(), accel=3.0, decel=6.0, hazard=(5.0, 1.0), s0=0.0)

    def _cruise_speed(self) -> float:
        if self.leader is None or not self.leader.alive:
            return 0.0
        wp = waypoint_at(self.map, *self.leader.pose[:3])
        return TM_SPEED_FACTOR * speed_limit_at(wp) / 3.6

    def before_trigger(self) -> None:
        if self.leader is None or not self.leader.alive:
            return
        gap = math.dist(self.leader.pose[:2], self.ego_location[:2])
        v = self._cruise_speed()
        self.leader.set_target_speed(min(v, self.ego_speed) if gap > self.max_gap else v)

    def _background_ahead(self, s_from: float, s_to: float) -> list:
        route = self.route
        out = []
        for a in self.background_vehicles():
            d2 = (route.xyz[:, 0] - a.transform[0]) ** 2 + (route.xyz[:, 1] - a.transform[1]) ** 2
            j = int(np.argmin(d2))
            heading = abs((a.transform[5] - route.yaw[j] + 180.0) % 360.0 - 180.0)
            if math.sqrt(d2[j]) < 2.5 and heading < 45.0 and s_from < route.cum[j] <= s_to:
                out.append(a)
        return out

    def behaviour(self) -> Behaviour:
        # StopFrontVehicles
        s0 = self.route.cum[self.route.closest(*self.ego_location)]
        for a in self._background_ahead(s0, s0 + FRONT_RANGE):
            self.front.append(self._take_over(a))
        if self.leader is not None and self.leader.alive:
            self.front.append(self.leader)
        for a in self.front:
            self._speeds[id(a)] = max(self._cruise_speed() if a is self.leader else a.speed, 0.0)
            a.set_target_speed(0.0, decel=HARD_DECEL)
        yield from self.idle(self.stop_duration)
        # StartFrontVehicles
        for a in self.front:
            a.set_target_speed(self._speeds[id(a)] or self._cruise_speed(), accel=3.0)
        yield from self.drive_distance(self.end_distance)

    def _take_over(self, state) -> ScriptedActor:
        """A background vehicle becomes a scenario actor at the same place and speed."""
        self.world.traffic.remove_actor(state.id)
        a = self.actor(state.type_id, label=f"front_vehicle_{state.id}")
        x, y, z, _, _, yaw = state.transform
        a.place((x, y, z, yaw))
        wp = waypoint_at(self.map, x, y, z)
        a.follow(lane_path(wp, 200.0), state.speed, accel=3.0, decel=6.0, hazard=(5.0, 1.0),
                 start_speed=state.speed)
        return a

    def on_end(self) -> None:
        """Hand the braked vehicles back to traffic where they are."""
        for a in self.front:
            if not a.alive or a.id < 0:
                continue
            x, y, _, yaw = a.pose
            a.remove()
            try:
                self.world.traffic.add_vehicle(x, y, yaw, blueprint=(a.type_id, a.extent), speed=a.speed)
            except ValueError:
                pass
