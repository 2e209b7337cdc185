"""CARLA sensor data -> the arrays lead.sim.messages takes -> topic-contract messages.

The decoders are plain numpy functions of the raw buffers, so they are tested with
synthetic buffers laid out as CARLA writes them (no server):
  - sensor.camera.* (carla.Image): raw_data is height x width x 4 uint8 BGRA;
    rgb -> RGBA; depth -> metres from CARLA's 24-bit code
    (R + G*256 + B*256^2) / (256^3 - 1) * 1000 (lead.sim.embedded.sensors.depth);
    semantic_segmentation -> the class id in the red channel (CARLA 0.9.14+ ids).
  - sensor.lidar.ray_cast (carla.LidarMeasurement): float32 x, y, z, intensity per point
    (CARLA frame, sensor-relative).
  - sensor.other.radar (carla.RadarMeasurement): float32 velocity, azimuth, altitude, depth.
  - sensor.other.gnss: latitude, longitude, altitude; sensor.other.imu: accelerometer
    (m/s^2), gyroscope (rad/s), compass (rad).
The decoded values have the shapes the embedded world's sense() returns, and the message
functions are the embedded world node's (lead.sim.messages), so consumers cannot tell the
backends apart.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lead.sim import messages as M
from lead.sim.embedded.sensors.depth import decode_depth as _decode_depth_rgb
from lead.sim.rig import SensorSpec

CAMERA_TYPES = ("sensor.camera.rgb", "sensor.camera.depth", "sensor.camera.semantic_segmentation")
# sensor types with a CARLA blueprint that the node spawns (the rest are pseudo sensors the node computes)
SPAWNED_TYPES = CAMERA_TYPES + ("sensor.lidar.ray_cast", "sensor.other.radar", "sensor.other.gnss",
                                "sensor.other.imu", "sensor.other.collision", "sensor.other.lane_invasion")
# sensors that report only when something happens (no reading to wait for each tick)
EVENT_TYPES = ("sensor.other.collision", "sensor.other.lane_invasion")


# ----------------------------------------------------------------------------- raw decoders

def bgra(raw: Any, width: int, height: int) -> np.ndarray:
    """carla.Image.raw_data -> (H, W, 4) uint8 BGRA (a view of the buffer)."""
    a = np.frombuffer(raw, dtype=np.uint8)
    if a.size != width * height * 4:
        raise ValueError(f"image buffer of {a.size} bytes is not {height}x{width} BGRA")
    return a.reshape(height, width, 4)


def decode_rgb(raw: Any, width: int, height: int) -> np.ndarray:
    """sensor.camera.rgb -> (H, W, 4) uint8 RGBA (what lead.sim.messages.rgb_image takes)."""
    return np.ascontiguousarray(bgra(raw, width, height)[..., [2, 1, 0, 3]])


def decode_depth(raw: Any, width: int, height: int) -> np.ndarray:
    """sensor.camera.depth (raw, no ColorConverter) -> (H, W) float32 metres."""
    return _decode_depth_rgb(np.ascontiguousarray(bgra(raw, width, height)[..., [2, 1, 0]]))


def decode_semantic(raw: Any, width: int, height: int) -> np.ndarray:
    """sensor.camera.semantic_segmentation (raw) -> (H, W) uint8 class ids (the red channel)."""
    return np.ascontiguousarray(bgra(raw, width, height)[..., 2])


def decode_lidar(raw: Any) -> np.ndarray:
    """carla.LidarMeasurement.raw_data -> (N, 4) float32 x, y, z, intensity (CARLA sensor frame)."""
    a = np.frombuffer(raw, dtype=np.float32)
    if a.size % 4:
        raise ValueError(f"lidar buffer of {a.size} floats is not N x 4")
    return a.reshape(-1, 4).copy()


def decode_radar(raw: Any) -> np.ndarray:
    """carla.RadarMeasurement.raw_data -> (N, 4) float32 velocity, azimuth, altitude, depth."""
    a = np.frombuffer(raw, dtype=np.float32)
    if a.size % 4:
        raise ValueError(f"radar buffer of {a.size} floats is not N x 4")
    return a.reshape(-1, 4).copy()


def decode_gnss(m) -> tuple[float, float, float]:
    return (float(m.latitude), float(m.longitude), float(m.altitude))


def decode_imu(m) -> tuple[tuple[float, float, float], tuple[float, float, float], float]:
    """(accelerometer, gyroscope rad/s, compass rad), the embedded world's imu() layout."""
    a, g = m.accelerometer, m.gyroscope
    return (float(a.x), float(a.y), float(a.z)), (float(g.x), float(g.y), float(g.z)), float(m.compass)


