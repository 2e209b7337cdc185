"""Acceptance checks of a road network (used by `lead world check` and the tests).

- gaps: lane centres must be continuous. At every breakpoint inside a lane (geometry,
  laneOffset, elevation and width record starts) the centre just before and just after
  are compared, and so are a lane's end and the start of each successor lane. Each gap
  also carries the jump the file's own data makes there, so a file that is itself
  discontinuous (awkward exports) is told apart from an evaluation error. Geometry
  joins compare where a geometry ends, as evaluated here, with the file's next start.
- widths: lane widths sampled between record starts must be > 0, except on width
  records the file gives as identically zero.
- round trip: get_waypoint(wp.transform.location) for generate_waypoints(2.0) must give
  the same lane, or a lane whose centre passes within 1 cm of that point (lanes that
  overlap, as junction connectors in CARLA's towns do, or share an end point).
- routable: seeded random pairs of spawn points on different lane sections must be
  joined by trace_route, ending within 5 m of the destination (pairs on one section are
  skipped: CARLA's planner does not loop back to a point behind it on the same section).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lead.world.lane_types import LaneType
from lead.world.map import Map

GAP_LIMIT_M = 0.05
ROUNDTRIP_MIN = 0.995
ROUTABLE_MIN = 0.99
_DELTA = 1e-7


@dataclass
class CheckReport:
    parse_s: float
    n_roads: int
    n_lanes: int
    max_gap_m: float
    min_width_m: float
    roundtrip_ratio: float
    routable_ratio: float
    ok: bool
    details: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON line of `lead world check --json`."""
        d = asdict(self)
        d.pop("details")
        return d


@dataclass
class Gap:
    """A jump of a lane centre: `distance` in metres, and `file_jump`, the part of it the
    file's own data makes (a record that does not continue its predecessor, a lane link
    between lanes at different lateral offsets)."""
    distance: float
    where: str
    file_jump: float

    @property
    def explained(self) -> bool:
        return self.distance <= GAP_LIMIT_M or self.file_jump >= self.distance - GAP_LIMIT_M


def geometry_joins(m: Map) -> tuple[float, str]:
    """Largest distance between where a planView geometry ends (as evaluated here) and
    where the file says the next one starts: a check of the geometry maths itself."""
    worst, where = 0.0, ""
    for road in m.network.roads.values():
        g = road.plan_view.geometries
        for a, b in zip(g[:-1], g[1:]):
            x, y, _ = a.point(a.length)
            d = math.hypot(x - b.x0, y - b.y0)
            if d > worst:
                worst, where = d, f"road {road.id} {a.kind} at s={a.s0:.3f}"
    return worst, where


def _record_jump(seq, b: float) -> float:
    """|value of the record in force before b - value of the one starting at b|."""
    starts = seq._start_list
    i_prev = int(np.searchsorted(starts, b, side="left")) - 1
    i_cur = int(np.searchsorted(starts, b, side="right")) - 1
    if i_prev < 0 or i_prev == i_cur:
        return 0.0
    def val(r):
        ds = b - r.s0
        return r.a + ds * (r.b + ds * (r.c + ds * r.d))
    return abs(val(seq.records[i_prev]) - val(seq.records[i_cur]))


