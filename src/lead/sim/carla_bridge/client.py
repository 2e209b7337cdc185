"""The CARLA server side of the CARLA world node: connect (retry, clear errors, version
check), synchronous mode at a fixed step, towns, the ego and its rig from the same
config/rigs/*.yaml as the embedded world, weather, background traffic, and one tick at a
time with the sensor data of that tick.

Nothing here needs ROS; `CarlaWorld` has the embedded world's interface (load, spawn_ego,
set_weather, reset, apply_control, tick, sensors) so lead.nodes.carla_world mirrors
lead.nodes.world. Every call that talks to a server is untested without one; the parts
that do not (versions, attributes, weather, the per-frame sensor queue) are tested in
tests/carla.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lead.sim.carla_bridge import START_HINT
from lead.sim.carla_bridge.convert import pose_to_transform, rotation_to_tuple, transform_to_pose, vector_to_tuple
from lead.sim.carla_bridge.sensors import EVENT_TYPES, SPAWNED_TYPES, blueprint_attributes, decode
from lead.sim.rig import SensorSpec, load_rig, perturbed_sensors, route_perturbation

log = logging.getLogger("lead.carla")

EGO_BLUEPRINT = "vehicle.lincoln.mkz_2020"
DT = 0.05
WEATHER_FIELDS = ("cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "fog_density",
                  "fog_distance", "wetness", "sun_azimuth_angle", "sun_altitude_angle")
ALLOW_MISMATCH_ENV = "LEAD_CARLA_ALLOW_VERSION_MISMATCH"


class CarlaError(RuntimeError):
    """A CARLA problem with a message meant for the user."""


def host_port(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """host/port, else CARLA_HOST / CARLA_PORT, else localhost:2000."""
    return (host or os.environ.get("CARLA_HOST", "localhost"),
            int(port if port is not None else os.environ.get("CARLA_PORT", "2000")))


# ----------------------------------------------------------------------------- connection

def connect(host: str | None = None, port: int | None = None, timeout: float = 10.0, retries: int = 3,
            retry_delay: float = 2.0, carla=None, sleep: Callable[[float], None] = time.sleep):
    """A carla.Client whose server answered get_server_version(); CarlaError (with how to
    start a server) when none answered after `retries` tries."""
    if carla is None:
        try:
            import carla
        except ImportError:
            raise CarlaError("the `carla` client package is missing: `pip install -e .[carla]` (0.9.16 from PyPI) "
                             "or the wheel in your server's PythonAPI/carla/dist") from None
    host, port = host_port(host, port)
    last: Exception | None = None
    for attempt in range(max(1, retries)):
        if attempt:
            sleep(retry_delay)
        client = carla.Client(host, port)
        client.set_timeout(float(timeout))
        try:
            client.get_server_version()
            return client
        except RuntimeError as e:
            last = e
            log.warning("CARLA at %s:%d did not answer (try %d/%d): %s", host, port, attempt + 1, retries, e)
    raise CarlaError(f"no CARLA server answered at {host}:{port} ({last}); {START_HINT}")


def parse_version(v: str) -> tuple[int, int, int] | None:
    """'0.9.15', '0.9.15-dirty', '0.9.16-1-gabc' -> (0, 9, 15/16); None when unreadable."""
    m = re.match(r"\s*v?(\d+)\.(\d+)\.(\d+)", str(v))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def version_problem(client_version: str, server_version: str) -> str:
    """'' when the client package matches the server, else what to do about it."""
    c, s = parse_version(client_version), parse_version(server_version)
    if c is not None and c == s:
        return ""
    fix = ("install the client of your server's version: for a 0.9.16 server `pip install -e .[carla]` "
           "(carla==0.9.16 from PyPI); for a 0.9.15 server (LEAD's) `pip install "
           "<CARLA_ROOT>/PythonAPI/carla/dist/carla-0.9.15-cp*.whl` for your Python (PyPI has no 0.9.15 wheel "
           "for Python 3.11: build one with `make PythonAPI ARGS=\"--python-version=3.11\"` in a CARLA source "
           "tree, or run a 0.9.16 server)")
    return (f"carla client package {client_version} does not match the CARLA server {server_version}: {fix}; "
            f"set {ALLOW_MISMATCH_ENV}=1 to try anyway")


def check_versions(client, allow_mismatch: bool | None = None) -> str:
    """Raise CarlaError when client and server versions differ (unless allowed); returns the
    server version."""
    server = client.get_server_version()
    problem = version_problem(client.get_client_version(), server)
    if problem:
        if allow_mismatch is None:
            allow_mismatch = os.environ.get(ALLOW_MISMATCH_ENV, "") not in ("", "0", "false")
        if not allow_mismatch:
            raise CarlaError(problem)
        log.warning(problem)
    return server


# ----------------------------------------------------------------------------- world settings

def weather_parameters(weather: dict, carla=None):
    """lead's weather dict (lead.nodes.world.weather_dict names) -> carla.WeatherParameters;
    fields not given keep CARLA's defaults."""
    if carla is None:
        import carla
    w = carla.WeatherParameters()
    for k in WEATHER_FIELDS:
        if k in weather:
            setattr(w, k, float(weather[k]))
    return w


