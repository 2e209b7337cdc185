"""PedestrianCrossing (scenario_runner's pedestrian_crossing.py): three pedestrians cross
the road in front of the ego where it enters the next junction.

The crossing point is the last waypoint before the junction ahead of the trigger; the
walkers start on the sidewalk to its right, at (forward, right) offsets (0.4, 1.5),
(1.0, 2.5), (1.6, 0.5) m from the sidewalk centre, facing the road. Each gets an idle time
U(0, 1.5) s and a speed U(1.3, 2.0) m/s (the scenario's seeded generator). When the ego
is 3.5 s or 12 m from the crossing point, each waits its idle time and walks 2.3 times its
distance to the ego's lane centre, then leaves. No criteria of its own; as upstream
(a SUCCESS_ON_ALL parallel whose walker branches end in WaitForever) the scenario then
stays active until the route ends.
"""
from __future__ import annotations

from lead.world.lane_types import LaneType

from .base import Behaviour, Scenario, register
from .blueprints import random_walker
from .crossing import walk
from .geometry import ScenarioSetupError, dist3, norm_yaw, offset_pose, wp_pose


@register("PedestrianCrossing")
class PedestrianCrossing(Scenario):
    reaction_time = 3.5
    min_trigger_dist = 12.0
    ego_end_distance = 40.0
    walker_offsets = ((0.4, 1.5), (1.0, 2.5), (1.6, 0.5))

    def setup(self) -> None:
        wp = self.reference_waypoint
        for _ in range(2000):
            nxt = wp.next(1.0)
            if not nxt:
                raise ScenarioSetupError("couldn't find a waypoint to spawn the pedestrians")
            if nxt[0].is_junction:
                break
            wp = nxt[0]
        self.collision_wp = wp
        start = wp
        while start.lane_type != LaneType.Sidewalk:
            start = start.get_right_lane()
            if start is None:
                raise ScenarioSetupError("couldn't find a sidewalk to start the pedestrians")
        self.walkers = []
        base = wp_pose(start)
        for i, (fwd, right) in enumerate(self.walker_offsets):
            idle = float(self.rng.uniform(0.0, 1.5))
            speed = float(self.rng.uniform(1.3, 2.0))
            x, y, z, yaw = offset_pose(base, right, fwd)
            pose = (x, y, z, norm_yaw(yaw + 270.0))
            distance = 2.3 * dist3(pose[:3], self.collision_wp.xyz)
            self.walkers.append((self.actor(random_walker(self.rng), label=f"pedestrian_{i + 1}"), pose, idle,
                                 speed, distance))

    def behaviour(self) -> Behaviour:
        self.handle_junction(None, [self.collision_wp.xyz])
        for a, pose, *_ in self.walkers:
            a.place(pose)
        loc = self.collision_wp.xyz
        yield from self.wait(lambda: self.ego_time_to_arrival(loc) < self.reaction_time
                             or self.ego_within(loc, self.min_trigger_dist))
        for a, _, idle, speed, distance in self.walkers:
            self.parallel(self._cross(a, idle, speed, distance))
        yield from self.drive_distance(self.ego_end_distance)
        yield from self.wait_forever()

    def _cross(self, a, idle: float, speed: float, distance: float) -> Behaviour:
        yield from self.idle(idle)
        yield from walk(self, a, speed, distance)
        a.remove()
