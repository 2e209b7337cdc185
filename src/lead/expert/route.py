"""The expert's dense route, as LEAD's privileged route planner keeps it.

The leaderboard's ~1 m route is extended by 50 m of lane at both ends, resampled to 10
points per metre (commands carried over from the nearest original point), and annotated per
point: map waypoint, junction flag, lane width, speed limit, heading and curvature. The ego's
index advances to the nearest point within 4 m ahead. The route can be shifted smoothly onto
a neighbour lane (cosine transitions, CHANGELANE commands on them) to pass obstacles or to
make room for an emergency vehicle. Leading and trailing vehicles are found against it.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from lead.expert.config import ExpertConfig
from lead.world.map import Map, Waypoint
from lead.world.planner import RoadOption
from lead.world.transform import Location

LANE_CHANGES = (int(RoadOption.CHANGELANELEFT), int(RoadOption.CHANGELANERIGHT))


def resample(points: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `spacing` metres of arc length along a polyline (N, 3), and for each the
    fractional index of the input polyline it falls on. Repeated input points are skipped."""
    seg = np.linalg.norm(np.diff(points[:, :2], axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-6])
    pts, idx = points[keep], np.flatnonzero(keep).astype(np.float64)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1))])
    if len(pts) < 2:
        return pts.copy(), idx
    t = np.arange(0.0, s[-1] + 1e-9, spacing)
    dense = np.column_stack([np.interp(t, s, pts[:, k]) for k in range(3)])
    return dense, np.interp(t, s, idx)


def smooth_transition(value: float) -> float:
    """0 -> 0, 1 -> 1 along half a cosine (LEAD's _smooth_transition)."""
    return 0.5 - 0.5 * math.cos(value * math.pi)


