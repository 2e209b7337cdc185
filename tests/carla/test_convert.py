"""carla.Transform / Location / Rotation / Vector3D <-> lead's tuples and ROS poses, with the real
`carla` classes (they construct without a server)."""
from __future__ import annotations

import numpy as np
import pytest

carla = pytest.importorskip("carla", reason="the CARLA client package (pip install -e .[carla]) is not installed")

from lead.frames import carla_to_ros_xyz  # noqa: E402
from lead.sim import messages as M  # noqa: E402
from lead.sim.carla_bridge import convert as C  # noqa: E402

POSES = [(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (10.5, -3.25, 0.5, 0.0, 0.0, 90.0), (-120.7, 33.3, 1.2, 2.5, -7.0, 135.0),
         (1e3, 2e3, -5.0, -10.0, 30.0, -179.5), (0.35, 0.0, 2.25, 0.0, 0.0, -54.5), (2.6, 0.0, 0.6, 0.0, 0.0, 180.0)]


def f32(pose):
    return tuple(float(np.float32(v)) for v in pose)


@pytest.mark.parametrize("pose", POSES)
def test_tuple_carla_tuple_is_exact(pose):
    pose = f32(pose)  # carla stores float32
    t = C.pose_to_transform(pose)
    assert isinstance(t, carla.Transform)
    assert C.transform_to_pose(t) == pose
    assert (t.location.x, t.location.y, t.location.z) == pose[:3]
    assert (t.rotation.roll, t.rotation.pitch, t.rotation.yaw) == pose[3:]


@pytest.mark.parametrize("pose", POSES)
def test_carla_ros_carla_is_exact(pose):
    t = carla.Transform(carla.Location(x=pose[0], y=pose[1], z=pose[2]),
                        carla.Rotation(pitch=pose[4], yaw=pose[5], roll=pose[3]))
    msg = C.transform_to_ros_pose(t)
    assert msg == M.ros_pose(C.transform_to_pose(t))  # the message function both backends use
    back = C.ros_pose_to_transform(msg)
    assert back.location == t.location
    assert C.transform_to_pose(back)[:5] == C.transform_to_pose(t)[:5]
    yaw0, yaw1 = t.rotation.yaw, back.rotation.yaw
    assert yaw1 == yaw0 or (abs(yaw0) == 180.0 and abs(yaw1) == 180.0)  # -180 and 180: the same heading


def test_handedness_matches_lead_frames():
    # 2 m to the RIGHT in CARLA is y = -2 in ROS; CARLA yaw +90 turns right, ROS yaw -pi/2
    t = carla.Transform(carla.Location(x=10.0, y=2.0, z=0.5), carla.Rotation(yaw=90.0))
    p = C.transform_to_ros_pose(t)
    assert (p.position.x, p.position.y, p.position.z) == (10.0, -2.0, 0.5)
    assert p.orientation.z == pytest.approx(-np.sqrt(0.5)) and p.orientation.w == pytest.approx(np.sqrt(0.5))
    v = carla.Vector3D(x=1.0, y=-2.5, z=3.0)
    assert C.vector_to_ros(v) == carla_to_ros_xyz(1.0, -2.5, 3.0) == (1.0, 2.5, 3.0)
    assert C.ros_to_vector(C.vector_to_ros(v)) == v
    assert C.vector_to_tuple(C.vector3d((1.0, 2.0, 3.0))) == (1.0, 2.0, 3.0)
    assert C.location((1.0, 2.0, 3.0)) == carla.Location(x=1.0, y=2.0, z=3.0)


def test_rig_poses_round_trip():
    from lead.sim.rig import load_rig

    for s in load_rig("lead").sensors:
        t = C.pose_to_transform(s.pose)
        assert C.transform_to_pose(t) == f32(s.pose)
