"""Triangle meshes in CARLA's world frame and the helpers that build a street from map
geometry: boxes, extruded footprints, road ribbons, flat polygons, painted lines, poles,
signs and trees.

Every vertex carries an RGB colour, a CARLA semantic class id and a material (see
`Material`); shading is per face, so vertices can be shared freely: the cameras light each
triangle at its provoking vertex (`with_face_normals`).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence

import numpy as np

from .semantic import SemanticClass

Color = Sequence[int]  # r, g, b in 0..255


class Material(IntEnum):
    """How a vertex is coloured; lamps are lit only while the actor's light state matches."""
    VERTEX = 0       # the vertex colour, shaded
    PAINT = 1        # the actor's colour, shaded (vehicle paint, a pedestrian's shirt)
    LAMP_RED = 2
    LAMP_YELLOW = 3
    LAMP_GREEN = 4
    EMISSIVE = 5     # the vertex colour, unshaded (head and tail lights)


INHERIT_CLASS = 255  # template vertices with this class take the actor's semantic id


@dataclass
class Mesh:
    vertices: np.ndarray   # (N, 3) float32, metres
    triangles: np.ndarray  # (M, 3) uint32
    colors: np.ndarray     # (N, 3) uint8
    classes: np.ndarray    # (N,) uint8, CARLA semantic ids
    materials: np.ndarray | None = None  # (N,) uint8 Material; None = all VERTEX

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32).reshape(-1, 3)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.uint32).reshape(-1, 3)
        n = len(self.vertices)
        self.colors = np.ascontiguousarray(np.broadcast_to(np.asarray(self.colors, dtype=np.uint8), (n, 3)))
        self.classes = np.ascontiguousarray(np.broadcast_to(np.asarray(self.classes, dtype=np.uint8), (n,)))
        mats = Material.VERTEX if self.materials is None else self.materials
        self.materials = np.ascontiguousarray(np.broadcast_to(np.asarray(mats, dtype=np.uint8), (n,)))
        if len(self.triangles) and int(self.triangles.max()) >= n:
            raise ValueError(f"mesh triangle index {int(self.triangles.max())} >= {n} vertices")

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    @staticmethod
    def concat(meshes: Sequence["Mesh"]) -> "Mesh":
        meshes = [m for m in meshes if len(m.vertices)]
        if not meshes:
            return empty_mesh()
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(np.concatenate([m.vertices for m in meshes]),
                    np.concatenate([m.triangles + np.uint32(o) for m, o in zip(meshes, offsets)]),
                    np.concatenate([m.colors for m in meshes]),
                    np.concatenate([m.classes for m in meshes]),
                    np.concatenate([m.materials for m in meshes]))

    def transformed(self, matrix: np.ndarray) -> "Mesh":
        """This mesh moved by a 4x4 (or 3x4) matrix."""
        m = np.asarray(matrix, dtype=np.float64)
        v = self.vertices.astype(np.float64) @ m[:3, :3].T + m[:3, 3]
        return Mesh(v, self.triangles, self.colors, self.classes, self.materials)

    def triangle_classes(self) -> np.ndarray:
        """Class id per triangle (that of its first vertex)."""
        return self.classes[self.triangles[:, 0]]


def with_face_normals(mesh: Mesh) -> tuple[Mesh, np.ndarray]:
    """The mesh with each triangle's last vertex (OpenGL's provoking vertex, the one a `flat`
    vertex output is taken from) carrying that triangle's unit normal, and the (N, 3) float32
    normals. A triangle is rotated (winding kept) so that a vertex whose normal it shares comes
    last; where none does, that vertex is duplicated. The cameras then light a face once per
    vertex instead of per pixel (for llvmpipe, ~15 % of a frame)."""
    tri = mesh.triangles.astype(np.int64)
    if not len(tri):
        return mesh, np.zeros((len(mesh.vertices), 3), np.float32)
    v = mesh.vertices.astype(np.float64)[tri]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    length = np.linalg.norm(n, axis=1)
    n = np.where(length[:, None] > 0, n / np.maximum(length, 1e-300)[:, None], [0.0, 0.0, 1.0])
    # each vertex takes the normal of the first triangle naming it; faces are two-sided, so a
    # normal and its opposite light the same
    flat = tri.ravel()
    first = np.full(len(mesh.vertices), -1, np.int64)
    first[flat[::-1]] = np.arange(len(flat))[::-1] // 3
    normals = np.tile(np.array([0.0, 0.0, 1.0]), (len(mesh.vertices), 1))
    used = first >= 0
    normals[used] = n[first[used]]
    match = np.abs(np.einsum("tkj,tj->tk", normals[tri], n)) >= 1.0 - 1e-9
    k = np.where(match[:, 2], 2, np.where(match[:, 1], 1, np.where(match[:, 0], 0, -1)))
    # rotate (a, b, c) so that corner k is last: k = 1 -> (c, a, b), k = 0 -> (b, c, a)
    rot = np.where(k[:, None] == 1, tri[:, [2, 0, 1]], np.where(k[:, None] == 0, tri[:, [1, 2, 0]], tri))
    lone = np.flatnonzero(k < 0)
    extra = rot[lone, 2]
    rot[lone, 2] = len(mesh.vertices) + np.arange(len(lone))
    out = Mesh(np.concatenate([mesh.vertices, mesh.vertices[extra]]), rot,
               np.concatenate([mesh.colors, mesh.colors[extra]]), np.concatenate([mesh.classes, mesh.classes[extra]]),
               np.concatenate([mesh.materials, mesh.materials[extra]]))
    return out, np.concatenate([normals, n[lone]]).astype(np.float32)


