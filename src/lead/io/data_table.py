"""LEAD's data table as ROS 2 topics: what an expert bag holds and at which rate.

LEAD saves a training frame every 5 ticks (data_save_freq = 5, 4 Hz at 20 Hz). Camera
images and their training targets are recorded at that rate; everything the model stacks
over time (LiDAR: the last 10 ticks) or the labels need between frames (ego state, objects,
lights, route, plan, expert labels, control) is recorded every tick. Both the recorder and
the dataset cache read this table, so the two cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

from lead.sim.rig import Rig

SAVE_EVERY = 5          # ticks between saved frames (LEAD's data_save_freq)
TICK_HZ = 20.0
PERTURBED_SUFFIX = "_perturbated"
LABELS_TOPIC = "/lead/expert/labels"
PLAN_TOPIC = "/lead/plan"
ROUTE_TOPIC = "/lead/route"
METADATA_NAME = "lead"   # MCAP metadata record: rig, map, route id, seed, versions, result

# topics recorded at every tick, whatever the rig
EVERY_TICK = (
    "/clock", "/tf", "/carla/status", "/carla/objects", "/carla/traffic_lights/status",
    "/carla/ego_vehicle/odometry", "/carla/ego_vehicle/vehicle_status", "/carla/ego_vehicle/speedometer",
    "/carla/ego_vehicle/imu", "/carla/ego_vehicle/gnss", "/carla/ego_vehicle/collision",
    "/carla/ego_vehicle/vehicle_control_cmd", PLAN_TOPIC, LABELS_TOPIC,
    "/lead/leaderboard/event", "/lead/leaderboard/status",
)
# latched topics, recorded whenever they are (re)published
LATCHED = ("/tf_static", "/carla/world_info", "/carla/traffic_lights/info", "/carla/actor_list",
           "/carla/ego_vehicle/vehicle_info", ROUTE_TOPIC)


@dataclass(frozen=True)
class TopicRate:
    topic: str
    every: int  # record one message of every `every` ticks (1 = all)
    # a camera's image or camera_info (nominal or perturbated): published on the world's camera
    # ticks only (CARLA's sensor_tick, the embedded world's camera_every)
    camera: bool = False


def recorded_topics(rig: Rig, collect: bool = True) -> list[TopicRate]:
    """Every topic an expert bag holds for this rig, with its rate."""
    out = [TopicRate(t, 1) for t in EVERY_TICK + LATCHED]
    for s in rig.select(collect):
        t = s.topic(rig.role_name)
        if s.is_camera:
            out.append(TopicRate(t, SAVE_EVERY, camera=True))
            out.append(TopicRate(t.rsplit("/", 1)[0] + "/camera_info", SAVE_EVERY, camera=True))
        elif s.type in ("sensor.lidar.ray_cast", "sensor.other.radar"):
            out.append(TopicRate(t, 1))
    if collect and rig.perturbation:
        for sid in rig.perturbation.sensors:
            s = rig.get(sid)
            base = f"/carla/{rig.role_name}/{sid}{PERTURBED_SUFFIX}"
            if s.is_camera:
                out.append(TopicRate(base + "/image", SAVE_EVERY, camera=True))
                out.append(TopicRate(base + "/camera_info", SAVE_EVERY, camera=True))
            else:
                out.append(TopicRate(base, SAVE_EVERY))
    seen, unique = set(), []
    for tr in out:
        if tr.topic not in seen:
            seen.add(tr.topic)
            unique.append(tr)
    return unique
