"""Road surfaces, lane marks, sidewalks with kerbs, crosswalks and stop lines from a map's
lane geometry."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lead.sim.embedded.sensors import Mesh, SemanticClass, ribbon, simplify
from lead.world.lane_types import LaneMarkingColor, LaneMarkingType, LaneType
from lead.world.map import LaneGeometry, MarkSpan

from . import params as P

# lane types paved as road (everything a vehicle may be on, shoulders and parking included)
ROAD_TYPES = (LaneType.Driving | LaneType.Bidirectional | LaneType.Parking | LaneType.Shoulder | LaneType.Biking
              | LaneType.Restricted | LaneType.Stop | LaneType.Entry | LaneType.Exit | LaneType.OnRamp
              | LaneType.OffRamp | LaneType.RoadWorks | LaneType.Border)
WALK_TYPES = LaneType.Sidewalk
MEDIAN_TYPES = LaneType.Median
MARKED_TYPES = LaneType.Driving | LaneType.Bidirectional   # lanes whose border marks are painted

_PAINT = {LaneMarkingColor.Yellow: P.YELLOW_PAINT, LaneMarkingColor.Blue: (60, 90, 200),
          LaneMarkingColor.Green: (60, 160, 80), LaneMarkingColor.Red: (190, 50, 40)}
# (first, second) line kind of a mark type; first lies on the road's left (+t) side
_LINES = {
    LaneMarkingType.Solid: ("solid",), LaneMarkingType.Broken: ("broken",),
    LaneMarkingType.SolidSolid: ("solid", "solid"), LaneMarkingType.SolidBroken: ("solid", "broken"),
    LaneMarkingType.BrokenSolid: ("broken", "solid"), LaneMarkingType.BrokenBroken: ("broken", "broken"),
    LaneMarkingType.BottsDots: ("dots",),
}
_MIN_WIDTH = 0.05  # lanes narrower than this everywhere draw nothing


@dataclass
class Surfaces:
    road: list[Mesh] = field(default_factory=list)
    marks: list[Mesh] = field(default_factory=list)
    walks: list[Mesh] = field(default_factory=list)
    road_polys: list[np.ndarray] = field(default_factory=list)     # lane outlines for the ground raster
    road_in_junction: list[bool] = field(default_factory=list)      # per road_polys entry
    walk_polys: list[np.ndarray] = field(default_factory=list)
    sidewalks: list[LaneGeometry] = field(default_factory=list)    # map or synthesised, for props


def lane_outline(g: LaneGeometry) -> np.ndarray:
    return np.concatenate([g.left[:, :2], g.right[::-1, :2]])


def right_normals(points: np.ndarray) -> np.ndarray:
    """Unit normals (N, 3) to the right of a polyline's direction, in the xy plane."""
    d = np.gradient(points[:, :2], axis=0) if len(points) > 1 else np.array([[1.0, 0.0]])
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    return np.column_stack([-d[:, 1], d[:, 0], np.zeros(len(d))])


