"""The TFv6 sensor agent's controller: model outputs -> VehicleControl.

Follows lead/inference/closed_loop_inference.py and config_closed_loop.py:

- steer_modality "route" (default): CheckpointLateralController on the predicted route
  checkpoints (lateral PID, window 6, steer correction on bent routes);
- throttle/brake_modality "target_speed" (default): brake when the target is < 0.01 m/s
  or speed / target > 1.1, then LEAD's linear longitudinal model (`get_throttle`, the
  expert's own). `target_speed_controller="pid"` instead runs TransFuser++'s
  control_pid_direct: the speed PID (kp 1.75, ki 1.0, kd 2.0, window 20) on
  clip(target - speed, 0, 0.99);
- "waypoint" modalities: desired speed from the predicted waypoints 0.5 s apart, brake
  when it is < 0.4 m/s or speed / desired > 1.1, speed PID on clip(desired - speed, 0, 0.99),
  turn PID (1.25, 0.75, 0.3, window 20) on the angle to the first waypoint at least
  2.25 m (slow) / 3.0 m (>= 5.5 m/s) away;
- braking zeroes the throttle, and zeroes the steer at standstill;
- heuristics, off by default as in LEAD: creeping (`creep`: throttle >= 0.4 for 20 ticks
  after 1100 ticks below 0.1 m/s, braking instead while the LiDAR safety box is occupied)
  and stop signs (`slower_for_stop_sign`: within 1 m of a predicted stop-sign box, brake
  until stopped, then ignore stop signs for 120 ticks and pull away with throttle at most
  0.1 for 40 ticks).
Inputs are in the ego frame (x forward, y right), speeds in m/s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lead.control.lateral import CheckpointLateralController, LateralConfig
from lead.control.longitudinal import LinearLongitudinalController, LongitudinalConfig
from lead.control.pid import WindowedPID
from lead.control.vehicle_control import VehicleControl

@dataclass(frozen=True)
class SensorAgentConfig:
    steer_modality: str = "route"  # "route" | "waypoint"
    throttle_modality: str = "target_speed"  # "target_speed" | "waypoint"
    brake_modality: str = "target_speed"  # "target_speed" | "waypoint"
    target_speed_controller: str = "linear"  # "linear" (LEAD) | "pid" (TransFuser++)
    steer_correction: bool = True
    lateral: LateralConfig = field(default_factory=LateralConfig)
    longitudinal: LongitudinalConfig = field(default_factory=lambda: LongitudinalConfig(min_target_speed=1.0 / 3.6))
    target_speed_brake: float = 0.01  # m/s: a predicted target below this means stop
    brake_ratio: float = 1.1
    brake_speed: float = 0.4  # waypoint modality, m/s
    wp_delta_clip: float = 0.99  # m/s
    speed_pid: tuple[float, float, float, int] = (1.75, 1.0, 2.0, 20)  # kp, ki, kd, window
    turn_pid: tuple[float, float, float, int] = (1.25, 0.75, 0.3, 20)
    waypoints_per_second: int = 4  # carla_fps 20 / data_save_freq 5
    aim_distance_fast: float = 3.0
    aim_distance_slow: float = 2.25
    aim_distance_threshold: float = 5.5  # m/s
    tuned_aim_distance: bool = False
    creep: bool = False
    creep_stuck_ticks: int = 1100
    creep_ticks: int = 20
    creep_throttle: float = 0.4
    slower_for_stop_sign: bool = False
    stop_sign_distance: float = 1.0  # m
    stop_sign_cool_down: int = 120  # ticks
    stop_sign_slow_ticks: int = 40
    stop_sign_slow_throttle: float = 0.1

    def __post_init__(self) -> None:
        if self.steer_modality not in {"route", "waypoint"}:
            raise ValueError(f"steer_modality must be 'route' or 'waypoint', got {self.steer_modality!r}")
        for name in ("throttle_modality", "brake_modality"):
            if getattr(self, name) not in {"target_speed", "waypoint"}:
                raise ValueError(f"{name} must be 'target_speed' or 'waypoint', got {getattr(self, name)!r}")
        if self.target_speed_controller not in {"linear", "pid"}:
            raise ValueError(f"target_speed_controller must be 'linear' or 'pid', got {self.target_speed_controller!r}")


class SensorAgentController:
    def __init__(self, config: SensorAgentConfig = SensorAgentConfig()) -> None:
        self.config = config
        self.route_lateral = CheckpointLateralController(config.lateral)
        self.linear = LinearLongitudinalController(config.longitudinal)
        self.target_speed_pid = WindowedPID(*config.speed_pid)
        self.waypoint_speed_pid = WindowedPID(*config.speed_pid)
        self.turn_pid = WindowedPID(*config.turn_pid)
        self.reset()

    def reset(self) -> None:
        for c in (self.route_lateral, self.target_speed_pid, self.waypoint_speed_pid, self.turn_pid):
            c.reset()
        self.stuck_ticks = 0
        self.creep_left = 0
        self.stop_sign_cleared_cool_down = 0
        self.stop_sign_slow_cool_down = 0
        self.stop_sign_slow_left = 0

    def step(
        self,
        speed: float,
        checkpoints: np.ndarray | None = None,
        target_speed: float | None = None,
        waypoints: np.ndarray | None = None,
        safety_box_occupied: bool = False,
        stop_sign: np.ndarray | None = None,
    ) -> VehicleControl:
        """One tick. checkpoints (N, 2) and target_speed feed the route / target_speed
        modalities, waypoints (M, 2) the waypoint ones; safety_box_occupied (LiDAR points
        in front of the car) only matters while creeping; stop_sign is the centre (x, y) of
        the predicted stop-sign box in the ego frame this tick (tracked by the caller), or
        None."""
        c = self.config
        needs = {c.steer_modality, c.throttle_modality, c.brake_modality}
        if "route" in needs and checkpoints is None:
            raise ValueError("SensorAgentController: steer_modality 'route' needs checkpoints")
        if "target_speed" in needs and target_speed is None:
            raise ValueError("SensorAgentController: the 'target_speed' modality needs target_speed")
        if "waypoint" in needs and waypoints is None:
            raise ValueError("SensorAgentController: the 'waypoint' modality needs waypoints")

        # Like LEAD, every modality with inputs runs (its PIDs advance) even if unused.
        route_steer = ts_throttle = ts_brake = wp_steer = wp_throttle = wp_brake = 0.0
        if checkpoints is not None:
            route_steer = self.route_lateral.step(checkpoints, speed, c.steer_correction)
        if target_speed is not None:
            ts_throttle, ts_brake = self._target_speed(float(target_speed), speed)
        if waypoints is not None:
            wp_steer, wp_throttle, wp_brake = self._waypoints(np.asarray(waypoints, dtype=np.float64), speed)

        steer = route_steer if c.steer_modality == "route" else wp_steer
        throttle = ts_throttle if c.throttle_modality == "target_speed" else wp_throttle
        brake = ts_brake if c.brake_modality == "target_speed" else wp_brake
        if brake > 0.0:
            throttle = 0.0
            if speed < 0.01:
                steer = 0.0
        if c.creep:
            throttle, brake = self._creep(speed, throttle, brake, safety_box_occupied)
        if c.slower_for_stop_sign:
            throttle, brake = self._stop_sign(speed, throttle, brake, stop_sign)
        return VehicleControl(throttle=throttle, steer=steer, brake=brake).clipped()

    def _target_speed(self, target: float, speed: float) -> tuple[float, float]:
        c = self.config
        brake = target < c.target_speed_brake or speed / target > c.brake_ratio
        if c.target_speed_controller == "linear":
            throttle, brake = self.linear.control(target, speed, hazard_brake=brake)
            return throttle, float(brake)
        # TransFuser++: PID towards 0 when braking, so the window keeps running.
        delta = float(np.clip((0.0 if brake else target) - speed, 0.0, c.wp_delta_clip))
        throttle = float(np.clip(self.target_speed_pid.step(delta), 0.0, 1.0))
        return (0.0, 1.0) if brake else (throttle, 0.0)

    def _waypoints(self, waypoints: np.ndarray, speed: float) -> tuple[float, float, float]:
        c = self.config
        one_second = c.waypoints_per_second
        half_second = one_second // 2
        desired = float(np.linalg.norm(waypoints[half_second - 1] - waypoints[one_second - 1]) * 2.0)
        delta = float(np.clip(desired - speed, 0.0, c.wp_delta_clip))
        brake = desired < c.brake_speed or speed / desired > c.brake_ratio
        throttle = self.waypoint_speed_pid.step(delta)  # runs while braking too, as in LEAD
        if brake:
            throttle = 0.0
        if c.tuned_aim_distance:
            # LEAD feeds m/s into the km/h lookahead formula here; kept as in LEAD.
            aim_distance = float(np.clip(0.975532 * speed + 1.915288, 24, 105) / 10)
        else:
            aim_distance = c.aim_distance_slow if desired < c.aim_distance_threshold else c.aim_distance_fast
        norms = np.linalg.norm(waypoints, axis=1)
        far = np.nonzero(norms >= aim_distance)[0]
        aim = waypoints[far[0] if len(far) else len(waypoints) - 1]
        angle = float(np.degrees(np.arctan2(aim[1], aim[0])) / 90.0)
        if speed < 0.01 or brake:
            angle = 0.0  # keep the standstill error out of the window
        steer = float(np.clip(self.turn_pid.step(angle), -1.0, 1.0))
        return steer, float(throttle), float(brake)

    def _creep(self, speed: float, throttle: float, brake: float, occupied: bool) -> tuple[float, float]:
        c = self.config
        self.stuck_ticks = self.stuck_ticks + 1 if speed < 0.1 else 0
        if self.stuck_ticks > c.creep_stuck_ticks:
            self.creep_left = c.creep_ticks
        if self.creep_left <= 0:
            return throttle, brake
        if occupied:
            self.creep_left = c.creep_ticks
            return 0.0, 1.0
        self.creep_left -= 1
        return max(c.creep_throttle, throttle), 0.0

    def _stop_sign(
        self, speed: float, throttle: float, brake: float, stop_sign: np.ndarray | None
    ) -> tuple[float, float]:
        c = self.config
        self.stop_sign_cleared_cool_down = max(self.stop_sign_cleared_cool_down - 1, 0)
        self.stop_sign_slow_cool_down = max(self.stop_sign_slow_cool_down - 1, 0)
        if stop_sign is not None and float(np.linalg.norm(stop_sign)) < c.stop_sign_distance:
            if self.stop_sign_cleared_cool_down == 0:
                if speed > 0.01:
                    throttle, brake = 0.0, 1.0
                else:  # stopped at it: cleared, no more stops for a while
                    self.stop_sign_cleared_cool_down = c.stop_sign_cool_down
                    self.stop_sign_slow_left = 0
            elif self.stop_sign_slow_cool_down == 0:
                self.stop_sign_slow_left = c.stop_sign_slow_ticks
                self.stop_sign_slow_cool_down = c.stop_sign_cool_down
        if self.stop_sign_slow_left > 0:
            throttle = min(throttle, c.stop_sign_slow_throttle)
            self.stop_sign_slow_left -= 1
        return throttle, brake
