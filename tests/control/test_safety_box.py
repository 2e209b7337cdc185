"""LEAD's LiDAR safety box (lead.control.safety_box): x in (2.45, 4.95) m ahead of the ego
origin, |y| < 0.85 m, z in (0.5, 1.5) m; and the preprocessing library path that fills it from a
tick's LiDAR sweep."""
from __future__ import annotations

import numpy as np
import pytest

from lead.control.safety_box import X_RANGE, Y_HALF, Z_RANGE, safety_box_occupied


@pytest.mark.parametrize("point,inside", [
    ((3.5, 0.0, 1.0), True),
    ((3.5, 0.8, 1.0), True),
    ((3.5, -0.8, 1.0), True),
    ((2.3, 0.0, 1.0), False),   # behind the bumper (inside the car)
    ((5.1, 0.0, 1.0), False),   # beyond 2.5 m
    ((3.5, 0.9, 1.0), False),   # beside the box
    ((3.5, 0.0, 0.2), False),   # road surface
    ((3.5, 0.0, 1.7), False),   # above it
    ((-3.5, 0.0, 1.0), False),  # behind the car
])
def test_one_point(point, inside):
    assert safety_box_occupied(np.array([point], np.float32)) is inside


def test_empty_and_ground_only_clouds_are_free():
    assert safety_box_occupied(np.zeros((0, 3), np.float32)) is False
    rng = np.random.default_rng(0)
    ground = np.column_stack([rng.uniform(-30, 30, 5000), rng.uniform(-30, 30, 5000), rng.uniform(-0.1, 0.1, 5000)])
    assert safety_box_occupied(ground) is False
    wall = np.array([[X_RANGE[0] + 1.0, Y_HALF / 2, (Z_RANGE[0] + Z_RANGE[1]) / 2]])
    assert safety_box_occupied(np.vstack([ground, wall])) is True
