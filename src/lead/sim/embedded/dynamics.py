"""Vehicle dynamics of the embedded simulator.

A kinematic bicycle about the box centre (the CARLA actor location) with CARLA-like
responses to a CarlaEgoVehicleControl, stepped at a fixed dt (default 0.05 s). One
vectorised implementation (`FleetDynamics`, for the ego and ~30 background vehicles at
once); `VehicleDynamics` is the single-vehicle view the ego uses.

Where the numbers come from:
- Input smoothing: CARLA hands VehicleControl to UE4's PhysX vehicle, which slews the
  inputs at its default rates (units/s): steer 2.5 away from centre, 5 back; throttle and
  brake 6 up, 10 down. Hand brake acts at once (PhysX: 12/s).
- Steering: front wheel angle = steer * max_steer_deg * STEER_EFFECTIVENESS, slip
  b = atan(lr / L tan d), yaw rate = v sin(b) / lr (L wheelbase, lr centre to rear axle).
  CARLA's nominal 70 deg wheel lock never turns the car that tightly (the tyres slide), so
  the effectiveness 0.6128 (42.9 deg for the MKZ) is a least-squares fit of this model's
  path curvature to LEAD's forecast bicycle model (World on Rails' fit to CARLA:
  0.368 rad per unit steer over 1.327 m) for steer in [0, 1]. Full lock: R 3.4 m at the
  centre (LEAD's model: 3.7 m). Lateral acceleration is capped at 9 m/s^2 (tyre grip).
- Throttle: a = (7.99 - 0.1327 v) * throttle^1.956 - resistance(v), resistance =
  0.12 + 0.704 v / (1 + v / 2.204) + 2.3e-4 v^2 (rolling, engine braking, air; v in
  m/s), a least-squares fit (rms 0.27 m/s^2) to LEAD's ego speed polynomial (fitted on
  CARLA) over 0-60 km/h and throttle 0.3-1 with rolling and air drag fixed at physical
  values. Full throttle: 0 -> 30 km/h in 1.4 s (LEAD's polynomial: 1.3 s), 0 -> 100 km/h
  in 6.5 s, top speed ~160 km/h; holding 30 km/h takes throttle ~0.44, above the
  expert's linear model's 0.29, so the expert does not hunt between throttle and brake.
- Brake: 8 m/s^2 at full brake plus the resistance (9.3 m/s^2 in total at 30 km/h, where
  LEAD's brake polynomial gives 9.3 too; CARLA's default 1500 Nm per wheel on ~0.35 m
  wheels and ~1.8 t gives ~9.5). 30 km/h -> 0 in ~1.0 s.
- Hand brake 6 m/s^2 (rear wheels locked; estimate). Reverse: same drive curve fading to
  zero at 30 km/h backwards (estimate of a single reverse gear).
- Gear: -1 in reverse, 0 at rest without throttle, else 1-6 from speed bands (an
  estimate of CARLA's automatic box); a manual gear is ignored, as CARLA's
  autobox does with manual_gear_shift off.
Frames: CARLA world frame, yaw in degrees at the API (radians inside), positive steer and
yaw rate turn +x towards +y. Speeds are signed along the heading (negative reversing).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from lead.control.vehicle_control import VehicleControl
from lead.sim.embedded.vehicles import EGO_BLUEPRINT, VehicleBlueprint, vehicle

STEER_EFFECTIVENESS = 0.6128
_UPSHIFT_SPEEDS = np.array([25.0, 45.0, 65.0, 90.0, 120.0]) / 3.6  # m/s


@dataclass(frozen=True)
class DynamicsParams:
    wheelbase: float = 2.860
    rear_axle: float = 1.389
    max_steer_deg: float = 70.0
    steer_effectiveness: float = STEER_EFFECTIVENESS
    steer_rise: float = 2.5
    steer_fall: float = 5.0
    throttle_rise: float = 6.0
    throttle_fall: float = 10.0
    brake_rise: float = 6.0
    brake_fall: float = 10.0
    drive_accel: float = 7.991  # m/s^2 at full throttle from rest
    drive_accel_slope: float = 0.1327  # m/s^2 lost per m/s
    throttle_exponent: float = 1.956
    rolling_decel: float = 0.12
    engine_brake: float = 0.7044  # m/s^2 per m/s, saturating
    engine_brake_speed: float = 2.204  # m/s
    air_drag: float = 2.3e-4  # 1/m
    brake_decel: float = 8.0
    hand_brake_decel: float = 6.0
    reverse_max_speed: float = 30.0 / 3.6
    max_lateral_accel: float = 9.0

    def __post_init__(self) -> None:
        if not 0.0 < self.rear_axle < self.wheelbase:
            raise ValueError(f"DynamicsParams: need 0 < rear_axle < wheelbase, got {self.rear_axle}, {self.wheelbase}")

    @classmethod
    def for_blueprint(cls, blueprint: VehicleBlueprint | str = EGO_BLUEPRINT) -> "DynamicsParams":
        bp = vehicle(blueprint) if isinstance(blueprint, str) else blueprint
        return replace(cls(), wheelbase=bp.wheelbase, rear_axle=bp.rear_axle, max_steer_deg=bp.max_steer_deg)


@dataclass(frozen=True)
class VehicleState:
    x: float
    y: float
    z: float
    yaw: float  # deg
    speed: float  # m/s along the heading, negative reversing
    velocity: tuple[float, float, float]  # m/s, world
    acceleration: tuple[float, float, float]  # m/s^2, world
    angular_velocity: tuple[float, float, float]  # deg/s, world
    steer_angle: float  # effective front wheel angle, deg
    gear: int
    control: VehicleControl  # the command in force (clipped), with the reported gear


def _slew(current: np.ndarray, target: np.ndarray, rise: np.ndarray, fall: np.ndarray, dt: float) -> np.ndarray:
    """PhysX pad smoothing: move towards target at `rise`/s away from 0, `fall`/s towards it."""
    diff = target - current
    away = (current == 0.0) | (np.sign(diff) == np.sign(current))
    rate = np.where(away, rise, fall) * dt
    return current + np.clip(diff, -rate, rate)


class FleetDynamics:
    """N vehicles stepped together. State arrays are public (length N) and may be written
    by the world (e.g. z from the road surface): x, y, z, yaw (rad), speed, yaw_rate
    (rad/s), slip (rad), steer, throttle, brake (smoothed inputs), hand_brake, reverse,
    velocity (N, 3), acceleration (N, 3)."""

    _STATE = ("x", "y", "z", "yaw", "speed", "yaw_rate", "slip", "steer", "throttle", "brake")

    def __init__(self, params: Sequence[DynamicsParams] = (), dt: float = 0.05) -> None:
        if dt <= 0.0:
            raise ValueError(f"FleetDynamics: dt must be > 0, got {dt}")
        self.dt = float(dt)
        self._params: list[DynamicsParams] = []
        self._p: dict[str, np.ndarray] = {f.name: np.zeros(0) for f in fields(DynamicsParams)}
        for name in self._STATE:
            setattr(self, name, np.zeros(0))
        self.hand_brake = np.zeros(0, dtype=bool)
        self.reverse = np.zeros(0, dtype=bool)
        self.velocity = np.zeros((0, 3))
        self.acceleration = np.zeros((0, 3))
        for p in params:
            self.add(p)

    def __len__(self) -> int:
        return len(self._params)

    def add(
        self,
        params: DynamicsParams,
        x: float = 0.0,
        y: float = 0.0,
        yaw_deg: float = 0.0,
        z: float = 0.0,
        speed: float = 0.0,
    ) -> int:
        """Append a vehicle; returns its index."""
        self._params.append(params)
        self._stack_params()
        for name in self._STATE:
            setattr(self, name, np.append(getattr(self, name), 0.0))
        self.hand_brake = np.append(self.hand_brake, False)
        self.reverse = np.append(self.reverse, False)
        self.velocity = np.vstack([self.velocity, np.zeros((1, 3))])
        self.acceleration = np.vstack([self.acceleration, np.zeros((1, 3))])
        index = len(self) - 1
        self.place(index, x, y, yaw_deg, z, speed)
        return index

    def remove(self, index: int) -> None:
        """Drop a vehicle; later indices shift down by one."""
        del self._params[index]
        self._stack_params()
        for name in self._STATE:
            setattr(self, name, np.delete(getattr(self, name), index))
        self.hand_brake = np.delete(self.hand_brake, index)
        self.reverse = np.delete(self.reverse, index)
        self.velocity = np.delete(self.velocity, index, axis=0)
        self.acceleration = np.delete(self.acceleration, index, axis=0)

    def place(self, index: int, x: float, y: float, yaw_deg: float, z: float = 0.0, speed: float = 0.0) -> None:
        """Put a vehicle at a pose with a speed along its heading, inputs released."""
        self.x[index], self.y[index], self.z[index] = x, y, z
        self.yaw[index] = np.radians(yaw_deg)
        self.speed[index] = speed
        for name in ("yaw_rate", "slip", "steer", "throttle", "brake"):
            getattr(self, name)[index] = 0.0
        self.hand_brake[index] = self.reverse[index] = False
        self.velocity[index] = (speed * np.cos(self.yaw[index]), speed * np.sin(self.yaw[index]), 0.0)
        self.acceleration[index] = 0.0

    def params(self, index: int) -> DynamicsParams:
        return self._params[index]

    def _stack_params(self) -> None:
        names = [f.name for f in fields(DynamicsParams)]
        self._p = {n: np.array([getattr(p, n) for p in self._params], dtype=np.float64) for n in names}

    def step(
        self,
        steer: ArrayLike,
        throttle: ArrayLike,
        brake: ArrayLike,
        hand_brake: ArrayLike = False,
        reverse: ArrayLike = False,
    ) -> None:
        """Advance every vehicle by dt under its command (scalars or length-N arrays)."""
        n, dt, p = len(self), self.dt, self._p
        steer = np.clip(np.broadcast_to(np.asarray(steer, dtype=np.float64), (n,)), -1.0, 1.0)
        throttle = np.clip(np.broadcast_to(np.asarray(throttle, dtype=np.float64), (n,)), 0.0, 1.0)
        brake = np.clip(np.broadcast_to(np.asarray(brake, dtype=np.float64), (n,)), 0.0, 1.0)
        self.hand_brake = np.broadcast_to(np.asarray(hand_brake, dtype=bool), (n,)).copy()
        self.reverse = np.broadcast_to(np.asarray(reverse, dtype=bool), (n,)).copy()

        self.steer = _slew(self.steer, steer, p["steer_rise"], p["steer_fall"], dt)
        self.throttle = _slew(self.throttle, throttle, p["throttle_rise"], p["throttle_fall"], dt)
        self.brake = _slew(self.brake, brake, p["brake_rise"], p["brake_fall"], dt)

        # Longitudinal: drive along the gear's direction, resistances against the motion.
        v = self.speed
        av = np.abs(v)
        full = np.maximum(p["drive_accel"] - p["drive_accel_slope"] * av, 0.0)
        drive = full * self.throttle ** p["throttle_exponent"]
        backwards = np.maximum(-v, 0.0)
        drive = np.where(self.reverse, -drive * np.clip(1.0 - backwards / p["reverse_max_speed"], 0.0, 1.0), drive)
        resist = (
            p["rolling_decel"]
            + p["engine_brake"] * av / (1.0 + av / p["engine_brake_speed"])
            + p["air_drag"] * av * av
            + self.brake * p["brake_decel"]
            + self.hand_brake * p["hand_brake_decel"]
        )
        v_drive = v + drive * dt
        v_new = np.sign(v_drive) * np.maximum(np.abs(v_drive) - resist * dt, 0.0)

        # Lateral: kinematic bicycle about the centre, curvature capped by tyre grip.
        wheel = self.steer * np.radians(p["max_steer_deg"] * p["steer_effectiveness"])
        slip = np.arctan(p["rear_axle"] / p["wheelbase"] * np.tan(wheel))
        v_mid = 0.5 * (v + v_new)
        curvature = np.sin(slip) / p["rear_axle"]
        max_curvature = p["max_lateral_accel"] / np.maximum(v_mid * v_mid, 1e-9)
        capped = np.clip(curvature, -max_curvature, max_curvature)
        slip = np.where(capped != curvature, np.arcsin(np.clip(capped * p["rear_axle"], -1.0, 1.0)), slip)
        yaw_rate = v_mid * capped
        heading = self.yaw + 0.5 * yaw_rate * dt + slip
        self.x = self.x + v_mid * np.cos(heading) * dt
        self.y = self.y + v_mid * np.sin(heading) * dt
        self.yaw = np.arctan2(np.sin(self.yaw + yaw_rate * dt), np.cos(self.yaw + yaw_rate * dt))
        self.speed, self.yaw_rate, self.slip = v_new, yaw_rate, slip

        velocity = np.stack([v_new * np.cos(self.yaw + slip), v_new * np.sin(self.yaw + slip), np.zeros(n)], axis=1)
        self.acceleration = (velocity - self.velocity) / dt
        self.velocity = velocity

    @property
    def steer_angle_deg(self) -> np.ndarray:
        return self.steer * self._p["max_steer_deg"] * self._p["steer_effectiveness"]

    @property
    def gear(self) -> np.ndarray:
        forward = 1 + np.searchsorted(_UPSHIFT_SPEEDS, np.abs(self.speed))
        idle = (np.abs(self.speed) < 0.01) & (self.throttle == 0.0)
        return np.where(self.reverse, -1, np.where(idle, 0, forward))


class VehicleDynamics:
    """One vehicle (the ego) driven by VehicleControl commands."""

    def __init__(self, params: DynamicsParams | None = None, dt: float = 0.05) -> None:
        self.fleet = FleetDynamics([params or DynamicsParams.for_blueprint()], dt)
        self._control = VehicleControl()

    @property
    def params(self) -> DynamicsParams:
        return self.fleet.params(0)

    def reset(
        self, x: float = 0.0, y: float = 0.0, yaw_deg: float = 0.0, z: float = 0.0, speed: float = 0.0
    ) -> VehicleState:
        self.fleet.place(0, x, y, yaw_deg, z, speed)
        self._control = VehicleControl()
        return self.state

    def step(self, control: VehicleControl) -> VehicleState:
        control = control.clipped()
        self.fleet.step(control.steer, control.throttle, control.brake, control.hand_brake, control.reverse)
        self._control = control
        return self.state

    @property
    def state(self) -> VehicleState:
        f = self.fleet
        gear = int(f.gear[0])
        return VehicleState(
            x=float(f.x[0]),
            y=float(f.y[0]),
            z=float(f.z[0]),
            yaw=float(np.degrees(f.yaw[0])),
            speed=float(f.speed[0]),
            velocity=tuple(float(c) for c in f.velocity[0]),
            acceleration=tuple(float(c) for c in f.acceleration[0]),
            angular_velocity=(0.0, 0.0, float(np.degrees(f.yaw_rate[0]))),
            steer_angle=float(f.steer_angle_deg[0]),
            gear=gear,
            control=replace(self._control, gear=gear),
        )
