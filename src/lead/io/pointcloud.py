"""numpy <-> sensor_msgs/PointCloud2.

Two ways in and out:
- LiDAR as an (N, 4) float32 array of x, y, z, intensity (carla-ros-bridge's lidar
  fields: offsets 0, 4, 8, 12, point_step 16);
- any other layout (radar: x, y, z, Range, Velocity, AzimuthAngle, ElevationAngle, or
  x, y, z, velocity, sensor_id ...) as a numpy structured array whose field names,
  types and offsets become the PointFields one to one.
Reading returns views on the message buffer where the layout allows it.
"""
from __future__ import annotations

import array
import sys
from typing import Sequence

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

# PointField datatype constant -> numpy type
DATATYPES: dict[int, np.dtype] = {
    PointField.INT8: np.dtype(np.int8),
    PointField.UINT8: np.dtype(np.uint8),
    PointField.INT16: np.dtype(np.int16),
    PointField.UINT16: np.dtype(np.uint16),
    PointField.INT32: np.dtype(np.int32),
    PointField.UINT32: np.dtype(np.uint32),
    PointField.FLOAT32: np.dtype(np.float32),
    PointField.FLOAT64: np.dtype(np.float64),
}
_CODES = {dt: code for code, dt in DATATYPES.items()}
_LITTLE_HOST = sys.byteorder == "little"
XYZI_FIELDS = ("x", "y", "z", "intensity")
XYZI_DTYPE = np.dtype({"names": list(XYZI_FIELDS), "formats": [np.float32] * 4,
                       "offsets": [0, 4, 8, 12], "itemsize": 16})


def fields_to_dtype(fields: Sequence[PointField], point_step: int, is_bigendian: bool = not _LITTLE_HOST) -> np.dtype:
    """Structured dtype (itemsize = point_step) for a list of PointFields."""
    names, formats, offsets = [], [], []
    order = ">" if is_bigendian else "<"
    for f in fields:
        if f.datatype not in DATATYPES:
            raise ValueError(f"PointField {f.name!r} has unknown datatype {f.datatype}")
        base = DATATYPES[f.datatype].newbyteorder(order)
        count = max(int(f.count), 1)
        names.append(f.name)
        formats.append(base if count == 1 else (base, (count,)))
        offsets.append(int(f.offset))
    try:
        return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                         "itemsize": int(point_step)})
    except ValueError as e:
        raise ValueError(f"PointCloud2 fields {names} do not fit point_step {point_step}: {e}") from None


def dtype_to_fields(dtype: np.dtype) -> list[PointField]:
    """PointFields for a structured dtype (sub-arrays become count > 1)."""
    if dtype.names is None:
        raise ValueError(f"a point cloud needs a structured dtype with named fields, got {dtype}")
    out = []
    for name in dtype.names:
        ftype, offset = dtype.fields[name][:2]
        base, count = (ftype.subdtype[0], int(np.prod(ftype.subdtype[1]))) if ftype.subdtype else (ftype, 1)
        code = _CODES.get(base.newbyteorder("="))
        if code is None:
            raise ValueError(f"field {name!r} has type {base}, which PointField cannot express")
        out.append(PointField(name=name, offset=int(offset), datatype=code, count=count))
    return out


def structured_to_cloud(points: np.ndarray, header: Header | None = None,
                        is_dense: bool | None = None) -> PointCloud2:
    """PointCloud2 holding a copy of a structured array: (N,) gives an unordered cloud
    (height 1), (H, W) an organized one. `is_dense` defaults to "no NaN/inf in any
    float field"."""
    points = np.asarray(points)
    if points.ndim not in (1, 2):
        raise ValueError(f"points must have shape (N,) or (H, W), got {points.shape}")
    fields = dtype_to_fields(points.dtype)
    points = np.ascontiguousarray(points, dtype=points.dtype.newbyteorder("="))
    h, w = (1, points.shape[0]) if points.ndim == 1 else points.shape
    if is_dense is None:
        is_dense = all(bool(np.isfinite(points[n]).all()) for n in points.dtype.names
                       if points.dtype.fields[n][0].base.kind == "f")
    msg = PointCloud2()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(h), int(w)
    msg.fields = fields
    msg.is_bigendian = not _LITTLE_HOST
    msg.point_step = points.dtype.itemsize
    msg.row_step = points.dtype.itemsize * int(w)
    data = array.array("B")
    data.frombytes(points.view(np.uint8).data)
    msg.data = data
    msg.is_dense = bool(is_dense)
    return msg


def cloud_to_structured(msg: PointCloud2) -> np.ndarray:
    """Structured array ((N,) for height 1, else (H, W)) viewing the message buffer."""
    dtype = fields_to_dtype(msg.fields, msg.point_step, bool(msg.is_bigendian))
    h, w, step = int(msg.height), int(msg.width), int(msg.point_step)
    row_step = int(msg.row_step)
    if row_step < w * step:
        raise ValueError(f"PointCloud2 {w}x{h}: row_step {row_step} is less than width*point_step {w * step}")
    need = row_step * (h - 1) + w * step if h else 0
    if len(msg.data) < need:
        raise ValueError(f"PointCloud2 {w}x{h}: data has {len(msg.data)} bytes, needs {row_step * h}")
    if h == 0 or w == 0:
        out = np.empty((h, w), dtype)
    else:
        out = np.ndarray((h, w), dtype=dtype, buffer=memoryview(msg.data), strides=(row_step, step))
    return out[0] if h == 1 else out


def xyzi_to_cloud(points: np.ndarray, header: Header | None = None) -> PointCloud2:
    """PointCloud2 with fields x, y, z, intensity (float32) from an (N, 4) float array."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 4:
        raise ValueError(f"x, y, z, intensity points must have shape (N, 4), got {points.shape}")
    if points.dtype.kind != "f":
        raise ValueError(f"x, y, z, intensity points must be floating point, got {points.dtype}")
    flat = np.ascontiguousarray(points, dtype=np.float32)
    return structured_to_cloud(flat.view(XYZI_DTYPE).reshape(-1), header)


def cloud_to_xyzi(msg: PointCloud2) -> np.ndarray:
    """(N, 4) float32 x, y, z, intensity. A view on the message when the cloud has exactly
    carla-ros-bridge's layout, otherwise a copy gathered from the named fields."""
    names = [f.name for f in msg.fields]
    missing = [n for n in XYZI_FIELDS if n not in names]
    if missing:
        raise ValueError(f"PointCloud2 lacks field(s) {missing}; it has {names}")
    pts = cloud_to_structured(msg).reshape(-1)
    if pts.dtype == XYZI_DTYPE and (pts.size == 0 or pts.strides[0] == 16):
        return pts.view(np.float32).reshape(-1, 4)
    out = np.empty((pts.size, 4), np.float32)
    for i, n in enumerate(XYZI_FIELDS):
        out[:, i] = pts[n]
    return out