def empty_mesh() -> Mesh:
    return Mesh(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))


# --- boxes and prisms -------------------------------------------------------------------

_BOX_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
_BOX_FACES = np.array([
    [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5],  # -x, +x
    [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],  # -y, +y
    [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],  # -z, +z
], dtype=np.uint32)


def _yaw_xy(points: np.ndarray, yaw_deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    out = points.copy()
    out[..., 0] = c * points[..., 0] - s * points[..., 1]
    out[..., 1] = s * points[..., 0] + c * points[..., 1]
    return out


def box(center: Sequence[float], half_extents: Sequence[float], color: Color, cls: int,
        yaw: float = 0.0, material: int = Material.VERTEX) -> Mesh:
    """An oriented box (yaw in degrees about z)."""
    v = _yaw_xy(_BOX_CORNERS * np.asarray(half_extents, dtype=np.float64), yaw) + np.asarray(center)
    return Mesh(v, _BOX_FACES, color, cls, material)


def frustum_box(bottom: Sequence[float], top: Sequence[float], color: Color, cls: int,
                material: int = Material.VERTEX) -> Mesh:
    """A box whose bottom and top rectangles differ: each is (x0, x1, y0, y1, z)."""
    x0, x1, y0, y1, zb = bottom
    u0, u1, w0, w1, zt = top
    v = np.array([[x, y, zb] for x in (x0, x1) for y in (y0, y1)], dtype=np.float64)
    t = np.array([[x, y, zt] for x in (u0, u1) for y in (w0, w1)], dtype=np.float64)
    verts = np.empty((8, 3))
    verts[0::2], verts[1::2] = v, t  # same corner order as _BOX_CORNERS (z fastest)
    return Mesh(verts, _BOX_FACES, color, cls, material)


def prism(center: Sequence[float], radius: float, half_length: float, axis: int, color: Color, cls: int,
          sides: int = 8, material: int = Material.VERTEX) -> Mesh:
    """A closed regular prism (a cylinder at low poly) along axis 0/1/2, centred at `center`."""
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.stack([np.cos(a) * radius, np.sin(a) * radius], axis=1)
    others = [i for i in range(3) if i != axis]
    v = np.zeros((2 * sides + 2, 3))
    for k, h in enumerate((-half_length, half_length)):
        v[k * sides:(k + 1) * sides, others] = ring
        v[k * sides:(k + 1) * sides, axis] = h
    v[2 * sides, axis], v[2 * sides + 1, axis] = -half_length, half_length
    i = np.arange(sides)
    j = (i + 1) % sides
    sidewall = np.concatenate([np.stack([i, j, j + sides], 1), np.stack([i, j + sides, i + sides], 1)])
    caps = np.concatenate([np.stack([np.full(sides, 2 * sides), j, i], 1),
                           np.stack([np.full(sides, 2 * sides + 1), i + sides, j + sides], 1)])
    return Mesh(v + np.asarray(center), np.concatenate([sidewall, caps]), color, cls, material)


# --- map geometry -----------------------------------------------------------------------

def _triangulate(xy: np.ndarray) -> np.ndarray:
    """Ear clipping of a simple polygon (either orientation) -> (n-2, 3) vertex indices."""
    n = len(xy)
    if n < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {n}")
    area2 = np.sum(xy[:, 0] * np.roll(xy[:, 1], -1) - np.roll(xy[:, 0], -1) * xy[:, 1])
    idx = list(range(n)) if area2 > 0 else list(range(n))[::-1]  # work counter-clockwise
    tris = []
    guard = 0
    while len(idx) > 3 and guard < 4 * n * n:
        guard += 1
        m = len(idx)
        for k in range(m):
            a, b, c = idx[k - 1], idx[k], idx[(k + 1) % m]
            pa, pb, pc = xy[a], xy[b], xy[c]
            cross = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0])
            if cross <= 1e-12:
                continue  # reflex or degenerate corner: not an ear
            rest = xy[[i for i in idx if i not in (a, b, c)]]
            if len(rest) and np.any(_in_triangle(rest, pa, pb, pc)):
                continue
            tris.append((a, b, c))
            idx.pop(k)
            break
        else:
            # only degenerate corners left (collinear points): drop the flattest one
            idx.pop(int(np.argmin([abs(_cross(xy[idx[k - 1]], xy[idx[k]], xy[idx[(k + 1) % m]])) for k in range(m)])))
    if len(idx) == 3:
        tris.append(tuple(idx))
    return np.array(tris, dtype=np.uint32).reshape(-1, 3)