class DenseRoute:
    """points (M, 3) in CARLA's frame (shifted around obstacles), original points, commands
    (RoadOption ints), per-point map waypoints; `index` is the ego's point."""

    def __init__(self, map_: Map, points: Sequence[Sequence[float]], options: Sequence[int],
                 config: ExpertConfig) -> None:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if len(pts) < 2 or len(options) != len(pts):
            raise ValueError(f"DenseRoute: need >= 2 route points with one option each, got {len(pts)} points "
                             f"and {len(options)} options")
        self.map, self.config = map_, config
        ppm = config.points_per_meter
        before, after = self._extension(pts, config.extra_route_length)
        opts = [int(RoadOption.LANEFOLLOW)] * len(before) + [int(o) for o in options] + \
            [int(RoadOption.LANEFOLLOW)] * len(after)
        full = np.concatenate([before.reshape(-1, 3), pts, after.reshape(-1, 3)])
        self.points, frac = resample(full, 1.0 / ppm)
        src = np.minimum(np.round(frac).astype(np.int64), len(opts) - 1)
        self.commands = np.asarray(opts, dtype=np.int64)[src]
        self.commands_orig = self.commands.copy()
        self.original = self.points.copy()
        # the leaderboard route proper: from its first to its last point
        self.start_index = int(np.searchsorted(frac, len(before), side="left"))
        self.end_index = int(min(np.searchsorted(frac, len(before) + len(pts) - 1, side="left"),
                                 len(self.points) - 1))
        self.waypoints: list[Waypoint] = [map_.get_waypoint(Location(*p)) for p in self.points]
        self.keys = [w.key for w in self.waypoints]
        self.is_junction = np.array([w.is_junction for w in self.waypoints])
        self.lane_width = np.array([w.lane_width for w in self.waypoints])
        limits: dict[tuple[int, int, int], float] = {}
        for w in self.waypoints:
            if w.key not in limits:
                kmh = w.speed_limit
                limits[w.key] = kmh / 3.6 if kmh else config.default_speed_limit
        self.speed_limit = np.array([limits[k] for k in self.keys])
        # junction roads keep the limit of the road that leads into them, as a vehicle's
        # sign-based limit does (CARLA's towns give connecting roads records of their own)
        for i in np.flatnonzero(self.is_junction):
            if i > 0:
                self.speed_limit[i] = self.speed_limit[i - 1]
        self.yaw = self._headings(self.points)
        self.curvature = self._curvature(self.points)
        self.index = self.start_index
        self._saved_index = self.index
        self._search = config.points(config.route_point_search_distance)

    def _extension(self, pts: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
        """Lane points 1 m apart before the first and after the last route point."""
        out = []
        for start, forward in ((pts[0], False), (pts[-1], True)):
            wp = self.map.get_waypoint(Location(*start))
            ext = []
            for _ in range(int(length)):
                nxt = wp.next(1.0) if forward else wp.previous(1.0)
                if not nxt:
                    break
                wp = nxt[0]
                ext.append(wp.xyz)
            out.append(np.array(ext[::-1] if not forward else ext, dtype=np.float64))
        return out[0], out[1]

    @staticmethod
    def _headings(points: np.ndarray) -> np.ndarray:
        """Yaw (degrees) at each point from its neighbours (LEAD's rotation angles)."""
        if len(points) < 3:
            d = points[-1] - points[0]
            return np.full(len(points), math.degrees(math.atan2(d[1], d[0])))
        d = points[2:] - points[:-2]
        yaws = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
        return np.concatenate([[yaws[0]], yaws, [yaws[-1]]])

    def _curvature(self, points: np.ndarray) -> np.ndarray:
        """|heading change| per metre over 2 m windows (1/m)."""
        k = self.config.points_per_meter
        n = len(points)
        if n < 2 * k + 1:
            return np.zeros(n)
        d1 = points[k:] - points[:-k]
        h = np.arctan2(d1[:, 1], d1[:, 0])
        dh = np.abs((h[k:] - h[:-k] + np.pi) % (2.0 * np.pi) - np.pi)
        curv = dh / (np.linalg.norm(d1[k:, :2], axis=1) + np.linalg.norm(d1[:-k, :2], axis=1) + 1e-9) * 2.0
        out = np.zeros(n)
        out[k:n - k] = curv
        out[:k], out[n - k:] = curv[0], curv[-1]
        return out

    # ------------------------------------------------------------------ tracking
    def __len__(self) -> int:
        return len(self.points)

    def localize(self, xy: Sequence[float]) -> int:
        """Set the index to the nearest point anywhere on the route (start, or after a jump)."""
        d = np.linalg.norm(self.points[:, :2] - np.asarray(xy, dtype=np.float64)[None, :2], axis=1)
        self.index = int(np.argmin(d))
        return self.index

    def advance(self, xy: Sequence[float]) -> int:
        """LEAD's run_step: the nearest point among the next 4 m; the index never goes back."""
        end = min(self.index + self._search, len(self.points))
        if end > self.index:
            seg = self.points[self.index:end]
            d = (seg[:, 0] - xy[0]) ** 2 + (seg[:, 1] - xy[1]) ** 2
            self.index += int(d.argmin())
        return self.index

    def save(self) -> None:
        self._saved_index = self.index

    def load(self) -> None:
        self.index = self._saved_index

    def remaining(self) -> np.ndarray:
        return self.points[self.index:]

    def along(self, distances: np.ndarray, start_offset: float = 0.0) -> np.ndarray:
        """Points (N, 2) `distances` metres along the route from the ego's point (plus
        `start_offset`), clamped to the route's last point."""
        pts = self.points[self.index:, :2]
        if len(pts) < 2:
            return np.repeat(pts[-1:], len(distances), axis=0)
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        d = np.asarray(distances, dtype=np.float64) + start_offset
        return np.column_stack([np.interp(d, s, pts[:, 0]), np.interp(d, s, pts[:, 1])])

    @property
    def distance_to_end(self) -> float:
        """Metres from the ego's point to the last point of the leaderboard route."""
        return (self.end_index - self.index) / self.config.points_per_meter

    def near_lane_change(self, speed: float) -> bool:
        """A lane change (or a route shift) within the braking distance ahead or 15 m behind."""
        c = self.config
        braking = ((speed * 3.6) / 10.0) ** 2 / 2.0 + c.braking_distance_calculation_safety_distance
        ahead = max(c.points(c.minimum_lookahead_distance_to_compute_near_lane_change),
                    min(len(self.points) - self.index, c.points_per_meter * int(braking)))
        lo = max(0, self.index - c.points(c.check_previous_distance_for_lane_change))
        hi = min(len(self.points) - 1, self.index + ahead)
        return bool(np.isin(self.commands[lo:hi], LANE_CHANGES).any())

    def junction_ahead(self, distance: float) -> bool:
        return bool(self.is_junction[self.index:self.index + self.config.points(distance)].any())

    # ------------------------------------------------------------------ shifting
    def _neighbour(self, idx: int, to_left: bool) -> np.ndarray:
        wp = self.waypoints[idx]
        other = wp.get_left_lane() if to_left else wp.get_right_lane()
        return np.array((other or wp).xyz)

    def _recompute(self, lo: int, hi: int) -> None:
        """Headings and curvature again where points [lo, hi) moved (they reach 2 m around)."""
        pad = 2 * self.config.points_per_meter + 1
        n = len(self.points)
        lo, hi = max(lo - pad, 0), min(hi + pad, n)
        a, b = max(lo - pad, 0), min(hi + pad, n)
        seg = self.points[a:b]
        self.yaw[lo:hi] = self._headings(seg)[lo - a:hi - a]
        self.curvature[lo:hi] = self._curvature(seg)[lo - a:hi - a]

    def shift_smoothly(self, start: int, end: int, to_left: bool, transition: int, factor: float = 1.0) -> None:
        """Move points [start, end) towards the neighbour lane's centre (LEAD's
        shift_route_smoothly): cosine ramps of `transition` points at both ends."""
        start, end = max(int(start), 0), min(int(end), len(self.points))
        into = int(RoadOption.CHANGELANELEFT if to_left else RoadOption.CHANGELANERIGHT)
        back = int(RoadOption.CHANGELANERIGHT if to_left else RoadOption.CHANGELANELEFT)
        for idx in range(start, end):
            ratio = 1.0
            if idx <= start + transition and idx - start < end - idx:
                ratio = smooth_transition((idx - start) / transition)
                self.commands[idx] = into
            elif idx >= end - transition:
                ratio = smooth_transition((end - idx) / transition)
                self.commands[idx] = back
            w = factor * ratio
            self.points[idx] = w * self._neighbour(idx, to_left) + (1.0 - w) * self.points[idx]
        self._recompute(start, end)

    def nearest_index(self, xy: Sequence[float], begin: int | None = None) -> int:
        """Nearest original point at or after `begin` (default: the ego's point)."""
        begin = self.index if begin is None else max(int(begin), 0)
        d = np.linalg.norm(self.original[begin:, :2] - np.asarray(xy, dtype=np.float64)[None, :2], axis=1)
        return begin + int(np.argmin(d)) if len(d) else len(self.points) - 1

    def shift_around(self, first_xy: Sequence[float], first_extent: float, last_xy: Sequence[float],
                     last_extent: float, to_left: bool, transition: float, factor: float,
                     before: float, after: float) -> tuple[int, int]:
        """LEAD's shift_route_around_actors: from (transition + before + the first obstacle's
        half length) ahead of it to (transition + after + the last one's half length) past it.
        Returns (start, end) indices."""
        ppm = self.config.points_per_meter
        tr = int(transition * ppm)
        first = self.nearest_index(first_xy)
        last = self.nearest_index(last_xy, first)
        start = first - int(first_extent * ppm + tr + before * ppm)
        end = last + int(last_extent * ppm + tr + after * ppm)
        self.shift_smoothly(start, end, to_left, tr, factor)
        return start, end

    def extend_shift(self, to_left: bool, previous_end: int, until: int | None = None) -> int:
        """Keep the route shifted up to `until` plus one transition: by default 20 m ahead of
        the ego while an emergency vehicle passes, or past a riding bicycle (LEAD's
        extend_lane_shift_transition_for_yield_to_emergency_vehicle / _for_hazard_at_side_lane);
        returns the new end of the fully shifted part (it never moves back)."""
        c = self.config
        tr = c.points(c.transition_smoothness_distance)
        if until is None:
            until = self.index + c.points(c.lane_shift_extension_length_for_yield_to_emergency_vehicle)
        stop = min(max(until + 2 * tr, previous_end + tr), len(self.points))
        back = int(RoadOption.CHANGELANERIGHT if to_left else RoadOption.CHANGELANELEFT)
        for idx in range(max(previous_end, 0), stop):
            ratio = 1.0
            if stop - idx < tr:
                ratio = smooth_transition((stop - idx) / tr)
                self.commands[idx] = back
            else:
                self.commands[idx] = self.commands_orig[idx]
            self.points[idx] = ratio * self._neighbour(idx, to_left) + (1.0 - ratio) * self.original[idx]
        self._recompute(previous_end, stop)
        return stop - tr

    # ------------------------------------------------------------------ other vehicles
    def _near_route(self, xy: np.ndarray, yaw: np.ndarray, lo: int, hi: int, max_dist: float,
                    max_angle: float) -> np.ndarray:
        pts = self.points[lo:hi:self.config.points_per_meter]
        if len(xy) == 0 or len(pts) == 0:
            return np.zeros(len(xy), dtype=bool)
        d = np.linalg.norm(xy[:, None, :2] - pts[None, :, :2], axis=2)
        nearest = d.argmin(axis=1)
        route_yaw = self.yaw[lo:hi:self.config.points_per_meter][nearest]
        diff = (route_yaw - yaw) % 360.0
        diff = np.minimum(diff, 360.0 - diff)
        return (d.min(axis=1) < max_dist) & (diff < max_angle)

    def leading(self, xy: np.ndarray, yaw: np.ndarray) -> np.ndarray:
        """Mask of vehicles on the next 80 m of route, heading along it (LEAD's rule)."""
        c = self.config
        hi = self.index + c.points(c.leading_vehicles_maximum_detection_radius)
        return self._near_route(xy, yaw, self.index, hi, c.leading_vehicles_max_route_distance,
                                c.leading_vehicles_max_route_angle_distance)

    def trailing(self, xy: np.ndarray, yaw: np.ndarray) -> np.ndarray:
        """Mask of vehicles on the last 80 m of route behind the ego, heading along it."""
        c = self.config
        if self.index == 0:
            return np.zeros(len(xy), dtype=bool)
        recent = self.commands[max(0, self.index - c.points(c.max_distance_lane_change_trailing_vehicles)):self.index]
        max_dist = (c.trailing_vehicles_max_route_distance_lane_change if np.isin(recent, LANE_CHANGES).any()
                    else c.trailing_vehicles_max_route_distance)
        lo = max(0, self.index - c.points(c.tailing_vehicles_maximum_detection_radius))
        return self._near_route(xy, yaw, lo, self.index, max_dist, c.trailing_vehicles_max_route_angle_distance)