def synchronous_settings(world, dt: float = DT, synchronous: bool = True):
    """Synchronous mode with a fixed step (LEAD's 20 Hz); returns the settings applied."""
    s = world.get_settings()
    s.synchronous_mode = bool(synchronous)
    s.fixed_delta_seconds = float(dt) if synchronous else None
    world.apply_settings(s)
    return s


def map_basename(name: str) -> str:
    """'Carla/Maps/Town01' -> 'Town01'."""
    return str(name).rstrip("/").rsplit("/", 1)[-1]


# ----------------------------------------------------------------------------- sensor queue

class SensorQueue:
    """Sensor callbacks put (sensor id, data) here from CARLA's threads; `collect(frame)`
    returns the data of one frame: it waits for every per-tick sensor, then takes the event
    sensors' (collision, lane invasion) reports of that frame that have arrived."""

    def __init__(self) -> None:
        self._q: queue.Queue = queue.Queue()
        self._later: list[tuple[str, Any]] = []

    def callback(self, sensor_id: str) -> Callable[[Any], None]:
        return lambda data: self._q.put((sensor_id, data))

    def clear(self) -> None:
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        self._later.clear()

    def collect(self, frame: int, expected: Sequence[str], timeout: float = 10.0) -> dict[str, list]:
        got: dict[str, list] = {}
        pending = set(expected)
        keep, self._later = self._later, []
        for sid, data in keep:
            self._take(frame, sid, data, got, pending)
        end = time.monotonic() + timeout
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                raise CarlaError(f"no data of frame {frame} from sensor(s) {', '.join(sorted(pending))} "
                                 f"in {timeout:g} s")
            try:
                sid, data = self._q.get(timeout=left)
            except queue.Empty:
                continue
            self._take(frame, sid, data, got, pending)
        while True:  # event sensors: what has arrived for this frame
            try:
                sid, data = self._q.get_nowait()
            except queue.Empty:
                break
            self._take(frame, sid, data, got, pending)
        return got

    def _take(self, frame: int, sid: str, data: Any, got: dict, pending: set) -> None:
        f = int(data.frame)
        if f < frame:
            return  # stale (a tick whose data nobody waited for)
        if f > frame:
            self._later.append((sid, data))
            return
        got.setdefault(sid, []).append(data)
        pending.discard(sid)


# ----------------------------------------------------------------------------- the world

@dataclass
class CarlaActor:
    """One actor at one tick, with the embedded ActorState's fields (CARLA frame)."""
    id: int
    type_id: str
    kind: str  # vehicle | walker
    transform: tuple
    velocity: tuple
    acceleration: tuple
    angular_velocity: tuple  # deg/s
    extent: tuple
    base_type: str = ""

    @property
    def yaw(self) -> float:
        return self.transform[5]


@dataclass
class CarlaFrame:
    """The world after a tick, with the embedded Frame's fields the node publishes."""
    number: int
    time_ns: int
    ego: CarlaActor
    ego_speed: float
    ego_control: Any
    actors: list[CarlaActor]
    roles: dict[int, str]
    lights: dict[int, int]  # actor id -> carla.TrafficLightState (same numbers as CarlaTrafficLightStatus)
    collisions: list = field(default_factory=list)  # of (other id, normal impulse)
    lane_invasions: list = field(default_factory=list)
    readings: dict[str, Any] = field(default_factory=dict)  # sensor id -> decoded value
    sensor_rotations: dict[str, tuple] = field(default_factory=dict)  # sensor id -> world (roll, pitch, yaw)


