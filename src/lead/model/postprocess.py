"""Model outputs -> plan, boxes and radar detections in the ego frame (outside forward, not exported).

Everything is CARLA ego frame: x forward, y right, metres, m/s, yaw radians.
Boxes are rows of BOX_FIELDS, LEAD's TransfuserBoundingBoxIndex order: `half_length` and
`half_width` are half extents along the box's own x and y axes.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lead.model.config import ModelConfig

BOX_FIELDS = ("x", "y", "half_length", "half_width", "yaw", "velocity", "brake", "class_id", "score")
BRAKE_THRESHOLD = 0.9  # LEAD's open-loop brake_threshold: P(0 m/s) above it means stop


def plan(outputs: dict[str, torch.Tensor], cfg: ModelConfig,
         brake_threshold: float | None = BRAKE_THRESHOLD) -> dict[str, np.ndarray]:
    """Waypoints (B, 8, 2) and route (B, 10, 2) in ego metres, target speed (B,) m/s.

    The target speed is the expectation over the speed classes (LEAD's decode_two_hot), set to
    0 where the probability of the 0 m/s class exceeds `brake_threshold` (None: never)."""
    probs = torch.softmax(outputs["target_speed_logits"].detach().float(), dim=-1)
    speed = probs @ torch.tensor(cfg.planning.target_speeds, device=probs.device)
    if brake_threshold is not None:
        speed = torch.where(probs[:, 0] > brake_threshold, torch.zeros_like(speed), speed)
    return {
        "waypoints": outputs["future_waypoints"].detach().float().cpu().numpy(),
        "route": outputs["route"].detach().float().cpu().numpy(),
        "target_speed": speed.cpu().numpy(),
        "target_speed_probs": probs.cpu().numpy(),
    }


def decode_boxes(outputs: dict[str, torch.Tensor], cfg: ModelConfig) -> list[np.ndarray]:
    """Per sample an (n, 9) array of BOX_FIELDS: heatmap peaks (3x3 local maxima, top_k),
    score > boxes.confidence, rotated-box NMS at boxes.nms_iou, at most boxes.max_boxes."""
    heat = torch.sigmoid(outputs["center_heatmap"].detach().float())
    b, c, h, w = heat.shape
    k = cfg.boxes.pool_kernel
    peaks = heat * (F.max_pool2d(heat, k, stride=1, padding=k // 2) == heat)
    scores, idx = torch.topk(peaks.reshape(b, -1), min(cfg.boxes.top_k, c * h * w))
    cls, cell = idx // (h * w), idx % (h * w)
    rows, cols = (cell // w).float(), (cell % w).float()

    def gather(name: str) -> torch.Tensor:  # (B, C, h, w) -> (B, K, C) at the peaks
        f = outputs[name].detach().float().flatten(2)
        return torch.gather(f, 2, cell[:, None].expand(-1, f.shape[1], -1)).transpose(1, 2)

    wh, off = gather("center_wh"), gather("center_offset")
    yaw_bin = gather("center_yaw_class").argmax(-1).float()
    yaw = yaw_bin * (2 * math.pi / cfg.boxes.dir_bins) + gather("center_yaw_res")[..., 0]
    yaw = torch.where(yaw > math.pi, yaw - 2 * math.pi, yaw)
    zeros = torch.zeros_like(scores)
    velocity = gather("center_velocity")[..., 0] if "center_velocity" in outputs else zeros
    brake = gather("center_brake").argmax(-1).float() if "center_brake" in outputs else zeros
    cell_m = cfg.bev_cell_m
    boxes = torch.stack([cfg.bev.min_x + (cols + off[..., 0]) * cell_m, cfg.bev.min_y + (rows + off[..., 1]) * cell_m,
                         wh[..., 0] * cell_m, wh[..., 1] * cell_m, yaw, velocity, brake, cls.float(), scores], dim=-1)
    result = []
    for sample in boxes.cpu().numpy():
        sample = sample[sample[:, 8] > cfg.boxes.confidence]
        result.append(rotated_nms(sample, cfg.boxes.nms_iou)[: cfg.boxes.max_boxes])
    return result


def decode_radar(outputs: dict[str, torch.Tensor], threshold: float = 0.5) -> list[np.ndarray]:
    """Per sample the (n, 4) radar detections x, y, speed, probability with probability > threshold."""
    det = outputs["radar_detections"].detach().float().cpu().numpy().copy()
    det[..., 3] = 1.0 / (1.0 + np.exp(-det[..., 3]))
    return [d[d[:, 3] > threshold] for d in det]


def box_corners(box: np.ndarray) -> np.ndarray:
    """(4, 2) corners, counter-clockwise in (x, y), of a BOX_FIELDS row."""
    x, y, hl, hw, yaw = box[:5]
    c, s = math.cos(yaw), math.sin(yaw)
    local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
    return local @ np.array([[c, s], [-s, c]]) + np.array([x, y])


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _clip(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of convex polygon `subject` inside convex polygon `clip`."""
    orient = 1.0 if _cross(clip[1] - clip[0], clip[2] - clip[1]) >= 0 else -1.0
    out = list(subject)
    for i in range(len(clip)):
        a, b = clip[i], clip[(i + 1) % len(clip)]

        def inside(p: np.ndarray) -> bool:
            return orient * _cross(b - a, p - a) >= 0

        pts, out = out, []
        for j in range(len(pts)):
            p, q = pts[j], pts[(j + 1) % len(pts)]
            if inside(q):
                if not inside(p):
                    out.append(_intersect(a, b, p, q))
                out.append(q)
            elif inside(p):
                out.append(_intersect(a, b, p, q))
        if not out:
            break
    return np.array(out).reshape(-1, 2)


def _intersect(a: np.ndarray, b: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Where segment p-q crosses the line through a and b."""
    d1, d2 = b - a, q - p
    den = _cross(d1, d2)
    t = _cross(d1, a - p) / den if den != 0 else 0.0
    return p + t * d2


def box_iou(b1: np.ndarray, b2: np.ndarray) -> float:
    """IoU of two rotated BEV boxes (BOX_FIELDS rows)."""
    p1, p2 = box_corners(b1), box_corners(b2)
    inter = _area(_clip(p1, p2))
    union = _area(p1) + _area(p2) - inter
    return inter / union if union > 0 else 0.0


def rotated_nms(boxes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS by score: drop boxes overlapping a kept one by IoU > threshold (LEAD's rule)."""
    order = np.argsort(-boxes[:, 8], kind="stable")
    keep: list[int] = []
    for i in order:
        if all(box_iou(boxes[i], boxes[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return boxes[keep].reshape(-1, boxes.shape[1])
