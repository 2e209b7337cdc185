"""A bag (or a live topic stream) -> overlay MP4: one frame every 1/fps sim seconds showing
the scene as it was at that time (the newest camera image, plan, boxes, scores)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lead.viz.overlay import OverlayStyle, frame_size, render
from lead.viz.scene import CAMERA_TOPIC, Scene
from lead.viz.video import VideoWriter


@dataclass
class RenderStats:
    frames: int
    size: tuple[int, int]
    start_s: float
    fps: float
    codec: str
    infractions: int


class SceneVideo:
    """Feeds a Scene and writes a frame whenever sim time passes the next frame time.
    The first frame is at the first message that carries time; its time is `start_s`.
    Messages must come in time order (bags written by the recorder are)."""

    def __init__(self, out: str | os.PathLike, fps: float = 20.0, style: OverlayStyle = OverlayStyle(),
                 camera_topic: str = CAMERA_TOPIC, codec: str = "auto", meta: dict | None = None,
                 camera_shape: tuple[int, int] | None = None) -> None:
        self.camera_shape = camera_shape  # (H, W) when known up front; else the first image's (or none)
        self.out, self.fps, self.style, self.codec, self.meta = Path(out), float(fps), style, codec, dict(meta or {})
        self.scene = Scene(camera_topic=camera_topic)
        self.writer: VideoWriter | None = None
        self.next_ns: int | None = None
        self.period_ns = int(round(1e9 / self.fps))
        self.start_ns = 0

    def feed(self, topic: str, msg, time_ns: int) -> None:
        if self.next_ns is not None:
            while time_ns > self.next_ns:  # frames due before this message: the scene as it was
                self._emit(self.next_ns)
        if not self.scene.update(topic, msg, time_ns):
            return
        if self.next_ns is None and (topic == self.scene.camera_topic or time_ns > 0
                                     or topic in ("/lead/leaderboard/status", f"/carla/{self.scene.role}/odometry")):
            self.start_ns = self.next_ns = int(time_ns)

    def _emit(self, t_ns: int) -> None:
        self.scene.time_ns = t_ns
        if self.writer is None:
            shape = self.camera_shape or (None if self.scene.camera is None else self.scene.camera.shape)
            size = frame_size(shape, self.style)
            meta = {"route_id": self.scene.route_id, "town": self.scene.town, **self.meta}
            self.writer = VideoWriter(self.out, size, self.fps, self.codec, start_s=self.start_ns / 1e9, meta=meta)
        self.writer.write(render(self.scene, self.writer.size, self.style))
        self.next_ns = t_ns + self.period_ns

    def close(self) -> RenderStats:
        if self.next_ns is not None:
            self._emit(self.next_ns)  # the final state
        if self.writer is None:
            raise ValueError(f"{self.out}: no timed messages to render (the bag holds none of "
                             f"{', '.join(self.scene.topics())})")
        self.writer.meta.setdefault("route_id", self.scene.route_id)
        self.writer.meta["route_id"] = self.writer.meta["route_id"] or self.scene.route_id
        self.writer.meta["town"] = self.writer.meta.get("town") or self.scene.town
        self.writer.close()
        return RenderStats(self.writer.frames, self.writer.size, self.start_ns / 1e9, self.fps, self.writer.codec,
                           len(self.scene.infractions))


def render_messages(messages: Iterable[tuple[str, object, int]], out: str | os.PathLike, **kw) -> RenderStats:
    sv = SceneVideo(out, **kw)
    for topic, msg, t in messages:
        sv.feed(topic, msg, t)
    return sv.close()


FRONT_CAMERAS = (CAMERA_TOPIC, "/carla/ego_vehicle/rgb_2/image")  # rig minimal, rig lead (centre camera)


def pick_camera(topics) -> str | None:
    """The front camera of a bag: the minimal rig's, the lead rig's centre one, else any RGB image."""
    for t in FRONT_CAMERAS:
        if t in topics:
            return t
    rgb = sorted(t for t in topics if "/rgb" in t and t.endswith("/image") and "perturbat" not in t)
    return rgb[0] if rgb else None


def render_bag(bag: str | os.PathLike, out: str | os.PathLike, fps: float = 20.0, camera_topic: str | None = None,
               codec: str = "auto", style: OverlayStyle = OverlayStyle(), progress: bool = True) -> RenderStats:
    """Render an MCAP bag (lead's recorder layout) to an MP4 at `out`."""
    from lead.io.bag import BagReader

    reader = BagReader(bag)
    summary = reader.summary()
    camera_topic = camera_topic or pick_camera(summary.topics) or CAMERA_TOPIC
    scene_topics = Scene(camera_topic=camera_topic).topics()
    total = sum(summary.topics[t].count for t in scene_topics if t in summary.topics) or None
    shape = None
    if camera_topic in summary.topics:  # size the video by the camera even if it starts late
        from lead.sim import decode

        first = next(iter(reader.messages(topics=[camera_topic])), None)
        shape = None if first is None else decode.image(first.msg).shape[:2]
    it = reader.messages(topics=scene_topics)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=total, unit="msg", desc=f"render {Path(bag).name}", leave=False)
    sv = SceneVideo(out, fps=fps, style=style, camera_topic=camera_topic, codec=codec,
                    meta={"bag": Path(bag).name}, camera_shape=shape)
    for m in it:
        sv.feed(m.topic, m.msg, m.log_time_ns)
    return sv.close()


