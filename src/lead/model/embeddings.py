"""Sine position embeddings and BEV sampling shared by the radar tokenizer and the planner.

BEV coordinates are CARLA ego frame metres (x forward, y right). A BEV grid tensor
(B, C, rows, cols) has rows along y (row 0 at min_y) and columns along x (column 0 at
min_x), as LEAD's LiDAR histogram (`rasterize_lidar` transposes the x/y histogram).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lead.model.config import BEVConfig


def point_sine_embedding(pos01: torch.Tensor, dim: int) -> torch.Tensor:
    """(..., 2) points in [0, 1] (x, y) -> (..., dim) DAB-DETR sine embedding, y half first."""
    half = dim // 2
    i = torch.arange(half, dtype=torch.float32, device=pos01.device)
    dim_t = 10000.0 ** (2 * torch.div(i, 2, rounding_mode="floor") / half)
    emb = []
    for axis in (1, 0):  # LEAD concatenates (y, x)
        p = pos01[..., axis:axis + 1].float() * (2 * math.pi) / dim_t
        emb.append(torch.stack((p[..., 0::2].sin(), p[..., 1::2].cos()), dim=-1).flatten(-2))
    return torch.cat(emb, dim=-1)


def grid_sine_embedding(rows: int, cols: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """(1, dim, rows, cols) normalised DETR sine embedding of a feature grid (y half first)."""
    npf = dim // 2
    y = torch.arange(1, rows + 1, dtype=torch.float32)[:, None].expand(rows, cols)
    x = torch.arange(1, cols + 1, dtype=torch.float32)[None, :].expand(rows, cols)
    eps = 1e-6
    y = y / (rows + eps) * 2 * math.pi
    x = x / (cols + eps) * 2 * math.pi
    i = torch.arange(npf, dtype=torch.float32)
    dim_t = temperature ** (2 * torch.div(i, 2, rounding_mode="floor") / npf)
    px, py = x[..., None] / dim_t, y[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=-1).flatten(-2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=-1).flatten(-2)
    return torch.cat((py, px), dim=-1).permute(2, 0, 1)[None].contiguous()


def unit_bev(points: torch.Tensor, bev: BEVConfig) -> torch.Tensor:
    """(..., 2) ego metres (x, y) -> [0, 1] over the BEV area (clamped: padded points sit at 0, 0)."""
    x = (points[..., 0] - bev.min_x) / (bev.max_x - bev.min_x)
    y = (points[..., 1] - bev.min_y) / (bev.max_y - bev.min_y)
    return torch.stack((x, y), dim=-1).clamp(0.0, 1.0)


def bev_sample(grid: torch.Tensor, points: torch.Tensor, bev: BEVConfig) -> torch.Tensor:
    """Bilinear features (B, N, C) of a BEV grid (B, C, rows=y, cols=x) at ego points (B, N, 2)."""
    # grid_sample: [..., 0] indexes columns (x), [..., 1] rows (y); -1/+1 are the outer cell edges,
    # i.e. min/max of the BEV area, whatever the grid's resolution
    u = unit_bev(points, bev) * 2 - 1
    sampled = F.grid_sample(grid, u[:, :, None, :], mode="bilinear", align_corners=False)
    return sampled[..., 0].transpose(1, 2)
