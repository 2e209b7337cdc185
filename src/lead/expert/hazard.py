"""HazardAtSideLane(TwoWays): two bicycles riding slowly at the right edge of the ego's lane,
passed on the left as LEAD's expert does (expert.py, privileged_route_planner.py).

- HazardAtSideLane: within 25 m of the last bicycle the route is shifted onto the left lane
  around both (8 m transitions); while they ride on, the shift is extended each tick to stay
  one bicycle length + one transition past the last one. Done once the ego's route index is
  past the fully shifted part.
- HazardAtSideLaneTwoWays: within 10 m of the first bicycle, if the oncoming lane is free
  for the pass (the TwoWays path check), the route shifts onto it from the ego to 17 m past
  the last bicycle ("the bicycles don't drive too much meanwhile") and the ego passes at the
  overtake speed; until then it rides behind them.

Bicycles belong to the hazard when they are scenario actors near a hazard scenario of the route.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lead.expert.config import ExpertConfig
from lead.expert.inputs import ActorsView, Category, EgoView, scenario_actor
from lead.expert.route import DenseRoute
from lead.world.lane_types import LaneType

HAZARD_SCENARIOS = ("HazardAtSideLane", "HazardAtSideLaneTwoWays")


@dataclass(frozen=True)
class HazardGroup:
    type: str  # HazardAtSideLane or HazardAtSideLaneTwoWays
    ids: tuple[int, ...]  # nearest first
    two_ways: bool


def detect(route: DenseRoute, ego: EgoView, actors: ActorsView, config: ExpertConfig,
           hint_type_near: Callable[[np.ndarray], str | None], done_ids: set[int]) -> HazardGroup | None:
    """The bicycles of the nearest hazard scenario ahead on the route when the first is within
    the scenario processing distance (the others may ride up to a cluster length beyond), and
    the ego has a left driving lane to pass them on."""
    found: list[tuple[int, int, str, float]] = []  # (route index, actor index, scenario type, m beyond range)
    for i in np.flatnonzero(actors.category == Category.BICYCLE):
        if int(actors.ids[i]) in done_ids or not scenario_actor(actors.roles[i]):
            continue
        xy = actors.location[i, :2]
        kind = hint_type_near(xy)
        if kind not in HAZARD_SCENARIOS:
            continue
        far = math.hypot(xy[0] - ego.x, xy[1] - ego.y) - config.default_max_distance_to_process_scenario
        if far > config.obstacle_cluster_length:
            continue
        idx = route.nearest_index(xy)
        if route.index < idx < len(route) - 1:
            found.append((idx, i, kind, far))
    found.sort()
    if not found or found[0][3] > 0.0:
        return None
    kind = found[0][2]
    wp = route.waypoints[route.index]
    left = wp.get_left_lane()
    if left is None or left.lane_type != LaneType.Driving:
        return None
    ids = tuple(int(actors.ids[i]) for _, i, k, _ in found if k == kind)
    return HazardGroup(kind, ids, kind.endswith("TwoWays"))


@dataclass
class HazardPass:
    """The state of one pass: where the shifted part of the route begins and ends. Reads like
    an obstacle pass (type, ids, to_left, two_ways, to_index) for the TwoWays path check."""
    group: HazardGroup
    from_index: int = -1
    to_index: int = -1  # end of the fully shifted part
    path_clear: bool = False
    to_left: bool = True  # bicycles ride at the right edge

    @property
    def type(self) -> str:
        return self.group.type

    @property
    def ids(self) -> tuple[int, ...]:
        return self.group.ids

    @property
    def two_ways(self) -> bool:
        return self.group.two_ways

    def step(self, route: DenseRoute, ego: EgoView, actors: ActorsView, config: ExpertConfig,
             path_clear: Callable[[], bool]) -> str:
        """One tick: 'pass' (the route is shifted, drive on), 'follow' (ride behind the
        bicycles for now) or 'done'. `path_clear` is the TwoWays oncoming-lane check, called
        with from_index / to_index set."""
        c = config
        idx = [actors.index_of(a) for a in self.group.ids]
        if any(k is None for k in idx):
            return "done"  # a bicycle is gone
        first, last = idx[0], idx[-1]
        first_xy, last_xy = actors.location[first, :2], actors.location[last, :2]
        tr = c.points(c.transition_smoothness_distance)
        if not self.group.two_ways:
            if self.from_index < 0 and math.hypot(last_xy[0] - ego.x, last_xy[1] - ego.y) \
                    < c.max_distance_to_process_hazard_at_side_lane:
                self.from_index, end = route.shift_around(
                    first_xy, float(actors.extent[first, 0]), last_xy, float(actors.extent[last, 0]), True,
                    c.transition_smoothness_distance, 1.0, 0.0, 0.0)
                self.to_index = end - tr
            if self.from_index < 0:
                return "follow"
            self._extend(route, actors, last, last_xy, c)
            return "done" if route.index > self.to_index else "pass"
        if not self.path_clear and math.hypot(first_xy[0] - ego.x, first_xy[1] - ego.y) \
                < c.max_distance_to_process_hazard_at_side_lane_two_ways:
            self.from_index = route.index
            self.to_index = min(route.nearest_index(last_xy, route.index) + c.points(c.hazard_two_ways_pass_beyond),
                                len(route) - 1)
            self.path_clear = path_clear()
            if self.path_clear:
                route.shift_smoothly(self.from_index, self.to_index, True, tr)
                self.to_index -= tr
        if not self.path_clear:
            return "follow"
        # lead's own: LEAD assumes the bicycles barely move during the pass; they ride ~3 m/s,
        # so the TwoWays shift is extended past them too (else the ego cut in beside the last)
        self._extend(route, actors, last, last_xy, c)
        return "done" if route.index >= self.to_index else "pass"

    def _extend(self, route: DenseRoute, actors: ActorsView, last: int, last_xy: np.ndarray,
                c: ExpertConfig) -> None:
        # searched from the shift's start: the ego passes the bicycle, its index must not follow the ego
        beside = route.nearest_index(last_xy, self.from_index) + c.points(float(actors.extent[last, 0]))
        self.to_index = route.extend_shift(True, self.to_index, until=beside)
