"""Expert bags without ROS: drive the embedded world with the expert library and write the MCAP a
recorder would (topic names and rates of lead.io.data_table, messages of lead.sim.messages).

For tests and benchmarks of the dataset cache and trainer: the real world, real sensors, the
real expert, a real MCAP file; only the DDS hop between processes is left out.

    record_expert_bag("route0.mcap", "routes/LeadGrid001_routes.xml", route_id="0", seconds=4.0)
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[3]


def _route_messages(route, m, dense, plan_ids):
    from lead_msgs.msg import Route, RoutePoint

    from lead.io.stamps import make_header
    from lead.sim import messages as M
    from lead.world.gps import location_to_gps

    lat0, lon0 = m.lat_lon_ref
    pts = []
    for t, opt in dense:
        g = location_to_gps(lat0, lon0, t.location.x, t.location.y, t.location.z)
        pts.append(RoutePoint(pose=M.ros_pose((t.location.x, t.location.y, t.location.z, t.rotation.roll,
                                               t.rotation.pitch, t.rotation.yaw)),
                              road_option=int(opt), latitude=g["lat"], longitude=g["lon"], altitude=g["z"]))
    msg = Route(header=make_header(0, M.MAP_FRAME), route_id=f"RouteScenario_{route.id}", town=route.town,
                route_index=0, num_routes=1)
    msg.dense = pts
    msg.plan = [pts[i] for i in plan_ids]
    msg.length_m = float(sum(math.dist((a[0].location.x, a[0].location.y), (b[0].location.x, b[0].location.y))
                             for a, b in zip(dense, dense[1:])))
    return msg


def labels_message(labels, stamp_ns: int):
    """lead.expert.labels.ExpertLabels (CARLA ego frame) -> lead_msgs/ExpertLabels (REP-103: y mirrored)."""
    from geometry_msgs.msg import Point
    from lead_msgs.msg import ExpertLabels

    from lead.io.stamps import make_header

    def pts(a):
        return [Point(x=float(p[0]), y=-float(p[1]), z=0.0) for p in np.asarray(a).reshape(-1, 2)]

    def pt(p):
        return Point(x=float(p[0]), y=-float(p[1]), z=0.0)

    return ExpertLabels(
        header=make_header(stamp_ns, "ego_vehicle"), target_speed=float(labels.target_speed),
        target_speed_class=int(labels.target_speed_class), brake_reason=int(labels.brake_reason),
        brake=bool(labels.brake), speed_limit=float(labels.speed_limit), ego_speed=float(labels.ego_speed),
        future_waypoints=pts(labels.future_waypoints), route_checkpoints=pts(labels.route_checkpoints),
        target_point=pt(labels.target_point), target_point_previous=pt(labels.target_point_previous),
        target_point_next=pt(labels.target_point_next), command=int(labels.command),
        next_command=int(labels.next_command), in_junction=bool(labels.in_junction),
        changing_lane=bool(labels.changing_lane), scenario_type=str(labels.scenario_type))


def plan_message(plan, stamp_ns: int):
    from geometry_msgs.msg import Point
    from lead_msgs.msg import Plan

    from lead.io.stamps import make_header

    return Plan(header=make_header(stamp_ns, "ego_vehicle"), source="expert",
                waypoints=[Point(x=float(p[0]), y=-float(p[1]), z=0.0) for p in plan.waypoints],
                waypoint_dt=float(plan.waypoint_dt),
                route_checkpoints=[Point(x=float(p[0]), y=-float(p[1]), z=0.0) for p in plan.route_checkpoints],
                target_speed=float(plan.target_speed))


def record_expert_bag(out: str | Path, routes_file: str | Path = REPO / "routes" / "LeadGrid001_routes.xml",
                      route_id: str = "0", seconds: float = 4.0, seed: int = 0, vehicles: int = 6,
                      pedestrians: int = 4, rig: str = "lead", start_m: float = 0.0) -> Path:
    """Drive `route_id` for `seconds` of sim time with the expert (LEAD's PDM-Lite library) and
    write the expert bag to `out`. Cameras (and their perturbated copies) are rendered only on the
    saved ticks (every SAVE_EVERY), as the recorder keeps them. `start_m` starts the ego that far
    along the dense route. Returns the bag path."""
    from lead.expert.planner import Expert
    from lead.io.bag import BagWriter
    from lead.io.data_table import LABELS_TOPIC, METADATA_NAME, PLAN_TOPIC, ROUTE_TOPIC, SAVE_EVERY
    from lead.leaderboard.campaign import PLAN_SAMPLE_FACTOR
    from lead.nodes.world import classify, light_id
    from lead.sim import messages as M
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
    from lead.world.gps import downsample_route
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes
    from lead.world.transform import Location

    routes = {r.id: r for r in read_routes(routes_file)}
    if route_id not in routes:
        raise KeyError(f"{routes_file}: no route '{route_id}' (has {', '.join(routes)})")
    route = routes[route_id]
    xodr = Path(routes_file).parent / f"{route.town}.xodr"
    world = EmbeddedWorld(WorldConfig(rig=rig, collect=True, num_vehicles=vehicles, num_pedestrians=pedestrians))
    world.load(route.town, opendrive=xodr.read_text(), seed=seed, route_id=f"RouteScenario_{route.id}")
    m = world.map
    _, dense = interpolate_trajectory(m, [Location(*k) for k in route.keypoints], 1.0)
    pts = [(t.location.x, t.location.y, t.location.z) for t, _ in dense]
    plan_ids = downsample_route(pts, [int(o) for _, o in dense], PLAN_SAMPLE_FACTOR)
    start = dense[min(int(start_m), len(dense) - 1)][0]
    world.spawn_ego((start.location.x, start.location.y, start.location.z + 0.1, 0.0, 0.0, start.rotation.yaw))
    expert = Expert(m, dense)
    role = world.rig.role_name
    sensors = {s.id: s for s in world.sensors()}
    route_msg = _route_messages(route, m, dense, plan_ids)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ticks = int(round(seconds / world.config.dt))
    with BagWriter(out, overwrite=True) as bag:
        bag.add_metadata(METADATA_NAME, {
            "rig": rig, "map": route.town, "route_id": route.name, "seed": str(seed),
            "perturbation_shift_m": repr(world.perturbation[0]),
            "perturbation_yaw_deg": repr(world.perturbation[1]), "writer": "lead.training.synthetic"})
        bag.write("/carla/world_info", M.world_info(world.map_name, world.opendrive), 0)
        bag.write(ROUTE_TOPIC, route_msg, 0)
        for _ in range(ticks):
            frame = world.tick()
            save = frame.number % SAVE_EVERY == 0
            world.sense(frame) if world._sensors is None else None  # build the suite once
            suite = world._sensors
            renderer = suite.renderer
            if not save:
                suite.renderer = None  # cameras are recorded on saved ticks only: skip their render
            try:
                readings = world.sense(frame)
            finally:
                suite.renderer = renderer
            t = frame.time_ns
            msgs: list[tuple[str, Any]] = [("/clock", M.clock(t)),
                                           ("/tf", M.tf_message([M.transform_stamped(t, M.MAP_FRAME, role,
                                                                                     frame.ego.transform)]))]
            for sid, s in sensors.items():
                data = readings.get(sid)
                if data is None and s.type != "sensor.pseudo.odom":
                    continue
                fid, topic = s.frame_id(role), s.topic(role)
                if s.is_camera:
                    a = s.attributes
                    if s.type == "sensor.camera.depth":
                        msg = M.depth_image(data.depth, t, fid)
                    elif s.type == "sensor.camera.semantic_segmentation":
                        msg = M.semantic_image(data.semantic, t, fid)
                    else:
                        msg = M.rgb_image(data.rgba, t, fid)
                    msgs.append((topic, msg))
                    msgs.append((topic.rsplit("/", 1)[0] + "/camera_info",
                                 M.camera_info_msg(a["image_size_x"], a["image_size_y"], a["fov"], t, fid)))
                elif s.type == "sensor.lidar.ray_cast":
                    msgs.append((topic, M.lidar_cloud(data, t, fid)))
                elif s.type == "sensor.other.radar":
                    msgs.append((topic, M.radar_cloud(data, t, fid)))
                elif s.type == "sensor.other.gnss":
                    msgs.append((topic, M.navsatfix(*data, t, fid)))
                elif s.type == "sensor.other.imu":
                    msgs.append((topic, M.imu(data[0], data[1], frame.ego.transform[3:], t, fid)))
                elif s.type == "sensor.pseudo.odom":
                    msgs.append((topic, M.odometry(frame.ego.transform, frame.ego.velocity,
                                                   frame.ego.angular_velocity, t, role)))
                elif s.type == "sensor.pseudo.speedometer":
                    msgs.append((topic, M.speedometer(frame.ego_speed)))
            msgs.append((f"/carla/{role}/vehicle_status", M.vehicle_status(
                frame.ego_speed, frame.ego.acceleration, frame.ego.transform, frame.ego_control, t, role)))
            msgs.append(("/carla/objects", M.object_array([frame.ego] + frame.actors, classify, t, {})))
            msgs.append(("/carla/traffic_lights/status",
                         M.traffic_light_status((light_id(k), int(v)) for k, v in frame.lights.items())))
            res = expert.step(t / 1e9, frame.ego, frame.actors, frame.lights, frame.roles)
            world.apply_control(res.control)
            msgs.append((f"/carla/{role}/vehicle_control_cmd", M.vehicle_control(res.control, t)))
            msgs.append((PLAN_TOPIC, plan_message(res.plan, t)))
            msgs.append((LABELS_TOPIC, labels_message(res.labels, t)))
            for topic, msg in msgs:
                bag.write(topic, msg, t)
    return out
