"""Which signal governs which lane transition, where traffic stops, and crosswalks.

A light, stop sign or yield sign governs the step from an incoming lane P onto a lane C
of the junction (CARLA's stop waypoint is the end of P). The map names the governed
lanes either on the junction's connecting roads (then P is their predecessor) or on the
incoming road itself (then every junction lane after it). Vehicles stop where the map's
stop waypoint lies on P, which for CARLA's towns is where P enters the junction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.path import Path

from lead.world.map import Map

from .lanes import LaneGraph


@dataclass
class Crosswalk:
    """A crosswalk polygon, its crossing line (ends on either kerb) and the lights of the
    lanes whose traffic enters it from a stop line (pedestrians walk while those are red)."""
    polygon: np.ndarray            # (k, 2)
    ends: np.ndarray               # (2, 3)
    lanes: list[int] = field(default_factory=list)
    lights: list[str] = field(default_factory=list)


@dataclass
class Rules:
    light_at: dict[tuple[int, int], str]
    stop_at: set[tuple[int, int]]
    yield_at: set[tuple[int, int]]
    stop_d: dict[int, float]       # incoming lane -> d of its stop line (default: lane end)
    crosswalks: list[Crosswalk]

    def stop_line(self, g: LaneGraph, lane: int) -> float:
        return self.stop_d.get(lane, float(g.length[lane]))


def signal_rules(m: Map, g: LaneGraph) -> Rules:
    light_at: dict[tuple[int, int], str] = {}
    stop_at: set[tuple[int, int]] = set()
    yield_at: set[tuple[int, int]] = set()
    stop_d: dict[int, float] = {}
    signals = [(tl, "light") for tl in m.get_traffic_lights()]
    signals += [(s, "stop") for s in m.get_stop_signs()] + [(s, "yield") for s in m.get_yield_signs()]
    for sig, kind in signals:
        for (p, c) in _transitions(g, sig):
            if kind == "light":
                light_at.setdefault((p, c), sig.id)
            else:
                (stop_at if kind == "stop" else yield_at).add((p, c))
        for w in sig.stop_waypoints:
            lane = g.index.get(w.key)
            if lane is None or g.junction[lane] >= 0:
                continue
            sec = m.network.roads[w.road_id].sections[w.section_id]
            frac = (w.s - sec.s0) / max(sec.s1 - sec.s0, 1e-9)
            d = float(g.length[lane]) * (frac if w.lane_id < 0 else 1.0 - frac)
            if g.length[lane] - d < 5.0:   # at the junction: the lane end is the line
                d = float(g.length[lane])
            stop_d[lane] = min(stop_d.get(lane, d), d)
    return Rules(light_at, stop_at, yield_at, stop_d, _crosswalks(m, g, light_at))


def _transitions(g: LaneGraph, sig) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for key in sig.affected_lanes:
        lane = g.index.get(key)
        if lane is None:
            continue
        if g.junction[lane] >= 0:
            out += [(p, lane) for p in g.pred[lane] if g.junction[p] < 0]
        else:
            out += [(lane, c) for c in g.succ[lane]]
    for w in sig.stop_waypoints:   # a light named only on its incoming lane
        lane = g.index.get(w.key)
        if lane is not None and g.junction[lane] < 0:
            out += [(lane, c) for c in g.succ[lane] if g.junction[c] >= 0]
    return list(dict.fromkeys(out))


def _crosswalks(m: Map, g: LaneGraph, light_at: dict[tuple[int, int], str]) -> list[Crosswalk]:
    out = []
    for poly in m.get_crosswalks():
        p3 = np.array([[q.x, q.y, q.z] for q in poly], dtype=float)
        if len(p3) >= 2 and np.allclose(p3[0], p3[-1]):
            p3 = p3[:-1]
        if len(p3) < 3:
            continue
        centre = p3.mean(0)
        _, _, vt = np.linalg.svd(p3[:, :2] - centre[:2])
        u = vt[0]
        proj = (p3[:, :2] - centre[:2]) @ u
        ends = np.array([[*(centre[:2] + proj.min() * u), centre[2]], [*(centre[:2] + proj.max() * u), centre[2]]])
        cw = Crosswalk(p3[:, :2], ends)
        inside = Path(p3[:, :2]).contains_points(g.xyz[:, :2])
        for lane in np.unique(g.lane_of[inside]):
            lane = int(lane)
            cw.lanes.append(lane)
            d_in = g.cum[inside & (g.lane_of == lane)].min()
            if g.junction[lane] >= 0 and d_in < 0.5 * g.length[lane]:
                cw.lights += [light_at[(p, lane)] for p in g.pred[lane] if (p, lane) in light_at]
            elif g.junction[lane] < 0:
                cw.lights += [light_at[(lane, c)] for c in g.succ[lane] if (lane, c) in light_at]
        cw.lights = sorted(set(cw.lights))
        out.append(cw)
    return out
