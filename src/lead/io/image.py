"""numpy <-> sensor_msgs/Image, the part of cv_bridge lead needs.

Encodings follow sensor_msgs/image_encodings.hpp. Reading is zero-copy: the array is
a view on the message's buffer (row padding is skipped with strides), except when the
message's byte order differs from this machine's, which needs a swapped copy.
"""
from __future__ import annotations

import array
import sys

import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

# encoding -> (element dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
}
for _name, _dt in (("8U", np.uint8), ("8S", np.int8), ("16U", np.uint16), ("16S", np.int16),
                   ("32S", np.int32), ("32F", np.float32), ("64F", np.float64)):
    for _c in (1, 2, 3, 4):
        ENCODINGS[f"{_name}C{_c}"] = (np.dtype(_dt), _c)

_LITTLE_HOST = sys.byteorder == "little"


def _spec(encoding: str) -> tuple[np.dtype, int]:
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise ValueError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(ENCODINGS)}"
        ) from None


def image_to_numpy(msg: Image, copy: bool = False) -> np.ndarray:
    """(H, W) for one-channel encodings, (H, W, C) otherwise, in the encoding's dtype.

    Without `copy` the array shares memory with `msg.data`."""
    dtype, channels = _spec(msg.encoding)
    h, w = int(msg.height), int(msg.width)
    row = w * channels * dtype.itemsize
    step = int(msg.step)
    if step < row:
        raise ValueError(
            f"Image {w}x{h} {msg.encoding}: step {step} is less than one row of pixels ({row} bytes)"
        )
    size = len(msg.data)
    need = step * (h - 1) + row if h else 0
    if size < need:
        raise ValueError(
            f"Image {w}x{h} {msg.encoding}: data has {size} bytes, needs step*height = {step * h}"
        )
    swap = dtype.itemsize > 1 and bool(msg.is_bigendian) == _LITTLE_HOST
    view_dtype = dtype.newbyteorder() if swap else dtype
    if h == 0 or w == 0:
        out = np.empty((h, w, channels), dtype)
    elif step % dtype.itemsize:
        # rows that do not start on an element boundary cannot be viewed in place
        rows = np.frombuffer(msg.data, np.uint8, count=need)
        rows = np.lib.stride_tricks.as_strided(rows, (h, row), (step, 1))
        out = np.ascontiguousarray(rows).view(view_dtype).reshape(h, w, channels)
    else:
        out = np.ndarray((h, w, channels), dtype=view_dtype, buffer=memoryview(msg.data),
                         strides=(step, channels * dtype.itemsize, dtype.itemsize))
    if swap:
        out = out.astype(dtype)  # native byte order, a copy
    elif copy:
        out = out.copy()
    return out[:, :, 0] if channels == 1 else out


def numpy_to_image(arr: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Image message holding a copy of `arr` (rows unpadded, this machine's byte order).

    `arr` must have the encoding's dtype and shape (H, W) or (H, W, 1) for one channel,
    (H, W, C) otherwise; nothing is converted silently."""
    dtype, channels = _spec(encoding)
    arr = np.asarray(arr)
    if arr.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise ValueError(f"encoding {encoding} needs {dtype} pixels, got {arr.dtype}")
    if arr.ndim == 2 and channels == 1:
        h, w = arr.shape
    elif arr.ndim == 3 and arr.shape[2] == channels:
        h, w = arr.shape[:2]
    else:
        want = "(H, W) or (H, W, 1)" if channels == 1 else f"(H, W, {channels})"
        raise ValueError(f"encoding {encoding} needs an array of shape {want}, got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype.newbyteorder("="))
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width, msg.encoding = h, w, encoding
    msg.is_bigendian = 0 if _LITTLE_HOST else 1
    msg.step = w * channels * dtype.itemsize
    data = array.array("B")
    data.frombytes(arr.view(np.uint8).data)  # one memcpy; rclpy keeps uint8[] as array.array
    msg.data = data
    return msg
