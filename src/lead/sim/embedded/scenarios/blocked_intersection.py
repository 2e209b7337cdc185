"""BlockedIntersection (scenario_runner's blocked_intersection.py): a vehicle stands
still just behind the junction the ego's route turns through. ScenarioTimeoutTest, 240 s.

The blocker (a car, no emergency vehicle) waits 5 m after the route's exit of the next
junction (placed when the scenario triggers). Once the ego is within 13 m of it, it
stays for 10 s more, then it is removed and the scenario ends.
"""
from __future__ import annotations

from .base import Behaviour, Scenario, register
from .blueprints import pick, vehicle_choices
from .geometry import dist3, next_wp, target_waypoint_in_route, wp_pose


@register("BlockedIntersection")
class BlockedIntersection(Scenario):
    has_timeout = True
    scenario_timeout = 240.0
    blocker_distance = 5.0
    trigger_distance = 13.0
    stop_time = 10.0

    def setup(self) -> None:
        exit_wp = target_waypoint_in_route(self.map, self.reference_waypoint, self.route)
        self.blocker_wp = next_wp(exit_wp, self.blocker_distance, "blocker place")
        self.blocker = self.actor(pick(self.rng, vehicle_choices("car")), label="blocker")

    def behaviour(self) -> Behaviour:
        self.handle_junction(self.blocker_wp.junction_id if self.blocker_wp.is_junction else None,
                             [self.blocker_wp.xyz])
        self.blocker.place(wp_pose(self.blocker_wp))
        yield from self.wait(lambda: dist3(self.blocker.pose[:3], self.ego_location) < self.trigger_distance)
        yield from self.idle(self.stop_time)
        self.blocker.remove()
