"""The embedded world behind the carla-ros-bridge topic contract, in lock-step.

Each tick: step the world, publish /clock then every message of the tick (ground truth and
the LiDAR/radar/state sensors; then the cameras, whose images the render process draws
meanwhile; /carla/status last), then wait until each `lockstep_topics` topic has answered with
a message stamped at this tick (the agent's control, the route manager's status) before
stepping again. Results therefore do not depend on machine speed.

World control (services, lead_msgs/srv): /lead/world/load, /lead/world/spawn_ego,
/lead/world/set_weather, /lead/world/spawn_scenario, /lead/world/reset.

Parameters: rig, collect, render, dt, num_vehicles, num_pedestrians, maps (os.pathsep
list), lockstep_topics, control_timeout (s wall), on_timeout (wait | hold | stop),
pace_topic + pace_lag (run at most pace_lag ticks ahead of each reader outside the lock-step
that reports its progress: the recorder, the video node; comma-separated; lead.nodes._lockstep),
town + seed + spawn_point (start on its own, for graphs without a route manager), duration
(sim seconds, then exit; 0 = forever), scene_cache, camera_every (cameras only on ticks whose
index is a multiple: CARLA's sensor_tick; default 1), render_process (cameras rendered in a
child process beside the ray casting; default true).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import zlib

import rclpy
from rclpy.node import Node

from lead.control.vehicle_control import VehicleControl
from lead.io import qos
from lead.nodes._spin import events_executor_for, exit_deadline, spin_while
from lead.io.stamps import header_stamp_ns
from lead.nodes._lockstep import LockstepWorld, paced_topics
from lead.sim import messages as M
from lead.sim.embedded.vehicles import VEHICLES
from lead.sim.embedded.world import EGO_ID, EmbeddedWorld, WorldConfig
from lead.sim.lockstep import LockstepGate

CONTROL_TOPIC = "/carla/{role}/vehicle_control_cmd"
SERVICE_PREFIX = "/lead/world/"


def light_id(signal_id: str) -> int:
    """OpenDRIVE signal ids are numbers in CARLA's towns; others get a stable hash."""
    try:
        return int(signal_id)
    except ValueError:
        return zlib.crc32(signal_id.encode()) & 0x7FFFFFFF


def classify(actor) -> int:
    if actor.kind == "walker":
        return M.CLASSIFICATION["walker"]
    bp = VEHICLES.get(actor.type_id)
    if bp is not None:
        return M.CLASSIFICATION.get(bp.base_type, 6)
    return M.CLASSIFICATION["static"] if actor.kind == "static" else 6


def decode_yaw(pose) -> float:
    from lead.sim.decode import carla_pose

    return carla_pose(pose)[5]


def scenario_config(info):
    """lead_msgs/ScenarioInfo -> lead.world.routes.ScenarioConfig (CARLA frame)."""
    from lead.sim.decode import carla_pose
    from lead.world.routes import ScenarioConfig, TriggerPoint

    x, y, z, _, _, yaw = carla_pose(info.trigger)
    params = {}
    for kv in info.parameters:
        params[kv.key] = dict(item.split("=", 1) for item in kv.value.split(",") if "=" in item)
    return ScenarioConfig(info.name, info.type, [TriggerPoint(x, y, z, yaw)], params)


def scenario_event_msg(e, stamp_ns: int):
    from lead_msgs.msg import ScenarioEvent

    from lead.io.stamps import make_header

    return ScenarioEvent(header=make_header(stamp_ns), kind=e.kind, scenario=e.scenario, type=e.type,
                         has_timeout=bool(e.has_timeout), emergency_vehicle_id=int(e.emergency_vehicle_id or 0),
                         timed_out=bool(e.timed_out), active=bool(e.active), message=e.message or "")


def weather_dict(w) -> dict[str, float]:
    names = ("cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "fog_density",
             "fog_distance", "wetness", "sun_azimuth_angle", "sun_altitude_angle")
    return {n: float(getattr(w, n)) for n in names}


def _count(value, default: int) -> int:
    """A traffic count parameter; negative means the world's default."""
    return int(value) if int(value) >= 0 else default


