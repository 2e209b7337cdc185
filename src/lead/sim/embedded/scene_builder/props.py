"""Everything that stands on the ground: traffic-light poles (their heads are dynamic actors),
signs, street lamps, trees, buildings, fences, walls and hedges, each with its collision box."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.sim.embedded.sensors import Mesh, SemanticClass, arm, box, extruded_polygon, flat_polygon, pole, prism
from lead.sim.embedded.sensors.meshes import _yaw_xy
from lead.world.map import LaneGeometry

from . import params as P
from .grid import GroundGrid, GroundHeight

LIGHT_HEAD_HALF_EXTENTS = (0.2, 0.2, 0.5)   # the box the world draws each head in (sensor_suite)
_ARM_HEIGHT = 5.8      # m above the road: mast arms clear trucks
_POLE_HEAD_Z = 2.9     # m, centre of the head mounted on the pole
_SIGN_HEIGHT = 2.2


@dataclass(frozen=True)
class Obstacle:
    """A static collision box: centre (x, y, z), half extents, yaw (degrees), CARLA class."""
    kind: str
    semantic: int
    center: tuple[float, float, float]
    half_extents: tuple[float, float, float]
    yaw: float = 0.0


@dataclass(frozen=True)
class LightAssembly:
    """A traffic light's static pole and the poses of its heads (drawn per tick as
    ActorKind.TRAFFIC_LIGHT actors of LIGHT_HEAD_HALF_EXTENTS in the light's state)."""
    light_id: str
    pole: tuple[float, float, float]          # base of the pole
    facing_yaw: float                         # degrees: the direction the lamps face
    heads: tuple[tuple[float, float, float, float, float, float], ...]


@dataclass(frozen=True)
class SignProp:
    """A sign on its post: OpenDRIVE signal id and type, post base pose (x, y, z, roll,
    pitch, yaw with yaw the direction its face looks)."""
    sign_id: str
    type: str
    pose: tuple[float, float, float, float, float, float]


