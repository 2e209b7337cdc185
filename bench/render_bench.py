"""Sensor rendering of the embedded simulator, measured side by side on a synthetic town
(~50k triangles, 30 actors, traffic lights): camera fps (RGB + depth + class ids, readback
included) for one 1024x256 camera, LEAD's three 384x384 cameras and three 1024x512 (DESIGN.md's
reference), LiDAR rays/ms with Embree against a naive numpy ray-box baseline, three ways to
ray-cast the moving actors (templates in unit boxes, a per-tick Embree rebuild, numpy boxes),
radar. Timings are the fastest of repeated runs (the machine is shared). Prints ratios; the
last stdout line is one JSON object.

    .venv/bin/python bench/render_bench.py [--png DIR] [--seconds S]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from embreex import rtcore, rtcore_scene
from embreex.mesh_construction import TriangleMesh

from lead.sim.embedded.sensors import (Actor, CameraRenderer, CameraSpec, EGLUnavailable, LidarSpec, Mesh, Radar,
                                       RadarSpec, RayCaster, RayCastLidar, SemanticClass, TrafficLightState,
                                       Weather, actors_mesh, arm, box, extruded_polygon, flat_polygon, pole,
                                       polyline_strip, pose_matrix, ribbon, semantic_to_cityscapes, stop_sign, tree)

BLOCK = 80.0       # building block size (m)
ROAD = 14.0        # four lanes of 3.5 m
WALK = 4.0         # sidewalk width
GRID = 6           # blocks per side
PITCH = BLOCK + ROAD
WHITE, YELLOW = (225, 225, 220), (230, 190, 60)
EGO_X, STREET_Y = 2 * PITCH + 20.0, 3 * PITCH  # the ego drives east through the middle of the town
FACADES = [(178, 160, 140), (150, 150, 155), (190, 175, 150), (140, 110, 95), (200, 195, 185), (120, 125, 135)]


def _street_x(y: float, x0: float, x1: float, step: float) -> list[Mesh]:
    """A four-lane street along x between junctions, with its markings."""
    xs = np.arange(x0, x1 + 1e-6, step)
    if xs[-1] < x1:
        xs = np.append(xs, x1)
    line = lambda off: np.column_stack([xs, np.full(len(xs), y + off), np.zeros(len(xs))])  # noqa: E731
    parts = [ribbon(line(-ROAD / 2), line(ROAD / 2), (88, 88, 92), SemanticClass.ROADS)]
    parts += [polyline_strip(line(off), 0.12, YELLOW, SemanticClass.ROAD_LINES) for off in (-0.15, 0.15)]
    parts += [polyline_strip(line(off), 0.12, WHITE, SemanticClass.ROAD_LINES, dash=(3.0, 6.0)) for off in (-3.5, 3.5)]
    parts += [polyline_strip(line(off), 0.12, WHITE, SemanticClass.ROAD_LINES) for off in (-6.8, 6.8)]
    return parts


def _swap_xy(m: Mesh) -> Mesh:
    """The same geometry mirrored on x = y (streets along y from streets along x)."""
    v = m.vertices[:, [1, 0, 2]]
    return Mesh(v, m.triangles[:, [0, 2, 1]], m.colors, m.classes, m.materials)


def _crosswalk(cx: float, cy: float, road_along_x: bool) -> Mesh:
    """Zebra stripes across a road: 3 m long in the driving direction, 0.5 m wide, 1.2 m apart."""
    stripes = []
    for k in np.arange(-ROAD / 2 + 0.8, ROAD / 2 - 0.5, 1.2):
        seg = np.array([[cx - 1.5, cy + k, 0.0], [cx + 1.5, cy + k, 0.0]])
        if not road_along_x:
            seg = np.array([[cx + k, cy - 1.5, 0.0], [cx + k, cy + 1.5, 0.0]])
        stripes.append(polyline_strip(seg, 0.5, WHITE, SemanticClass.ROAD_LINES))
    return Mesh.concat(stripes)


def _building(x0: float, y0: float, x1: float, y1: float, floors: int, color) -> Mesh:
    foot = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    h = 3.2 * floors + 1.0
    parts = [extruded_polygon(foot, 0.15, 0.15 + h, color, SemanticClass.BUILDINGS, roof_color=(95, 95, 98))]
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    for f in range(floors):
        z = 0.15 + 3.2 * f + 2.0
        parts.append(box((cx, cy, z), (hx + 0.04, hy + 0.04, 0.6), (55, 65, 80), SemanticClass.BUILDINGS))
    return Mesh.concat(parts)


def synthetic_town(seed: int = 0, step: float = 2.0) -> tuple[Mesh, list[Actor], list[tuple[float, float, float]]]:
    """Static town mesh, traffic-light heads (actors) and the junction centres."""
    rng = np.random.default_rng(seed)
    span = GRID * PITCH
    parts = [flat_polygon(np.array([[-PITCH, -PITCH], [span + PITCH, -PITCH], [span + PITCH, span + PITCH],
                                    [-PITCH, span + PITCH]]), (95, 110, 70), SemanticClass.TERRAIN, z=-0.02)]
    junctions = [(i * PITCH, j * PITCH) for i in range(GRID + 1) for j in range(GRID + 1)]
    for k in range(GRID + 1):
        for i in range(GRID):
            x0, x1 = i * PITCH + ROAD / 2, (i + 1) * PITCH - ROAD / 2
            parts += _street_x(k * PITCH, x0, x1, step)
            parts += [_swap_xy(m) for m in _street_x(k * PITCH, x0, x1, step)]
    for jx, jy in junctions:
        sq = np.array([[jx - ROAD / 2, jy - ROAD / 2], [jx + ROAD / 2, jy - ROAD / 2], [jx + ROAD / 2, jy + ROAD / 2],
                       [jx - ROAD / 2, jy + ROAD / 2]])
        parts.append(flat_polygon(sq, (88, 88, 92), SemanticClass.ROADS, z=0.0))
        for s in (-1, 1):
            parts.append(_crosswalk(jx + s * (ROAD / 2 + 2.0), jy, road_along_x=True))
            parts.append(_crosswalk(jx, jy + s * (ROAD / 2 + 2.0), road_along_x=False))
    lights = []
    for i in range(GRID):
        for j in range(GRID):
            bx0, by0 = i * PITCH + ROAD / 2, j * PITCH + ROAD / 2
            bx1, by1 = bx0 + BLOCK, by0 + BLOCK
            ring = np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]])
            parts.append(extruded_polygon(ring, 0.0, 0.15, (160, 155, 150), SemanticClass.SIDEWALKS))
            inner = (bx0 + WALK, by0 + WALK, bx1 - WALK, by1 - WALK)
            # lots along the block's edges
            n_lots = 3
            lot = (inner[2] - inner[0]) / n_lots
            for a in range(n_lots):
                for side in (0, 1):
                    if rng.random() < 0.15:
                        continue  # a gap: a small park
                    lx0 = inner[0] + a * lot + 1.0
                    depth = rng.uniform(12.0, 22.0)
                    ly0, ly1 = (inner[1], inner[1] + depth) if side == 0 else (inner[3] - depth, inner[3])
                    parts.append(_building(lx0, ly0, lx0 + lot - 2.0, ly1, int(rng.integers(2, 11)),
                                           FACADES[int(rng.integers(len(FACADES)))]))
            parts.append(flat_polygon(np.array([[inner[0], inner[1] + 23], [inner[2], inner[1] + 23],
                                                [inner[2], inner[3] - 23], [inner[0], inner[3] - 23]]),
                                      (85, 125, 60), SemanticClass.TERRAIN, z=0.16))
            for t in np.arange(bx0 + 8.0, bx1 - 4.0, 12.0):
                for yy in (by0 + 1.5, by1 - 1.5):
                    parts.append(tree((t, yy, 0.15), rng.uniform(5.0, 8.0), rng.uniform(1.6, 2.4),
                                      crown_color=tuple(int(c) for c in rng.integers((45, 90, 30), (90, 140, 60)))))
            for t in np.arange(by0 + 14.0, by1 - 4.0, 24.0):
                for xx, d in ((bx0 + 0.5, 1.0), (bx1 - 0.5, -1.0)):
                    parts += [pole((xx, t, 0.15), 7.0), arm((xx, t, 7.1), (xx + 2.5 * d, t, 7.1))]
            # a traffic light on the block's near corner, facing traffic coming along +x
            cx, cy = bx0 + 0.6, by0 + 0.6
            parts += [pole((cx, cy, 0.15), 6.0), arm((cx, cy, 5.9), (cx, cy - 5.0, 5.9))]
            lights.append(Actor("traffic_light", (cx + 0.05, cy - 4.0, 5.3, 0, 0, 180.0), (0.28, 0.22, 0.6),
                                light_state=TrafficLightState(int(rng.integers(3))), actor_id=1000 + len(lights)))
            if (i + j) % 3 == 0:
                parts.append(stop_sign((bx1 - 0.6, by1 - 0.6, 0.15), yaw=0.0))
    return Mesh.concat(parts), lights, [(x, y, 0.0) for x, y in junctions]


def traffic(seed: int = 0) -> list[Actor]:
    """30 road users on and beside the ego's street (y = STREET_Y), deterministic."""
    rng = np.random.default_rng(seed + 1)
    paint = [(200, 30, 30), (30, 60, 170), (230, 230, 230), (25, 25, 28), (150, 150, 155), (60, 120, 70),
             (200, 160, 40)]
    actors: list[Actor] = []

    def add(kind, x, y, z, yaw, half, speed=0.0):
        rad = np.radians(yaw)
        actors.append(Actor(kind, (x, y, z, 0, 0, yaw), half, paint[int(rng.integers(len(paint)))],
                            actor_id=len(actors) + 1, velocity=(speed * np.cos(rad), speed * np.sin(rad), 0.0)))

    lanes = [(-5.25, 180.0), (-1.75, 180.0), (1.75, 0.0), (5.25, 0.0)]
    for k in range(18):
        off, yaw = lanes[k % 4]
        add("car", EGO_X - 50.0 + 17.0 * k + rng.uniform(-3, 3), STREET_Y + off, 0.76, yaw, (2.45, 1.06, 0.76),
            rng.uniform(0, 12))
    add("truck", EGO_X + 45.0, STREET_Y + 1.75, 1.7, 0.0, (3.6, 1.3, 1.7), 8.0)
    add("truck", EGO_X + 110.0, STREET_Y - 5.25, 1.7, 180.0, (3.6, 1.3, 1.7), 6.0)
    add("bus", EGO_X + 180.0, STREET_Y + 5.25, 1.65, 0.0, (5.5, 1.45, 1.65), 7.0)
    add("bicycle", EGO_X + 20.0, STREET_Y + 6.3, 0.9, 0.0, (0.9, 0.35, 0.9), 4.0)
    add("bicycle", EGO_X + 90.0, STREET_Y - 6.3, 0.9, 180.0, (0.9, 0.35, 0.9), 4.0)
    add("motorcycle", EGO_X + 60.0, STREET_Y - 1.75, 0.85, 180.0, (1.1, 0.45, 0.85), 10.0)
    for k in range(6):
        side = 1 if k % 2 else -1
        add("pedestrian", EGO_X - 20.0 + 25.0 * k, STREET_Y + side * (ROAD / 2 + 2.0), 0.15 + 0.93,
            rng.uniform(0, 360), (0.3, 0.3, 0.93), 1.2)
    return actors


