"""The rig's sensors over the embedded world: one renderer for all cameras of a tick (cameras
at the same pose share one render: rgb_i, depth_i and semantic_segmentation_i), Embree ray
casting for the LiDARs and radars, and the state sensors."""
from __future__ import annotations

import functools
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from lead.sim.embedded.sensors import (
    Actor,
    ActorKind,
    CameraSpec,
    LidarSpec,
    Radar,
    RadarSpec,
    RayCaster,
    RayCastLidar,
    Weather,
    pose_matrix,
    world_matrix,
)
from lead.sim.embedded.vehicles import VEHICLES
from lead.sim.rig import SensorSpec

if TYPE_CHECKING:
    from lead.sim.embedded.world import EmbeddedWorld, Frame

log = logging.getLogger("lead.sim")

_BASE_KIND = {"car": ActorKind.CAR, "van": ActorKind.CAR, "truck": ActorKind.TRUCK, "bus": ActorKind.BUS,
              "motorcycle": ActorKind.MOTORCYCLE, "bicycle": ActorKind.BICYCLE}
RAYCAST_THREADS = 2  # a 2-core laptop's worth; more would only contend with llvmpipe's threads
_LIGHT_RGB = {0: (220, 30, 30), 1: (230, 200, 20), 2: (30, 210, 60)}


def actor_kind(type_id: str, kind: str) -> ActorKind:
    if kind == "walker" or type_id.startswith("walker."):
        return ActorKind.PEDESTRIAN
    bp = VEHICLES.get(type_id)
    if bp is not None:
        return _BASE_KIND.get(bp.base_type, ActorKind.CAR)
    return ActorKind.CAR if type_id.startswith("vehicle.") else ActorKind.PROP