class Spacing:
    """Points already taken by poles and trunks, for a minimum distance between props."""

    def __init__(self, cell: float = 4.0):
        self.cell = cell
        self._cells: dict[tuple[int, int], list[np.ndarray]] = {}

    def near(self, p: np.ndarray, r: float) -> bool:
        cx, cy = int(math.floor(p[0] / self.cell)), int(math.floor(p[1] / self.cell))
        k = int(math.ceil(r / self.cell))
        for i in range(cx - k, cx + k + 1):
            for j in range(cy - k, cy + k + 1):
                for q in self._cells.get((i, j), ()):
                    if (q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2 < r * r:
                        return True
        return False

    def add(self, p: np.ndarray) -> None:
        key = (int(math.floor(p[0] / self.cell)), int(math.floor(p[1] / self.cell)))
        self._cells.setdefault(key, []).append(np.asarray(p[:2], float))


@dataclass
class Placed:
    meshes: list[Mesh]
    obstacles: list[Obstacle]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _travel_yaw(sig) -> float:
    """Travel direction (degrees) of the lanes a signal governs."""
    wps = list(sig.stop_waypoints) or list(sig.affected_lane_waypoints)
    if not wps:
        return float(sig.transform.rotation.yaw) + 180.0
    v = np.sum([[math.cos(math.radians(w.transform.rotation.yaw)), math.sin(math.radians(w.transform.rotation.yaw))]
                for w in wps], axis=0)
    return math.degrees(math.atan2(v[1], v[0]))


def _off_road(p: np.ndarray, right: np.ndarray, on_road, max_push: float = 15.0) -> np.ndarray:
    """p moved sideways (towards `right` first) until it stands off the road."""
    if not on_road(p):
        return p
    for d in np.arange(0.25, max_push, 0.25):
        for q in (p + right * d, p - right * d):
            if not on_road(q):
                return q + (q - p) / d * 0.3   # a little clear of the kerb
    return p


def traffic_lights(m, on_road, ground: GroundHeight, spacing: Spacing) -> tuple[Placed, list[LightAssembly]]:
    """A pole per light where the map puts it (moved off the road), a mast arm over the
    governed lanes with a head above each lane centre, and a head on the pole."""
    meshes, obstacles, lights = [], [], []
    for tl in sorted(m.get_traffic_lights(), key=lambda t: _num(t.id)):
        yaw = _travel_yaw(tl)
        d = np.array([math.cos(math.radians(yaw)), math.sin(math.radians(yaw))])
        r = np.array([-d[1], d[0]])
        loc = tl.transform.location
        p = _off_road(np.array([loc.x, loc.y]), r, on_road)
        for _ in range(4):  # two lights of one corner: side by side
            if not spacing.near(p, 0.8):
                break
            p = p - d * 1.0
        z = float(ground(p[None])[0])
        lanes = {w.key: w for w in (tl.stop_waypoints or tl.affected_lane_waypoints)}
        lateral = sorted(float(np.dot(np.array([w.transform.location.x, w.transform.location.y]) - p, r))
                         for w in lanes.values())
        facing = yaw + 180.0
        heads = []
        over = [t for t in lateral if abs(t) > 1.5]
        top = z + _POLE_HEAD_Z + 0.6
        if over:
            top = z + _ARM_HEIGHT
            reach = max(over, key=abs)
            end = p + r * (reach + math.copysign(0.4, reach))
            meshes.append(arm((p[0], p[1], top - 0.1), (end[0], end[1], top - 0.1), 0.08, P.POLE_GREY))
            for t in over:
                c = p + r * t
                heads.append((c[0], c[1], top - 0.1 - 0.08 - LIGHT_HEAD_HALF_EXTENTS[2], 0.0, 0.0, facing))
        c = p - d * 0.32
        heads.append((c[0], c[1], z + _POLE_HEAD_Z, 0.0, 0.0, facing))
        meshes.append(pole((p[0], p[1], z), top - z, 0.13, P.POLE_GREY, SemanticClass.POLES, 8))
        obstacles.append(Obstacle("traffic_light_pole", SemanticClass.POLES, (p[0], p[1], (z + top) / 2),
                                  (0.13, 0.13, (top - z) / 2)))
        spacing.add(p)
        lights.append(LightAssembly(tl.id, (float(p[0]), float(p[1]), z), facing % 360.0,
                                    tuple(tuple(float(v) for v in h) for h in heads)))
    return Placed(meshes, obstacles), lights


def signs(m, on_road, ground: GroundHeight, spacing: Spacing) -> tuple[Placed, list[SignProp]]:
    """Stop (206), yield (205) and speed-limit (274) signs on posts beside their lanes, facing
    the traffic they govern."""
    meshes, obstacles, out = [], [], []
    for sg in sorted(m.get_traffic_signs(), key=lambda t: _num(t.id)):
        if sg.type not in _SIGN_SHAPES:
            continue
        yaw = _travel_yaw(sg)
        d = np.array([math.cos(math.radians(yaw)), math.sin(math.radians(yaw))])
        loc = sg.transform.location
        p = _off_road(np.array([loc.x, loc.y]), np.array([-d[1], d[0]]), on_road)
        for _ in range(4):
            if not spacing.near(p, 0.6):
                break
            p = p - d * 0.8
        z = float(ground(p[None])[0])
        facing = (yaw + 180.0) % 360.0
        meshes.append(sign_mesh((p[0], p[1], z), facing, sg.type))
        obstacles.append(Obstacle("sign_post", SemanticClass.POLES, (p[0], p[1], z + _SIGN_HEIGHT / 2),
                                  (0.05, 0.05, _SIGN_HEIGHT / 2)))
        spacing.add(p)
        out.append(SignProp(sg.id, sg.type, (float(p[0]), float(p[1]), z, 0.0, 0.0, facing)))
    return Placed(meshes, obstacles), out


def _num(s: str) -> tuple:
    return (0, int(s), "") if str(s).isdigit() else (1, 0, str(s))


def _octagon(r: float) -> np.ndarray:
    a = np.radians(22.5 + 45.0 * np.arange(8))
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


_SIGN_SHAPES = {
    "206": [(_octagon(0.40), (235, 235, 230)), (_octagon(0.36), (196, 22, 28))],
    "205": [(np.array([[0.0, -0.45], [0.52, 0.45], [-0.52, 0.45]]), (196, 22, 28)),
            (np.array([[0.0, -0.27], [0.34, 0.32], [-0.34, 0.32]]), (235, 235, 230))],
    "274": [(np.column_stack([0.38 * np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                              0.38 * np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False))]), (196, 22, 28)),
            (np.column_stack([0.30 * np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                              0.30 * np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False))]), (235, 235, 230))],
}


