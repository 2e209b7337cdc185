"""Background vehicles: lane-centre path following with IDM, lights, signs and a
junction reservation, in the spirit of CARLA's Traffic Manager.

Each vehicle sits at distance d on the first lane of its route (a list of lane indices
extended at random at every branch, seeded per vehicle) and moves kinematically along
lane centres; its speed comes from the Intelligent Driver Model against the nearest
obstacle ahead on its route: another vehicle (followed with the min gap and time
headway), a stop line (red or yellow light, stop sign before its full stop, junction it
may not enter yet) or the end of a dead-end lane.

Junctions: a vehicle may drive past the stop line into a junction only with a
reservation of its passage (the junction lanes on its route). Reservations of
conflicting passages (lanes that cross or merge) are exclusive, so two background
vehicles are never inside the same conflict zone. A reservation is asked for only by
the first vehicle before the line (no reservation can wait behind another vehicle, so
waits cannot form a cycle), only when the light and sign allow, and only if the lanes
after the junction have room to leave it (Traffic Manager's "safe after junction").
Waiting vehicles are served longest-waiting first.

Obstacles on a lane are kept as (d, half length, speed along the lane, actor id). Other
actors (ego, scenario actors) are put on every lane their box overlaps, stretched forward
by what they cover in `lookahead` seconds; a pedestrian crossing a road blocks the point
where its path crosses each lane until it is past that lane. A vehicle whose front has
already reached such a point goes on (the pedestrian waits for it instead).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from .conflicts import CROSS, ConflictTable
from .lanes import DEFAULT_LIMIT_KMH, LaneGraph
from .lights import LightState, TrafficLights
from .rules import Rules
from .spawn import Blueprint

Occupancy = dict[int, list[tuple[float, float, float, int]]]
_INF = float("inf")


@dataclass
class DriverParams:
    """Behaviour of background drivers (Traffic Manager's defaults where it has one)."""
    accel: float = 2.5                 # m/s², IDM maximum acceleration
    comfort_decel: float = 3.0         # m/s², IDM comfortable deceleration
    max_decel: float = 8.0             # m/s², hardest braking
    min_gap: float = 2.0               # m, TM's distance_to_leading_vehicle default
    time_headway: float = 1.0          # s
    stop_gap: float = 0.5              # m, front bumper to a stop line when stopped
    speed_difference: float = 30.0     # %, TM's global_percentage_speed_difference default
    speed_spread: float = 10.0         # %, per-vehicle variation around it (uniform)
    default_speed_limit: float = DEFAULT_LIMIT_KMH   # km/h until a lane's speed record says otherwise
    map_speed_limits: bool = True      # False: ignore the records (CARLA towns set limits by signs)
    lateral_accel: float = 3.0         # m/s², caps speed in curves
    horizon: float = 80.0              # m, how far ahead routes are planned and scanned
    lookahead: float = 1.0             # s, other actors' boxes are stretched this far ahead
    lateral_margin: float = 0.3        # m, clearance to other actors beside the lane
    blocked_respawn: float = 90.0      # s, TM's BLOCKED_TIME_THRESHOLD
    red_blocked_respawn: float = 180.0  # s, TM's RED_TL_BLOCKED_TIME_THRESHOLD
    respawn_distance: float = 100.0    # m from the ego, TM's respawn lower bound


@dataclass
class Vehicle:
    id: int
    bp: Blueprint
    route: list[int]
    d: float
    v: float
    factor: float                      # desired speed / speed limit
    rng: random.Random
    limit: float = DEFAULT_LIMIT_KMH
    target_speed: float | None = None  # m/s, overrides limit·factor
    prev: int = -1
    entry: int = -1                    # incoming lane whose junction we may enter
    passage: tuple[int, ...] = ()
    exit_lane: int = -1
    entered: bool = False
    stop_done: int = -1                # incoming lane where the stop-sign stop is done
    wait_since: float = _INF
    stationary: float = 0.0
    green_stationary: float = 0.0
    held_by_light: bool = False
    pose: tuple = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))   # x, y, z, heading, pitch (rad)
    vel: tuple = (0.0, 0.0, 0.0)
    acc: tuple = (0.0, 0.0, 0.0)
    yaw_rate: float = 0.0

    @property
    def hl(self) -> float:
        return self.bp.extent[0]

    @property
    def hw(self) -> float:
        return self.bp.extent[1]


