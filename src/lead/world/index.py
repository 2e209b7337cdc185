"""Spatial index over lane-centre polylines: the nearest lane segment to a point, exact.

Segments live in a uniform 2-D grid; each cell lists every segment whose bounding box,
grown by `margin`, touches the cell. A query projects the point onto its cell's
segments (3-D distance, as CARLA's R-tree does); when the best one is within `margin`
no segment outside the list can be nearer, otherwise it falls back to all segments.
Grids are built lazily, one per lane-type mask.
"""
from __future__ import annotations

import math

import numpy as np


class LaneIndex:
    """Nearest-segment queries over polylines of lanes.

    `polylines[i]` is an (n, 3) array of lane-centre points of lane i, `stations[i]` the
    road s of each point (increasing), `lane_flags[i]` the lane's LaneType value and
    `lane_along_s[i]` whether traffic on it moves towards increasing s.
    """

    def __init__(self, polylines: list[np.ndarray], stations: list[np.ndarray], lane_flags: list[int],
                 lane_along_s: list[bool], cell: float = 4.0, margin: float = 8.0):
        a, b, lane, s0, s1 = [], [], [], [], []
        for i, (p, s) in enumerate(zip(polylines, stations)):
            if len(p) < 2:
                continue
            a.append(p[:-1])
            b.append(p[1:])
            lane.append(np.full(len(p) - 1, i, dtype=np.int32))
            s0.append(s[:-1])
            s1.append(s[1:])
        if not a:
            raise ValueError("no lane polylines to index")
        a, b = np.concatenate(a), np.concatenate(b)
        d = b - a
        l2 = np.maximum((d * d).sum(1), 1e-18)
        # one row per segment: start xyz, direction xyz, squared length; one gather per query
        self.seg = np.ascontiguousarray(np.column_stack([a, d, l2]))
        self.seg_lane = np.concatenate(lane)
        self.seg_s0, self.seg_s1 = np.concatenate(s0), np.concatenate(s1)
        self.lane_flags = np.asarray(lane_flags, dtype=np.int64)
        # s where travel on each lane ends; ties are broken towards the lane that has the
        # most of itself still ahead (a shared end point belongs to the lane starting there)
        self.lane_end_s = np.array([s[-1] if f else s[0] for s, f in zip(stations, lane_along_s)], dtype=float)
        self.lane_sign = np.where(np.asarray(lane_along_s, dtype=bool), 1.0, -1.0)
        self.cell, self.margin = float(cell), float(margin)
        self._lo = np.minimum(a, b)[:, :2].min(0) - margin
        self._grids: dict[int, tuple[dict, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.seg)

    def _grid(self, mask: int) -> tuple[dict, np.ndarray]:
        g = self._grids.get(mask)
        if g is None:
            g = self._grids[mask] = self._build(mask)
        return g

    def _build(self, mask: int) -> tuple[dict, np.ndarray]:
        ids = np.nonzero(self.lane_flags[self.seg_lane] & mask)[0].astype(np.int32)
        if len(ids) == 0:
            return {}, ids
        a = self.seg[ids, :2]
        b = a + self.seg[ids, 3:5]
        lo = (np.minimum(a, b) - self.margin - self._lo) / self.cell
        hi = (np.maximum(a, b) + self.margin - self._lo) / self.cell
        i0, i1 = np.floor(lo).astype(np.int64), np.floor(hi).astype(np.int64)
        nx, ny = i1[:, 0] - i0[:, 0] + 1, i1[:, 1] - i0[:, 1] + 1
        counts = nx * ny
        seg_rep = np.repeat(np.arange(len(ids)), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = i0[seg_rep, 0] + k // ny[seg_rep]
        cy = i0[seg_rep, 1] + k % ny[seg_rep]
        keys = cx * (1 << 32) + cy
        order = np.argsort(keys, kind="stable")
        keys, members = keys[order], ids[seg_rep[order]]
        uniq, start = np.unique(keys, return_index=True)
        end = np.append(start[1:], len(keys))
        cells = {int(key): members[s:e] for key, s, e in zip(uniq, start, end)}
        return cells, ids

    def nearest(self, x: float, y: float, z: float, mask: int) -> tuple[int, float, float] | None:
        """(lane index, road s, distance) of the nearest segment of a lane matching `mask`."""
        cells, all_ids = self._grid(mask)
        if len(all_ids) == 0:
            return None
        cx = math.floor((x - self._lo[0]) / self.cell)
        cy = math.floor((y - self._lo[1]) / self.cell)
        cand = cells.get(cx * (1 << 32) + cy)
        if cand is not None:
            hit = self._best(cand, x, y, z)
            if hit[2] <= self.margin:
                return hit
        return self._best(all_ids, x, y, z)

    def _best(self, cand: np.ndarray, x: float, y: float, z: float) -> tuple[int, float, float]:
        seg = self.seg[cand]
        w = np.array((x, y, z)) - seg[:, :3]
        d = seg[:, 3:6]
        t = (w * d).sum(1)
        t /= seg[:, 6]
        np.minimum(t, 1.0, out=t)
        np.maximum(t, 0.0, out=t)
        w -= t[:, None] * d
        d2 = (w * w).sum(1)
        i = int(d2.argmin())
        ties = np.nonzero(d2 <= d2[i] + 1e-8)[0]
        if len(ties) > 1:
            j = cand[ties]
            s = self.seg_s0[j] + t[ties] * (self.seg_s1[j] - self.seg_s0[j])
            lane = self.seg_lane[j]
            ahead = self.lane_sign[lane] * (self.lane_end_s[lane] - s)
            i = int(ties[int(ahead.argmax())])
        j = cand[i]
        s = self.seg_s0[j] + t[i] * (self.seg_s1[j] - self.seg_s0[j])
        return int(self.seg_lane[j]), float(s), math.sqrt(float(d2[i]))

    def nearest_brute(self, x: float, y: float, z: float, mask: int) -> tuple[int, float, float] | None:
        """The same answer by a linear scan over all segments (baseline for benchmarks)."""
        ids = np.nonzero(self.lane_flags[self.seg_lane] & mask)[0]
        return self._best(ids, x, y, z) if len(ids) else None