def sign_mesh(base, yaw: float, sign_type: str) -> Mesh:
    """A post with the sign's plates (outer, then inner a hair in front) facing `yaw`."""
    b = np.asarray(base, float)
    parts = [pole(b, _SIGN_HEIGHT + 0.45, 0.045, P.POLE_GREY, SemanticClass.POLES, 6)]
    for k, (shape, color) in enumerate(_SIGN_SHAPES[sign_type]):
        face = flat_polygon(shape, color, SemanticClass.TRAFFIC_SIGNS)
        v = face.vertices.astype(np.float64)
        # plate in the local y-z plane, in front of the post (+x), inner plate nearer the viewer
        local = np.column_stack([np.full(len(v), 0.07 + 0.01 * k), v[:, 0], v[:, 1] + _SIGN_HEIGHT])
        parts.append(Mesh(_yaw_xy(local, yaw) + b, face.triangles, face.colors, face.classes))
    back = flat_polygon(_SIGN_SHAPES[sign_type][0][0], (150, 150, 150), SemanticClass.TRAFFIC_SIGNS)
    v = back.vertices.astype(np.float64)
    local = np.column_stack([np.full(len(v), 0.055), v[:, 0], v[:, 1] + _SIGN_HEIGHT])
    parts.append(Mesh(_yaw_xy(local, yaw) + b, back.triangles, back.colors, back.classes))
    return Mesh.concat(parts)


# --- along the sidewalks ---------------------------------------------------------------------

def _arc(points: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points[:, :2], axis=0), axis=1))])


def _at(points: np.ndarray, cum: np.ndarray, t: float) -> np.ndarray:
    return np.array([np.interp(t, cum, points[:, k]) for k in range(points.shape[1])])


def street_furniture(sidewalks: list[LaneGeometry], ground: GroundHeight, spacing: Spacing, avoid,
                     rng: np.random.Generator, detail: P.Detail) -> Placed:
    """Lamps and street trees near the kerb of each sidewalk (outside junctions)."""
    meshes, obstacles = [], []
    for g in sidewalks:
        if g.is_junction or len(g.left) < 2:
            continue
        cum = _arc(g.left)
        length = float(cum[-1])
        width = float(np.median(g.width))
        if length < 8.0 or width < 1.5:
            continue
        out_dir = g.right[:, :2] - g.left[:, :2]
        out_dir /= np.maximum(np.linalg.norm(out_dir, axis=1, keepdims=True), 1e-9)
        z_top = P.KERB_HEIGHT
        if detail.lamps:
            t = float(rng.uniform(4.0, 16.0))
            while t < length - 3.0:
                i = min(int(np.searchsorted(cum, t)), len(cum) - 1)
                n = out_dir[i]
                p = _at(g.left, cum, t)[:2] + n * min(0.45, width / 3)
                if not spacing.near(p, 3.0) and not avoid(p):
                    z = float(ground(p[None])[0]) + z_top
                    meshes.append(lamp_mesh((p[0], p[1], z), -n))
                    obstacles.append(Obstacle("street_lamp", SemanticClass.POLES, (p[0], p[1], z + 3.75),
                                              (0.1, 0.1, 3.75)))
                    spacing.add(p)
                t += float(rng.uniform(26.0, 34.0))
        if width >= 2.9 and detail.street_trees > 0:
            t = float(rng.uniform(3.0, 9.0))
            while t < length - 3.0:
                if rng.random() < detail.street_trees:
                    i = min(int(np.searchsorted(cum, t)), len(cum) - 1)
                    p = _at(g.left, cum, t)[:2] + out_dir[i] * min(1.1, width / 3)
                    if not spacing.near(p, 3.5) and not avoid(p):
                        z = float(ground(p[None])[0]) + z_top
                        h = float(rng.uniform(5.0, 8.0))
                        meshes.append(tree_mesh((p[0], p[1], z), h, float(rng.uniform(1.4, 2.1)), rng, detail))
                        obstacles.append(Obstacle("tree", SemanticClass.VEGETATION, (p[0], p[1], z + h * 0.25),
                                                  (0.2, 0.2, h * 0.25)))
                        spacing.add(p)
                t += float(rng.uniform(9.0, 14.0))
        if detail.street_props:
            _street_props(g, cum, out_dir, width, ground, spacing, avoid, rng, meshes, obstacles)
    return Placed(meshes, obstacles)


