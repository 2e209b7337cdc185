"""LEAD's forecast bicycle model: vectorised vs per-actor, geometry, speed models."""
import math

import numpy as np
import pytest

from lead.control.bicycle import BicycleParams, ForecastBicycle

RNG = np.random.default_rng(7)


def random_actors(n: int):
    locations = RNG.uniform(-50, 50, size=(n, 3))
    headings = RNG.uniform(-math.pi, math.pi, size=n)
    speeds = RNG.uniform(0.0, 20.0, size=n)
    actions = np.stack([RNG.uniform(-1, 1, n), RNG.uniform(0, 1, n), RNG.choice([0.0, 0.5, 1.0], n)], axis=1)
    return locations, headings, speeds, actions


@pytest.mark.parametrize("method", ["step_vehicles", "step_ego"])
def test_vectorised_equals_one_actor_at_a_time(method):
    model = ForecastBicycle()
    locations, headings, speeds, actions = random_actors(25)
    batch = getattr(model, method)(locations, headings, speeds, actions)
    for i in range(25):
        single = getattr(model, method)(locations[i], headings[i], speeds[i], actions[i])
        for b, s in zip(batch, single):
            np.testing.assert_allclose(b[i], s[0], rtol=1e-12, atol=1e-12)


def test_rollout_equals_repeated_steps():
    model = ForecastBicycle()
    state = random_actors(6)
    locs, heads, speeds = model.rollout_vehicles(*state, steps=40)
    loc, head, speed, actions = state
    for i in range(40):
        loc, head, speed = model.step_vehicles(loc, head, speed, actions)
    np.testing.assert_allclose(locs[-1], loc)
    np.testing.assert_allclose(heads[-1], head)
    np.testing.assert_allclose(speeds[-1], speed)


def test_constant_steer_drives_a_circle_of_the_models_radius():
    p = BicycleParams()
    model = ForecastBicycle(p)
    steer, speed = 0.3, 5.0
    slip = math.atan(p.rear_wheel_base / (p.front_wheel_base + p.rear_wheel_base) * math.tan(p.steering_gain * steer))
    radius = p.rear_wheel_base / math.sin(slip)
    loc, head, spd = np.zeros((1, 3)), np.zeros(1), np.array([speed])
    points = []
    for _ in range(200):
        loc, head, spd = model.step_vehicles(loc, head, spd, np.array([[steer, 0.0, 0.0]]))
        spd = np.array([speed])  # hold the speed to isolate the geometry
        points.append(loc[0, :2].copy())
    points = np.array(points)
    # Least-squares circle through the path.
    a = np.c_[2 * points, np.ones(len(points))]
    cx, cy, c = np.linalg.lstsq(a, (points**2).sum(1), rcond=None)[0]
    assert math.sqrt(c + cx * cx + cy * cy) == pytest.approx(radius, rel=0.01)
    assert cy > 0.0  # positive steer turns towards +y


def test_other_vehicle_speed_model():
    p = BicycleParams()
    model = ForecastBicycle(p)
    loc, head = np.zeros((3, 3)), np.zeros(3)
    speeds = np.array([10.0, 10.0, 10.0])
    actions = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.5], [0.0, 0.5, 0.0]])
    _, _, v = model.step_vehicles(loc, head, speeds, actions)
    # Full brake; a brake of 0.5 does not count (LEAD casts it to uint8); half throttle.
    accel = np.array([p.brake_acceleration, p.throttle_acceleration, 0.5 * p.throttle_acceleration])
    expected = 10.0 + p.time_step * accel
    np.testing.assert_allclose(v, expected)
    _, _, v = model.step_vehicles(loc[:1], head[:1], np.array([0.1]), np.array([[0.0, 0.0, 1.0]]))
    assert v[0] == 0.0  # never negative


def test_ego_speed_model():
    model = ForecastBicycle()
    speeds = np.full(3, 30.0 / 3.6)
    v = model.ego_next_speed(speeds, np.array([0.29, 1.0, 1.0]), np.array([0.0, 0.0, 0.2]))
    assert v[0] == pytest.approx(speeds[0])  # throttle below 0.3: held
    assert v[1] > speeds[1]  # full throttle accelerates
    assert v[2] < speeds[2]  # any brake > 0 brakes, whatever the throttle


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match="actions"):
        ForecastBicycle().step_vehicles(np.zeros((2, 3)), np.zeros(2), np.zeros(2), np.zeros((2, 2)))
