"""What the sensors see each tick besides the static map mesh: dynamic actors and weather."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Sequence

import numpy as np

from .pose import poses_matrices
from .semantic import SemanticClass


class ActorKind(str, Enum):
    CAR = "car"
    TRUCK = "truck"
    BUS = "bus"
    BICYCLE = "bicycle"
    MOTORCYCLE = "motorcycle"
    PEDESTRIAN = "pedestrian"
    TRAFFIC_LIGHT = "traffic_light"  # the light head only; its pole is static map geometry
    PROP = "prop"                    # a static prop (box-shaped obstacle, barrier, debris)


class TrafficLightState(IntEnum):
    """carla.TrafficLightState / carla_msgs CarlaTrafficLightStatus values."""
    RED = 0
    YELLOW = 1
    GREEN = 2
    OFF = 3
    UNKNOWN = 4


DEFAULT_CLASS = {
    ActorKind.CAR: SemanticClass.CAR, ActorKind.TRUCK: SemanticClass.TRUCK, ActorKind.BUS: SemanticClass.BUS,
    ActorKind.BICYCLE: SemanticClass.BICYCLE, ActorKind.MOTORCYCLE: SemanticClass.MOTORCYCLE,
    ActorKind.PEDESTRIAN: SemanticClass.PEDESTRIANS, ActorKind.TRAFFIC_LIGHT: SemanticClass.TRAFFIC_LIGHT,
    ActorKind.PROP: SemanticClass.STATIC,
}


@dataclass
class Actor:
    """A dynamic object for one tick. `pose` is the centre of its bounding box (x, y, z, roll,
    pitch, yaw; CARLA frame, metres, degrees) and `half_extents` the box's half sizes, as in
    carla.BoundingBox / derived_object_msgs; the kind's mesh is stretched to fill the box."""
    kind: ActorKind
    pose: Sequence[float]
    half_extents: Sequence[float]
    color: Sequence[int] = (200, 200, 200)
    semantic_id: int | None = None  # None: the kind's CARLA class
    actor_id: int = 0               # CARLA actor id: the semantic LiDAR's object_idx
    velocity: Sequence[float] = (0.0, 0.0, 0.0)  # world frame, m/s (radar)
    light_state: int = TrafficLightState.OFF

    def __post_init__(self) -> None:
        self.kind = ActorKind(self.kind)
        if len(self.pose) != 6 or len(self.half_extents) != 3:
            raise ValueError(f"actor {self.actor_id}: pose needs 6 values and half_extents 3, "
                             f"got {len(self.pose)} and {len(self.half_extents)}")
        if min(self.half_extents) <= 0:
            raise ValueError(f"actor {self.actor_id}: half_extents must be positive, got {tuple(self.half_extents)}")

    @property
    def semantic(self) -> int:
        return int(DEFAULT_CLASS[self.kind] if self.semantic_id is None else self.semantic_id)


def actor_matrices(actors: Sequence[Actor]) -> np.ndarray:
    """(N, 4, 4) matrices mapping each kind's unit box [-1, 1]^3 onto the actor's box."""
    if not actors:
        return np.zeros((0, 4, 4))
    m = poses_matrices(np.array([a.pose for a in actors], dtype=np.float64))
    m[:, :3, :3] *= np.array([a.half_extents for a in actors], dtype=np.float64)[:, None, :]
    return m


@dataclass
class Weather:
    """The carla.WeatherParameters that the renderer uses (same names, units and ranges).
    ClearNoon's sun by default."""
    cloudiness: float = 5.0            # 0..100
    sun_azimuth_angle: float = 0.0     # degrees; 0 puts the sun towards +x, 90 towards +y
    sun_altitude_angle: float = 45.0   # degrees above the horizon; negative is night
    fog_density: float = 0.0           # 0..100
    fog_distance: float = 0.0          # metres where fog begins

    def sun_direction(self) -> np.ndarray:
        """Unit vector towards the sun, CARLA world frame."""
        alt, az = np.radians(self.sun_altitude_angle), np.radians(self.sun_azimuth_angle)
        return np.array([np.cos(alt) * np.cos(az), np.cos(alt) * np.sin(az), np.sin(alt)])
