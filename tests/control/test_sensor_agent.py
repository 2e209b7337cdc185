"""The TFv6 sensor-agent controller on the embedded dynamics."""
import numpy as np
import pytest

from lead.control.longitudinal import linear_throttle
from lead.control.sensor_agent import SensorAgentConfig, SensorAgentController
from lead.sim.embedded.dynamics import VehicleDynamics

DT = 0.05
STRAIGHT = np.stack([np.arange(1.0, 11.0), np.zeros(10)], axis=1)


def waypoints_at(speed: float) -> np.ndarray:
    """8 predicted waypoints, 0.25 s apart, of a car driving straight at `speed`."""
    return np.stack([np.arange(1, 9) * speed * 0.25, np.zeros(8)], axis=1)


def run_to_speed(config: SensorAgentConfig, target: float, seconds: float = 20.0):
    car, ctl = VehicleDynamics(), SensorAgentController(config)
    car.reset()
    speeds = []
    for _ in range(int(seconds / DT)):
        v = abs(car.state.speed)
        control = ctl.step(v, checkpoints=STRAIGHT, target_speed=target, waypoints=waypoints_at(target))
        speeds.append(car.step(control).speed)
    stop_ticks = 0
    while car.state.speed > 0.0 and stop_ticks < 200:
        control = ctl.step(abs(car.state.speed), checkpoints=STRAIGHT, target_speed=0.0, waypoints=np.zeros((8, 2)))
        assert control.brake == 1.0 and control.throttle == 0.0
        car.step(control)
        stop_ticks += 1
    return np.array(speeds), stop_ticks * DT


CONFIGS = {
    "lead": SensorAgentConfig(),
    "tfpp_pid": SensorAgentConfig(target_speed_controller="pid"),
    "waypoints": SensorAgentConfig(throttle_modality="waypoint", brake_modality="waypoint"),
}


@pytest.mark.parametrize("target", [4.0, 8.0, 14.0])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_reaches_holds_and_stops(name, target):
    speeds, stop_time = run_to_speed(CONFIGS[name], target)
    reach = np.argmax(speeds >= 0.95 * target) * DT
    assert 0.0 < reach < 0.25 * target + 1.0  # full throttle to ~95 %
    assert speeds.max() < 1.11 * target  # brake ratio 1.1 bounds the overshoot
    held = speeds[int(10.0 / DT):]
    assert np.abs(held - target).max() < 0.05 * target
    assert stop_time < 0.2 * target + 0.5


def test_default_throttle_is_leads_linear_model():
    ctl = SensorAgentController()
    control = ctl.step(7.9, checkpoints=STRAIGHT, target_speed=8.0)
    assert control.brake == 0.0
    assert control.throttle == pytest.approx(linear_throttle(8.0, 7.9))


def test_brake_ratio_and_standstill_steer():
    ctl = SensorAgentController()
    bent = STRAIGHT + np.array([0.0, 2.0])
    control = ctl.step(8.0 * 1.12, checkpoints=bent, target_speed=8.0)
    assert control.brake == 1.0 and control.throttle == 0.0 and control.steer > 0.0
    control = ctl.step(0.0, checkpoints=bent, target_speed=0.0)
    assert control.brake == 1.0 and control.steer == 0.0


def test_waypoint_steering_aims_past_the_aim_distance():
    cfg = SensorAgentConfig(steer_modality="waypoint", throttle_modality="waypoint", brake_modality="waypoint")
    ctl = SensorAgentController(cfg)
    wps = waypoints_at(8.0)
    wps[:, 1] = np.linspace(0.1, 1.6, 8)  # bending right
    assert ctl.step(8.0, waypoints=wps).steer > 0.0


def test_creeping_only_when_enabled():
    for creep in (False, True):
        ctl = SensorAgentController(SensorAgentConfig(creep=creep))
        controls = [ctl.step(0.0, checkpoints=STRAIGHT, target_speed=0.0) for _ in range(1102)]
        last = controls[-1]
        assert (last.throttle, last.brake) == ((0.4, 0.0) if creep else (0.0, 1.0))
    ctl = SensorAgentController(SensorAgentConfig(creep=True))
    for _ in range(1102):
        last = ctl.step(0.0, checkpoints=STRAIGHT, target_speed=0.0, safety_box_occupied=True)
    assert (last.throttle, last.brake) == (0.0, 1.0)


def test_missing_inputs_and_bad_modalities_are_errors():
    with pytest.raises(ValueError, match="checkpoints"):
        SensorAgentController().step(1.0, target_speed=2.0)
    with pytest.raises(ValueError, match="waypoints"):
        SensorAgentController(SensorAgentConfig(throttle_modality="waypoint")).step(1.0, STRAIGHT, 2.0)
    with pytest.raises(ValueError, match="steer_modality"):
        SensorAgentConfig(steer_modality="direct")


def test_stop_sign_heuristic_only_when_enabled():
    sign = np.array([0.5, 0.0])
    off = SensorAgentController().step(5.0, checkpoints=STRAIGHT, target_speed=8.0, stop_sign=sign)
    assert off.brake == 0.0 and off.throttle == 1.0
    ctl = SensorAgentController(SensorAgentConfig(slower_for_stop_sign=True))
    moving = ctl.step(5.0, checkpoints=STRAIGHT, target_speed=8.0, stop_sign=sign)
    assert (moving.throttle, moving.brake) == (0.0, 1.0)
    ctl.step(0.0, checkpoints=STRAIGHT, target_speed=8.0, stop_sign=sign)  # stopped: cleared
    pulling_away = [ctl.step(0.0, checkpoints=STRAIGHT, target_speed=8.0, stop_sign=sign) for _ in range(40)]
    assert all(c.brake == 0.0 and c.throttle == pytest.approx(0.1) for c in pulling_away)
    assert ctl.step(0.0, checkpoints=STRAIGHT, target_speed=8.0, stop_sign=sign).throttle == 1.0
