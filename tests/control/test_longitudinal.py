"""The expert's linear longitudinal model: feature construction, brake ratio, full throttle."""
import numpy as np
import pytest

from lead.control.longitudinal import BRAKE_RATIO, LINEAR_PARAMS, LinearLongitudinalController, linear_throttle


def test_features_are_leads():
    # Recompute one point by hand: speed 20 km/h, target 21 km/h.
    v, e = 20.0 / 100.0, 1.0 / 100.0
    expected = np.dot(LINEAR_PARAMS, [v, v * v, 100 * e, e * e, v * e, v * v * e])
    assert linear_throttle(21.0 / 3.6, 20.0 / 3.6) == pytest.approx(min(max(expected, 0.0), 1.0))


def test_brakes_above_the_ratio_and_drives_below_it():
    ctl = LinearLongitudinalController()
    target = 8.0
    throttle, brake = ctl.control(target, target * BRAKE_RATIO * 1.001)
    assert brake and throttle == 0.0
    throttle, brake = ctl.control(target, target * BRAKE_RATIO * 0.999)
    assert not brake and 0.0 < throttle <= 1.0


def test_full_throttle_beyond_189_kmh_error():
    ctl = LinearLongitudinalController()
    assert ctl.control(10.0, 10.0 - 1.95 / 3.6) == (1.0, False)
    throttle, brake = ctl.control(10.0, 10.0 - 1.5 / 3.6)
    assert not brake and throttle == pytest.approx(linear_throttle(10.0, 10.0 - 1.5 / 3.6))


def test_zero_target_or_hazard_brakes():
    ctl = LinearLongitudinalController()
    assert ctl.control(0.0, 5.0) == (0.0, True)
    assert ctl.control(10.0, 5.0, hazard_brake=True) == (0.0, True)


def test_tiny_targets_are_raised_to_the_minimum():
    ctl = LinearLongitudinalController()
    # 0.1 m/s is raised to 0.278 m/s, so a car at 0.2 m/s is not braked (0.2 / 0.278 < ratio).
    _, brake = ctl.control(0.1, 0.2)
    assert not brake


def test_extrapolation_never_brakes_and_coasts_on_large_negative_error():
    ctl = LinearLongitudinalController()
    assert ctl.extrapolate_throttle(10.0, 10.0 + 5.0 / 3.6) == 0.0
    assert ctl.extrapolate_throttle(10.0, 5.0) == 1.0
    assert ctl.extrapolate_throttle(10.0, 10.0) == pytest.approx(linear_throttle(10.0, 10.0))


def test_steady_throttle_rises_with_speed():
    # At zero error the model holds speed with the (speed, speed^2) terms alone.
    values = [linear_throttle(v, v) for v in (3.0, 8.0, 14.0, 20.0)]
    assert all(a < b for a, b in zip(values, values[1:]))
