"""The CARLA world behind the carla-ros-bridge topic contract, in lock-step: the embedded
world node's interface (lead.nodes.world: same parameters, services, topics, lock-step)
on a real CARLA server (lead.sim.carla_bridge).

Each tick: apply the last CarlaEgoVehicleControl, tick CARLA (synchronous mode,
fixed_delta_seconds = dt), take every sensor's data of that frame, publish /clock then the
tick's messages (built by lead.sim.messages, as the embedded world does; /carla/status
last), then wait until each `lockstep_topics` topic has answered with this tick's stamp.
Sim time counts from 0 at every load, as in the embedded world.

World control (lead_msgs/srv): /lead/world/load, spawn_ego, set_weather, spawn_scenario, reset.

Parameters: those of lead.nodes.world (rig, collect, dt, num_vehicles, num_pedestrians,
lockstep_topics, pace_topic, pace_lag, control_timeout, on_timeout, town, seed, spawn_point, duration; render,
maps and scene_cache are accepted and unused) plus host, port (default CARLA_HOST /
CARLA_PORT), timeout (s per RPC), retries, sensor_timeout (s to wait for a frame's data)
and mode: `carla` (this node ticks CARLA and publishes) or `external` (a carla-ros-bridge
publishes the contract and ticks; this node only serves /lead/world/* on that server:
the bridge's town must be the route's, the ego is the bridge's, teleported to the start).
"""
from __future__ import annotations

import sys
import threading
import time

import rclpy
from rclpy.node import Node

from lead.control.vehicle_control import VehicleControl
from lead.io import qos
from lead.nodes._spin import executor_for, exit_deadline, spin_while
from lead.io.stamps import header_stamp_ns
from lead.nodes._lockstep import LockstepWorld, paced_topics
from lead.nodes.world import CONTROL_TOPIC, SERVICE_PREFIX, weather_dict
from lead.sim import messages as M
from lead.sim.carla_bridge.sensors import sensor_messages

SCENARIO_MESSAGE = ("scenarios are not run by the CARLA world node: run Leaderboard 2.0 scenarios with "
                    "scenario_runner (docs/carla.md); the route runs without '{name}'")


def classify(actor) -> int:
    """derived_object_msgs classification from CARLA's base_type attribute (0.9.14+)."""
    if actor.kind == "walker":
        return M.CLASSIFICATION["walker"]
    return M.CLASSIFICATION.get(getattr(actor, "base_type", "") or "car", 6)


def sensor_publisher_types(spec):
    """Message types a sensor publishes on (cameras: image + camera_info), as lead.nodes.world."""
    from carla_msgs.msg import CarlaCollisionEvent
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo, Image, Imu, NavSatFix, PointCloud2
    from std_msgs.msg import Float32

    t = spec.type
    if spec.is_camera:
        return (Image, CameraInfo)
    return {"sensor.lidar.ray_cast": (PointCloud2,), "sensor.other.radar": (PointCloud2,),
            "sensor.other.gnss": (NavSatFix,), "sensor.other.imu": (Imu,), "sensor.pseudo.odom": (Odometry,),
            "sensor.pseudo.speedometer": (Float32,), "sensor.other.collision": (CarlaCollisionEvent,)}.get(t, ())