def section_masks(lanes: list[LaneGeometry], tol: float) -> dict[tuple[int, int], np.ndarray]:
    """Per lane section, which stations (ascending s) to keep so that every boundary of the
    section stays within `tol` of its samples. One mask for all lanes of a section: lanes
    simplified apart would cut their shared boundary at different points and leave
    hairline cracks on curves."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for g in lanes:
        if len(g.s) < 2:
            continue
        k = simplify(g.left, tol) | simplify(g.right, tol)
        if g.lane_id > 0:   # stored against s
            k = k[::-1]
        key = (g.road_id, g.section_id)
        prev = out.get(key)
        out[key] = k if prev is None or len(prev) != len(k) else prev | k
    return out


def _kept(g: LaneGeometry, masks: dict) -> tuple[np.ndarray, np.ndarray]:
    k = masks.get((g.road_id, g.section_id))
    if k is None or len(k) != len(g.s):
        return g.left, g.right
    if g.lane_id > 0:
        k = k[::-1]
    return g.left[k], g.right[k]


def build_surfaces(lanes: list[LaneGeometry], detail: P.Detail) -> Surfaces:
    out = Surfaces()
    tol = detail.tolerance
    by_section: dict[tuple[int, int], dict[int, LaneGeometry]] = {}
    for g in lanes:
        by_section.setdefault((g.road_id, g.section_id), {})[g.lane_id] = g
    masks = section_masks(lanes, tol)
    for g in lanes:
        if len(g.center) < 2 or float(np.max(g.width)) < _MIN_WIDTH:
            continue
        left, right = _kept(g, masks)
        if g.lane_type & ROAD_TYPES:
            color = P.ASPHALT_JUNCTION if g.is_junction else (
                P.SHOULDER if g.lane_type & (LaneType.Shoulder | LaneType.Parking) else P.ASPHALT)
            out.road.append(ribbon(left, right, color, SemanticClass.ROADS, 0.0))
            out.road_polys.append(lane_outline(g))
            out.road_in_junction.append(bool(g.is_junction))
        elif g.lane_type & (WALK_TYPES | MEDIAN_TYPES):
            walk = bool(g.lane_type & WALK_TYPES)
            out.walks.append(raised_strip(left, right, P.SIDEWALK_TOP if walk else P.MEDIAN_TOP,
                                          SemanticClass.SIDEWALKS if walk else SemanticClass.TERRAIN, 0.0))
            out.walk_polys.append(lane_outline(g))
            if walk:
                out.sidewalks.append(g)
    for g in lanes:
        if g.is_junction or len(g.center) < 2:
            continue
        if g.lane_type & MARKED_TYPES:
            out.marks += [m for span in g.right_marks for m in [mark_mesh(g, g.right, span, tol)] if m is not None]
        # the centre line (lane 0's marks) once per section: from lane -1, else lane 1
        sec = by_section[(g.road_id, g.section_id)]
        centre_owner = -1 if -1 in sec else 1
        if g.lane_id == centre_owner and g.lane_type & MARKED_TYPES:
            out.marks += [m for span in g.left_marks for m in [mark_mesh(g, g.left, span, tol)] if m is not None]
    return out


def raised_strip(left: np.ndarray, right: np.ndarray, top_color, top_cls: int, tol: float,
                 height: float = P.KERB_HEIGHT) -> Mesh:
    """A sidewalk-like strip: its top `height` above the boundaries, kerb faces down both
    sides and across both ends (class SideWalks)."""
    up = np.array([0.0, 0.0, height])
    if tol > 0:  # one set of points for the top and both faces: no cracks between them
        k = simplify(left, tol) | simplify(right, tol)
        left, right, tol = left[k], right[k], 0.0
    parts = [ribbon(left + up, right + up, top_color, top_cls, tol),
             ribbon(left, left + up, P.KERB, SemanticClass.SIDEWALKS, tol),
             ribbon(right, right + up, P.KERB, SemanticClass.SIDEWALKS, tol)]
    for i in (0, -1):
        end = np.array([left[i], right[i]])
        parts.append(ribbon(end, end + up, P.KERB, SemanticClass.SIDEWALKS, 0.0))
    return Mesh.concat(parts)


def kerbside_strips(lanes: list[LaneGeometry], paved, on_road, width: float, tol: float,
                    min_run: float = 2.0) -> tuple[list[Mesh], list[LaneGeometry]]:
    """Sidewalk strips along every road edge that borders nothing paved (maps without
    sidewalk lanes, a T-junction's far side, a bay between junction lanes): raised strips
    from the lane's outer boundary outwards, `width` wide or up to the next road, ends
    run a little into the sidewalks they meet. `paved(xy)` / `on_road(xy)` say which
    points (N, 2) lie on road or sidewalk / on road."""
    meshes, strips = [], []
    probes = np.arange(0.5, width + 0.51, 0.5)
    for g in lanes:
        if not g.lane_type & ROAD_TYPES or len(g.right) < 2 or float(np.max(g.width)) < _MIN_WIDTH:
            continue
        out = g.right[:, :2] - g.center[:, :2]
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        if np.any(norm < 1e-3):
            out = right_normals(g.right)[:, :2]
        else:
            out = out / norm
        # free distance outwards at each boundary point, in 0.5 m probes
        q = g.right[:, None, :2] + out[:, None, :] * probes[None, :, None]
        hit = on_road(q.reshape(-1, 2)).reshape(len(g.right), len(probes))
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), len(probes))
        free = probes[np.maximum(first - 1, 0)] * (first > 0) - 0.25
        free = np.minimum(free, width)
        exposed = (free >= 1.0) & ~paved(q[:, 0])
        if not exposed.any():
            continue
        # runs of exposed points, each grown by a point so strips close up to what they meet
        e = np.concatenate([[False], exposed, [False]])
        starts, ends = np.flatnonzero(np.diff(e.astype(int)) == 1), np.flatnonzero(np.diff(e.astype(int)) == -1)
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(g.right[:, :2], axis=0), axis=1))])
        for a, b in zip(starts, ends):
            grow = int(math.ceil(1.5 / max(float(np.median(np.diff(cum))), 0.1)))
            a, b = max(a - grow, 0), min(b + grow, len(g.right))
            if b - a < 2 or cum[b - 1] - cum[a] < min_run:
                continue
            w = np.clip(free[a:b], 1.0, width)
            w = np.minimum(w, np.convolve(np.pad(w, 2, mode="edge"), np.ones(5) / 5, mode="valid"))  # no saw teeth
            left = g.right[a:b].copy()
            right = left.copy()
            right[:, :2] += out[a:b] * w[:, None]
            meshes.append(raised_strip(left, right, P.SIDEWALK_TOP, SemanticClass.SIDEWALKS, tol))
            strips.append(LaneGeometry(g.road_id, g.section_id, g.lane_id + (1 if g.lane_id > 0 else -1),
                                       LaneType.Sidewalk, g.is_junction, g.junction_id, g.s[a:b],
                                       (left + right) / 2, left, right, w))
    return meshes, strips


# --- lane marks ----------------------------------------------------------------------------

def _by_s(g: LaneGeometry, boundary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stations ascending in road s with the boundary points at them."""
    if len(g.s) > 1 and g.s[0] > g.s[-1]:
        return g.s[::-1], boundary[::-1]
    return g.s, boundary


def _sample(s: np.ndarray, pts: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(q, s, pts[:, k]) for k in range(3)], axis=-1)


