"""A small real bag for the viewer tests: the embedded world (rig minimal) driven along a
lane by the route follower for a few seconds, written with the contract's message builders
into an MCAP bag at the recorder's rates (cameras every 5 ticks), plus a leaderboard status
every tick and one synthetic infraction event at a known tick."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lead.control.route_follower import RouteFollower
from lead.io.bag import BagWriter
from lead.io.data_table import SAVE_EVERY
from lead.io.stamps import make_header
from lead.nodes.world import classify, light_id
from lead.sim import messages as M
from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
from lead.world.transform import Location

ROLE = "ego_vehicle"


def make_bag(path: Path, ticks: int = 60, infraction_tick: int = 40, seed: int = 2,
             route_id: str = "RouteScenario_7_rep0") -> dict:
    from geometry_msgs.msg import Point
    from lead_msgs.msg import Infraction, Plan, Route, RoutePoint, RouteStatus

    world = EmbeddedWorld(WorldConfig(rig="minimal", num_vehicles=6, num_pedestrians=0))
    world.load("LeadGrid001", seed=seed)
    sp = world.map.get_spawn_points()[3]
    world.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0.0, 0.0, sp.rotation.yaw))
    wp = world.map.get_waypoint(Location(sp.location.x, sp.location.y, sp.location.z))
    dense = [wp]
    for _ in range(120):
        nxt = wp.next(1.0)
        if not nxt:
            break
        wp = nxt[0]
        dense.append(wp)
    route_xy = np.array([[w.transform.location.x, w.transform.location.y] for w in dense])
    follower = RouteFollower(route_xy, 6.0)

    sensors = {s.id: s for s in world.sensors()}
    cam = sensors["rgb_front"]
    info = {}
    with BagWriter(path) as bag:
        t0 = 0
        route = Route(header=make_header(t0, M.MAP_FRAME), route_id=route_id, town="LeadGrid001",
                      route_index=0, num_routes=1, length_m=float(len(dense) - 1))
        route.dense = [RoutePoint(pose=M.ros_pose((w.transform.location.x, w.transform.location.y, 0.0, 0.0, 0.0,
                                                   w.transform.rotation.yaw)), road_option=4) for w in dense]
        route.plan = route.dense[::10]
        bag.write("/lead/route", route, t0)
        bag.write(f"/carla/{ROLE}/vehicle_info", M.vehicle_info(1, world.ego_blueprint, ROLE), t0)
        lights = []
        for tl in world.map.get_traffic_lights():
            t = tl.transform
            lights.append((light_id(tl.id), (t.location.x, t.location.y, t.location.z, 0.0, 0.0, t.rotation.yaw),
                           (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
        bag.write("/carla/traffic_lights/info", M.traffic_light_info(lights), t0)
        for k in range(1, ticks + 1):
            f = world.tick()
            t = f.time_ns
            pose = f.ego.transform
            bag.write("/clock", M.clock(t), t)
            bag.write("/tf", M.tf_message([M.transform_stamped(t, M.MAP_FRAME, ROLE, pose)]), t)
            bag.write(f"/carla/{ROLE}/odometry", M.odometry(pose, f.ego.velocity, f.ego.angular_velocity, t, ROLE), t)
            bag.write("/carla/objects", M.object_array([f.ego] + f.actors, classify, t), t)
            bag.write("/carla/traffic_lights/status",
                      M.traffic_light_status((light_id(i), int(s)) for i, s in f.lights.items()), t)
            if k % SAVE_EVERY == 1:  # cameras at the recorder's rate
                img = world.sense(f)["rgb_front"]
                bag.write(cam.topic(ROLE), M.rgb_image(img.rgba, t, cam.frame_id(ROLE)), t)
            # the plan: the next route points, in the ego frame (REP-103)
            d = route_xy - pose[:2]
            i0 = int(np.argmin(np.hypot(d[:, 0], d[:, 1])))
            yaw = np.radians(pose[5])
            ahead = route_xy[i0 + 2:i0 + 18:2] - pose[:2]
            fwd = np.cos(yaw) * ahead[:, 0] + np.sin(yaw) * ahead[:, 1]
            right = -np.sin(yaw) * ahead[:, 0] + np.cos(yaw) * ahead[:, 1]
            plan = Plan(header=make_header(t, ROLE), source="route_follower", waypoint_dt=0.25, target_speed=6.0)
            plan.waypoints = [Point(x=float(a), y=float(-b), z=0.0) for a, b in zip(fwd, right)]
            bag.write("/lead/plan", plan, t)
            if k == infraction_tick:
                info["infraction_ns"] = t
                bag.write("/lead/leaderboard/event", Infraction(
                    header=make_header(t, M.MAP_FRAME), route_id=route.route_id, event_type="COLLISION_VEHICLE",
                    message="test collision", position=Point(x=pose[0], y=-pose[1], z=0.0),
                    game_time=t / 1e9), t)
            bag.write("/lead/leaderboard/status", RouteStatus(
                header=make_header(t), route_id=route.route_id, state=2, route_completion=k / ticks * 10,
                infraction_penalty=0.6 if k >= infraction_tick else 1.0,
                driving_score=k / ticks * 10 * (0.6 if k >= infraction_tick else 1.0),
                num_infractions=int(k >= infraction_tick), game_time=t / 1e9), t)
            world.apply_control(follower.step(pose[0], pose[1], pose[5], f.ego_speed))
    info.update(ticks=ticks, first_ns=world.config.dt and int(round(world.config.dt * 1e9)),
                camera_shape=(cam.attributes["image_size_y"], cam.attributes["image_size_x"]),
                route_xy=route_xy)
    return info
