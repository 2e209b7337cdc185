"""Video node: the contract's topics -> one overlay MP4 per route (front camera, inset BEV with
route, plan, boxes and lights, infractions flashed, time and scores), written while the route
runs to `<out>/<route_id>/video.mp4` + its `video.json`, where `lead webapp` finds it. It
reads only topics, so it works the same behind the embedded world, CARLA or a bag replay.

Thin: subscriptions hand messages to lead.viz.render.RouteVideos. After each /clock it sends
that tick on /lead/video/progress, which the eval graph's world paces itself to (as to the
recorder), so a video under load loses no frame.
Parameters: out (results folder; required), rig (for the front camera and its size),
fps (video frames per sim second; default 10), codec (auto | h264 | mp4v).
"""
from __future__ import annotations

import sys

from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.nodes._lockstep import VIDEO_PROGRESS_TOPIC
from lead.nodes._spin import run_node
from lead.viz.render import FRONT_CAMERAS, RouteVideos
from lead.viz.scene import DETECTIONS_TOPIC


def front_camera(rig_name: str) -> tuple[str | None, tuple[int, int] | None]:
    """The rig's front RGB camera topic and its (H, W), as `lead view` picks it from a bag."""
    from lead.sim.rig import load_rig
    from lead.viz.render import pick_camera

    rig = load_rig(rig_name)
    cams = {s.topic(rig.role_name): s for s in rig.sensors if s.type == "sensor.camera.rgb" and not s.collect}
    topic = pick_camera(cams)
    if topic is None:
        return None, None
    a = cams[topic].attributes
    return topic, (int(a["image_size_y"]), int(a["image_size_x"]))


class VideoNode(Node):
    def __init__(self) -> None:
        super().__init__("video")
        from carla_msgs.msg import CarlaEgoVehicleInfo, CarlaTrafficLightInfoList, CarlaTrafficLightStatusList
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import Infraction, Plan, Route, RouteStatus
        from nav_msgs.msg import Odometry
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import Image

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        out = str(p("out", ""))
        if not out:
            raise ValueError("video: parameter 'out' (results folder) is empty")
        camera, shape = front_camera(str(p("rig", "lead")))
        cameras = (camera,) if camera else FRONT_CAMERAS
        self.videos = RouteVideos(out, fps=float(p("fps", 10.0)), camera_topics=cameras, camera_shape=shape,
                                  codec=str(p("codec", "auto")))
        r = "/carla/ego_vehicle/"
        subs = [(Clock, "/clock", qos.SENSOR), (Odometry, r + "odometry", qos.SENSOR),
                (CarlaEgoVehicleInfo, r + "vehicle_info", qos.LATCHED), (ObjectArray, "/carla/objects", qos.SENSOR),
                (ObjectArray, DETECTIONS_TOPIC, qos.SENSOR),
                (CarlaTrafficLightStatusList, "/carla/traffic_lights/status", qos.SENSOR),
                (CarlaTrafficLightInfoList, "/carla/traffic_lights/info", qos.LATCHED),
                (Route, "/lead/route", qos.LATCHED), (Plan, "/lead/plan", qos.SENSOR),
                (Infraction, "/lead/leaderboard/event", qos.SENSOR),
                (RouteStatus, "/lead/leaderboard/status", qos.SENSOR)]
        subs += [(Image, c, qos.SENSOR) for c in cameras]
        for typ, topic, profile in subs:
            self.create_subscription(typ, topic, lambda m, t=topic: self._on(t, m), profile)
        # like the recorder, it paces the world (its pace_topic): the tick it has reached
        self.pub_progress = self.create_publisher(Clock, VIDEO_PROGRESS_TOPIC, qos.SENSOR)
        self.get_logger().info(f"writing one video per route under {out} (camera {cameras[0]})")

    def _on(self, topic: str, msg) -> None:
        stamp = header_stamp_ns(msg) if hasattr(msg, "header") else None
        before = len(self.videos.written)
        self.videos.feed(topic, msg, stamp)
        for path, stats in self.videos.written[before:]:
            self.get_logger().info(f"{path}: {stats.frames} frames {stats.size[0]}x{stats.size[1]} ({stats.codec})")
        if topic == "/clock":
            self.pub_progress.publish(msg)

    def destroy_node(self):
        before = len(self.videos.written)
        for path, stats in self.videos.close()[before:]:
            print(f"[video] {path}: {stats.frames} frames (closed at shutdown)", flush=True)  # rosout may be gone
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    return run_node(VideoNode, argv)


if __name__ == "__main__":
    sys.exit(main())
