"""LEAD's lateral controllers: a windowed PID on the heading error to a lookahead point.

Semantics follow lead/common/pid_controller.py (ExpertLateralPIDController for the expert,
LateralPIDController for the TFv6 sensor agent):

- the lookahead is an index into the route, clip(0.97553 * speed_kmh + 1.91529, 24, 105)
  route points; on the expert's dense route (10 points per metre) that is 2.4-10.5 m and
  grows by ~0.1 m per km/h (2.4 m up to ~23 km/h, 4.1 m at 40 km/h, 10.5 m above ~106 km/h);
- the route handed to the expert's controller starts at the route point nearest to the
  ego (LEAD's privileged route planner searches 4 m ahead of its last index, see
  `advance_route_index`);
- the TFv6 sensor agent steers on its predicted checkpoints (~1 m apart) with index
  lookahead/10 - 2, plus 0-2 extra checkpoints on bent predictions;
- the heading error is scaled so that 90 degrees is 1.0 (the gains were fitted that way),
  and the steer is clipped to [-1, 1].

Positions are in CARLA's frame (x forward, y right), yaw in radians, speed in m/s; a
positive steer turns towards +y.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.control.pid import WindowedPID


@dataclass(frozen=True)
class LateralConfig:
    kp: float = 3.118357247806046
    kd: float = 1.3782508892109167
    ki: float = 0.6406067986034124
    window: int = 6
    speed_scale: float = 0.9755321901954155  # route points per km/h
    speed_offset: float = 1.9152884533402488  # route points
    min_lookahead_m: float = 2.4
    max_lookahead_m: float = 10.5
    points_per_meter: int = 10  # density of the expert's dense route
    steer_correction_gain: float = 3.5  # sensor agent: extra checkpoints per rad of mean |angle|


def lookahead_points(speed: float, config: LateralConfig = LateralConfig()) -> float:
    """LEAD's lookahead, in route points of the dense (10 points/m) route."""
    raw = config.speed_scale * speed * 3.6 + config.speed_offset
    lo = config.min_lookahead_m * config.points_per_meter
    hi = config.max_lookahead_m * config.points_per_meter
    return float(np.clip(raw, lo, hi))


def lookahead_distance(speed: float, config: LateralConfig = LateralConfig()) -> float:
    """The same lookahead in metres (2.4-10.5 m)."""
    return lookahead_points(speed, config) / config.points_per_meter


def advance_route_index(route: np.ndarray, position: np.ndarray, index: int, search_points: int = 40) -> int:
    """Index of the route point nearest to `position`, searched from `index` over
    `search_points` points (LEAD: 4 m on the 10 points/m route); never goes back."""
    end = min(index + max(int(search_points), 1), len(route))
    if index >= end:
        return index
    d = np.linalg.norm(np.asarray(route)[index:end, :2] - np.asarray(position)[None, :2], axis=1)
    return index + int(np.argmin(d))


def mean_abs_angle(points: np.ndarray) -> float:
    """LEAD's `waypoints_curvature`: mean |atan2(y, x)| of ego-frame points (radians)."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.mean(np.abs(np.arctan2(p[:, 1], p[:, 0]))))


class _HeadingPID:
    def __init__(self, config: LateralConfig) -> None:
        self.config = config
        self.pid = WindowedPID(config.kp, config.ki, config.kd, config.window, prefill=False)

    def reset(self) -> None:
        self.pid.reset()

    def save(self) -> None:
        self.pid.save()

    def load(self) -> None:
        self.pid.load()

    def _steer(self, direction: np.ndarray, yaw: float) -> float:
        desired = math.atan2(float(direction[1]), float(direction[0]))
        error = (desired - yaw) % (2.0 * math.pi)
        if error >= math.pi:
            error -= 2.0 * math.pi
        return float(np.clip(self.pid.step(math.degrees(error) / 90.0), -1.0, 1.0))


class RouteLateralController(_HeadingPID):
    """The expert's steering: PID towards a lookahead point on the dense route."""

    def __init__(self, config: LateralConfig = LateralConfig()) -> None:
        super().__init__(config)

    def step(self, route: np.ndarray, speed: float, position: np.ndarray, yaw: float) -> float:
        """route: (N, 2+) world points starting at the point nearest to the ego.
        Returns steer in [-1, 1]."""
        route = np.asarray(route, dtype=np.float64)
        if len(route) == 0:
            raise ValueError("RouteLateralController.step: empty route")
        index = int(min(lookahead_points(speed, self.config), len(route) - 1))
        return self._steer(route[index, :2] - np.asarray(position, dtype=np.float64)[:2], yaw)


class CheckpointLateralController(_HeadingPID):
    """The TFv6 sensor agent's steering on predicted route checkpoints (ego frame, ~1 m apart)."""

    def __init__(self, config: LateralConfig = LateralConfig()) -> None:
        super().__init__(config)

    def step(self, checkpoints: np.ndarray, speed: float, steer_correction: bool = True) -> float:
        """checkpoints: (N, 2) in the ego frame (x forward, y right). Returns steer in [-1, 1],
        rounded to 3 decimals as LEAD does."""
        checkpoints = np.asarray(checkpoints, dtype=np.float64)
        if len(checkpoints) == 0:
            raise ValueError("CheckpointLateralController.step: no checkpoints")
        # The checkpoints are 10x sparser than the dense route and start ~2 m ahead.
        lookahead = lookahead_points(speed, self.config) / self.config.points_per_meter - 2.0
        index = int(min(lookahead, len(checkpoints) - 1))
        if steer_correction:
            index += int(np.clip(int(mean_abs_angle(checkpoints) * self.config.steer_correction_gain), 0, 2))
            # LEAD can index past the end here (at > 105 km/h on a bent route); stay inside.
            index = min(index, len(checkpoints) - 1)
        return round(self._steer(checkpoints[index], 0.0), 3)
