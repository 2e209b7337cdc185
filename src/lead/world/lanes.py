"""Lane positions on a road, computed as CARLA computes them, returned in CARLA's frame.

A lane centre lies at lateral offset t = laneOffset(s) ± (inner widths + half its own
width) from the reference line (OpenDRIVE: +t to the left). CARLA then mirrors y and
negates the heading; its yaw adds the rate of change of t to the reference heading and
turns positive lanes (which drive against s) by 180°. Scalar functions serve waypoints;
array functions sample whole lanes for the spatial index, checks and renderers.
"""
from __future__ import annotations

import math

import numpy as np

from lead.world.network import Lane, LaneSection, Road


def lane_width(section: LaneSection, lane: Lane, s: float, inner: float = 0.0) -> float:
    """Width at road s; `inner` is the summed width of the lanes between it and lane 0
    (needed only for lanes given by <border>)."""
    ds = s - section.s0
    if lane.widths:
        return lane.widths.value(ds)
    return max(abs(lane.borders.value(ds)) - inner, 0.0)


def lane_width_slope(section: LaneSection, lane: Lane, s: float) -> float:
    ds = s - section.s0
    return lane.widths.slope(ds) if lane.widths else lane.borders.slope(ds)


class RoadGeom:
    """Evaluates lane centres and boundaries of one road."""

    __slots__ = ("road",)

    def __init__(self, road: Road):
        self.road = road

    # ------------------------------------------------------------------ scalar
    def lane_offsets(self, section: LaneSection, lane_id: int, s: float) -> tuple[float, float, float, float]:
        """(t_centre, dt_centre/ds, width, t_inner) of a lane at s, OpenDRIVE frame."""
        road = self.road
        off = road.lane_offset.value(s)
        doff = road.lane_offset.slope(s)
        if lane_id == 0:
            return off, doff, 0.0, off
        sign = 1 if lane_id > 0 else -1
        dist = ddist = 0.0
        for k in range(sign, lane_id + sign, sign):
            lane = section.lanes[k]
            w = lane_width(section, lane, s, dist)
            if k == lane_id:
                dw = lane_width_slope(section, lane, s)
                return (off + sign * (dist + 0.5 * w), doff + sign * (ddist + 0.5 * dw), w,
                        off + sign * dist)
            dist += w
            ddist += lane_width_slope(section, lane, s)
        raise KeyError(lane_id)

    def pose(self, section: LaneSection, lane_id: int, s: float) -> tuple[float, float, float, float, float, float]:
        """CARLA (x, y, z, pitch, yaw) of the lane centre at s, and the lane width."""
        road = self.road
        s = min(max(s, 0.0), road.length)
        x, y, h = road.plan_view.point(s)
        z = road.elevation.value(s)
        slope = road.elevation.slope(s)
        t, dt, w, _ = self.lane_offsets(section, lane_id, s)
        px, py = x - t * math.sin(h), y + t * math.cos(h)
        yaw = -math.degrees(h + dt)
        pitch = math.degrees(slope)
        if lane_id > 0:
            yaw += 180.0
            pitch = 360.0 - pitch
        return px, -py, z, pitch, yaw, w

    def point_at(self, s: float, t: float, z_offset: float = 0.0) -> tuple[float, float, float, float]:
        """CARLA (x, y, z, heading in radians of the reference line, CARLA sign) of the
        road point (s, t); t measured from the reference line (no laneOffset)."""
        road = self.road
        s = min(max(s, 0.0), road.length)
        x, y, h = road.plan_view.point(s)
        px, py = x - t * math.sin(h), y + t * math.cos(h)
        return px, -py, road.elevation.value(s) + z_offset, -h

    # ------------------------------------------------------------------ arrays
    def sample(self, section: LaneSection, lane_id: int, s: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays (CARLA frame) at road positions s: 'center', 'inner', 'outer' (n, 3),
        'width', 'yaw' (deg, direction of travel)."""
        road = self.road
        s = np.clip(np.asarray(s, dtype=float), 0.0, road.length)
        x, y, h = road.plan_view.evaluate(s)
        z = road.elevation.values(s)
        off = road.lane_offset.values(s)
        doff = road.lane_offset.slopes(s)
        ds = s - section.s0
        sign = 1 if lane_id > 0 else -1
        dist = np.zeros_like(s)
        ddist = np.zeros_like(s)
        w = dw = np.zeros_like(s)
        for k in range(sign, lane_id + sign, sign):
            lane = section.lanes[k]
            if lane.widths:
                w, dw = lane.widths.values(ds), lane.widths.slopes(ds)
            else:
                w = np.maximum(np.abs(lane.borders.values(ds)) - dist, 0.0)
                dw = lane.borders.slopes(ds)
            if k != lane_id:
                dist = dist + w
                ddist = ddist + dw
        t_in = off + sign * dist
        t_c = t_in + sign * 0.5 * w
        t_out = t_in + sign * w
        dt_c = doff + sign * (ddist + 0.5 * dw)
        nx, ny = -np.sin(h), np.cos(h)

        def at(t):
            return np.stack([x + t * nx, -(y + t * ny), z], axis=1)

        yaw = -np.degrees(h + dt_c) + (180.0 if lane_id > 0 else 0.0)
        return {"center": at(t_c), "inner": at(t_in), "outer": at(t_out), "width": w, "yaw": yaw}
