"""Road network of a generated town: roads with lanes and marks, junctions whose
connecting roads carry every allowed movement, traffic lights and stop signs.

Every street between two junctions is one road; its right lanes (-1..-n) drive from
its start junction to its end junction, its left lanes (1..n) back. Each connecting
road carries one movement lane (-1), its reference line on that lane's inner border,
so lane centres meet their incoming and outgoing lanes exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lead.world.towngen.geometry import (
    Geom, Piece, Pose, fillet_pieces, hermite_poly3, place, turn_pieces, wrap)
from lead.world.towngen.layout import Layout, LayoutError

SIDEWALK_WIDTH = 3.0
SPEED_KMH = {1: 40, 2: 50, 3: 60}
STUB = 8.0              # straight road next to a junction (stop line, signals, route keypoints)
STRAIGHT_MAX_TURN = math.radians(35.0)
U_TURN = math.radians(150.0)
MIN_ROAD_LENGTH = 30.0
TRAFFIC_LIGHT, STOP_SIGN = "1000001", "206"  # OpenDRIVE signal types as CARLA's towns use them


@dataclass
class Lane:
    id: int
    type: str                # driving | sidewalk
    width: float             # width = width + width_b * ds
    width_b: float = 0.0
    mark: str = "none"       # roadMark type of the lane's outer border
    mark_color: str = "white"
    lane_change: str = "none"
    pred: int | None = None
    succ: int | None = None


@dataclass
class Link:
    element_type: str        # road | junction
    element_id: int
    contact: str | None = None


@dataclass
class Signal:
    id: int
    kind: str                # TRAFFIC_LIGHT | STOP_SIGN
    s: float
    t: float
    orientation: str
    from_lane: int
    to_lane: int


@dataclass
class SignalRef:
    id: int
    from_lane: int
    to_lane: int


@dataclass
class Road:
    id: int
    geoms: list[Geom]
    lanes: list[Lane]
    speed_kmh: int
    junction: int = -1
    center_mark: str = "none"
    pred: Link | None = None
    succ: Link | None = None
    signals: list[Signal] = field(default_factory=list)
    signal_refs: list[SignalRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s0 = list(np.cumsum([0.0] + [g.length for g in self.geoms[:-1]]))
        self.length = float(sum(g.length for g in self.geoms))

    def pose(self, s: float) -> Pose:
        i = max(0, int(np.searchsorted(self.s0, s, side="right")) - 1)
        g = self.geoms[i]
        return g.pose(min(max(s - self.s0[i], 0.0), g.length))

    def lane(self, lane_id: int) -> Lane:
        for ln in self.lanes:
            if ln.id == lane_id:
                return ln
        raise KeyError(f"road {self.id} has no lane {lane_id}")

    def lane_t(self, lane_id: int, s: float) -> float:
        """Lateral offset of a lane's centre line (left positive)."""
        sign = 1 if lane_id > 0 else -1
        t = 0.0
        for k in range(1, abs(lane_id) + 1):
            ln = self.lane(sign * k)
            w = ln.width + ln.width_b * s
            t += w if k < abs(lane_id) else w / 2
        return sign * t

    def lane_point(self, lane_id: int, s: float) -> tuple[float, float, float]:
        """(x, y, travel heading) of a lane centre in the OpenDRIVE frame."""
        x, y, h = self.pose(s)
        t = self.lane_t(lane_id, s)
        return x - t * math.sin(h), y + t * math.cos(h), h if lane_id < 0 else wrap(h + math.pi)

    def driving_lanes(self, sign: int) -> list[int]:
        return [ln.id for ln in self.lanes if ln.type == "driving" and ln.id * sign > 0]


@dataclass
class Arm:
    """One road end at a junction."""
    road: Road
    end: str                 # start | end: which end of the road touches the junction
    lanes: int
    lane_width: float

    def _base(self) -> Pose:
        return self.road.pose(0.0 if self.end == "start" else self.road.length)

    @property
    def heading_in(self) -> float:
        h = self._base()[2]
        return h if self.end == "end" else wrap(h + math.pi)

    def in_lane(self, k: int) -> int:
        return -k if self.end == "end" else k

    def out_lane(self, k: int) -> int:
        return -k if self.end == "start" else k

    def _border(self, t: float, heading: float) -> Pose:
        x, y, h = self._base()
        return x - t * math.sin(h), y + t * math.cos(h), heading

    def in_pose(self, k: int) -> Pose:
        """Inner border of incoming lane k (1 = next to the centre line), heading of travel."""
        t = (k - 1) * self.lane_width * (-1 if self.end == "end" else 1)
        return self._border(t, self.heading_in)

    def out_pose(self, k: int) -> Pose:
        t = (k - 1) * self.lane_width * (-1 if self.end == "start" else 1)
        return self._border(t, wrap(self.heading_in + math.pi))


