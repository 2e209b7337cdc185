"""Sensor rigs from config/rigs/*.yaml (the shape of carla-ros-bridge's objects.json).

Both world backends spawn the same rig from the same file, and the topic names, frame
ids and default attributes follow carla-ros-bridge and CARLA's blueprints, so a node
cannot tell which world is behind the topics.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RIGS_DIR = Path(__file__).resolve().parents[3] / "config" / "rigs"

# CARLA 0.9.15 blueprint defaults for the attributes we simulate
DEFAULTS: dict[str, dict[str, Any]] = {
    "sensor.camera.rgb": {"image_size_x": 800, "image_size_y": 600, "fov": 90.0},
    "sensor.camera.depth": {"image_size_x": 800, "image_size_y": 600, "fov": 90.0},
    "sensor.camera.semantic_segmentation": {"image_size_x": 800, "image_size_y": 600, "fov": 90.0},
    "sensor.camera.instance_segmentation": {"image_size_x": 800, "image_size_y": 600, "fov": 90.0},
    "sensor.lidar.ray_cast": {
        "channels": 32, "range": 10.0, "points_per_second": 56000, "rotation_frequency": 10.0,
        "upper_fov": 10.0, "lower_fov": -30.0, "horizontal_fov": 360.0, "atmosphere_attenuation_rate": 0.004,
        "dropoff_general_rate": 0.45, "dropoff_intensity_limit": 0.8, "dropoff_zero_intensity": 0.4,
        "noise_stddev": 0.0,
    },
    "sensor.other.radar": {"horizontal_fov": 30.0, "vertical_fov": 30.0, "range": 100.0, "points_per_second": 1500},
    "sensor.other.gnss": {"noise_alt_stddev": 0.0, "noise_lat_stddev": 0.0, "noise_lon_stddev": 0.0,
                          "noise_alt_bias": 0.0, "noise_lat_bias": 0.0, "noise_lon_bias": 0.0},
    "sensor.other.imu": {"noise_accel_stddev_x": 0.0, "noise_accel_stddev_y": 0.0, "noise_accel_stddev_z": 0.0,
                         "noise_gyro_stddev_x": 0.0, "noise_gyro_stddev_y": 0.0, "noise_gyro_stddev_z": 0.0},
    "sensor.other.collision": {},
    "sensor.other.lane_invasion": {},
    "sensor.pseudo.tf": {},
    "sensor.pseudo.odom": {},
    "sensor.pseudo.speedometer": {},
    "sensor.pseudo.objects": {},
    "actor.pseudo.control": {},
}
WORLD_PSEUDO = {"sensor.pseudo.traffic_lights", "sensor.pseudo.objects", "sensor.pseudo.actor_list",
                "sensor.pseudo.opendrive_map", "sensor.pseudo.markers"}
POSE_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")


class RigError(ValueError):
    pass


@dataclass(frozen=True)
class SensorSpec:
    type: str
    id: str
    pose: tuple[float, float, float, float, float, float]  # x, y, z, roll, pitch, yaw (CARLA, deg)
    attributes: dict[str, Any] = field(default_factory=dict)
    collect: bool = False  # only while recording training targets

    @property
    def is_camera(self) -> bool:
        return self.type.startswith("sensor.camera.")

    @property
    def publish_group(self) -> str:
        """Which part of a world tick carries this sensor's messages (both world nodes send a
        tick in this order, each part as soon as it is ready): 'state' (with the ground truth:
        odometry, speedometer, GNSS, IMU, collisions), 'rays' (LiDAR, radar), 'cameras'."""
        if self.is_camera:
            return "cameras"
        if self.type.startswith(("sensor.lidar.", "sensor.other.radar")):
            return "rays"
        return "state"

    def topic(self, role: str = "ego_vehicle") -> str:
        """carla-ros-bridge's topic: cameras publish <prefix>/image (+ camera_info), others <prefix>."""
        prefix = f"/carla/{role}/{self.id}"
        return prefix + "/image" if self.is_camera else prefix

    def frame_id(self, role: str = "ego_vehicle") -> str:
        return f"{role}/{self.id}"