LEAD_CAMERAS = [CameraSpec("rgb_1", (0.10, -0.35, 2.25, 0, 0, -54.5), 384, 384, 60.0),
                CameraSpec("rgb_2", (0.35, 0.00, 2.25, 0, 0, 0.0), 384, 384, 60.0),
                CameraSpec("rgb_3", (0.10, 0.35, 2.25, 0, 0, 54.5), 384, 384, 60.0)]
WIDE_CAMERA = [CameraSpec("front", (-1.5, 0.0, 2.0, 0, 0, 0), 1024, 256, 110.0)]
DESIGN_CAMERAS = [CameraSpec(f"c{i}", (0.35, 0.0, 2.25, 0, 0, yaw), 1024, 512, 60.0) for i, yaw in
                  enumerate((-60.0, 0.0, 60.0))]
LEAD_LIDAR = LidarSpec(channels=64, range=85.0, points_per_second=600000, rotation_frequency=10.0, upper_fov=10.0,
                       lower_fov=-30.0)
EGO_POSE = (EGO_X, STREET_Y + 1.75, 0.0, 0, 0, 0.0)
DESIGN_FPS = {"1x1024x256": 155.0, "3x1024x512": 50.0}  # DESIGN.md section 4, same machine kind


def _timeit(fn, seconds: float, min_runs: int = 3) -> float:
    """Fastest wall seconds per call after one warm-up call (the machine is shared: the
    fastest run is the code's own cost)."""
    fn()
    times, t_end = [], time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < t_end:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def numpy_ray_boxes(origin: np.ndarray, dirs: np.ndarray, centers: np.ndarray, half: np.ndarray,
                    rot: np.ndarray, max_dist: float) -> np.ndarray:
    """Naive baseline: every ray against every oriented box with the slab test, plus the ground
    plane z = 0; returns the nearest distance (inf where nothing)."""
    best = np.where(dirs[:, 2] < 0, -origin[2] / np.minimum(dirs[:, 2], -1e-12), np.inf)
    best[best > max_dist] = np.inf
    for c, h, r in zip(centers, half, rot):
        o = (origin - c) @ r          # into the box frame
        d = dirs @ r
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            t0, t1 = (-h - o) * inv, (h - o) * inv
        tmin = np.nanmax(np.minimum(t0, t1), axis=1)
        tmax = np.nanmin(np.maximum(t0, t1), axis=1)
        hit = (tmax >= np.maximum(tmin, 0.0)) & (tmin <= max_dist)
        t = np.where(tmin > 0, tmin, tmax)
        best = np.where(hit & (t < best), t, best)
    return best


