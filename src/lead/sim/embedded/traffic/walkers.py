"""Pedestrians: random walks on the sidewalk network, crossing roads at crosswalks.

The walk network is made of sidewalk lane centres (joined where their ends meet),
crosswalk lines (kerb to kerb along the crosswalk polygon's long axis) and short
connectors from a sidewalk to each crosswalk end. Pedestrians walk at their own speed,
keep a little to the right of their direction of travel and, at a node, take a random
next edge (not the one they came by unless it is a dead end), as CARLA's walker AI
walks to random navigation points.

Crossing follows CARLA's WalkerManager: before stepping onto the road a pedestrian stops
and checks that no vehicle is close (StopAndCheck); here it also waits while any light
of the lanes entering the crosswalk is not red. Without a light it gives up after
CARLA's 5 s and turns back. On the road it stops while a vehicle's body is in its way
and walks back to the kerb if that lasts 4 s. CARLA's crossing factor (navigation
filter 1 vs 0) is the share of pedestrians that may also cross a road away from
crosswalks (default 0): those may take "jaywalk" edges straight across road sections
between facing sidewalks. Walking speeds are drawn from 1.2-1.5 m/s, around CARLA's
adult walking speed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lead.world.lane_types import LaneType
from lead.world.map import Map

from .lanes import LaneGraph
from .lights import LightState, TrafficLights
from .rules import Rules
from .spawn import Blueprint

SIDEWALK, CONNECTOR, CROSSWALK, JAYWALK = 0, 1, 2, 3
CHECK_TIMEOUT = 5.0          # s, CARLA's WalkerEventStopAndCheck timeout
BLOCKED_TIMEOUT = 4.0        # s blocked by a vehicle mid-road before walking back
LIGHT_PATIENCE = 90.0        # s a pedestrian waits for its light before turning back
_RAMP = 3.0                  # m over which the keep-right offset fades in and out at nodes


@dataclass
class Edge:
    a: int
    b: int
    pts: np.ndarray       # (k, 3) from node a to node b
    cum: np.ndarray       # (k,)
    kind: int
    max_offset: float     # how far right of the centre line a pedestrian may walk
    crosswalk: int = -1
    crossings: list[tuple[int, float, float, float]] = field(default_factory=list)
    # driving lanes the edge crosses: (lane, d on the lane, distance from node a, |sin| of the angle)

    @property
    def length(self) -> float:
        return float(self.cum[-1])


@dataclass
class WalkNet:
    nodes: np.ndarray                 # (n, 3)
    edges: list[Edge]
    adj: list[list[int]]              # node -> incident edges


_CACHE: dict[int, tuple[Map, WalkNet]] = {}


def walk_net(m: Map, g: LaneGraph, rules: Rules) -> WalkNet:
    """The walk network of a map, built once per Map object."""
    hit = _CACHE.get(id(m))
    if hit is not None and hit[0] is m:
        return hit[1]
    net = _build(m, g, rules)
    _CACHE[id(m)] = (m, net)
    return net


def _build(m: Map, g: LaneGraph, rules: Rules) -> WalkNet:
    walks = [(np.asarray(s.center, float), float(np.min(s.width)))
             for s in m.lane_geometry(step=1.0, lane_type=LaneType.Sidewalk) if len(s.center) >= 2]
    walks = [(p, w) for p, w in walks if np.linalg.norm(p[-1] - p[0]) > 0.5 or len(p) > 2]
    cums = [np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]) for p, _ in walks]
    cuts: list[list[tuple[float, int]]] = [[] for _ in walks]   # (cum, node) splitting each sidewalk
    nodes: list[np.ndarray] = []

    def node_at(p: np.ndarray, tol: float = 0.5) -> int:
        if nodes:
            d = np.linalg.norm(np.asarray(nodes)[:, :2] - p[:2], axis=1)
            i = int(d.argmin())
            if d[i] < tol:
                return i
        nodes.append(np.asarray(p, float))
        return len(nodes) - 1

    for i, (p, _) in enumerate(walks):
        cuts[i] += [(0.0, node_at(p[0])), (float(cums[i][-1]), node_at(p[-1]))]
    extra: list[Edge] = []
    for ci, cw in enumerate(rules.crosswalks):
        hits = [_nearest_on(walks, cums, e, 8.0) for e in cw.ends]
        if any(h is None for h in hits):
            continue
        ends = []
        for (wi, c, foot), e in zip(hits, cw.ends):
            kerb = node_at(np.asarray(e, float), tol=0.05)
            side = node_at(foot, tol=0.3)
            cuts[wi].append((c, side))
            ends.append(kerb)
            extra.append(_edge(side, kerb, np.array([foot, e]), CONNECTOR, 0.0))
        extra.append(_edge(ends[0], ends[1], np.asarray(cw.ends, float), CROSSWALK, 0.0, ci))
    for a_i, a_c, a_p, b_i, b_c, b_p in _jaywalks(walks, cums, g):
        na, nb = node_at(a_p, tol=0.3), node_at(b_p, tol=0.3)
        cuts[a_i].append((a_c, na))
        cuts[b_i].append((b_c, nb))
        extra.append(_edge(na, nb, np.array([a_p, b_p]), JAYWALK, 0.0))
    edges = []
    for i, (p, w) in enumerate(walks):
        pts = sorted(set(cuts[i]))
        for (c0, n0), (c1, n1) in zip(pts[:-1], pts[1:]):
            if c1 - c0 < 0.2 or n0 == n1:
                continue
            inner = p[(cums[i] > c0) & (cums[i] < c1)]
            seg = np.vstack([_at(p, cums[i], c0), inner, _at(p, cums[i], c1)])
            edges.append(_edge(n0, n1, seg, SIDEWALK, max(0.5 * w - 0.6, 0.0)))
    edges += [e for e in extra if e.a != e.b]
    for e in edges:
        if e.kind in (CROSSWALK, JAYWALK):
            e.crossings = _lane_crossings(g, e.pts[0], e.pts[-1])
    adj: list[list[int]] = [[] for _ in nodes]
    for k, e in enumerate(edges):
        adj[e.a].append(k)
        adj[e.b].append(k)
    return WalkNet(np.asarray(nodes) if nodes else np.zeros((0, 3)), edges, adj)


def _edge(a: int, b: int, pts: np.ndarray, kind: int, max_offset: float, crosswalk: int = -1) -> Edge:
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    return Edge(a, b, pts, cum, kind, max_offset, crosswalk)


def _at(p: np.ndarray, cum: np.ndarray, c: float) -> np.ndarray:
    return np.array([np.interp(c, cum, p[:, k]) for k in range(3)])


def _lane_crossings(g: LaneGraph, a: np.ndarray, b: np.ndarray) -> list[tuple[int, float, float, float]]:
    """Where the segment a-b crosses driving lane centre lines."""
    ab = b[:2] - a[:2]
    length = float(np.linalg.norm(ab))
    mid = 0.5 * (a[:2] + b[:2])
    out = []
    idx = g.near(float(mid[0]), float(mid[1]), 0.5 * length + 2.0)
    for lane in np.unique(g.lane_of[idx]):
        lo, n = int(g.start[lane]), int(g.count[lane])
        p, q = g.xyz[lo: lo + n - 1, :2], g.xyz[lo + 1: lo + n, :2]
        pq = q - p
        den = pq[:, 0] * ab[1] - pq[:, 1] * ab[0]
        ok = np.abs(den) > 1e-9
        rel = a[:2] - p
        t = np.where(ok, (rel[:, 0] * ab[1] - rel[:, 1] * ab[0]) / np.where(ok, den, 1.0), -1.0)
        u = np.where(ok, (rel[:, 0] * pq[:, 1] - rel[:, 1] * pq[:, 0]) / np.where(ok, den, 1.0), -1.0)
        for j in np.nonzero(ok & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1))[0]:
            seg = float(np.linalg.norm(pq[j]))
            sin = abs(float(den[j])) / max(seg * length, 1e-9)
            out.append((int(lane), float(g.cum[lo + j] + t[j] * seg), float(u[j] * length), sin))
    return out


def _nearest_on(walks, cums, q: np.ndarray, radius: float):
    """(sidewalk index, cum, foot point) of the nearest sidewalk centre-line point."""
    best = None
    for i, (p, _) in enumerate(walks):
        a, b = p[:-1, :2], p[1:, :2]
        ab = b - a
        t = np.clip(((q[:2] - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0.0, 1.0)
        foot = a + t[:, None] * ab
        d = np.linalg.norm(foot - q[:2], axis=1)
        j = int(d.argmin())
        if d[j] < radius and (best is None or d[j] < best[0]):
            c = float(cums[i][j] + t[j] * (cums[i][j + 1] - cums[i][j]))
            best = (float(d[j]), i, c, _at(p, cums[i], c))
    return None if best is None else best[1:]


def _jaywalks(walks, cums, g: LaneGraph, spacing: float = 15.0):
    """Straight crossings between facing sidewalks over road sections (not junctions):
    from points every `spacing` m, across to the nearest sidewalk point that lies
    roughly perpendicular, 6-30 m away, with a driving lane outside junctions midway."""
    out = []
    allp = [(i, j) for i, (p, _) in enumerate(walks) for j in range(len(p))]
    if not allp:
        return out
    owner = np.array([i for i, _ in allp])
    idx = np.array([j for _, j in allp])
    pts = np.concatenate([p for p, _ in walks])
    for i, (p, _) in enumerate(walks):
        if len(p) < 3:
            continue
        for j in range(1, len(p) - 1, max(1, int(spacing))):
            t = p[j + 1, :2] - p[j - 1, :2]
            t /= max(np.linalg.norm(t), 1e-9)
            rel = pts[:, :2] - p[j, :2]
            dist = np.linalg.norm(rel, axis=1)
            along = np.abs(rel @ t)
            ok = (owner != i) & (dist > 6.0) & (dist < 30.0) & (along < 0.25 * dist)
            if not ok.any():
                continue
            k = int(np.nonzero(ok)[0][dist[ok].argmin()])
            mid = 0.5 * (p[j] + pts[k])
            lanes = g.project(float(mid[0]), float(mid[1]), 2.5)
            if not lanes or any(g.junction[ln] >= 0 for ln, *_ in lanes):
                continue
            if i < owner[k]:   # one edge per pair of points
                out.append((i, float(cums[i][j]), p[j], int(owner[k]), float(cums[owner[k]][idx[k]]), pts[k]))
    return out


class Walkers:
    """The pedestrians of one map."""

    def __init__(self, net: WalkNet, rules: Rules, lights: TrafficLights):
        self.net, self.rules, self.lights = net, rules, lights
        self.ids: list[int] = []
        self.bps: list[Blueprint] = []
        self.edge = np.zeros(0, dtype=np.int64)
        self.s = np.zeros(0)
        self.dir = np.zeros(0, dtype=np.int64)        # +1 from node a to b, -1 back
        self.speed = np.zeros(0)
        self.offset = np.zeros(0)
        self.crosser = np.zeros(0, dtype=bool)
        self.wait = np.zeros(0)                       # s waited at a kerb, -1 when walking
        self.blocked = np.zeros(0)                    # s stopped mid-road by a vehicle in the way
        self.pending = np.zeros(0, dtype=np.int64)    # crossing edge waited for
        self.rngs: list[np.random.Generator] = []
        self.came = np.zeros(0, dtype=np.int64)       # edge arrived by at the current node
        self.pose = np.zeros((0, 4))                  # x, y, z, heading rad
        self.vel = np.zeros((0, 3))
        self.prev_vel = np.zeros((0, 3))
        self.prev_heading = np.zeros(0)

    # ------------------------------------------------------------------ membership
    def add(self, wid: int, bp: Blueprint, edge: int, s: float, direction: int, speed: float,
            offset: float, crosser: bool, rng: np.random.Generator) -> None:
        self.ids.append(wid)
        self.bps.append(bp)
        self.rngs.append(rng)
        self.edge = np.append(self.edge, edge)
        self.s = np.append(self.s, s)
        self.dir = np.append(self.dir, direction)
        self.speed = np.append(self.speed, speed)
        self.offset = np.append(self.offset, offset)
        self.crosser = np.append(self.crosser, crosser)
        self.wait = np.append(self.wait, -1.0)
        self.blocked = np.append(self.blocked, 0.0)
        self.pending = np.append(self.pending, -1)
        self.came = np.append(self.came, edge)
        self.vel = np.vstack([self.vel, np.zeros((1, 3))])
        self.prev_vel = np.vstack([self.prev_vel, np.zeros((1, 3))])
        self.pose = np.vstack([self.pose, np.zeros((1, 4))])
        self.prev_heading = np.append(self.prev_heading, 0.0)
        self._poses(np.array([len(self.ids) - 1]))
        self.prev_heading[-1] = self.pose[-1, 3]

    def remove(self, wid: int) -> bool:
        if wid not in self.ids:
            return False
        i = self.ids.index(wid)
        for name in ("edge", "s", "dir", "speed", "offset", "crosser", "wait", "pending", "came",
                     "prev_heading", "blocked"):
            setattr(self, name, np.delete(getattr(self, name), i))
        for name in ("vel", "prev_vel", "pose"):
            setattr(self, name, np.delete(getattr(self, name), i, axis=0))
        del self.ids[i], self.bps[i], self.rngs[i]
        return True

    def on_road(self) -> np.ndarray:
        """Indices of pedestrians walking on a crosswalk or across a road."""
        kinds = np.fromiter((self.net.edges[e].kind for e in self.edge), dtype=np.int64, count=len(self.edge))
        return np.nonzero(((kinds == CROSSWALK) | (kinds == JAYWALK)) & (self.wait < 0))[0]

    def obstacles(self, clear: float, ahead: float = 30.0) -> list[tuple[int, float, float, int]]:
        """(lane, d, half length, id): the points where crossing pedestrians will cross,
        or are crossing, driving lanes within `ahead` metres; a point stays until the
        pedestrian is `clear` metres past the lane's centre line."""
        out = []
        for i in self.on_road():
            e = self.net.edges[self.edge[i]]
            r, s, wid = self.bps[i].extent[1], float(self.s[i]), self.ids[i]
            for lane, d, sa, sin in e.crossings:
                sc = sa if self.dir[i] > 0 else e.length - sa
                sn = max(sin, 0.3)
                if sc + (clear + r) / sn >= s and sc - s <= ahead:
                    out.append((lane, d, r / sn + 0.05, wid))
        return out

    # ------------------------------------------------------------------ step
    def step(self, dt: float, vehicles: np.ndarray) -> None:
        """Advance by dt. `vehicles` is (k, 7): x, y, vx, vy, half length, half width,
        yaw (rad) of every vehicle."""
        n = len(self.ids)
        if n == 0:
            return
        self.prev_vel = self.vel.copy()
        self.prev_heading = self.pose[:, 3].copy()
        walking = self.wait < 0
        held = np.zeros(n, dtype=bool)
        for i in self.on_road():
            held[i] = _path_blocked(self.pose[i], self.bps[i].extent[1] + 0.05, vehicles)
        self.blocked = np.where(held, self.blocked + dt, 0.0)
        for i in np.nonzero(self.blocked > BLOCKED_TIMEOUT)[0]:
            self.dir[i], self.blocked[i] = -self.dir[i], 0.0   # turn round, back to the kerb
            self.s[i] = self.net.edges[self.edge[i]].length - self.s[i]
        walking &= ~held
        self.s = np.where(walking, self.s + self.speed * dt, self.s)
        lengths = np.fromiter((self.net.edges[e].length for e in self.edge), dtype=float, count=n)
        for i in np.nonzero(walking & (self.s >= lengths))[0]:
            self._arrive(int(i), float(self.s[i] - lengths[i]))
        for i in np.nonzero(self.wait >= 0)[0]:
            self._kerb(int(i), dt, vehicles)
        self._poses(np.arange(n), dt)

    def _node(self, i: int) -> int:
        e = self.net.edges[self.edge[i]]
        return e.b if self.dir[i] > 0 else e.a

    def _arrive(self, i: int, rest: float) -> None:
        node = self._node(i)
        came = int(self.edge[i])
        options = [k for k in self.net.adj[node] if k != came and self._may_use(i, k)]
        nxt = options[int(self.rngs[i].integers(len(options)))] if options else came
        e = self.net.edges[nxt]
        if e.kind in (CROSSWALK, JAYWALK):
            self.pending[i], self.wait[i], self.came[i] = nxt, 0.0, came
            self.s[i] = self.net.edges[came].length
            return
        self._start(i, nxt, node, rest)

    def _may_use(self, i: int, k: int) -> bool:
        return self.net.edges[k].kind != JAYWALK or bool(self.crosser[i])

    def _start(self, i: int, k: int, node: int, rest: float) -> None:
        e = self.net.edges[k]
        self.came[i] = self.edge[i]
        self.edge[i], self.dir[i] = k, (1 if e.a == node else -1)
        self.s[i] = min(rest, e.length)
        self.wait[i], self.pending[i] = -1.0, -1

    def _kerb(self, i: int, dt: float, vehicles: np.ndarray) -> None:
        k = int(self.pending[i])
        e = self.net.edges[k]
        node = self._node(i)
        lights = self.rules.crosswalks[e.crosswalk].lights if e.crosswalk >= 0 else []
        light_ok = all(self.lights.state(lid) == LightState.Red for lid in lights)
        a, b = (e.pts[0], e.pts[-1]) if e.a == node else (e.pts[-1], e.pts[0])
        if light_ok and not _vehicle_near(vehicles, a, b):
            self._start(i, k, node, 0.0)
            return
        self.wait[i] += dt
        if self.wait[i] > (LIGHT_PATIENCE if lights else CHECK_TIMEOUT):
            self._start(i, int(self.came[i]), node, 0.0)   # give up: walk back the way it came

    # ------------------------------------------------------------------ poses
    def _poses(self, rows: np.ndarray, dt: float = 0.0) -> None:
        """Poses from the walk positions; velocities from the motion over dt (from the
        walking direction when dt is 0)."""
        for i in rows:
            e = self.net.edges[self.edge[i]]
            length = e.length
            s = float(self.s[i]) if self.dir[i] > 0 else length - float(self.s[i])
            s = min(max(s, 0.0), length)
            j = min(int(np.searchsorted(e.cum, s, side="right")) - 1, len(e.cum) - 2)
            j = max(j, 0)
            span = e.cum[j + 1] - e.cum[j]
            t = (s - e.cum[j]) / span if span > 1e-9 else 0.0
            p = e.pts[j] + t * (e.pts[j + 1] - e.pts[j])
            dx, dy = (e.pts[j + 1] - e.pts[j])[:2] * self.dir[i]
            h = math.atan2(dy, dx)
            ramp = min(1.0, s / _RAMP, (length - s) / _RAMP) if length > 0 else 0.0
            off = min(float(self.offset[i]), e.max_offset) * max(ramp, 0.0)
            c, sn = math.cos(h), math.sin(h)
            new = (p[0] - off * sn, p[1] + off * c, p[2], h)
            if dt > 0.0:
                self.vel[i] = ((new[0] - self.pose[i, 0]) / dt, (new[1] - self.pose[i, 1]) / dt,
                               (new[2] - self.pose[i, 2]) / dt)
            else:
                self.vel[i] = (float(self.speed[i]) * c, float(self.speed[i]) * sn, 0.0)
            self.pose[i] = new


