"""CARLA's depth-camera encoding: planar depth along the camera's forward axis, far plane
1000 m, stored in 24 bits as normalized = (R + G*256 + B*256^2) / (256^3 - 1), metres =
1000 * normalized (sensor.camera.depth; carla-ros-bridge decodes it the same way)."""
from __future__ import annotations

import numpy as np

FAR_PLANE_M = 1000.0
_MAX_CODE = 256 ** 3 - 1


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """Depth in metres (any shape) -> uint8 RGB (shape + (3,)) as CARLA's raw depth image
    (R the low byte). Values are clipped to [0, 1000] m."""
    d = np.clip(np.asarray(depth_m, dtype=np.float64), 0.0, FAR_PLANE_M)
    code = np.rint(d * (_MAX_CODE / FAR_PLANE_M)).astype(np.uint32)
    return np.stack([code & 0xFF, (code >> 8) & 0xFF, code >> 16], axis=-1).astype(np.uint8)


def decode_depth(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (shape + (3,)) in CARLA's encoding -> depth in metres, float32."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.shape[-1] != 3:
        raise ValueError(f"expected uint8 (..., 3) RGB, got {rgb.dtype} {rgb.shape}")
    c = rgb.astype(np.uint32)
    code = c[..., 0] + c[..., 1] * 256 + c[..., 2] * 65536
    return (code * (FAR_PLANE_M / _MAX_CODE)).astype(np.float32)
