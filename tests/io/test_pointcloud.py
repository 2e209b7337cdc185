import array

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import PointCloud2, PointField

from lead.io.pointcloud import (cloud_to_structured, cloud_to_xyzi, dtype_to_fields, structured_to_cloud,
                                xyzi_to_cloud)
from lead.io.stamps import make_header


def _cdr(msg: PointCloud2) -> PointCloud2:
    return deserialize_message(serialize_message(msg), PointCloud2)


def test_xyzi_layout_matches_the_bridge_and_reads_back_without_copy():
    pts = np.random.default_rng(1).normal(size=(1000, 4)).astype(np.float32)
    msg = _cdr(xyzi_to_cloud(pts, make_header(7, "lidar")))
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, PointField.FLOAT32, 1), ("y", 4, PointField.FLOAT32, 1),
        ("z", 8, PointField.FLOAT32, 1), ("intensity", 12, PointField.FLOAT32, 1)]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 1000, 16, 16000)
    assert msg.is_dense and msg.header.frame_id == "lidar"
    back = cloud_to_xyzi(msg)
    assert back.dtype == np.float32 and np.array_equal(back, pts)
    assert np.shares_memory(back, np.frombuffer(msg.data, np.uint8))


def test_xyzi_accepts_float64_and_refuses_other_shapes():
    pts = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert np.array_equal(cloud_to_xyzi(xyzi_to_cloud(pts)), pts.astype(np.float32))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        xyzi_to_cloud(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="floating point"):
        xyzi_to_cloud(np.zeros((3, 4), np.int32))


def test_empty_cloud():
    msg = _cdr(xyzi_to_cloud(np.zeros((0, 4), np.float32)))
    assert cloud_to_xyzi(msg).shape == (0, 4)


def test_radar_structured_fields_with_padding_and_mixed_types():
    dt = np.dtype({"names": ["x", "y", "z", "velocity", "sensor_id"],
                   "formats": [np.float32] * 4 + [np.uint8], "offsets": [0, 4, 8, 12, 16], "itemsize": 20})
    pts = np.zeros(50, dt)
    rng = np.random.default_rng(2)
    for n in ("x", "y", "z", "velocity"):
        pts[n] = rng.normal(size=50)
    pts["sensor_id"] = rng.integers(0, 4, 50)
    msg = _cdr(structured_to_cloud(pts, make_header(0, "radar")))
    assert [(f.name, f.offset, f.datatype) for f in msg.fields][-1] == ("sensor_id", 16, PointField.UINT8)
    assert msg.point_step == 20
    back = cloud_to_structured(msg)
    assert back.dtype.names == dt.names
    for n in dt.names:
        assert np.array_equal(back[n], pts[n])


def test_carla_radar_polar_fields():
    # CARLA's radar detection: depth, azimuth, altitude, velocity
    dt = np.dtype([("Range", np.float32), ("Azimuth", np.float32), ("Elevation", np.float32),
                   ("Velocity", np.float32)])
    pts = np.array([(10.0, 0.1, -0.05, -3.0), (55.5, -0.3, 0.02, 12.5)], dt)
    back = cloud_to_structured(_cdr(structured_to_cloud(pts)))
    assert back.tolist() == pts.tolist()
    with pytest.raises(ValueError, match=r"lacks field\(s\) \['x', 'y', 'z', 'intensity'\]"):
        cloud_to_xyzi(structured_to_cloud(pts))


def test_field_with_count_and_float64():
    dt = np.dtype([("xyz", np.float64, (3,)), ("ring", np.uint16)])
    pts = np.zeros(4, dt)
    pts["xyz"] = np.arange(12).reshape(4, 3)
    pts["ring"] = [3, 2, 1, 0]
    fields = dtype_to_fields(dt)
    assert (fields[0].count, fields[0].datatype, fields[1].offset) == (3, PointField.FLOAT64, 24)
    back = cloud_to_structured(_cdr(structured_to_cloud(pts)))
    assert np.array_equal(back["xyz"], pts["xyz"]) and np.array_equal(back["ring"], pts["ring"])


def test_xyzi_gathered_from_another_layout():
    dt = np.dtype([("intensity", np.float32), ("ring", np.uint16), ("x", np.float64), ("y", np.float64),
                   ("z", np.float64)])
    pts = np.zeros(3, dt)
    pts["x"], pts["y"], pts["z"], pts["intensity"] = [1, 2, 3], [4, 5, 6], [7, 8, 9], [0.5, 0.25, 1]
    out = cloud_to_xyzi(structured_to_cloud(pts))
    assert out.tolist() == [[1, 4, 7, 0.5], [2, 5, 8, 0.25], [3, 6, 9, 1]]


def test_organized_cloud_with_row_padding():
    h, w = 3, 4
    pts = np.arange(h * w * 4, dtype=np.float32).reshape(h, w, 4)
    rows = np.full((h, w * 16 + 8), 0xEE, np.uint8)
    rows[:, : w * 16] = pts.reshape(h, -1).view(np.uint8)
    msg = xyzi_to_cloud(np.zeros((1, 4), np.float32))
    msg.height, msg.width, msg.row_step = h, w, w * 16 + 8
    msg.data = array.array("B", rows.tobytes())
    grid = cloud_to_structured(msg)
    assert grid.shape == (h, w) and np.array_equal(grid["z"], pts[..., 2])
    assert np.array_equal(cloud_to_xyzi(msg), pts.reshape(-1, 4))


def test_big_endian_cloud_reads_correctly():
    be = np.dtype({"names": ["x", "y", "z", "intensity"], "formats": [">f4"] * 4,
                   "offsets": [0, 4, 8, 12], "itemsize": 16})
    pts = np.array([(1.5, -2.0, 3.25, 9.0)], be)
    msg = xyzi_to_cloud(np.zeros((1, 4), np.float32))
    msg.is_bigendian = True
    msg.data = array.array("B", pts.tobytes())
    assert cloud_to_xyzi(msg).tolist() == [[1.5, -2.0, 3.25, 9.0]]


def test_nan_marks_cloud_not_dense():
    pts = np.ones((2, 4), np.float32)
    pts[1, 0] = np.nan
    assert not xyzi_to_cloud(pts).is_dense


def test_bad_clouds_are_refused():
    msg = xyzi_to_cloud(np.ones((4, 4), np.float32))
    msg.data = msg.data[:-1]
    with pytest.raises(ValueError, match="data has 63 bytes"):
        cloud_to_structured(msg)
    msg = xyzi_to_cloud(np.ones((4, 4), np.float32))
    msg.fields[0].datatype = 42
    with pytest.raises(ValueError, match="unknown datatype 42"):
        cloud_to_structured(msg)
    with pytest.raises(ValueError, match="structured dtype"):
        structured_to_cloud(np.zeros(3, np.float32))
