"""The expert's longitudinal controller: LEAD's fitted linear model of throttle.

From lead/common/pid_controller.py (ExpertLongitudinalController, get_throttle). With
v = speed and e = target - speed, both in km/h:

- target < 1e-5 m/s or a hazard -> brake;
- e > 1.89 km/h -> full throttle;
- v / target > 1.03127 -> brake;
- otherwise throttle = clip(theta . [v', v'^2, 100 e', e'^2, v' e', v'^2 e'], 0, 1) with
  v' = v / 100 and e' = max(e, 0) / 100 (the /100 is a leftover of LEAD's fit).

The brake is a flag: callers send brake = 1.0 when it is set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINEAR_PARAMS = (
    1.1990342347353184,
    -0.8057602384167799,
    1.710818710950062,
    0.921890257450335,
    1.556497522998393,
    -0.7013479734904027,
)
BRAKE_RATIO = 1.031266635497984


@dataclass(frozen=True)
class LongitudinalConfig:
    params: tuple[float, ...] = LINEAR_PARAMS
    brake_ratio: float = BRAKE_RATIO
    full_throttle_error_kmh: float = 1.89  # LEAD: "maximum acceleration 1.9 m/tick"
    coast_error_kmh: float = -4.82  # forecasting only: zero throttle below this error
    # Lower bound on the target speed: 0.278 m/s in the expert, 1/3.6 in the sensor agent.
    min_target_speed: float = 0.278


def linear_throttle(target_speed: float, speed: float, params: tuple[float, ...] = LINEAR_PARAMS) -> float:
    """The fitted model alone (speeds in m/s), clipped to [0, 1]."""
    v = speed * 3.6 / 100.0
    e = max(target_speed * 3.6 - speed * 3.6, 0.0) / 100.0
    features = np.array([v, v * v, 100.0 * e, e * e, v * e, v * v * e])
    return float(np.clip(features @ np.asarray(params, dtype=np.float64), 0.0, 1.0))


class LinearLongitudinalController:
    """Stateless: the same inputs always give the same command."""

    def __init__(self, config: LongitudinalConfig = LongitudinalConfig()) -> None:
        self.config = config

    def control(self, target_speed: float, speed: float, hazard_brake: bool = False) -> tuple[float, bool]:
        """(throttle, brake) for the expert's (and the TFv6 agent's) target speed, m/s."""
        if target_speed < 1e-5 or hazard_brake:
            return 0.0, True
        target_speed = max(target_speed, self.config.min_target_speed)
        if (target_speed - speed) * 3.6 > self.config.full_throttle_error_kmh:
            return 1.0, False
        if speed / target_speed > self.config.brake_ratio:
            return 0.0, True
        return linear_throttle(target_speed, speed, self.config.params), False

    def extrapolate_throttle(self, target_speed: float, speed: float) -> float:
        """Throttle the expert assumes while forecasting its own motion (never brakes)."""
        error_kmh = (target_speed - speed) * 3.6
        if error_kmh > self.config.full_throttle_error_kmh:
            return 1.0
        if error_kmh < self.config.coast_error_kmh:
            return 0.0
        if target_speed * 3.6 < 0.1 or speed / target_speed > self.config.brake_ratio:
            return 0.0
        return linear_throttle(target_speed, speed, self.config.params)
