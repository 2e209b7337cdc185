"""Target points and command for TFv6, as LEAD's sensor agent derives them from the GPS plan.

LEAD (lead/inference/sensor_agent.py, lead/common/route_planner.py, base_agent.py;
config_closed_loop.py) does, every tick:
- the leaderboard's GPS plan (downsampled route with road options) is converted to CARLA
  coordinates with the map's lat/lon reference, which the leaderboard does not hand to agents:
  LEAD estimates it from the first plan point, known both in GPS and in world coordinates;
- one RoutePlanner per pop distance (5 m = route_planner_min_distance, and 4 m) drops every plan
  point up to the farthest one within the pop distance of the ego (looking at most 50 m of
  plan ahead), always keeping two;
- after merging consecutive duplicates: previous target point = the first point left, target
  point = the second, next target point = the third (or the second again when only two are
  left); command = the first point's road option;
- adaptive pop distance: when the points are dense (target and next, or previous and target,
  less than 10 m apart while previous or target is within 10 m), the 4 m planner's points are
  used instead;
- a next target point farther than 50 m is replaced by the target point;
- points go into the ego frame with the GNSS position and the IMU compass.
CARLA frame throughout: x forward/east, y right/south, metres; yaw in radians.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lead.expert.targets import pop_reached
from lead.world.gps import EARTH_RADIUS_EQUA, gps_to_location

POP_DISTANCE = 5.0          # route_planner_min_distance
DENSE_POP_DISTANCE = 4.0    # the adaptive planner
MAX_DISTANCE = 50.0         # route_planner_max_distance
DENSE_THRESHOLD = 10.0      # m, sensor_agent_pop_distance_adaptive
SKIP_DISTANT_NEXT = 50.0    # m, sensor_agent_skip_distant_target_point_threshold
NUM_COMMANDS = 6
LANEFOLLOW = 4


def command_one_hot(command: int) -> np.ndarray:
    """CARLA RoadOption 1..6 -> one-hot (6,); VOID (-1) and anything unknown -> LANEFOLLOW (LEAD's rule)."""
    c = int(command)
    if c < 0:
        c = LANEFOLLOW
    c -= 1
    if not 0 <= c < NUM_COMMANDS:
        c = LANEFOLLOW - 1
    out = np.zeros(NUM_COMMANDS, np.float32)
    out[c] = 1.0
    return out


def input_commands(onehot: np.ndarray) -> np.ndarray:
    """command_one_hot undone for rows of one-hots (N, 6): each row's RoadOption value (index i is
    RoadOption i + 1); 0 where a row is all zero (a frame stored without route inputs)."""
    onehot = np.atleast_2d(np.asarray(onehot))
    return np.where(onehot.any(axis=1), np.argmax(onehot, axis=1) + 1, 0)


def estimate_gps_reference(x: float, y: float, lat: float, lon: float) -> tuple[float, float]:
    """(lat_ref, lon_ref) such that lead.world.gps.location_to_gps(lat_ref, lon_ref, x, y) gives
    (lat, lon): LEAD's find_gps_ref, which solves the leaderboard's GPS equations for one point
    known in both frames. Closed form here: lat_ref from the y equation by Newton steps (it
    enters through the Mercator scale), then lon_ref from the x equation."""
    def residual(lat_ref: float) -> float:
        s = math.cos(math.radians(lat_ref))
        return (s * EARTH_RADIUS_EQUA * math.log(math.tan(math.radians(90.0 + lat_ref) / 2.0))
                - s * EARTH_RADIUS_EQUA * math.log(math.tan(math.radians(90.0 + lat) / 2.0)) - y)

    lat_ref = lat  # the town origin is within a few km of every route point
    for _ in range(50):
        f = residual(lat_ref)
        h = 1e-7
        d = (residual(lat_ref + h) - residual(lat_ref - h)) / (2 * h)
        if d == 0:
            break
        step = f / d
        lat_ref -= step
        if abs(step) < 1e-13:
            break
    scale = math.cos(math.radians(lat_ref))
    lon_ref = lon - x * 180.0 / (math.pi * EARTH_RADIUS_EQUA * scale)
    return lat_ref, lon_ref


def to_ego(point: Sequence[float], ego_xy: Sequence[float], yaw: float) -> np.ndarray:
    """World (x, y) -> ego frame (x forward, y right) for an ego at ego_xy with yaw (radians)."""
    c, s = math.cos(yaw), math.sin(yaw)
    dx, dy = float(point[0]) - float(ego_xy[0]), float(point[1]) - float(ego_xy[1])
    return np.array([c * dx + s * dy, -s * dx + c * dy], np.float32)


class RoutePlanner:
    """LEAD's RoutePlanner on world points: pops the reached plan points."""

    def __init__(self, points: np.ndarray, commands: Sequence[int], pop_distance: float,
                 max_distance: float = MAX_DISTANCE) -> None:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, np.shape(points)[-1] if len(points) else 2)
        self.route: deque[tuple[np.ndarray, int]] = deque((p, int(c)) for p, c in zip(pts, commands))
        self.distances: deque[float] = deque([0.0] + [float(np.hypot(*(b[:2] - a[:2]))) for a, b in zip(pts, pts[1:])])
        self.pop_distance, self.max_distance = float(pop_distance), float(max_distance)

    def run_step(self, xy: Sequence[float]) -> None:
        pop_reached(self.route, self.distances, xy, self.pop_distance, self.max_distance)

    def points(self) -> list[tuple[np.ndarray, int]]:
        """The route left, consecutive duplicates merged (LEAD's set_target_points)."""
        merged: list[tuple[np.ndarray, int]] = []
        for p, c in self.route:
            if len(self.route) == 2 or not merged or not np.allclose(p[:2], merged[-1][0][:2]):
                merged.append((p, c))
        if len(merged) == 1:
            merged.append(merged[0])
        return merged


