"""Helper process for lead.io tests (run by tests/io/conftest.py's `peer` fixture).

  dds_peer.py echo        republish /lead_io_test/{control,image} on .../{control,image}_echo
  dds_peer.py tf          static ego_vehicle->lidar and ->rgb_front (sent in two calls), then
                          map->ego_vehicle at stamps k*50 ms: x = k m, yaw = 0.01 k rad
  dds_peer.py bag PATH    write numbered images + controls to PATH, flush every 10 steps
                          and print "flushed <steps>", until killed

Prints "ready" once set up. Content is a function of the step number (see expected_*),
so a test can check every byte it reads back.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

STEP_NS = 50_000_000
LIDAR_OFFSET = (1.3, 0.0, 2.5)
CAMERA_OFFSET = (1.5, 0.2, 2.0)
CAMERA_ROTATION = (-0.5, 0.5, -0.5, 0.5)  # optical frame: z forward, x right, y down


def expected_image(k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    return rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)


def expected_control(k: int):
    from carla_msgs.msg import CarlaEgoVehicleControl

    return CarlaEgoVehicleControl(throttle=(k % 10) / 10, steer=math.sin(k), brake=0.0, gear=k % 5)


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def _node(name: str):
    import rclpy

    rclpy.init()
    return rclpy, rclpy.create_node(name)


def echo() -> None:
    from carla_msgs.msg import CarlaEgoVehicleControl
    from sensor_msgs.msg import Image

    from lead.io.qos import SENSOR

    rclpy, node = _node("lead_io_echo")
    pubs = {
        "control": node.create_publisher(CarlaEgoVehicleControl, "/lead_io_test/control_echo", SENSOR),
        "image": node.create_publisher(Image, "/lead_io_test/image_echo", SENSOR),
    }
    node.create_subscription(CarlaEgoVehicleControl, "/lead_io_test/control", pubs["control"].publish, SENSOR)
    node.create_subscription(Image, "/lead_io_test/image", pubs["image"].publish, SENSOR)
    print("ready", flush=True)
    rclpy.spin(node)


def tf() -> None:
    from lead.io.tf import make_transform
    from lead.io.tf_ros import StaticTransformBroadcaster, TransformBroadcaster

    rclpy, node = _node("lead_io_tf")
    static = StaticTransformBroadcaster(node)
    static.send_transform(make_transform("ego_vehicle", "lidar", 0, LIDAR_OFFSET))
    static.send_transform(make_transform("ego_vehicle", "rgb_front", 0, CAMERA_OFFSET, CAMERA_ROTATION))
    dynamic = TransformBroadcaster(node)
    print("ready", flush=True)
    k = 0
    while rclpy.ok():
        dynamic.send_transform(make_transform("map", "ego_vehicle", k * STEP_NS, (k, 0.0, 0.0),
                                              yaw_quaternion(0.01 * k)))
        k += 1
        rclpy.spin_once(node, timeout_sec=0.005)


def bag(path: str) -> None:
    from lead.io.bag import BagWriter
    from lead.io.image import numpy_to_image
    from lead.io.stamps import make_header

    writer = BagWriter(path, chunk_size=32 * 1024, metadata={"lead": {"run": "killed-writer"}})
    print("ready", flush=True)
    k = 0
    while True:
        writer.write("/camera", numpy_to_image(expected_image(k), "rgb8", make_header(k * STEP_NS, "cam")), k * STEP_NS)
        writer.write("/control", expected_control(k), k * STEP_NS)
        k += 1
        if k % 10 == 0:
            writer.flush()
            print(f"flushed {k}", flush=True)
        time.sleep(0.002)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    try:
        {"echo": echo, "tf": tf, "bag": bag}[mode](*args)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # rclpy's SIGTERM handler ends spin with ExternalShutdownException
        if type(e).__name__ != "ExternalShutdownException":
            raise
