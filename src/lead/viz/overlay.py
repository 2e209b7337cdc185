"""One video frame from a `Scene`: the front camera, an inset bird's-eye view (route,
plan, boxes, lights, infractions) and a text overlay (time, speed, target speed, scores),
with a red flash for `flash_s` seconds after each infraction. numpy + OpenCV, BGR out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from lead.viz.scene import LIGHT_NAMES, Scene

# BGR
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (110, 110, 110)
ROUTE_C, PLAN_C, EGO_C = (200, 140, 60), (60, 220, 60), (0, 215, 255)
GT_C, DET_C, INFRACTION_C = (230, 230, 230), (255, 255, 0), (40, 40, 235)
LIGHT_C = {0: (40, 40, 235), 1: (0, 200, 255), 2: (60, 220, 60), 3: GREY, 4: GREY}
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class OverlayStyle:
    width: int = 960                 # output width; height follows the camera (at least min_height)
    min_height: int = 400
    bev_size: int = 220              # inset side in pixels
    bev_range: float = 32.0          # metres ahead of the ego shown in the inset
    flash_s: float = 1.0             # how long an infraction flashes
    border: int = 10                 # flash border thickness


def frame_size(camera_shape: tuple[int, int] | None, style: OverlayStyle = OverlayStyle()) -> tuple[int, int]:
    """(width, height), both even (H.264 needs it)."""
    w = style.width - style.width % 2
    h = style.min_height
    if camera_shape is not None:
        ch, cw = camera_shape[:2]
        h = max(h, int(round(w * ch / max(cw, 1))))
    return w, h + h % 2


def render(scene: Scene, size: tuple[int, int], style: OverlayStyle = OverlayStyle()) -> np.ndarray:
    """The overlay frame (H, W, 3) uint8 BGR of the scene as it is now."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    if scene.camera is not None:
        cam = scene.camera  # fitted inside the frame, aspect kept, at the top
        k = min(w / cam.shape[1], h / cam.shape[0])
        cw, ch = max(1, int(round(cam.shape[1] * k))), max(1, int(round(cam.shape[0] * k)))
        x0 = (w - cw) // 2
        img[:ch, x0:x0 + cw] = cv2.resize(cam[..., ::-1], (cw, ch), interpolation=cv2.INTER_LINEAR)
    else:
        _text(img, "no camera image", (w // 2 - 90, h // 2), 0.6, GREY)
    b = style.bev_size
    bev = render_bev(scene, b, style.bev_range, style.flash_s)
    x0, y0 = w - b - 8, h - b - 8
    img[y0:y0 + b, x0:x0 + b] = (0.1 * img[y0:y0 + b, x0:x0 + b] + 0.9 * bev).astype(np.uint8)
    cv2.rectangle(img, (x0, y0), (x0 + b - 1, y0 + b - 1), WHITE, 1)
    _hud(img, scene)
    recent = scene.recent_infractions(style.flash_s)
    if recent:
        _flash(img, recent[-1].event_type, style.border)
    return img


def render_bev(scene: Scene, size: int, range_m: float, flash_s: float = 1.0) -> np.ndarray:
    """Bird's-eye view in the ego frame, forward up, ego at 70 % of the height."""
    bev = np.full((size, size, 3), 30, np.uint8)
    ppm = 0.7 * size / range_m
    cx, cy = size / 2.0, 0.7 * size

    def px(p: np.ndarray) -> np.ndarray:  # ego frame (x fwd, y left) -> pixels
        p = np.asarray(p, float).reshape(-1, 2)
        return np.column_stack([cx - p[:, 1] * ppm, cy - p[:, 0] * ppm]).round().astype(np.int32)

    if scene.ego_pose is None:
        _text(bev, "no ego pose", (8, size // 2), 0.45, GREY)
        return bev
    if len(scene.route):
        r = scene.world_to_ego(scene.route)
        near = np.abs(r).max(axis=1) < 3 * range_m
        if near.any():
            cv2.polylines(bev, [px(r[near])], False, ROUTE_C, max(2, int(ppm * 1.2)), cv2.LINE_AA)
    for actors, color, thick in ((scene.objects, GT_C, 1), (scene.detections, DET_C, 2)):
        for a in actors:
            corners = _box_corners(a.transform[0], a.transform[1], a.transform[5], a.extent[0], a.extent[1])
            c = scene.world_to_ego(corners)
            if np.abs(c).max() < 2 * range_m:
                cv2.polylines(bev, [px(c)], True, color, thick, cv2.LINE_AA)
    for lid, pose in scene.light_poses.items():
        p = scene.world_to_ego(np.array([pose[:2]]))[0]
        if abs(p[0]) < 2 * range_m and abs(p[1]) < 2 * range_m:
            cv2.circle(bev, tuple(int(v) for v in px(p)[0]), 4, LIGHT_C.get(scene.light_states.get(lid, 4), GREY), -1)
    plan = scene.plan_in_ego()
    if len(plan):
        pts = px(np.vstack([[0.0, 0.0], plan]))
        cv2.polylines(bev, [pts], False, PLAN_C, 1, cv2.LINE_AA)
        for q in pts[1:]:
            cv2.circle(bev, (int(q[0]), int(q[1])), 3, PLAN_C, -1, cv2.LINE_AA)
    for m in scene.infractions:
        q = px(scene.world_to_ego(np.array([m.position[:2]])))[0]
        cv2.drawMarker(bev, (int(q[0]), int(q[1])), INFRACTION_C, cv2.MARKER_TILTED_CROSS, 12, 2)
    ego = scene.world_to_ego(_box_corners(scene.ego_pose[0], scene.ego_pose[1], scene.ego_pose[5], 2.45, 1.05))
    cv2.fillPoly(bev, [px(ego)], EGO_C)
    if scene.recent_infractions(flash_s):
        cv2.rectangle(bev, (0, 0), (size - 1, size - 1), INFRACTION_C, 4)
    return bev


def _box_corners(x: float, y: float, yaw_deg: float, hx: float, hy: float) -> np.ndarray:
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    local = np.array([[hx, hy], [hx, -hy], [-hx, -hy], [-hx, hy]])
    return np.column_stack([x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]])


def nearest_light(scene: Scene, max_m: float = 60.0) -> tuple[int, float] | None:
    """(state, distance) of the closest traffic light ahead of the ego within max_m."""
    if scene.ego_pose is None or not scene.light_poses:
        return None
    best = None
    for lid, pose in scene.light_poses.items():
        p = scene.world_to_ego(np.array([pose[:2]]))[0]
        d = float(np.hypot(*p))
        if p[0] > 0 and d < max_m and (best is None or d < best[1]):
            best = (scene.light_states.get(lid, 4), d)
    return best


def _hud(img: np.ndarray, scene: Scene) -> None:
    t = scene.time_ns / 1e9
    lines = [f"t {t:7.2f} s   {scene.route_id or ''}"]
    speed = f"speed {scene.ego_speed * 3.6:5.1f} km/h"
    if scene.target_speed is not None:
        speed += f"   target {scene.target_speed * 3.6:5.1f} km/h"
        if scene.plan_source:
            speed += f" ({scene.plan_source})"
    lines.append(speed)
    st = scene.status
    if st:
        lines.append(f"DS {st['DS']:6.2f}  RC {st['RC']:6.2f}  IS {st['IS']:.3f}  infractions {st['num_infractions']}")
    y = 24
    panel = img[:24 * len(lines) + (30 if nearest_light(scene) else 8), :470]
    panel[:] = (panel * 0.45).astype(np.uint8)  # darken behind the text
    for line in lines:
        _text(img, line, (12, y), 0.55, WHITE)
        y += 24
    light = nearest_light(scene)
    if light is not None:
        state, d = light
        cv2.circle(img, (20, y + 2), 8, LIGHT_C.get(state, GREY), -1)
        _text(img, f"light {LIGHT_NAMES.get(state, '?')} {d:4.0f} m", (34, y + 8), 0.55, WHITE)


def _flash(img: np.ndarray, event_type: str, border: int) -> None:
    h, w = img.shape[:2]
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), INFRACTION_C, border * 2)
    label = event_type.replace("_", " ")
    (tw, th), _ = cv2.getTextSize(label, FONT, 0.8, 2)
    x0 = max(border, (w - tw) // 2 - 12)
    y0 = h // 2 - th - 12
    cv2.rectangle(img, (x0, y0), (x0 + tw + 24, y0 + th + 24), INFRACTION_C, -1)
    cv2.putText(img, label, (x0 + 12, y0 + th + 12), FONT, 0.8, WHITE, 2, cv2.LINE_AA)


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, color) -> None:
    # a 1-px shadow, same thickness: OpenCV 5's fonts change width with thickness, so a
    # thick outline under thin text does not line up
    cv2.putText(img, s, (org[0] + 1, org[1] + 1), FONT, scale, BLACK, 1, cv2.LINE_AA)
    cv2.putText(img, s, org, FONT, scale, color, 1, cv2.LINE_AA)