@dataclass(frozen=True)
class EgoTargets:
    target_point: np.ndarray           # (2,) ego frame, metres
    target_point_previous: np.ndarray
    target_point_next: np.ndarray
    command: int                       # RoadOption of the first point left
    next_command: int
    position: np.ndarray               # (2,) the ego's world position from GNSS
    yaw: float                         # radians, from the IMU

    def tensors(self) -> dict[str, np.ndarray]:
        """The planning inputs of TFv6 (unbatched): target points (2,) and command one-hot (6,)."""
        return {"target_point": self.target_point, "target_point_previous": self.target_point_previous,
                "target_point_next": self.target_point_next, "command": command_one_hot(self.command)}


class TargetPointSource:
    """The sensor agent's target points: GNSS + IMU each tick -> EgoTargets."""

    def __init__(self, plan_gps: Sequence[Sequence[float]], commands: Sequence[int],
                 reference: tuple[float, float], pop_distances: Sequence[float] = (POP_DISTANCE, DENSE_POP_DISTANCE),
                 adaptive: bool = True, skip_distant_next: float | None = SKIP_DISTANT_NEXT) -> None:
        if len(plan_gps) < 1:
            raise ValueError("a route plan needs at least one point")
        self.reference = reference
        world = np.array([gps_to_location(reference[0], reference[1], la, lo, z) for la, lo, z in plan_gps])
        cmds = [int(c) for c in commands]
        if len(world) == 1:
            world, cmds = np.vstack([world, world]), cmds * 2
        self.world_plan = world
        self.planners = {float(d): RoutePlanner(world, cmds, d) for d in pop_distances}
        self.pop_distance = float(pop_distances[0])
        self.adaptive = adaptive and len(pop_distances) > 1
        self.dense_pop = float(pop_distances[1]) if len(pop_distances) > 1 else self.pop_distance
        self.skip_distant_next = skip_distant_next

    @classmethod
    def from_route(cls, dense_xy_gps: tuple[float, float, float, float], plan: Sequence[tuple[float, float, float, int]],
                   **kw) -> "TargetPointSource":
        """From the /lead/route message's content: one point known in both frames (world x, y,
        lat, lon; e.g. the first dense point) and the plan as (lat, lon, alt, road option)."""
        x, y, lat, lon = dense_xy_gps
        ref = estimate_gps_reference(x, y, lat, lon)
        return cls([(p[0], p[1], p[2]) for p in plan], [p[3] for p in plan], ref, **kw)

    def gnss_to_world(self, lat: float, lon: float, alt: float = 0.0) -> np.ndarray:
        x, y, _ = gps_to_location(self.reference[0], self.reference[1], lat, lon, alt)
        return np.array([x, y])

    def step(self, lat: float, lon: float, alt: float, yaw: float) -> EgoTargets:
        """Advance every planner to the ego's GNSS position; yaw (radians, CARLA) from the IMU."""
        pos = self.gnss_to_world(lat, lon, alt)
        for planner in self.planners.values():
            planner.run_step(pos)
        t = self._targets(self.planners[self.pop_distance], pos, yaw)
        if self.adaptive:
            prev, cur, nxt = t.target_point_previous, t.target_point, t.target_point_next
            near = min(np.linalg.norm(prev), np.linalg.norm(cur)) < DENSE_THRESHOLD
            dense = near and (np.linalg.norm(cur - nxt) < DENSE_THRESHOLD or np.linalg.norm(prev - cur) < DENSE_THRESHOLD)
            if dense:
                t = self._targets(self.planners[self.dense_pop], pos, yaw)
        if self.skip_distant_next is not None and np.linalg.norm(t.target_point_next) > self.skip_distant_next:
            t = EgoTargets(t.target_point, t.target_point_previous, t.target_point.copy(), t.command,
                           t.next_command, t.position, t.yaw)
        return t

    @staticmethod
    def _targets(planner: RoutePlanner, pos: np.ndarray, yaw: float) -> EgoTargets:
        pts = planner.points()
        nxt = pts[2] if len(pts) > 2 else pts[1]
        return EgoTargets(to_ego(pts[1][0], pos, yaw), to_ego(pts[0][0], pos, yaw), to_ego(nxt[0], pos, yaw),
                          pts[0][1], pts[1][1], pos, float(yaw))
