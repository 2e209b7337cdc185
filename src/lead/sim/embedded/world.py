"""The embedded world: a town, the ego vehicle, traffic, scenario actors and the sensor rig,
stepped at a fixed rate. Plain library (the world node wraps it with ROS topics).

    world = EmbeddedWorld(WorldConfig(rig="lead"))
    world.load("LeadGrid001", seed=3)
    world.spawn_ego((x, y, z, roll, pitch, yaw))
    world.apply_control(VehicleControl(throttle=0.5))
    frame = world.tick()          # state of everything after one step
    readings = world.sense()      # sensor data of that state, by sensor id

Everything is in CARLA's frame. Deterministic: the same seed, town and controls give the
same frames and sensor data.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lead.control.vehicle_control import VehicleControl
from lead.sim.embedded.dynamics import DynamicsParams, VehicleDynamics
from lead.sim.embedded.traffic import ActorState, Traffic, overlapping_pairs
from lead.sim.embedded.traffic.lights import LightState
from lead.sim.embedded.vehicles import EGO_BLUEPRINT, vehicle
from lead.sim.rig import Rig, SensorSpec, load_rig, perturbed_sensors, route_perturbation
from lead.world.gps import location_to_gps

log = logging.getLogger("lead.sim")

EGO_ID = 1  # traffic hands out ids from 1000; scenario actors from 500
SCENARIO_FIRST_ID = 500
GRAVITY = 9.81


@dataclass
class WorldConfig:
    dt: float = 0.05
    rig: str = "lead"
    collect: bool = False          # also produce the training-target sensors of the rig
    render: bool = True            # cameras on (LiDAR/radar/state sensors are always on)
    num_vehicles: int = 30
    num_pedestrians: int = 20
    scene_detail: str = "normal"
    maps_dirs: Sequence[str] = ()
    scene_cache: str | None = None
    # camera images to render ("rgb", "depth", "semantic"); None: those the rig's cameras publish
    camera_channels: tuple[str, ...] | None = None
    # cameras render (and the world node publishes them) only on ticks whose index (sim time /
    # dt) is a multiple of this: CARLA's sensor_tick for the cameras. `lead collect` sets the data
    # table's save rate: the expert drives without cameras and the recorder keeps no other tick.
    camera_every: int = 1
    # cameras render in a child process, beside the LiDAR/radar ray casting (in one process
    # moderngl's GIL hold makes them take turns); False: on the calling thread
    render_process: bool = True

    def __post_init__(self) -> None:
        if int(self.camera_every) < 1:
            raise ValueError(f"WorldConfig.camera_every must be >= 1, got {self.camera_every}")


@dataclass
class ScenarioActor:
    """An actor a scenario owns: the scenario sets its state every tick (scripted or
    through `control` with its own dynamics); traffic treats it as an obstacle."""
    state: ActorState
    role_name: str = "scenario"
    dynamics: VehicleDynamics | None = None
    control: VehicleControl = field(default_factory=VehicleControl)
    static: bool = False


@dataclass(frozen=True)
class Collision:
    other_id: int
    other_type: str
    normal_impulse: tuple[float, float, float]


@dataclass
class Frame:
    """The world after a tick: ego, other actors, light states, this tick's events."""
    number: int
    time_ns: int
    ego: ActorState
    ego_speed: float
    ego_control: VehicleControl
    steer_angle: float
    actors: list[ActorState]
    roles: dict[int, str]
    lights: dict[str, LightState]
    collisions: list[Collision]
    lane_invasions: list[list[int]]


def _light_state(s: Any) -> LightState:
    return s if isinstance(s, LightState) else LightState(int(s))