@dataclass(frozen=True)
class Perturbation:
    sensors: tuple[str, ...]
    translation_m: tuple[float, float]
    rotation_deg: tuple[float, float]
    rotation_epsilon_deg: float


@dataclass(frozen=True)
class Rig:
    name: str
    ego_type: str
    role_name: str
    sensors: tuple[SensorSpec, ...]
    world_pseudo: tuple[str, ...]
    perturbation: Perturbation | None = None

    def select(self, collect: bool) -> list[SensorSpec]:
        """Sensors present when driving (collect=False) or when recording expert data."""
        return [s for s in self.sensors if collect or not s.collect]

    def by_type(self, prefix: str, collect: bool = False) -> list[SensorSpec]:
        return [s for s in self.select(collect) if s.type.startswith(prefix)]

    def get(self, sensor_id: str) -> SensorSpec:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(f"rig '{self.name}' has no sensor '{sensor_id}'")


def resolve_rig_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise RigError(f"rig file {p} does not exist")
        return p
    cand = RIGS_DIR / f"{name_or_path}.yaml"
    if not cand.exists():
        known = ", ".join(sorted(f.stem for f in RIGS_DIR.glob("*.yaml")))
        raise RigError(f"no rig named '{name_or_path}' in {RIGS_DIR} (known: {known})")
    return cand


def load_rig(name_or_path: str | Path = "lead") -> Rig:
    path = resolve_rig_path(name_or_path)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise RigError(f"{path}: not valid YAML: {e}") from None
    return parse_rig(doc, str(path))


def parse_rig(doc: Any, where: str = "<rig>") -> Rig:
    def fail(msg: str) -> RigError:
        return RigError(f"{where}: {msg}")

    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise fail("expected a mapping with an 'objects' list")
    egos = [o for o in doc["objects"] if isinstance(o, dict) and str(o.get("type", "")).startswith("vehicle.")]
    if len(egos) != 1:
        raise fail(f"expected exactly one vehicle object, found {len(egos)}")
    pseudo = []
    for i, o in enumerate(doc["objects"]):
        if not isinstance(o, dict) or "type" not in o or "id" not in o:
            raise fail(f"objects[{i}] needs 'type' and 'id'")
        if o["type"] in WORLD_PSEUDO:
            pseudo.append(o["type"])
        elif not o["type"].startswith("vehicle."):
            raise fail(f"objects[{i}]: unknown world object type '{o['type']}'")
    ego = egos[0]
    raw = ego.get("sensors") or []
    by_id: dict[str, dict] = {}
    sensors = []
    for i, s in enumerate(raw):
        here = f"sensor #{i} ({s.get('id', '?') if isinstance(s, dict) else '?'})"
        if not isinstance(s, dict) or "type" not in s or "id" not in s:
            raise fail(f"{here}: needs 'type' and 'id'")
        s = copy.deepcopy(s)
        if s["id"] in by_id:
            raise fail(f"{here}: duplicate sensor id '{s['id']}'")
        if s["type"] not in DEFAULTS:
            raise fail(f"{here}: unsupported sensor type '{s['type']}' (known: {', '.join(sorted(DEFAULTS))})")
        if "same_as" in s:  # a ground-truth camera at the pose and size of another camera
            src = by_id.get(s.pop("same_as"))
            if src is None:
                raise fail(f"{here}: same_as must name an earlier sensor")
            for k in ("spawn_point", "image_size_x", "image_size_y", "fov"):
                if k in src:
                    s.setdefault(k, src[k])
        by_id[s["id"]] = copy.deepcopy(s)
        sp = s.pop("spawn_point", {}) or {}
        unknown_pose = set(sp) - set(POSE_KEYS)
        if unknown_pose:
            raise fail(f"{here}: unknown spawn_point keys {sorted(unknown_pose)}")
        try:
            pose = tuple(float(sp.get(k, 0.0)) for k in POSE_KEYS)
        except (TypeError, ValueError):
            raise fail(f"{here}: spawn_point values must be numbers") from None
        typ, sid, collect = s.pop("type"), s.pop("id"), bool(s.pop("collect", False))
        attrs = dict(DEFAULTS[typ])
        for k, v in s.items():
            if k not in attrs:
                raise fail(f"{here}: unknown attribute '{k}' for {typ} (known: {', '.join(sorted(attrs)) or 'none'})")
            try:
                attrs[k] = type(attrs[k])(v)
            except (TypeError, ValueError):
                raise fail(f"{here}: attribute '{k}' must be {type(attrs[k]).__name__}, got {v!r}") from None
        sensors.append(SensorSpec(typ, sid, pose, attrs, collect))
    pert = None
    if doc.get("perturbation"):
        p = doc["perturbation"]
        missing = [k for k in ("sensors", "translation_m", "rotation_deg") if k not in p]
        if missing:
            raise fail(f"perturbation: missing {', '.join(missing)}")
        bad = [x for x in p["sensors"] if x not in by_id]
        if bad:
            raise fail(f"perturbation: unknown sensors {bad}")
        pert = Perturbation(tuple(p["sensors"]), tuple(map(float, p["translation_m"])),
                            tuple(map(float, p["rotation_deg"])), float(p.get("rotation_epsilon_deg", 0.0)))
    return Rig(Path(where).stem, ego["type"], ego["id"], tuple(sensors), tuple(pseudo), pert)


