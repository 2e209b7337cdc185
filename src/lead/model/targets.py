"""Box labels -> CenterNet training targets, the inverse of postprocess.decode_boxes.

LEAD's encoding (lead/data_loader/carla_dataset_utils.py, get_targets): on the BEV feature grid
(cells of cfg.bev_cell_m metres, rows along y, columns along x) each box draws a Gaussian of radius
max(2, CornerNet radius at IoU 0.1) into its class channel at its integer centre cell, and that
cell holds size, sub-cell offset, yaw bin + residual, speed and brake, with pixel weight 1.
Boxes are rows of postprocess.BOX_FIELDS in the ego frame (metres, radians).
"""
from __future__ import annotations

import math

import numpy as np

from lead.model.classes import BOX_CLASSES
from lead.model.config import ModelConfig


def angle_to_class(angle: float, bins: int) -> tuple[int, float]:
    """Yaw (radians) -> (bin, residual); bin c is centred on c * 2 pi / bins."""
    per = 2 * math.pi / bins
    shifted = (angle % (2 * math.pi) + per / 2) % (2 * math.pi)
    cls = int(shifted // per)
    return cls, shifted - (cls * per + per / 2)


def gaussian_radius(height: float, width: float, min_overlap: float = 0.1) -> float:
    """CornerNet's radius: the smallest of the three corner-displacement cases keeping IoU >= min_overlap."""
    b1, c1 = height + width, width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 - math.sqrt(b1**2 - 4 * c1)) / 2
    b2, c2 = 2 * (height + width), (1 - min_overlap) * width * height
    r2 = (b2 - math.sqrt(b2**2 - 16 * c2)) / 8
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (height + width), (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / (2 * a3)
    return min(r1, r2, r3)


def draw_gaussian(heatmap: np.ndarray, col: int, row: int, radius: int) -> None:
    """Max-splat a Gaussian (sigma = diameter / 6) centred on (row, col) into a (rows, cols) map."""
    d = 2 * radius + 1
    sigma = d / 6
    ax = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-(ax[None, :] ** 2 + ax[:, None] ** 2) / (2 * sigma * sigma))
    g[g < np.finfo(np.float32).eps * g.max()] = 0
    rows, cols = heatmap.shape
    l, r = min(col, radius), min(cols - col, radius + 1)
    t, b = min(row, radius), min(rows - row, radius + 1)
    np.maximum(heatmap[row - t:row + b, col - l:col + r], g[radius - t:radius + b, radius - l:radius + r],
               out=heatmap[row - t:row + b, col - l:col + r])


def center_net_targets(boxes: np.ndarray, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """(n, 9) BOX_FIELDS rows (score ignored) -> one sample's `center_net_*` targets (no batch dim)."""
    h, w = cfg.bev_grid_size
    out = {
        "center_net_heatmap": np.zeros((len(BOX_CLASSES), h, w), np.float32),
        "center_net_wh": np.zeros((2, h, w), np.float32),
        "center_net_offset": np.zeros((2, h, w), np.float32),
        "center_net_yaw_class": np.zeros((h, w), np.int64),
        "center_net_yaw_res": np.zeros((1, h, w), np.float32),
        "center_net_velocity": np.zeros((1, h, w), np.float32),
        "center_net_brake": np.zeros((h, w), np.int64),
        "center_net_pixel_weight": np.zeros((2, h, w), np.float32),
    }
    cell = cfg.bev_cell_m
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 9):
        cx, cy = (box[0] - cfg.bev.min_x) / cell, (box[1] - cfg.bev.min_y) / cell
        col, row = int(cx), int(cy)
        if not (0 <= cx and 0 <= cy and col < w and row < h):
            continue  # outside the grid, as LEAD skips it
        ex, ey = box[2] / cell, box[3] / cell
        radius = max(2, int(gaussian_radius(ey, ex)))
        draw_gaussian(out["center_net_heatmap"][int(box[7])], col, row, radius)
        yaw_cls, yaw_res = angle_to_class(float(box[4]), cfg.boxes.dir_bins)
        out["center_net_wh"][:, row, col] = ex, ey
        out["center_net_offset"][:, row, col] = cx - col, cy - row
        out["center_net_yaw_class"][row, col] = yaw_cls
        out["center_net_yaw_res"][0, row, col] = yaw_res
        out["center_net_velocity"][0, row, col] = box[5]
        out["center_net_brake"][row, col] = int(round(box[6]))
        out["center_net_pixel_weight"][:, row, col] = 1.0
    out["center_net_avg_factor"] = np.array(max(1, int((out["center_net_heatmap"] == 1).sum())), np.float32)
    return out
