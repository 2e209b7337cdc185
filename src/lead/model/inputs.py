"""TFv6 input preprocessing: ONE implementation for the dataset cache and the policy's
preprocessing node (issue 10: "one function, two callers").

    frame = FrameAssembler(rig, cfg.lidar.steps)       # per route / per run, stateful
    frame.set_route(route_msg)                         # /lead/route (latched)
    f = frame.add_tick({topic: msg, ...})              # every tick; a RigFrame when the cameras are in
    x = build_inputs(f, cfg, rig)                      # {name: float32 array}, unbatched

`build_inputs` is pure numpy: it reads a `RigFrame` of already decoded arrays and returns exactly
the inputs of lead.model.tfv6 (`input_shapes(cfg)` without the batch dimension):
- rgb (3, H, W), 0..255: the rig's RGB cameras in rig order (rgb_1 left, rgb_2, rgb_3), each
  resized to camera.width x camera.height (area interpolation; none when the sizes already match,
  LEAD's Leaderboard mode does not crop), stitched left to right;
- rasterized_lidar (1, Hb, Wb): the points of the last lidar.steps ticks, each tick's points moved
  into the current ego frame with the 2D ego motion (x, y, yaw), as LEAD aligns its past LiDAR,
  kept for min_z <= z <= max_z, counted per BEV cell (rows along y from bev.min_y, columns along
  x from bev.min_x), capped at hist_max_per_pixel and divided by it (LEAD's
  lidar_to_histogram_features), all ticks in one channel;
- radar (N, 5): per radar of the rig (radar1..4) its first points_per_sensor detections as
  x, y, z (ego frame), radial velocity, sensor index; the rest of the sensor's rows zero but for
  the sensor index;
- speed (), command (6,) one-hot, target_point / _previous / _next (2,) in the ego frame from
  lead.inference.route_planner.TargetPointSource (the sensor agent's GNSS route planner).

The ego pose for the motion compensation is the sensor agent's: GNSS position through the route's
GPS reference and the IMU heading; before a route is known the odometry pose is used.

Perturbated views (LEAD's shifted/yawed camera rig, recorded only while collecting): a RigFrame
built with `perturbed=True` holds the *_perturbated cameras and radars, and its `perturbation`
(shift m, yaw deg). Everything else (LiDAR, target points) is moved into the perturbated ego frame
(origin shifted sideways by `shift`, rotated by `yaw`), so the sample looks as if the car stood
there, which is what LEAD trains the recovery on.
CARLA ego frame throughout (x forward, y right, z up, metres); yaw in radians unless named _deg.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from lead.inference.route_planner import EgoTargets, TargetPointSource, command_one_hot
from lead.model.config import ModelConfig
from lead.sim.rig import PERTURBED_SUFFIX, Rig, SensorSpec

GNSS_TOPIC = "/carla/ego_vehicle/gnss"
IMU_TOPIC = "/carla/ego_vehicle/imu"
ODOM_TOPIC = "/carla/ego_vehicle/odometry"
SPEED_TOPIC = "/carla/ego_vehicle/speedometer"


class InputError(ValueError):
    """A frame lacks what the model config needs (names the sensor/topic)."""


@dataclass
class LidarSweep:
    """One tick of LiDAR: all the rig's LiDARs merged, in that tick's ego frame."""
    points: np.ndarray                     # (N, 3) float32, ego frame of that tick
    pose: tuple[float, float, float]       # ego x, y (world, CARLA) and yaw (radians) at that tick
    stamp_ns: int = 0
    _world: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    def world_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The points' world x, y (float64), computed once: a sweep is moved into the current
        ego frame on each of the lidar.steps ticks it stays in the history."""
        if self._world is None:
            self._world = _to_world(self.points, self.pose)
        return self._world