def _cross(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


def _in_triangle(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    def side(u, v):
        return (v[0] - u[0]) * (p[:, 1] - u[1]) - (v[1] - u[1]) * (p[:, 0] - u[0])
    return (side(a, b) >= 0) & (side(b, c) >= 0) & (side(c, a) >= 0)


def flat_polygon(points: np.ndarray, color: Color, cls: int, z: float | None = None) -> Mesh:
    """A polygon (N, 2) or (N, 3) triangulated in the xy plane (junction areas, plazas,
    crosswalk blocks); each vertex keeps its own z, or `z` for 2-D points."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise ValueError(f"polygon points must be (N, 2) or (N, 3), got {p.shape}")
    if p.shape[1] == 2:
        p = np.column_stack([p, np.full(len(p), 0.0 if z is None else z)])
    if len(p) > 3 and np.allclose(p[0], p[-1]):
        p = p[:-1]  # closed rings repeat their first point
    return Mesh(p, _triangulate(p[:, :2]), color, cls)


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Mask of the polyline points (N, 3) to keep so that no dropped point lies further than
    `tolerance` from the simplified line (Douglas-Peucker); the ends are always kept."""
    p = np.asarray(points, dtype=np.float64)
    keep = np.zeros(len(p), bool)
    keep[[0, -1]] = True
    if tolerance <= 0:
        keep[:] = True
        return keep
    stack = [(0, len(p) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = p[b] - p[a]
        rel = p[a + 1:b] - p[a]
        length2 = float(seg @ seg)
        if length2 > 0:
            t = np.clip(rel @ seg / length2, 0.0, 1.0)
            dist = np.linalg.norm(rel - t[:, None] * seg, axis=1)
        else:
            dist = np.linalg.norm(rel, axis=1)
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return keep


def ribbon(left: np.ndarray, right: np.ndarray, color: Color, cls: int, tolerance: float = 0.01) -> Mesh:
    """A surface between two boundary polylines of equal length (N, 3): a lane, a road, a
    sidewalk top. Point i of `left` faces point i of `right`. Points that both boundaries can
    lose within `tolerance` metres are dropped (straight roads need few triangles, and every
    triangle costs a CPU rasteriser time)."""
    left, right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if left.shape != right.shape or left.ndim != 2 or left.shape[1] != 3 or len(left) < 2:
        raise ValueError(f"ribbon boundaries must be two (N>=2, 3) arrays, got {left.shape} and {right.shape}")
    keep = simplify(left, tolerance) | simplify(right, tolerance)
    left, right = left[keep], right[keep]
    n = len(left)
    i = np.arange(n - 1)
    tris = np.concatenate([np.stack([i, i + n, i + 1], 1), np.stack([i + 1, i + n, i + n + 1], 1)])
    return Mesh(np.concatenate([left, right]), tris, color, cls)


def _offsets(points: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Left/right boundaries at +-half_width from a polyline (normals in the xy plane)."""
    d = np.gradient(points[:, :2], axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    right = np.column_stack([-d[:, 1], d[:, 0], np.zeros(len(d))])  # +y is right in CARLA's frame
    return points - right * half_width, points + right * half_width


def polyline_strip(points: np.ndarray, width: float, color: Color, cls: int,
                   dash: tuple[float, float] | None = None, lift: float = 0.02, tolerance: float = 0.01) -> Mesh:
    """A painted strip of constant width along a polyline (N, 3): lane markings, stop lines.
    `dash` = (painted, gap) metres for broken lines; `lift` raises it above the road so the
    depth test never hides it."""
    p = np.asarray(points, dtype=np.float64).copy()
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 2:
        raise ValueError(f"a strip needs an (N>=2, 3) polyline, got {p.shape}")
    p[:, 2] += lift
    if dash is None:
        return ribbon(*_offsets(p, width / 2), color, cls, tolerance)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    on, gap = dash
    pieces = []
    for s0 in np.arange(0.0, s[-1], on + gap):
        ss = np.linspace(s0, min(s0 + on, s[-1]), 2 if on < 5 else 4)
        if ss[-1] - ss[0] < 1e-3:
            continue
        seg = np.column_stack([np.interp(ss, s, p[:, k]) for k in range(3)])
        pieces.append(ribbon(*_offsets(seg, width / 2), color, cls, tolerance))
    return Mesh.concat(pieces)


def extruded_polygon(footprint: np.ndarray, z_bottom: float, z_top: float, color: Color, cls: int,
                     roof_color: Color | None = None) -> Mesh:
    """A prism standing on a footprint (N, 2): buildings, walls, kerbs, sidewalk blocks."""
    f = np.asarray(footprint, dtype=np.float64)
    if len(f) > 3 and np.allclose(f[0], f[-1]):
        f = f[:-1]
    n = len(f)
    if f.ndim != 2 or f.shape[1] != 2 or n < 3:
        raise ValueError(f"a footprint must be (N>=3, 2), got {f.shape}")
    walls_v = np.concatenate([np.column_stack([f, np.full(n, z_bottom)]), np.column_stack([f, np.full(n, z_top)])])
    i = np.arange(n)
    j = (i + 1) % n
    walls = Mesh(walls_v, np.concatenate([np.stack([i, j, j + n], 1), np.stack([i, j + n, i + n], 1)]), color, cls)
    roof = flat_polygon(f, color if roof_color is None else roof_color, cls, z=z_top)
    return Mesh.concat([walls, roof])


def pole(base: Sequence[float], height: float, radius: float = 0.08, color: Color = (110, 110, 115),
         cls: int = SemanticClass.POLES, sides: int = 6) -> Mesh:
    """A vertical pole standing on `base` (street lights, light and sign posts)."""
    b = np.asarray(base, dtype=np.float64)
    return prism(b + (0, 0, height / 2), radius, height / 2, 2, color, cls, sides)


def arm(start: Sequence[float], end: Sequence[float], radius: float = 0.07,
        color: Color = (110, 110, 115), cls: int = SemanticClass.POLES) -> Mesh:
    """A straight bar between two points (an overhead mast arm), square in section."""
    a, b = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    d = b - a
    length = float(np.linalg.norm(d))
    yaw = np.degrees(np.arctan2(d[1], d[0]))
    if abs(d[2]) > 1e-6 * max(length, 1.0):
        raise ValueError("arm() draws horizontal bars; use pole() for vertical ones")
    return box((a + b) / 2, (length / 2, radius, radius), color, cls, yaw=yaw)


def stop_sign(base: Sequence[float], yaw: float, height: float = 2.2) -> Mesh:
    """A stop sign on its pole; the plate faces +x rotated by `yaw` (towards approaching cars)."""
    b = np.asarray(base, dtype=np.float64)
    a = np.radians(22.5 + 45.0 * np.arange(8))
    plate = np.column_stack([np.full(8, 0.0), 0.38 * np.cos(a), 0.38 * np.sin(a) + height])
    face = flat_polygon(plate[:, 1:], (200, 20, 25), SemanticClass.TRAFFIC_SIGNS)
    v = face.vertices.astype(np.float64)
    face_v = np.column_stack([np.full(len(v), 0.09), v[:, 0], v[:, 1]])  # plate in the local y-z plane
    face = Mesh(_yaw_xy(face_v, yaw) + b, face.triangles, face.colors, face.classes)
    return Mesh.concat([pole(b, height + 0.3), face])


def tree(base: Sequence[float], height: float = 6.0, crown_radius: float = 2.0,
         trunk_color: Color = (90, 70, 50), crown_color: Color = (60, 110, 45)) -> Mesh:
    """A low-poly tree: a trunk and a rounded crown, all tagged vegetation as CARLA tags trees."""
    b = np.asarray(base, dtype=np.float64)
    trunk_h = height * 0.45
    trunk = prism(b + (0, 0, trunk_h / 2), 0.15, trunk_h / 2, 2, trunk_color, SemanticClass.VEGETATION, 5)
    sides = 7
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    crown_h = height - trunk_h * 0.8
    rings = [(b[2] + trunk_h * 0.8 + crown_h * f, crown_radius * r) for f, r in ((0.3, 0.85), (0.65, 1.0))]
    v = [np.column_stack([b[0] + r * np.cos(a + k * np.pi / sides), b[1] + r * np.sin(a + k * np.pi / sides),
                          np.full(sides, z)]) for k, (z, r) in enumerate(rings)]
    v.append(np.array([[b[0], b[1], b[2] + trunk_h * 0.8], [b[0], b[1], b[2] + height]]))
    i = np.arange(sides)
    j = (i + 1) % sides
    bottom, top = 2 * sides, 2 * sides + 1
    tris = np.concatenate([np.stack([j, i, np.full(sides, bottom)], 1),
                           np.stack([i, j, i + sides], 1), np.stack([j, j + sides, i + sides], 1),
                           np.stack([i + sides, j + sides, np.full(sides, top)], 1)])
    crown = Mesh(np.concatenate(v), tris, crown_color, SemanticClass.VEGETATION)
    return Mesh.concat([trunk, crown])
