"""carla.Transform / Location / Rotation / Vector3D <-> lead's CARLA-frame tuples and ROS poses.

lead's libraries carry CARLA-frame values as plain tuples: a pose is (x, y, z, roll, pitch,
yaw) in metres and degrees (lead.sim.messages, lead.sim.embedded), a vector is (x, y, z).
The handedness change to ROS REP-103 lives in lead.frames (mirror y, negate pitch and yaw)
and is applied by lead.sim.messages / lead.sim.decode; this module only moves values
between the `carla` classes and those tuples, so both world backends share one conversion.

Exactness: `carla` stores float32. Tuple -> carla -> tuple is exact for float32 values;
carla -> tuple -> carla is exact always; carla -> ROS Pose -> carla is exact for the
location and, for rotations, exact after float32 rounding while pitch stays inside
(-90, 90) and roll/yaw inside (-180, 180] (CARLA's own ranges; a yaw of 270 comes back
as -90, the same rotation).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Pose = tuple[float, float, float, float, float, float]


def _carla(mod: Any = None):
    if mod is not None:
        return mod
    import carla

    return carla


# ----------------------------------------------------------------------------- carla -> tuples

def vector_to_tuple(v) -> tuple[float, float, float]:
    """carla.Location / carla.Vector3D -> (x, y, z) (CARLA frame)."""
    return (float(v.x), float(v.y), float(v.z))


location_to_tuple = vector_to_tuple


def rotation_to_tuple(r) -> tuple[float, float, float]:
    """carla.Rotation -> (roll, pitch, yaw) degrees, the order of lead's poses."""
    return (float(r.roll), float(r.pitch), float(r.yaw))


def transform_to_pose(t) -> Pose:
    """carla.Transform -> (x, y, z, roll, pitch, yaw)."""
    loc, rot = t.location, t.rotation
    return (float(loc.x), float(loc.y), float(loc.z), float(rot.roll), float(rot.pitch), float(rot.yaw))


# ----------------------------------------------------------------------------- tuples -> carla

def location(xyz: Sequence[float], carla=None):
    c = _carla(carla)
    return c.Location(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def vector3d(xyz: Sequence[float], carla=None):
    c = _carla(carla)
    return c.Vector3D(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def rotation(roll: float, pitch: float, yaw: float, carla=None):
    c = _carla(carla)
    return c.Rotation(pitch=float(pitch), yaw=float(yaw), roll=float(roll))


def pose_to_transform(pose: Sequence[float], carla=None):
    """(x, y, z[, roll, pitch, yaw]) -> carla.Transform (missing angles are 0)."""
    c = _carla(carla)
    p = list(pose) + [0.0] * (6 - len(pose))
    return c.Transform(location(p[:3], c), rotation(p[3], p[4], p[5], c))


# ----------------------------------------------------------------------------- carla <-> ROS

def transform_to_ros_pose(t):
    """carla.Transform -> geometry_msgs/Pose (REP-103), via lead.sim.messages.ros_pose."""
    from lead.sim.messages import ros_pose

    return ros_pose(transform_to_pose(t))


def ros_pose_to_transform(pose_msg, carla=None):
    """geometry_msgs/Pose (REP-103) -> carla.Transform, via lead.sim.decode.carla_pose."""
    from lead.sim.decode import carla_pose

    return pose_to_transform(carla_pose(pose_msg), carla)


def vector_to_ros(v) -> tuple[float, float, float]:
    """carla.Vector3D (CARLA frame) -> ROS (x, y, z) (y mirrored)."""
    from lead.frames import carla_to_ros_xyz

    return carla_to_ros_xyz(*vector_to_tuple(v))


def ros_to_vector(xyz: Sequence[float], carla=None):
    from lead.frames import ros_to_carla_xyz

    return vector3d(ros_to_carla_xyz(*xyz), carla)