def lane_gaps(m: Map) -> list[Gap]:
    """Every place where a lane centre jumps by more than 0.1 mm, along a lane or across
    a lane link, with how much of the jump the file's data makes."""
    gaps: list[Gap] = []
    for road in m.network.roads.values():
        geom = m._geoms[road.id]
        joins = {}   # s -> (position mismatch, heading mismatch) at a geometry join
        for a, b in zip(road.plan_view.geometries[:-1], road.plan_view.geometries[1:]):
            x, y, h = a.point(a.length)
            dh = abs((h - b.hdg + math.pi) % (2 * math.pi) - math.pi)
            joins[b.s0] = (math.hypot(x - b.x0, y - b.y0), dh)
        road_bps = list(joins) + [r.s0 for r in road.lane_offset.records[1:]] + \
            [r.s0 for r in road.elevation.records[1:]]
        for sec in road.sections:
            for lid in sec.lanes:
                if lid == 0:
                    continue
                sign = 1 if lid > 0 else -1
                inner = [sec.lanes[k] for k in range(sign, lid + sign, sign)]
                bps = list(road_bps)
                for lane in inner:
                    seq = lane.widths if lane.widths else lane.borders
                    bps += [sec.s0 + r.s0 for r in seq.records[1:]]
                bps = sorted({b for b in bps if sec.s0 + 2 * _DELTA < b < sec.s1 - 2 * _DELTA})
                if not bps:
                    continue
                arr = np.array(bps)
                a = geom.sample(sec, lid, arr - _DELTA)["center"]
                b = geom.sample(sec, lid, arr + _DELTA)["center"]
                dist = np.linalg.norm(a - b, axis=1) - 2 * _DELTA
                for i in np.nonzero(dist > 1e-4)[0]:
                    s = bps[i]
                    dpos, dh = joins.get(s, (0.0, 0.0))
                    # a kink in the reference line swings a lane at offset t by |t|·Δheading
                    t_c = abs(geom.lane_offsets(sec, lid, s)[0])
                    jump = dpos + t_c * dh + _record_jump(road.lane_offset, s) + _record_jump(road.elevation, s)
                    for lane in inner:
                        seq = lane.widths if lane.widths else lane.borders
                        jump += _record_jump(seq, s - sec.s0) * (0.5 if lane is inner[-1] else 1.0)
                    gaps.append(Gap(float(dist[i]), f"road {road.id} lane {lid} at s={s:.3f}", jump))
    for key, succs in m._succ.items():
        end_wp = m._lane_end(key)
        end = end_wp.transform.location
        t_end = m._geoms[key[0]].lane_offsets(m._section(key), key[2], end_wp.s)[0]
        ref_end = m._geoms[key[0]].point_at(end_wp.s, 0.0)
        yaw_end = end_wp.transform.rotation.yaw
        for n in succs:
            start_wp = m._lane_start(n)
            d = end.distance(start_wp.transform.location)
            if d <= 1e-4:
                continue
            turn = abs((start_wp.transform.rotation.yaw - yaw_end + 180.0) % 360.0 - 180.0)
            if turn > 90.0:
                # the file links a lane to one running the other way (a U-turn road
                # linked lane -1 to -1): the link itself is broken
                jump = d
            else:
                t_start = m._geoms[n[0]].lane_offsets(m._section(n), n[2], start_wp.s)[0]
                ref_start = m._geoms[n[0]].point_at(start_wp.s, 0.0)
                same_side = (key[2] < 0) == (n[2] < 0)
                lateral = abs(t_end - t_start) if same_side else abs(t_end + t_start)
                # roads meeting at an angle swing lanes away from the reference line
                kink = max(abs(t_end), abs(t_start)) * math.radians(turn)
                jump = lateral + kink + math.dist(ref_end[:3], ref_start[:3])
            gaps.append(Gap(d, f"road {key[0]} lane {key[2]} -> road {n[0]} lane {n[2]}", jump))
    return gaps


def lane_widths(m: Map, step: float = 1.0) -> tuple[float, str, int]:
    """(min width, where, number of negative samples) over all lanes, sampled midway
    between stations so record starts (where a file may begin a lane at 0) are skipped;
    width records that are identically zero are excluded."""
    worst, where, negative = math.inf, "", 0
    for road in m.network.roads.values():
        geom = m._geoms[road.id]
        for sec in road.sections:
            if sec.length <= 0:
                continue
            n = max(1, int(math.ceil(sec.length / step)))
            s = sec.s0 + (np.arange(n) + 0.5) * sec.length / n
            for lid, lane in sec.lanes.items():
                if lid == 0:
                    continue
                w = geom.sample(sec, lid, s)["width"]
                seq = lane.widths if lane.widths else lane.borders
                idx = np.clip(np.searchsorted(seq._starts, s - sec.s0, side="right") - 1, 0, None)
                zero_rec = np.all(np.abs(seq._coef[idx]) < 1e-12, axis=1)
                negative += int(np.count_nonzero(w < -1e-9))
                w = w[~zero_rec]
                if len(w) and w.min() < worst:
                    i = int(w.argmin())
                    worst, where = float(w[i]), f"road {road.id} lane {lid} at s={s[~zero_rec][i]:.3f}"
    return worst, where, negative


