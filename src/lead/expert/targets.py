"""Target points and commands, as LEAD's RoutePlanner hands them to TFv6.

The plan is the leaderboard's downsampled route (a point where the road option changes, at
lane changes, every 200 m, and the last one). Each tick the planner drops the points that
lie within `pop_distance` of the ego (the farthest such point within the next 50 m of plan
and everything before it), always keeping two. The dataset then reads: previous target point
= the first point left, target point = the second, next target point = the third (or the
second again), after merging consecutive duplicates; command = the first point's road
option, next command = the second's.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lead.world.gps import downsample_route


@dataclass(frozen=True)
class TargetPoints:
    previous: np.ndarray  # (3,) world
    target: np.ndarray
    next: np.ndarray
    command: int
    next_command: int


def pop_reached(route: deque, distances: deque, xy: Sequence[float], pop_distance: float,
                max_distance: float) -> None:
    """LEAD's RoutePlanner.run_step: within max_distance of route ahead, drop every point up to the
    farthest one closer than pop_distance; two points always stay. `route` holds (point, command),
    `distances[i]` the length from point i-1 to point i; both are popped together."""
    if len(route) <= 2:
        return
    pos = np.asarray(xy, dtype=np.float64)[:2]
    to_pop, farthest, cumulative = 0, -np.inf, 0.0
    for i in range(1, len(route)):
        if cumulative > max_distance:
            break
        cumulative += distances[i]
        d = float(np.hypot(*(route[i][0][:2] - pos)))
        if farthest < d <= pop_distance:
            farthest, to_pop = d, i
    for _ in range(min(to_pop, len(route) - 2)):
        route.popleft()
        distances.popleft()


class TargetPointPlanner:
    def __init__(self, points: Sequence[Sequence[float]], options: Sequence[int], pop_distance: float,
                 max_distance: float, sample_factor: float) -> None:
        pts = [tuple(float(c) for c in p) for p in points]
        ids = downsample_route(pts, [int(o) for o in options], sample_factor)
        self.route: deque[tuple[np.ndarray, int]] = deque((np.array(pts[i]), int(options[i])) for i in ids)
        self.distances: deque[float] = deque([0.0])
        plan = list(self.route)
        for (a, _), (b, _) in zip(plan, plan[1:]):
            self.distances.append(float(np.hypot(*(b[:2] - a[:2]))))
        self.pop_distance, self.max_distance = float(pop_distance), float(max_distance)

    def step(self, xy: Sequence[float]) -> TargetPoints:
        """Drop the reached points and return the current target points."""
        pop_reached(self.route, self.distances, xy, self.pop_distance, self.max_distance)
        merged: list[tuple[np.ndarray, int]] = []
        for p, c in self.route:
            if len(self.route) == 2 or not merged or not np.allclose(p[:2], merged[-1][0][:2]):
                merged.append((p, c))
        if len(merged) == 1:
            merged.append(merged[0])
        nxt = merged[2] if len(merged) > 2 else merged[1]
        return TargetPoints(merged[0][0], merged[1][0], nxt[0], merged[0][1], merged[1][1])