class EmbeddedWorld:
    def __init__(self, config: WorldConfig | None = None):
        self.config = config or WorldConfig()
        self.rig: Rig = load_rig(self.config.rig)
        self.map = None
        self.map_name = ""
        self.opendrive = ""
        self.traffic: Traffic | None = None
        self.scene = None
        self.ego: VehicleDynamics | None = None
        self.ego_blueprint = EGO_BLUEPRINT
        self.scenario_actors: dict[int, ScenarioActor] = {}
        self.control = VehicleControl()
        self.frame_number = 0
        self.time_ns = 0
        self.weather: dict[str, float] = {}
        self._next_scenario_id = SCENARIO_FIRST_ID
        self._sensors = None  # built lazily: renderer, casters, lidars, radars
        self._renderer = None  # the cameras' renderer, kept across routes (see camera_renderer)
        self._renderer_scene = None
        self._seed = 0
        self._last_frame: Frame | None = None
        self._in_contact: set[int] = set()
        self.perturbation = (0.0, 0.0)  # (sideways m, yaw deg) of the perturbated views, per route

    # ------------------------------------------------------------------ setup
    def load(self, town: str = "", opendrive: str = "", seed: int = 0, weather: dict | None = None,
             num_vehicles: int | None = None, num_pedestrians: int | None = None,
             route_id: str = "") -> tuple[str, str]:
        """Load a town (by CARLA name on the maps path, or its OpenDRIVE text), reset time,
        traffic and lights; returns (map name, OpenDRIVE text). `route_id`: the route this load
        is for (collect mode draws the route's perturbation from it and the seed)."""
        from lead.world.map import Map
        from lead.world.maps_path import find_map

        if opendrive:
            self.map = Map.from_string(opendrive, town or "custom")
            self.map_name, self.opendrive = town or "custom", opendrive
        else:
            path = find_map(town, self.config.maps_dirs)
            self.opendrive = Path(path).read_text()
            self.map = Map.from_file(path, town)
            self.map_name = town
        self._seed = int(seed)
        self.weather = dict(weather or {})
        self.perturbation = (0.0, 0.0)
        if self.config.collect and self.rig.perturbation is not None:
            self.perturbation = route_perturbation(self.rig, self._seed, route_id)
        nv = self.config.num_vehicles if num_vehicles is None or num_vehicles < 0 else num_vehicles
        npd = self.config.num_pedestrians if num_pedestrians is None or num_pedestrians < 0 else num_pedestrians
        self.traffic = Traffic(self.map, seed=self._seed, num_vehicles=nv, num_pedestrians=npd, first_id=1000)
        self.ego = None
        self.scenario_actors.clear()
        self._next_scenario_id = SCENARIO_FIRST_ID
        self.frame_number, self.time_ns = 0, 0
        self._sensors = None
        self.scene = None
        self._in_contact.clear()
        log.info("loaded %s (seed %d): %d vehicles, %d pedestrians", self.map_name, seed, nv, npd)
        return self.map_name, self.opendrive

    def reset(self, seed: int | None = None) -> None:
        """Everything removed (ego included), time back to 0, traffic re-seeded."""
        if self.map is None:
            return
        self.load(self.map_name, self.opendrive, self._seed if seed is None else seed, self.weather)

    def set_weather(self, weather: dict) -> None:
        self.weather = dict(weather)

    def spawn_ego(self, pose: Sequence[float], blueprint: str = "") -> int:
        """Put the ego at pose (x, y, z, roll, pitch, yaw) at rest; traffic near it is moved away."""
        self._require_map()
        self.ego_blueprint = blueprint or EGO_BLUEPRINT
        vehicle(self.ego_blueprint)  # unknown blueprints fail here, with the list
        self.ego = VehicleDynamics(DynamicsParams.for_blueprint(self.ego_blueprint), self.config.dt)
        x, y, z, _, _, yaw = (float(v) for v in pose)
        self.ego.reset(x, y, yaw, z=self._ground_z(x, y, z))
        self.control = VehicleControl()
        for a in self.traffic.actors():  # make room: nothing may overlap the ego at spawn
            if math.hypot(a.transform[0] - x, a.transform[1] - y) < 12.0:
                self.traffic.remove_actor(a.id)
        self._sensors = None
        return EGO_ID

    def add_scenario_actor(self, type_id: str, kind: str, pose: Sequence[float], extent: Sequence[float],
                           role_name: str = "scenario", static: bool = False, with_dynamics: bool = False) -> int:
        """A scenario actor at pose (x, y, z, roll, pitch, yaw); traffic respects it."""
        self._require_map()
        aid = self._next_scenario_id
        self._next_scenario_id += 1
        state = ActorState(aid, type_id, kind, tuple(float(v) for v in pose), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0),
                           (0.0, 0.0, 0.0), tuple(float(v) for v in extent))
        dyn = None
        if with_dynamics:
            dyn = VehicleDynamics(DynamicsParams.for_blueprint(type_id), self.config.dt)
            dyn.reset(state.transform[0], state.transform[1], state.transform[5], z=state.transform[2])
        self.scenario_actors[aid] = ScenarioActor(state, role_name, dyn, static=static)
        self.traffic.add_actor(state)
        return aid

    def set_actor_state(self, aid: int, pose: Sequence[float], velocity: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        """Teleport a scripted scenario actor (its velocity is used by radar and traffic)."""
        a = self.scenario_actors[aid]
        a.state = ActorState(aid, a.state.type_id, a.state.kind, tuple(float(v) for v in pose),
                             tuple(float(v) for v in velocity), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), a.state.extent)
        self.traffic.update_actor(a.state)

    def set_actor_control(self, aid: int, control: VehicleControl) -> None:
        self.scenario_actors[aid].control = control

    def remove_actor(self, aid: int) -> None:
        if self.scenario_actors.pop(aid, None) is not None:
            self.traffic.remove_actor(aid)

    def apply_control(self, control: VehicleControl) -> None:
        self.control = control

    # ------------------------------------------------------------------ stepping
    def tick(self) -> Frame:
        """Advance one step of dt and return the new state."""
        self._require_map()
        if self.ego is None:
            raise RuntimeError("no ego vehicle: call spawn_ego first")
        st = self.ego.step(self.control)
        self.ego.fleet.z[0] = self._ground_z(st.x, st.y, st.z)  # follow the road surface
        for a in self.scenario_actors.values():
            if a.dynamics is not None:
                s = a.dynamics.step(a.control)
                a.state = ActorState(a.state.id, a.state.type_id, a.state.kind,
                                     (s.x, s.y, self._ground_z(s.x, s.y, s.z), 0.0, 0.0, s.yaw), s.velocity,
                                     s.acceleration, s.angular_velocity, a.state.extent)
                self.traffic.update_actor(a.state)
        ego = self._ego_state()
        self.traffic.step(self.config.dt, ego_state=ego)
        self.frame_number += 1
        self.time_ns += int(round(self.config.dt * 1e9))
        actors = self.traffic.actors() + [a.state for a in self.scenario_actors.values()]
        roles = {a.id: "background" for a in self.traffic.actors()}
        roles.update({aid: a.role_name for aid, a in self.scenario_actors.items()})
        roles[EGO_ID] = self.rig.role_name
        frame = Frame(self.frame_number, self.time_ns, ego, abs(st.speed), st.control, st.steer_angle,
                      actors, roles, dict(self.traffic.lights()), self._collisions(ego, actors), [])
        self._last_frame = frame
        return frame

    def _ego_state(self) -> ActorState:
        s = self.ego.state
        ext = vehicle(self.ego_blueprint).extent
        return ActorState(EGO_ID, self.ego_blueprint, "vehicle", (s.x, s.y, s.z, 0.0, 0.0, s.yaw), s.velocity,
                          s.acceleration, s.angular_velocity, tuple(ext))

    def _collisions(self, ego: ActorState, actors: list[ActorState]) -> list[Collision]:
        """The collision sensor: one event per tick per actor the ego's box overlaps."""
        if not actors:
            self._in_contact.clear()
            return []
        every = [ego] + actors
        x = [a.transform[0] for a in every]
        y = [a.transform[1] for a in every]
        yaw = [a.transform[5] for a in every]
        hx = [a.extent[0] for a in every]
        hy = [a.extent[1] for a in every]
        hits = [j for i, j in overlapping_pairs(x, y, yaw, hx, hy) if i == 0]
        out = []
        for j in hits:
            other = every[j]
            rel = np.subtract(other.velocity, ego.velocity)
            mass = 1800.0
            out.append(Collision(other.id, other.type_id, tuple(float(v) * mass for v in rel)))
        self._in_contact = {every[j].id for j in hits}
        return out

    def _ground_z(self, x: float, y: float, z: float) -> float:
        from lead.world.transform import Location

        wp = self.map.get_waypoint(Location(x, y, z))
        return float(wp.transform.location.z) if wp is not None else float(z)

    def _require_map(self) -> None:
        if self.map is None:
            raise RuntimeError("no town loaded: call load() first")

    # ------------------------------------------------------------------ sensors
    def sensors(self) -> list[SensorSpec]:
        """The rig's sensors; when collecting, also LEAD's perturbated views of this route."""
        out = self.rig.select(self.config.collect)
        if self.config.collect:
            out += perturbed_sensors(self.rig, *self.perturbation)
        return out

    def gnss(self, frame: Frame) -> tuple[float, float, float]:
        lat0, lon0 = self.map.lat_lon_ref
        x, y, z = frame.ego.transform[:3]
        g = location_to_gps(lat0, lon0, x, y, z)
        return g["lat"], g["lon"], g["z"]

    def imu(self, frame: Frame) -> tuple[tuple, tuple, float]:
        """(accelerometer m/s², gyroscope rad/s, compass rad) in the ego frame, CARLA's conventions
        (gravity included; compass 0 = north = -y, growing clockwise)."""
        yaw = math.radians(frame.ego.transform[5])
        c, s = math.cos(yaw), math.sin(yaw)
        ax, ay, az = frame.ego.acceleration
        acc = (c * ax + s * ay, -s * ax + c * ay, az + GRAVITY)
        gyro = tuple(math.radians(w) for w in frame.ego.angular_velocity)
        compass = (yaw + math.pi / 2) % (2 * math.pi)
        return acc, gyro, compass

    def camera_renderer(self):
        """The cameras' renderer (RenderProcess, or CameraRenderer without
        config.render_process) over the current scene. One per world: a new map only
        replaces its mesh, so the GL context (and the child process) outlive routes."""
        from lead.sim.embedded.sensors import CameraRenderer
        from lead.sim.embedded.sensors.render_process import RenderProcess

        r = self._renderer
        if r is not None and not r.alive:  # the render process died: start a new one
            r.close()
            r = None
        if r is None:
            r = (RenderProcess if self.config.render_process else CameraRenderer)(self.scene.mesh)
            self._renderer = r
        elif self._renderer_scene is not self.scene:
            r.set_static_mesh(self.scene.mesh)
        self._renderer_scene = self.scene
        return r

    def close(self) -> None:
        """Free the renderer (its child process or GL context); the world stays usable."""
        r, self._renderer, self._renderer_scene = self._renderer, None, None
        self._sensors = None  # the next sense() builds the suite, and a renderer, again
        if r is not None:
            r.close()

    def sense(self, frame: Frame | None = None) -> dict[str, Any]:
        """Sensor readings of the last tick by sensor id: cameras give CameraImages, lidars
        (N, 4) points in the sensor frame, radars (N, 4) detections (velocity, azimuth,
        altitude, depth), gnss (lat, lon, alt), imu (acc, gyro, compass), speedometer m/s."""
        return self.sense_start(frame).all()

    def sense_start(self, frame: Frame | None = None):
        """sense() as its parts come (lead.sim.embedded.sensor_suite.PendingReadings): the
        state sensors at once, LiDAR/radar and cameras while they are still being measured."""
        frame = frame or self._last_frame
        if frame is None:
            raise RuntimeError("sense() before the first tick")
        from lead.sim.embedded.sensor_suite import SensorSuite

        if self._sensors is None:
            self._sensors = SensorSuite(self, self.sensors())
        return self._sensors.measure_start(frame)
