"""LEAD's LiDAR safety box: the creeping heuristic only pushes the car forward while no LiDAR
point lies in a small box just ahead of the front bumper (lead/common/config_base.py and the
sensor agent's stuck detector: x from the ego's half length to 2.5 m beyond it, |y| below 0.8 x
the half width, z between 0.5 and 1.5 m above the vehicle origin)."""
from __future__ import annotations

import numpy as np

EGO_HALF_LENGTH = 2.4508416652679443  # Lincoln MKZ 2020 extent.x, m
EGO_HALF_WIDTH = 1.0641621351242065   # extent.y, m
X_RANGE = (EGO_HALF_LENGTH, EGO_HALF_LENGTH + 2.5)
Y_HALF = 0.8 * EGO_HALF_WIDTH
Z_RANGE = (0.5, 1.5)


def in_safety_box(points: np.ndarray) -> np.ndarray:
    """(N,) bool: which of the (N, 3+) ego-frame points (x forward, metres; the box is symmetric
    in y, so either y convention works) lie strictly inside the safety box."""
    p = np.asarray(points)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    return ((x > X_RANGE[0]) & (x < X_RANGE[1]) & (y > -Y_HALF) & (y < Y_HALF)
            & (z > Z_RANGE[0]) & (z < Z_RANGE[1]))


def safety_box_occupied(points: np.ndarray) -> bool:
    """True when any of the points lies in the safety box (in_safety_box)."""
    return bool(in_safety_box(points).any())
