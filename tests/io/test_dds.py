"""Real processes over real DDS: a CarlaEgoVehicleControl and a 1024x512 rgb8 Image go to
a second process and back unchanged; TF from a broadcaster process reaches our buffer."""
from __future__ import annotations

import math
import time

import numpy as np
from carla_msgs.msg import CarlaEgoVehicleControl
from sensor_msgs.msg import Image

from lead.io.image import image_to_numpy, numpy_to_image
from lead.io.qos import SENSOR
from lead.io.stamps import make_header, to_ns
from lead.io.tf import Buffer
from lead.io.tf_ros import TransformListener

from .conftest import spin_until
from .dds_peer import CAMERA_OFFSET, CAMERA_ROTATION, LIDAR_OFFSET, STEP_NS, yaw_quaternion


def test_control_and_image_round_trip_between_processes(peer, ros_node):
    node, executor = ros_node
    echo = peer("echo")
    echo.wait_for("ready")

    pixels = np.random.default_rng(7).integers(0, 256, (512, 1024, 3), dtype=np.uint8)
    image = numpy_to_image(pixels, "rgb8", make_header(123_450_000_000, "rgb_front"))
    control = CarlaEgoVehicleControl(header=make_header(123_450_000_000, "ego_vehicle"), throttle=0.75,
                                     steer=-0.3125, brake=0.0, hand_brake=False, reverse=True, gear=-1,
                                     manual_gear_shift=True)
    got: dict[str, object] = {}
    node.create_subscription(Image, "/lead_io_test/image_echo", lambda m: got.setdefault("image", m), SENSOR)
    node.create_subscription(CarlaEgoVehicleControl, "/lead_io_test/control_echo",
                             lambda m: got.setdefault("control", m), SENSOR)
    pub_image = node.create_publisher(Image, "/lead_io_test/image", SENSOR)
    pub_control = node.create_publisher(CarlaEgoVehicleControl, "/lead_io_test/control", SENSOR)

    # publish until the echoes come back: discovery of the echo's writers may lag ours
    last = 0.0
    end = time.monotonic() + 30
    while len(got) < 2:
        assert time.monotonic() < end, f"no echo within 30 s (got {sorted(got)})"
        if time.monotonic() - last > 1.0:
            if "image" not in got:
                pub_image.publish(image)
            if "control" not in got:
                pub_control.publish(control)
            last = time.monotonic()
        executor.spin_once(timeout_sec=0.05)

    # field by field (CDR alignment padding is not zeroed, so serialized bytes may differ there)
    assert got["control"] == control
    assert got["image"] == image
    assert bytes(got["image"].data) == pixels.tobytes()
    back = image_to_numpy(got["image"])
    assert back.shape == (512, 1024, 3) and np.array_equal(back, pixels)
    assert got["control"].steer == -0.3125 and got["control"].gear == -1 and got["control"].reverse


def _pose(k: float):
    return np.array([k, 0.0, 0.0]), np.array(yaw_quaternion(0.01 * k))


def test_tf_from_broadcaster_process(peer, ros_node):
    node, executor = ros_node
    tf_peer = peer("tf")
    tf_peer.wait_for("ready")
    time.sleep(0.5)  # the static transforms go out before we subscribe: transient local must resend
    buffer = Buffer(cache_time=30.0)
    TransformListener(buffer, node)
    spin_until(executor, lambda: buffer.can_transform("map", "lidar"), 20, "map -> lidar over DDS")
    first_k = to_ns(buffer.lookup_transform("map", "ego_vehicle").header.stamp) // STEP_NS
    spin_until(executor, lambda: buffer.can_transform("map", "ego_vehicle", (first_k + 5) * STEP_NS), 20,
               "five more ego poses")

    # both static frames arrive although they were sent in two calls
    cam = buffer.lookup_transform("lidar", "rgb_front")
    assert np.allclose([cam.transform.translation.x, cam.transform.translation.y, cam.transform.translation.z],
                       np.subtract(CAMERA_OFFSET, LIDAR_OFFSET), atol=1e-12)
    q = cam.transform.rotation
    assert np.allclose([q.x, q.y, q.z, q.w], CAMERA_ROTATION, atol=1e-12)

    # dynamic ego pose between two stamps: lerp x, slerp yaw, then the static lidar offset
    k = first_k + 2.5
    got = buffer.lookup_transform("map", "lidar", int(k * STEP_NS))
    t, q = _pose(k)
    yaw = 0.01 * k
    expect_t = t + np.array([math.cos(yaw) * LIDAR_OFFSET[0], math.sin(yaw) * LIDAR_OFFSET[0], LIDAR_OFFSET[2]])
    tr = got.transform.translation
    assert np.allclose([tr.x, tr.y, tr.z], expect_t, atol=1e-9)
    r = got.transform.rotation
    assert np.allclose([r.x, r.y, r.z, r.w], q, atol=1e-9)


def test_synchronizer_fed_by_subscriptions(ros_node):
    from geometry_msgs.msg import PointStamped

    from lead.io.sync import ApproximateTimeSynchronizer, subscribe

    node, executor = ros_node
    sets = []
    sync = ApproximateTimeSynchronizer(2, 10, 0.01, lambda a, b: sets.append((to_ns(a.header.stamp),
                                                                              to_ns(b.header.stamp))))
    subscribe(node, sync, [(PointStamped, "/lead_io_test/a"), (PointStamped, "/lead_io_test/b")], SENSOR)
    pa = node.create_publisher(PointStamped, "/lead_io_test/a", SENSOR)
    pb = node.create_publisher(PointStamped, "/lead_io_test/b", SENSOR)
    spin_until(executor, lambda: pa.get_subscription_count() and pb.get_subscription_count(), 10, "discovery")
    for k in range(5):
        pa.publish(PointStamped(header=make_header(k * STEP_NS)))
        pb.publish(PointStamped(header=make_header(k * STEP_NS + 3_000_000)))
    spin_until(executor, lambda: len(sets) >= 4, 10, "synchronized sets")
    assert sets[:4] == [(k * STEP_NS, k * STEP_NS + 3_000_000) for k in range(4)]