def roundtrip(m: Map, distance: float = 2.0, tol: float = 0.01) -> tuple[float, float, int]:
    """(ratio, strict same-lane ratio, number of waypoints) of the round trip."""
    wps = m.generate_waypoints(distance)
    same = near = 0
    for wp in wps:
        loc = wp.transform.location
        got = m.get_waypoint(loc)
        if got is None:
            continue
        if got.key == wp.key:
            same += 1
        elif got.lane_type == wp.lane_type and got.transform.location.distance(loc) < tol:
            near += 1
    n = max(len(wps), 1)
    return (same + near) / n, same / n, len(wps)


def routable(m: Map, pairs: int = 100, seed: int = 0, planner=None) -> tuple[float, list[str]]:
    """Share of random spawn-point pairs the planner joins, and the failures."""
    from lead.world.planner import GlobalRoutePlanner, NoRouteError

    spawns = m.get_spawn_points()
    if len(spawns) < 2:
        return 0.0, ["fewer than 2 spawn points"]
    grp = planner or GlobalRoutePlanner(m, 1.0)
    rng = np.random.default_rng(seed)
    keys = [m.get_waypoint(t.location) for t in spawns]
    ok, tried, failures = 0, 0, []
    for _ in range(pairs * 20):
        if tried == pairs:
            break
        a, b = (int(i) for i in rng.choice(len(spawns), 2, replace=False))
        if (keys[a].road_id, keys[a].section_id) == (keys[b].road_id, keys[b].section_id):
            continue
        tried += 1
        o, d = spawns[a].location, spawns[b].location
        try:
            trace = grp.trace_route(o, d)
        except NoRouteError as e:
            failures.append(str(e))
            continue
        end = trace[-1][0].transform.location.distance(d) if trace else math.inf
        if end < 5.0:
            ok += 1
        else:
            failures.append(f"route from ({o.x:.1f}, {o.y:.1f}) to ({d.x:.1f}, {d.y:.1f}) ends {end:.1f} m short")
    return (ok / tried if tried else 0.0), failures


def check_map(path: str | Path, pairs: int = 100, seed: int = 0) -> CheckReport:
    """Parse a map and run all checks."""
    t0 = time.perf_counter()
    m = Map.from_file(path)
    parse_s = time.perf_counter() - t0
    n_lanes = sum(1 for _ in m.lane_keys(LaneType.Any | LaneType.NONE))
    gaps = lane_gaps(m)
    worst = max(gaps, key=lambda g: g.distance, default=Gap(0.0, "", 0.0))  # gaps under 0.1 mm are not listed
    gap, gap_where = worst.distance, worst.where
    geo_gap, geo_where = geometry_joins(m)
    width, width_where, negative = lane_widths(m)
    rt, rt_strict, n_wp = roundtrip(m)
    route_ratio, failures = routable(m, pairs, seed)
    ok = (gap <= GAP_LIMIT_M and width > 0 and negative == 0 and rt >= ROUNDTRIP_MIN
          and route_ratio >= ROUTABLE_MIN)
    details = {
        "map": m.name, "gap_at": gap_where,
        "gaps_over_limit": sum(1 for g in gaps if g.distance > GAP_LIMIT_M),
        "gaps_unexplained": [g.where for g in gaps if not g.explained][:10],
        "geometry_join_m": geo_gap, "geometry_join_at": geo_where, "min_width_at": width_where, "negative_widths": negative,
        "roundtrip_strict": rt_strict, "roundtrip_waypoints": n_wp, "route_failures": failures[:10],
        "traffic_lights": len(m.get_traffic_lights()), "stop_signs": len(m.get_stop_signs()),
        "crosswalks": len(m.get_crosswalks()), "junctions": len(m.network.junctions),
        "warnings": list(m.network.warnings),
    }
    return CheckReport(round(parse_s, 4), len(m.network.roads), n_lanes, round(gap, 6),
                       round(width if math.isfinite(width) else 0.0, 6), round(rt, 6),
                       round(route_ratio, 6), bool(ok), details)