class CarlaWorldNode(LockstepWorld, Node):
    def __init__(self) -> None:
        super().__init__("world")
        from lead.sim.carla_bridge.client import CarlaWorld, check_versions, connect, host_port
        from lead.sim.rig import load_rig

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        for unused, default in (("render", True), ("maps", ""), ("scene_cache", "")):
            p(unused, default)
        self.mode = str(p("mode", "carla"))
        host, port = host_port(str(p("host", "")) or None, int(p("port", -1)) if int(p("port", -1)) >= 0 else None)
        client = connect(host, port, timeout=float(p("timeout", 20.0)), retries=int(p("retries", 5)))
        check_versions(client)
        rig, collect = str(p("rig", "lead")), bool(p("collect", False))
        self.dt = float(p("dt", 0.05))
        self.client = client
        self.world = None
        if self.mode == "external":
            self.rig = load_rig(rig)
        else:
            nv, npd = int(p("num_vehicles", 30)), int(p("num_pedestrians", 20))
            self.world = CarlaWorld(client, rig=rig, collect=collect, dt=self.dt, num_vehicles=nv if nv >= 0 else 30,
                                    num_pedestrians=npd if npd >= 0 else 20,
                                    sensor_timeout=float(p("sensor_timeout", 10.0)))
            self.rig = self.world.rig
        self.role = self.rig.role_name
        control_topic = CONTROL_TOPIC.format(role=self.role)
        lock = [str(t) for t in (p("lockstep_topics", [control_topic]) or []) if str(t)]
        from lead.sim.lockstep import LockstepGate

        self.gate = LockstepGate(lock, paced_topics(p, self.dt))
        self._subscribe_paced()
        self.control_timeout = float(p("control_timeout", 10.0))
        self.on_timeout = str(p("on_timeout", "wait"))
        self.duration = float(p("duration", 0.0))
        self.exit_code = 0
        self._lock = threading.RLock()
        self._running = False
        self._stop = threading.Event()
        self._pending_control: tuple[int, VehicleControl] | None = None
        self._wall0 = time.monotonic()

        from carla_msgs.msg import (CarlaActorList, CarlaEgoVehicleControl, CarlaEgoVehicleInfo,
                                    CarlaEgoVehicleStatus, CarlaStatus, CarlaTrafficLightInfoList,
                                    CarlaTrafficLightStatusList, CarlaWorldInfo)
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import RouteStatus
        from lead_msgs.srv import LoadWorld, ResetWorld, SetWeather, SpawnEgo, SpawnScenario
        from rosgraph_msgs.msg import Clock
        from tf2_msgs.msg import TFMessage

        pub = self.create_publisher
        r = self.role
        self.pub_world_info = pub(CarlaWorldInfo, "/carla/world_info", qos.LATCHED)
        self.sensor_pubs: dict[str, tuple] = {}
        if self.mode != "external":
            self.pub_clock = pub(Clock, "/clock", qos.SENSOR)  # as deep as the tick topics it dates
            self.pub_tf = pub(TFMessage, "/tf", qos.TF)
            self.pub_tf_static = pub(TFMessage, "/tf_static", qos.TF_STATIC_BROADCASTER)
            self.pub_status = pub(CarlaStatus, "/carla/status", qos.SENSOR)
            self.pub_actor_list = pub(CarlaActorList, "/carla/actor_list", qos.LATCHED)
            self.pub_objects = pub(ObjectArray, "/carla/objects", qos.SENSOR)
            self.pub_ego_objects = pub(ObjectArray, f"/carla/{r}/objects", qos.SENSOR)
            self.pub_light_status = pub(CarlaTrafficLightStatusList, "/carla/traffic_lights/status", qos.SENSOR)
            self.pub_light_info = pub(CarlaTrafficLightInfoList, "/carla/traffic_lights/info", qos.LATCHED)
            self.pub_vstatus = pub(CarlaEgoVehicleStatus, f"/carla/{r}/vehicle_status", qos.SENSOR)
            self.pub_vinfo = pub(CarlaEgoVehicleInfo, f"/carla/{r}/vehicle_info", qos.LATCHED)
            for s in self.world.sensors():
                types = sensor_publisher_types(s)
                if not types:
                    continue
                topics = [s.topic(r), s.topic(r).rsplit("/", 1)[0] + "/camera_info"][:len(types)]
                self.sensor_pubs[s.id] = tuple(pub(t, topic, qos.SENSOR) for t, topic in zip(types, topics))
            self.sensors = {s.id: s for s in self.world.sensors()}
            self.create_subscription(CarlaEgoVehicleControl, control_topic, self._on_control, qos.SENSOR)
            for topic in lock:
                if topic == control_topic:
                    continue
                if topic.endswith("/status") and topic.startswith("/lead/"):
                    self.create_subscription(RouteStatus, topic,
                                             lambda m, t=topic: self.gate.seen(t, header_stamp_ns(m)), qos.SENSOR)
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
        seed, spawn_point = int(p("seed", 0)), int(p("spawn_point", 0))
        if town and self.mode != "external":
            self._load(town, "", seed, {}, -1, -1)
            if spawn_point >= 0:
                sp = self.world.map.get_spawn_points()
                t = sp[spawn_point % len(sp)]
                self._spawn((t.location.x, t.location.y, t.location.z + 0.2, 0.0, 0.0, t.rotation.yaw), "")
        self.thread = threading.Thread(target=self._loop_until_shutdown, name="carla-world-loop", daemon=True)
        if self.mode != "external":
            self.thread.start()
        self.get_logger().info(f"CARLA world ({self.mode}) at {host}:{port}: rig '{self.rig.name}', "
                               f"lock-step on {lock or 'nothing (free run)'}")

    # ------------------------------------------------------------------ external mode (a carla-ros-bridge ticks)
    def _external_ego(self):
        for a in self.client.get_world().get_actors().filter("vehicle.*"):
            if a.attributes.get("role_name") == self.role:
                return a
        raise RuntimeError(f"no vehicle with role_name '{self.role}': start carla_spawn_objects with the rig's "
                           "objects definition (docs/carla.md)")

    # ------------------------------------------------------------------ services
    def _load(self, town, opendrive, seed, weather, nv, npd, route_id: str = "") -> str:
        from lead.sim.carla_bridge.client import map_basename, weather_parameters

        with self._lock:
            if self.mode == "external":
                world = self.client.get_world()
                name = map_basename(world.get_map().name)
                if town and name != town:
                    raise RuntimeError(f"the carla-ros-bridge runs {name}, the route needs {town}: restart the "
                                       f"bridge with town:={town}")
                world.set_weather(weather_parameters(weather))
                self.pub_world_info.publish(M.world_info(name, world.get_map().to_opendrive()))
                return name
            self._running = False
            self.gate.cancel()
            name, xodr = self.world.load(town, opendrive, seed, weather, nv, npd, route_id=route_id)
            self.gate.reset()
            self._pending_control = None
            self.pub_world_info.publish(M.world_info(name, xodr))
            self.pub_light_info.publish(M.traffic_light_info(self.world.traffic_lights()))
        return name

    def _spawn(self, pose, blueprint) -> int:
        with self._lock:
            if self.mode == "external":
                from lead.sim.carla_bridge.convert import pose_to_transform

                ego = self._external_ego()
                ego.set_transform(pose_to_transform(pose))
                ego.set_target_velocity(ego.get_velocity() * 0.0)
                return int(ego.id)
            aid = self.world.spawn_ego(pose, blueprint)
            self.pub_vinfo.publish(M.vehicle_info(aid, self.world.ego_blueprint, self.role))
            self.pub_tf_static.publish(M.tf_message(
                M.transform_stamped(0, self.role, s.frame_id(self.role), s.pose, optical=s.is_camera)
                for s in self.world.sensors() if s.id in self.sensor_pubs))
            self._running = True
        return aid


    def _srv_weather(self, req, res):
        from lead.sim.carla_bridge.client import weather_parameters

        with self._lock:
            if self.world is not None:
                self.world.set_weather(weather_dict(req.weather))
            else:
                self.client.get_world().set_weather(weather_parameters(weather_dict(req.weather)))
        res.success, res.message = True, "ok"
        return res

    def _srv_scenario(self, req, res):
        res.success = True
        res.message = SCENARIO_MESSAGE.format(name=req.scenario.name)
        self.get_logger().warning(res.message)
        return res

    def _srv_reset(self, req, res):
        with self._lock:
            if self.world is not None:
                self._running = False
                self.gate.cancel()
                self.world.reset(int(req.seed))
                self.gate.reset()
        res.success, res.message = True, "reset"
        return res

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        while not self._stop.is_set() and rclpy.ok():
            frame = None
            try:
                with self._lock:
                    if self._running:
                        if self._pending_control is not None:
                            self.world.apply_control(self._pending_control[1])
                        frame = self.world.tick()
                        self._publish(frame)
            except RuntimeError as e:  # the server went away or a frame's data never came
                self.get_logger().error(f"CARLA tick failed: {e}")
                self.exit_code = 3
                self._stop.set()
                rclpy.try_shutdown()
                return
            if frame is None:
                time.sleep(0.005)
                continue
            if frame.number == 1:
                self._wall0 = time.monotonic()
            if self.duration and frame.time_ns >= self.duration * 1e9:
                self.get_logger().info(f"ran {self.duration:g} s of sim time in "
                                       f"{time.monotonic() - self._wall0:.1f} s wall: exiting")
                self._stop.set()
                rclpy.try_shutdown()
                return
            self._wait_for(frame.time_ns)

    def _publish(self, f) -> None:
        out: list = []
        self._build(f, out)
        self._send(out)

    def _build(self, f, out: list) -> None:
        t, r = f.time_ns, self.role
        out.append((self.pub_clock, M.clock(t)))
        ego_pose = f.ego.transform
        out.append((self.pub_tf, M.tf_message([M.transform_stamped(t, M.MAP_FRAME, r, ego_pose)])))
        # the embedded world's order (SensorSpec.publish_group): state sensors and ground truth,
        # then LiDAR/radar, then the cameras, then /carla/status
        later: dict[str, list] = {"rays": [], "cameras": []}
        for sid, pubs in self.sensor_pubs.items():
            s = self.sensors[sid]
            frame_id = s.frame_id(r)
            typ = s.type
            if s.publish_group in later:
                if sid in f.readings:
                    later[s.publish_group] += zip(pubs, sensor_messages(s, f.readings[sid], t, frame_id,
                                                                        f.sensor_rotations.get(sid, ego_pose[3:])))
            elif typ == "sensor.pseudo.odom":
                out.append((pubs[0], M.odometry(ego_pose, f.ego.velocity, f.ego.angular_velocity, t, r)))
            elif typ == "sensor.pseudo.speedometer":
                out.append((pubs[0], M.speedometer(f.ego_speed)))
            elif typ == "sensor.other.collision":
                for c in f.collisions:
                    out += zip(pubs, sensor_messages(s, c, t, frame_id))
            elif sid in f.readings:
                out += zip(pubs, sensor_messages(s, f.readings[sid], t, frame_id,
                                                 f.sensor_rotations.get(sid, ego_pose[3:])))
        out.append((self.pub_vstatus, M.vehicle_status(f.ego_speed, f.ego.acceleration, ego_pose, f.ego_control, t, r)))
        self._object_arrays(f, t, classify, out)
        out.append((self.pub_light_status, M.traffic_light_status(f.lights.items())))
        if f.number == 1 or set(f.roles) != getattr(self, "_listed", set()):
            self._listed = set(f.roles)
            types = {a.id: a.type_id for a in f.actors}
            types[f.ego.id] = f.ego.type_id
            out.append((self.pub_actor_list, M.actor_list((i, 0, types.get(i, ""), role) for i, role in f.roles.items())))
        out += later["rays"] + later["cameras"]
        out.append((self.pub_status, M.status(f.number, self.dt)))

    def destroy_node(self):
        self._stop.set()
        self.gate.cancel()
        if self.thread.is_alive():
            self.thread.join(timeout=5.0)
        if self.world is not None:
            self.world.close()
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    from lead.sim.carla_bridge.client import CarlaError

    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    try:
        node = CarlaWorldNode()
        spin_while(executor_for(node), lambda: not node._stop.is_set())
    except KeyboardInterrupt:
        pass
    except CarlaError as e:
        print(f"carla_world: {e}", file=sys.stderr)
        return 2
    except Exception:
        import logging

        logging.getLogger("lead").exception("CARLA world node crashed")
        return 1
    finally:
        exit_deadline(15)  # DDS teardown can deadlock (lead.nodes._spin)
        code = node.exit_code if node is not None else 2
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
