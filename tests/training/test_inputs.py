"""The preprocessing function (lead.model.inputs) on a real expert bag: shapes, content, LiDAR
motion compensation, and the cache's training sample == what the policy's preprocessing builds."""
from __future__ import annotations

import numpy as np
import pytest

from lead.model.config import load_config
from lead.model.inputs import LidarSweep, build_inputs, lidar_histogram
from lead.model.tfv6 import input_shapes
from lead.sim.rig import load_rig

from .conftest import bag_frames


@pytest.fixture(scope="module")
def rig():
    return load_rig("lead")


def test_build_inputs_shapes_and_content(bag, rig):
    import cv2

    cfg = load_config("tfv6_small")
    frames = bag_frames(bag, cfg, rig)
    assert len(frames) >= 6
    expected = {k: v[1:] for k, v in input_shapes(cfg).items()}
    for _, x, f in frames:
        assert {k: v.shape for k, v in x.items()} == expected
        assert all(v.dtype == np.float32 for v in x.values())
        # rgb_2 (front) is the middle third, resized from 384 to 128 with area interpolation
        mid = cv2.resize(f.cameras["rgb_2"], (128, 128), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
        assert np.array_equal(x["rgb"][:, :, 128:256], mid.astype(np.float32))
        assert 0.0 <= x["rgb"].min() and x["rgb"].max() <= 255.0
        lid = x["rasterized_lidar"]
        assert 0.0 <= lid.min() and lid.max() <= 1.0 and (lid > 0).sum() > 500
        assert np.array_equal(x["radar"][:, 4], np.repeat(np.arange(4), 75).astype(np.float32))
        # radar1 looks 45 deg to the left (yaw -45, hfov 90): its points lie in the front-left quadrant
        r1 = x["radar"][:75][np.any(x["radar"][:75, :3] != 0, axis=1)]
        assert len(r1) > 0
        ang = np.degrees(np.arctan2(r1[:, 1], r1[:, 0] - 2.6))
        assert ang.min() >= -91.0 and ang.max() <= 1.0
        assert x["speed"] == pytest.approx(f.speed)
        assert x["command"].sum() == 1.0
        assert x["target_point"][0] > 0.0  # the next route target lies ahead on a straight start
    # the ego accelerates from rest
    assert frames[-1][1]["speed"] > frames[0][1]["speed"] + 2.0


def test_lidar_motion_compensation_sharpens_the_static_world(bag, rig):
    cfg = load_config("tfv6_small")
    _, x, f = bag_frames(bag, cfg, rig)[-1]
    assert len(f.lidar) == cfg.lidar.steps
    moved = np.hypot(f.lidar[0].pose[0] - f.pose[0], f.lidar[0].pose[1] - f.pose[1])
    assert moved > 2.0  # the sweeps span real ego motion

    def to_current(s):  # independent 2D rigid transform with matrices
        def m(p):
            c, si = np.cos(p[2]), np.sin(p[2])
            return np.array([[c, -si, p[0]], [si, c, p[1]], [0, 0, 1]])
        h = np.c_[s.points[:, :2], np.ones(len(s.points))] @ (np.linalg.inv(m(f.pose)) @ m(s.pose)).T
        return np.c_[h[:, :2], s.points[:, 2]]

    compensated = np.concatenate([to_current(s) for s in f.lidar])
    # same histogram up to points on a cell border (float rounding of two implementations)
    assert (x["rasterized_lidar"] != lidar_histogram(compensated, cfg)).sum() <= 5
    # static structure (points above the ground rings, which move with the car) lines up
    naive = np.concatenate([s.points for s in f.lidar])
    cells = [(lidar_histogram(p[p[:, 2] > 0.5], cfg) > 0).sum() for p in (compensated, naive)]
    assert cells[0] < 0.9 * cells[1]
    # one sweep at the current pose is used as it is
    same = build_inputs(type(f)(f.stamp_ns, f.cameras, [LidarSweep(f.lidar[-1].points, f.pose)], f.radar, f.pose,
                                f.speed, f.targets), cfg, rig)
    assert np.array_equal(same["rasterized_lidar"], lidar_histogram(f.lidar[-1].points, cfg))


@pytest.mark.parametrize("perturbed", [False, True])
def test_training_sample_equals_policy_preprocessing(bag, rig, tiny_cache, tiny_config, perturbed):
    from lead.training.dataset import CacheDataset

    cfg = load_config(tiny_config)
    ds = CacheDataset(tiny_cache, cfg)
    assert len(ds) >= 4
    policy = {stamp: x for stamp, x, _ in bag_frames(bag, cfg, rig, perturbed)}
    for i in range(len(ds)):
        stamp = int(ds.raw(i)["stamp_ns"])
        cached = ds.inputs(i, perturbed)
        assert cached.keys() == policy[stamp].keys()
        for k in cached:
            assert cached[k].dtype == policy[stamp][k].dtype
            assert np.array_equal(cached[k], policy[stamp][k]), (i, k)
    if perturbed:  # the perturbated view really differs
        assert not np.array_equal(ds.inputs(0, True)["rgb"], ds.inputs(0, False)["rgb"])


def test_lidar_histogram_counts_points_per_cell():
    """Against a plain per-point count: cells from floor((x - min_x) * ppm), (y - min_y) * ppm,
    points outside the grid or the z band (or NaN) dropped, counts capped and scaled."""
    cfg = load_config("tfv6_small")
    b, lc = cfg.bev, cfg.lidar
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(b.min_x - 5, b.max_x + 5, 20000), rng.uniform(b.min_y - 5, b.max_y + 5, 20000),
                rng.uniform(lc.min_z - 2, lc.max_z + 2, 20000)]
    pts[:4000] = (1.0, 1.0, 0.0)  # one cell far above the cap
    pts[4000, :] = (b.min_x, b.min_y, lc.min_z)  # the grid's corner and the band's edge count
    pts[4001, :] = (b.max_x, 0.0, 0.0)  # the far edge does not
    pts[4002, 0] = np.nan
    want = np.zeros((cfg.lidar_height_pixel, cfg.lidar_width_pixel))
    for x, y, z in pts:
        if not (lc.min_z <= z <= lc.max_z):
            continue
        c, r = np.floor((x - b.min_x) * b.pixels_per_meter), np.floor((y - b.min_y) * b.pixels_per_meter)
        if 0 <= c < want.shape[1] and 0 <= r < want.shape[0]:
            want[int(r), int(c)] += 1
    got = lidar_histogram(pts, cfg)
    assert got.shape == (1, *want.shape) and got.dtype == np.float32
    assert np.array_equal(got[0], (np.minimum(want, lc.hist_max_per_pixel) / lc.hist_max_per_pixel).astype(np.float32))
    assert got[0, 0, 0] > 0 and got.max() == 1.0
