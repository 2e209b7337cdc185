"""Leaderboard route manager: for each route of a route file, asks the world to load the
town and spawn the ego, publishes /lead/route, scores every tick with the Leaderboard 2.0
criteria (lead.leaderboard) from topics only, ends the route as the leaderboard does, writes
the result files, and moves on. Its per-tick /lead/leaderboard/status is the world's
lock-step acknowledgement, so scoring never falls behind the simulation.

Parameters: routes, route_ids ("3,5-9"), repetitions, out, resume, rules (leaderboard |
bench2drive), shard ("I/N"), seed, num_vehicles, num_pedestrians, tick_timeout (wall s
without a tick before a crash is recorded), rig (for the results' sensor list), world
(embedded | carla | external: with the embedded world, whose traffic fills the town, the
min-speed test compares the ego with the background vehicles inside BackgroundActivity's radius
of it (lead.leaderboard.criteria.surrounding_speeds); with CARLA, with every background vehicle,
as upstream).
Exit code: 0 when every route was run, 3 when the world stopped answering.
"""
from __future__ import annotations

import math
import queue
import sys
import threading
import time
from collections import deque

import rclpy
from rclpy.node import Node

from lead.io import qos
from lead.nodes._spin import executor_for, exit_deadline, spin_while
from lead.io.stamps import header_stamp_ns, make_header
from lead.io.sync import ExactTimeSynchronizer
from lead.leaderboard.campaign import Campaign, RouteRun, plan_jobs
from lead.leaderboard.criteria import surrounding_speeds
from lead.leaderboard.evaluator import END_COMPLETED
from lead.leaderboard.geometry import Pose
from lead.leaderboard.results import parse_shard
from lead.leaderboard.rules import rules_by_name
from lead.leaderboard.scoring import FAILURE_MESSAGES
from lead.leaderboard.snapshot import Collision, Tick
from lead.sim import decode
from lead.sim import messages as M
from lead.sim.embedded.vehicles import EGO_BLUEPRINT, VEHICLES

LIGHT_NAMES = {0: "Red", 1: "Yellow", 2: "Green", 3: "Off", 4: "Unknown"}
SERVICE_PREFIX = "/lead/world/"


class WorldGone(RuntimeError):
    pass


def agent_lost(agents: dict, infos) -> str:
    """Compare the control publishers now (`infos`, rclpy TopicEndpointInfo) with those that
    drove this route so far (`agents`: node name -> its publisher gids, updated in place); say
    which agent died, '' when none. A respawned node has its old name and a new gid: that is
    caught at once, while a SIGKILLed publisher itself only vanishes from discovery when its
    DDS lease runs out (many seconds)."""
    now: dict[str, set] = {}
    for i in infos:
        now.setdefault(f"{i.node_namespace.rstrip('/')}/{i.node_name}", set()).add(bytes(i.endpoint_gid))
    for node, gids in agents.items():
        if node not in now:
            return f"{node} left the control topic"
        if now[node] - gids:
            return f"{node} was restarted"
    agents.update({node: gids for node, gids in now.items() if node not in agents})
    return ""


