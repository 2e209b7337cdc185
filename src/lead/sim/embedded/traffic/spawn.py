"""Seeded spawning: blueprints, spawn slots on lanes, spread-out choices.

Default blueprints come from the simulator's CARLA blueprint table
(lead.sim.embedded.vehicles); callers may pass their own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from lead.sim.embedded.vehicles import WALKERS, vehicles_of

from .lanes import LaneGraph


@dataclass(frozen=True)
class Blueprint:
    type_id: str
    extent: tuple[float, float, float]    # half extents, m


# Four-wheeled, non-emergency cars and vans up to 2.2 m wide: traffic keeps to lane
# centres without sideways avoidance, so trucks and buses would brush 3.25 m lanes.
DEFAULT_VEHICLES = tuple(Blueprint(v.blueprint_id, v.extent) for v in vehicles_of("car", "van")
                         if not v.emergency and v.extent[1] <= 1.1)
DEFAULT_WALKERS = tuple(Blueprint(w.blueprint_id, w.extent) for w in WALKERS.values())


def as_blueprints(items: Iterable[Any]) -> list[Blueprint]:
    """Blueprints from objects with an extent and a type_id (or blueprint_id), or from
    (type_id, extent) pairs."""
    out = []
    for it in items:
        if isinstance(it, (tuple, list)):
            type_id, ext = it
        else:
            type_id, ext = getattr(it, "type_id", None) or it.blueprint_id, it.extent
        ext = (ext.x, ext.y, ext.z) if hasattr(ext, "x") else tuple(float(v) for v in ext)
        if len(ext) != 3 or min(ext) <= 0:
            raise ValueError(f"blueprint {type_id!r}: extent must be three positive half sizes, got {ext}")
        out.append(Blueprint(str(type_id), ext))
    if not out:
        raise ValueError("no blueprints given")
    return out


def lane_slots(g: LaneGraph, spacing: float = 6.0, margin: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(lane, d) spawn slots on driving lanes outside junctions, every `spacing` m and
    `margin` m clear of lane ends."""
    lanes, ds = [], []
    for i in range(len(g.keys)):
        if g.junction[i] >= 0 or g.length[i] < 2 * margin:
            continue
        d = np.arange(margin, g.length[i] - margin + 1e-9, spacing)
        lanes.append(np.full(len(d), i)), ds.append(d)
    if not lanes:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(lanes).astype(np.int64), np.concatenate(ds)


def pick_spread(rng: np.random.Generator, xy: np.ndarray, k: int, min_dist: float,
                taken: Sequence[tuple[float, float]] = ()) -> list[int]:
    """Up to k indices of points `xy` in random order, each at least `min_dist` from the
    others picked and from `taken`."""
    chosen: list[int] = []
    placed = [np.asarray(t, float) for t in taken]
    for i in rng.permutation(len(xy)):
        if len(chosen) >= k:
            break
        p = xy[i]
        if placed and np.min(np.hypot(*(np.asarray(placed) - p).T)) < min_dist:
            continue
        chosen.append(int(i))
        placed.append(p)
    return chosen