def mark_mesh(g: LaneGeometry, boundary: np.ndarray, span: MarkSpan, tol: float) -> Mesh | None:
    """Paint of one mark span along a lane border: solid, broken (6 m / 6 m), double lines
    and botts dots, centred on the border, MARK_LIFT above it."""
    mk = span.marking
    kinds = _LINES.get(mk.type)
    if kinds is None:
        return None
    s, pts = _by_s(g, boundary)
    a, b = max(span.s0, float(s[0])), min(span.s1, float(s[-1]))
    if b - a < 0.2:
        return None
    width = mk.width if mk.width > 0.01 else 0.12
    color = _PAINT.get(mk.color, P.WHITE_PAINT)
    inside = (s > a) & (s < b)
    qs = np.concatenate([[a], s[inside], [b]])
    line = _sample(s, pts, qs)
    nrm = right_normals(line)            # right of +s
    out = []
    offsets = [0.0] if len(kinds) == 1 else [-(width + P.DOUBLE_GAP) / 2, (width + P.DOUBLE_GAP) / 2]
    for kind, off in zip(kinds, offsets):
        # `nrm` points right of +s: the first line (negative offset) lies on the road's left, +t
        lateral = off
        if kind == "solid":
            c = line + nrm * lateral
            out.append(_strip(c, width, color, tol))
        elif kind == "broken":
            out.append(_dashes(s, pts, a, b, width, lateral, color, P.BROKEN_ON, P.BROKEN_OFF))
        else:
            out.append(_dashes(s, pts, a, b, 0.12, lateral, color, 0.12, P.BOTTS_SPACING - 0.12))
    return Mesh.concat(out)


def _strip(center: np.ndarray, width: float, color, tol: float, lift: float = P.MARK_LIFT) -> Mesh:
    n = right_normals(center) * (width / 2)
    c = center + (0.0, 0.0, lift)
    return ribbon(c - n, c + n, color, SemanticClass.ROAD_LINES, tol)


def _dashes(s: np.ndarray, pts: np.ndarray, a: float, b: float, width: float, lateral: float, color,
            on: float, off: float) -> Mesh:
    """All dashes of a span as one mesh, vectorised: each dash is a quad strip of k points
    (two on straight borders, more where the border bends)."""
    starts = np.arange(a, b - 0.05, on + off)
    ends = np.minimum(starts + on, b)
    if not len(starts):
        return Mesh.concat([])
    h = np.unwrap(np.arctan2(np.gradient(pts[:, 1]), np.gradient(pts[:, 0])))
    bend = float(np.max(np.abs(np.diff(h)))) / max(float(np.min(np.diff(s))) if len(s) > 1 else 1.0, 1e-3)
    k = 2 if bend * on < math.radians(1.5) else int(min(8, math.ceil(on / 1.0) + 1))
    t = np.linspace(0.0, 1.0, k)
    q = starts[:, None] + (ends - starts)[:, None] * t[None]            # (n, k)
    c = _sample(s, pts, q.ravel()).reshape(len(starts), k, 3)
    ahead = _sample(s, pts, np.minimum(q + 0.05, s[-1]).ravel()).reshape(len(starts), k, 3)
    behind = _sample(s, pts, np.maximum(q - 0.05, s[0]).ravel()).reshape(len(starts), k, 3)
    d = ahead[..., :2] - behind[..., :2]
    d /= np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    r = np.concatenate([-d[..., 1:2], d[..., 0:1], np.zeros_like(d[..., :1])], axis=-1)
    c = c + r * lateral + (0.0, 0.0, P.MARK_LIFT)
    left, right = c - r * (width / 2), c + r * (width / 2)
    n = len(starts)
    verts = np.concatenate([left, right], axis=1).reshape(-1, 3)        # per dash: k left then k right
    i = np.arange(k - 1)
    quad = np.concatenate([np.stack([i, i + k, i + 1], 1), np.stack([i + 1, i + k, i + k + 1], 1)])
    tris = (quad[None] + (np.arange(n) * 2 * k)[:, None, None]).reshape(-1, 3)
    return Mesh(verts, tris, color, SemanticClass.ROAD_LINES)


