"""The static town built from real maps: what cameras and LiDAR see where the map has roads,
lane marks, sidewalks, crosswalks, stop lines and traffic lights; caching and determinism."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial import cKDTree

from lead.sim.embedded import scene_builder
from lead.sim.embedded.scene_builder import LIGHT_HEAD_HALF_EXTENTS, build_static_scene
from lead.sim.embedded.scene_builder.params import BROKEN_OFF, BROKEN_ON, KERB_HEIGHT
from lead.sim.embedded.scene_builder.surfaces import ROAD_TYPES
from lead.sim.embedded.sensors import (Actor, ActorKind, CameraRenderer, CameraSpec, EGLUnavailable, LidarSpec,
                                       RayCaster, RayCastLidar, SemanticClass, create_context, pose_matrix)
from lead.world.lane_types import LaneMarkingType, LaneType
from lead.world.map import Map
from tests.conftest import REPO, shared_path

S = SemanticClass
ROADISH = (S.ROADS, S.ROAD_LINES)
DOWN = np.array([0.0, 0.0, -1.0])


def _map(name: str) -> Map:
    if name == "LeadGrid001":
        return Map.from_file(REPO / "routes" / "LeadGrid001.xodr")
    return Map.from_file(shared_path("maps", "carla", f"{name}.xodr"))


@pytest.fixture(scope="module")
def built():
    """Each map built once (no cache: this also measures the build)."""
    cache: dict[str, tuple[Map, object]] = {}

    def get(name: str):
        if name not in cache:
            m = _map(name)
            cache[name] = (m, build_static_scene(m, seed=0, detail="normal", cache=False))
        return cache[name]
    return get


@pytest.fixture(scope="module")
def ctx():
    try:
        c = create_context()
    except EGLUnavailable as e:
        pytest.skip(f"camera checks need a headless EGL OpenGL context: {e}")
    yield c
    c.release()


MAPS = ["Town01", "Town10HD", "LeadGrid001"]


def _road_lanes(m: Map):
    return [g for g in m.lane_geometry(0.5) if g.lane_type & ROAD_TYPES]


def _down(caster: RayCaster, xy: np.ndarray, z0: float = 20.0):
    xy = np.asarray(xy, float).reshape(-1, 2)
    origins = np.column_stack([xy, np.full(len(xy), z0)])
    return caster.cast(origins, np.broadcast_to(DOWN, origins.shape), z0 + 30.0)


# --- mesh ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MAPS)
def test_classes_budget_and_build_time(built, name):
    m, scene = built(name)
    mesh = scene.mesh
    assert np.isfinite(mesh.vertices).all()
    classes = set(np.unique(mesh.triangle_classes()).tolist())
    for c in (S.ROADS, S.ROAD_LINES, S.SIDEWALKS, S.TERRAIN, S.BUILDINGS, S.VEGETATION, S.POLES):
        assert c in classes, f"{name}: no {c.name} in the scene"
    assert mesh.n_triangles <= 300_000, f"{name}: {mesh.n_triangles} triangles"
    assert scene.info["build_s"] < 15.0, scene.info
    # everything stands within the extent of the town (tree crowns may overhang its edge),
    # the ground plane aside
    lo, hi = np.array(scene.info["extent"][:2]), np.array(scene.info["extent"][2:])
    ground = mesh.triangle_classes() == S.TERRAIN
    v = mesh.vertices[mesh.triangles[~ground].ravel()]
    assert (v[:, :2] >= lo - 4).all() and (v[:, :2] <= hi + 4).all()
    assert v[:, 2].min() > -1.0 and v[:, 2].max() < 60.0


# --- cameras ---------------------------------------------------------------------------------

def _pixel_geometry(spec: CameraSpec):
    """Camera world matrix, focal length and centre for projecting points."""
    m = pose_matrix(spec.pose)
    f = spec.intrinsics()[0, 0]
    return m, f, spec.width / 2.0, spec.height / 2.0


def _project(spec: CameraSpec, pts: np.ndarray):
    m, f, cx, cy = _pixel_geometry(spec)
    rel = pts - m[:3, 3]
    x, y, z = rel @ m[:3, 0], rel @ m[:3, 1], rel @ m[:3, 2]
    ok = x > 0.5
    u, v = cx + f * y / np.where(ok, x, 1), cy - f * z / np.where(ok, x, 1)
    ok &= (u >= 0) & (u < spec.width) & (v >= 0) & (v < spec.height)
    return u.astype(int), v.astype(int), ok


def _unproject(spec: CameraSpec, depth: np.ndarray) -> np.ndarray:
    """World point of every pixel from CARLA planar depth."""
    m, f, cx, cy = _pixel_geometry(spec)
    vv, uu = np.mgrid[0:spec.height, 0:spec.width] + 0.5
    d = depth[..., None]
    return m[:3, 3] + d * (m[:3, 0] + ((uu - cx) / f)[..., None] * m[:3, 1] - ((vv - cy) / f)[..., None] * m[:3, 2])


@pytest.mark.parametrize("name", MAPS)
def test_top_down_roads_where_the_lanes_are(built, ctx, name):
    """Cameras 60 m up looking down: the map's lane centres are seen as road, and no road is
    seen far from every road lane."""
    m, scene = built(name)
    r = CameraRenderer(scene.mesh, ctx=ctx)
    lanes = _road_lanes(m)
    centres = np.concatenate([g.center for g in lanes if g.lane_type & LaneType.Driving])
    edges = np.concatenate([np.concatenate([g.left, g.right, g.center]) for g in lanes])
    tree = cKDTree(edges[:, :2])
    spots = [j.bounding_box.location for j in list(m.junctions.values())[:3]]
    spots += [t.location for t in m.get_spawn_points()[::37][:3]]
    seen_road, far_road, n_road_px = [], 0, 0
    for loc in spots:
        spec = CameraSpec("top", (loc.x, loc.y, 60.0, 0.0, -90.0, 0.0), 200, 200, 90.0)
        img = r.render([spec])[0]
        u, v, ok = _project(spec, centres)
        # where the camera sees the ground at the lane centre (no tree, pole or tall building
        # leaning into view in front of it), it must see road: a kerb or grass 10-15 cm over
        # the lane would show as a shorter depth of another class
        ground = np.abs(img.depth[v[ok], u[ok]] - (60.0 - centres[ok, 2])) < 0.3
        assert ground.mean() > 0.4   # tall buildings lean over the streets near the image edges
        seen_road.append(np.isin(img.semantic[v[ok], u[ok]][ground], ROADISH))
        road_px = img.semantic == S.ROADS
        world = _unproject(spec, img.depth)[road_px]
        dist, _ = tree.query(world[:, :2])
        far_road += int(np.sum(dist > 5.0))   # junction gaps are filled up to ~4 m from a lane
        n_road_px += int(road_px.sum())
    seen = np.concatenate(seen_road)
    assert len(seen) > 500
    assert seen.mean() > 0.995, f"{name}: only {seen.mean():.1%} of lane centres look like road"
    assert n_road_px > 10_000 and far_road <= 0.002 * n_road_px, f"{name}: {far_road} road pixels far from lanes"
    r.release()


@pytest.mark.parametrize("name", MAPS)
def test_front_camera_at_spawn_points_sees_road_and_lines(built, ctx, name):
    m, scene = built(name)
    r = CameraRenderer(scene.mesh, ctx=ctx)
    spawns = m.get_spawn_points()
    views = [spawns[i] for i in np.linspace(0, len(spawns) - 1, 6).astype(int)]
    W, H = 320, 160
    with_lines = 0
    for t in views:
        pose = (t.location.x, t.location.y, t.location.z + 1.5, 0.0, 0.0, t.rotation.yaw)
        spec = CameraSpec("front", pose, W, H, 90.0)
        sem = r.render([spec])[0].semantic
        ahead = sem[int(H * 0.62):, int(W * 0.42):int(W * 0.58)]   # the road just ahead, below the horizon
        assert np.isin(ahead, ROADISH).mean() > 0.9, f"{name}: spawn {t} does not look at road"
        assert not np.isin(sem[: int(H * 0.45)], ROADISH).any(), f"{name}: road above the horizon"
        with_lines += int(np.sum(sem[H // 2:] == S.ROAD_LINES) > 30)
    assert with_lines >= 5, f"{name}: lane marks in only {with_lines} of 6 views"
    r.release()


def test_traffic_light_heads_face_their_lanes_and_show(built, ctx):
    m, scene = built("Town10HD")
    lights = {tl.id: tl for tl in m.get_traffic_lights()}
    assert {a.light_id for a in scene.traffic_lights} == set(lights)
    caster = RayCaster(scene.mesh)
    r = CameraRenderer(scene.mesh, ctx=ctx)
    heads = [Actor(ActorKind.TRAFFIC_LIGHT, h.pose, LIGHT_HEAD_HALF_EXTENTS, light_state=2) for h in scene.light_heads]
    for a in scene.traffic_lights:
        tl = lights[a.light_id]
        w = tl.stop_waypoints[0]
        travel = w.transform.rotation.yaw
        assert abs((a.facing_yaw - travel - 180.0 + 180.0) % 360.0 - 180.0) < 20.0
        # the pole stands off the road
        hit = _down(caster, [a.pole[:2]])
        assert hit.semantic[0] not in ROADISH, f"light {a.light_id}: pole on the road"
        assert all(h[2] > 2.0 for h in a.heads)
        # drivers on the lane, 15 m before the pole, see a lit head of their light
        d = np.array([math.cos(math.radians(travel)), math.sin(math.radians(travel))])
        loc = w.transform.location
        at = np.array([loc.x, loc.y]) + d * (float(np.dot(np.array(a.pole[:2]) - (loc.x, loc.y), d)) - 15.0)
        spec = CameraSpec("f", (at[0], at[1], loc.z + 1.6, 0.0, 0.0, travel), 200, 100, 90.0)
        mine = [Actor(ActorKind.TRAFFIC_LIGHT, h, LIGHT_HEAD_HALF_EXTENTS, light_state=2) for h in a.heads]
        sem = r.render([spec], actors=mine)[0].semantic
        assert (sem == S.TRAFFIC_LIGHT).sum() > 4, f"light {a.light_id} not visible from its stop line"
    assert len(heads) >= len(lights)
    r.release()


@pytest.mark.parametrize("name", MAPS)
def test_junctions_have_no_holes(built, name):
    """Seen from above (rays down every 25 cm over each junction), no patch of grass or bare
    ground lies enclosed by the junction's road: its gaps between lanes are paved."""
    m, scene = built(name)
    caster = RayCaster(scene.mesh)
    for j in m.junctions.values():
        b = j.bounding_box
        xs = np.arange(b.location.x - b.extent.x, b.location.x + b.extent.x, 0.25)
        ys = np.arange(b.location.y - b.extent.y, b.location.y + b.extent.y, 0.25)
        gx, gy = np.meshgrid(xs, ys)
        sem = _down(caster, np.column_stack([gx.ravel(), gy.ravel()])).semantic.reshape(gx.shape)
        # poles, arms and crowns over the road count as road here: only what lies on the ground matters
        road = np.isin(sem, ROADISH + (S.POLES, S.TRAFFIC_LIGHT, S.VEGETATION, S.STATIC))
        n, labels, stats, _ = cv2.connectedComponentsWithStats((~road).astype(np.uint8), connectivity=4)
        for k in range(1, n):
            x, y, w, h, area = stats[k]
            enclosed = x > 0 and y > 0 and x + w < road.shape[1] and y + h < road.shape[0]
            bare = np.isin(sem[labels == k], (S.TERRAIN, S.UNLABELED)).all()
            assert not (enclosed and bare and area * 0.0625 < 30.0), \
                f"{name}: junction {j.id} has a {area * 0.0625:.1f} m^2 hole near ({xs[x]:.1f}, {ys[y]:.1f})"


