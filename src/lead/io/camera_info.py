"""sensor_msgs/CameraInfo for an ideal pinhole camera given by image size and
horizontal field of view, built the way carla-ros-bridge builds it: principal point at
the image centre, fx = fy = width / (2 tan(fov/2)), plumb_bob with zero distortion,
identity rectification, P = [K | 0]."""
from __future__ import annotations

import math

import numpy as np
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header


def intrinsics(width: int, height: int, fov_deg: float) -> np.ndarray:
    """3x3 pinhole matrix K for a horizontal field of view in degrees."""
    if width <= 0 or height <= 0:
        raise ValueError(f"camera size must be positive, got {width}x{height}")
    if not 0.0 < fov_deg < 180.0:
        raise ValueError(f"horizontal field of view must be in (0, 180) degrees, got {fov_deg}")
    f = width / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def camera_info(width: int, height: int, fov_deg: float, header: Header | None = None) -> CameraInfo:
    """CameraInfo of an undistorted pinhole camera (see the module doc)."""
    k = intrinsics(width, height, fov_deg)
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = k.reshape(-1).tolist()
    msg.r = np.eye(3).reshape(-1).tolist()
    msg.p = np.hstack([k, np.zeros((3, 1))]).reshape(-1).tolist()
    return msg


def fov_deg(info: CameraInfo) -> float:
    """Horizontal field of view in degrees from a CameraInfo's width and fx."""
    fx = float(info.k[0])
    if fx <= 0.0 or info.width <= 0:
        raise ValueError(f"CameraInfo has no usable focal length (fx={fx}, width={info.width})")
    return math.degrees(2.0 * math.atan(info.width / (2.0 * fx)))
