"""A tiny synthetic driving scene per sample: the labels of every TFv6 head, built with the model's
own target encoders, so losses, post-processing and the overfit check run on consistent data."""
from __future__ import annotations

import math

import numpy as np
import torch

from lead.model.classes import BEV_SEMANTIC_CLASSES, SEMANTIC_CLASSES
from lead.model.config import ModelConfig
from lead.model.targets import center_net_targets


def scene_boxes(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """n boxes (BOX_FIELDS rows) spread ahead of and beside the ego vehicle."""
    boxes = np.zeros((n, 9), np.float32)
    boxes[:, 0] = rng.uniform(-20, 50, n)
    boxes[:, 1] = rng.uniform(-30, 30, n)
    boxes[:, 2] = rng.uniform(1.5, 2.5, n)
    boxes[:, 3] = rng.uniform(0.8, 1.2, n)
    boxes[:, 4] = rng.uniform(-math.pi, math.pi, n)
    boxes[:, 5] = rng.uniform(0, 10, n)
    boxes[:, 6] = rng.integers(0, 2, n)
    boxes[:, 7] = rng.integers(0, 8, n)
    boxes[:, 8] = 1.0
    return boxes


def make_targets(cfg: ModelConfig, batch: int, seed: int = 0) -> tuple[dict[str, torch.Tensor], list[np.ndarray]]:
    """Targets for every head of `cfg` (enabled or not) and the boxes they encode."""
    rng = np.random.default_rng(seed)
    t: dict[str, list[np.ndarray]] = {}
    all_boxes = []
    ph, pw = cfg.perspective_size
    for _ in range(batch):
        speed = rng.uniform(2, 12)
        curve = rng.uniform(-0.05, 0.05)
        s = np.arange(1, cfg.planning.num_waypoints + 1) * speed * 0.25
        wp = np.stack([s, curve * s**2], -1)
        r = np.arange(1, cfg.planning.num_route_points + 1, dtype=np.float64)
        route = np.stack([r, curve * r**2], -1)
        horizon = int(ph * rng.uniform(0.3, 0.6))
        sem = np.zeros((ph, pw), np.int64)
        sem[horizon:] = SEMANTIC_CLASSES.index("ROAD")
        depth = np.broadcast_to(np.linspace(100, 2, ph)[:, None], (ph, pw)).astype(np.float32)
        bev = np.zeros((cfg.lidar_height_pixel, cfg.lidar_width_pixel), np.int64)
        mid = cfg.lidar_height_pixel // 2
        bev[mid - 8:mid + 8] = BEV_SEMANTIC_CLASSES.index("ROAD")
        boxes = scene_boxes(rng)
        radar = np.zeros((cfg.radar.queries, 4), np.float32)
        radar[: len(boxes), :3] = boxes[:, [0, 1, 5]]
        radar[: len(boxes), 3] = 1.0
        sample = {"future_waypoints": wp, "route": route, "target_speed": np.float32(speed),
                  "brake": np.bool_(rng.random() < 0.3), "semantic": sem, "depth": depth, "bev_semantic": bev,
                  "radar_detections": radar, **center_net_targets(boxes, cfg)}
        for k, v in sample.items():
            t.setdefault(k, []).append(np.asarray(v))
        all_boxes.append(boxes)
    targets = {k: torch.from_numpy(np.stack(v)) for k, v in t.items()}
    for k in ("future_waypoints", "route"):
        targets[k] = targets[k].float()
    return targets, all_boxes
