"""CARLA world frame <-> ROS REP-103 frame, in one place.

CARLA (and every lead library: world, sim, expert, leaderboard) uses Unreal's
left-handed frame: x forward/east, y right/south, z up, angles in degrees, a positive
yaw turns x towards +y. ROS topics use REP-103 (right-handed, x forward, y left, z up,
radians). The conversion mirrors y and negates yaw and pitch, as carla-ros-bridge does.
"""
from __future__ import annotations

import math

import numpy as np


def carla_to_ros_xyz(x: float, y: float, z: float) -> tuple[float, float, float]:
    return x, -y, z


def ros_to_carla_xyz(x: float, y: float, z: float) -> tuple[float, float, float]:
    return x, -y, z


def carla_to_ros_points(xyz: np.ndarray) -> np.ndarray:
    """(N, 3+) array of CARLA points -> ROS points (copy; extra columns kept)."""
    out = np.array(xyz, dtype=np.float64 if np.asarray(xyz).dtype == np.float64 else np.float32, copy=True)
    out[..., 1] *= -1.0
    return out


ros_to_carla_points = carla_to_ros_points  # mirroring y is its own inverse


def euler_to_quaternion(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """Intrinsic z-y'-x'' (yaw, pitch, roll) radians -> (x, y, z, w)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def quaternion_to_euler(x: float, y: float, z: float, w: float) -> tuple[float, float, float]:
    """(x, y, z, w) -> (roll, pitch, yaw) radians, inverse of euler_to_quaternion."""
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    s = max(-1.0, min(1.0, 2 * (w * y - z * x)))
    pitch = math.asin(s)
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def carla_rotation_to_ros_quaternion(roll_deg: float, pitch_deg: float, yaw_deg: float):
    """CARLA rotation (degrees, left-handed) -> ROS quaternion (x, y, z, w)."""
    return euler_to_quaternion(math.radians(roll_deg), -math.radians(pitch_deg), -math.radians(yaw_deg))


def ros_quaternion_to_carla_rotation(x: float, y: float, z: float, w: float) -> tuple[float, float, float]:
    """ROS quaternion -> CARLA (roll, pitch, yaw) in degrees."""
    roll, pitch, yaw = quaternion_to_euler(x, y, z, w)
    return math.degrees(roll), -math.degrees(pitch), -math.degrees(yaw)


def carla_yaw_to_ros(yaw_deg: float) -> float:
    """CARLA yaw (degrees) -> ROS yaw (radians)."""
    return -math.radians(yaw_deg)


def ros_yaw_to_carla(yaw_rad: float) -> float:
    return -math.degrees(yaw_rad)