# --- LiDAR / ray casting ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Town01", "LeadGrid001"])
def test_lidar_hits_the_road_at_its_height(built, name):
    m, scene = built(name)
    caster = RayCaster(scene.mesh)
    spawns = m.get_spawn_points()[::11][:40]
    for t in spawns:
        road_z = t.location.z - 0.5           # spawn points float 0.5 m above the road
        hit = _down(caster, [(t.location.x, t.location.y)], z0=road_z + 2.5)
        assert hit.semantic[0] in ROADISH
        assert abs((road_z + 2.5 - hit.distance[0]) - road_z) < 0.015   # paint is 1 cm proud
    # a LiDAR 2.5 m above the first spawn: returns just ahead on the lane come from the road at -2.5 m
    t = spawns[0]
    lidar = RayCastLidar(LidarSpec(channels=32, range=50.0, lower_fov=-30.0, upper_fov=10.0,
                                   points_per_second=600_000, dropoff_general_rate=0.0), semantic=True)
    sensor = pose_matrix((t.location.x, t.location.y, t.location.z - 0.5 + 2.5, 0.0, 0.0, t.rotation.yaw))
    scan = lidar.measure(caster, sensor, dt=0.1)
    p = scan.points
    near = (p[:, 0] > 4.5) & (p[:, 0] < 8.0) & (np.abs(p[:, 1]) < 1.0)
    assert near.sum() > 20
    assert np.all(np.isin(scan.object_tag[near], ROADISH))
    assert np.allclose(p[near, 2], -2.5, atol=0.02)


