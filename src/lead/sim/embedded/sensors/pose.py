"""Poses in CARLA's frame as numpy matrices: (x, y, z, roll, pitch, yaw), metres and degrees,
composed yaw-pitch-roll exactly as carla.Transform.get_matrix() does (left-handed, x forward,
y right, z up; positive pitch raises the nose, positive yaw turns +x towards +y)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

Pose = Sequence[float]  # x, y, z, roll, pitch, yaw


def rotation_matrix(roll: np.ndarray | float, pitch: np.ndarray | float, yaw: np.ndarray | float) -> np.ndarray:
    """Degrees (scalars or arrays of one shape S) -> rotation matrices S + (3, 3); columns are
    the forward, right and up vectors of the rotation."""
    r, p, y = (np.radians(np.asarray(a, dtype=np.float64)) for a in (roll, pitch, yaw))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    m = np.empty(np.broadcast(r, p, y).shape + (3, 3))
    m[..., 0, 0] = cp * cy
    m[..., 0, 1] = cy * sp * sr - sy * cr
    m[..., 0, 2] = -cy * sp * cr - sy * sr
    m[..., 1, 0] = cp * sy
    m[..., 1, 1] = sy * sp * sr + cy * cr
    m[..., 1, 2] = -sy * sp * cr + cy * sr
    m[..., 2, 0] = sp
    m[..., 2, 1] = -cp * sr
    m[..., 2, 2] = cp * cr
    return m


def pose_matrix(pose: Pose) -> np.ndarray:
    """(x, y, z, roll, pitch, yaw) -> 4x4 local-to-world matrix (float64)."""
    if len(pose) != 6:
        raise ValueError(f"a pose is (x, y, z, roll, pitch, yaw), got {len(pose)} values")
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(pose[3], pose[4], pose[5])
    m[:3, 3] = pose[:3]
    return m


def poses_matrices(poses: np.ndarray) -> np.ndarray:
    """(N, 6) poses -> (N, 4, 4) local-to-world matrices."""
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 6)
    m = np.zeros((len(poses), 4, 4))
    m[:, :3, :3] = rotation_matrix(poses[:, 3], poses[:, 4], poses[:, 5])
    m[:, :3, 3] = poses[:, :3]
    m[:, 3, 3] = 1.0
    return m


def world_matrix(relative: Pose, parent: Pose | np.ndarray | None = None) -> np.ndarray:
    """A sensor's world matrix from its pose relative to a parent (a pose or a 4x4 matrix),
    as CARLA attaches sensors: world = parent * relative."""
    m = pose_matrix(relative)
    if parent is None:
        return m
    p = np.asarray(parent, dtype=np.float64)
    return (p if p.shape == (4, 4) else pose_matrix(p)) @ m