@functools.lru_cache(maxsize=8192)  # a generator per call costs ~20 us: ~2 ms a tick for 100 actors
def _colour(actor_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(actor_id)  # stable paint per actor
    return tuple(int(c) for c in rng.integers(30, 230, 3))


def render_actors(frame: "Frame", light_heads: Sequence[tuple[str, Sequence[float]]] = (),
                  include_ego: bool = False) -> list[Actor]:
    """The actors the sensors see: vehicles/walkers as boxes at their box centre, and the
    traffic-light heads (pose of each head) lit in their current state."""
    out = []
    states = list(frame.actors) + ([frame.ego] if include_ego else [])
    for a in states:
        x, y, z, roll, pitch, yaw = a.transform
        kind = actor_kind(a.type_id, a.kind)
        cz = z if kind == ActorKind.PEDESTRIAN else z + a.extent[2]  # vehicles: transform on the ground
        out.append(Actor(kind, (x, y, cz, roll, pitch, yaw), a.extent, _colour(a.id), actor_id=a.id,
                         velocity=a.velocity))
    for light_id, pose in light_heads:
        st = frame.lights.get(light_id)
        state = int(st) if st is not None else 3
        out.append(Actor(ActorKind.TRAFFIC_LIGHT, tuple(pose), (0.2, 0.2, 0.5), (40, 40, 40),
                         light_state=state))
    return out


_CHANNEL_OF = {"sensor.camera.depth": "depth", "sensor.camera.semantic_segmentation": "semantic"}


class SensorSuite:
    def __init__(self, world: "EmbeddedWorld", sensors: Sequence[SensorSpec]):
        from lead.sim.embedded.scene_builder import build_static_scene

        self.world = world
        if world.scene is None:
            world.scene = build_static_scene(world.map, seed=world._seed, detail=world.config.scene_detail,
                                             cache_dir=world.config.scene_cache)
        mesh = world.scene.mesh
        self.light_heads = list(getattr(world.scene, "light_heads", []))
        self.caster = RayCaster(mesh)
        cams = [s for s in sensors if s.is_camera] if world.config.render else []
        # one render per distinct (pose, size, fov); each camera sensor reads its channel
        self.camera_groups: dict[tuple, list[SensorSpec]] = defaultdict(list)
        for s in cams:
            a = s.attributes
            self.camera_groups[(s.pose, a["image_size_x"], a["image_size_y"], a["fov"])].append(s)
        self.camera_specs = [CameraSpec(group[0].id, key[0], int(key[1]), int(key[2]), float(key[3]))
                             for key, group in self.camera_groups.items()]
        self.renderer = world.camera_renderer() if self.camera_specs else None
        # render only the images some camera publishes (or what the config asks for)
        self.camera_channels = tuple(world.config.camera_channels or
                                     sorted({_CHANNEL_OF.get(s.type, "rgb") for s in cams}))
        seed = world._seed
        self.lidars = [(s, RayCastLidar(LidarSpec.from_attributes(s.attributes), seed=seed + i))
                       for i, s in enumerate(x for x in sensors if x.type == "sensor.lidar.ray_cast")]
        self.radars = [(s, Radar(RadarSpec.from_attributes(s.attributes), seed=seed + 100 + i))
                       for i, s in enumerate(x for x in sensors if x.type == "sensor.other.radar")]
        self.others = [s for s in sensors if s.type in ("sensor.other.gnss", "sensor.other.imu",
                                                       "sensor.pseudo.speedometer")]
        self._pool = None  # the ray-casting threads, started with the first measurement

    def _raycast_pool(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(RAYCAST_THREADS, thread_name_prefix="raycast")
        return self._pool

    def measure(self, frame: "Frame") -> dict[str, Any]:
        """Every sensor's reading of this tick, by sensor id."""
        return self.measure_start(frame).all()

    def _submit_render(self, frame: "Frame", ego_m: np.ndarray, actors: list[Actor]) -> bool:
        """Start this tick's camera render, if it has one."""
        # frame.number is the tick index (sim time / dt), the recorder's rule for saved ticks
        render = self.renderer is not None and frame.number % self.world.config.camera_every == 0
        if render and not self.renderer.alive:
            log.warning("the camera render process is gone: starting a new one")
            self.renderer = self.world.camera_renderer()
        if render:
            w = self.world.weather
            weather = Weather(cloudiness=w.get("cloudiness", 5.0), sun_azimuth_angle=w.get("sun_azimuth_angle", 0.0),
                              sun_altitude_angle=w.get("sun_altitude_angle", 45.0),
                              fog_density=w.get("fog_density", 0.0), fog_distance=w.get("fog_distance", 0.0))
            self.renderer.submit(self.camera_specs, ego_m, actors, weather, channels=self.camera_channels)
        return render

    def measure_start(self, frame: "Frame") -> "PendingReadings":
        """Start this tick's measurement; the readings come as they are ready (see
        PendingReadings): the state sensors at once, LiDAR and radar when the casting threads
        finish, the cameras when the render process has drawn them. The world node publishes
        each part as it comes."""
        ego_m = pose_matrix(frame.ego.transform)
        actors = render_actors(frame, self.light_heads)
        dt = self.world.config.dt
        # The cameras render in their own process (RenderProcess: submit now, images later;
        # submitted first, as the longest part of a tick) or, in this process, on this thread
        # in result(). Embree releases the GIL: each LiDAR (and the radars together) casts its
        # rays on a worker thread meanwhile. Each sensor keeps its own random stream, so the
        # readings do not depend on the timing.
        render = self._submit_render(frame, ego_m, actors)
        self.caster.set_actors(actors)
        jobs = [(lambda s=s, lidar=lidar: {s.id: lidar.measure(self.caster, world_matrix(s.pose, ego_m), dt).points})
                for s, lidar in self.lidars]
        if self.radars:
            jobs.append(lambda: {s.id: radar.measure(self.caster, world_matrix(s.pose, ego_m), dt)
                                 for s, radar in self.radars})
        renderer, groups = self.renderer, list(self.camera_groups.values())

        def cameras() -> dict[str, Any]:
            if not render:
                return {}
            return {s.id: img for img, group in zip(renderer.result(), groups) for s in group}

        if len(jobs) > 1 or (len(jobs) == 1 and render):
            futures = [self._raycast_pool().submit(job) for job in jobs]
            rays = lambda: {k: v for f in futures for k, v in f.result().items()}  # noqa: E731
        else:
            rays = lambda: {k: v for job in jobs for k, v in job().items()}  # noqa: E731
        state: dict[str, Any] = {}
        for s in self.others:
            if s.type == "sensor.other.gnss":
                state[s.id] = self.world.gnss(frame)
            elif s.type == "sensor.other.imu":
                state[s.id] = self.world.imu(frame)
            else:
                state[s.id] = frame.ego_speed
        pending = PendingReadings(state, rays, cameras)
        if render and not renderer.asynchronous:
            pending.cameras()  # in this process: render now, beside the ray-casting threads
        return pending


class PendingReadings:
    """One tick's sensor readings (by sensor id), in three parts: `state` (GNSS, IMU,
    speedometer) at once; `rays()` (LiDAR, radar) and `cameras()` block until theirs are
    ready. Each part is computed once; `all()` merges them."""

    def __init__(self, state: dict[str, Any], rays: Callable[[], dict], cameras: Callable[[], dict]):
        self.state = state
        self.rays = functools.cache(rays)
        self.cameras = functools.cache(cameras)

    def all(self) -> dict[str, Any]:
        return {**self.state, **self.rays(), **self.cameras()}