def test_sidewalks_are_raised_and_kerbed(built):
    m, scene = built("Town01")
    caster = RayCaster(scene.mesh)
    walks = [g for g in m.lane_geometry(1.0) if g.lane_type & LaneType.Sidewalk and not g.is_junction]
    pts = np.concatenate([g.center[5:-5:10] for g in walks])
    hit = _down(caster, pts[:, :2])
    top = 20.0 - hit.distance
    on_walk = hit.semantic == S.SIDEWALKS
    assert on_walk.mean() > 0.85   # street trees and lamps stand on some
    assert np.allclose(top[on_walk], pts[on_walk, 2] + KERB_HEIGHT, atol=0.01)
    # kerb faces: a horizontal ray along the road at 5 cm height stops at a kerb, tagged sidewalk
    g = walks[0]
    i = len(g.left) // 2
    inward = g.left[i, :2] - g.right[i, :2]
    inward /= np.linalg.norm(inward)
    origin = np.array([*(g.left[i, :2] + inward * 2.0), g.left[i, 2] + 0.05])
    h = caster.cast(origin, np.array([*(-inward), 0.0]), 10.0)
    assert h.semantic[0] == S.SIDEWALKS and abs(h.distance[0] - 2.0) < 0.05


def test_broken_lines_follow_the_dash_pattern(built):
    """Along a long broken mark on Town10HD, rays down meet paint for BROKEN_ON metres, then
    asphalt for BROKEN_OFF metres, repeatedly."""
    m, scene = built("Town10HD")
    caster = RayCaster(scene.mesh)
    best = None
    for g in m.lane_geometry(0.25):
        if g.is_junction or not g.lane_type & LaneType.Driving or g.lane_id != -1:
            continue
        for span in g.right_marks:
            if span.marking.type == LaneMarkingType.Broken and span.s1 - span.s0 > 40:
                if best is None or span.s1 - span.s0 > best[1].s1 - best[1].s0:
                    best = (g, span)
    assert best is not None
    g, span = best
    sel = (g.s > span.s0 + 0.1) & (g.s < span.s1 - 0.1)
    pts = g.right[sel]
    paint = _down(caster, pts[:, :2]).semantic == S.ROAD_LINES
    step = float(np.median(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)))
    edges = np.flatnonzero(np.diff(paint.astype(int)))
    runs = np.diff(edges) * step
    on = runs[0::2] if paint[edges[0] + 1] else runs[1::2]
    off = runs[1::2] if paint[edges[0] + 1] else runs[0::2]
    assert len(on) >= 3 and len(off) >= 3
    assert np.allclose(on, BROKEN_ON, atol=0.6) and np.allclose(off, BROKEN_OFF, atol=0.6), (on, off)


