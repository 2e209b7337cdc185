"""Ray-cast LiDAR with CARLA's parameters: geometry, counts, sweep, dropoff, noise, semantics."""
from __future__ import annotations

import numpy as np
import pytest

from lead.sim.embedded.sensors import (Actor, LidarSpec, Mesh, RayCaster, RayCastLidar, SemanticClass,
                                       extruded_polygon, pose_matrix, ribbon, world_matrix)

NO_DROPOFF = dict(dropoff_general_rate=0.0, dropoff_intensity_limit=0.0, dropoff_zero_intensity=0.0)


def _plane(z: float = 0.0, half: float = 500.0) -> Mesh:
    xs = np.linspace(-half, half, 5)
    return ribbon(np.column_stack([xs, np.full(5, -half), np.full(5, z)]),
                  np.column_stack([xs, np.full(5, half), np.full(5, z)]), (90, 90, 90), SemanticClass.ROADS)


def _room(half: float = 8.0, height: float = 12.0) -> Mesh:
    """A closed box around the origin: every ray hits something within ~15 m."""
    floor = _plane(-height / 2, half + 1)
    walls = extruded_polygon(np.array([[-half, -half], [half, -half], [half, half], [-half, half]]),
                             -height / 2, height / 2, (150, 150, 150), SemanticClass.BUILDINGS)
    return Mesh.concat([floor, walls])


@pytest.fixture(scope="module")
def room() -> RayCaster:
    return RayCaster(_room())


def test_plane_hits_at_sensor_height():
    h = 2.5
    spec = LidarSpec(channels=32, range=200.0, points_per_second=64000, upper_fov=-1.0, lower_fov=-30.0, **NO_DROPOFF)
    lidar = RayCastLidar(spec, semantic=True)
    ego = (30.0, -12.0, 0.0, 0, 0, 37.0)
    scan = lidar.measure(RayCaster(_plane()), world_matrix((0.0, 0.0, h, 0, 0, 0), ego))
    p = scan.points
    assert len(p) == 32 * spec.points_per_channel(0.05)
    assert np.abs(p[:, 2] + h).max() < 1e-3
    # range of each ray: h / sin(-elevation); cos of the incidence angle is sin(-elevation)
    elevation = np.radians(np.repeat(spec.laser_angles(), spec.points_per_channel(0.05)))
    np.testing.assert_allclose(np.linalg.norm(p[:, :3], axis=1), h / np.sin(-elevation), rtol=1e-4)
    np.testing.assert_allclose(p[:, 3], np.sin(-elevation), atol=1e-4)
    assert set(scan.object_tag.tolist()) == {SemanticClass.ROADS} and not scan.object_idx.any()


def test_noise_moves_points_along_the_ray_by_stddev():
    h, sigma = 2.0, 0.05
    spec = LidarSpec(channels=16, range=60.0, points_per_second=64000, upper_fov=-5.0, lower_fov=-25.0,
                     noise_stddev=sigma, **NO_DROPOFF)
    scan = RayCastLidar(spec, seed=4).measure(RayCaster(_plane()), pose_matrix((0, 0, h, 0, 0, 0)))
    p = scan.points.astype(np.float64)
    elevation = np.radians(np.repeat(spec.laser_angles(), spec.points_per_channel(0.05)))
    residual = np.linalg.norm(p[:, :3], axis=1) - h / np.sin(-elevation)
    assert abs(residual.mean()) < 3 * sigma / np.sqrt(len(p))
    assert residual.std() == pytest.approx(sigma, rel=0.1)
    # the offset is along the ray: the azimuth and elevation of each point are unchanged
    np.testing.assert_allclose(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])), elevation, atol=1e-5)


def test_counts_and_angles_follow_the_parameters(room):
    spec = LidarSpec(channels=16, range=50.0, points_per_second=32000, rotation_frequency=10.0,
                     upper_fov=15.0, lower_fov=-25.0, **NO_DROPOFF)
    per_channel = spec.points_per_channel(0.05)
    assert per_channel == 100  # 32000 * 0.05 / 16
    scan = RayCastLidar(spec, semantic=True).measure(room, np.eye(4))
    assert len(scan.points) == 1600 and scan.channel_counts.tolist() == [100] * 16
    p = scan.points.astype(np.float64)
    elev = np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1]))).reshape(16, 100)
    np.testing.assert_allclose(elev, np.repeat(np.linspace(15.0, -25.0, 16)[:, None], 100, 1), atol=1e-3)
    # a 10 Hz LiDAR at 20 Hz starts at yaw -180 and sweeps half a turn, 1.8 degrees a ray
    yaw = np.degrees(np.arctan2(p[:, 1], p[:, 0])).reshape(16, 100)[0]
    np.testing.assert_allclose(np.diff(yaw), 1.8, atol=1e-3)
    assert yaw[0] == pytest.approx(-180.0, abs=1e-3) or yaw[0] == pytest.approx(180.0, abs=1e-3)