def decode(spec: SensorSpec, m) -> Any:
    """A CARLA measurement of `spec` -> the value the embedded world's sense() gives for it
    (cameras: the single array of their type)."""
    t = spec.type
    if t == "sensor.camera.rgb":
        return decode_rgb(m.raw_data, m.width, m.height)
    if t == "sensor.camera.depth":
        return decode_depth(m.raw_data, m.width, m.height)
    if t == "sensor.camera.semantic_segmentation":
        return decode_semantic(m.raw_data, m.width, m.height)
    if t == "sensor.lidar.ray_cast":
        return decode_lidar(m.raw_data)
    if t == "sensor.other.radar":
        return decode_radar(m.raw_data)
    if t == "sensor.other.gnss":
        return decode_gnss(m)
    if t == "sensor.other.imu":
        return decode_imu(m)
    if t == "sensor.other.collision":
        imp = m.normal_impulse
        return (int(m.other_actor.id) if m.other_actor is not None else 0, (float(imp.x), float(imp.y), float(imp.z)))
    if t == "sensor.other.lane_invasion":
        return [int(x.type) for x in m.crossed_lane_markings]
    raise ValueError(f"no decoder for sensor type {t}")


# ----------------------------------------------------------------------------- messages

def sensor_messages(spec: SensorSpec, value: Any, stamp_ns: int, frame_id: str,
                    rotation_deg=(0.0, 0.0, 0.0)) -> list:
    """Decoded value -> the sensor's messages, built by lead.sim.messages exactly as the
    embedded world node builds them (cameras: image then camera_info). `rotation_deg`:
    (roll, pitch, yaw) of the IMU in the world (its orientation field)."""
    t = spec.type
    if spec.is_camera:
        if t == "sensor.camera.depth":
            img = M.depth_image(value, stamp_ns, frame_id)
        elif t == "sensor.camera.semantic_segmentation":
            img = M.semantic_image(value, stamp_ns, frame_id)
        else:
            img = M.rgb_image(value, stamp_ns, frame_id)
        a = spec.attributes
        return [img, M.camera_info_msg(a["image_size_x"], a["image_size_y"], a["fov"], stamp_ns, frame_id)]
    if t == "sensor.lidar.ray_cast":
        return [M.lidar_cloud(value, stamp_ns, frame_id)]
    if t == "sensor.other.radar":
        return [M.radar_cloud(value, stamp_ns, frame_id)]
    if t == "sensor.other.gnss":
        return [M.navsatfix(*value, stamp_ns, frame_id)]
    if t == "sensor.other.imu":
        acc, gyro, _ = value
        return [M.imu(acc, gyro, rotation_deg, stamp_ns, frame_id)]
    if t == "sensor.other.collision":
        other, impulse = value
        return [M.collision_event(other, impulse, stamp_ns, frame_id)]
    if t == "sensor.other.lane_invasion":
        return [M.lane_invasion_event(value, stamp_ns, frame_id)]
    raise ValueError(f"no message for sensor type {t}")


def measurement_messages(spec: SensorSpec, m, stamp_ns: int, role: str = "ego_vehicle") -> list:
    """A CARLA measurement -> its topic-contract messages (decode + sensor_messages)."""
    rot = (0.0, 0.0, 0.0)
    if spec.type == "sensor.other.imu":
        r = m.transform.rotation
        rot = (float(r.roll), float(r.pitch), float(r.yaw))
    return sensor_messages(spec, decode(spec, m), stamp_ns, spec.frame_id(role), rot)


# ----------------------------------------------------------------------------- blueprints

def blueprint_attributes(spec: SensorSpec) -> dict[str, str]:
    """The rig's attributes as CARLA blueprint attribute strings (set_attribute takes str).
    sensor_tick stays CARLA's default 0: every tick of the synchronous world."""
    out = {}
    for k, v in spec.attributes.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, float) and v.is_integer() and k in ("image_size_x", "image_size_y", "channels",
                                                               "points_per_second"):
            out[k] = str(int(v))
        else:
            out[k] = str(v)
    return out