def test_crosswalks_have_bars(built):
    m, scene = built("Town10HD")
    caster = RayCaster(scene.mesh)
    cws = m.get_crosswalks()
    assert cws
    for cw in cws:
        poly = np.array([(p.x, p.y) for p in cw])
        lo, hi = poly.min(0), poly.max(0)
        gx, gy = np.meshgrid(np.arange(lo[0], hi[0], 0.1), np.arange(lo[1], hi[1], 0.1))
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        inside = np.array([cv2.pointPolygonTest(poly.astype(np.float32), (float(x), float(y)), True) > 0.3
                           for x, y in xy])
        paint = (_down(caster, xy[inside]).semantic == S.ROAD_LINES).mean()
        assert 0.3 < paint < 0.65, f"crosswalk painted {paint:.0%}"   # bars 0.5 m, gaps 0.6 m


def test_stop_lines_before_stop_signs(built):
    m, scene = built("LeadGrid001")
    caster = RayCaster(scene.mesh)
    stops = m.get_stop_signs()
    assert stops and len(scene.stop_signs) == len(stops)
    for sg in stops:
        for w in sg.stop_waypoints:
            loc, yaw = w.transform.location, math.radians(w.transform.rotation.yaw)
            along = np.arange(-3.0, 0.01, 0.05)
            xy = np.column_stack([loc.x + along * math.cos(yaw), loc.y + along * math.sin(yaw)])
            assert (_down(caster, xy).semantic == S.ROAD_LINES).any(), f"no stop line before sign {sg.id}"
    for sp in scene.stop_signs:
        assert _down(caster, [sp.pose[:2]]).semantic[0] not in ROADISH, f"stop sign {sp.sign_id} on the road"