def test_two_ticks_cover_a_full_turn(room):
    spec = LidarSpec(channels=8, range=50.0, points_per_second=24000, rotation_frequency=10.0, **NO_DROPOFF)
    lidar = RayCastLidar(spec, semantic=True)
    yaws = []
    for tick in range(2):
        scan = lidar.measure(room, np.eye(4))
        assert scan.horizontal_angle == pytest.approx(180.0 * tick)
        yaws.append(np.degrees(np.arctan2(scan.points[:, 1], scan.points[:, 0])))
    assert lidar.horizontal_angle == pytest.approx(0.0)
    first, second = np.histogram(yaws[0], 36, (-180, 180))[0], np.histogram(yaws[1], 36, (-180, 180))[0]
    assert np.all((first > 0) != (second > 0))  # each tick covers the half the other misses
    assert np.all(first + second > 0)


def test_lead_rig_two_lidars_cover_360_in_one_tick(room):
    spec = LidarSpec(channels=64, range=85.0, points_per_second=600000, rotation_frequency=10.0,
                     upper_fov=10.0, lower_fov=-30.0)
    ego = pose_matrix((0.0, 0.0, 0.0, 0, 0, 0))
    yaws = []
    for yaw in (-90.0, -270.0):
        scan = RayCastLidar(spec, semantic=True).measure(room, ego @ pose_matrix((0, 0, 2.5, 0, 0, yaw)))
        assert len(scan.points) == 64 * 469  # round(600000 * 0.05 / 64) rays per laser
        # back to the ego frame
        yaws.append(np.degrees(np.arctan2(scan.points[:, 1], scan.points[:, 0])) + yaw)
    both = np.mod(np.concatenate(yaws) + 180.0, 360.0) - 180.0
    assert np.all(np.histogram(both, 72, (-180, 180))[0] > 0)


def test_general_dropoff_removes_its_share(room):
    # within 15 m the intensity exp(-0.004 d) stays above 0.8: only the general rate drops points
    spec = LidarSpec(channels=32, range=50.0, points_per_second=200000, dropoff_general_rate=0.45,
                     dropoff_intensity_limit=0.8, dropoff_zero_intensity=0.4)
    n = 32 * spec.points_per_channel(0.05)
    kept = len(RayCastLidar(spec, seed=11).measure(room, np.eye(4)).points)
    sd = np.sqrt(n * 0.45 * 0.55)
    assert abs(kept - 0.55 * n) < 4 * sd


def test_intensity_dropoff_keeps_the_expected_fraction(room):
    # limit 1.0: every hit goes through the intensity test, kept with 0.4 * I / 1.0 + 0.6
    base = dict(channels=32, range=50.0, points_per_second=200000, atmosphere_attenuation_rate=0.08)
    full = RayCastLidar(LidarSpec(**base, **NO_DROPOFF), semantic=True).measure(room, np.eye(4))
    intensity = np.exp(-0.08 * np.linalg.norm(full.points[:, :3].astype(np.float64), axis=1))
    p_keep = 0.4 * intensity + 0.6
    spec = LidarSpec(**base, dropoff_general_rate=0.0, dropoff_intensity_limit=1.0, dropoff_zero_intensity=0.4)
    scan = RayCastLidar(spec, seed=5).measure(room, np.eye(4))
    sd = np.sqrt(np.sum(p_keep * (1 - p_keep)))
    assert abs(len(scan.points) - p_keep.sum()) < 4 * sd
    np.testing.assert_allclose(scan.points[:, 3], np.exp(-0.08 * np.linalg.norm(scan.points[:, :3], axis=1)),
                               rtol=1e-5)


def test_semantic_lidar_tags_actors():
    car = Actor("car", (10.0, 0.0, 0.76, 0, 0, 0), (2.45, 1.06, 0.76), actor_id=42)
    caster = RayCaster(_plane())
    caster.set_actors([car])
    spec = LidarSpec(channels=32, range=60.0, points_per_second=200000, upper_fov=5.0, lower_fov=-25.0,
                     **NO_DROPOFF)
    lidar = RayCastLidar(spec, semantic=True)
    lidar.horizontal_angle = 180.0  # this tick's half turn faces forward
    scan = lidar.measure(caster, pose_matrix((0, 0, 2.0, 0, 0, 0)))
    on_car = scan.object_tag == SemanticClass.CAR
    assert on_car.sum() > 50
    assert set(scan.object_idx[on_car].tolist()) == {42} and not scan.object_idx[~on_car].any()
    x = scan.points[on_car, 0]
    assert x.min() > 10.0 - 2.45 - 0.05 and x.max() < 10.0 + 2.45
    assert np.all(scan.points[:, 3] > -1e-6) and np.all(scan.points[:, 3] <= 1.0 + 1e-6)


def test_same_seed_same_bytes(room):
    spec = LidarSpec(channels=32, range=50.0, points_per_second=100000, noise_stddev=0.02)
    a = [RayCastLidar(spec, seed=9).measure(room, np.eye(4)).points.tobytes() for _ in range(2)]
    b = RayCastLidar(spec, seed=10).measure(room, np.eye(4)).points.tobytes()
    assert a[0] == a[1] and a[0] != b


def test_attributes_from_a_rig_file():
    spec = LidarSpec.from_attributes({"channels": "64", "range": 85, "points_per_second": "600000",
                                      "upper_fov": "10", "lower_fov": "-30", "sensor_tick": "0.0"})
    assert spec.channels == 64 and spec.range == 85.0 and spec.points_per_channel(0.05) == 469
    with pytest.raises(ValueError, match="unknown LiDAR attributes"):
        LidarSpec.from_attributes({"chanels": 64})
