"""Driving lanes of a Map as flat numpy polylines, the form traffic needs every tick.

Every driving lane becomes a polyline in its direction of travel, sampled about every
metre; `d` is the distance travelled along it from its start. All lanes share one set
of arrays, placed end to end on a single increasing coordinate (`base[lane] + d`), so
the poses of many vehicles on many lanes come from one searchsorted call. A grid over
the samples answers "which lanes pass near this point" for actors that are not on a
lane centre (ego, scenario actors, pedestrians crossing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.world.lane_types import LaneType
from lead.world.map import LaneKey, Map, Waypoint

_GRID = 4.0                  # m, cell of the sample grid
DEFAULT_LIMIT_KMH = 30.0     # CARLA's vehicle speed limit until a sign says otherwise


@dataclass
class LaneGraph:
    """Driving lanes of one map; index i everywhere refers to `keys[i]`."""
    keys: list[LaneKey]
    index: dict[LaneKey, int]
    length: np.ndarray          # (n,) m
    start: np.ndarray           # (n,) first sample of each lane in the flat arrays
    count: np.ndarray           # (n,) samples per lane
    base: np.ndarray            # (n,) lane origin on the shared coordinate
    xyz: np.ndarray             # (N, 3) samples
    heading: np.ndarray         # (N,) rad, direction of travel (CARLA sign)
    pitch: np.ndarray           # (N,) rad
    cum: np.ndarray             # (N,) d of each sample on its lane
    coord: np.ndarray           # (N,) base + cum, increasing
    lane_of: np.ndarray         # (N,) lane of each sample
    succ: list[list[int]]
    pred: list[list[int]]
    junction: np.ndarray        # (n,) junction id, -1 outside junctions
    speed_kmh: np.ndarray       # (n,) speed record, nan where the file has none
    curves: list[list[tuple[float, float, float]]]   # per lane: (d0, d1, max |curvature| 1/m)
    cells: dict[tuple[int, int], np.ndarray]

    # ------------------------------------------------------------------ poses
    def pose(self, lane: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xyz (k, 3), heading rad (k,), pitch rad (k,)) at distance d on each lane,
        linear between samples (heading along the shorter arc)."""
        lane = np.asarray(lane, dtype=np.int64)
        d = np.clip(np.asarray(d, dtype=float), 0.0, self.length[lane])
        g = self.base[lane] + d
        j = np.searchsorted(self.coord, g, side="right") - 1
        j = np.clip(j, self.start[lane], self.start[lane] + self.count[lane] - 2)
        span = self.coord[j + 1] - self.coord[j]
        t = np.where(span > 1e-9, (g - self.coord[j]) / np.maximum(span, 1e-9), 0.0)
        xyz = self.xyz[j] + t[:, None] * (self.xyz[j + 1] - self.xyz[j])
        dh = (self.heading[j + 1] - self.heading[j] + math.pi) % (2 * math.pi) - math.pi
        return xyz, self.heading[j] + t * dh, self.pitch[j] + t * (self.pitch[j + 1] - self.pitch[j])

    # ------------------------------------------------------------------ lookup
    def near(self, x: float, y: float, radius: float) -> np.ndarray:
        """Sample indices in the grid cells that a circle around (x, y) touches."""
        i0, i1 = math.floor((x - radius) / _GRID), math.floor((x + radius) / _GRID)
        j0, j1 = math.floor((y - radius) / _GRID), math.floor((y + radius) / _GRID)
        parts = [self.cells[(i, j)] for i in range(i0, i1 + 1) for j in range(j0, j1 + 1) if (i, j) in self.cells]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def project(self, x: float, y: float, radius: float) -> list[tuple[int, float, float, float]]:
        """Lanes passing within `radius` of (x, y): (lane, d of the foot point, signed
        lateral offset (positive to the right of travel), lane heading rad), nearest
        sample's segment per lane."""
        idx = self.near(x, y, radius)
        if len(idx) == 0:
            return []
        dx = self.xyz[idx, 0] - x
        dy = self.xyz[idx, 1] - y
        r2 = dx * dx + dy * dy
        keep = r2 <= radius * radius
        if not keep.any():
            return []
        idx, r2 = idx[keep], r2[keep]
        lanes = self.lane_of[idx]
        order = np.lexsort((r2, lanes))
        lanes_sorted = lanes[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = lanes_sorted[1:] != lanes_sorted[:-1]
        out = []
        for k in idx[order[first]]:
            lane = int(self.lane_of[k])
            h = float(self.heading[k])
            c, s = math.cos(h), math.sin(h)
            px, py = x - float(self.xyz[k, 0]), y - float(self.xyz[k, 1])
            along = px * c + py * s
            d = min(max(float(self.cum[k]) + along, 0.0), float(self.length[lane]))
            out.append((lane, d, -px * s + py * c, h))
        return out


_CACHE: dict[int, tuple[Map, LaneGraph]] = {}


def lane_graph(m: Map) -> LaneGraph:
    """The LaneGraph of a map, built once per Map object."""
    hit = _CACHE.get(id(m))
    if hit is not None and hit[0] is m:
        return hit[1]
    g = _build(m)
    _CACHE[id(m)] = (m, g)
    return g


def _build(m: Map) -> LaneGraph:
    geoms = [g for g in m.lane_geometry(step=1.0, lane_type=LaneType.Driving) if len(g.center) >= 2]
    keys = [(g.road_id, g.section_id, g.lane_id) for g in geoms]
    index = {k: i for i, k in enumerate(keys)}
    pts, heads, pitches, cums, lens = [], [], [], [], []
    curves: list[list[tuple[float, float, float]]] = []
    for i, g in enumerate(geoms):
        p = np.asarray(g.center, dtype=float)
        p = p[np.concatenate([[True], np.linalg.norm(np.diff(p, axis=0), axis=1) > 1e-6])]
        if len(p) < 2:               # a zero-length lane stays linkable as a 1 mm stub
            p = np.vstack([p[0], p[0] + (1e-3, 0.0, 0.0)])
        seg = np.diff(p, axis=0)
        ds = np.linalg.norm(seg, axis=1)
        cum = np.concatenate([[0.0], np.cumsum(ds)])
        hs = np.arctan2(seg[:, 1], seg[:, 0])
        h = np.empty(len(p))
        h[0], h[-1] = hs[0], hs[-1]
        if len(hs) > 1:   # vertex heading: mean of the adjoining segments, on the short arc
            dh = (hs[1:] - hs[:-1] + math.pi) % (2 * math.pi) - math.pi
            h[1:-1] = hs[:-1] + 0.5 * dh
            k = np.abs(dh) / np.maximum(0.5 * (ds[1:] + ds[:-1]), 1e-6)
            curves.append(_curves(cum[1:-1], k))
        else:
            curves.append([])
        ps = np.arctan2(seg[:, 2], np.hypot(seg[:, 0], seg[:, 1]))
        pitch = np.concatenate([ps, ps[-1:]])
        pts.append(p)
        heads.append(h)
        pitches.append(pitch)
        cums.append(cum)
        lens.append(cum[-1])
    count = np.array([len(p) for p in pts], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    length = np.array(lens)
    base = np.concatenate([[0.0], np.cumsum(length + 10.0)[:-1]])
    cum = np.concatenate(cums)
    lane_of = np.repeat(np.arange(len(keys)), count)
    xyz = np.concatenate(pts)
    succ = [[index[s] for s in m.successors(k) if s in index] for k in keys]
    pred: list[list[int]] = [[] for _ in keys]
    for i, ss in enumerate(succ):
        for s in ss:
            pred[s].append(i)
    junction = np.array([m.network.roads[k[0]].junction for k in keys], dtype=np.int64)
    speed = np.array([_limit(m, k) for k in keys], dtype=float)
    cells = _cells(xyz)
    return LaneGraph(keys, index, length, start, count, base, xyz, np.concatenate(heads),
                     np.concatenate(pitches), cum, base[lane_of] + cum, lane_of,
                     succ, pred, junction, speed, curves, cells)


def _curves(d: np.ndarray, k: np.ndarray, min_k: float = 0.01) -> list[tuple[float, float, float]]:
    """Stretches of a lane curving tighter than 1/min_k metres of radius."""
    bent = k > min_k
    if not bent.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bent.astype(np.int8), [0]])))
    return [(float(d[a]), float(d[b - 1]), float(k[a:b].max())) for a, b in zip(edges[::2], edges[1::2])]


def _limit(m: Map, key: LaneKey) -> float:
    sec = m.network.roads[key[0]].sections[key[1]]
    v = Waypoint(m, *key, 0.5 * (sec.s0 + sec.s1)).speed_limit
    return float(v) if v is not None else math.nan


def _cells(xyz: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    ij = np.floor(xyz[:, :2] / _GRID).astype(np.int64)
    order = np.lexsort((ij[:, 1], ij[:, 0]))
    ij = ij[order]
    brk = np.nonzero(np.any(np.diff(ij, axis=0) != 0, axis=1))[0] + 1
    starts = np.concatenate([[0], brk])
    ends = np.concatenate([brk, [len(order)]])
    return {(int(ij[s, 0]), int(ij[s, 1])): order[s:e] for s, e in zip(starts, ends)}