def test_buildings_stand_off_the_road(built):
    m, scene = built("LeadGrid001")
    caster = RayCaster(scene.mesh)
    boxes = scene.obstacle_arrays()
    b = boxes["semantic"] == S.BUILDINGS
    assert b.sum() > 100
    yaw = np.radians(boxes["yaw"][b])
    c, h = boxes["center"][b], boxes["half_extents"][b]
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (0, 0)):
        dx, dy = sx * h[:, 0], sy * h[:, 1]
        corners.append(np.column_stack([c[:, 0] + dx * np.cos(yaw) - dy * np.sin(yaw),
                                        c[:, 1] + dx * np.sin(yaw) + dy * np.cos(yaw)]))
    lanes = [g for g in m.lane_geometry(1.0) if g.lane_type & (ROAD_TYPES | LaneType.Sidewalk)]
    polys = [np.concatenate([g.left[:, :2], g.right[::-1, :2]]).astype(np.float32) for g in lanes]
    for p in np.concatenate(corners):
        assert all(cv2.pointPolygonTest(q, (float(p[0]), float(p[1])), False) < 0 for q in polys)
    # the buildings' tops are what a ray from above meets at their centres
    hit = _down(caster, c[:, :2], z0=100.0)
    assert (hit.semantic == S.BUILDINGS).mean() > 0.95


# --- cache and determinism --------------------------------------------------------------------

def _same(a, b) -> bool:
    return all(np.array_equal(getattr(a.mesh, k), getattr(b.mesh, k))
               for k in ("vertices", "triangles", "colors", "classes", "materials"))


def test_deterministic_per_seed_and_detail_levels():
    m = _map("LeadGrid001")
    a = build_static_scene(m, seed=3, detail="low", cache=False)
    b = build_static_scene(m, seed=3, detail="low", cache=False)
    c = build_static_scene(m, seed=4, detail="low", cache=False)
    assert _same(a, b) and a.obstacles == b.obstacles and a.light_heads == b.light_heads
    assert not _same(a, c)
    # the seed moves the props, never the roads
    road = [x.mesh.vertices[x.mesh.classes == S.ROADS] for x in (a, c)]
    assert np.array_equal(road[0], road[1])
    normal = build_static_scene(m, seed=3, detail="normal", cache=False)
    assert a.mesh.n_triangles < 0.8 * normal.mesh.n_triangles
    with pytest.raises(ValueError, match="unknown scene detail"):
        build_static_scene(m, detail="ultra", cache=False)


def test_cache_hit_returns_identical_scene(tmp_path: Path, monkeypatch):
    m = _map("LeadGrid001")
    first = build_static_scene(m, seed=1, detail="low", cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert not first.info["cache_hit"] and len(files) == 1
    again = build_static_scene(Map.from_file(REPO / "routes" / "LeadGrid001.xodr"), seed=1, detail="low",
                               cache_dir=tmp_path)
    assert again.info["cache_hit"]
    assert _same(first, again)
    assert again.traffic_lights == first.traffic_lights and again.signs == first.signs
    assert again.obstacles == first.obstacles
    assert all(np.array_equal(x, y) for x, y in zip(first.stop_lines, again.stop_lines))
    # another seed is another entry; a damaged entry is rebuilt
    build_static_scene(m, seed=2, detail="low", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    files[0].write_bytes(b"not a scene")
    rebuilt = build_static_scene(m, seed=1, detail="low", cache_dir=tmp_path)
    assert not rebuilt.info["cache_hit"] and _same(first, rebuilt)
    # the directory keeps the most recently used entries only
    monkeypatch.setattr(scene_builder, "_CACHE_ENTRIES", 2)
    build_static_scene(m, seed=1, detail="low", cache_dir=tmp_path)     # a hit: now the most recent
    build_static_scene(m, seed=5, detail="low", cache_dir=tmp_path)
    left = sorted(f.name for f in tmp_path.glob("*.npz"))
    assert len(left) == 2 and files[0].name in left
