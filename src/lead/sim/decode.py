"""ROS 2 messages of the topic contract -> CARLA-frame values, for consumer nodes (expert,
route manager, recorder, policy). The inverse of lead.sim.messages."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.frames import ros_quaternion_to_carla_rotation
from lead.io.image import image_to_numpy
from lead.io.pointcloud import cloud_to_structured, cloud_to_xyzi
from lead.io.stamps import header_stamp_ns

_CLASS_KIND = {4: "walker", 5: "vehicle", 6: "vehicle", 7: "vehicle", 8: "vehicle", 9: "vehicle"}


@dataclass(frozen=True)
class ActorState:
    """An actor as consumers see it (same fields as the world's actor states)."""
    id: int
    type_id: str
    kind: str
    transform: tuple[float, float, float, float, float, float]  # x, y, z, roll, pitch, yaw (CARLA)
    velocity: tuple[float, float, float]                        # world, m/s
    acceleration: tuple[float, float, float]
    angular_velocity: tuple[float, float, float]                # deg/s
    extent: tuple[float, float, float]                          # half extents
    classification: int = 0

    @property
    def yaw(self) -> float:
        return self.transform[5]

    @property
    def speed(self) -> float:
        return math.hypot(self.velocity[0], self.velocity[1])


def carla_pose(p) -> tuple[float, float, float, float, float, float]:
    """geometry_msgs/Pose -> CARLA (x, y, z, roll, pitch, yaw)."""
    q = p.orientation
    roll, pitch, yaw = ros_quaternion_to_carla_rotation(q.x, q.y, q.z, q.w)
    return (p.position.x, -p.position.y, p.position.z, roll, pitch, yaw)


def carla_vector(v) -> tuple[float, float, float]:
    return (v.x, -v.y, v.z)


def _unrotate_twist(twist, yaw_deg: float):
    """Twist in the actor frame (ROS) -> (world velocity, angular velocity deg/s), CARLA frame."""
    fwd, right = twist.linear.x, -twist.linear.y
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    vel = (c * fwd - s * right, s * fwd + c * right, twist.linear.z)
    ang = (math.degrees(-twist.angular.x), math.degrees(twist.angular.y), math.degrees(-twist.angular.z))
    return vel, ang


def odometry(msg) -> tuple[tuple, tuple, tuple]:
    """Odometry -> (pose, world velocity, angular velocity deg/s), CARLA frame."""
    pose = carla_pose(msg.pose.pose)
    vel, ang = _unrotate_twist(msg.twist.twist, pose[5])
    return pose, vel, ang


def objects(msg, types: dict[int, str] | None = None) -> list[ActorState]:
    """ObjectArray -> actor states; `types` (id -> type_id, from /carla/actor_list) names them."""
    out = []
    for o in msg.objects:
        pose = carla_pose(o.pose)
        vel, ang = _unrotate_twist(o.twist, pose[5])
        yaw = math.radians(pose[5])
        ax, ay = o.accel.linear.x, -o.accel.linear.y
        acc = (math.cos(yaw) * ax - math.sin(yaw) * ay, math.sin(yaw) * ax + math.cos(yaw) * ay, o.accel.linear.z)
        dims = list(o.shape.dimensions) + [0.0, 0.0, 0.0]
        type_id = (types or {}).get(o.id, "")
        kind = _CLASS_KIND.get(o.classification, "static")
        out.append(ActorState(int(o.id), type_id, kind, pose, vel, acc, ang,
                              (dims[0] / 2, dims[1] / 2, dims[2] / 2), int(o.classification)))
    return out


def actor_types(msg) -> tuple[dict[int, str], dict[int, str]]:
    """CarlaActorList -> ({id: type_id}, {id: role name})."""
    return ({a.id: a.type for a in msg.actors}, {a.id: a.rolename for a in msg.actors})


def traffic_light_states(msg) -> dict[int, int]:
    return {int(t.id): int(t.state) for t in msg.traffic_lights}


def traffic_light_infos(msg) -> list[tuple[int, tuple, tuple, tuple]]:
    """CarlaTrafficLightInfoList -> (id, pose, trigger centre relative to the pose, trigger half extents)."""
    out = []
    for t in msg.traffic_lights:
        c, s = t.trigger_volume.center, t.trigger_volume.size
        out.append((int(t.id), carla_pose(t.transform), (c.x, -c.y, c.z), (s.x / 2, abs(s.y) / 2, s.z / 2)))
    return out


def image(msg) -> np.ndarray:
    """Camera image -> numpy: RGB (H, W, 3) uint8 for colour images, float32 metres for depth."""
    arr = image_to_numpy(msg)
    if msg.encoding not in ("bgra8", "bgr8"):
        return arr
    if not arr.size:  # OpenCV refuses empty images
        return np.empty(arr.shape[:2] + (3,), np.uint8)
    import cv2

    # contiguous RGB in one pass (numpy's channel indexing gave a planar-strided copy that made
    # every later resize ~4x slower)
    return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB if msg.encoding == "bgra8" else cv2.COLOR_BGR2RGB)


_PALETTE_LUT: dict[int, int] | None = None


def semantic_ids(msg) -> np.ndarray:
    """Semantic camera (CityScapes palette bgra8) -> CARLA class ids (H, W) uint8."""
    from lead.sim.embedded.sensors.semantic import CITYSCAPES_PALETTE

    global _PALETTE_LUT
    if _PALETTE_LUT is None:
        pal = np.asarray(CITYSCAPES_PALETTE, np.int64)
        _PALETTE_LUT = {int(r) << 16 | int(g) << 8 | int(b): i for i, (r, g, b) in enumerate(pal)}
    arr = image_to_numpy(msg).astype(np.int64)
    key = arr[..., 2] << 16 | arr[..., 1] << 8 | arr[..., 0]
    uniq, inv = np.unique(key, return_inverse=True)
    ids = np.array([_PALETTE_LUT.get(int(k), 0) for k in uniq], np.uint8)
    return ids[inv].reshape(key.shape)


def lidar_points(msg) -> np.ndarray:
    """LiDAR cloud -> (N, 4) x, y, z, intensity in the CARLA sensor frame."""
    pts = np.array(cloud_to_xyzi(msg), dtype=np.float32, copy=True)
    pts[:, 1] *= -1.0
    return pts


def radar_detections(msg) -> np.ndarray:
    """Radar cloud -> (N, 4) CARLA detections (velocity, azimuth, altitude, depth)."""
    s = cloud_to_structured(msg)
    return np.column_stack([s["Velocity"], s["AzimuthAngle"], s["ElevationAngle"], s["Range"]]).astype(np.float32)


def stamp_ns(msg) -> int:
    return header_stamp_ns(msg)