class WorldNode(LockstepWorld, Node):
    def __init__(self) -> None:
        super().__init__("world")
        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        maps = [d for d in str(p("maps", "")).split(os.pathsep) if d]
        self.world = EmbeddedWorld(WorldConfig(
            dt=float(p("dt", 0.05)), rig=str(p("rig", "lead")), collect=bool(p("collect", False)),
            render=bool(p("render", True)), num_vehicles=_count(p("num_vehicles", 30), 30),
            num_pedestrians=_count(p("num_pedestrians", 20), 20), maps_dirs=maps,
            scene_cache=str(p("scene_cache", "")) or None, camera_every=int(p("camera_every", 1)),
            render_process=bool(p("render_process", True))))
        self.role = self.world.rig.role_name
        control_topic = CONTROL_TOPIC.format(role=self.role)
        lock = [str(t) for t in (p("lockstep_topics", [control_topic]) or []) if str(t)]
        self.gate = LockstepGate(lock, paced_topics(p, self.world.config.dt))
        self._subscribe_paced()
        self.control_timeout = float(p("control_timeout", 10.0))
        self.on_timeout = str(p("on_timeout", "wait"))
        self.duration = float(p("duration", 0.0))
        self._wall0, self._sim0 = time.monotonic(), 0  # reset once the first tick is answered
        self.exit_code = 0
        self._lock = threading.RLock()
        self._running = False          # ticking (a town and an ego exist)
        self._stop = threading.Event()
        self._pending_control: tuple[int, VehicleControl] | None = None
        self.scenario_configs: list = []   # of the current route, from /lead/world/spawn_scenario
        self.scenario_route = None         # the route they belong to, (N, 4) x, y, z, yaw (CARLA)
        self.scenarios = None              # ScenarioManager once the ego exists

        from carla_msgs.msg import (CarlaActorList, CarlaCollisionEvent, CarlaEgoVehicleControl,
                                    CarlaEgoVehicleInfo, CarlaEgoVehicleStatus, CarlaStatus,
                                    CarlaTrafficLightInfoList, CarlaTrafficLightStatusList, CarlaWorldInfo)
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import RouteStatus, ScenarioEvent
        from lead_msgs.srv import LoadWorld, ResetWorld, SetWeather, SpawnEgo, SpawnScenario
        from nav_msgs.msg import Odometry
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import CameraInfo, Image, Imu, NavSatFix, PointCloud2
        from std_msgs.msg import Float32
        from tf2_msgs.msg import TFMessage

        pub = self.create_publisher
        r = self.role
        self.pub_clock = pub(Clock, "/clock", qos.SENSOR)  # as deep as the tick topics it dates
        self.pub_tf = pub(TFMessage, "/tf", qos.TF)
        self.pub_tf_static = pub(TFMessage, "/tf_static", qos.TF_STATIC_BROADCASTER)
        self.pub_world_info = pub(CarlaWorldInfo, "/carla/world_info", qos.LATCHED)
        self.pub_status = pub(CarlaStatus, "/carla/status", qos.SENSOR)
        self.pub_actor_list = pub(CarlaActorList, "/carla/actor_list", qos.LATCHED)
        self.pub_objects = pub(ObjectArray, "/carla/objects", qos.SENSOR)
        self.pub_ego_objects = pub(ObjectArray, f"/carla/{r}/objects", qos.SENSOR)
        self.pub_light_status = pub(CarlaTrafficLightStatusList, "/carla/traffic_lights/status", qos.SENSOR)
        self.pub_light_info = pub(CarlaTrafficLightInfoList, "/carla/traffic_lights/info", qos.LATCHED)
        self.pub_vstatus = pub(CarlaEgoVehicleStatus, f"/carla/{r}/vehicle_status", qos.SENSOR)
        self.pub_vinfo = pub(CarlaEgoVehicleInfo, f"/carla/{r}/vehicle_info", qos.LATCHED)
        self.pub_scenario = pub(ScenarioEvent, "/lead/scenario/event", qos.SENSOR)
        self.sensor_pubs: dict[str, tuple] = {}
        for s in self.world.sensors():
            t = s.type
            if s.is_camera:
                self.sensor_pubs[s.id] = (pub(Image, s.topic(r), qos.SENSOR),
                                          pub(CameraInfo, s.topic(r).rsplit("/", 1)[0] + "/camera_info", qos.SENSOR))
            elif t in ("sensor.lidar.ray_cast", "sensor.other.radar"):
                self.sensor_pubs[s.id] = (pub(PointCloud2, s.topic(r), qos.SENSOR),)
            elif t == "sensor.other.gnss":
                self.sensor_pubs[s.id] = (pub(NavSatFix, s.topic(r), qos.SENSOR),)
            elif t == "sensor.other.imu":
                self.sensor_pubs[s.id] = (pub(Imu, s.topic(r), qos.SENSOR),)
            elif t == "sensor.pseudo.odom":
                self.sensor_pubs[s.id] = (pub(Odometry, s.topic(r), qos.SENSOR),)
            elif t == "sensor.pseudo.speedometer":
                self.sensor_pubs[s.id] = (pub(Float32, s.topic(r), qos.SENSOR),)
            elif t == "sensor.other.collision":
                self.sensor_pubs[s.id] = (pub(CarlaCollisionEvent, s.topic(r), qos.SENSOR),)
        self.sensors = {s.id: s for s in self.world.sensors()}

        self.create_subscription(CarlaEgoVehicleControl, control_topic, self._on_control, qos.SENSOR)
        for topic in lock:
            if topic == control_topic:
                continue
            if topic.endswith("/status") and topic.startswith("/lead/"):
                self.create_subscription(RouteStatus, topic, lambda m, t=topic: self.gate.seen(t, header_stamp_ns(m)),
                                         qos.SENSOR)
            else:
                raise ValueError(f"lockstep topic {topic}: only the control topic and /lead/*/status are supported")
        self.control_topic = control_topic

        srv = self.create_service
        srv(LoadWorld, SERVICE_PREFIX + "load", self._srv_load)
        srv(SpawnEgo, SERVICE_PREFIX + "spawn_ego", self._srv_spawn)
        srv(SetWeather, SERVICE_PREFIX + "set_weather", self._srv_weather)
        srv(SpawnScenario, SERVICE_PREFIX + "spawn_scenario", self._srv_scenario)
        srv(ResetWorld, SERVICE_PREFIX + "reset", self._srv_reset)

        town = str(p("town", ""))
        if town:
            self._load(town, "", int(p("seed", 0)), {}, -1, -1)
            idx = int(p("spawn_point", 0))
            if idx >= 0:
                sp = self.world.map.get_spawn_points()
                t = sp[idx % len(sp)]
                self._spawn((t.location.x, t.location.y, t.location.z, 0.0, 0.0, t.rotation.yaw), "")
        self.thread = threading.Thread(target=self._loop_until_shutdown, name="world-loop", daemon=True)
        self.thread.start()
        self.get_logger().info(f"world ready: rig '{self.world.rig.name}', lock-step on {lock or 'nothing (free run)'}")

    # ------------------------------------------------------------------ services
    def _load(self, town, opendrive, seed, weather, nv, npd, route_id: str = "") -> str:
        with self._lock:
            self._running = False
            self.gate.cancel()
            # a negative count in the request means "the world's configured default"
            name, xodr = self.world.load(town, opendrive, seed, weather, nv if nv >= 0 else None,
                                         npd if npd >= 0 else None, route_id=route_id)
            self.scenario_configs, self.scenario_route, self.scenarios = [], None, None
            self.gate.reset()
            self._pending_control = None
            self.pub_world_info.publish(M.world_info(name, xodr))
            lights = []
            for tl in self.world.map.get_traffic_lights():
                t = tl.transform
                pose = (t.location.x, t.location.y, t.location.z, t.rotation.roll, t.rotation.pitch, t.rotation.yaw)
                for box in tl.trigger_volumes[:1]:
                    local = t.inverse_transform(box.location)
                    lights.append((light_id(tl.id), pose, (local.x, local.y, local.z),
                                   (box.extent.x, box.extent.y, box.extent.z)))
            self.pub_light_info.publish(M.traffic_light_info(lights))
        return name

    def _spawn(self, pose, blueprint) -> int:
        with self._lock:
            aid = self.world.spawn_ego(pose, blueprint)
            self.scenarios = None
            if self.scenario_configs:
                from lead.sim.embedded.scenarios import ScenarioManager

                self.scenarios = ScenarioManager(self.world, self.scenario_route, self.scenario_configs)
            self.pub_vinfo.publish(M.vehicle_info(aid, self.world.ego_blueprint, self.role))
            self.pub_tf_static.publish(M.tf_message(
                M.transform_stamped(0, self.role, s.frame_id(self.role), s.pose, optical=s.is_camera)
                for s in self.world.sensors() if s.id in self.sensor_pubs))
            self._running = True
        return aid


    def _srv_weather(self, req, res):
        with self._lock:
            self.world.set_weather(weather_dict(req.weather))
        res.success, res.message = True, "ok"
        return res

    def _srv_scenario(self, req, res):
        from lead.sim.embedded.scenarios import SCENARIO_TYPES, load_all

        load_all()
        cfg = scenario_config(req.scenario)
        with self._lock:
            if req.route:
                self.scenario_route = [[p.pose.position.x, -p.pose.position.y, p.pose.position.z,
                                        decode_yaw(p.pose)] for p in req.route]
            if self.scenario_route is None:
                res.success, res.message = False, "the first spawn_scenario call of a route must carry the route"
                return res
            self.scenario_configs.append(cfg)
        known = cfg.type in SCENARIO_TYPES
        res.success = True
        res.message = "ok" if known else f"scenario type '{cfg.type}' is unknown: the route runs without it"
        if not known:
            self.get_logger().warning(res.message)
        return res

    def _srv_reset(self, req, res):
        with self._lock:
            self._running = False
            self.gate.cancel()
            if self.scenarios is not None:
                self.scenarios.finish()
            self.scenario_configs, self.scenario_route, self.scenarios = [], None, None
            self.world.reset(int(req.seed))
            self.gate.reset()
        res.success, res.message = True, "reset"
        return res

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        while not self._stop.is_set() and rclpy.ok():
            with self._lock:
                if not self._running:
                    pass
                else:
                    if self._pending_control is not None:
                        control = self._pending_control[1]
                        if self.scenarios is not None:
                            control = self.scenarios.filter_control(control)
                        self.world.apply_control(control)
                    frame = self.world.tick()
                    events = self.scenarios.step(frame) if self.scenarios is not None else []
                    if self.scenarios is not None:
                        frame.roles.update(self.scenarios.actor_names())
                    self._publish(frame, self.world.sense_start(frame), events)
            if not self._running:
                time.sleep(0.005)
                continue
            if self.duration and frame.time_ns >= self.duration * 1e9:
                wall = time.monotonic() - self._wall0
                self.get_logger().info(
                    f"ran {self.duration:g} s of sim time in {wall:.1f} s wall (real-time factor "
                    f"{(frame.time_ns - self._sim0) / 1e9 / max(wall, 1e-9):.2f} from the first answered tick on): exiting")
                self._stop.set()
                rclpy.try_shutdown()
                return
            self._wait_for(frame.time_ns)
            if frame.number == 1:
                # the real-time factor is timed from here: the first tick also waits for the
                # agent to be discovered and for the render's start-up (~0.6 s on sim_drive)
                self._wall0, self._sim0 = time.monotonic(), frame.time_ns

    def _publish(self, f, readings, events=()) -> None:
        """Send the tick in three parts, each as soon as its data is ready (the agent can
        answer on the first while the world is still measuring): ground truth and state
        sensors; LiDAR and radar (cast on worker threads meanwhile); the cameras (drawn by the
        render process meanwhile), then /carla/status. `readings`: PendingReadings."""
        if f.number == 1:
            # the first tick goes out in one piece: a node still discovering the world's topics
            # then gets all of it or none of it (and the re-send), not a part
            readings.all()
        out: list = []
        self._build(f, readings.state, out)
        out += [(self.pub_scenario, scenario_event_msg(e, f.time_ns)) for e in events]
        self._send(out)
        for build, part in ((self._build_rays, readings.rays), (self._build_tail, readings.cameras)):
            msgs: list = []
            build(f, part(), msgs)
            self._send(msgs, earlier=out)
            out += msgs

    def _sensor_messages(self, f, group: str, readings, out: list) -> None:
        """The messages of the rig's sensors of one publish group (SensorSpec.publish_group), in
        rig order."""
        t, r = f.time_ns, self.role
        ego_pose = f.ego.transform
        for sid, pubs in self.sensor_pubs.items():
            s = self.sensors[sid]
            if s.publish_group != group:
                continue
            frame_id = s.frame_id(r)
            data = readings.get(sid)
            typ = s.type
            if s.is_camera:
                if data is None:
                    continue  # a tick without cameras (camera_every)
                a = s.attributes
                if typ == "sensor.camera.depth":
                    msg = M.depth_image(data.depth, t, frame_id)
                elif typ == "sensor.camera.semantic_segmentation":
                    msg = M.semantic_image(data.semantic, t, frame_id)
                else:
                    msg = M.rgb_image(data.rgba, t, frame_id)
                out.append((pubs[0], msg))
                out.append((pubs[1], M.camera_info_msg(a["image_size_x"], a["image_size_y"], a["fov"], t, frame_id)))
            elif typ == "sensor.lidar.ray_cast":
                out.append((pubs[0], M.lidar_cloud(data, t, frame_id)))
            elif typ == "sensor.other.radar":
                out.append((pubs[0], M.radar_cloud(data, t, frame_id)))
            elif typ == "sensor.other.gnss":
                out.append((pubs[0], M.navsatfix(*data, t, frame_id)))
            elif typ == "sensor.other.imu":
                acc, gyro, _ = data
                out.append((pubs[0], M.imu(acc, gyro, ego_pose[3:], t, frame_id)))
            elif typ == "sensor.pseudo.odom":
                out.append((pubs[0], M.odometry(ego_pose, f.ego.velocity, f.ego.angular_velocity, t, r)))
            elif typ == "sensor.pseudo.speedometer":
                out.append((pubs[0], M.speedometer(f.ego_speed)))
            elif typ == "sensor.other.collision":
                for c in f.collisions:
                    out.append((pubs[0], M.collision_event(c.other_id, c.normal_impulse, t, frame_id)))

    def _build(self, f, readings, out: list) -> None:
        """The first part of a tick: /clock, tf, the state sensors and the ground truth."""
        t, r = f.time_ns, self.role
        out.append((self.pub_clock, M.clock(t)))
        ego_pose = f.ego.transform
        out.append((self.pub_tf, M.tf_message([M.transform_stamped(t, M.MAP_FRAME, r, ego_pose)])))
        self._sensor_messages(f, "state", readings, out)
        out.append((self.pub_vstatus, M.vehicle_status(f.ego_speed, f.ego.acceleration, ego_pose, f.ego_control, t, r)))
        self._object_arrays(f, t, classify, out)
        out.append((self.pub_light_status, M.traffic_light_status((light_id(k), int(v)) for k, v in f.lights.items())))
        if f.number == 1 or set(f.roles) != getattr(self, "_listed", set()):
            self._listed = set(f.roles)
            types = {a.id: a.type_id for a in f.actors}
            types[EGO_ID] = self.world.ego_blueprint
            out.append((self.pub_actor_list, M.actor_list((i, 0, types.get(i, ""), role) for i, role in f.roles.items())))

    def _build_rays(self, f, readings, out: list) -> None:
        """The second part: LiDAR and radar."""
        self._sensor_messages(f, "rays", readings, out)

    def _build_tail(self, f, readings, out: list) -> None:
        """The last part: the cameras, then /carla/status."""
        self._sensor_messages(f, "cameras", readings, out)
        out.append((self.pub_status, M.status(f.number, self.world.config.dt)))

    def destroy_node(self):
        self._stop.set()
        self.gate.cancel()
        # the loop itself shuts rclpy down when `duration` is reached, and that destroys this node
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=5.0)
        if not self.thread.is_alive():
            self.world.close()  # the camera render process (it also exits when our end of its socket closes)
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    try:
        node = WorldNode()
        spin_while(events_executor_for(node), lambda: not node._stop.is_set())
    except KeyboardInterrupt:
        pass
    except Exception:
        import logging

        logging.getLogger("lead").exception("world node crashed")
        return 1
    finally:
        exit_deadline(15)  # DDS teardown can deadlock (lead.nodes._spin)
        code = node.exit_code if node is not None else 1
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