def _street_props(g: LaneGeometry, cum, out_dir, width: float, ground: GroundHeight, spacing: Spacing, avoid,
                  rng: np.random.Generator, meshes: list, obstacles: list) -> None:
    """Hydrants at the kerb, bins and benches towards the building side (CARLA tags such
    fixed props Static)."""
    length = float(cum[-1])
    t = float(rng.uniform(5.0, 30.0))
    while t < length - 3.0:
        i = min(int(np.searchsorted(cum, t)), len(cum) - 1)
        n = out_dir[i]
        along = np.array([n[1], -n[0]])
        kind = rng.choice(["hydrant", "bin", "bench"], p=[0.4, 0.35, 0.25])
        if kind == "bench" and width < 3.2:
            kind = "bin"
        off = 0.45 if kind == "hydrant" else max(width - 0.7, width * 0.6)
        p = _at(g.left, cum, t)[:2] + n * off
        if not spacing.near(p, 1.5) and not avoid(p):
            z = float(ground(p[None])[0]) + P.KERB_HEIGHT
            yaw = math.degrees(math.atan2(along[1], along[0]))
            if kind == "hydrant":
                red = (170, 30, 28)
                mesh = Mesh.concat([prism((p[0], p[1], z + 0.3), 0.12, 0.3, 2, red, SemanticClass.STATIC, 8),
                                    prism((p[0], p[1], z + 0.45), 0.06, 0.22, 1, red, SemanticClass.STATIC, 6)])
                half = (0.15, 0.15, 0.35)
            elif kind == "bin":
                mesh = box((p[0], p[1], z + 0.45), (0.28, 0.28, 0.45), (52, 70, 58), SemanticClass.STATIC, yaw=yaw)
                half = (0.28, 0.28, 0.45)
            else:
                seat = box((p[0], p[1], z + 0.45), (0.9, 0.25, 0.04), (120, 88, 60), SemanticClass.STATIC, yaw=yaw)
                back_c = p + n * 0.22
                back = box((back_c[0], back_c[1], z + 0.75), (0.9, 0.03, 0.25), (120, 88, 60), SemanticClass.STATIC,
                           yaw=yaw)
                legs = [box((q[0], q[1], z + 0.22), (0.04, 0.2, 0.22), (60, 60, 62), SemanticClass.STATIC, yaw=yaw)
                        for q in (p + along * 0.8, p - along * 0.8)]
                mesh = Mesh.concat([seat, back, *legs])
                half = (0.9, 0.3, 0.5)
            meshes.append(mesh)
            obstacles.append(Obstacle(str(kind), SemanticClass.STATIC, (p[0], p[1], z + half[2]), half, yaw))
            spacing.add(p)
        t += float(rng.uniform(25.0, 60.0))


def lamp_mesh(base, towards_road: np.ndarray, height: float = 7.5) -> Mesh:
    b = np.asarray(base, float)
    end = b[:2] + towards_road * 1.6
    return Mesh.concat([
        pole(b, height, 0.09, P.POLE_GREY, SemanticClass.POLES, 6),
        arm((b[0], b[1], b[2] + height - 0.1), (end[0], end[1], b[2] + height - 0.1), 0.05, P.POLE_GREY),
        box((end[0], end[1], b[2] + height - 0.2), (0.32, 0.16, 0.07), (70, 70, 74), SemanticClass.POLES,
            yaw=math.degrees(math.atan2(towards_road[1], towards_road[0]))),
    ])