@dataclass
class Movement:
    junction: int
    kind: str                # straight | left | right
    in_road: int
    in_lane: int
    conn_road: int
    out_road: int
    out_lane: int


@dataclass
class Junction:
    id: int
    control: str             # signal | stop
    connections: list[tuple[int, int, int, list[tuple[int, int]]]] = field(default_factory=list)
    controllers: list[tuple[int, int]] = field(default_factory=list)  # (controller id, sequence)


@dataclass
class Town:
    name: str
    roads: dict[int, Road]
    junctions: list[Junction]
    controllers: list[tuple[int, int, list[int]]]  # (id, sequence, signal ids)
    movements: list[Movement]


class _Ids:
    def __init__(self) -> None:
        self.next = 0

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def _street_lanes(n: int, w: float) -> tuple[list[Lane], str]:
    lanes: list[Lane] = []
    for sign in (1, -1):
        for k in range(1, n + 1):
            inner = k < n
            lanes.append(Lane(sign * k, "driving", w, mark="broken" if inner else "solid",
                              lane_change="both" if inner else "none"))
        lanes.append(Lane(sign * (n + 1), "sidewalk", SIDEWALK_WIDTH))
    return lanes, "solid" if n == 1 else "solid solid"


def _choose_fillet(turn: float, t_max: float) -> tuple[list[Piece], float]:
    """A corner for `turn` rad whose tangent length fits in t_max: clothoid-arc-clothoid
    for sharp corners, a plain arc for gentle bends."""
    half = math.tan(abs(turn) / 2)
    if abs(turn) >= math.radians(45.0):
        radius = min(60.0, 0.85 * t_max / half)
        while radius >= 10.0:
            pieces, t = fillet_pieces(turn, radius, 0.35 * radius * abs(turn))
            if t <= t_max:
                return pieces, t
            radius *= 0.9
    else:
        radius = min(150.0, t_max / half)
        if radius >= 10.0:
            return fillet_pieces(turn, radius, 0.0)
    raise LayoutError(f"no room for a {math.degrees(turn):.0f} deg corner in {t_max:.1f} m")


def _road_geoms(points: list[tuple[float, float]]) -> list[Geom]:
    """Lines joined by fillets through a polyline's inner vertices."""
    pts = [points[0]]
    for i in range(1, len(points) - 1):  # drop vertices that barely bend
        a, b, c = pts[-1], points[i], points[i + 1]
        turn = wrap(math.atan2(c[1] - b[1], c[0] - b[0]) - math.atan2(b[1] - a[1], b[0] - a[0]))
        if abs(turn) >= math.radians(2.0):
            pts.append(b)
    pts.append(points[-1])
    seg = [math.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1)]
    heads = [math.atan2(pts[i + 1][1] - pts[i][1], pts[i + 1][0] - pts[i][0]) for i in range(len(pts) - 1)]
    fillets: list[tuple[list[Piece], float]] = []
    for i in range(1, len(pts) - 1):
        left = seg[i - 1] - STUB if i == 1 else seg[i - 1] / 2
        right = seg[i] - STUB if i == len(pts) - 2 else seg[i] / 2
        fillets.append(_choose_fillet(wrap(heads[i] - heads[i - 1]), min(left, right)))
    pieces: list[Piece] = []
    for i in range(len(seg)):
        line = seg[i] - (fillets[i - 1][1] if i > 0 else 0.0) - (fillets[i][1] if i < len(fillets) else 0.0)
        if line < -1e-9:
            raise LayoutError("corners overlap")
        if line > 1e-6:
            pieces.append(("line", line, 0.0, 0.0, ()))
        if i < len(fillets):
            pieces += fillets[i][0]
    geoms = place((pts[0][0], pts[0][1], heads[0]), pieces)
    end = geoms[-1].end()
    assert math.dist(end[:2], pts[-1]) < 1e-6, "road geometry misses its end point"
    return geoms


