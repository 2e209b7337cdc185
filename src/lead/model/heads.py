"""Dense auxiliary heads: perspective (semantics, depth), BEV semantics, CenterNet boxes.

Layouts follow LEAD's PerspectiveDecoder, BEVDecoder and CenterNetDecoder (lead/tfv6/); the
CenterNet brake head and the heatmap prior come from TransFuser++ (carla_garage center_net).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lead.model.classes import BEV_SEMANTIC_CLASSES, BOX_CLASSES
from lead.model.config import ModelConfig

HEATMAP_PRIOR = 0.1  # initial heatmap probability, as TransFuser++ / CenterNet


def _conv_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU(inplace=True)]


class PerspectiveDecoder(nn.Module):
    """1/32 image features -> (B, out, H/k, W/k) on the stitched image (k = perspective.downsample_factor)."""

    def __init__(self, in_ch: int, out_ch: int, cfg: ModelConfig) -> None:
        super().__init__()
        c0, c1, c2 = cfg.perspective.channels
        self.first_upsample = cfg.perspective.first_upsample
        self.size = cfg.perspective_size
        self.deconv1 = nn.Sequential(*_conv_relu(in_ch, c0), *_conv_relu(c0, c1))
        self.deconv2 = nn.Sequential(*_conv_relu(c1, c2), *_conv_relu(c2, c2))
        self.deconv3 = nn.Sequential(*_conv_relu(c2, c2), nn.Conv2d(c2, out_ch, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.deconv1(x)
        x = F.interpolate(x, scale_factor=float(self.first_upsample), mode="bilinear", align_corners=False)
        x = self.deconv2(x)
        x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return self.deconv3(x)


class BEVSemanticDecoder(nn.Module):
    """BEV feature grid (1/down) -> class logits upsampled to the full BEV grid, as LEAD."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        ch = cfg.bev.feature_channels
        self.size = (cfg.lidar_height_pixel, cfg.lidar_width_pixel)
        self.net = nn.Sequential(*_conv_relu(ch, ch), nn.Conv2d(ch, len(BEV_SEMANTIC_CLASSES), 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.net(x), size=self.size, mode="bilinear", align_corners=False)


class CenterNetHead(nn.Module):
    """Per-cell box maps on the BEV feature grid (one head = 3x3 conv, ReLU, 1x1 conv)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        ch = cfg.bev.feature_channels
        outs = {"heatmap": len(BOX_CLASSES), "wh": 2, "offset": 2, "yaw_class": cfg.boxes.dir_bins, "yaw_res": 1}
        if cfg.predicts_velocity:
            outs["velocity"] = 1
        if cfg.boxes.brake:
            outs["brake"] = 2
        self.names = list(outs)
        self.heads = nn.ModuleDict({k: nn.Sequential(*_conv_relu(ch, ch), nn.Conv2d(ch, n, 1))
                                    for k, n in outs.items()})
        nn.init.constant_(self.heads["heatmap"][-1].bias, -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"center_{k}": self.heads[k](x) for k in self.names}
