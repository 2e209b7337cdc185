"""Cameras: semantic ids, CARLA planar depth, light states, weather, atlas, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.sim.embedded.sensors import (Actor, CameraRenderer, CameraSpec, EGLUnavailable, Mesh, SemanticClass,
                                       TrafficLightState, Weather, box, create_context, decode_depth,
                                       encode_depth, ribbon, world_matrix)

W, H = 320, 160
CAR_AHEAD = Actor("car", (15.0, 0.0, 0.76, 0, 0, 0), (2.45, 1.06, 0.76), (200, 30, 30), actor_id=7)


def _plane(half: float = 400.0, z: float = 0.0, cls: int = SemanticClass.ROADS) -> Mesh:
    xs = np.linspace(-half, half, 9)
    return ribbon(np.column_stack([xs, np.full(9, -half), np.full(9, z)]),
                  np.column_stack([xs, np.full(9, half), np.full(9, z)]), (100, 100, 100), cls)


@pytest.fixture(scope="module")
def ctx():
    try:
        c = create_context()
    except EGLUnavailable as e:
        pytest.skip(f"camera tests need a headless EGL OpenGL context: {e}")
    yield c
    c.release()


@pytest.fixture(scope="module")
def road(ctx) -> CameraRenderer:
    return CameraRenderer(_plane(), ctx=ctx)


def _ground_depth(spec: CameraSpec, cam_world: np.ndarray) -> np.ndarray:
    """Analytic planar depth of the plane z = 0 at every pixel centre (nan above the horizon)."""
    f = spec.intrinsics()[0, 0]
    u = np.arange(spec.width) + 0.5 - spec.width / 2
    v = np.arange(spec.height) + 0.5 - spec.height / 2
    uu, vv = np.meshgrid(u, v)
    rays = np.stack([np.ones_like(uu), uu / f, -vv / f], axis=-1)  # camera frame, forward component 1
    world = rays @ cam_world[:3, :3].T
    t = -cam_world[2, 3] / world[..., 2]
    return np.where(world[..., 2] < 0, t, np.nan)


def test_semantic_road_below_horizon_car_on_box(road):
    cam = CameraSpec("front", (0.0, 0.0, 2.0, 0, 0, 0), W, H, 90.0)
    img = road.render([cam], actors=[CAR_AHEAD])[0]
    sem = img.semantic
    assert sem.shape == (H, W) and sem.dtype == np.uint8
    # above the horizon only sky (the plane's far edge sits a hair below the horizon row)
    assert np.all(sem[: H // 2 - 1] == SemanticClass.SKY)
    # where the car projects: car pixels; elsewhere below the horizon: road
    # the car's front face (x = 15 - 2.45 m) between 0.35 and 0.9 m above the road, |y| < 0.9 m
    f, front = cam.intrinsics()[0, 0], 15.0 - 2.45
    u_left, u_right = W / 2 - f * 0.9 / front, W / 2 + f * 0.9 / front
    v_top, v_bottom = H / 2 + f * (2.0 - 0.9) / front, H / 2 + f * (2.0 - 0.35) / front
    car_block = sem[int(v_top) + 1: int(v_bottom), int(u_left) + 1: int(u_right)]
    assert car_block.size > 50 and np.all(car_block == SemanticClass.CAR)
    below = sem[H // 2 + 2:].copy()
    below[:, int(u_left) - 3: int(u_right) + 4] = SemanticClass.ROADS
    assert np.all(below == SemanticClass.ROADS)


@pytest.mark.parametrize("pitch", [0.0, -12.0])
def test_depth_is_analytic_planar_depth(road, pitch):
    cam = CameraSpec("front", (0.0, 0.0, 2.0, 0, pitch, 0), W, H, 90.0)
    img = road.render([cam], parent_pose=(10.0, 5.0, 0.0, 0, 0, 30.0))[0]
    expected = _ground_depth(cam, world_matrix(cam.pose, (10.0, 5.0, 0.0, 0, 0, 30.0)))
    valid = np.isfinite(expected) & (expected < 150.0)
    assert valid.sum() > W * H / 4
    rel = np.abs(img.depth[valid] - expected[valid]) / expected[valid]
    assert rel.max() < 0.01
    assert np.all(img.depth[img.semantic == SemanticClass.SKY] == 1000.0)


def test_depth_encoding_round_trip():
    rng = np.random.default_rng(3)
    d = np.concatenate([rng.uniform(0, 1000, 10000), [0.0, 1000.0, 0.5, 999.99]]).astype(np.float32)
    enc = encode_depth(d)
    assert enc.dtype == np.uint8 and enc.shape == (len(d), 3)
    assert np.abs(decode_depth(enc) - d).max() <= 1000.0 / (256 ** 3 - 1)
    # R is the low byte, as CARLA: 1000 m is all ones, one step is R = 1
    assert enc[-3].tolist() == [255, 255, 255]
    assert decode_depth(np.array([[1, 0, 0]], np.uint8))[0] == pytest.approx(1000.0 / (256 ** 3 - 1))


def test_traffic_light_state_shows_in_rgb_not_in_classes(ctx):
    r = CameraRenderer(_plane(), ctx=ctx)
    cam = CameraSpec("tl", (0.0, 0.0, 3.0, 0, 0, 0), 160, 160, 20.0)
    images = {}
    for state in (TrafficLightState.RED, TrafficLightState.GREEN, TrafficLightState.OFF):
        light = Actor("traffic_light", (8.0, 0.0, 3.0, 0, 0, 180.0), (0.28, 0.22, 0.6), light_state=state)
        images[state] = r.render([cam], actors=[light])[0].copy()
    mask = images[TrafficLightState.RED].semantic == SemanticClass.TRAFFIC_LIGHT
    assert mask.sum() > 500
    for img in images.values():
        assert np.array_equal(img.semantic == SemanticClass.TRAFFIC_LIGHT, mask)
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = rows[: len(rows) // 3], rows[-len(rows) // 3:]

    def lamp(img, band, channel):
        return img.rgb[band][mask[band]][:, channel].astype(int).max()

    red, green, off = (images[s] for s in (TrafficLightState.RED, TrafficLightState.GREEN, TrafficLightState.OFF))
    assert lamp(red, top, 0) > 200 and lamp(green, top, 0) < 100 and lamp(off, top, 0) < 100
    assert lamp(green, bottom, 1) > 200 and lamp(red, bottom, 1) < 100
    assert not np.array_equal(red.rgb, green.rgb)


def test_deterministic_and_atlas_independent(ctx):
    static = Mesh.concat([_plane(), box((30.0, 8.0, 5.0), (6.0, 4.0, 5.0), (150, 120, 100), SemanticClass.BUILDINGS)])
    actors = [CAR_AHEAD, Actor("pedestrian", (9.0, 1.0, 0.93, 0, 0, 90), (0.3, 0.3, 0.93), (20, 140, 60))]
    cams = [CameraSpec("a", (0.35, 0.0, 2.25, 0, 0, 0), 192, 96, 60.0),
            CameraSpec("b", (0.1, 0.35, 2.25, 0, 0, 54.5), 128, 128, 60.0)]
    first = [i.copy() for i in CameraRenderer(static, ctx=ctx).render(cams, (1.0, 2.0, 0.0, 0, 0, 10.0), actors)]
    other = CameraRenderer(static, ctx=ctx)
    second = other.render(cams, (1.0, 2.0, 0.0, 0, 0, 10.0), actors, reuse_buffers=True)
    alone = other.render(cams[1:], (1.0, 2.0, 0.0, 0, 0, 10.0), actors)[0]
    for a, b in zip(first, second):
        assert a.rgba.tobytes() == b.rgba.tobytes()
        assert a.depth.tobytes() == b.depth.tobytes()
        assert a.semantic.tobytes() == b.semantic.tobytes()
    # alone, the camera sits elsewhere in the framebuffer: rasterisation may round a pixel differently
    assert np.array_equal(alone.semantic, first[1].semantic)
    assert np.abs(alone.rgba.astype(int) - first[1].rgba).max() <= 2
    assert np.max(np.abs(alone.depth - first[1].depth) / first[1].depth) < 1e-3
    assert first[0].rgb.shape == (96, 192, 3) and first[1].depth.shape == (128, 128)
    assert {SemanticClass.CAR, SemanticClass.PEDESTRIANS} <= set(np.unique(first[0].semantic).tolist())


def test_a_render_of_only_some_images_gives_the_same_pixels(ctx):
    """Cameras that publish RGB only render without the depth and class targets (the policy's
    rig): same RGB bytes; depth / semantic asked alone read what the full render reads."""
    static = Mesh.concat([_plane(), box((30.0, 8.0, 5.0), (6.0, 4.0, 5.0), (150, 120, 100), SemanticClass.BUILDINGS)])
    cams = [CameraSpec("a", (0.35, 0.0, 2.25, 0, 0, 0), 192, 96, 60.0),
            CameraSpec("b", (0.1, 0.35, 2.25, 0, 0, 54.5), 128, 128, 60.0)]
    r = CameraRenderer(static, ctx=ctx)
    full = [i.copy() for i in r.render(cams, actors=[CAR_AHEAD])]
    for channels in (("rgb",), ("depth",), ("semantic",), ("rgb", "depth", "semantic"), ("rgb",)):
        part = r.render(cams, actors=[CAR_AHEAD], channels=channels, reuse_buffers=True)
        for a, b in zip(full, part):
            assert a.rgba.tobytes() == b.rgba.tobytes(), channels
            for name in ("depth", "semantic"):
                if name in channels:
                    assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), (channels, name)
        if channels == ("rgb",):
            assert part[0].depth is None and part[0].semantic is None
    with pytest.raises(ValueError, match="unknown camera channels"):
        r.render(cams, channels=("infrared",))


def test_weather_night_and_fog(road):
    cam = CameraSpec("front", (0.0, 0.0, 2.0, 0, 0, 0), 128, 64, 90.0)
    noon = road.render([cam], actors=[CAR_AHEAD], weather=Weather())[0].copy()
    night = road.render([cam], actors=[CAR_AHEAD], weather=Weather(sun_altitude_angle=-30.0))[0].copy()
    fog = road.render([cam], actors=[CAR_AHEAD], weather=Weather(fog_density=80.0, fog_distance=5.0))[0].copy()
    assert night.rgb.mean() < 0.4 * noon.rgb.mean()
    assert np.array_equal(night.semantic, noon.semantic) and np.array_equal(fog.depth, noon.depth)
    # fog pulls the far road towards the horizon's colour and leaves the near road nearly alone
    horizon = noon.rgb[31].astype(float).mean(axis=0)
    near, far = slice(56, 64), slice(33, 36)

    def gap(img, rows):
        return np.linalg.norm(img.rgb[rows].reshape(-1, 3).astype(float).mean(axis=0) - horizon)
    assert gap(fog, far) < 0.5 * gap(noon, far)
    assert abs(gap(fog, near) - gap(noon, near)) < abs(gap(fog, far) - gap(noon, far))


def test_camera_yaw_looks_right(road):
    # a car at +y (right in CARLA's frame) is seen by a camera yawed +90 degrees, not by one yawed -90
    car = Actor("car", (0.0, 12.0, 0.76, 0, 0, 0), (2.45, 1.06, 0.76))
    right, left = road.render([CameraSpec("r", (0, 0, 2.0, 0, 0, 90.0), 96, 64, 90.0),
                               CameraSpec("l", (0, 0, 2.0, 0, 0, -90.0), 96, 64, 90.0)], actors=[car])
    assert (right.semantic == SemanticClass.CAR).sum() > 50
    assert (left.semantic == SemanticClass.CAR).sum() == 0
    assert math.isclose(float(right.depth[right.semantic == SemanticClass.CAR].min()), 12.0 - 1.06, rel_tol=0.02)


def test_chunk_culling_draws_the_same_picture(ctx):
    # a field of buildings all around: most are outside a 60-degree camera's frustum
    blocks = [box((x, y, 4.0), (3.0, 3.0, 4.0), (150, 130, 110), SemanticClass.BUILDINGS)
              for x in range(-200, 201, 25) for y in range(-200, 201, 25) if abs(x) + abs(y) > 30]
    static = Mesh.concat([_plane(), *blocks])
    cam = [CameraSpec("c", (0.0, 0.0, 2.0, 0, 0, 20.0), 192, 128, 60.0)]
    culled = CameraRenderer(static, ctx=ctx, chunk_size=32.0)
    whole = CameraRenderer(static, ctx=ctx, chunk_size=1e6)  # one chunk: everything drawn
    a = culled.render(cam)[0].copy()
    b = whole.render(cam)[0]
    assert np.mean(a.semantic == b.semantic) > 0.999 and np.mean(a.depth == b.depth) > 0.999
    assert (a.semantic == SemanticClass.BUILDINGS).sum() > 1000
    whole.release()  # a renderer sharing the context leaves it usable
    assert culled.render(cam)[0].semantic.tobytes() == a.semantic.tobytes()


def test_small_detail_is_drawn_only_nearby(ctx):
    from lead.sim.embedded.sensors import pole
    static = Mesh.concat([_plane(), pole((50.0, 0.0, 0.0), 8.0, radius=0.1)])
    cam = [CameraSpec("c", (0.0, 0.0, 2.0, 0, 0, 0), 256, 128, 30.0)]
    near = CameraRenderer(static, ctx=ctx, detail_distance=150.0).render(cam)[0]
    assert (near.semantic == SemanticClass.POLES).sum() > 10
    far = CameraRenderer(static, ctx=ctx, detail_distance=40.0).render(cam)[0]
    assert (far.semantic == SemanticClass.POLES).sum() == 0


@pytest.mark.parametrize("sun_azimuth", [180.0, 0.0, 90.0])
def test_a_face_is_lit_by_its_own_normal(ctx, sun_azimuth):
    """Lambert light of a face with CARLA's sun: a wall facing the camera (normal -x) at 10 m,
    pixel colour = paint * (ambient * 0.75 + sun * max(n . sun, 0)), even over the face; the
    same with the wall's triangles wound the other way (faces are two-sided) and for a box
    actor (instanced, scaled) turned 90 degrees."""
    from lead.sim.embedded.sensors.camera import _lighting

    weather = Weather(cloudiness=0.0, sun_altitude_angle=30.0, sun_azimuth_angle=sun_azimuth)
    light = _lighting(weather)
    sun = np.array(light["u_sun_dir"])
    expect = 200.0 * (np.array(light["u_ambient"]) * 0.75 + np.array(light["u_sun_color"]) * max(-sun[0], 0.0))
    spec = CameraSpec("front", (0.0, 0.0, 1.5, 0, 0, 0), 64, 64, 60.0)
    wall = box((10.0, 0.0, 1.5), (1.0, 6.0, 6.0), (200, 200, 200), SemanticClass.BUILDINGS)
    inward = Mesh(wall.vertices, wall.triangles[:, ::-1], wall.colors, wall.classes)
    prop = Actor("car", (10.0, 0.0, 1.5, 0, 0, 90.0), (6.0, 1.0, 6.0), (200, 200, 200), actor_id=3)
    for mesh, actors in ((wall, []), (inward, []), (_plane(z=-50.0), [prop])):
        renderer = CameraRenderer(mesh, ctx=ctx)
        try:
            rgb = renderer.render([spec], None, actors, weather)[0].rgb[24:40, 24:40].astype(float)
        finally:
            renderer.release()
        assert np.ptp(rgb, axis=(0, 1)).max() <= 1, "a flat face must be lit evenly"
        assert np.allclose(rgb.mean(axis=(0, 1)), np.minimum(expect, 255.0), atol=1.5), (rgb.mean(axis=(0, 1)), expect)