def _boxes_of(actors: list[Actor]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = np.stack([pose_matrix(a.pose) for a in actors])
    return m[:, :3, 3], np.array([a.half_extents for a in actors], float), m[:, :3, :3]


def _building_boxes(static: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axis-aligned boxes around the town's buildings (for the baseline), one per 30 m cell of
    building triangles (about one building each)."""
    tri = static.triangles[static.triangle_classes() == SemanticClass.BUILDINGS]
    v = static.vertices[tri].reshape(-1, 3, 3)
    cent = v.mean(axis=1)
    key = np.round(cent[:, :2] / 30.0).astype(int)
    centers, half = [], []
    for k in np.unique(key, axis=0):
        pts = v[(key == k).all(axis=1)].reshape(-1, 3)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        centers.append((lo + hi) / 2)
        half.append((hi - lo) / 2)
    n = len(centers)
    return np.array(centers), np.array(half), np.repeat(np.eye(3)[None], n, axis=0)


def _save_pngs(out: Path, images, scans, ego_m: np.ndarray) -> None:
    import cv2
    out.mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        cv2.imwrite(str(out / f"{name}_rgb.png"), np.ascontiguousarray(img.rgb[:, :, ::-1]))
        cv2.imwrite(str(out / f"{name}_semantic.png"), semantic_to_cityscapes(img.semantic)[:, :, ::-1])
        d = np.clip(np.log1p(img.depth) / np.log1p(200.0), 0, 1)
        cv2.imwrite(str(out / f"{name}_depth.png"), (255 * (1 - d)).astype(np.uint8))
    bev = np.zeros((480, 480, 3), np.uint8)  # 4 px/m, ego in the middle, x up
    for scan, m in scans:
        ego_pts = scan.points[:, :3].astype(np.float64) @ m[:3, :3].T + m[:3, 3]
        ego_pts = (ego_pts - ego_m[:3, 3]) @ ego_m[:3, :3]
        u, v = (240 + ego_pts[:, 1] * 4).astype(int), (240 - ego_pts[:, 0] * 4).astype(int)
        ok = (u >= 0) & (u < 480) & (v >= 0) & (v < 480)
        colors = semantic_to_cityscapes(scan.object_tag[ok].astype(np.uint8))
        for du in (0, 1):
            bev[np.minimum(v[ok] + du, 479), u[ok]] = colors
    cv2.imwrite(str(out / "lidar_bev.png"), bev[:, :, ::-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--png", type=Path, help="write camera and LiDAR images here")
    ap.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = ap.parse_args(argv)
    res: dict[str, float | int | str] = {}

    t = time.perf_counter()
    static, lights, _ = synthetic_town()
    actors = traffic()
    scene_actors = actors + lights
    res["build_town_s"] = round(time.perf_counter() - t, 3)
    res["triangles"] = static.n_triangles
    res["actors"] = len(actors)
    res["traffic_lights"] = len(lights)
    print(f"town: {static.n_triangles} triangles, {len(actors)} actors + {len(lights)} traffic lights "
          f"(built in {res['build_town_s']} s)")
    ego_m = pose_matrix(EGO_POSE)

    # --- cameras ---
    try:
        t = time.perf_counter()
        renderer = CameraRenderer(static)
        res["camera_setup_ms"] = round(1e3 * (time.perf_counter() - t), 1)
        for name, cams in (("1x1024x256", WIDE_CAMERA), ("3x384x384", LEAD_CAMERAS), ("3x1024x512", DESIGN_CAMERAS)):
            s = _timeit(lambda: renderer.render(cams, EGO_POSE, scene_actors, Weather()), args.seconds)
            s_reuse = _timeit(lambda: renderer.render(cams, EGO_POSE, scene_actors, Weather(), reuse_buffers=True),
                              args.seconds)
            res[f"camera_{name}_fps"] = round(1.0 / s, 1)
            res[f"camera_{name}_reuse_fps"] = round(1.0 / s_reuse, 1)
            print(f"cameras {name}: {1e3 * s:.2f} ms ({1 / s:.0f} fps) RGB+depth+ids incl. readback; "
                  f"reusing buffers {1e3 * s_reuse:.2f} ms ({1 / s_reuse:.0f} fps)"
                  + (f"; {1 / s / DESIGN_FPS[name]:.2f}x the fps DESIGN.md measured on a bare scene"
                     if name in DESIGN_FPS else ""))
        images = dict(zip(("rgb_1", "rgb_2", "rgb_3"), [i.copy() for i in renderer.render(
            LEAD_CAMERAS, EGO_POSE, scene_actors, Weather())]))
        images["front"] = renderer.render(WIDE_CAMERA, EGO_POSE, scene_actors, Weather())[0]
    except EGLUnavailable as e:
        print(f"cameras skipped: {e}")
        res["camera"] = "unavailable"
        images = {}

    # --- LiDAR ---
    t = time.perf_counter()
    caster = RayCaster(static)
    caster.cast(np.zeros(3), np.array([[1.0, 0.0, 0.0]]), 1.0)  # Embree builds the BVH on first use
    res["bvh_build_ms"] = round(1e3 * (time.perf_counter() - t), 1)
    res["set_actors_ms"] = round(1e3 * _timeit(lambda: caster.set_actors(scene_actors), args.seconds / 2), 3)
    caster.set_actors(scene_actors)
    mounts = [ego_m @ pose_matrix((0.0, 0.0, 2.5, 0, 0, yaw)) for yaw in (-90.0, -270.0)]
    sem = RayCastLidar(LEAD_LIDAR, semantic=True)
    rays = LEAD_LIDAR.channels * LEAD_LIDAR.points_per_channel(0.05)
    s_sem = _timeit(lambda: sem.measure(caster, mounts[0]), args.seconds)
    lidars = [RayCastLidar(LEAD_LIDAR, seed=k) for k in range(2)]
    s_two = _timeit(lambda: [l.measure(caster, m) for l, m in zip(lidars, mounts)], args.seconds)
    scans = [(RayCastLidar(LEAD_LIDAR, semantic=True).measure(caster, m), m) for m in mounts]
    res["lidar_rays_per_tick"] = rays
    res["lidar_semantic_ms"] = round(1e3 * s_sem, 2)
    res["lidar_two_per_tick_ms"] = round(1e3 * s_two, 2)
    res["embree_rays_per_ms"] = round(rays / (1e3 * s_sem), 1)
    print(f"LiDAR 64ch 600k pts/s at 20 Hz: {rays} rays a tick; semantic {1e3 * s_sem:.2f} ms "
          f"({rays / (1e3 * s_sem):.0f} rays/ms); two LEAD LiDARs with dropoff {1e3 * s_two:.2f} ms a tick")

    # naive numpy baseline on a slice of the same rays: buildings and actors as boxes, ground as a plane
    dirs = (sem.ray_directions(0.05).reshape(-1, 3).astype(np.float64) @ mounts[0][:3, :3].T)[::8]
    bc, bh, br = _building_boxes(static)
    ac, ah, ar = _boxes_of(scene_actors)
    centers, half, rot = np.concatenate([bc, ac]), np.concatenate([bh, ah]), np.concatenate([br, ar])
    s_np = _timeit(lambda: numpy_ray_boxes(mounts[0][:3, 3], dirs, centers, half, rot, 85.0), args.seconds, 2)
    res["numpy_boxes"] = len(centers)
    res["numpy_rays_per_ms"] = round(len(dirs) / (1e3 * s_np), 2)
    res["embree_vs_numpy"] = round(res["embree_rays_per_ms"] / res["numpy_rays_per_ms"], 1)
    print(f"naive numpy ray-box ({len(centers)} boxes): {len(dirs) / (1e3 * s_np):.1f} rays/ms -> Embree is "
          f"{res['embree_vs_numpy']}x faster (and casts the real triangles)")

    # actors: templates cast in each actor's unit box (what RayCaster does) vs an Embree scene of the
    # actors' meshes rebuilt every tick vs analytic ray-box in numpy, same rays
    all_dirs = sem.ray_directions(0.05).reshape(-1, 3) @ mounts[0][:3, :3].T.astype(np.float32)
    only_actors = RayCaster(Mesh.concat([]))
    s_inst = _timeit(lambda: (only_actors.set_actors(scene_actors), only_actors.cast(mounts[0][:3, 3], all_dirs, 85.0)),
                     args.seconds)

    def rebuild_and_cast():
        scene = rtcore_scene.EmbreeScene(device)
        mesh = actors_mesh(scene_actors)[0]
        TriangleMesh(scene, mesh.vertices, mesh.triangles.astype(np.int32))
        o = np.ascontiguousarray(np.broadcast_to(mounts[0][:3, 3].astype(np.float32), all_dirs.shape))
        scene.run(o, np.ascontiguousarray(all_dirs), dists=85.0, output=1)

    device = rtcore.EmbreeDevice()
    s_rebuild = _timeit(rebuild_and_cast, args.seconds)
    s_np_dyn = _timeit(lambda: numpy_ray_boxes(mounts[0][:3, 3], all_dirs.astype(np.float64), ac, ah, ar, 85.0),
                       args.seconds, 2)
    res["actors_instanced_ms"] = round(1e3 * s_inst, 2)
    res["actors_embree_rebuild_ms"] = round(1e3 * s_rebuild, 2)
    res["actors_numpy_boxes_ms"] = round(1e3 * s_np_dyn, 2)
    print(f"{len(scene_actors)} actors against {rays} rays: unit-box templates {1e3 * s_inst:.2f} ms, Embree "
          f"rebuild+cast {1e3 * s_rebuild:.2f} ms ({s_rebuild / s_inst:.1f}x), numpy boxes {1e3 * s_np_dyn:.2f} ms "
          f"({s_np_dyn / s_inst:.1f}x)")

    # --- radar ---
    radars = [Radar(RadarSpec(horizontal_fov=90.0, vertical_fov=0.1), seed=k) for k in range(4)]
    radar_mounts = [ego_m @ pose_matrix((x, 0.0, 0.6, 0, 0, yaw)) for x, yaw in
                    ((2.6, -45.0), (2.6, 45.0), (-2.6, 135.0), (-2.6, 225.0))]
    s_radar = _timeit(lambda: [r.measure(caster, m) for r, m in zip(radars, radar_mounts)], args.seconds)
    res["radar_four_ms"] = round(1e3 * s_radar, 2)
    print(f"four LEAD radars (75 rays each): {1e3 * s_radar:.2f} ms a tick")

    if images and "camera_3x384x384_fps" in res:
        sensors_ms = 1e3 / float(res["camera_3x384x384_fps"]) + 1e3 * s_two + 1e3 * s_radar + float(
            res["set_actors_ms"])
        res["lead_rig_sensors_ms"] = round(sensors_ms, 1)
        print(f"LEAD rig sensors a tick (3 cameras + 2 LiDARs + 4 radars): {sensors_ms:.1f} ms "
              f"= {50.0 / sensors_ms:.2f}x real time at 20 Hz (sensors alone)")
    if args.png:
        _save_pngs(args.png, images, scans, ego_m)
        print(f"images written to {args.png}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