PERTURBED_SUFFIX = "_perturbated"


def sample_perturbation(p: Perturbation, rng) -> tuple[float, float]:
    """(sideways shift m, yaw deg) for one route, as LEAD samples its perturbated views: a
    magnitude in each range with a random sign; rotations under the epsilon become 0."""
    shift = rng.uniform(*p.translation_m) * rng.choice((-1.0, 1.0))
    yaw = rng.uniform(*p.rotation_deg) * rng.choice((-1.0, 1.0))
    if abs(yaw) < p.rotation_epsilon_deg:
        yaw = 0.0
    return float(shift), float(yaw)


def route_perturbation(rig: Rig, seed: int, route_id: str = "") -> tuple[float, float]:
    """The perturbation the world uses in collect mode for route `route_id` loaded with `seed`
    ((0, 0) for a rig without one); the recorder writes it into the bag's metadata from the same
    call. Each route draws its own, as LEAD does: one world seed serves every route of a run (the
    Leaderboard's traffic seed), and a draw from the seed alone gave every route of a collection
    the same shift and yaw, so that the perturbated half of the training data always looked
    to the same side."""
    import zlib

    import numpy as np

    if rig.perturbation is None:
        return 0.0, 0.0
    entropy = [int(seed), 0x9E7] + ([zlib.crc32(route_id.encode("utf-8"))] if route_id else [])
    return sample_perturbation(rig.perturbation, np.random.default_rng(np.random.SeedSequence(entropy)))


def perturbed_sensors(rig: Rig, shift_m: float, yaw_deg: float) -> list[SensorSpec]:
    """Copies of the rig's perturbation sensors, moved as LEAD's perturbated_sensor_cfg does:
    the mount rotated about z by yaw_deg, then shifted sideways by shift_m (ego y axis)."""
    import math

    if rig.perturbation is None:
        return []
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    out = []
    for sid in rig.perturbation.sensors:
        spec = rig.get(sid)
        x, y, z, roll, pitch, yaw = spec.pose
        pose = (c * x - s * y, s * x + c * y + shift_m, z, roll, pitch, yaw + yaw_deg)
        out.append(SensorSpec(spec.type, sid + PERTURBED_SUFFIX, pose, dict(spec.attributes), True))
    return out
