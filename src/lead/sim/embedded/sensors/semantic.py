"""CARLA's semantic classes (0.9.14+ ids, `carla.CityObjectLabel`) and its CityScapes palette.

The semantic camera writes the class id; the palette is only for looking at images
(carla.ColorConverter.CityScapesPalette, which carla-ros-bridge applies before publishing).
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np


class SemanticClass(IntEnum):
    UNLABELED = 0
    ROADS = 1
    SIDEWALKS = 2
    BUILDINGS = 3
    WALLS = 4
    FENCES = 5
    POLES = 6          # traffic-light and sign poles included (CARLA tags poles apart from heads)
    TRAFFIC_LIGHT = 7  # the light boxes, without their poles
    TRAFFIC_SIGNS = 8  # the sign plates, without their poles
    VEGETATION = 9
    TERRAIN = 10
    SKY = 11
    PEDESTRIANS = 12
    RIDER = 13
    CAR = 14
    TRUCK = 15
    BUS = 16
    TRAIN = 17
    MOTORCYCLE = 18
    BICYCLE = 19
    STATIC = 20
    DYNAMIC = 21
    OTHER = 22
    WATER = 23
    ROAD_LINES = 24
    GROUND = 25
    BRIDGE = 26
    RAIL_TRACK = 27
    GUARD_RAIL = 28


# RGB per class id, in id order (CARLA 0.9.14+ LibCarla/source/carla/image/CityScapesPalette.h)
CITYSCAPES_PALETTE = np.array([
    (0, 0, 0), (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
    (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35),
    (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
    (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
    (110, 190, 160), (170, 120, 50), (55, 90, 80), (45, 60, 150), (157, 234, 50),
    (81, 0, 81), (150, 100, 100), (230, 150, 140), (180, 165, 180),
], dtype=np.uint8)

# ids past the table render black rather than wrapping around as CARLA's modulo does
_LUT = np.zeros((256, 3), dtype=np.uint8)
_LUT[: len(CITYSCAPES_PALETTE)] = CITYSCAPES_PALETTE


_LUT_BGRA = np.full((256, 4), 255, np.uint8)
_LUT_BGRA[:, :3] = _LUT[:, ::-1]


def _lookup(lut: np.ndarray, ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"semantic ids must be integers, got {ids.dtype}")
    return lut[ids.astype(np.uint8, copy=False)]


def semantic_to_cityscapes(ids: np.ndarray) -> np.ndarray:
    """Class ids (any shape, integer) -> RGB uint8 (shape + (3,)) in CARLA's CityScapes palette."""
    return _lookup(_LUT, ids)


def semantic_to_cityscapes_bgra(ids: np.ndarray) -> np.ndarray:
    """Class ids (H, W) -> bgra8 (H, W, 4) in CARLA's CityScapes palette, alpha 255: the
    bridge's semantic image, in one table lookup."""
    return _lookup(_LUT_BGRA, ids)