def tree_mesh(base, height: float, crown: float, rng: np.random.Generator, detail: P.Detail) -> Mesh:
    """A low-poly tree (trunk and a two-ring crown) tagged Vegetation as CARLA tags trees."""
    b = np.asarray(base, float)
    trunk_h = height * 0.42
    color = np.asarray(P.CROWNS[int(rng.integers(len(P.CROWNS)))])
    sides = detail.tree_sides
    trunk = prism(b + (0, 0, trunk_h / 2), 0.16, trunk_h / 2, 2, P.TRUNK, SemanticClass.VEGETATION, 5)
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False) + rng.uniform(0, np.pi)
    z0, z1 = b[2] + trunk_h * 0.8, b[2] + height
    rings = [(z0 + (z1 - z0) * 0.28, crown * 0.9), (z0 + (z1 - z0) * 0.62, crown)]
    v = [np.column_stack([b[0] + r * np.cos(a + k * np.pi / sides), b[1] + r * np.sin(a + k * np.pi / sides),
                          np.full(sides, z)]) for k, (z, r) in enumerate(rings)]
    v.append(np.array([[b[0], b[1], z0], [b[0], b[1], z1]]))
    i = np.arange(sides)
    j = (i + 1) % sides
    tris = np.concatenate([np.stack([j, i, np.full(sides, 2 * sides)], 1), np.stack([i, j, i + sides], 1),
                           np.stack([j, j + sides, i + sides], 1),
                           np.stack([i + sides, j + sides, np.full(sides, 2 * sides + 1)], 1)])
    verts = np.concatenate(v)
    # darker underside, lighter top: reads as a crown even in flat light
    shade = np.concatenate([np.full(sides, 0.82), np.full(sides, 1.0), [0.7, 1.12]])
    colors = np.clip(color[None] * shade[:, None], 0, 255).astype(np.uint8)
    return Mesh.concat([trunk, Mesh(verts, tris, colors, SemanticClass.VEGETATION)])


# --- buildings and frontage ------------------------------------------------------------------

@dataclass(frozen=True)
class _Style:
    """How one frontage is built up: widths, setbacks, depths, gaps (m) and storey mix."""
    width: tuple[float, float]
    setback: tuple[float, float]
    depth: tuple[float, float]
    gap: tuple[float, float]
    heights: tuple[tuple[float, float, float], ...]   # (share, min, max)


# downtown (two or more lanes each way, as Town10HD): blocks on the building line;
# small towns (one lane each way, as Town01/02): houses with front gardens, some shops
_DOWNTOWN = _Style((10.0, 24.0), (0.6, 1.2), (10.0, 20.0), (0.0, 1.5),
                   ((0.1, 6.0, 10.0), (0.5, 10.0, 24.0), (0.4, 24.0, 48.0)))
_HOUSES = _Style((7.0, 12.0), (2.5, 5.0), (8.0, 12.0), (2.0, 6.0), ((0.75, 4.5, 8.0), (0.25, 8.0, 11.0)))
_HIGH_STREET = _Style((8.0, 16.0), (0.8, 2.0), (9.0, 16.0), (0.0, 2.0),
                      ((0.4, 6.0, 10.0), (0.5, 10.0, 16.0), (0.1, 16.0, 24.0)))


def _height(rng: np.random.Generator, style: _Style) -> float:
    u, acc = rng.random(), 0.0
    for share, lo, hi in style.heights:
        acc += share
        if u < acc:
            return float(rng.uniform(lo, hi))
    return float(rng.uniform(*style.heights[-1][1:]))


