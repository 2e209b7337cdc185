"""CARLA's radar (sensor.other.radar) by ray casting.

Facts kept from CARLA's Radar.cpp: int(points_per_second * dt) rays a tick, each aimed at
sensor-frame point (range, tan(hfov/2) * range * r * cos(a), tan(vfov/2) * range * r * sin(a))
with r uniform in [0, 1) and a uniform in [0, 2 pi); a ray that hits reports the distance to
the hit (depth), the azimuth and altitude of the ray in radians, and the velocity of the hit
object relative to the sensor projected on the ray (positive receding, negative approaching).
The sensor's own velocity is its position change over the last tick, zero on its first tick.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np

from .raycast import RayCaster

_IGNORED_ATTRIBUTES = {"sensor_tick", "role_name"}


@dataclass(frozen=True)
class RadarSpec:
    """sensor.other.radar attributes (CARLA 0.9.15 blueprint defaults)."""
    horizontal_fov: float = 30.0
    vertical_fov: float = 30.0
    range: float = 100.0
    points_per_second: int = 1500

    def __post_init__(self) -> None:
        if self.range <= 0 or not 0 <= self.horizontal_fov < 180 or not 0 <= self.vertical_fov < 180:
            raise ValueError(f"bad radar attributes: {self}")

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> "RadarSpec":
        kinds = {f.name: f.type for f in fields(cls)}
        unknown = set(attributes) - set(kinds) - _IGNORED_ATTRIBUTES
        if unknown:
            raise ValueError(f"unknown radar attributes {sorted(unknown)}; known: {sorted(kinds)}")
        return cls(**{k: (int(float(v)) if kinds[k] in ("int", int) else float(v))
                      for k, v in attributes.items() if k in kinds})


class Radar:
    """One radar; remembers its last position to know its own velocity, as CARLA does."""

    def __init__(self, spec: RadarSpec, seed: int = 0):
        self.spec = spec
        self._rng = np.random.default_rng(seed)
        self._prev_location: np.ndarray | None = None

    def measure(self, caster: RayCaster, sensor_matrix: np.ndarray, dt: float = 0.05) -> np.ndarray:
        """(N, 4) float32 detections in carla.RadarDetection order: velocity (m/s), azimuth
        (rad), altitude (rad), depth (m)."""
        s = self.spec
        m = np.asarray(sensor_matrix, dtype=np.float64)
        loc = m[:3, 3]
        own_velocity = np.zeros(3) if self._prev_location is None else (loc - self._prev_location) / dt
        self._prev_location = loc.copy()
        n = int(s.points_per_second * dt)
        r = self._rng.random(n)
        a = self._rng.uniform(0.0, 2.0 * math.pi, n)
        end = np.column_stack([np.full(n, s.range),
                               math.tan(math.radians(s.horizontal_fov / 2)) * s.range * r * np.cos(a),
                               math.tan(math.radians(s.vertical_fov / 2)) * s.range * r * np.sin(a)])
        length = np.linalg.norm(end, axis=1)
        local = end / length[:, None]
        world = local @ m[:3, :3].T
        hits = caster.cast(loc, world, length)
        h = hits.hit
        velocities = np.array([act.velocity for act in caster.actors] + [(0.0, 0.0, 0.0)], np.float64)
        target = velocities[hits.actor[h]]  # index -1 (the map) reads the trailing zero
        radial = np.einsum("ij,ij->i", target - own_velocity, world[h])
        lh = local[h]
        azimuth = np.arctan2(lh[:, 1], lh[:, 0])
        altitude = np.arctan2(lh[:, 2], np.hypot(lh[:, 0], lh[:, 1]))
        return np.column_stack([radial, azimuth, altitude, hits.distance[h]]).astype(np.float32)

    def reset(self) -> None:
        """Forget the last position (after a teleport), so the next tick reports zero own velocity."""
        self._prev_location = None


def radar_to_xyz(detections: np.ndarray) -> np.ndarray:
    """(N, 4) detections -> (N, 3) points in the sensor frame (x forward, y right, z up)."""
    d = np.asarray(detections, dtype=np.float64)
    az, alt, depth = d[:, 1], d[:, 2], d[:, 3]
    return np.column_stack([depth * np.cos(alt) * np.cos(az), depth * np.cos(alt) * np.sin(az),
                            depth * np.sin(alt)]).astype(np.float32)