def _path_blocked(pose: np.ndarray, radius: float, veh: np.ndarray, step: float = 0.5) -> bool:
    """Whether the point `step` m ahead of a pedestrian is within `radius` of a vehicle box."""
    if len(veh) == 0:
        return False
    px, py = pose[0] + step * math.cos(pose[3]), pose[1] + step * math.sin(pose[3])
    c, s = np.cos(veh[:, 6]), np.sin(veh[:, 6])
    dx, dy = px - veh[:, 0], py - veh[:, 1]
    lx, ly = dx * c + dy * s, -dx * s + dy * c
    return bool(np.any((np.abs(lx) <= veh[:, 4] + radius) & (np.abs(ly) <= veh[:, 5] + radius)))


def _vehicle_near(veh: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """CARLA's stop-and-check: a vehicle on or beside the crossing, or one moving towards
    it that would get there within a few seconds."""
    if len(veh) == 0:
        return False
    ab = b[:2] - a[:2]
    rel = veh[:, :2] - a[:2]
    t = np.clip((rel @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    to = a[:2] + t[:, None] * ab - veh[:, :2]
    dist = np.linalg.norm(to, axis=1)
    clear = dist - veh[:, 4]
    speed = np.linalg.norm(veh[:, 2:4], axis=1)
    towards = (veh[:, 2:4] * to).sum(1) > 0.0
    return bool(np.any(clear < 2.0) or np.any(towards & (speed > 0.5) & (clear < 2.0 + 4.0 * speed)))