def buildings(sidewalks: list[LaneGeometry], grid: GroundGrid, occupied: np.ndarray, ground: GroundHeight,
              rng: np.random.Generator, detail: P.Detail, lanes_beside: dict | None = None) -> Placed:
    """Rectangular buildings along the outer edge of every sidewalk, fronts parallel to it,
    where the raster is free (no road, sidewalk or other building); downtown blocks beside
    multi-lane roads, houses or a high street beside single-lane ones (`lanes_beside`:
    (road, section, side) -> driving lanes); fences, walls or hedges in some gaps."""
    meshes, obstacles = [], []
    lanes_beside = lanes_beside or {}
    for g in sidewalks:
        if g.is_junction:   # corners: a building there would stand askew to both streets
            continue
        edge = g.right[:, :2]
        cum = _arc(edge)
        length = float(cum[-1])
        if length < 6.0:
            continue
        outward = g.right[:, :2] - g.center[:, :2]
        n_lanes = lanes_beside.get((g.road_id, g.section_id, 1 if g.lane_id > 0 else -1), 1)
        style = _DOWNTOWN if n_lanes >= 2 else (_HOUSES if rng.random() < 0.6 else _HIGH_STREET)
        fence_kind = ["fence", "wall", "hedge"][int(rng.integers(3))]
        fence_p = (0.6 if style is _HOUSES else 0.3) if detail.fences else 0.0
        t = float(rng.uniform(0.0, 3.0))
        while t < length - 5.0:
            w0 = float(rng.uniform(*style.width))
            setback = float(rng.uniform(*style.setback))
            depth = float(rng.uniform(*style.depth))
            placed = False
            for w, dd in ((w0, depth), (w0, depth * 0.6), (w0 * 0.6, depth * 0.6), (max(6.0, w0 * 0.4), 6.0)):
                t1 = min(t + w, length)
                p0, p1 = _at(edge, cum, t), _at(edge, cum, t1)
                u = _unit(p1 - p0)
                n = np.array([-u[1], u[0]])
                i = min(int(np.searchsorted(cum, (t + t1) / 2)), len(cum) - 1)
                if np.dot(n, outward[i]) < 0:
                    n = -n
                rect = np.array([p0 + n * setback, p1 + n * setback, p1 + n * (setback + dd), p0 + n * (setback + dd)])
                if t1 - t > 4.0 and grid.free(occupied, rect):
                    grid.occupy(occupied, rect)
                    h = _height(rng, style)
                    meshes.append(building_mesh(rect, float(ground(rect.mean(0)[None])[0]), h, rng, detail))
                    c = rect.mean(0)
                    obstacles.append(Obstacle("building", SemanticClass.BUILDINGS,
                                              (c[0], c[1], float(ground(c[None])[0]) + h / 2),
                                              (float(np.linalg.norm(p1 - p0)) / 2, dd / 2, h / 2),
                                              math.degrees(math.atan2(u[1], u[0]))))
                    placed = True
                    break
            if placed:
                gap = float(rng.uniform(*style.gap))
                if rng.random() < 0.08:
                    gap += float(rng.uniform(4.0, 9.0))   # an alley or a yard
                t = t1 + gap
                continue
            if rng.random() < fence_p:
                f = frontage_mesh(p0, p1, n, fence_kind, grid, occupied, ground)
                if f is not None:
                    meshes.append(f[0])
                    obstacles.append(f[1])
            t += 3.0
    return Placed(meshes, obstacles)


def frontage_mesh(p0, p1, n, kind: str, grid: GroundGrid, occupied: np.ndarray, ground: GroundHeight):
    """A fence, wall or hedge along a frontage piece, just behind the sidewalk."""
    thick = {"fence": 0.06, "wall": 0.25, "hedge": 0.7}[kind]
    height = {"fence": 1.4, "wall": 1.1, "hedge": 1.3}[kind]
    off = 0.6 + thick / 2
    a, b = p0 + n * off, p1 + n * off
    rect = np.array([a - n * thick / 2, b - n * thick / 2, b + n * thick / 2, a + n * thick / 2])
    if not grid.free(occupied, rect):
        return None
    grid.occupy(occupied, rect)
    c = (a + b) / 2
    z = float(ground(c[None])[0])
    length = float(np.linalg.norm(b - a))
    yaw = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    cls, color = {"fence": (SemanticClass.FENCES, P.FENCE), "wall": (SemanticClass.WALLS, P.WALL),
                  "hedge": (SemanticClass.VEGETATION, P.HEDGE)}[kind]
    half = (length / 2, thick / 2, height / 2)
    return (box((c[0], c[1], z + height / 2), half, color, cls, yaw=yaw),
            Obstacle(kind, int(cls), (c[0], c[1], z + height / 2), half, yaw))


def building_mesh(rect: np.ndarray, z: float, height: float, rng: np.random.Generator, detail: P.Detail) -> Mesh:
    """Walls and a flat or gabled roof on a rectangular footprint; window bands per floor."""
    facade = np.asarray(P.FACADES[int(rng.integers(len(P.FACADES)))])
    facade = np.clip(facade + rng.integers(-10, 11, 3), 0, 255)
    zb = z - 0.1  # sunk a little: no gap on a sloping ground
    parts = []
    gabled = detail.roofs and height < 9.0 and rng.random() < 0.6
    roof_color = P.ROOFS[int(rng.integers(len(P.ROOFS)))]
    walls = extruded_polygon(rect, zb, z + height, tuple(int(c) for c in facade), SemanticClass.BUILDINGS,
                             roof_color=roof_color if not gabled else tuple(int(c) for c in facade))
    parts.append(walls)
    if gabled:
        parts.append(_gable(rect, z + height, float(rng.uniform(1.6, 3.0)), roof_color, facade))
    if detail.windows:
        parts.append(_windows(rect, z, height))
    elif height > 9.0:
        parts.append(_windows(rect, z, min(height, 3.5)))
    return Mesh.concat(parts)