def _chains(layout: Layout) -> list[tuple[int, int, list[tuple[float, float]], int, float]]:
    """Streets joined through nodes of degree 2: (start node, end node, polyline, lanes, width)."""
    deg = layout.degree()
    adj: list[list[int]] = [[] for _ in layout.nodes]
    for k, s in enumerate(layout.streets):
        adj[s.a].append(k)
        adj[s.b].append(k)
    used: set[int] = set()
    out = []
    for n in range(len(layout.nodes)):
        if deg[n] < 3:
            continue
        for k in adj[n]:
            if k in used:
                continue
            first = layout.streets[k]
            pts = [layout.nodes[n]]
            node, street = n, k
            while True:
                used.add(street)
                s = layout.streets[street]
                line = [layout.nodes[s.a]] + s.via + [layout.nodes[s.b]]
                if s.a != node:
                    line.reverse()
                pts += line[1:]
                node = s.b if s.a == node else s.a
                if deg[node] != 2:
                    break
                street = next(j for j in adj[node] if j != street)
                if street in used:
                    raise LayoutError("loop without a junction")
            if node == n:
                raise LayoutError("street returns to its own junction")
            out.append((n, node, pts, first.lanes, first.lane_width))
    if len(used) != len(layout.streets):
        raise LayoutError("streets not reachable from any junction")
    return out


def _junction_radius(arms: list[tuple[float, float]]) -> float:
    """Distance from a junction's centre to where its roads start, so that neighbouring
    roads (direction, half width incl. sidewalk) clear each other."""
    arms = sorted(arms)
    r = 10.0
    for i, (a1, hw1) in enumerate(arms):
        a2, hw2 = arms[(i + 1) % len(arms)]
        gap = (a2 - a1) % (2 * math.pi)
        if gap < math.radians(160.0):
            r = max(r, (hw2 + hw1 * math.cos(gap)) / math.sin(gap), (hw1 + hw2 * math.cos(gap)) / math.sin(gap))
    return r + 2.0


def _connecting_pieces(start: Pose, end: Pose, kind: str) -> list[Piece]:
    if kind == "straight":
        c, s = math.cos(start[2]), math.sin(start[2])
        dx, dy = end[0] - start[0], end[1] - start[1]
        if abs(wrap(end[2] - start[2])) < 1e-9 and abs(-s * dx + c * dy) < 1e-7:
            return [("line", c * dx + s * dy, 0.0, 0.0, ())]
        pieces = turn_pieces(start, end, 15.0)
    else:
        pieces = turn_pieces(start, end, 3.0)
    return pieces or [hermite_poly3(start, end)]


