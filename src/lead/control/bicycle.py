"""LEAD's kinematic bicycle forecast model (lead/expert/kinematic_bicycle_model.py).

The expert rolls it forward at 20 Hz to forecast its own motion and every vehicle within
50 m, then checks the forecast boxes for overlap. Parameters are World on Rails' fit to
CARLA, as LEAD ships them. Locations are CARLA actor locations (x, y, z), headings in
radians (CARLA yaw), speeds in m/s, actions (steer, throttle, brake).

Per step, with wheel angle d = gain * steer and slip b = atan(lr / (lf + lr) * tan d):
    x += v cos(h + b) dt,  y += v sin(h + b) dt,  h += v / lr * sin(b) dt
Speed of other vehicles: v += dt * (brake ? -4.952 : 0.5634 * throttle); a brake counts
only when it is 1 (LEAD casts it to uint8). Speed of the ego: LEAD's polynomials in
km/h, one for braking (any brake > 0) and one for throttle >= 0.3; below that the speed
is held. Speeds never go negative.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_THROTTLE_VALUES = (
    9.63873001e-01, 4.37535692e-04, -3.80192912e-01, 1.74950069e00,
    9.16787414e-02, -7.05461530e-02, -1.05996152e-03, 6.71079346e-04,
)
_BRAKE_VALUES = (
    9.31711370e-03, 8.20967431e-02, -2.83832427e-03, 5.06587474e-05,
    -4.90357228e-07, 2.44419284e-09, -4.91381935e-12,
)


@dataclass(frozen=True)
class BicycleParams:
    time_step: float = 1.0 / 20.0
    front_wheel_base: float = -0.090769015
    rear_wheel_base: float = 1.4178275
    steering_gain: float = 0.36848336  # rad of wheel angle per unit steer
    brake_acceleration: float = -4.952399  # other vehicles, m/s^2
    throttle_acceleration: float = 0.5633837  # other vehicles, m/s^2 per unit throttle
    throttle_threshold: float = 0.3  # ego: below this throttle the speed is held
    throttle_values: tuple[float, ...] = _THROTTLE_VALUES
    brake_values: tuple[float, ...] = _BRAKE_VALUES


class ForecastBicycle:
    """Vectorised over actors: every argument is an array with a leading actor axis
    (locations (N, 3), headings (N,), speeds (N,), actions (N, 3))."""

    def __init__(self, params: BicycleParams = BicycleParams()) -> None:
        self.params = params
        self._throttle_values = np.asarray(params.throttle_values, dtype=np.float64)
        self._brake_values = np.asarray(params.brake_values, dtype=np.float64)

    def _move(self, locations: np.ndarray, headings: np.ndarray, speeds: np.ndarray, steers: np.ndarray):
        p = self.params
        wheel = p.steering_gain * steers
        slip = np.arctan(p.rear_wheel_base / (p.front_wheel_base + p.rear_wheel_base) * np.tan(wheel))
        out = np.array(locations, dtype=np.float64, copy=True)
        out[:, 0] += speeds * np.cos(headings + slip) * p.time_step
        out[:, 1] += speeds * np.sin(headings + slip) * p.time_step
        return out, headings + speeds / p.rear_wheel_base * np.sin(slip) * p.time_step

    def step_vehicles(
        self, locations: ArrayLike, headings: ArrayLike, speeds: ArrayLike, actions: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step for other vehicles (constant-acceleration speed model)."""
        locations, headings, speeds, actions = _as_arrays(locations, headings, speeds, actions)
        braking = actions[:, 2].astype(np.uint8) != 0
        accel = np.where(braking, self.params.brake_acceleration, actions[:, 1] * self.params.throttle_acceleration)
        new_locations, new_headings = self._move(locations, headings, speeds, actions[:, 0])
        return new_locations, new_headings, np.maximum(0.0, speeds + self.params.time_step * accel)

    def step_ego(
        self, locations: ArrayLike, headings: ArrayLike, speeds: ArrayLike, actions: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step for the ego (LEAD's fitted speed polynomials)."""
        locations, headings, speeds, actions = _as_arrays(locations, headings, speeds, actions)
        new_locations, new_headings = self._move(locations, headings, speeds, actions[:, 0])
        return new_locations, new_headings, self.ego_next_speed(speeds, actions[:, 1], actions[:, 2])

    def ego_next_speed(self, speeds: ArrayLike, throttles: ArrayLike, brakes: ArrayLike) -> np.ndarray:
        """Ego speed after one step, m/s (arrays of equal shape)."""
        kph = np.asarray(speeds, dtype=np.float64) * 3.6
        throttle = np.clip(np.asarray(throttles, dtype=np.float64), 0.0, 1.0)
        braking = np.asarray(brakes, dtype=np.float64) != 0.0
        brake_kph = np.stack([kph**i for i in range(1, 8)], axis=-1) @ self._brake_values
        t = throttle
        throttle_features = np.stack([kph, kph**2, t, t**2, kph * t, kph * t**2, kph**2 * t, kph**2 * t**2], axis=-1)
        throttle_kph = np.where(t < self.params.throttle_threshold, kph, throttle_features @ self._throttle_values)
        return np.maximum(0.0, np.where(braking, brake_kph, throttle_kph) / 3.6)

    def rollout_vehicles(
        self, locations: ArrayLike, headings: ArrayLike, speeds: ArrayLike, actions: ArrayLike, steps: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecast `steps` ticks holding each vehicle's action, as the expert does.
        Returns locations (steps, N, 3), headings (steps, N), speeds (steps, N)."""
        locations, headings, speeds, actions = _as_arrays(locations, headings, speeds, actions)
        n = len(speeds)
        out_loc = np.empty((steps, n, 3))
        out_head = np.empty((steps, n))
        out_speed = np.empty((steps, n))
        for i in range(steps):
            locations, headings, speeds = self.step_vehicles(locations, headings, speeds, actions)
            out_loc[i], out_head[i], out_speed[i] = locations, headings, speeds
        return out_loc, out_head, out_speed


def _as_arrays(locations, headings, speeds, actions):
    locations = np.atleast_2d(np.asarray(locations, dtype=np.float64))
    headings = np.atleast_1d(np.asarray(headings, dtype=np.float64))
    speeds = np.atleast_1d(np.asarray(speeds, dtype=np.float64))
    actions = np.atleast_2d(np.asarray(actions, dtype=np.float64))
    n = len(locations)
    if locations.shape[1] != 3 or headings.shape != (n,) or speeds.shape != (n,) or actions.shape != (n, 3):
        raise ValueError(
            f"ForecastBicycle: expected locations (N, 3), headings (N,), speeds (N,), actions (N, 3); "
            f"got {locations.shape}, {headings.shape}, {speeds.shape}, {actions.shape}"
        )
    return locations, headings, speeds, actions