def _gable(rect: np.ndarray, z: float, rise: float, roof_color, facade) -> Mesh:
    """A gabled roof along the footprint's longer side: two slopes and two gable ends."""
    a, b, c, d = rect
    if np.linalg.norm(b - a) < np.linalg.norm(d - a):   # ridge along the longer side
        a, b, c, d = b, c, d, a
    m0, m1 = (a + d) / 2, (b + c) / 2
    v = np.array([[*a, z], [*b, z], [*c, z], [*d, z], [*m0, z + rise], [*m1, z + rise]])
    slopes = Mesh(v, np.array([[0, 1, 5], [0, 5, 4], [3, 4, 5], [3, 5, 2]]), roof_color, SemanticClass.BUILDINGS)
    ends = Mesh(v, np.array([[0, 4, 3], [1, 2, 5]]), tuple(int(x) for x in facade), SemanticClass.BUILDINGS)
    return Mesh.concat([slopes, ends])


def _windows(rect: np.ndarray, z: float, height: float, floor: float = 3.2) -> Mesh:
    """Dark window bands (one quad per floor and facade, 4 cm proud of the wall); a taller,
    darker shopfront band on the ground floor of buildings above two storeys."""
    c = rect.mean(0)
    floors = max(1, min(14, int((height - 0.8) // floor)))
    quads, colors = [], []
    for i in range(4):
        a, b = rect[i], rect[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        if length < 3.0:
            continue
        u = (b - a) / length
        n = np.array([u[1], -u[0]])
        if np.dot(n, (a + b) / 2 - c) < 0:
            n = -n
        a2, b2 = a + u * 0.8 + n * 0.04, b - u * 0.8 + n * 0.04
        for f in range(floors):
            if f == 0 and height > 7.0:
                lo, hi, col = 0.3, 2.7, P.SHOPFRONT
            else:
                lo, hi, col = f * floor + 1.0, f * floor + 2.3, P.WINDOW
            if z + hi > z + height - 0.3:
                break
            quads.append([[*a2, z + lo], [*b2, z + lo], [*b2, z + hi], [*a2, z + hi]])
            colors.append(col)
    if not quads:
        return Mesh.concat([])
    v = np.array(quads, float).reshape(-1, 3)
    k = (np.arange(len(quads)) * 4)[:, None]
    tris = np.concatenate([k + (0, 1, 2), k + (0, 2, 3)], axis=1).reshape(-1, 3)
    return Mesh(v, tris, np.repeat(np.array(colors, np.uint8), 4, axis=0), SemanticClass.BUILDINGS)


def park_trees(grid: GroundGrid, grass: np.ndarray, occupied: np.ndarray, ground: GroundHeight,
               spacing: Spacing, rng: np.random.Generator, detail: P.Detail) -> Placed:
    """Trees scattered over open grass (not under buildings, clear of the pavement)."""
    if detail.park_tree_area <= 0:
        return Placed([], [])
    from .grid import dilate
    free = grass & ~dilate(occupied, int(round(2.0 / grid.cell)))
    iy, ix = np.nonzero(free)
    if not len(iy):
        return Placed([], [])
    count = min(int(len(iy) * grid.cell ** 2 / detail.park_tree_area), detail.max_park_trees)
    pick = rng.choice(len(iy), size=min(count * 2, len(iy)), replace=False)
    meshes, obstacles = [], []
    pts = grid.centres(iy[pick], ix[pick]) + rng.uniform(-0.5, 0.5, (len(pick), 2)) * grid.cell
    for p in pts:
        if len(meshes) >= count:
            break
        if spacing.near(p, 4.5):
            continue
        z = float(ground(p[None])[0]) + P.TERRAIN_LIFT
        h = float(rng.uniform(5.0, 10.0))
        meshes.append(tree_mesh((p[0], p[1], z), h, float(rng.uniform(1.8, 3.0)), rng, detail))
        obstacles.append(Obstacle("tree", SemanticClass.VEGETATION, (p[0], p[1], z + h * 0.25), (0.2, 0.2, h * 0.25)))
        spacing.add(p)
    return Placed(meshes, obstacles)
