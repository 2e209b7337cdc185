"""The embedded simulator's static town, built from an OpenDRIVE map: one mesh in CARLA's
frame (per-vertex colour and CARLA class id) that cameras and LiDAR see, plus the static
props the world needs to know about (traffic-light heads to draw per tick, signs, collision
boxes).

    scene = build_static_scene(Map.from_file("Town10HD.xodr"), seed=0, detail="normal")
    renderer = CameraRenderer(scene.mesh)
    actors = [Actor(ActorKind.TRAFFIC_LIGHT, h.pose, LIGHT_HEAD_HALF_EXTENTS, light_state=...)
              for h in scene.light_heads]

What is built: asphalt on every road-type lane (junctions underlaid, their gaps filled),
lane marks from the map's road marks, crosswalk bars and stop lines (RoadLine), sidewalks
raised 0.15 m with kerb faces (the map's, plus strips along every road edge that borders
nothing paved, so maps without sidewalk lanes get them too), grass between the roads,
buildings along the sidewalks (blocks beside multi-lane roads, houses or a high street
beside single-lane ones), street trees, lamps, hydrants, bins and benches, fences, walls and
hedges, traffic-light poles and mast arms, sign posts, and a ground plane far past the town.
Each prop has a collision box in `obstacles`.
Deterministic per (map, seed, detail); cached on disk under ~/.cache/lead/scenes (or
$LEAD_SCENE_CACHE, or `cache_dir`) by map text hash, seed, detail and a hash of the code.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from lead.sim.embedded.sensors import Mesh, SemanticClass
from lead.world.lane_types import LaneType

from . import params as P
from .ground import fill_small_holes, grass_mask, ground_plane, hole_mesh, rect_mesh
from .grid import GroundGrid, GroundHeight, dilate, erode, mask_rects
from .props import (LIGHT_HEAD_HALF_EXTENTS, LightAssembly, Obstacle, SignProp, Spacing, buildings, park_trees,
                    signs, street_furniture, traffic_lights)
from .surfaces import build_surfaces, crosswalk_mesh, kerbside_strips, lane_outline, stop_line_mesh

__all__ = ["DETAILS", "LIGHT_HEAD_HALF_EXTENTS", "LightAssembly", "LightHead", "Obstacle", "SignProp",
           "StaticScene", "build_static_scene", "code_version", "default_cache_dir"]

DETAILS = tuple(P.DETAILS)
log = logging.getLogger("lead.sim")
_MARGIN = 40.0      # m of town (grass, buildings) around the road network's bounding box
_TOWN_DEPTH = 50.0  # m from the pavement that grass and park trees reach


class LightHead(NamedTuple):
    """One traffic-light head: the OpenDRIVE id of its light and the pose of its box centre
    (x, y, z, roll, pitch, yaw; yaw is where the lamps face)."""
    light_id: str
    pose: tuple[float, float, float, float, float, float]


@dataclass
class StaticScene:
    mesh: Mesh
    traffic_lights: list[LightAssembly] = field(default_factory=list)
    signs: list[SignProp] = field(default_factory=list)
    obstacles: list[Obstacle] = field(default_factory=list)
    stop_lines: list[np.ndarray] = field(default_factory=list)   # (N, 3) polylines, painted
    info: dict = field(default_factory=dict)

    @property
    def light_heads(self) -> list[LightHead]:
        return [LightHead(tl.light_id, h) for tl in self.traffic_lights for h in tl.heads]

    @property
    def stop_signs(self) -> list[SignProp]:
        return [s for s in self.signs if s.type == "206"]

    def obstacle_arrays(self) -> dict[str, np.ndarray]:
        """Collision boxes as arrays: center (N, 3), half_extents (N, 3), yaw (N,) degrees,
        semantic (N,) CARLA classes."""
        o = self.obstacles
        return {"center": np.array([b.center for b in o], float).reshape(-1, 3),
                "half_extents": np.array([b.half_extents for b in o], float).reshape(-1, 3),
                "yaw": np.array([b.yaw for b in o], float),
                "semantic": np.array([b.semantic for b in o], np.uint8)}


# --- caching ---------------------------------------------------------------------------------

_CODE_FILES = ["sim/embedded/scene_builder/__init__.py", "sim/embedded/scene_builder/params.py",
               "sim/embedded/scene_builder/grid.py", "sim/embedded/scene_builder/ground.py",
               "sim/embedded/scene_builder/surfaces.py", "sim/embedded/scene_builder/props.py",
               "sim/embedded/sensors/meshes.py", "world/map.py", "world/lanes.py", "world/signals.py",
               "world/opendrive.py", "world/network.py"]
_code_version: str | None = None


def code_version() -> str:
    """Hash of the code that decides the scene (this package, the mesh helpers, the map
    reader): a change to any of them makes old cache entries unreachable."""
    global _code_version
    if _code_version is None:
        root = Path(__file__).resolve().parents[3]
        h = hashlib.sha256()
        for rel in _CODE_FILES:
            p = root / rel
            h.update(rel.encode())
            h.update(p.read_bytes() if p.exists() else b"-")
        _code_version = h.hexdigest()[:16]
    return _code_version


def default_cache_dir() -> Path:
    env = os.environ.get("LEAD_SCENE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lead" / "scenes"


def _cache_key(m, seed: int, detail: str) -> str:
    h = hashlib.sha256(m.to_opendrive().encode("utf-8"))
    h.update(f"|{seed}|{detail}|{code_version()}".encode())
    return h.hexdigest()[:24]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40] or "map"


def _save(path: Path, scene: StaticScene) -> None:
    m = scene.mesh
    meta = {"traffic_lights": [asdict(t) for t in scene.traffic_lights], "signs": [asdict(s) for s in scene.signs],
            "obstacles": [asdict(o) for o in scene.obstacles], "info": scene.info}
    lines = {f"stop_line_{i}": np.asarray(s, np.float64) for i, s in enumerate(scene.stop_lines)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, vertices=m.vertices, triangles=m.triangles, colors=m.colors, classes=m.classes,
                 materials=m.materials, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **lines)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
    _evict(path.parent)


_CACHE_ENTRIES = 48  # scenes kept per cache directory (each a few MB), least recently used go


def _evict(root: Path) -> None:
    try:
        files = sorted(root.glob("*.npz"), key=lambda f: f.stat().st_mtime)
        for f in files[:-_CACHE_ENTRIES]:
            f.unlink(missing_ok=True)
    except OSError:  # another process evicting at the same time
        pass


def _load(path: Path) -> StaticScene:
    with np.load(path, allow_pickle=False) as z:
        mesh = Mesh(z["vertices"], z["triangles"], z["colors"], z["classes"], z["materials"])
        meta = json.loads(z["meta"].tobytes().decode())
        n_lines = sum(1 for k in z.files if k.startswith("stop_line_"))
        lines = [z[f"stop_line_{i}"] for i in range(n_lines)]

    def tup(v):
        return tuple(tup(x) for x in v) if isinstance(v, list) else v
    lights = [LightAssembly(t["light_id"], tup(t["pole"]), t["facing_yaw"], tup(t["heads"]))
              for t in meta["traffic_lights"]]
    sgns = [SignProp(s["sign_id"], s["type"], tup(s["pose"])) for s in meta["signs"]]
    obs = [Obstacle(o["kind"], o["semantic"], tup(o["center"]), tup(o["half_extents"]), o["yaw"])
           for o in meta["obstacles"]]
    return StaticScene(mesh, lights, sgns, obs, lines, meta["info"])


# --- building --------------------------------------------------------------------------------

def build_static_scene(map, seed: int = 0, detail: str = "normal", cache_dir: str | Path | None = None,
                       cache: bool = True) -> StaticScene:
    """The static scene of a lead.world.map.Map. With `cache` (default) the result is read
    from / written to `cache_dir` (default: default_cache_dir()); `info["cache_hit"]` says
    which happened."""
    d = P.detail_level(detail)
    path = None
    if cache:
        root = Path(cache_dir) if cache_dir else default_cache_dir()
        path = root / f"{_safe(map.name)}-{_cache_key(map, int(seed), d.name)}.npz"
        if path.exists():
            try:
                t0 = time.perf_counter()
                scene = _load(path)
                os.utime(path)  # recently used: evicted last
                scene.info.update(cache_hit=True, load_s=round(time.perf_counter() - t0, 3), cache_path=str(path))
                return scene
            except Exception as e:  # a damaged entry is rebuilt, not fatal
                log.warning("scene cache %s unreadable (%s): rebuilding", path, e)
    t0 = time.perf_counter()
    scene = _build(map, int(seed), d)
    scene.info.update(build_s=round(time.perf_counter() - t0, 3), cache_hit=False)
    if path is not None:
        try:
            _save(path, scene)
            scene.info["cache_path"] = str(path)
        except OSError as e:
            log.warning("cannot write scene cache %s: %s", path, e)
    return scene


def _build(m, seed: int, d: P.Detail) -> StaticScene:
    timings = {}
    t = time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 3)
        t = now

    lanes = [g for g in m.lane_geometry(step=d.step) if len(g.center) >= 2]
    if not lanes:
        raise ValueError(f"map {m.name}: no lanes to build a scene from")
    surf = build_surfaces(lanes, d)
    lap("surfaces")

    pts = np.concatenate([np.concatenate([g.left, g.right]) for g in lanes + surf.sidewalks])
    lo, hi = pts[:, :2].min(0) - _MARGIN, pts[:, :2].max(0) + _MARGIN
    ground = GroundHeight(pts)
    grid = GroundGrid(lo, hi, d.cell)
    meshes = surf.road + surf.walks + surf.marks
    road, walk = _pave(grid, surf, lanes, ground, d, meshes)
    lap("ground raster")

    # paint on the road: crosswalks and stop lines
    crosswalks = [np.array([(p.x, p.y) for p in cw]) for cw in m.get_crosswalks()]
    for cw in crosswalks:
        meshes.append(crosswalk_mesh(cw, float(np.median(ground(cw)))))
    cross_mask = grid.zeros()
    grid.fill(cross_mask, crosswalks)
    stop_lines = _stop_lines(m, ground, crosswalks)
    meshes += [stop_line_mesh(s) for s in stop_lines]
    lap("paint")

    near_road = dilate(road, 1)

    def on_road(p):
        iy, ix = grid.cells_of(np.asarray(p)[None])
        return bool(near_road[iy[0], ix[0]])

    avoid_mask = dilate(cross_mask.astype(bool), int(math.ceil(2.5 / grid.cell)))

    def avoid(p):
        iy, ix = grid.cells_of(np.asarray(p)[None])
        return bool(avoid_mask[iy[0], ix[0]])

    spacing = Spacing()
    placed_lights, lights = traffic_lights(m, on_road, ground, spacing)
    placed_signs, sign_props = signs(m, on_road, ground, spacing)
    furniture = street_furniture(surf.sidewalks, ground, spacing, avoid, np.random.default_rng([seed, 1]), d)
    lap("signals and furniture")

    occupied = dilate(road | walk, 1)
    for o in placed_lights.obstacles + placed_signs.obstacles + furniture.obstacles:
        c = np.array(o.center[:2])
        grid.occupy(occupied, np.array([c + (-1, -1), c + (1, -1), c + (1, 1), c + (-1, 1)]))
    before = occupied.copy()
    lanes_beside: dict[tuple[int, int, int], int] = {}
    for g in lanes:
        if g.lane_type & LaneType.Driving and not g.is_junction:
            k = (g.road_id, g.section_id, 1 if g.lane_id > 0 else -1)
            lanes_beside[k] = lanes_beside.get(k, 0) + 1
    built = buildings(surf.sidewalks, grid, occupied, ground, np.random.default_rng([seed, 2]), d, lanes_beside)
    built_mask = occupied & ~before
    lap("buildings")

    # the town reaches TOWN_DEPTH from the pavement; beyond it only the ground plane
    dist = cv2.distanceTransform((~(road | walk)).astype(np.uint8), cv2.DIST_L2, 5) * grid.cell
    grass = grass_mask(grid, road, walk, dist <= _TOWN_DEPTH) & ~erode(built_mask, 1)
    trees = park_trees(grid, grass, occupied, ground, spacing, np.random.default_rng([seed, 3]), d)
    meshes.append(rect_mesh(grid, mask_rects(grass, d.max_rect), ground, P.TERRAIN_LIFT, P.GRASS,
                            SemanticClass.TERRAIN, jitter=np.random.default_rng([seed, 4])))
    meshes.append(ground_plane(lo, hi, ground.min_z - P.GROUND_DROP))
    lap("grass")

    for part in (placed_lights, placed_signs, furniture, built, trees):
        meshes += part.meshes
    mesh = Mesh.concat(meshes)
    lap("concat")
    obstacles = [o for part in (placed_lights, placed_signs, furniture, built, trees) for o in part.obstacles]
    tri_cls = mesh.triangle_classes()
    counts = {SemanticClass(c).name: int(n) for c, n in zip(*np.unique(tri_cls, return_counts=True))}
    info = {"map": m.name, "seed": seed, "detail": d.name, "code_version": code_version(),
            "triangles": int(mesh.n_triangles), "vertices": int(len(mesh.vertices)), "triangles_by_class": counts,
            "buildings": sum(o.kind == "building" for o in obstacles),
            "trees": sum(o.kind == "tree" for o in obstacles), "timings_s": timings,
            "extent": [float(v) for v in (*lo, *hi)]}
    return StaticScene(mesh, lights, sign_props, obstacles, stop_lines, info)


def _pave(grid: GroundGrid, surf, lanes, ground: GroundHeight, d: P.Detail, meshes: list) -> tuple[np.ndarray, np.ndarray]:
    """The ground raster of road and sidewalk, completed: small gaps paved, exposed road
    edges given a sidewalk, junctions underlaid with asphalt. Appends the meshes it makes;
    returns the road and sidewalk masks."""
    road, walk = grid.zeros(), grid.zeros()
    grid.fill(road, surf.road_polys)
    grid.fill(walk, surf.walk_polys)
    road, walk = road.astype(bool), walk.astype(bool)
    fill_road, fill_walk = fill_small_holes(grid, road, walk)
    road |= fill_road
    walk |= fill_walk
    # road edges that border nothing paved get a sidewalk, as wide as the map's own
    widths = [float(np.median(g.width)) for g in surf.sidewalks]
    sw_width = float(np.clip(np.median(widths), 2.0, 4.0)) if widths else 3.0
    paved_now, road_now = road | walk, road.copy()

    def paved(xy):
        iy, ix = grid.cells_of(xy)
        return paved_now[iy, ix]

    def on_road(xy):
        iy, ix = grid.cells_of(xy)
        return road_now[iy, ix]

    kerb_meshes, strips = kerbside_strips(lanes, paved, on_road, sw_width, d.tolerance)
    meshes += kerb_meshes
    surf.sidewalks += strips
    strip_mask = grid.zeros()
    grid.fill(strip_mask, [lane_outline(g) for g in strips])
    walk |= strip_mask.astype(bool) & ~road
    more_road, more_walk = fill_small_holes(grid, road, walk)   # slivers the strips closed off
    fill_road |= more_road
    fill_walk |= more_walk
    road |= more_road
    walk |= more_walk
    meshes.append(hole_mesh(grid, fill_road, ground, -0.01, P.ASPHALT_JUNCTION, SemanticClass.ROADS, d.max_rect))
    meshes.append(hole_mesh(grid, fill_walk & ~road, ground, P.KERB_HEIGHT - 0.01, P.SIDEWALK_TOP,
                            SemanticClass.SIDEWALKS, d.max_rect))
    # under each junction a raster of asphalt a little lower: junction lanes meet their
    # shoulders and each other along arcs, and slivers thinner than a cell open there
    jroad = grid.zeros()
    grid.fill(jroad, [p for p, j in zip(surf.road_polys, surf.road_in_junction) if j])
    jroad = jroad.astype(bool)
    underlay = jroad | erode(dilate(jroad, 1), 1)
    meshes.append(rect_mesh(grid, mask_rects(underlay, d.max_rect), ground, -0.015, P.ASPHALT_JUNCTION,
                            SemanticClass.ROADS))
    return road, walk


def _stop_lines(m, ground: GroundHeight, crosswalks: list[np.ndarray]) -> list[np.ndarray]:
    """The map's painted stop lines, plus one across each lane where a light or stop sign
    stops traffic and the map paints none: 1 m before the junction, pushed back behind a
    crosswalk that lies there."""
    out = [np.array([(p.x, p.y, p.z) for p in line]) for line in m.get_stop_lines()]
    given = np.concatenate(out)[:, :2] if out else np.zeros((0, 2))
    cw_hulls = [cw for cw in crosswalks if len(cw) >= 3]
    seen = set()
    signals = list(m.get_traffic_lights()) + list(m.get_stop_signs())
    for sig in signals:
        for w in sig.stop_waypoints:
            if w.key in seen:
                continue
            seen.add(w.key)
            loc, yaw = w.transform.location, math.radians(w.transform.rotation.yaw)
            dvec = np.array([math.cos(yaw), math.sin(yaw)])
            r = np.array([-dvec[1], dvec[0]])
            c = np.array([loc.x, loc.y]) - dvec * 1.0
            if len(given) and np.min(np.linalg.norm(given - c, axis=1)) < 4.0:
                continue
            for _ in range(30):
                if not any(_inside(c, h, 0.5) for h in cw_hulls):
                    break
                c = c - dvec * 0.5
            half = max(w.lane_width / 2 - 0.05, 0.3)
            ends = np.array([c - r * half, c + r * half])
            z = ground(ends)
            out.append(np.column_stack([ends, z]))
    return out


def _inside(p: np.ndarray, poly: np.ndarray, margin: float) -> bool:
    """Whether p lies inside a polygon (even-odd) or within `margin` of its edges."""
    x, y = p
    inside = False
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if (a[1] > y) != (b[1] > y) and x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0]:
            inside = not inside
        e = b - a
        t = np.clip(np.dot(p - a, e) / max(float(e @ e), 1e-12), 0, 1)
        if np.linalg.norm(a + t * e - p) < margin:
            return True
    return inside
