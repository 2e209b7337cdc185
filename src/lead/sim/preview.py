"""`lead scenario preview`: a top-down clip of one route's scenario, driven by the blind
route follower in the embedded world (library only, no ROS), so a person can check
that the scenario looks right: where its actors appear, when it triggers, what they do.

The clip follows the ego from a little before the scenario is triggered until a few
seconds after it ends (or a time limit). Colours: ego green, scenario actors red, props
orange, background traffic grey, walkers as discs, the route blue, traffic lights at
their stop position in their state's colour. MP4 (H.264 through PyAV) or GIF (Pillow),
chosen by the output's suffix.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("lead.preview")

PX_PER_M = 5.0
VIEW_M = 90.0             # the clip shows VIEW_M x VIEW_M metres around the ego
FPS = 10                  # one clip frame every other tick at 20 Hz
BG = (40, 40, 40)
ROAD = (95, 95, 95)
SIDEWALK = (140, 140, 130)
COLORS = {"ego": (60, 200, 60), "scenario": (220, 50, 50), "prop": (240, 150, 40), "background": (170, 170, 170)}
LIGHT = {"RED": (230, 40, 40), "YELLOW": (240, 210, 40), "GREEN": (40, 220, 60)}


@dataclass
class PreviewResult:
    path: Path
    frames: int
    seconds: float
    events: list[str]


class _Canvas:
    """The town drawn once at PX_PER_M; frames are crops of it around the ego."""

    def __init__(self, map_) -> None:
        import cv2

        geoms = [g for g in map_.lane_geometry(step=1.0) if len(g.center) >= 2]
        xy = np.concatenate([np.concatenate([g.left[:, :2], g.right[:, :2]]) for g in geoms])
        pad = VIEW_M
        self.x0, self.y0 = xy[:, 0].min() - pad, xy[:, 1].min() - pad
        w = int((xy[:, 0].max() + pad - self.x0) * PX_PER_M)
        h = int((xy[:, 1].max() + pad - self.y0) * PX_PER_M)
        self.img = np.full((h, w, 3), BG, np.uint8)
        for g in geoms:
            if float(g.width.max()) <= 1e-3:
                continue
            ring = np.concatenate([g.left[:, :2], g.right[::-1, :2]])
            color = SIDEWALK if "sidewalk" in str(getattr(g, "lane_type", "")).lower() else ROAD
            cv2.fillPoly(self.img, [self.px(ring)], color, lineType=cv2.LINE_AA)

    def px(self, xy: np.ndarray) -> np.ndarray:
        """CARLA x/y (left-handed, y to the right of x) to image pixels, north-up as CARLA's
        spectator shows it from above: image x = world x, image y = world y."""
        p = (np.asarray(xy, float)[..., :2] - (self.x0, self.y0)) * PX_PER_M
        return np.round(p).astype(np.int32)


def _box(a) -> np.ndarray:
    x, y, yaw = a.transform[0], a.transform[1], math.radians(a.transform[5])
    ex, ey = max(a.extent[0], 0.3), max(a.extent[1], 0.3)
    c, s = math.cos(yaw), math.sin(yaw)
    corners = np.array([[ex, ey], [ex, -ey], [-ex, -ey], [-ex, ey]])
    return corners @ np.array([[c, s], [-s, c]]) + (x, y)


def render_frame(canvas: _Canvas, frame, route_xy: np.ndarray, lights: list, caption: str) -> np.ndarray:
    import cv2

    img = canvas.img.copy()
    cv2.polylines(img, [canvas.px(route_xy)], False, (70, 120, 230), 3, cv2.LINE_AA)
    for pos, sid in lights:
        st = frame.lights.get(sid)
        name = getattr(st, "name", str(st)).upper() if st is not None else ""
        cv2.circle(img, tuple(canvas.px(pos)), 5, LIGHT.get(name, (90, 90, 90)), -1, cv2.LINE_AA)
    for a in frame.actors:
        role = frame.roles.get(a.id, "background")
        color = COLORS["scenario" if role.startswith("scenario") else role if role in COLORS else "background"]
        if a.kind == "walker":
            cv2.circle(img, tuple(canvas.px((a.transform[0], a.transform[1]))), 4, color, -1, cv2.LINE_AA)
        else:
            cv2.fillPoly(img, [canvas.px(_box(a))], color, lineType=cv2.LINE_AA)
    cv2.fillPoly(img, [canvas.px(_box(frame.ego))], COLORS["ego"], lineType=cv2.LINE_AA)
    # crop around the ego, then flip so the picture reads like CARLA's top view (y down)
    cx, cy = canvas.px((frame.ego.transform[0], frame.ego.transform[1]))
    half = int(VIEW_M * PX_PER_M / 2)
    crop = np.ascontiguousarray(img[cy - half:cy + half, cx - half:cx + half])
    lines = caption.split("\n")
    cv2.rectangle(crop, (0, 0), (crop.shape[1], 8 + 18 * len(lines)), (0, 0, 0), -1)
    for i, line in enumerate(lines):
        cv2.putText(crop, line, (6, 18 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return crop


def write_clip(frames: list[np.ndarray], out: Path, fps: int = FPS) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        from PIL import Image

        imgs = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=64) for f in frames]
        imgs[0].save(out, save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0, optimize=True)
        return
    import av

    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "28", "preset": "veryfast"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def preview(routes_file: str | Path, route_id: str, out: str | Path, maps_dirs=(), seed: int = 0,
            target_speed: float = 6.0, lead_s: float = 4.0, tail_s: float = 4.0, max_s: float = 40.0,
            num_vehicles: int = 10, num_pedestrians: int = 10) -> PreviewResult:
    from lead.control.route_follower import RouteFollower
    from lead.sim.embedded.scenarios import ScenarioManager
    from lead.sim.embedded.scenarios.base import ENDED, SKIPPED, STARTED
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes
    from lead.world.transform import Location

    routes = {r.id: r for r in read_routes(routes_file)}
    if route_id not in routes:
        raise KeyError(f"{routes_file}: no route with id {route_id!r} (ids: {', '.join(list(routes)[:20])}...)")
    route = routes[route_id]
    if not route.scenarios:
        raise ValueError(f"{routes_file}: route {route_id} has no scenario to preview")
    world = EmbeddedWorld(WorldConfig(rig="minimal", render=False, num_vehicles=num_vehicles,
                                      num_pedestrians=num_pedestrians, maps_dirs=[str(d) for d in maps_dirs]))
    world.load(route.town, seed=seed)
    _, dense = interpolate_trajectory(world.map, [Location(*k) for k in route.keypoints], 1.0)
    t0 = dense[0][0]
    world.spawn_ego((t0.location.x, t0.location.y, t0.location.z, 0.0, 0.0, t0.rotation.yaw))
    manager = ScenarioManager(world, dense, route.scenarios, seed=seed, route_name=route.name)
    route_xy = np.array([[t.location.x, t.location.y] for t, _ in dense])
    follower = RouteFollower(route_xy, target_speed)
    canvas = _Canvas(world.map)
    lights = []
    for tl in world.map.get_traffic_lights():
        box = tl.trigger_volumes[0] if tl.trigger_volumes else None
        pos = (box.location.x, box.location.y) if box is not None else (tl.transform.location.x,
                                                                          tl.transform.location.y)
        lights.append((pos, str(tl.id)))
    frames: list[np.ndarray] = []
    history: list[np.ndarray] = []          # frames before the trigger, kept for lead_s
    events: list[str] = []
    started_at = ended_at = None
    name = route.scenarios[0].name
    n_ticks = int(20 * 600)                  # the route's own limit: 10 sim minutes
    for tick in range(n_ticks):
        e = world.ego.state
        control = follower.step(e.x, e.y, e.yaw, abs(e.speed))
        world.apply_control(manager.filter_control(control))
        frame = world.tick()
        t = frame.time_ns / 1e9
        for ev in manager.step(frame):
            events.append(f"{t:6.1f} s {ev.kind} {ev.scenario}" + (f": {ev.message}" if ev.message else ""))
            if ev.kind == STARTED and started_at is None:
                started_at = t
            elif ev.kind in (ENDED, SKIPPED) and ended_at is None:
                ended_at = t
        for c in frame.collisions:
            events.append(f"{t:6.1f} s collision with actor {getattr(c, 'other_id', '?')}")
        if tick % (20 // FPS):
            continue
        state = "before" if started_at is None else "running" if ended_at is None else "ended"
        img = render_frame(canvas, frame, route_xy, lights, f"{route.name} {name}\n[{state}]  t={t:5.1f} s  "
                                                           f"v={frame.ego_speed * 3.6:4.1f} km/h")
        if started_at is None:
            history.append(img)
            history = history[-int(lead_s * FPS):]
        else:
            if history:
                frames.extend(history)
                history = []
            frames.append(img)
        if ended_at is not None and t - ended_at >= tail_s:
            break
        if started_at is not None and t - started_at >= max_s:
            break
        if follower.index >= len(follower.route) - 5 and abs(frame.ego_speed) < 0.1:
            break
    if not frames:  # never triggered: show the approach so the problem is visible
        frames = history
        events.append("scenario never started")
    result = PreviewResult(Path(out), len(frames), len(frames) / FPS, events)
    write_clip(frames, Path(out))
    return result
