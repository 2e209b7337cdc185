"""tf2 semantics of lead.io.tf.Buffer, checked against matrices built independently."""
import logging
import math

import numpy as np
import pytest

from lead.io.tf import (Buffer, ConnectivityException, ExtrapolationException, InvalidArgumentException,
                        LookupException, make_transform, quat_to_matrix, to_matrix, transform_points)

S = 1_000_000_000


def yaw_q(yaw):
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def rpy_q(roll, pitch, yaw):
    cr, sr, cp, sp, cy, sy = (math.cos(roll / 2), math.sin(roll / 2), math.cos(pitch / 2), math.sin(pitch / 2),
                              math.cos(yaw / 2), math.sin(yaw / 2))
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


def mat(t, q):
    m = np.eye(4)
    x, y, z, w = q
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = t
    return m


@pytest.fixture
def tree():
    """map -> ego (dynamic, 1 s and 2 s) -> lidar, camera (static); map -> light (static)."""
    b = Buffer()
    b.set_transform(make_transform("map", "ego", 1 * S, (10, 0, 0), yaw_q(0.0)))
    b.set_transform(make_transform("map", "ego", 2 * S, (20, 4, 0), yaw_q(math.pi / 2)))
    b.set_transform(make_transform("ego", "lidar", 0, (1.3, 0, 2.5), rpy_q(0.01, 0.02, 0.03)), is_static=True)
    b.set_transform(make_transform("ego", "camera", 0, (1.5, -0.2, 2.0), rpy_q(-math.pi / 2, 0, -math.pi / 2)),
                    is_static=True)
    b.set_transform(make_transform("map", "light", 0, (50, 50, 5), yaw_q(1.0)), is_static=True)
    return b


def test_chain_through_common_ancestor(tree):
    m_map_ego = mat((20, 4, 0), yaw_q(math.pi / 2))
    m_ego_lidar = mat((1.3, 0, 2.5), rpy_q(0.01, 0.02, 0.03))
    m_ego_cam = mat((1.5, -0.2, 2.0), rpy_q(-math.pi / 2, 0, -math.pi / 2))
    m_map_light = mat((50, 50, 5), yaw_q(1.0))
    t = 2 * S
    assert np.allclose(tree.lookup_matrix("map", "lidar", t), m_map_ego @ m_ego_lidar)
    assert np.allclose(tree.lookup_matrix("lidar", "map", t), np.linalg.inv(m_map_ego @ m_ego_lidar))
    assert np.allclose(tree.lookup_matrix("camera", "lidar", t), np.linalg.inv(m_ego_cam) @ m_ego_lidar)
    assert np.allclose(tree.lookup_matrix("lidar", "light", t),
                       np.linalg.inv(m_map_ego @ m_ego_lidar) @ m_map_light)
    msg = tree.lookup_transform("map", "lidar", t)
    assert (msg.header.frame_id, msg.child_frame_id, msg.header.stamp.sec) == ("map", "lidar", 2)
    assert np.allclose(to_matrix(msg), m_map_ego @ m_ego_lidar)


def test_interpolation_lerps_translation_and_slerps_rotation(tree):
    got = tree.lookup_matrix("map", "ego", int(1.25 * S))
    assert np.allclose(got, mat((12.5, 1.0, 0), yaw_q(math.pi / 8)))
    got = tree.lookup_matrix("map", "lidar", int(1.5 * S))
    assert np.allclose(got, mat((15, 2, 0), yaw_q(math.pi / 4)) @ mat((1.3, 0, 2.5), rpy_q(0.01, 0.02, 0.03)))


