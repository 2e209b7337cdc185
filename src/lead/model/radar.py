"""Radar tokenizer + detector (LEAD's RadarDetector, lead/tfv6/radar_detector.py).

Each radar point (x, y, z, velocity, sensor id; ego frame) becomes a token from the BEV feature
sampled at its position, its velocity / max_speed and a one-hot sensor id, plus a sine embedding
of its position. Learned queries cross-attend to BEV tokens, an ego-speed token (unless
ego.speed_input is false) and the point tokens; each query decodes one detection (x, y, speed,
validity logit). The query features are the radar tokens the planner reads.
"""
from __future__ import annotations

import torch
from torch import nn

from lead.model.config import ModelConfig
from lead.model.embeddings import bev_sample, point_sine_embedding, unit_bev


class RadarDetector(nn.Module):
    def __init__(self, bev_channels: int, cfg: ModelConfig) -> None:
        super().__init__()
        r = cfg.radar
        self.cfg = cfg
        d = r.token_dim
        self.bev_proj = nn.Conv2d(bev_channels, d, 1)
        self.speed_input = cfg.ego.speed_input
        if self.speed_input:
            self.ego_vel_proj = nn.Linear(1, d)
        self.radar_point_tokenizer = nn.Sequential(
            nn.Linear(d + 1 + r.sensors, r.tokenizer_hidden), nn.ReLU(inplace=True),
            nn.Linear(r.tokenizer_hidden, d))
        n_bev = (cfg.lidar_height_pixel // 32) * (cfg.lidar_width_pixel // 32)
        self.bev_pos_embed = nn.Parameter(torch.zeros(1, n_bev, d))
        if self.speed_input:
            self.ego_vel_pos_embed = nn.Parameter(torch.zeros(1, 1, d))
        self.q = nn.Parameter(torch.zeros(1, r.queries, d))
        nn.init.xavier_uniform_(self.q)
        self.tf = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, r.heads, r.ff_dim, r.dropout, activation=nn.GELU(), batch_first=True),
            num_layers=r.layers, norm=nn.LayerNorm(d))
        self.state_decoder = nn.Sequential(nn.Linear(d, r.decoder_hidden), nn.ReLU(inplace=True),
                                           nn.Linear(r.decoder_hidden, 3))
        self.label_decoder = nn.Linear(d, 1)
        self.register_buffer("sensor_ids", torch.arange(r.sensors, dtype=torch.float32), persistent=False)

    def forward(self, bev: torch.Tensor, radar: torch.Tensor,
                speed: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """bev (B, C, h, w) 1/32 features, radar (B, N, 5), speed (B,) m/s (None without
        ego.speed_input: no ego-speed token) ->
        features (B, Q, D), detections (B, Q, 4) = x m, y m, speed m/s, validity logit."""
        cfg, b = self.cfg, self.cfg.bev
        max_speed = cfg.ego.max_speed
        bev = self.bev_proj(bev)
        ego = [self.ego_vel_proj(speed.reshape(-1, 1) / max_speed)[:, None] + self.ego_vel_pos_embed] \
            if self.speed_input else []
        pos = radar[..., 0:2]
        sensor = (radar[..., 4:5] == self.sensor_ids).to(radar.dtype)  # one-hot without data-dependent ops
        feats = torch.cat((bev_sample(bev, pos, b), radar[..., 3:4] / max_speed, sensor), dim=-1)
        tokens = self.radar_point_tokenizer(feats) + point_sine_embedding(unit_bev(pos, b), bev.shape[1])
        kv = torch.cat([bev.flatten(2).transpose(1, 2) + self.bev_pos_embed, *ego, tokens], dim=1)
        features = self.tf(self.q.expand(radar.shape[0], -1, -1), kv)
        raw = torch.tanh(self.state_decoder(features))
        x = raw[..., 0] * (b.max_x - b.min_x) / 2 + (b.max_x + b.min_x) / 2
        y = raw[..., 1] * (b.max_y - b.min_y) / 2 + (b.max_y + b.min_y) / 2
        v = (raw[..., 2] + 1) / 2 * max_speed
        return features, torch.stack((x, y, v, self.label_decoder(features)[..., 0]), dim=-1)
