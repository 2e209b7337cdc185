"""CARLA's ray-cast LiDAR (sensor.lidar.ray_cast) and semantic LiDAR (ray_cast_semantic).

Facts kept from CARLA's RayCastSemanticLidar/RayCastLidar:
- lasers at upper_fov - i * (upper_fov - lower_fov) / (channels - 1), channel 0 on top;
- each tick every laser fires round_half_away(points_per_second * dt / channels) rays, the
  sweep covering rotation_frequency * horizontal_fov * dt degrees from the angle where the
  last tick stopped (a 10 Hz sensor at 20 Hz covers 180 degrees a tick); ray j of a tick
  points at fmod(start + j * step, horizontal_fov) - horizontal_fov / 2 degrees of yaw;
- points come channel by channel, in firing order, in the sensor frame (x forward, y right,
  z up), the hit point relative to the sensor;
- intensity = exp(-atmosphere_attenuation_rate * distance);
- a ray is dropped before casting with probability dropoff_general_rate; a hit whose
  intensity is at most dropoff_intensity_limit is kept with probability
  intensity * dropoff_zero_intensity / dropoff_intensity_limit + 1 - dropoff_zero_intensity;
- noise_stddev moves each point along its ray by a normal sample.
The semantic variant drops nothing and adds no noise; its fourth column is the cosine of
the incidence angle, and each point carries the hit object's class and actor id (0 for the
map), as carla.SemanticLidarDetection.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np

from .raycast import RayCaster

# blueprint attributes of CARLA LiDARs that do not change what is measured here
_IGNORED_ATTRIBUTES = {"sensor_tick", "role_name"}


@dataclass(frozen=True)
class LidarSpec:
    """sensor.lidar.ray_cast attributes (CARLA 0.9.15 blueprint defaults)."""
    channels: int = 32
    range: float = 10.0
    points_per_second: int = 56000
    rotation_frequency: float = 10.0
    upper_fov: float = 10.0
    lower_fov: float = -30.0
    horizontal_fov: float = 360.0
    atmosphere_attenuation_rate: float = 0.004
    dropoff_general_rate: float = 0.45
    dropoff_intensity_limit: float = 0.8
    dropoff_zero_intensity: float = 0.4
    noise_stddev: float = 0.0

    def __post_init__(self) -> None:
        if self.channels < 1 or self.range <= 0 or self.horizontal_fov <= 0 or self.upper_fov < self.lower_fov:
            raise ValueError(f"bad LiDAR attributes: {self}")

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> "LidarSpec":
        """From blueprint-style attributes (numbers or strings, as a rig file gives them)."""
        kinds = {f.name: f.type for f in fields(cls)}
        unknown = set(attributes) - set(kinds) - _IGNORED_ATTRIBUTES
        if unknown:
            raise ValueError(f"unknown LiDAR attributes {sorted(unknown)}; known: {sorted(kinds)}")
        return cls(**{k: (int(float(v)) if kinds[k] in ("int", int) else float(v))
                      for k, v in attributes.items() if k in kinds})

    def points_per_channel(self, dt: float) -> int:
        """Rays per laser in one tick (CARLA rounds half away from zero)."""
        return int(math.floor(self.points_per_second * dt / self.channels + 0.5))

    def laser_angles(self) -> np.ndarray:
        """Vertical angle of each channel in degrees, channel 0 the highest."""
        if self.channels == 1:
            return np.array([self.upper_fov])
        return self.upper_fov - np.arange(self.channels) * (self.upper_fov - self.lower_fov) / (self.channels - 1)


@dataclass
class LidarScan:
    points: np.ndarray          # (N, 4) float32: x, y, z, intensity (semantic: cos of the incidence angle)
    object_tag: np.ndarray      # (N,) uint32 CARLA class of the hit surface
    object_idx: np.ndarray      # (N,) uint32 actor id of the hit object, 0 for the map
    channel_counts: np.ndarray  # (channels,) uint32 points per laser, as CARLA's LidarMeasurement
    horizontal_angle: float     # degrees where this tick's sweep started


class RayCastLidar:
    """One LiDAR; keeps its rotation angle between ticks, like CARLA's sensor."""

    def __init__(self, spec: LidarSpec, semantic: bool = False, seed: int = 0):
        self.spec = spec
        self.semantic = semantic
        self.horizontal_angle = 0.0  # degrees, CARLA starts every LiDAR at 0
        self._rng = np.random.default_rng(seed)
        a = np.radians(spec.laser_angles())
        self._cos_v, self._sin_v = np.cos(a), np.sin(a)
        self._directions: dict[tuple[float, float], np.ndarray] = {}

    def ray_directions(self, dt: float) -> np.ndarray:
        """(channels, P, 3) float32 unit ray directions in the sensor frame for the sweep that
        starts at the current angle (cached: a sweep repeats every 1/rotation_frequency s)."""
        return self._sweep(dt)[0]

    def _sweep(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """This tick's ray directions and each ray's channel (cached per start angle)."""
        key = (round(self.horizontal_angle, 9), dt)
        d = self._directions.get(key)
        if d is None:
            s = self.spec
            p = s.points_per_channel(dt)
            step = s.rotation_frequency * s.horizontal_fov * dt / max(p, 1)
            h = np.radians(np.fmod(self.horizontal_angle + step * np.arange(p), s.horizontal_fov)
                           - s.horizontal_fov / 2.0)
            dirs = np.empty((s.channels, p, 3), np.float32)
            dirs[..., 0] = self._cos_v[:, None] * np.cos(h)[None]
            dirs[..., 1] = self._cos_v[:, None] * np.sin(h)[None]
            dirs[..., 2] = self._sin_v[:, None]
            if len(self._directions) > 64:  # sweeps that never repeat (odd rates): keep it bounded
                self._directions.clear()
            d = self._directions[key] = (dirs, np.repeat(np.arange(s.channels), p))
        return d

    def measure(self, caster: RayCaster, sensor_matrix: np.ndarray, dt: float = 0.05) -> LidarScan:
        """Fire this tick's rays from the sensor's world pose (4x4) and advance the sweep."""
        # rows are picked with index arrays (take), not boolean masks: ~4x faster on (N, 3)
        s = self.spec
        local, channel = self._sweep(dt)
        n_ch, p = local.shape[:2]
        start = self.horizontal_angle
        self.horizontal_angle = math.fmod(start + s.rotation_frequency * s.horizontal_fov * dt, s.horizontal_fov)
        local = local.reshape(-1, 3)
        if not self.semantic and s.dropoff_general_rate > np.finfo(np.float32).eps:
            fired = np.flatnonzero(self._rng.random(len(local)) >= s.dropoff_general_rate)
            local, channel = local.take(fired, axis=0), channel.take(fired)
        m = np.asarray(sensor_matrix, dtype=np.float64)
        rot = m[:3, :3].astype(np.float32)
        world_dir = local @ rot.T
        hits = caster.cast(m[:3, 3], world_dir, s.range, normals=self.semantic)
        h = np.flatnonzero(hits.hit)
        dist = hits.distance.take(h)
        local, channel = local.take(h, axis=0), channel.take(h)
        xyz = local * dist[:, None]
        if self.semantic:
            fourth = -np.einsum("ij,ij->i", world_dir.take(h, axis=0), hits.normal.take(h, axis=0))
        else:
            fourth = np.exp(np.float32(-s.atmosphere_attenuation_rate) * dist)
            if s.noise_stddev > np.finfo(np.float32).eps:
                xyz += local * self._rng.normal(0.0, s.noise_stddev, len(dist)).astype(np.float32)[:, None]
            # with a zero limit every hit is bright enough and alpha is never used
            alpha = s.dropoff_zero_intensity / s.dropoff_intensity_limit if s.dropoff_intensity_limit > 0 else 0.0
            beta = 1.0 - s.dropoff_zero_intensity
            u = self._rng.random(len(dist))
            kept = np.flatnonzero((fourth > s.dropoff_intensity_limit) | (u < alpha * fourth + beta))
            xyz, fourth, channel = xyz.take(kept, axis=0), fourth.take(kept), channel.take(kept)
            h = h.take(kept)
        actor = hits.actor.take(h)
        points = np.empty((len(xyz), 4), np.float32)
        points[:, :3], points[:, 3] = xyz, fourth
        return LidarScan(
            points=points,
            object_tag=hits.semantic.take(h).astype(np.uint32),
            object_idx=caster.actor_ids.take(actor),  # index -1 (the map) reads the trailing 0
            channel_counts=np.bincount(channel, minlength=n_ch).astype(np.uint32),
            horizontal_angle=start,
        )
