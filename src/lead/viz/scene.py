"""What the viewers show, gathered from the topic contract (DESIGN.md §2).

`Scene` keeps the latest state of everything the video overlay and the markers node draw:
ego pose, route, plan, ground-truth and detected boxes, traffic lights, leaderboard status
and infractions. Feed it `(topic, message, time_ns)` from a bag or a subscription; it
never needs a simulator. Values are stored in CARLA's frame (lead.sim.decode), plans in
the ego frame they are published in (REP-103: x forward, y left).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lead.sim import decode

CAMERA_TOPIC = "/carla/ego_vehicle/rgb_front/image"
DETECTIONS_TOPIC = "/lead/perception/objects"
ROLE = "ego_vehicle"

# carla_msgs/CarlaTrafficLightStatus states
LIGHT_NAMES = {0: "RED", 1: "YELLOW", 2: "GREEN", 3: "OFF", 4: "UNKNOWN"}


@dataclass
class InfractionMark:
    time_ns: int            # when it was published (sim time)
    event_type: str         # TrafficEventType name
    message: str
    position: tuple[float, float, float]  # CARLA frame
    game_time: float


@dataclass
class Scene:
    role: str = ROLE
    camera_topic: str = CAMERA_TOPIC
    time_ns: int = 0
    ego_pose: tuple | None = None           # (x, y, z, roll, pitch, yaw), CARLA
    ego_speed: float = 0.0
    ego_id: int | None = None
    route_id: str = ""
    town: str = ""
    route: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (N, 2) CARLA xy
    plan: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))   # (M, 2) ego frame, REP-103
    plan_checkpoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    plan_frame: str = ROLE
    plan_source: str = ""
    target_speed: float | None = None
    objects: list = field(default_factory=list)      # ground truth, ego removed (decode.ActorState)
    detections: list = field(default_factory=list)   # perception output, CARLA map frame
    light_states: dict[int, int] = field(default_factory=dict)
    light_poses: dict[int, tuple] = field(default_factory=dict)  # id -> CARLA pose
    infractions: list[InfractionMark] = field(default_factory=list)
    status: dict = field(default_factory=dict)       # RouteStatus fields
    camera: np.ndarray | None = None                 # latest RGB (H, W, 3) uint8
    camera_time_ns: int = 0

    def topics(self) -> list[str]:
        """Every topic `update` uses (read only these from a bag: LiDAR is most of its bytes)."""
        r = f"/carla/{self.role}/"
        return [r + "odometry", "/tf", r + "vehicle_info", "/carla/objects", DETECTIONS_TOPIC,
                "/carla/traffic_lights/status", "/carla/traffic_lights/info", "/lead/route", "/lead/plan",
                "/lead/leaderboard/event", "/lead/leaderboard/status", self.camera_topic]

    # ------------------------------------------------------------------ input
    def update(self, topic: str, msg, time_ns: int) -> bool:
        """Take one message; True when the topic is one the scene uses."""
        self.time_ns = int(time_ns)  # sim time restarts at 0 when the world loads the next route
        r = f"/carla/{self.role}/"
        if topic == r + "odometry":
            pose, vel, _ = decode.odometry(msg)
            self.ego_pose, self.ego_speed = pose, math.hypot(vel[0], vel[1])
        elif topic == "/tf" and self.ego_pose is None:
            self._tf(msg)
        elif topic == r + "vehicle_info":
            self.ego_id = int(msg.id)
        elif topic == "/carla/objects":
            self.objects = self._without_ego(decode.objects(msg))
        elif topic == DETECTIONS_TOPIC:
            self.detections = self._detections(msg)
        elif topic == "/carla/traffic_lights/status":
            self.light_states = decode.traffic_light_states(msg)
        elif topic == "/carla/traffic_lights/info":
            self.light_poses = {i: pose for i, pose, _, _ in decode.traffic_light_infos(msg)}
        elif topic == "/lead/route":
            if msg.route_id != self.route_id:
                self.infractions = []  # a new route: its predecessor's infractions are gone
            self.route_id, self.town = msg.route_id, msg.town
            self.route = np.array([[p.pose.position.x, -p.pose.position.y] for p in msg.dense], float).reshape(-1, 2)
        elif topic == "/lead/plan":
            self.plan = np.array([[p.x, p.y] for p in msg.waypoints], float).reshape(-1, 2)
            self.plan_checkpoints = np.array([[p.x, p.y] for p in msg.route_checkpoints], float).reshape(-1, 2)
            self.plan_frame = msg.header.frame_id or self.role
            self.plan_source = msg.source
            self.target_speed = float(msg.target_speed)
        elif topic == "/lead/leaderboard/event":
            p = msg.position
            self.infractions.append(InfractionMark(int(time_ns), msg.event_type, msg.message,
                                                   (p.x, -p.y, p.z), float(msg.game_time)))
        elif topic == "/lead/leaderboard/status":
            self.status = {"route_id": msg.route_id, "state": int(msg.state), "RC": float(msg.route_completion),
                           "IS": float(msg.infraction_penalty), "DS": float(msg.driving_score),
                           "num_infractions": int(msg.num_infractions), "game_time": float(msg.game_time),
                           "status": msg.status}
        elif topic == self.camera_topic:
            self.camera = np.ascontiguousarray(decode.image(msg)[..., :3])
            self.camera_time_ns = int(time_ns)
        else:
            return False
        return True

    def _tf(self, msg) -> None:
        for t in msg.transforms:
            if t.child_frame_id == self.role:
                q, p = t.transform.rotation, t.transform.translation
                from lead.frames import ros_quaternion_to_carla_rotation

                roll, pitch, yaw = ros_quaternion_to_carla_rotation(q.x, q.y, q.z, q.w)
                self.ego_pose = (p.x, -p.y, p.z, roll, pitch, yaw)

    def _without_ego(self, actors: list) -> list:
        if self.ego_id is not None:
            return [a for a in actors if a.id != self.ego_id]
        if self.ego_pose is None:
            return actors
        ex, ey = self.ego_pose[:2]  # no vehicle_info seen: the object sitting on the ego is the ego
        return [a for a in actors if math.hypot(a.transform[0] - ex, a.transform[1] - ey) > 0.3]

    def _detections(self, msg) -> list:
        actors = decode.objects(msg)
        frame = msg.header.frame_id
        if frame in ("", "map"):
            return actors
        if frame != self.role or self.ego_pose is None:
            return []  # a frame we cannot place: draw nothing rather than something wrong
        out = []
        for a in actors:  # ego frame -> map frame
            x, y = self.ego_to_world(np.array([[a.transform[0], -a.transform[1]]]))[0]
            t = (float(x), float(y), a.transform[2], 0.0, 0.0, a.transform[5] + self.ego_pose[5])
            out.append(decode.ActorState(a.id, a.type_id, a.kind, t, a.velocity, a.acceleration,
                                         a.angular_velocity, a.extent, a.classification))
        return out

    # ------------------------------------------------------------------ geometry
    def world_to_ego(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) CARLA world xy -> ego frame REP-103 (x forward, y left)."""
        if self.ego_pose is None:
            return np.zeros((0, 2))
        x0, y0, yaw = self.ego_pose[0], self.ego_pose[1], math.radians(self.ego_pose[5])
        d = np.asarray(xy, float).reshape(-1, 2) - (x0, y0)
        c, s = math.cos(yaw), math.sin(yaw)
        fwd = c * d[:, 0] + s * d[:, 1]
        right = -s * d[:, 0] + c * d[:, 1]
        return np.column_stack([fwd, -right])

    def ego_to_world(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) ego frame REP-103 -> CARLA world xy."""
        x0, y0, yaw = self.ego_pose[0], self.ego_pose[1], math.radians(self.ego_pose[5])
        p = np.asarray(xy, float).reshape(-1, 2)
        fwd, right = p[:, 0], -p[:, 1]
        c, s = math.cos(yaw), math.sin(yaw)
        return np.column_stack([x0 + c * fwd - s * right, y0 + s * fwd + c * right])

    def plan_in_ego(self) -> np.ndarray:
        """Planned waypoints in the ego frame whatever frame they came in."""
        if self.plan_frame in ("map",) and len(self.plan):
            return self.world_to_ego(self.plan * (1.0, -1.0))
        return self.plan

    def recent_infractions(self, window_s: float) -> list[InfractionMark]:
        """Infractions published in the last `window_s` seconds (sim time)."""
        lo = self.time_ns - int(window_s * 1e9)
        return [m for m in self.infractions if lo < m.time_ns <= self.time_ns]