def build_town(name: str, layout: Layout, rng: np.random.Generator) -> Town:
    ids = _Ids()
    chains = _chains(layout)
    arm_dirs: dict[int, list[tuple[float, float]]] = {}
    for a, b, pts, n, w in chains:
        hw = n * w + SIDEWALK_WIDTH
        arm_dirs.setdefault(a, []).append((math.atan2(pts[1][1] - pts[0][1], pts[1][0] - pts[0][0]), hw))
        arm_dirs.setdefault(b, []).append((math.atan2(pts[-2][1] - pts[-1][1], pts[-2][0] - pts[-1][0]), hw))
    radius = {node: _junction_radius(d) for node, d in arm_dirs.items()}

    roads: dict[int, Road] = {}
    arms: dict[int, list[tuple[float, Arm]]] = {}
    for a, b, pts, n, w in chains:
        ua = _unit(pts[0], pts[1])
        ub = _unit(pts[-1], pts[-2])
        trimmed = ([(pts[0][0] + radius[a] * ua[0], pts[0][1] + radius[a] * ua[1])] + pts[1:-1]
                   + [(pts[-1][0] + radius[b] * ub[0], pts[-1][1] + radius[b] * ub[1])])
        lanes, center = _street_lanes(n, w)
        road = Road(ids(), _road_geoms(trimmed), lanes, SPEED_KMH[n], center_mark=center)
        if road.length < MIN_ROAD_LENGTH:
            raise LayoutError(f"road {road.id} only {road.length:.1f} m long")
        roads[road.id] = road
        arms.setdefault(a, []).append((math.atan2(ua[1], ua[0]), Arm(road, "start", n, w)))
        arms.setdefault(b, []).append((math.atan2(ub[1], ub[0]), Arm(road, "end", n, w)))

    junctions: list[Junction] = []
    movements: list[Movement] = []
    controllers: list[tuple[int, int, list[int]]] = []
    controls = _choose_controls({node: len(a) for node, a in arms.items()}, rng)
    for node in sorted(arms):
        node_arms = [arm for _, arm in sorted(arms[node], key=lambda x: x[0])]
        j = Junction(ids(), controls[node])
        junctions.append(j)
        for arm in node_arms:
            link = Link("junction", j.id)
            if arm.end == "start":
                arm.road.pred = link
            else:
                arm.road.succ = link
        signal_of = _place_signals(j, node_arms, ids, controllers)
        for ai, aj, kind, k_in, k_out in _junction_plan(node_arms):
            road = _connecting_road(ids(), j.id, ai, aj, k_in, k_out, kind)
            roads[road.id] = road
            links = [(ai.in_lane(k_in), -1)]
            if len(road.lanes) == 2:
                links.append((ai.in_lane(ai.lanes + 1), -2))
            j.connections.append((len(j.connections), ai.road.id, road.id, links))
            if id(ai) in signal_of:
                road.signal_refs.append(SignalRef(signal_of[id(ai)], -1, -1))
            movements.append(Movement(j.id, kind, ai.road.id, ai.in_lane(k_in), road.id,
                                      aj.road.id, aj.out_lane(k_out)))
    return Town(name, roads, junctions, controllers, movements)


def _junction_plan(node_arms: list[Arm]) -> list[tuple[Arm, Arm, str, int, int]]:
    """Every movement of a junction as (from arm, to arm, kind, incoming lane, outgoing
    lane): all arm pairs except U-turns, every incoming lane leading somewhere and every
    outgoing lane reached (a lane the rules leave out is fed from the movement that
    arrives next to it)."""
    plan = []
    for ai in node_arms:
        exits = []
        for aj in node_arms:
            turn = wrap(aj.heading_in + math.pi - ai.heading_in)
            if aj is not ai and abs(turn) <= U_TURN:
                exits.append((aj, "straight" if abs(turn) <= STRAIGHT_MAX_TURN else ("left" if turn > 0 else "right")))
        kinds = {kind for _, kind in exits}
        for aj, kind in exits:
            plan += [(ai, aj, kind, k_in, k_out) for k_in, k_out in _lane_pairs(kind, ai.lanes, aj.lanes, kinds)]
    for aj in node_arms:
        into = [p for p in plan if p[1] is aj]
        for k in range(1, aj.lanes + 1):
            if into and all(p[4] != k for p in into):
                ai, _, kind, k_in, _ = min(into, key=lambda p: (abs(p[4] - k), p[2] != "straight"))
                plan.append((ai, aj, kind, k_in, k))
    order = {id(a): i for i, a in enumerate(node_arms)}
    return sorted(plan, key=lambda p: (order[id(p[0])], order[id(p[1])], p[3], p[4]))


