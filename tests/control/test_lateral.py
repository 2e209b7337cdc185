"""LEAD's lateral controllers: lookahead choice, sign, and closed-loop route tracking."""
import math

import numpy as np
import pytest

from lead.control.lateral import (
    CheckpointLateralController,
    LateralConfig,
    RouteLateralController,
    advance_route_index,
    lookahead_distance,
    lookahead_points,
)

from .paths import dense_route, drive_route


def test_lookahead_in_route_points_and_metres():
    cfg = LateralConfig()
    assert lookahead_points(0.0) == pytest.approx(24.0)  # clipped at 2.4 m
    assert lookahead_points(40.0 / 3.6) == pytest.approx(cfg.speed_scale * 40.0 + cfg.speed_offset)
    assert lookahead_distance(40.0 / 3.6) == pytest.approx(4.093, abs=1e-3)
    assert lookahead_distance(200.0 / 3.6) == pytest.approx(10.5)


def test_expert_aims_at_the_lookahead_point_of_the_dense_route():
    route = dense_route([(30.0, 0.0)])
    route[:, 1] = np.arange(len(route)) * 0.01  # a distinct heading to every point
    speed = 60.0 / 3.6
    index = int(lookahead_points(speed))
    ctl = RouteLateralController(LateralConfig(ki=0.0, kd=0.0))
    steer = ctl.step(route, speed, np.zeros(2), 0.0)
    angle = math.atan2(route[index, 1], route[index, 0])
    assert steer == pytest.approx(LateralConfig().kp * math.degrees(angle) / 90.0)


def test_positive_steer_towards_plus_y_and_wraps_heading():
    ctl = RouteLateralController()
    right = np.array([[0.0, 0.0], [5.0, 1.0]])
    assert ctl.step(right, 5.0, np.zeros(2), 0.0) > 0.0
    ctl.reset()
    # Heading just below +pi, target just past -pi: a small turn towards +yaw, not a full circle.
    ahead = np.array([[0.0, 0.0], [-5.0, -0.1]])
    assert 0.0 < ctl.step(ahead, 5.0, np.zeros(2), math.pi - 0.01) < 0.3


def test_advance_route_index_searches_forward_only():
    route = dense_route([(20.0, 0.0)])
    assert advance_route_index(route, np.array([2.0, 0.3]), 0) == 20
    assert advance_route_index(route, np.array([0.0, 0.0]), 20) == 20  # never back
    assert advance_route_index(route, np.array([15.0, 0.0]), 0, search_points=40) == 39


def test_checkpoint_controller_index_and_steer_correction():
    speed = 80.0 / 3.6  # lookahead 8.0 m -> checkpoint index 8.0 / 1 - 2 = 5
    base = int(lookahead_points(speed) / 10 - 2)
    straight = np.stack([np.arange(1.0, 11.0), np.zeros(10)], axis=1)
    bent = straight.copy()
    bent[:, 1] = np.arange(10) * 0.01
    bent[:, 1] += np.where(np.arange(10) >= base, 10.0, 0.0)  # mean |angle| large -> +2
    cfg = LateralConfig(ki=0.0, kd=0.0)
    no_fix = CheckpointLateralController(cfg).step(bent, speed, steer_correction=False)
    fixed = CheckpointLateralController(cfg).step(bent, speed, steer_correction=True)
    expected = lambda i: round(float(np.clip(cfg.kp * math.degrees(math.atan2(bent[i, 1], bent[i, 0])) / 90, -1, 1)), 3)
    assert no_fix == expected(base)
    assert fixed == expected(base + 2)


@pytest.mark.parametrize("speed_kmh", [20.0, 30.0, 40.0])
def test_tracks_a_90_degree_turn(speed_kmh):
    radius = 20.0
    route = dense_route([(30.0, 0.0), (math.pi / 2 * radius, 1.0 / radius), (40.0, 0.0)])
    errors, speeds = drive_route(route, speed_kmh / 3.6)
    assert speeds.sum() * 0.05 > 85.0  # drove through the bend
    assert errors.max() < 0.5
    assert np.abs(speeds - speed_kmh / 3.6).max() < 0.1 * speed_kmh / 3.6


@pytest.mark.parametrize("speed_kmh", [20.0, 40.0])
def test_tracks_an_s_curve(speed_kmh):
    route = dense_route([(20.0, 0.0), (30.0, 1.0 / 25.0), (30.0, -1.0 / 25.0), (40.0, 0.0)])
    errors, _ = drive_route(route, speed_kmh / 3.6)
    assert errors.max() < 0.5
    assert errors.mean() < 0.2