class Vehicles:
    """The background vehicles of one map."""

    def __init__(self, g: LaneGraph, table: ConflictTable, rules: Rules, lights: TrafficLights,
                 params: DriverParams, max_half_width: float):
        self.g, self.table, self.rules, self.lights, self.p = g, table, rules, lights, params
        self.hw_max = max_half_width
        self.vehicles: list[Vehicle] = []
        self.holders: dict[int, set[int]] = {}           # lane -> ids holding it
        self.claims: dict[int, list[Vehicle]] = {}        # exit lane -> holders leaving by it
        self.respawns = {"dead_end": 0, "blocked": 0}
        self._occ: Occupancy = {}
        self._walkers: set[int] = set()

    # ------------------------------------------------------------------ membership
    def add(self, v: Vehicle) -> None:
        self._enter_lane(v, v.route[0])
        self.vehicles.append(v)
        self._extend(v)
        self._update_poses([v], 0.0)

    def remove(self, vid: int) -> Vehicle | None:
        for i, v in enumerate(self.vehicles):
            if v.id == vid:
                self._release(v)
                return self.vehicles.pop(i)
        return None

    def place(self, v: Vehicle, lane: int, d: float) -> None:
        """Teleport to (lane, d) at rest with a fresh route (respawn)."""
        self._release(v)
        v.route, v.d, v.v, v.prev = [lane], d, 0.0, -1
        v.stop_done, v.wait_since, v.stationary, v.green_stationary = -1, _INF, 0.0, 0.0
        v.vel, v.acc, v.yaw_rate = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0
        self._enter_lane(v, lane)
        self._extend(v)
        self._update_poses([v], 0.0)

    # ------------------------------------------------------------------ step
    def step(self, dt: float, now: float, occ: Occupancy, walkers: set[int] = frozenset()) -> None:
        """Advance every vehicle by dt; `occ` holds the other actors' obstacles and is
        completed here with the vehicles themselves. Obstacles of the ids in `walkers`
        are ignored once a vehicle's front has reached them (the pedestrian waits)."""
        vs = self.vehicles
        self._occ, self._walkers = occ, walkers
        for v in vs:
            self._extend(v)
        for v in vs:
            self._register(v, occ)
        plans = [self._scan(v, occ) for v in vs]
        self._grant(vs, plans, now)
        for v, plan in zip(vs, plans):
            self._move(v, plan, dt)
        self._update_poses(vs, dt)
        for v, plan in zip(vs, plans):
            self._after(v, plan, dt)

    # ------------------------------------------------------------------ routes
    def _extend(self, v: Vehicle) -> None:
        g, route = self.g, v.route
        ahead = float(g.length[route[0]]) - v.d + sum(float(g.length[r]) for r in route[1:])
        while ahead < self.p.horizon + 20.0 or g.junction[route[-1]] >= 0:
            nxt = g.succ[route[-1]]
            if not nxt:
                break
            lane = nxt[int(v.rng.random() * len(nxt))] if len(nxt) > 1 else nxt[0]
            route.append(lane)
            ahead += float(g.length[lane])

    def _enter_lane(self, v: Vehicle, lane: int) -> None:
        lim = self.g.speed_kmh[lane]
        if self.p.map_speed_limits and not math.isnan(lim):   # in force until the next record, as a sign
            v.limit = float(lim)

    # ------------------------------------------------------------------ occupancy
    def _register(self, v: Vehicle, occ: Occupancy) -> None:
        g, lane, d, hl = self.g, v.route[0], v.d, v.hl
        spots = [(lane, d)]
        if d - hl < 0.0 and v.prev >= 0:
            spots.append((v.prev, d + float(g.length[v.prev])))
        if d + hl > g.length[lane] and len(v.route) > 1:
            spots.append((v.route[1], d - float(g.length[lane])))
        for ln, dd in spots:
            occ.setdefault(ln, []).append((dd, hl, v.v, v.id))
            for ov in self.table.overlaps[ln]:
                if dd + hl < ov.a0 or dd - hl > ov.a1:
                    continue
                if ov.kind == CROSS:   # the whole crossing zone is taken, nothing moves along it
                    occ.setdefault(ov.other, []).append((0.5 * (ov.b0 + ov.b1), 0.5 * (ov.b1 - ov.b0), 0.0, v.id))
                else:
                    db = float(np.interp(dd, ov.map_a, ov.map_b))
                    occ.setdefault(ov.other, []).append((db, hl, v.v, v.id))

    def register_box(self, occ: Occupancy, aid: int, x: float, y: float, yaw_deg: float,
                     vx: float, vy: float, hx: float, hy: float) -> None:
        """Put an actor that is not on a lane centre onto every lane its box overlaps."""
        yaw = math.radians(yaw_deg)
        c, s = math.cos(yaw), math.sin(yaw)
        along = vx * c + vy * s
        ext = abs(along) * self.p.lookahead
        if ext > 0.0:   # stretch the box over where it will be shortly
            sign = 1.0 if along >= 0 else -1.0
            x, y, hx = x + sign * 0.5 * ext * c, y + sign * 0.5 * ext * s, hx + 0.5 * ext
        reach = self.hw_max + self.p.lateral_margin
        for lane, d, lat, h in self.g.project(x, y, math.hypot(hx, hy) + reach + 1.0):
            rel = yaw - h
            cr, sr = abs(math.cos(rel)), abs(math.sin(rel))
            if abs(lat) > hx * sr + hy * cr + reach:
                continue
            occ.setdefault(lane, []).append((d, hx * cr + hy * sr, vx * math.cos(h) + vy * math.sin(h), aid))

    # ------------------------------------------------------------------ perception
    def _scan(self, v: Vehicle, occ: Occupancy) -> dict:
        """Nearest obstacle ahead, the next junction entry and the speed to keep."""
        g, p = self.g, self.p
        route, hl = v.route, v.hl
        off = -v.d
        gap, lead_v = _INF, 0.0
        stop = _INF
        entry = None
        v0 = (v.target_speed if v.target_speed is not None else v.limit / 3.6 * v.factor)
        for k, lane in enumerate(route):
            if off > p.horizon:
                break
            for c0, c1, kappa in g.curves[lane]:   # slow down for bends within braking distance
                if off + c1 > 0.0:
                    ahead = max(off + c0, 0.0)
                    v0 = min(v0, math.sqrt(p.lateral_accel / kappa + 2.0 * p.comfort_decel * ahead))
            for d, ohl, ov, aid in occ.get(lane, ()):
                dc = off + d
                if aid == v.id or dc <= (hl + 0.25 if aid in self._walkers else 0.0):
                    continue
                s = dc - ohl - hl
                if s < gap:
                    gap, lead_v = s, ov
            length = float(g.length[lane])
            if entry is None and k + 1 < len(route) and g.junction[lane] < 0 <= g.junction[route[k + 1]]:
                entry = (k, off + self.rules.stop_line(g, lane) - hl)
            off += length
            if k == len(route) - 1 and not g.succ[lane]:
                stop = off - hl                          # dead end: stop at the lane end
        plan = {"gap": gap, "lead_v": lead_v, "stop": stop, "dead_end": stop, "v0": max(v0, 0.0),
                "request": None, "light": None}
        if entry is not None:
            self._entry(v, plan, *entry)
        return plan

    def _entry(self, v: Vehicle, plan: dict, k: int, line_gap: float) -> None:
        g, route = self.g, v.route
        lane, nxt = route[k], route[k + 1]
        lid = self.rules.light_at.get((lane, nxt))
        state = self.lights.state(lid) if lid is not None else None
        plan["light"] = state
        if v.entry == lane:
            return                                   # already allowed in
        plan["stop"] = min(plan["stop"], line_gap)
        if v.passage:
            return                                   # still leaving the previous junction
        ok = True
        if state in (LightState.Red, LightState.Yellow):
            # yellow: go on only if a comfortable stop is no longer possible
            ok = state == LightState.Yellow and line_gap < v.v * v.v / (2.0 * self.p.comfort_decel)
        if (lane, nxt) in self.rules.stop_at and v.stop_done != lane:
            if v.v < 0.1 and line_gap < 3.0:
                v.stop_done = lane
            else:
                ok = False
        near = line_gap <= v.v * v.v / (2.0 * self.p.comfort_decel) + v.v + 3.0
        first = plan["gap"] > line_gap
        if ok and near and first:
            end = k + 1
            while end < len(route) and g.junction[route[end]] >= 0:
                end += 1
            plan["request"] = (lane, tuple(route[k + 1: end]), route[end] if end < len(route) else -1, k)

    # ------------------------------------------------------------------ reservations
    def _grant(self, vs: list[Vehicle], plans: list[dict], now: float) -> None:
        asks = [(v.wait_since, i) for i, (v, pl) in enumerate(zip(vs, plans)) if pl["request"] is not None]
        for _, i in sorted(asks):
            v, pl = vs[i], plans[i]
            lane, passage, exit_lane, k = pl["request"]
            if self._free(v, passage) and self._room(v, pl, exit_lane, k):
                v.entry, v.passage, v.exit_lane, v.entered = lane, passage, exit_lane, False
                for ln in passage:
                    self.holders.setdefault(ln, set()).add(v.id)
                self.claims.setdefault(exit_lane, []).append(v)
                v.wait_since = _INF
                pl["stop"] = pl["dead_end"]
            elif v.wait_since == _INF:
                v.wait_since = now

    def _free(self, v: Vehicle, passage: tuple[int, ...]) -> bool:
        for ln in passage:
            for c in self.table.conflicts[ln]:
                h = self.holders.get(c)
                if h and (len(h) > 1 or v.id not in h):
                    return False
        return True

    def _room(self, v: Vehicle, plan: dict, exit_lane: int, k: int) -> bool:
        """Whether the lanes after the junction can take this vehicle (a slow or stopped
        vehicle there, minus the space other vehicles bound for it will need, leaves
        room for its length and the min gap)."""
        if exit_lane < 0:
            return True
        need = 2.0 * v.hl + self.p.min_gap
        for other in self.claims.get(exit_lane, ()):
            if other.id != v.id:
                need += 2.0 * other.hl + self.p.min_gap
        g = self.g
        off = 0.0
        for lane in v.route[k + 1 + len(plan["request"][1]):]:
            if off > need:
                break
            for d, ohl, ov, aid in self._occ.get(lane, ()):
                if aid != v.id and ov < 1.5 and off + d - ohl < need:
                    return False
            off += float(g.length[lane])
        return True

    def _release(self, v: Vehicle) -> None:
        for ln in v.passage:
            h = self.holders.get(ln)
            if h is not None:
                h.discard(v.id)
                if not h:
                    del self.holders[ln]
        if v.exit_lane in self.claims:
            self.claims[v.exit_lane] = [o for o in self.claims[v.exit_lane] if o.id != v.id]
            if not self.claims[v.exit_lane]:
                del self.claims[v.exit_lane]
        v.entry, v.passage, v.exit_lane, v.entered = -1, (), -1, False

    # ------------------------------------------------------------------ motion
    def _move(self, v: Vehicle, plan: dict, dt: float) -> None:
        p = self.p
        speed, v0 = v.v, plan["v0"]
        free = 1.0 - (speed / v0) ** 4 if v0 > 0.05 else -1.0
        root = 2.0 * math.sqrt(p.accel * p.comfort_decel)
        inter = 0.0
        gap = plan["gap"]
        if gap < _INF:
            s_star = p.min_gap + max(0.0, speed * p.time_headway + speed * (speed - plan["lead_v"]) / root)
            inter = (s_star / max(gap, 0.05)) ** 2
        stop = plan["stop"]
        if stop < _INF:
            s_star = p.stop_gap + max(0.0, speed * p.time_headway + speed * speed / root)
            inter = max(inter, (s_star / max(stop, 0.05)) ** 2)
        acc = min(max(p.accel * (free - inter), -p.max_decel), p.accel)
        new_v = max(speed + acc * dt, 0.0)
        ds = 0.5 * (speed + new_v) * dt
        limit = max(min(gap - 0.2, stop), 0.0)   # never into an obstacle nor past a line
        if ds > limit:
            ds = limit
            new_v = min(new_v, ds / dt)
        v.v = new_v
        self._advance(v, ds)

    def _advance(self, v: Vehicle, ds: float) -> None:
        g, route = self.g, v.route
        d = v.d + ds
        while d > g.length[route[0]]:
            if len(route) == 1:   # end of a dead end: stays there until recycled
                d = float(g.length[route[0]])
                break
            d -= float(g.length[route[0]])
            v.prev = route.pop(0)
            self._enter_lane(v, route[0])
        v.d = d

    def _after(self, v: Vehicle, plan: dict, dt: float) -> None:
        if v.passage:
            inside = v.route[0] in v.passage
            v.entered = v.entered or inside
            if v.entered and not inside and v.d - v.hl >= 0.0:
                self._release(v)
            elif not v.entered and v.v < 0.1 and v.stationary > 2.0 and v.route[0] == v.entry and \
                    v.d + v.hl <= self.rules.stop_line(self.g, v.entry) + 0.05:
                self._release(v)   # stopped short of the junction: let others through meanwhile
        if v.v < 0.1:
            v.stationary += dt
            light = plan["light"]
            v.held_by_light = light in (LightState.Red, LightState.Yellow) and v.entry < 0
            if not v.held_by_light:
                v.green_stationary += dt
        else:
            v.stationary = v.green_stationary = 0.0
            v.held_by_light = False
        if v.route[0] != v.entry and v.stop_done >= 0 and v.stop_done not in v.route:
            v.stop_done = -1

    # ------------------------------------------------------------------ poses
    def _update_poses(self, vs: list[Vehicle], dt: float) -> None:
        if not vs:
            return
        lanes = np.fromiter((v.route[0] for v in vs), dtype=np.int64, count=len(vs))
        ds = np.fromiter((v.d for v in vs), dtype=float, count=len(vs))
        xyz, head, pitch = self.g.pose(lanes, ds)
        for i, v in enumerate(vs):
            h, pt, sp = float(head[i]), float(pitch[i]), v.v
            cp = math.cos(pt)
            vel = (sp * cp * math.cos(h), sp * cp * math.sin(h), sp * math.sin(pt))
            if dt > 0.0:
                dh = (h - v.pose[3] + math.pi) % (2.0 * math.pi) - math.pi
                v.yaw_rate = math.degrees(dh) / dt
                v.acc = tuple((a - b) / dt for a, b in zip(vel, v.vel))
            v.vel = vel
            v.pose = (float(xyz[i, 0]), float(xyz[i, 1]), float(xyz[i, 2]), h, pt)