def _lane_pairs(kind: str, n_in: int, n_out: int, arm_kinds: set[str]) -> list[tuple[int, int]]:
    """(incoming lane, outgoing lane) numbers (1 = next to the centre line) of a movement.

    Straight: lane k to k, the outer lane fanning out to extra lanes or extra lanes
    merging into the outer one. Turns: from the inner lane (left) or the outer lane
    (right) when the approach also goes straight; otherwise its lanes are shared
    between the turns so that every lane leads somewhere.
    """
    if kind == "straight":
        return [(k, min(k, n_out)) for k in range(1, n_in + 1)] + [(n_in, k) for k in range(n_in + 1, n_out + 1)]
    if "straight" in arm_kinds:
        lanes = [1] if kind == "left" else [n_in]
    elif kind == "left":
        lanes = list(range(1, (n_in + 1) // 2 + 1 if "right" in arm_kinds else n_in + 1))
    else:
        lanes = list(range(min(n_in, (n_in + 1) // 2 + 1) if "left" in arm_kinds else 1, n_in + 1))
    if kind == "left":
        return [(k, min(k, n_out)) for k in lanes]
    return [(k, max(1, n_out - (n_in - k))) for k in lanes]


def _unit(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
    d = math.dist(p, q)
    return (q[0] - p[0]) / d, (q[1] - p[1]) / d


def _choose_controls(arm_count: dict[int, int], rng: np.random.Generator) -> dict[int, str]:
    """Traffic lights or stop signs per junction; with two or more junctions of a size
    (3- or 4-way), both kinds occur among them."""
    controls = {node: ("signal" if rng.random() < 0.5 else "stop") for node in sorted(arm_count)}
    for size in (3, 4):
        nodes = [n for n in sorted(arm_count) if arm_count[n] == size]
        if len(nodes) >= 2:
            kinds = {controls[n] for n in nodes}
            if kinds == {"signal"}:
                controls[nodes[int(rng.integers(len(nodes)))]] = "stop"
            elif kinds == {"stop"}:
                controls[nodes[int(rng.integers(len(nodes)))]] = "signal"
    return controls


def _place_signals(j: Junction, node_arms: list[Arm], ids: _Ids,
                   controllers: list[tuple[int, int, list[int]]]) -> dict[int, int]:
    """Traffic lights on every approach (one controller each, cycled in sequence, as in
    CARLA's towns) or stop signs on the minor approaches. Returns arm -> signal id."""
    if j.control == "signal":
        controlled = node_arms
    else:
        controlled = _minor_arms(node_arms)
    out: dict[int, int] = {}
    for seq, arm in enumerate(controlled):
        road = arm.road
        edge = arm.lanes * arm.lane_width + SIDEWALK_WIDTH / 2
        sid = ids()
        if arm.end == "end":
            sig = Signal(sid, TRAFFIC_LIGHT if j.control == "signal" else STOP_SIGN,
                         road.length - 0.5, -edge, "+", -arm.lanes, -1)
        else:
            sig = Signal(sid, TRAFFIC_LIGHT if j.control == "signal" else STOP_SIGN, 0.5, edge, "-", 1, arm.lanes)
        road.signals.append(sig)
        out[id(arm)] = sid
        if j.control == "signal":
            cid = ids()
            controllers.append((cid, seq, [sid]))
            j.controllers.append((cid, seq))
    return out


def _minor_arms(node_arms: list[Arm]) -> list[Arm]:
    """Approaches that get a stop sign: all but the straightest pair of opposite arms
    (two-way stop); every approach when no pair is straight (all-way stop)."""
    best, pair = STRAIGHT_MAX_TURN, None
    for i, ai in enumerate(node_arms):
        for aj in node_arms[i + 1:]:
            dev = abs(wrap(aj.heading_in + math.pi - ai.heading_in))
            if dev <= best:
                best, pair = dev, (ai, aj)
    if pair is None:
        return node_arms
    return [a for a in node_arms if a is not pair[0] and a is not pair[1]]


def _connecting_road(rid: int, jid: int, ai: Arm, aj: Arm, k_in: int, k_out: int, kind: str) -> Road:
    start, end = ai.in_pose(k_in), aj.out_pose(k_out)
    pieces = _connecting_pieces(start, end, kind)
    geoms = place(start, pieces)
    assert math.dist(geoms[-1].end()[:2], end[:2]) < 1e-6, "connecting road misses its lane"
    length = sum(g.length for g in geoms)
    w_in, w_out = ai.lane_width, aj.lane_width
    lanes = [Lane(-1, "driving", w_in, (w_out - w_in) / length, pred=ai.in_lane(k_in), succ=aj.out_lane(k_out))]
    # the corner sidewalk follows a right turn from the outer lane when the curve leaves room for it
    arcs = [p for p in pieces if p[0] == "arc"]
    if (kind == "right" and k_in == ai.lanes and k_out == aj.lanes and len(arcs) == 1
            and 1.0 / abs(arcs[0][2]) - max(w_in, w_out) - SIDEWALK_WIDTH >= 1.0):
        lanes.append(Lane(-2, "sidewalk", SIDEWALK_WIDTH, pred=ai.in_lane(ai.lanes + 1),
                          succ=aj.out_lane(aj.lanes + 1)))
    return Road(rid, geoms, lanes, min(SPEED_KMH[ai.lanes], SPEED_KMH[aj.lanes]), junction=jid,
                pred=Link("road", ai.road.id, ai.end), succ=Link("road", aj.road.id, aj.end))
