"""lead.sim.messages (world state -> carla-ros-bridge messages) and lead.sim.decode (back):
round trips, handedness, the camera optical frame, the semantic palette."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from lead.sim import decode
from lead.sim import messages as M


@dataclass
class Actor:
    id: int
    transform: tuple
    velocity: tuple = (0.0, 0.0, 0.0)
    acceleration: tuple = (0.0, 0.0, 0.0)
    angular_velocity: tuple = (0.0, 0.0, 0.0)
    extent: tuple = (2.4, 1.0, 0.75)
    type_id: str = "vehicle.tesla.model3"
    kind: str = "vehicle"


def test_pose_handedness_and_round_trip():
    # 10 m ahead and 2 m to the RIGHT in CARLA is y = -2 in ROS; CARLA yaw +90 (turning right) is -pi/2
    p = M.ros_pose((10.0, 2.0, 0.5, 0.0, 0.0, 90.0))
    assert (p.position.x, p.position.y, p.position.z) == (10.0, -2.0, 0.5)
    yaw = math.atan2(2 * (p.orientation.w * p.orientation.z), 1 - 2 * p.orientation.z ** 2)
    assert yaw == pytest.approx(-math.pi / 2)
    for pose in [(1.0, -3.0, 0.2, 5.0, -7.0, 135.0), (0.0, 0.0, 0.0, 0.0, 0.0, -179.0)]:
        assert decode.carla_pose(M.ros_pose(pose)) == pytest.approx(pose, abs=1e-9)


def test_objects_round_trip_with_velocity_in_the_world():
    a = Actor(7, (5.0, -3.0, 0.0, 0.0, 0.0, 30.0), velocity=(3.0, 1.0, 0.0), acceleration=(0.5, -0.2, 0.0),
              angular_velocity=(0.0, 0.0, 12.0))
    msg = M.object_array([a], lambda _: M.CLASSIFICATION["car"], 5_000_000_000)
    assert msg.header.frame_id == "map" and msg.objects[0].classification == 6
    assert list(msg.objects[0].shape.dimensions) == pytest.approx([4.8, 2.0, 1.5])
    (b,) = decode.objects(msg, {7: "vehicle.tesla.model3"})
    assert b.transform == pytest.approx(a.transform) and b.velocity == pytest.approx(a.velocity)
    assert b.acceleration == pytest.approx(a.acceleration) and b.angular_velocity == pytest.approx((0.0, 0.0, 12.0))
    assert b.extent == pytest.approx(a.extent) and b.type_id == "vehicle.tesla.model3"
    # twist is in the object's frame: moving along its heading is pure +x
    c = Actor(8, (0.0, 0.0, 0.0, 0.0, 0.0, 30.0), velocity=(math.cos(math.radians(30)), math.sin(math.radians(30)), 0))
    t = M.object_msg(c, 6, 0).twist.linear
    assert (t.x, t.y) == pytest.approx((1.0, 0.0))


def test_recycled_object_messages_serialise_as_new_ones():
    """The world nodes overwrite last tick's Object messages instead of building new ones: the
    bytes must be those of freshly built messages, with actors moved, gone and new."""
    from rclpy.serialization import serialize_message

    car = lambda _: M.CLASSIFICATION["car"]  # noqa: E731
    first = [Actor(7, (5.0, -3.0, 0.0, 0.0, 0.0, 30.0), velocity=(3.0, 1.0, 0.0)),
             Actor(8, (9.0, 1.0, 0.2, 1.0, 2.0, -60.0), extent=(1.0, 0.5, 0.9), angular_velocity=(0.0, 0.0, 5.0))]
    second = [Actor(8, (9.5, 1.1, 0.2, 0.0, 0.0, -58.0), velocity=(0.5, 0.0, 0.0)),
              Actor(9, (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), acceleration=(1.0, 0.0, 0.0))]
    last: dict = {}
    M.object_array(first, car, 50_000_000, last)
    built: dict = {}
    recycled = M.object_array(second, car, 100_000_000, built, last)
    assert recycled.objects[0] is last[8]  # overwritten in place
    assert serialize_message(recycled) == serialize_message(M.object_array(second, car, 100_000_000))
    assert set(built) == {8, 9}


def test_odometry_round_trip():
    pose, vel, ang = (12.0, 4.0, 0.3, 0.0, 0.0, -45.0), (2.0, -2.0, 0.0), (0.0, 0.0, -20.0)
    p, v, w = decode.odometry(M.odometry(pose, vel, ang, 1, "ego_vehicle"))
    assert p == pytest.approx(pose) and v == pytest.approx(vel) and w == pytest.approx(ang)


def test_camera_optical_frame_looks_along_the_camera():
    tf = M.transform_stamped(0, "ego_vehicle", "ego_vehicle/rgb", (0.0, 0.0, 2.0, 0.0, 0.0, 90.0), optical=True)
    q = tf.transform.rotation
    r = M._quat_to_matrix((q.x, q.y, q.z, q.w))
    # optical z (forward) = the camera's forward: CARLA yaw 90 looks along CARLA +y = ROS -y
    assert r @ np.array([0, 0, 1.0]) == pytest.approx([0.0, -1.0, 0.0], abs=1e-9)
    # optical x (image right) = the camera's right: CARLA +x... rotated: image right points to ROS -x
    assert r @ np.array([1.0, 0, 0]) == pytest.approx([-1.0, 0.0, 0.0], abs=1e-9)
    assert r @ np.array([0, 1.0, 0]) == pytest.approx([0.0, 0.0, -1.0], abs=1e-9)  # image down = down


def test_images_lidar_radar_round_trip():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 255, (6, 8, 4), dtype=np.uint8)
    msg = M.rgb_image(rgba, 0, "f")
    assert msg.encoding == "bgra8" and np.array_equal(decode.image(msg), rgba[..., :3])
    depth = rng.uniform(0, 1000, (6, 8)).astype(np.float32)
    assert np.array_equal(decode.image(M.depth_image(depth, 0, "f")), depth)
    ids = np.arange(29, dtype=np.uint8).reshape(1, 29).repeat(3, 0)
    assert np.array_equal(decode.semantic_ids(M.semantic_image(ids, 0, "f")), ids)
    pts = rng.normal(size=(50, 4)).astype(np.float32)
    cloud = M.lidar_cloud(pts, 0, "f")
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "intensity"]
    assert np.array_equal(decode.lidar_points(cloud), pts)
    det = np.column_stack([rng.normal(size=20), rng.uniform(-0.7, 0.7, 20), rng.uniform(-0.05, 0.05, 20),
                           rng.uniform(1, 90, 20)]).astype(np.float32)
    rc = M.radar_cloud(det, 0, "f")
    assert [f.name for f in rc.fields] == ["x", "y", "z", "Range", "Velocity", "AzimuthAngle", "ElevationAngle"]
    assert decode.radar_detections(rc) == pytest.approx(det, abs=1e-5)


def test_colour_images_decode_to_contiguous_rgb_whatever_the_row_padding():
    from sensor_msgs.msg import Image

    rng = np.random.default_rng(1)
    for enc, order in (("bgra8", [2, 1, 0]), ("bgr8", [2, 1, 0]), ("rgb8", [0, 1, 2])):
        ch = 4 if enc == "bgra8" else 3
        for w, h, pad in ((7, 5, 0), (7, 5, 3), (0, 4, 0)):
            rows = rng.integers(0, 255, (h, w * ch + pad), dtype=np.uint8)
            msg = Image(width=w, height=h, encoding=enc, step=w * ch + pad, data=rows.tobytes())
            got = decode.image(msg)
            want = rows[:, :w * ch].reshape(h, w, ch)[..., order]
            assert got.shape == (h, w, 3) and np.array_equal(got, want), (enc, w, h, pad)
            # channel-planar strides made every later resize ~4x slower
            assert got.flags["C_CONTIGUOUS"] or enc == "rgb8"


def test_traffic_lights_round_trip():
    pose = (10.0, 5.0, 0.0, 0.0, 0.0, 90.0)
    info = decode.traffic_light_infos(M.traffic_light_info([(3, pose, (2.0, -1.0, 0.5), (1.5, 0.8, 1.0))]))
    (lid, p, c, e), = info
    assert lid == 3 and p == pytest.approx(pose) and c == pytest.approx((2.0, -1.0, 0.5))
    assert e == pytest.approx((1.5, 0.8, 1.0))
    assert decode.traffic_light_states(M.traffic_light_status([(3, 0), (4, 2)])) == {3: 0, 4: 2}


def test_control_message_fields():
    from lead.control.vehicle_control import VehicleControl

    m = M.vehicle_control(VehicleControl(throttle=0.3, steer=-0.2, brake=0.0), 123)
    assert (m.throttle, m.steer, m.brake, m.header.stamp.nanosec) == pytest.approx((0.3, -0.2, 0.0, 123))