def test_slerp_takes_the_short_way_round():
    b = Buffer()
    b.set_transform(make_transform("map", "ego", 0 * S + 1, (0, 0, 0), yaw_q(math.radians(170))))
    b.set_transform(make_transform("map", "ego", 1 * S + 1, (0, 0, 0), yaw_q(math.radians(-170))))
    r = b.lookup_matrix("map", "ego", S // 2 + 1)[:3, :3]
    assert np.allclose(r, quat_to_matrix(yaw_q(math.pi)))


def test_time_zero_uses_the_latest_common_time(tree):
    msg = tree.lookup_transform("lidar", "light")
    assert msg.header.stamp.sec == 2
    assert tree.lookup_transform("camera", "lidar").header.stamp.sec == 0  # static only
    tree.set_transform(make_transform("map", "truck", 1 * S + S // 2, (0, 0, 0)))
    assert tree.lookup_transform("truck", "ego").header.stamp.nanosec == S // 2


def test_extrapolation_errors_name_the_frames_and_times(tree):
    with pytest.raises(ExtrapolationException, match=r"into the future.*2\.5.*latest data is at time 2\.0.*"
                                                     r"from frame \[lidar\] to frame \[map\]"):
        tree.lookup_transform("map", "lidar", int(2.5 * S))
    with pytest.raises(ExtrapolationException, match=r"into the past.*earliest data is at time 1\.0"):
        tree.lookup_transform("lidar", "map", S // 2)
    single = Buffer()
    single.set_transform(make_transform("a", "b", 3 * S))
    with pytest.raises(ExtrapolationException, match=r"only time 3\.0+ is in the buffer"):
        single.lookup_transform("a", "b", 4 * S)
    assert single.can_transform("a", "b", 3 * S) and not single.can_transform("a", "b", 4 * S)


def test_static_links_do_not_extrapolate(tree):
    for t in (0, 1, 10**15):
        assert np.allclose(tree.lookup_matrix("camera", "lidar", t)[:3, 3],
                           tree.lookup_matrix("camera", "lidar", 2 * S)[:3, 3])


def test_unknown_disconnected_and_invalid_frames(tree):
    with pytest.raises(LookupException, match='frame "base_link" passed to lookup_transform as source_frame '
                                              'does not exist'):
        tree.lookup_transform("map", "base_link")
    tree.set_transform(make_transform("odom", "base_link", S), is_static=True)
    with pytest.raises(ConnectivityException, match="Could not find a connection between 'map' and 'base_link'"):
        tree.lookup_transform("map", "base_link")
    with pytest.raises(InvalidArgumentException, match="cannot be empty"):
        tree.lookup_transform("", "map")
    with pytest.raises(InvalidArgumentException, match='cannot start with "/"'):
        tree.lookup_transform("/map", "ego")
    assert np.allclose(tree.lookup_matrix("nowhere", "nowhere"), np.eye(4))  # identity needs no frame


def test_static_and_dynamic_mix_and_reparenting():
    b = Buffer()
    b.set_transform(make_transform("map", "ego", 0, (1, 2, 3)), is_static=True)
    assert b.lookup_matrix("map", "ego", 5 * S)[0, 3] == 1
    b.set_transform(make_transform("map", "ego", 5 * S, (7, 0, 0)))  # now dynamic: history starts here
    with pytest.raises(ExtrapolationException):
        b.lookup_transform("map", "ego", 4 * S)
    b.set_transform(make_transform("odom", "ego", 6 * S, (0, 1, 0)))  # new parent between stamps
    b.set_transform(make_transform("map", "odom", 0, (100, 0, 0)), is_static=True)
    # between 5 s (parent map) and 6 s (parent odom): no interpolation across parents, the older wins
    assert np.allclose(b.lookup_matrix("map", "ego", int(5.5 * S))[:3, 3], (7, 0, 0))
    assert np.allclose(b.lookup_matrix("map", "ego", 6 * S)[:3, 3], (100, 1, 0))


def test_cache_time_prunes_and_refuses_old_data(caplog):
    b = Buffer(cache_time=1.0)
    for k in range(30):
        assert b.set_transform(make_transform("map", "ego", k * S // 10, (k, 0, 0)))
    with pytest.raises(ExtrapolationException, match="into the past"):
        b.lookup_transform("map", "ego", S)
    assert b.lookup_matrix("map", "ego", 2 * S)[0, 3] == pytest.approx(20)
    with caplog.at_level(logging.WARNING, "lead.io.tf"):
        assert not b.set_transform(make_transform("map", "ego", S // 10, (0, 0, 0)))
    assert "older than the 1.0 s cache" in caplog.text


@pytest.mark.parametrize("bad,reason", [
    (make_transform("ego", "ego"), "both 'ego'"),
    (make_transform("", "ego"), "frame_id is empty"),
    (make_transform("map", ""), "child_frame_id is empty"),
    (make_transform("map", "ego", 0, (math.nan, 0, 0)), "NaN"),
    (make_transform("map", "ego", 0, (0, 0, 0), (0, 0, 0, 2)), "not normalised"),
])
def test_invalid_transforms_are_ignored_with_a_reason(bad, reason, caplog):
    b = Buffer()
    with caplog.at_level(logging.ERROR, "lead.io.tf"):
        assert not b.set_transform(bad)
    assert reason in caplog.text and b.frames() == []


def test_transform_points_keeps_extra_columns(tree):
    pts = np.array([[1, 0, 0, 0.5], [0, 2, 1, 0.25]], np.float32)
    out = tree.transform_points(pts, "map", "ego", 2 * S)
    assert out.dtype == np.float32 and np.allclose(out[:, 3], pts[:, 3])
    assert np.allclose(out[:, :3], [[20, 5, 0], [18, 4, 1]], atol=1e-5)
    assert np.allclose(transform_points(pts[:, :3], np.eye(4)), pts[:, :3])
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        transform_points(np.zeros(3), np.eye(4))
