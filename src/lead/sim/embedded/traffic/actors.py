"""Actor states traffic returns and reads, and oriented-box overlap.

Conventions are CARLA's: world frame, metres, degrees, angular velocity in deg/s.
A vehicle's transform is at the ground under its bounding-box centre (the box centre is
`extent[2]` above it); a walker's transform is the centre of its box, as CARLA places
them. Inputs (ego, scenario actors) may be these states or any object with the same
attribute names (`id`, `transform`, `velocity`, `extent`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class ActorState:
    """One actor at one tick."""
    id: int
    type_id: str                       # blueprint, e.g. "vehicle.tesla.model3"
    kind: str                          # "vehicle" or "walker"
    transform: tuple[float, float, float, float, float, float]   # x, y, z, roll, pitch, yaw
    velocity: Vec3                     # m/s, world frame
    acceleration: Vec3                 # m/s², world frame
    angular_velocity: Vec3             # deg/s, world frame
    extent: Vec3                       # half extents of the bounding box (m)

    @property
    def yaw(self) -> float:
        return self.transform[5]

    @property
    def speed(self) -> float:
        return math.hypot(self.velocity[0], self.velocity[1])


def read_actor(a: Any) -> tuple[int, float, float, float, float, Vec3, Vec3]:
    """(id, x, y, z, yaw deg, velocity, extent) of an ActorState-like object."""
    tf = a.transform
    if hasattr(tf, "location"):            # a lead.world Transform
        x, y, z, yaw = tf.location.x, tf.location.y, tf.location.z, tf.rotation.yaw
    else:
        x, y, z, yaw = tf[0], tf[1], tf[2], tf[5]
    v = getattr(a, "velocity", (0.0, 0.0, 0.0))
    v = (v.x, v.y, v.z) if hasattr(v, "x") else tuple(v)
    e = getattr(a, "extent", None)
    if e is None:
        e = getattr(a, "half_extents")
    e = (e.x, e.y, e.z) if hasattr(e, "x") else tuple(e)
    return int(a.id), float(x), float(y), float(z), float(yaw), v, e


def box_corners(x: np.ndarray, y: np.ndarray, yaw_deg: np.ndarray, hx: np.ndarray, hy: np.ndarray) -> np.ndarray:
    """(k, 4, 2) ground-plane corners of oriented boxes."""
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    sx = np.array([1.0, 1.0, -1.0, -1.0])
    sy = np.array([1.0, -1.0, -1.0, 1.0])
    lx, ly = sx[None, :] * hx[:, None], sy[None, :] * hy[:, None]
    return np.stack([x[:, None] + lx * c[:, None] - ly * s[:, None],
                     y[:, None] + lx * s[:, None] + ly * c[:, None]], axis=2)


def overlapping_pairs(x: Sequence[float], y: Sequence[float], yaw_deg: Sequence[float],
                      hx: Sequence[float], hy: Sequence[float]) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose oriented ground boxes intersect (separating axes)."""
    x, y, yaw = np.asarray(x, float), np.asarray(y, float), np.asarray(yaw_deg, float)
    hx, hy = np.asarray(hx, float), np.asarray(hy, float)
    n = len(x)
    if n < 2:
        return []
    i, j = np.triu_indices(n, 1)
    r = np.hypot(hx, hy)
    near = np.hypot(x[i] - x[j], y[i] - y[j]) < r[i] + r[j]
    i, j = i[near], j[near]
    if len(i) == 0:
        return []
    corners = box_corners(x, y, yaw, hx, hy)
    a = np.radians(yaw)
    axes = np.stack([np.cos(a), np.sin(a), -np.sin(a), np.cos(a)], axis=1).reshape(n, 2, 2)
    sep = np.zeros(len(i), dtype=bool)
    for ax in (axes[i], axes[j]):
        for k in range(2):
            u = ax[:, k, :]
            pi = np.einsum("pcd,pd->pc", corners[i], u)
            pj = np.einsum("pcd,pd->pc", corners[j], u)
            sep |= (pi.max(1) < pj.min(1)) | (pj.max(1) < pi.min(1))
    return [(int(p), int(q)) for p, q in zip(i[~sep], j[~sep])]
