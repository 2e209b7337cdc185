"""Where lanes inside a junction overlap, computed once per map.

Two junction lanes overlap where their centre lines come closer than the width of two
vehicles plus a margin. Lanes leaving the same incoming lane (diverge) or entering the
same outgoing lane (merge) run side by side there, so a vehicle on one is mapped onto
the other point by point and followed like a leader. Any other overlap is a crossing:
the whole zone counts as blocked while a vehicle is in it. Crossings and merges are
conflicts for the junction reservation: two vehicles never hold conflicting lanes at
the same time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lanes import LaneGraph

DIVERGE, MERGE, CROSS = 0, 1, 2


@dataclass
class Overlap:
    """Lane `other` overlaps this lane where this lane's d is in [a0, a1] and the other's
    in [b0, b1]; for side-by-side kinds `map_a` -> `map_b` maps d across."""
    other: int
    kind: int
    a0: float
    a1: float
    b0: float
    b1: float
    map_a: np.ndarray = field(repr=False)
    map_b: np.ndarray = field(repr=False)


@dataclass
class ConflictTable:
    overlaps: list[list[Overlap]]     # per lane
    conflicts: list[list[int]]        # per lane: lanes a reservation must not share with it


def conflict_table(g: LaneGraph, half_width: float, margin: float = 1.0) -> ConflictTable:
    """Overlaps of junction lanes for vehicles up to `half_width` wide (half). The zone
    reaches `margin` further than body contact to cover a turning box's corners."""
    n = len(g.keys)
    overlaps: list[list[Overlap]] = [[] for _ in range(n)]
    conflicts: list[list[int]] = [[] for _ in range(n)]
    reach = 2.0 * half_width + margin
    touch = 2.0 * half_width + 0.5 * margin
    by_junction: dict[int, list[int]] = {}
    for i in range(n):
        if g.junction[i] >= 0:
            by_junction.setdefault(int(g.junction[i]), []).append(i)
    for lanes in by_junction.values():
        pts = {i: g.xyz[g.start[i]: g.start[i] + g.count[i], :2] for i in lanes}
        for ia, a in enumerate(lanes):
            for b in lanes[ia + 1:]:
                if b in g.succ[a] or a in g.succ[b]:
                    continue   # consecutive pieces of one connecting road
                dist = np.linalg.norm(pts[a][:, None, :] - pts[b][None, :, :], axis=2)
                if dist.min() >= touch:
                    continue
                kind = _kind(g, a, b)
                close = dist < reach
                ra, rb = np.nonzero(close.any(1))[0], np.nonzero(close.any(0))[0]
                ca = g.cum[g.start[a]: g.start[a] + g.count[a]]
                cb = g.cum[g.start[b]: g.start[b] + g.count[b]]
                near_b = dist[ra].argmin(1)     # nearest point of b for each zone point of a
                near_a = dist[:, rb].argmin(0)
                overlaps[a].append(Overlap(b, kind, ca[ra].min(), ca[ra].max(), cb[rb].min(), cb[rb].max(),
                                           ca[ra], cb[near_b]))
                overlaps[b].append(Overlap(a, kind, cb[rb].min(), cb[rb].max(), ca[ra].min(), ca[ra].max(),
                                           cb[rb], ca[near_a]))
                if kind != DIVERGE:
                    conflicts[a].append(b)
                    conflicts[b].append(a)
    return ConflictTable(overlaps, conflicts)


def _kind(g: LaneGraph, a: int, b: int) -> int:
    if set(g.pred[a]) & set(g.pred[b]):
        return DIVERGE
    if set(g.succ[a]) & set(g.succ[b]):
        return MERGE
    return CROSS
