"""Radar: CARLA's ray pattern, radial velocity signs, ego motion, detections layout."""
from __future__ import annotations

import numpy as np
import pytest

from lead.sim.embedded.sensors import (Actor, Mesh, Radar, RadarSpec, RayCaster, SemanticClass, box, pose_matrix,
                                       radar_to_xyz, ribbon)


def _ground() -> Mesh:
    xs = np.linspace(-300, 300, 5)
    return ribbon(np.column_stack([xs, np.full(5, -300), np.zeros(5)]),
                  np.column_stack([xs, np.full(5, 300), np.zeros(5)]), (90, 90, 90), SemanticClass.ROADS)


def _wall(x: float) -> Mesh:
    return box((x + 0.5, 0.0, 20.0), (0.5, 60.0, 25.0), (150, 150, 150), SemanticClass.WALLS)


def test_ray_pattern_and_layout():
    spec = RadarSpec(horizontal_fov=30.0, vertical_fov=20.0, range=100.0, points_per_second=1500)
    det = Radar(spec, seed=1).measure(RayCaster(_wall(20.0)), pose_matrix((0, 0, 5.0, 0, 0, 0)))
    assert det.shape == (75, 4) and det.dtype == np.float32  # int(1500 * 0.05) rays, all on the wall
    velocity, azimuth, altitude, depth = det.T
    assert np.all(np.abs(azimuth) <= np.radians(15.0) + 1e-6) and np.all(np.abs(altitude) <= np.radians(10.0) + 1e-6)
    assert np.abs(azimuth).max() > np.radians(8.0)  # the pattern fills the field of view
    np.testing.assert_allclose(radar_to_xyz(det)[:, 0], 20.0, atol=1e-3)
    np.testing.assert_allclose(depth * np.cos(altitude) * np.cos(azimuth), 20.0, atol=1e-3)
    assert not velocity.any()  # nothing moves


@pytest.mark.parametrize("vx, sign", [(-8.0, -1.0), (6.0, 1.0)])
def test_velocity_sign_for_approaching_and_receding(vx, sign):
    caster = RayCaster(_ground())
    target = Actor("truck", (25.0, 0.0, 1.7, 0, 0, 180.0), (3.6, 1.3, 1.7), velocity=(vx, 0.0, 0.0), actor_id=3)
    caster.set_actors([target])
    spec = RadarSpec(horizontal_fov=20.0, vertical_fov=3.0, range=100.0, points_per_second=4000)
    det = Radar(spec, seed=2).measure(caster, pose_matrix((0, 0, 1.0, 0, 0, 0)))
    on_truck = det[:, 3] < 30.0
    assert on_truck.sum() > 20
    v = det[on_truck, 0]
    cos = np.cos(det[on_truck, 1]) * np.cos(det[on_truck, 2])
    np.testing.assert_allclose(v, vx * cos, rtol=1e-4, atol=1e-5)
    assert np.all(np.sign(v) == sign)


def test_own_motion_counts_as_the_world_approaching():
    radar = Radar(RadarSpec(horizontal_fov=30.0, vertical_fov=10.0, range=100.0, points_per_second=1500), seed=3)
    caster = RayCaster(_wall(40.0))
    dt, speed = 0.05, 10.0
    first = radar.measure(caster, pose_matrix((0.0, 0.0, 5.0, 0, 0, 0)), dt)
    second = radar.measure(caster, pose_matrix((speed * dt, 0.0, 5.0, 0, 0, 0)), dt)
    assert not first[:, 0].any()  # no previous position on the first tick
    cos = np.cos(second[:, 1]) * np.cos(second[:, 2])
    np.testing.assert_allclose(second[:, 0], -speed * cos, rtol=1e-4)
    radar.reset()
    assert not radar.measure(caster, pose_matrix((5.0, 0.0, 5.0, 0, 0, 0)), dt)[:, 0].any()


def test_yawed_radar_reports_in_its_own_frame():
    # LEAD's rear-left radar: yaw 225 from an ego at yaw 30
    ego = pose_matrix((100.0, 50.0, 0.0, 0, 0, 30.0))
    sensor = ego @ pose_matrix((-2.6, 0.0, 0.6, 0, 0, 225.0))
    # a wall 15 m ahead of the sensor, facing it
    forward = sensor[:3, 0]
    centre = sensor[:3, 3] + forward * 15.5
    yaw = np.degrees(np.arctan2(forward[1], forward[0]))
    wall = box(centre, (0.5, 40.0, 20.0), (150, 150, 150), SemanticClass.WALLS, yaw=yaw)
    det = Radar(RadarSpec(horizontal_fov=90.0, vertical_fov=0.1), seed=4).measure(RayCaster(wall), sensor)
    assert len(det) == 75
    np.testing.assert_allclose(radar_to_xyz(det)[:, 0], 15.0, atol=1e-3)


def test_same_seed_same_bytes():
    caster = RayCaster(_wall(30.0))
    spec = RadarSpec()
    a = Radar(spec, seed=7).measure(caster, np.eye(4)).tobytes()
    assert a == Radar(spec, seed=7).measure(caster, np.eye(4)).tobytes()
    assert a != Radar(spec, seed=8).measure(caster, np.eye(4)).tobytes()