class RouteVideos:
    """A live topic stream -> one overlay MP4 per route at `<out>/<route_id>/video.mp4` (where
    the web app looks), for the video node. Plain Python: `feed(topic, msg, stamp_ns)` with
    the header stamp, or None for messages without one (they take the latest /clock).

    A route's video starts at its /lead/route and ends at its final status (state FINISHED)
    or close(). Sim time restarts when the world loads the next route, so after a new route
    messages are held back until time has gone back (or, for the first route, at once)."""

    FINISHED = 3

    def __init__(self, out: str | os.PathLike, fps: float = 10.0, camera_topics=FRONT_CAMERAS,
                 camera_shape: tuple[int, int] | None = None, codec: str = "auto",
                 style: OverlayStyle = OverlayStyle()) -> None:
        self.out, self.fps, self.codec, self.style = Path(out), float(fps), codec, style
        self.camera_topics, self.camera_shape = tuple(camera_topics), camera_shape
        self.clock_ns = 0
        self.video: SceneVideo | None = None
        self.route_msg = None
        self.finished = False                        # the current route's final status came
        self.waiting_reset_below: int | None = None  # hold messages until sim time drops below this
        self.latched: dict[str, object] = {}         # latched topics, replayed into each new video
        self.written: list[tuple[str, RenderStats]] = []

    def feed(self, topic: str, msg, stamp_ns: int | None) -> None:
        if topic == "/clock":
            t = msg.clock.sec * 1_000_000_000 + msg.clock.nanosec
            if self.waiting_reset_below is not None and t < self.waiting_reset_below:
                self.waiting_reset_below = None
            self.clock_ns = t
            return
        t = self.clock_ns if stamp_ns is None else int(stamp_ns)
        if topic == "/lead/route":
            if self.route_msg is None or msg.route_id != self.route_msg.route_id:
                self._finish()
                self.route_msg, self.finished = msg, False
                # the world resets sim time when it loads this route (unless nothing ran yet)
                self.waiting_reset_below = self.clock_ns if self.clock_ns > 0 else None
            return
        if topic in ("/carla/traffic_lights/info", "/carla/ego_vehicle/vehicle_info"):
            self.latched[topic] = msg
        if self.route_msg is None or self.waiting_reset_below is not None or self.finished:
            return  # no route yet, the world not yet reset for it, or it ended (its last tick's stragglers)
        if self.video is None:
            if stamp_ns is not None and t > self.clock_ns + 1_000_000_000:
                return  # a straggler of the route before
            self._start(topic if topic in self.camera_topics else None)
        v = self.video
        if topic in self.camera_topics and topic != v.scene.camera_topic:
            return  # another rig's front camera name: one camera per video
        v.feed(topic, msg, t)
        if topic == "/lead/leaderboard/status" and int(msg.state) == self.FINISHED:
            self._finish()
            self.finished = True

    def _start(self, camera: str | None) -> None:
        rid = self.route_msg.route_id
        path = self.out / rid / "video.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.video = SceneVideo(path, fps=self.fps, style=self.style, camera_topic=camera or self.camera_topics[0],
                                codec=self.codec, camera_shape=self.camera_shape, meta={"source": "video node"})
        self.video.feed("/lead/route", self.route_msg, 0)
        for topic, m in self.latched.items():
            self.video.feed(topic, m, 0)

    def _finish(self) -> None:
        v, self.video = self.video, None
        if v is None:
            return
        try:
            self.written.append((str(v.out), v.close()))
        except ValueError:  # nothing timed came for this route: no video, nothing to leave behind
            pass

    def close(self) -> list[tuple[str, RenderStats]]:
        """Finish the open video; every video written, in order."""
        self._finish()
        return self.written
