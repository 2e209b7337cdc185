"""TransFuser backbone: image and LiDAR (BEV) encoders fused by a GPT after each of 4 stages.

As in LEAD (lead/tfv6/transfuser_backbone.py): each stage's feature maps are average-pooled to
fixed anchor grids (image H/32 x W/32, BEV rows/32 x cols/32), the BEV tokens are projected to the
image channel count, a GPT (pre-norm blocks, learned position embedding over both token sets)
mixes them, and the result is projected back, upsampled and added to each branch. A top-down
path lifts the final BEV features to the 1/`down_sample_factor` grid used by the dense BEV heads.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lead.model.backbones import build_backbone
from lead.model.config import FusionConfig, ModelConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, attn_pdrop: float, resid_pdrop: float) -> None:
        super().__init__()
        self.key = nn.Linear(dim, dim)
        self.query = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_pdrop = attn_pdrop
        self.resid_drop = nn.Dropout(resid_pdrop)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = (p(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for p in (self.query, self.key, self.value))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_pdrop if self.training else 0.0)
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))


class Block(nn.Module):
    def __init__(self, dim: int, cfg: FusionConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.ln2 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, cfg.heads, cfg.attn_dropout, cfg.resid_dropout)
        self.mlp = nn.Sequential(nn.Linear(dim, cfg.expansion * dim), nn.ReLU(inplace=True),
                                 nn.Linear(cfg.expansion * dim, dim), nn.Dropout(cfg.resid_dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Joint self-attention over image and BEV anchor tokens of one stage."""

    def __init__(self, dim: int, num_tokens: int, cfg: FusionConfig) -> None:
        super().__init__()
        if dim % cfg.heads:
            raise ValueError(f"fusion.heads ({cfg.heads}) must divide the stage channels ({dim})")
        self.pos_emb = nn.Parameter(torch.zeros(1, num_tokens, dim))
        self.drop = nn.Dropout(cfg.embd_dropout)
        self.blocks = nn.Sequential(*[Block(dim, cfg) for _ in range(cfg.layers)])
        self.ln_f = nn.LayerNorm(dim)
        for m in self.modules():  # GPT-2 init, as LEAD
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, image: torch.Tensor, bev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, ih, iw = image.shape
        _, _, bh, bw = bev.shape
        tokens = torch.cat((image.flatten(2), bev.flatten(2)), dim=2).transpose(1, 2)
        x = self.ln_f(self.blocks(self.drop(self.pos_emb + tokens)))
        x = x.transpose(1, 2)
        n_img = ih * iw
        return x[:, :, :n_img].reshape(b, c, ih, iw), x[:, :, n_img:].reshape(b, c, bh, bw)


class FusionStage(nn.Module):
    def __init__(self, img_ch: int, bev_ch: int, img_anchors: tuple[int, int], bev_anchors: tuple[int, int],
                 reduction: int, cfg: FusionConfig) -> None:
        super().__init__()
        # both grids are multiples of 32, so pooling a 1/reduction map to the 1/32 anchor grid is a
        # fixed average pool (what LEAD's adaptive pool computes; static for ONNX)
        self.pool = 32 // reduction
        self.lidar_channel_to_img = nn.Conv2d(bev_ch, img_ch, 1)
        self.img_channel_to_lidar = nn.Conv2d(img_ch, bev_ch, 1)
        self.gpt = GPT(img_ch, img_anchors[0] * img_anchors[1] + bev_anchors[0] * bev_anchors[1], cfg)

    def forward(self, image: torch.Tensor, bev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img_tok = F.avg_pool2d(image, self.pool)
        bev_tok = self.lidar_channel_to_img(F.avg_pool2d(bev, self.pool))
        img_tok, bev_tok = self.gpt(img_tok, bev_tok)
        bev_tok = self.img_channel_to_lidar(bev_tok)
        image = image + F.interpolate(img_tok, size=image.shape[2:], mode="bilinear", align_corners=False)
        bev = bev + F.interpolate(bev_tok, size=bev.shape[2:], mode="bilinear", align_corners=False)
        return image, bev


class TopDown(nn.Module):
    """Final BEV features (1/32) -> (feature_channels, rows/down, cols/down) grid."""

    def __init__(self, in_ch: int, cfg: ModelConfig) -> None:
        super().__init__()
        ch = cfg.bev.feature_channels
        self.scale = cfg.bev.upsample_factor
        self.size = cfg.bev_grid_size
        self.c5_conv = nn.Conv2d(in_ch, ch, 1)
        self.up_conv5 = nn.Conv2d(ch, ch, 3, padding=1)
        self.up_conv4 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p5 = F.relu(self.c5_conv(x))
        p4 = F.relu(self.up_conv5(F.interpolate(p5, scale_factor=float(self.scale), mode="bilinear",
                                                align_corners=False)))
        return F.relu(self.up_conv4(F.interpolate(p4, size=self.size, mode="bilinear", align_corners=False)))


class TransfuserBackbone(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_encoder = build_backbone(cfg.image_encoder.arch, 3, cfg.image_encoder.width)
        self.lidar_encoder = build_backbone(cfg.lidar_encoder.arch, cfg.lidar_in_channels, cfg.lidar_encoder.width)
        img_anchors = (cfg.image_height // 32, cfg.image_width // 32)
        bev_anchors = (cfg.lidar_height_pixel // 32, cfg.lidar_width_pixel // 32)
        self.fusion = nn.ModuleList(
            FusionStage(ci, cb, img_anchors, bev_anchors, r, cfg.fusion)
            for ci, cb, r in zip(self.image_encoder.channels, self.lidar_encoder.channels,
                                 self.image_encoder.reductions))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0, persistent=False)
        if not cfg.lidar.enabled:  # Latent TransFuser: rows (y) and columns (x) ramps 0..1 instead of LiDAR
            h, w = cfg.lidar_height_pixel, cfg.lidar_width_pixel
            yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
            self.register_buffer("latent_grid", torch.stack((yy, xx))[None], persistent=False)

    @property
    def num_image_features(self) -> int:
        return self.image_encoder.channels[-1]

    @property
    def num_lidar_features(self) -> int:
        return self.lidar_encoder.channels[-1]

    def forward(self, rgb: torch.Tensor, lidar: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """rgb (B, 3, H, W) 0..255 -> (BEV features at 1/32, image features at 1/32)."""
        image = (rgb - self.mean) / self.std
        bev = lidar if lidar is not None else self.latent_grid.expand(rgb.shape[0], -1, -1, -1)
        image = self.image_encoder.stem(image)
        bev = self.lidar_encoder.stem(bev)
        for img_stage, bev_stage, fuse in zip(self.image_encoder.stages, self.lidar_encoder.stages, self.fusion):
            image, bev = fuse(img_stage(image), bev_stage(bev))
        return bev, image