class RouteManager(Node):
    def __init__(self) -> None:
        super().__init__("route_manager")
        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        shard = str(p("shard", ""))
        self.jobs = plan_jobs(str(p("routes", "")), str(p("route_ids", "")), int(p("repetitions", 1)),
                              parse_shard(shard) if shard else None)
        self.campaign = Campaign(self.jobs, str(p("out", "results")), bool(p("resume", False)))
        self.rules = rules_by_name(str(p("rules", "leaderboard")))
        self.seed = int(p("seed", 0))
        self.num_vehicles = int(p("num_vehicles", -1))
        self.num_pedestrians = int(p("num_pedestrians", -1))
        self.tick_timeout = float(p("tick_timeout", 60.0))
        self.surrounding_only = str(p("world", "embedded")) == "embedded"
        self.role = "ego_vehicle"
        self.control_topic = f"/carla/{self.role}/vehicle_control_cmd"
        from lead.sim.rig import load_rig

        rig = load_rig(str(p("rig", "lead")))
        self.campaign.results.sensors = sorted({s.type for s in rig.select(False)})
        self.exit_code = 0

        from carla_msgs.msg import (CarlaActorList, CarlaCollisionEvent, CarlaEgoVehicleInfo,
                                    CarlaTrafficLightInfoList, CarlaTrafficLightStatusList, CarlaWorldInfo)
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import Infraction, Route, RouteStatus, ScenarioEvent
        from lead_msgs.srv import LoadWorld, ResetWorld, SetWeather, SpawnEgo, SpawnScenario
        from nav_msgs.msg import Odometry

        r = self.role
        self.pub_route = self.create_publisher(Route, "/lead/route", qos.LATCHED)
        self.pub_event = self.create_publisher(Infraction, "/lead/leaderboard/event", qos.SENSOR)
        self.pub_status = self.create_publisher(RouteStatus, "/lead/leaderboard/status", qos.SENSOR)
        self.cli = {name: self.create_client(t, SERVICE_PREFIX + name) for name, t in
                    (("load", LoadWorld), ("spawn_ego", SpawnEgo), ("set_weather", SetWeather),
                     ("spawn_scenario", SpawnScenario), ("reset", ResetWorld))}
        self.world_info = None
        self.light_info: list = []
        self.light_states: dict[int, int] = {}
        self.types: dict[int, str] = {}
        self.roles: dict[int, str] = {}
        self.ego_type = EGO_BLUEPRINT
        self.collisions: deque = deque()
        self.scenario_events: deque = deque()
        self.ticks: queue.Queue = queue.Queue()
        self.create_subscription(CarlaWorldInfo, "/carla/world_info", self._on_world_info, qos.LATCHED)
        self.create_subscription(CarlaTrafficLightInfoList, "/carla/traffic_lights/info",
                                 lambda m: setattr(self, "light_info", decode.traffic_light_infos(m)), qos.LATCHED)
        self.create_subscription(CarlaTrafficLightStatusList, "/carla/traffic_lights/status",
                                 lambda m: setattr(self, "light_states", decode.traffic_light_states(m)), qos.SENSOR)
        self.create_subscription(CarlaActorList, "/carla/actor_list", self._on_actor_list, qos.LATCHED)
        self.create_subscription(CarlaEgoVehicleInfo, f"/carla/{r}/vehicle_info",
                                 lambda m: setattr(self, "ego_type", m.type or EGO_BLUEPRINT), qos.LATCHED)
        self.create_subscription(CarlaCollisionEvent, f"/carla/{r}/collision", self._on_collision, qos.SENSOR)
        self.create_subscription(ScenarioEvent, "/lead/scenario/event",
                                 lambda m: self.scenario_events.append((header_stamp_ns(m), m)), qos.SENSOR)
        self.sync = ExactTimeSynchronizer(2, 50, self._on_tick)
        self.create_subscription(Odometry, f"/carla/{r}/odometry", self.sync.input(0), qos.SENSOR)
        self.create_subscription(ObjectArray, "/carla/objects", self.sync.input(1), qos.SENSOR)
        self.thread = threading.Thread(target=self._run_all, name="routes", daemon=True)
        self.thread.start()

    # ------------------------------------------------------------------ inputs
    def _on_world_info(self, m) -> None:
        self.world_info = (m.map_name, m.opendrive)

    def _on_actor_list(self, m) -> None:
        self.types, self.roles = decode.actor_types(m)

    def _on_collision(self, m) -> None:
        self.collisions.append((header_stamp_ns(m), m.other_actor_id))

    def _on_tick(self, odom, objects) -> None:
        self.ticks.put((header_stamp_ns(odom), odom, objects, dict(self.light_states)))

    # ------------------------------------------------------------------ services
    def _call(self, name: str, request, timeout: float = 120.0):
        cli = self.cli[name]
        if not cli.wait_for_service(timeout_sec=timeout):
            raise WorldGone(f"world service {SERVICE_PREFIX}{name} is not available")
        fut = cli.call_async(request)
        end = time.monotonic() + timeout
        while not fut.done():
            if time.monotonic() > end:
                raise WorldGone(f"world service {SERVICE_PREFIX}{name} did not answer in {timeout:g} s")
            time.sleep(0.01)
        res = fut.result()
        if hasattr(res, "success") and not res.success:
            raise RuntimeError(f"{SERVICE_PREFIX}{name}: {res.message}")
        return res

    # ------------------------------------------------------------------ routes
    def _run_all(self) -> None:
        try:
            pending = self.campaign.pending()
            self.get_logger().info(f"{len(self.jobs)} routes, {len(pending)} to run; results in {self.campaign.out}")
            for job in pending:
                self._run_route(job)
            self._summary()
        except WorldGone as e:
            self.get_logger().error(f"{e}: stopping (rerun with resume:=true to continue)")
            self.exit_code = 3
        except Exception as e:  # noqa: BLE001 — report and stop the graph, results so far are on disk
            import traceback

            self.get_logger().error(f"route manager failed: {e}\n{traceback.format_exc()}")
            self.exit_code = 1
        finally:
            rclpy.try_shutdown()

    def _run_route(self, job) -> None:
        from lead_msgs.srv import LoadWorld, ResetWorld, SetWeather, SpawnEgo

        from lead.world.map import Map
        from lead.world.routes import weather_at

        route = job.route
        self.get_logger().info(f"[{job.index + 1}/{len(self.jobs)}] {job.record_id} on {route.town}")
        self.campaign.start(job)
        req = LoadWorld.Request(town=route.town, seed=self.seed + job.repetition, route_id=job.record_id,
                                num_vehicles=self.num_vehicles, num_pedestrians=self.num_pedestrians)
        _fill_weather(req.weather, weather_at(route.weathers, 0.0))
        self.world_info = None
        self._call("load", req)
        end = time.monotonic() + 30
        while self.world_info is None and time.monotonic() < end:
            time.sleep(0.01)
        if self.world_info is None:
            raise WorldGone("no /carla/world_info after loading")
        xodr_map = Map.from_string(self.world_info[1], self.world_info[0])
        time.sleep(0.05)  # let the latched light info of this load arrive
        run = RouteRun(job, xodr_map, self.rules, lights=[(i, Pose(p[0], p[1], p[2], p[5], p[4], p[3]), c, e)
                                                          for i, p, c, e in self.light_info])
        route_msg = self._route_msg(job, run)
        self.pub_route.publish(route_msg)
        self._drain()
        for i, info in enumerate(route_msg.scenarios):
            from lead_msgs.srv import SpawnScenario

            res = self._call("spawn_scenario", SpawnScenario.Request(route_id=job.record_id, scenario=info,
                                                                     route=route_msg.dense if i == 0 else []))
            if res.message != "ok":
                self.get_logger().warning(f"{job.record_id}: {res.message}")
        start = run.dense[0][0]
        spawn = SpawnEgo.Request()
        spawn.pose = M.ros_pose((start.location.x, start.location.y, start.location.z + 0.2, 0.0, 0.0,
                                 start.rotation.yaw))
        self._call("spawn_ego", spawn)
        failure = self._drive(run)
        record = run.finish(self.campaign, failure)
        self._publish_status(run, self._last_stamp, state=3, status=record.status, record=record)
        self.get_logger().info(f"{job.record_id}: {record.status}; DS {record.scores['score_composed']:.2f} "
                               f"RC {record.scores['score_route']:.2f} IS {record.scores['score_penalty']:.3f}")
        try:
            self._call("reset", ResetWorld.Request(seed=self.seed), timeout=30)
        except (WorldGone, RuntimeError) as e:
            self.get_logger().warning(f"reset after {job.record_id}: {e}")

    def _drain(self) -> None:
        self.sync.clear()  # sim time starts again at every route
        while not self.ticks.empty():
            self.ticks.get_nowait()
        self.collisions.clear()
        self.scenario_events.clear()

    def _drive(self, run: RouteRun) -> str:
        """Score ticks until the route ends; returns a failure message ('' when none)."""
        self._last_stamp = 0
        prev = None
        agents: dict = {}  # node -> gids of the control publishers seen during this route
        self.emergency_ids: set[int] = set()
        ext = VEHICLES.get(self.ego_type, VEHICLES[EGO_BLUEPRINT]).extent
        while rclpy.ok():
            try:
                stamp, odom, objects, lights = self.ticks.get(timeout=self.tick_timeout)
            except queue.Empty:
                return self._crash_reason()
            if stamp <= self._last_stamp:
                if stamp == self._last_stamp:  # the world re-sent a tick: acknowledge it again
                    self._publish_status(run, stamp, state=2)
                continue
            self._last_stamp = stamp
            if why := agent_lost(agents, self.get_publishers_info_by_topic(self.control_topic)):
                self.get_logger().error(f"the agent process died during the route: {why}")
                return FAILURE_MESSAGES["Agent_runtime"][1]
            pose, vel, ang = decode.odometry(odom)
            actors = decode.objects(objects, self.types)
            hits = []
            while self.collisions and self.collisions[0][0] <= stamp:
                _, other = self.collisions.popleft()
                hits.append(Collision(int(other), self.types.get(other, "static.prop")))
            bg = [(a.transform[0], a.transform[1], a.speed) for a in actors if self.roles.get(a.id) == "background"]
            background = surrounding_speeds((pose[0], pose[1]), math.hypot(vel[0], vel[1]), bg) \
                if self.surrounding_only else tuple(v for _, _, v in bg)
            self._apply_scenario_events(run, stamp)
            watched = {a.id: Pose(a.transform[0], a.transform[1], a.transform[2], a.transform[5], a.transform[4],
                                  a.transform[3]) for a in actors if a.id in self.emergency_ids}
            tick = Tick(frame=int(round(stamp / 5e7)), time=stamp / 1e9,
                        pose=Pose(pose[0], pose[1], pose[2], pose[5], pose[4], pose[3]),
                        velocity=vel, extent=tuple(ext), speed_limit=self._speed_limit(run, pose),
                        collisions=tuple(hits), light_states={i: LIGHT_NAMES.get(s, "Unknown") for i, s in lights.items()},
                        background_speeds=background, actors=watched)
            acc = (0.0, 0.0, 0.0) if prev is None else tuple((v - pv) / 0.05 for v, pv in zip(vel, prev))
            prev = vel
            res = run.step(tick, acc, ang)
            run.distance += math.hypot(vel[0], vel[1]) * 0.05
            for ev in res.new_events:
                self._publish_event(run, ev, stamp)
            self._publish_status(run, stamp, state=2)
            if res.done:
                return ""
        return FAILURE_MESSAGES["Simulation"][1]

    def _apply_scenario_events(self, run: RouteRun, stamp: int) -> None:
        """Scenario reports of this tick (or earlier) -> the route's criteria."""
        ev = run.evaluator
        while self.scenario_events and self.scenario_events[0][0] <= stamp:
            _, m = self.scenario_events.popleft()
            self.get_logger().info(f"scenario {m.scenario}: {m.kind}" + (" (timed out)" if m.timed_out else ""))
            if m.kind == "started":
                vid = int(m.emergency_vehicle_id) or None
                if vid:
                    self.emergency_ids.add(vid)
                ev.start_scenario(m.scenario, has_timeout=m.has_timeout, emergency_vehicle_id=vid)
                run.note_scenario(m.scenario, True, header_stamp_ns(m) / 1e9)
            elif m.kind == "ended":
                run.note_scenario(m.scenario, False, header_stamp_ns(m) / 1e9)
                try:
                    ev.end_scenario(m.scenario, timed_out=m.timed_out)
                except ValueError:  # the route ended it first
                    pass
            elif m.kind == "wrong_direction_check":
                ev.set_wrong_direction_check(bool(m.active))
            elif m.kind == "skipped":
                self.get_logger().warning(f"scenario {m.scenario} ({m.type}) skipped: {m.message}")

    def _crash_reason(self) -> str:
        if self.count_publishers("/clock") == 0:
            self.get_logger().error(f"no tick for {self.tick_timeout:g} s and the world is gone")
            return FAILURE_MESSAGES["Simulation"][1]
        self.get_logger().error(f"no tick for {self.tick_timeout:g} s: the agent crashed or hangs")
        return FAILURE_MESSAGES["Agent_runtime"][1]

    def _speed_limit(self, run: RouteRun, pose) -> float:
        from lead.world.transform import Location

        wp = run.map.get_waypoint(Location(pose[0], pose[1], pose[2]))
        lim = getattr(wp, "speed_limit", None) if wp is not None else None
        return float(lim) if lim else 30.0

    # ------------------------------------------------------------------ outputs
    def _route_msg(self, job, run: RouteRun):
        from diagnostic_msgs.msg import KeyValue
        from lead_msgs.msg import Route, RoutePoint, ScenarioInfo

        def point(i: int):
            t, opt = run.dense[i]
            g = run.gps[i][0]
            return RoutePoint(pose=M.ros_pose((t.location.x, t.location.y, t.location.z, t.rotation.roll,
                                               t.rotation.pitch, t.rotation.yaw)),
                              road_option=int(opt), latitude=g["lat"], longitude=g["lon"], altitude=g["z"])

        msg = Route(header=make_header(0, M.MAP_FRAME), route_id=job.record_id, town=job.route.town,
                    route_index=job.index, num_routes=len(self.jobs), length_m=run.length)
        msg.dense = [point(i) for i in range(len(run.dense))]
        msg.plan = [msg.dense[i] for i in run.plan_ids]
        for sc in job.route.scenarios:
            tp = sc.trigger_point
            info = ScenarioInfo(name=sc.name, type=sc.type,
                                trigger=M.ros_pose((tp.x, tp.y, tp.z, 0.0, 0.0, tp.yaw)))
            info.parameters = [KeyValue(key=tag, value=",".join(f"{k}={v}" for k, v in attrs.items()))
                               for tag, attrs in sc.parameters.items()]
            msg.scenarios.append(info)
        return msg

    def _publish_event(self, run: RouteRun, ev, stamp: int) -> None:
        from geometry_msgs.msg import Point
        from lead_msgs.msg import Infraction

        loc = ev.location or (0.0, 0.0, 0.0)
        self.pub_event.publish(Infraction(
            header=make_header(stamp, M.MAP_FRAME), route_id=run.job.record_id, event_type=ev.type.name,
            message=ev.message or "", position=Point(x=float(loc[0]), y=-float(loc[1]), z=float(loc[2])),
            other_actor_id=int(ev.other_actor_id or 0), other_actor_type=ev.other_actor_type or "",
            percentage=float(ev.percentage or 0.0), game_time=float(ev.time or 0.0)))

    def _publish_status(self, run: RouteRun, stamp: int, state: int, status: str = "", record=None) -> None:
        from lead_msgs.msg import RouteStatus

        # running: the scores so far; finished: the route's final record
        rec = record if record is not None else run.evaluator.current_record() if state == 2 else None
        scores = rec.scores if rec else {}
        self.pub_status.publish(RouteStatus(
            header=make_header(stamp), route_id=run.job.record_id, route_index=run.job.index,
            num_routes=len(self.jobs), state=state, route_completion=float(scores.get("score_route", 0.0)),
            infraction_penalty=float(scores.get("score_penalty", 1.0)),
            driving_score=float(scores.get("score_composed", 0.0)),
            num_infractions=int(rec.num_infractions if rec else 0), game_time=stamp / 1e9, status=status))

    def _summary(self) -> None:
        res = self.campaign.results
        lines = [f"{'route':28s} {'status':34s} {'DS':>7s} {'RC':>7s} {'IS':>6s}"]
        for rec in res.finished_records():
            s = rec.scores
            lines.append(f"{rec.route_id:28s} {rec.status:34s} {s['score_composed']:7.2f} "
                         f"{s['score_route']:7.2f} {s['score_penalty']:6.3f}")
        self.get_logger().info("results\n" + "\n".join(lines) + f"\nwritten to {self.campaign.path}")


def _fill_weather(w, values: dict) -> None:
    for k in ("cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "fog_density",
              "fog_distance", "wetness", "sun_azimuth_angle", "sun_altitude_angle"):
        setattr(w, k, float(values.get(k, 0.0)))


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    try:
        node = RouteManager()
        spin_while(executor_for(node))
    except KeyboardInterrupt:
        pass
    finally:
        exit_deadline(15)  # DDS teardown can deadlock (lead.nodes._spin)
        code = node.exit_code if node is not None else 1
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
