"""The labels the expert writes for training (lead_msgs/ExpertLabels), CARLA frame.

Ego-frame points here are x forward, y right (CARLA); nodes mirror y at the topic boundary.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from lead.expert.inputs import Category


class BrakeReason(enum.IntEnum):
    """lead_msgs/ExpertLabels BRAKE_* codes: what holds the target speed below the limit."""
    NONE = 0
    VEHICLE = 1
    PEDESTRIAN = 2
    BICYCLE = 3
    RED_LIGHT = 4
    STOP_SIGN = 5
    STATIC_OBSTACLE = 6
    JUNCTION = 7
    EMERGENCY_VEHICLE = 8
    SAFETY = 9
    ROUTE_END = 10


CATEGORY_REASON = {
    Category.VEHICLE: BrakeReason.VEHICLE,
    Category.BICYCLE: BrakeReason.BICYCLE,
    Category.PEDESTRIAN: BrakeReason.PEDESTRIAN,
    Category.STATIC: BrakeReason.STATIC_OBSTACLE,
    Category.EMERGENCY: BrakeReason.EMERGENCY_VEHICLE,
}


def target_speed_class(speed: float, classes: tuple[float, ...]) -> int:
    """Index of the class nearest to the target speed (m/s)."""
    return int(np.argmin(np.abs(np.asarray(classes) - speed)))


def to_ego(points: np.ndarray, ego_xy: np.ndarray, ego_yaw_rad: float) -> np.ndarray:
    """World (N, 2+) -> ego frame (N, 2): x forward, y right."""
    d = np.asarray(points, dtype=np.float64)[..., :2] - np.asarray(ego_xy, dtype=np.float64)[:2]
    c, s = np.cos(ego_yaw_rad), np.sin(ego_yaw_rad)
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)


@dataclass(frozen=True)
class ExpertLabels:
    target_speed: float  # m/s
    target_speed_class: int  # index into config.target_speed_classes
    brake_reason: BrakeReason
    brake: bool
    speed_limit: float  # m/s of the road at the ego
    ego_speed: float
    future_waypoints: np.ndarray  # (8, 2) ego frame, one every 0.25 s
    route_checkpoints: np.ndarray  # (10, 2) ego frame, ~1 m apart from 2.5 m ahead
    target_point: np.ndarray  # (2,) ego frame
    target_point_previous: np.ndarray
    target_point_next: np.ndarray
    command: int  # RoadOption of the current target point
    next_command: int
    in_junction: bool
    changing_lane: bool
    scenario_type: str  # the route scenario being handled, "" if none
    reduced_by_id: int  # actor (or light / sign id) that set the target speed, -1 if none
    reduced_by_distance: float  # m, inf if none