def actor_state(actor, snapshot=None) -> CarlaActor:
    """A carla.Actor (vehicle or walker) -> CarlaActor, from the tick's snapshot when given."""
    s = snapshot.find(actor.id) if snapshot is not None else None
    src = s if s is not None else actor
    kind = "walker" if actor.type_id.startswith("walker.") else "vehicle"
    return CarlaActor(int(actor.id), actor.type_id, kind, transform_to_pose(src.get_transform()),
                      vector_to_tuple(src.get_velocity()), vector_to_tuple(src.get_acceleration()),
                      vector_to_tuple(src.get_angular_velocity()), vector_to_tuple(actor.bounding_box.extent),
                      str(actor.attributes.get("base_type", "")))


class CarlaWorld:
    def __init__(self, client, rig: str = "lead", collect: bool = False, dt: float = DT, num_vehicles: int = 30,
                 num_pedestrians: int = 20, sensor_timeout: float = 10.0, tm_port: int = 8000, carla=None):
        if carla is None:
            import carla
        self.carla = carla
        self.client = client
        self.rig = load_rig(rig)
        self.collect = bool(collect)
        self.dt = float(dt)
        self.num_vehicles, self.num_pedestrians = int(num_vehicles), int(num_pedestrians)
        self.sensor_timeout = float(sensor_timeout)
        self.tm_port = int(tm_port)
        self.world = client.get_world()
        self.map = None
        self.map_name = ""
        self.opendrive = ""
        self.ego = None
        self.ego_blueprint = EGO_BLUEPRINT
        self.perturbation = (0.0, 0.0)
        self.frame_number = 0
        self._seed = 0
        self._weather: dict = {}
        self._sensor_actors: dict[str, Any] = {}
        self._traffic: list = []  # background vehicles, walkers and walker controllers
        self.queue = SensorQueue()

    # ------------------------------------------------------------------ setup
    def sensors(self) -> list[SensorSpec]:
        """The rig's sensors; when collecting, also LEAD's perturbated views of this route
        (the embedded world's list)."""
        out = self.rig.select(self.collect)
        if self.collect:
            out += perturbed_sensors(self.rig, *self.perturbation)
        return out

    def load(self, town: str = "", opendrive: str = "", seed: int = 0, weather: dict | None = None,
             num_vehicles: int | None = None, num_pedestrians: int | None = None,
             route_id: str = "") -> tuple[str, str]:
        self.destroy_actors()
        if opendrive:
            self.world = self.client.generate_opendrive_world(opendrive)
        elif town and map_basename(self.world.get_map().name) != town:
            self.world = self.client.load_world(town)
        self.world = self.client.get_world()
        synchronous_settings(self.world, self.dt)
        tm = self.client.get_trafficmanager(self.tm_port)
        tm.set_synchronous_mode(True)
        tm.set_random_device_seed(int(seed))
        self.map = self.world.get_map()
        self.map_name = town or map_basename(self.map.name)
        self.opendrive = opendrive or self.map.to_opendrive()
        self._seed = int(seed)
        self.perturbation = (0.0, 0.0)
        if self.collect and self.rig.perturbation is not None:
            self.perturbation = route_perturbation(self.rig, self._seed, route_id)
        self.set_weather(weather or {})
        nv = self.num_vehicles if num_vehicles is None or num_vehicles < 0 else num_vehicles
        npd = self.num_pedestrians if num_pedestrians is None or num_pedestrians < 0 else num_pedestrians
        self._spawn_traffic(nv, npd, random.Random(self._seed))
        self.world.tick()
        self.frame_number = 0
        log.info("loaded %s (seed %d) in CARLA: %d vehicles, %d pedestrians", self.map_name, seed, nv, npd)
        return self.map_name, self.opendrive

    def traffic_lights(self) -> list[tuple[int, tuple, tuple, tuple]]:
        """(id, pose, trigger centre relative to the light, trigger half extents) per light,
        what lead.sim.messages.traffic_light_info takes."""
        out = []
        for tl in self.world.get_actors().filter("traffic.traffic_light"):
            tv = tl.trigger_volume  # location relative to the light actor
            out.append((int(tl.id), transform_to_pose(tl.get_transform()), vector_to_tuple(tv.location),
                        vector_to_tuple(tv.extent)))
        return out

    def set_weather(self, weather: dict) -> None:
        self._weather = dict(weather)
        self.world.set_weather(weather_parameters(weather, self.carla))

    def spawn_ego(self, pose: Sequence[float], blueprint: str = "") -> int:
        """The ego (role_name from the rig) at pose, its rig attached; traffic within 12 m removed."""
        if self.map is None:
            raise RuntimeError("no town loaded: call load() first")
        self._destroy_ego()
        bp_lib = self.world.get_blueprint_library()
        self.ego_blueprint = blueprint or self.rig.ego_type or EGO_BLUEPRINT
        bp = bp_lib.find(self.ego_blueprint)
        bp.set_attribute("role_name", self.rig.role_name)
        x, y = float(pose[0]), float(pose[1])
        for a in list(self._traffic):
            if a.type_id.startswith("vehicle.") and a.get_location().distance(
                    self.carla.Location(x=x, y=y, z=a.get_location().z)) < 12.0:
                a.destroy()
                self._traffic.remove(a)
        self.ego = self.world.try_spawn_actor(bp, pose_to_transform(pose, self.carla))
        if self.ego is None:
            raise RuntimeError(f"CARLA could not spawn {self.ego_blueprint} at {tuple(pose)} (occupied?)")
        for spec in self.sensors():
            if spec.type not in SPAWNED_TYPES:
                continue
            sbp = bp_lib.find(spec.type)
            for k, v in blueprint_attributes(spec).items():
                if sbp.has_attribute(k):
                    sbp.set_attribute(k, v)
            if sbp.has_attribute("role_name"):
                sbp.set_attribute("role_name", spec.id)
            actor = self.world.spawn_actor(sbp, pose_to_transform(spec.pose, self.carla), attach_to=self.ego)
            actor.listen(self.queue.callback(spec.id))
            self._sensor_actors[spec.id] = actor
        self.control = None
        self.world.tick()
        self.queue.clear()
        return int(self.ego.id)

    def _spawn_traffic(self, num_vehicles: int, num_pedestrians: int, rng: random.Random) -> None:
        c = self.carla
        lib = self.world.get_blueprint_library()
        points = self.map.get_spawn_points()
        rng.shuffle(points)
        vbps = [b for b in lib.filter("vehicle.*") if b.has_attribute("number_of_wheels")
                and int(b.get_attribute("number_of_wheels")) == 4]
        batch = []
        for t in points[:num_vehicles]:
            bp = rng.choice(vbps)
            bp.set_attribute("role_name", "background")
            batch.append(c.command.SpawnActor(bp, t).then(c.command.SetAutopilot(c.command.FutureActor, True,
                                                                                   self.tm_port)))
        ids = [r.actor_id for r in self.client.apply_batch_sync(batch, True) if not r.error]
        wbps = list(lib.filter("walker.pedestrian.*"))
        walkers = []
        for _ in range(num_pedestrians):
            loc = self.world.get_random_location_from_navigation()
            if loc is None or not wbps:
                continue
            bp = rng.choice(wbps)
            if bp.has_attribute("is_invincible"):
                bp.set_attribute("is_invincible", "false")
            bp.set_attribute("role_name", "background")
            w = self.world.try_spawn_actor(bp, c.Transform(loc))
            if w is not None:
                walkers.append(w)
        ctrl_bp = lib.find("controller.ai.walker")
        controllers = [self.world.spawn_actor(ctrl_bp, c.Transform(), attach_to=w) for w in walkers]
        self.world.tick()
        for ctl in controllers:
            ctl.start()
            dest = self.world.get_random_location_from_navigation()
            if dest is not None:
                ctl.go_to_location(dest)
        self._traffic = list(self.world.get_actors(ids)) + walkers + controllers

    # ------------------------------------------------------------------ stepping
    def apply_control(self, control) -> None:
        if self.ego is None:
            return
        c = control.clipped() if hasattr(control, "clipped") else control
        self.ego.apply_control(self.carla.VehicleControl(
            throttle=float(c.throttle), steer=float(c.steer), brake=float(c.brake), hand_brake=bool(c.hand_brake),
            reverse=bool(c.reverse), manual_gear_shift=bool(c.manual_gear_shift), gear=int(c.gear)))

    def tick(self) -> CarlaFrame:
        frame_id = self.world.tick(max(self.sensor_timeout, 1.0))
        self.frame_number += 1
        per_tick = [s.id for s in self.sensors() if s.id in self._sensor_actors and s.type not in EVENT_TYPES]
        data = self.queue.collect(frame_id, per_tick, self.sensor_timeout)
        snap = self.world.get_snapshot()
        actors = self.world.get_actors()
        ego = actor_state(self.ego, snap)
        others, roles = [], {int(self.ego.id): self.rig.role_name}
        for a in actors:
            if a.id == self.ego.id or not (a.type_id.startswith("vehicle.") or a.type_id.startswith("walker.")):
                continue
            others.append(actor_state(a, snap))
            roles[int(a.id)] = str(a.attributes.get("role_name", ""))
        lights = {int(tl.id): int(tl.get_state()) for tl in actors.filter("traffic.traffic_light")}
        v = ego.velocity
        f = CarlaFrame(self.frame_number, int(round(self.frame_number * self.dt * 1e9)), ego,
                       math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2), self.ego.get_control(), others, roles, lights)
        specs = {s.id: s for s in self.sensors()}
        for sid, items in data.items():
            spec = specs.get(sid)
            if spec is None:
                continue
            if spec.type == "sensor.other.collision":
                f.collisions += [decode(spec, m) for m in items]
            elif spec.type == "sensor.other.lane_invasion":
                f.lane_invasions += [decode(spec, m) for m in items]
            else:
                m = items[-1]
                f.readings[sid] = decode(spec, m)
                f.sensor_rotations[sid] = rotation_to_tuple(m.transform.rotation)
        return f

    # ------------------------------------------------------------------ teardown
    def _destroy_ego(self) -> None:
        for a in self._sensor_actors.values():
            try:
                a.stop()
                a.destroy()
            except RuntimeError:
                pass
        self._sensor_actors.clear()
        if self.ego is not None:
            try:
                self.ego.destroy()
            except RuntimeError:
                pass
        self.ego = None

    def destroy_actors(self) -> None:
        self._destroy_ego()
        c = self.carla
        if self._traffic:
            for a in self._traffic:
                if a.type_id.startswith("controller."):
                    try:
                        a.stop()
                    except RuntimeError:
                        pass
            self.client.apply_batch([c.command.DestroyActor(a.id) for a in self._traffic])
        self._traffic = []
        self.queue.clear()

    def reset(self, seed: int | None = None) -> None:
        """Everything removed (ego included), time back to 0, traffic re-seeded."""
        if self.map is None:
            return
        self.load(self.map_name, "", self._seed if seed is None else int(seed), self._weather)

    def close(self, restore_async: bool = True) -> None:
        """Remove our actors and give the server back in asynchronous mode (so it does not
        wait for a tick that never comes)."""
        try:
            self.destroy_actors()
            if restore_async:
                synchronous_settings(self.world, self.dt, synchronous=False)
                self.client.get_trafficmanager(self.tm_port).set_synchronous_mode(False)
        except RuntimeError as e:
            log.warning("closing the CARLA world: %s", e)


def bridge_objects(rig: str = "lead", collect: bool = False) -> dict:
    """carla-ros-bridge's objects definition (carla_spawn_objects' objects.json) of a rig:
    the same sensors, ids, poses and attributes lead's CARLA world spawns (`same_as` resolved,
    `collect: true` sensors only with collect)."""
    r = load_rig(rig)
    sensors = []
    for s in r.select(collect):
        d: dict = {"type": s.type, "id": s.id}
        if s.type.startswith("sensor.pseudo.") or s.type.startswith("actor.pseudo."):
            sensors.append(d)
            continue
        d["spawn_point"] = dict(zip(("x", "y", "z", "roll", "pitch", "yaw"), s.pose))
        d.update(s.attributes)
        sensors.append(d)
    world = [{"type": t, "id": t.rsplit(".", 1)[-1]} for t in r.world_pseudo]
    return {"objects": world + [{"type": r.ego_type, "id": r.role_name, "sensors": sensors}]}
