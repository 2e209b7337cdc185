"""The expert's view of its inputs: the ego and the other actors as arrays, CARLA frame.

Inputs are duck-typed so the world's actor states (lead.sim.embedded.traffic.ActorState,
lead.sim.decode.ActorState, the simulator's VehicleState) can be passed as they are:
an actor needs `id`, `transform` ((x, y, z, roll, pitch, yaw) or a lead.world Transform),
`velocity` and `extent`; optional `type_id`, `kind`, `role_name`, `acceleration`,
`angular_velocity` (deg/s) and `control` (anything with steer/throttle/brake).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from lead.control.bicycle import BicycleParams
from lead.sim.embedded.vehicles import EMERGENCY_BLUEPRINTS, VEHICLES

EGO_EXTENT = (2.4508416652679443, 1.0641621351242065, 0.7553732395172119)  # LEAD's ego_extent
# An actor decelerating harder than this is forecast with the brake on (LEAD reads the actor's
# control; without it, half of the forecast model's braking deceleration decides).
BRAKING_DECELERATION = 2.5


class Category(enum.IntEnum):
    VEHICLE = 0
    BICYCLE = 1
    PEDESTRIAN = 2
    STATIC = 3
    EMERGENCY = 4


@dataclass(frozen=True)
class EgoView:
    x: float
    y: float
    z: float
    yaw: float  # degrees
    speed: float  # m/s along the heading
    extent: tuple[float, float, float]

    @property
    def location(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z])

    @property
    def yaw_rad(self) -> float:
        return math.radians(self.yaw)


@dataclass(frozen=True)
class ActorsView:
    """N actors as parallel arrays; `category` holds Category values."""
    ids: np.ndarray  # (N,) int
    type_ids: tuple[str, ...]
    roles: tuple[str, ...]
    category: np.ndarray  # (N,) int
    location: np.ndarray  # (N, 3)
    yaw: np.ndarray  # (N,) degrees
    speed: np.ndarray  # (N,) m/s
    velocity: np.ndarray  # (N, 3)
    extent: np.ndarray  # (N, 3) half extents
    action: np.ndarray  # (N, 3) steer, throttle, brake for the forecast

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, mask: np.ndarray) -> "ActorsView":
        idx = np.flatnonzero(mask)
        return ActorsView(self.ids[idx], tuple(self.type_ids[i] for i in idx), tuple(self.roles[i] for i in idx),
                          self.category[idx], self.location[idx], self.yaw[idx], self.speed[idx],
                          self.velocity[idx], self.extent[idx], self.action[idx])

    def index_of(self, actor_id: int) -> int | None:
        hit = np.flatnonzero(self.ids == actor_id)
        return int(hit[0]) if len(hit) else None


def _pose(obj: Any) -> tuple[float, float, float, float]:
    tf = getattr(obj, "transform", None)
    if tf is None:  # VehicleState-like
        return float(obj.x), float(obj.y), float(getattr(obj, "z", 0.0)), float(obj.yaw)
    if hasattr(tf, "location"):
        return tf.location.x, tf.location.y, tf.location.z, tf.rotation.yaw
    return float(tf[0]), float(tf[1]), float(tf[2]), float(tf[5])


def _vec(v: Any, default: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> tuple[float, float, float]:
    if v is None:
        return default
    if hasattr(v, "x"):
        return float(v.x), float(v.y), float(v.z)
    return float(v[0]), float(v[1]), float(v[2])


def ego_view(ego: Any) -> EgoView:
    """The ego from a state with a pose and a `speed` (or `velocity`), and an optional extent."""
    x, y, z, yaw = _pose(ego)
    speed = getattr(ego, "speed", None)
    if speed is None:
        vx, vy, _ = _vec(getattr(ego, "velocity", None))
        speed = vx * math.cos(math.radians(yaw)) + vy * math.sin(math.radians(yaw))
    return EgoView(x, y, z, yaw, float(speed), _vec(getattr(ego, "extent", None), EGO_EXTENT))


def scenario_actor(role: str) -> bool:
    """Owned by a scenario: "scenario" (scenario_runner), "<scenario>/<label>" (our world's
    /carla/actor_list) or "" (its role not listed yet); never "background" traffic."""
    return role.startswith("scenario") or "/" in role or role == ""


def category_of(type_id: str, kind: str) -> Category:
    if kind == "walker" or type_id.startswith("walker."):
        return Category.PEDESTRIAN
    if kind == "static" or type_id.startswith("static."):
        return Category.STATIC
    if type_id in EMERGENCY_BLUEPRINTS:
        return Category.EMERGENCY
    bp = VEHICLES.get(type_id)
    if bp is not None and bp.base_type == "bicycle":
        return Category.BICYCLE
    return Category.VEHICLE


def _estimated_action(yaw: float, speed: float, acceleration, angular_velocity,
                      params: BicycleParams) -> tuple[float, float, float]:
    """(steer, throttle, brake) that make the forecast bicycle model reproduce the actor's
    current yaw rate and acceleration."""
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    a_long = acceleration[0] * c + acceleration[1] * s
    if a_long < -BRAKING_DECELERATION:
        throttle, brake = 0.0, 1.0
    else:
        throttle, brake = min(max(a_long / params.throttle_acceleration, 0.0), 1.0), 0.0
    steer = 0.0
    if speed > 0.5:
        lr, base = params.rear_wheel_base, params.front_wheel_base + params.rear_wheel_base
        sin_slip = max(-1.0, min(1.0, math.radians(angular_velocity[2]) * lr / speed))
        wheel = math.atan(math.tan(math.asin(sin_slip)) * base / lr)
        steer = max(-1.0, min(1.0, wheel / params.steering_gain))
    return steer, throttle, brake


def actors_view(actors: Iterable[Any], ego_id: int | None = None, roles: Mapping[int, str] | None = None,
                params: BicycleParams = BicycleParams()) -> ActorsView:
    """Arrays of every actor but the ego (by id)."""
    rows = []
    for a in actors:
        aid = int(a.id)
        if ego_id is not None and aid == ego_id:
            continue
        x, y, z, yaw = _pose(a)
        vel = _vec(getattr(a, "velocity", None))
        type_id = str(getattr(a, "type_id", "") or "")
        kind = str(getattr(a, "kind", "") or "")
        role = str(getattr(a, "role_name", "") or (roles or {}).get(aid, ""))
        cat = category_of(type_id, kind)
        speed = math.hypot(vel[0], vel[1])
        control = getattr(a, "control", None)
        if cat == Category.PEDESTRIAN or cat == Category.STATIC:
            action = (0.0, 0.0, 0.0)
        elif control is not None:
            action = (float(control.steer), float(control.throttle), float(control.brake))
        else:
            action = _estimated_action(yaw, speed, _vec(getattr(a, "acceleration", None)),
                                       _vec(getattr(a, "angular_velocity", None)), params)
        rows.append((aid, type_id, role, int(cat), (x, y, z), yaw, speed, vel, _vec(a.extent), action))
    n = len(rows)
    if n == 0:
        z3 = np.zeros((0, 3))
        return ActorsView(np.zeros(0, dtype=np.int64), (), (), np.zeros(0, dtype=np.int64), z3, np.zeros(0),
                          np.zeros(0), z3, z3, z3)
    cols = list(zip(*rows))
    return ActorsView(np.array(cols[0], dtype=np.int64), tuple(cols[1]), tuple(cols[2]),
                      np.array(cols[3], dtype=np.int64), np.array(cols[4], dtype=np.float64),
                      np.array(cols[5], dtype=np.float64), np.array(cols[6], dtype=np.float64),
                      np.array(cols[7], dtype=np.float64), np.array(cols[8], dtype=np.float64),
                      np.array(cols[9], dtype=np.float64))