@dataclass
class RigFrame:
    """Decoded sensor data of one tick, what build_inputs needs and nothing else."""
    stamp_ns: int
    cameras: dict[str, np.ndarray]         # rig sensor id (without suffix) -> RGB (H, W, 3) uint8
    lidar: list[LidarSweep]                # oldest .. newest; the newest is this tick
    radar: dict[str, np.ndarray]           # rig sensor id -> (N, 4) CARLA detections (vel, az, alt, depth)
    pose: tuple[float, float, float]       # ego x, y, yaw (radians), world
    speed: float                           # m/s
    targets: EgoTargets | None = None      # route target points (ego frame) and command
    perturbation: tuple[float, float] = (0.0, 0.0)  # (shift m, yaw deg) of the perturbated views
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- geometry

def carla_rotation_matrix(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """CARLA's Transform rotation (left-handed, degrees) as a 3x3 matrix (carla.Transform.get_matrix)."""
    cr, sr = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return np.array([[cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr],
                     [cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr],
                     [sp, -cp * sr, cp * cr]])


def sensor_to_ego(points: np.ndarray, pose: Sequence[float]) -> np.ndarray:
    """(N, 3) points in a sensor frame -> the ego frame, for a sensor mounted at pose
    (x, y, z, roll, pitch, yaw deg)."""
    r = carla_rotation_matrix(pose[3], pose[4], pose[5])
    return (np.asarray(points, np.float64)[:, :3] @ r.T + np.asarray(pose[:3], np.float64)).astype(np.float32)


def _to_world(points: np.ndarray, src: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(points, np.float64)
    cs, ss = math.cos(src[2]), math.sin(src[2])
    return src[0] + cs * p[:, 0] - ss * p[:, 1], src[1] + ss * p[:, 0] + cs * p[:, 1]


def _world_to_ego(wx: np.ndarray, wy: np.ndarray, dst: Sequence[float], out: np.ndarray) -> None:
    cd, sd = math.cos(dst[2]), math.sin(dst[2])
    dx, dy = wx - dst[0], wy - dst[1]
    out[:, 0], out[:, 1] = cd * dx + sd * dy, -sd * dx + cd * dy


def sweeps_to_ego(sweeps: Sequence[LidarSweep], dst: Sequence[float]) -> Iterator[np.ndarray]:
    """Each sweep's points, oldest first, as an (n, 3) float64 array in the ego frame at pose dst
    (x, y, yaw rad; a 2D move, z kept): through the sweep's world coordinates, computed once
    (LidarSweep.world_xy); a sweep taken at dst is copied as it is. One sweep at a time, so that
    what follows works on arrays that stay in the CPU cache."""
    dst = tuple(dst)
    for s in sweeps:
        if not len(s.points):
            continue
        part = np.array(s.points[:, :3], np.float64)
        if s.pose != dst:
            _world_to_ego(*s.world_xy(), dst, part)
        yield part


def perturb_points(points: np.ndarray, perturbation: tuple[float, float]) -> np.ndarray:
    """Ego-frame (N, 2+) points -> the perturbated ego frame (shifted sideways by shift m, yawed
    by yaw deg, as lead.sim.rig.perturbed_sensors moves the sensors)."""
    shift, yaw_deg = perturbation
    if shift == 0.0 and yaw_deg == 0.0:
        return np.asarray(points, np.float64)  # callers do not write into it: no copy
    p = np.array(points, np.float64)
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    x, y = p[:, 0], p[:, 1] - shift
    p[:, 0], p[:, 1] = c * x + s * y, -s * x + c * y
    return p


def radar_to_points(detections: np.ndarray) -> np.ndarray:
    """(N, 4) CARLA radar detections (velocity, azimuth, altitude, depth) -> (N, 4) x, y, z in the
    sensor frame (CARLA: azimuth positive to the right) and velocity."""
    d = np.asarray(detections, np.float64).reshape(-1, 4)
    vel, az, alt, depth = d[:, 0], d[:, 1], d[:, 2], d[:, 3]
    return np.column_stack([depth * np.cos(alt) * np.cos(az), depth * np.cos(alt) * np.sin(az),
                            depth * np.sin(alt), vel])


# ----------------------------------------------------------------------------- the function

def rgb_cameras(rig: Rig, count: int) -> list[SensorSpec]:
    cams = rig.by_type("sensor.camera.rgb")
    if len(cams) < count:
        raise InputError(f"rig '{rig.name}' has {len(cams)} RGB cameras, the model config needs {count}")
    return cams[:count]


def radar_sensors(rig: Rig, count: int) -> list[SensorSpec]:
    radars = rig.by_type("sensor.other.radar")
    if len(radars) < count:
        raise InputError(f"rig '{rig.name}' has {len(radars)} radars, the model config needs {count}")
    return radars[:count]


def _cell_counts(points: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """(N, 3+) ego-frame points -> (rows * cols,) int64 points per BEV cell, z band applied."""
    b, lc = cfg.bev, cfg.lidar
    rows, cols = cfg.lidar_height_pixel, cfg.lidar_width_pixel
    p = np.asarray(points, np.float64)
    # in place, one mask over all points (no filtered copies of the cloud)
    cx = np.subtract(p[:, 0], b.min_x)
    cx *= b.pixels_per_meter
    cy = np.subtract(p[:, 1], b.min_y)
    cy *= b.pixels_per_meter
    z = p[:, 2]
    ok = z >= lc.min_z
    ok &= z <= lc.max_z
    # floor(v) in [0, n) <=> v in [0, n) for an integer n: test before flooring
    ok &= cx >= 0
    ok &= cx < cols
    ok &= cy >= 0
    ok &= cy < rows
    cx, cy = cx[ok], cy[ok]
    np.floor(cy, out=cy)
    cy *= cols
    cy += np.floor(cx, out=cx)
    return np.bincount(cy.astype(np.int64), minlength=rows * cols)


def _histogram(counts: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    cap = cfg.lidar.hist_max_per_pixel
    hist = np.minimum(counts, cap).astype(np.float32) / float(cap)
    return hist.reshape(1, cfg.lidar_height_pixel, cfg.lidar_width_pixel)


def lidar_histogram(points: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """(N, 3+) ego-frame points -> (1, rows=y, cols=x) float32 hit counts / max, capped at 1."""
    return _histogram(_cell_counts(points, cfg), cfg)


def sweeps_histogram(sweeps: Sequence[LidarSweep], dst: Sequence[float], perturbation: tuple[float, float],
                     cfg: ModelConfig) -> np.ndarray:
    """lidar_histogram of the sweeps moved into the ego frame at dst and perturbated: the same
    numbers as of their concatenation (per-point arithmetic, integer counts), sweep by sweep."""
    counts = np.zeros(cfg.lidar_height_pixel * cfg.lidar_width_pixel, np.int64)
    for part in sweeps_to_ego(sweeps, dst):
        counts += _cell_counts(perturb_points(part, perturbation), cfg)
    return _histogram(counts, cfg)


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    if img.shape[1] == width and img.shape[0] == height:
        return img
    import cv2

    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def build_inputs(frame: RigFrame, cfg: ModelConfig, rig: Rig) -> dict[str, np.ndarray]:
    """One tick's TFv6 inputs (unbatched float32, the keys of lead.model.tfv6.input_shapes(cfg))."""
    out: dict[str, np.ndarray] = {}
    cams = []
    for spec in rgb_cameras(rig, cfg.camera.count):
        img = frame.cameras.get(spec.id)
        if img is None:
            raise InputError(f"frame at t={frame.stamp_ns / 1e9:.2f} s has no image of camera '{spec.id}'"
                             + (" (perturbated)" if frame.perturbation != (0.0, 0.0) else ""))
        cams.append(_resize(np.asarray(img)[..., :3], cfg.camera.width, cfg.camera.height))
    out["rgb"] = np.ascontiguousarray(np.concatenate(cams, axis=1).transpose(2, 0, 1), dtype=np.float32)

    if cfg.lidar.enabled:
        sweeps = frame.lidar[-cfg.lidar.steps:]
        if not sweeps:
            raise InputError(f"frame at t={frame.stamp_ns / 1e9:.2f} s has no LiDAR sweep")
        out["rasterized_lidar"] = sweeps_histogram(sweeps, frame.pose, frame.perturbation, cfg)

    if cfg.radar.enabled:
        per = cfg.radar.points_per_sensor
        radar = np.zeros((cfg.num_radar_points, 5), np.float32)
        for i, spec in enumerate(radar_sensors(rig, cfg.radar.sensors)):
            radar[i * per:(i + 1) * per, 4] = i
            det = frame.radar.get(spec.id)
            if det is None:
                raise InputError(f"frame at t={frame.stamp_ns / 1e9:.2f} s has no detections of radar '{spec.id}'")
            p = radar_to_points(det)[:per]
            if len(p):
                # a perturbated radar sits at its nominal mount relative to the perturbated ego
                radar[i * per:i * per + len(p), :3] = sensor_to_ego(p[:, :3], spec.pose)
                radar[i * per:i * per + len(p), 3] = p[:, 3]
        out["radar"] = radar

    if cfg.radar.enabled or cfg.planning.enabled:
        out["speed"] = np.asarray(frame.speed, np.float32).reshape(())

    if cfg.planning.enabled:
        t = frame.targets
        if t is None:
            raise InputError(f"frame at t={frame.stamp_ns / 1e9:.2f} s has no route target points "
                             f"(no /lead/route received before it)")
        out["command"] = command_one_hot(t.command)
        for k in ("target_point", "target_point_previous", "target_point_next"):
            p = perturb_points(np.asarray(getattr(t, k), np.float64).reshape(1, 2), frame.perturbation)
            out[k] = p[0].astype(np.float32)
    return out


# ----------------------------------------------------------------------------- from ROS messages

def _imu_yaw(msg) -> float:
    from lead.frames import ros_quaternion_to_carla_rotation

    q = msg.orientation
    return math.radians(ros_quaternion_to_carla_rotation(q.x, q.y, q.z, q.w)[2])


def _stamp(msg) -> int:
    h = getattr(msg, "header", None)
    return int(h.stamp.sec) * 1_000_000_000 + int(h.stamp.nanosec) if h is not None else 0


def lidar_sweep(rig: Rig, msgs: Mapping[str, Any], pose: tuple[float, float, float]) -> LidarSweep | None:
    """The rig's LiDAR clouds of one tick (topic -> PointCloud2) merged into the ego frame; None
    when none of them is in `msgs`."""
    from lead.sim import decode

    parts, stamp = [], 0
    for spec in rig.by_type("sensor.lidar.ray_cast"):
        m = msgs.get(spec.topic(rig.role_name))
        if m is None:
            continue
        stamp = max(stamp, _stamp(m))
        parts.append(sensor_to_ego(decode.lidar_points(m)[:, :3], spec.pose))
    if not parts:
        return None
    return LidarSweep(np.concatenate(parts).astype(np.float32), pose, stamp)


def frame_from_messages(rig: Rig, msgs: Mapping[str, Any], lidar: Sequence[LidarSweep],
                        pose: tuple[float, float, float], targets: EgoTargets | None,
                        perturbed: bool = False, perturbation: tuple[float, float] = (0.0, 0.0)) -> RigFrame:
    """A RigFrame from one tick's deserialised messages (topic -> msg): the RGB cameras (or their
    *_perturbated copies), the radars, the speedometer; with the LiDAR history, ego pose and
    route targets the caller tracks (FrameAssembler does). Missing cameras/radars are left out
    (build_inputs names them)."""
    from lead.sim import decode

    role = rig.role_name
    suffix = PERTURBED_SUFFIX if perturbed else ""
    cams = {}
    for spec in rig.by_type("sensor.camera.rgb"):
        m = msgs.get(f"/carla/{role}/{spec.id}{suffix}/image")
        if m is not None:
            cams[spec.id] = decode.image(m)
    radar = {}
    for spec in rig.by_type("sensor.other.radar"):
        m = msgs.get(f"/carla/{role}/{spec.id}{suffix}")
        if m is not None:
            radar[spec.id] = decode.radar_detections(m)
    sp = msgs.get(SPEED_TOPIC)
    speed = float(sp.data) if sp is not None else float("nan")
    stamps = [_stamp(msgs[k]) for k in msgs if hasattr(msgs[k], "header")]
    return RigFrame(max(stamps) if stamps else 0, cams, list(lidar), radar, pose, speed, targets,
                    perturbation if perturbed else (0.0, 0.0))


class FrameAssembler:
    """Tracks what build_inputs needs across ticks (LiDAR history, ego pose, route target points)
    and turns each tick's messages into a RigFrame. Feed it every tick in order."""

    def __init__(self, rig: Rig, lidar_steps: int = 10) -> None:
        self.rig = rig
        self.lidar: deque[LidarSweep] = deque(maxlen=max(1, int(lidar_steps)))
        self.route_source: TargetPointSource | None = None
        self.targets: EgoTargets | None = None
        self.pose: tuple[float, float, float] | None = None
        self.speed = float("nan")
        self.camera_topics = [s.topic(rig.role_name) for s in rig.by_type("sensor.camera.rgb")]

    def set_route(self, route_msg) -> None:
        """/lead/route (lead_msgs/Route): the GPS plan with road options the sensor agent gets."""
        if not route_msg.plan:
            raise InputError(f"route '{route_msg.route_id}' has an empty plan")
        p0 = route_msg.dense[0] if route_msg.dense else route_msg.plan[0]
        plan = [(p.latitude, p.longitude, p.altitude, int(p.road_option)) for p in route_msg.plan]
        self.route_source = TargetPointSource.from_route(
            (p0.pose.position.x, -p0.pose.position.y, p0.latitude, p0.longitude), plan)
        self.targets = None

    def update(self, msgs: Mapping[str, Any]) -> None:
        """Advance the state with one tick's messages (ego pose, targets, LiDAR)."""
        from lead.sim import decode

        gnss, imu, odom = msgs.get(GNSS_TOPIC), msgs.get(IMU_TOPIC), msgs.get(ODOM_TOPIC)
        if self.route_source is not None and gnss is not None and imu is not None:
            self.targets = self.route_source.step(gnss.latitude, gnss.longitude, gnss.altitude, _imu_yaw(imu))
            self.pose = (float(self.targets.position[0]), float(self.targets.position[1]), self.targets.yaw)
        elif odom is not None:
            p = decode.odometry(odom)[0]
            self.pose = (p[0], p[1], math.radians(p[5]))
        if self.pose is None:
            return
        sweep = lidar_sweep(self.rig, msgs, self.pose)
        if sweep is not None:
            self.lidar.append(sweep)

    def frame(self, msgs: Mapping[str, Any], perturbed: bool = False,
              perturbation: tuple[float, float] = (0.0, 0.0)) -> RigFrame | None:
        """This tick's RigFrame (call after update), None before the first pose."""
        if self.pose is None:
            return None
        return frame_from_messages(self.rig, msgs, self.lidar, self.pose, self.targets, perturbed, perturbation)

    def add_tick(self, msgs: Mapping[str, Any]) -> RigFrame | None:
        """update(), then the frame when this tick has all the RGB cameras, else None."""
        self.update(msgs)
        if any(t not in msgs for t in self.camera_topics):
            return None
        return self.frame(msgs)