# --- crosswalks and stop lines ---------------------------------------------------------------

def crosswalk_mesh(polygon: np.ndarray, z: float) -> Mesh:
    """Continental bars inside a crosswalk polygon (N, 2): bars along the traffic, spaced
    along the polygon's long axis, each clipped to the polygon's convex hull."""
    p = np.asarray(polygon, float)[:, :2]
    if len(p) > 3 and np.allclose(p[0], p[-1]):
        p = p[:-1]
    hull = _convex_hull(p)
    if len(hull) < 3:
        return Mesh.concat([])
    c = hull.mean(0)
    # long axis: direction of the hull's longest extent (minimum-area rectangle by edges)
    best = None
    for i in range(len(hull)):
        e = hull[(i + 1) % len(hull)] - hull[i]
        n = np.linalg.norm(e)
        if n < 1e-6:
            continue
        u = e / n
        v = np.array([-u[1], u[0]])
        pu, pv = (hull - c) @ u, (hull - c) @ v
        area = np.ptp(pu) * np.ptp(pv)
        if best is None or area < best[0]:
            best = (area, u, v, pu, pv)
    _, u, v, pu, pv = best
    if np.ptp(pv) > np.ptp(pu):
        u, v, pu, pv = v, u, pv, pu
    length = np.ptp(pu)
    period = P.CROSSWALK_BAR + P.CROSSWALK_GAP
    n_bars = max(1, int((length + P.CROSSWALK_GAP) // period))
    first = pu.min() + (length - (n_bars * period - P.CROSSWALK_GAP)) / 2
    bars = []
    lo, hi = pv.min() - 1.0, pv.max() + 1.0
    for k in range(n_bars):
        u0 = first + k * period
        rect = np.array([c + u * u0 + v * lo, c + u * (u0 + P.CROSSWALK_BAR) + v * lo,
                         c + u * (u0 + P.CROSSWALK_BAR) + v * hi, c + u * u0 + v * hi])
        clipped = _clip_convex(rect, hull)
        if len(clipped) >= 3:
            bars.append(clipped)
    if not bars:
        return Mesh.concat([])
    verts, tris, off = [], [], 0
    for b in bars:  # convex: a fan
        verts.append(np.column_stack([b, np.full(len(b), z + P.MARK_LIFT)]))
        tris += [(off, off + i, off + i + 1) for i in range(1, len(b) - 1)]
        off += len(b)
    return Mesh(np.concatenate(verts), np.array(tris), P.WHITE_PAINT, SemanticClass.ROAD_LINES)


def _convex_hull(p: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain, counter-clockwise."""
    pts = sorted(set(map(tuple, np.round(p, 6))))
    if len(pts) < 3:
        return np.array(pts)

    def half(seq):
        h = []
        for q in seq:
            while len(h) >= 2 and ((h[-1][0] - h[-2][0]) * (q[1] - h[-2][1])
                                   - (h[-1][1] - h[-2][1]) * (q[0] - h[-2][0])) <= 0:
                h.pop()
            h.append(q)
        return h
    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: subject polygon clipped by a counter-clockwise convex polygon."""
    out = list(subject)
    for i in range(len(clip)):
        a, b = clip[i], clip[(i + 1) % len(clip)]
        inp, out = out, []
        if not inp:
            break

        def inside(q):
            return (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) >= 0

        for j in range(len(inp)):
            cur, prev = inp[j], inp[j - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(_intersect(prev, cur, a, b))
                out.append(cur)
            elif inside(prev):
                out.append(_intersect(prev, cur, a, b))
    return np.array(out).reshape(-1, 2)


def _intersect(p, q, a, b):
    d1, d2 = q - p, b - a
    den = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(den) < 1e-12:
        return q
    t = ((a[0] - p[0]) * d2[1] - (a[1] - p[1]) * d2[0]) / den
    return p + t * d1


def stop_line_mesh(points: np.ndarray) -> Mesh:
    """A stop line along a polyline (N, 3) across the lanes."""
    return _strip(np.asarray(points, float), P.STOP_LINE_WIDTH, P.WHITE_PAINT, 0.0)
