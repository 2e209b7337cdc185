import math

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo

from lead.io.camera_info import camera_info, fov_deg, intrinsics
from lead.io.stamps import make_header


def test_pinhole_as_carla_ros_bridge_builds_it():
    msg = deserialize_message(serialize_message(camera_info(1024, 512, 110.0, make_header(3, "rgb_front"))),
                              CameraInfo)
    f = 1024 / (2 * math.tan(math.radians(55.0)))
    assert (msg.width, msg.height, msg.distortion_model) == (1024, 512, "plumb_bob")
    assert np.allclose(msg.k, [f, 0, 512, 0, f, 256, 0, 0, 1])
    assert np.allclose(msg.p, [f, 0, 512, 0, 0, f, 256, 0, 0, 0, 1, 0])
    assert list(msg.d) == [0.0] * 5 and np.allclose(msg.r, np.eye(3).ravel())
    assert msg.header.frame_id == "rgb_front"


def test_rays_at_half_fov_hit_the_image_edges():
    k = intrinsics(384, 384, 60.0)
    ray = np.array([math.tan(math.radians(30.0)), 0.0, 1.0])  # optical frame: z forward, x right
    u, v, w = k @ ray
    assert u / w == pytest.approx(384.0) and v / w == pytest.approx(192.0)
    assert fov_deg(camera_info(384, 384, 60.0)) == pytest.approx(60.0)


@pytest.mark.parametrize("args", [(0, 10, 90.0), (10, -1, 90.0), (10, 10, 0.0), (10, 10, 180.0)])
def test_bad_cameras_are_refused(args):
    with pytest.raises(ValueError):
        camera_info(*args)
