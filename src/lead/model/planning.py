"""Planning decoder (LEAD's PlanningDecoder + PlanningContextEncoder, lead/tfv6/planning_decoder.py).

Context = the final BEV feature map projected to token_dim with a 2D sine embedding, plus status
tokens (speed / max_speed unless ego.speed_input is false, command one-hot, target point,
previous and next target point each divided by (200, 50), and the radar query features with a
sine embedding of their detected positions) with a learned embedding. Learned queries (10
route, 8 waypoint, 1 target speed) run through a 6-layer transformer decoder; route and
waypoints are cumulative sums of per-query offsets (ego metres), the target-speed query gives
logits over the speed classes.
"""
from __future__ import annotations

import torch
from torch import nn

from lead.model.config import ModelConfig
from lead.model.embeddings import grid_sine_embedding, point_sine_embedding, unit_bev


class PlanningDecoder(nn.Module):
    def __init__(self, bev_channels: int, cfg: ModelConfig) -> None:
        super().__init__()
        p = cfg.planning
        d = p.token_dim
        self.cfg = cfg
        self.use_radar = cfg.radar.enabled
        self.speed_input = cfg.ego.speed_input
        if self.speed_input:
            self.velocity_encoder = nn.Linear(1, d)
        self.command_encoder = nn.Linear(cfg.ego.num_commands, d)
        self.tp_encoder = nn.Linear(2, d)  # shared by the current, previous and next target point
        num_status = 5 if self.speed_input else 4
        if self.use_radar:
            self.radar_encoder = nn.Linear(cfg.radar.token_dim, d)
            num_status += cfg.radar.queries
        self.status_pos_embedding = nn.Parameter(torch.zeros(1, num_status, d))
        self.dimension_adapter = nn.Conv2d(bev_channels, d, 1)
        self.register_buffer("bev_pos", grid_sine_embedding(cfg.lidar_height_pixel // 32,
                                                            cfg.lidar_width_pixel // 32, d), persistent=False)
        self.query = nn.Parameter(torch.zeros(1, p.num_route_points + p.num_waypoints + 1, d))
        self.transformer_decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, p.heads, p.ff_dim, p.dropout, activation=nn.GELU(), batch_first=True),
            num_layers=p.layers, norm=nn.LayerNorm(d))
        self.route_decoder = nn.Linear(d, 2)
        self.wp_decoder = nn.Linear(d, 2)
        self.target_speed_decoder = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True),
                                                  nn.Linear(d, len(p.target_speeds)))
        self.register_buffer("tp_norm", torch.tensor(cfg.ego.target_point_norm), persistent=False)
        self.register_buffer("speeds", torch.tensor(p.target_speeds), persistent=False)
        nn.init.uniform_(self.query)
        nn.init.uniform_(self.status_pos_embedding)

    def forward(self, bev: torch.Tensor, batch: dict[str, torch.Tensor],
                radar_features: torch.Tensor | None, radar_detections: torch.Tensor | None) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        status = [self.velocity_encoder(batch["speed"].reshape(-1, 1) / cfg.ego.max_speed)[:, None]] \
            if self.speed_input else []
        status += [
            self.command_encoder(batch["command"])[:, None],
            self.tp_encoder(batch["target_point"] / self.tp_norm)[:, None],
            self.tp_encoder(batch["target_point_previous"] / self.tp_norm)[:, None],
            self.tp_encoder(batch["target_point_next"] / self.tp_norm)[:, None],
        ]
        if self.use_radar:
            pos = point_sine_embedding(unit_bev(radar_detections[..., 0:2], cfg.bev), self.query.shape[-1])
            status.append(self.radar_encoder(radar_features) + pos)
        status_tokens = torch.cat(status, dim=1) + self.status_pos_embedding
        context = (self.dimension_adapter(bev) + self.bev_pos).flatten(2).transpose(1, 2)
        context = torch.cat((context, status_tokens), dim=1)

        q = self.transformer_decoder(self.query.expand(bev.shape[0], -1, -1), context)
        nr, nw = cfg.planning.num_route_points, cfg.planning.num_waypoints
        logits = self.target_speed_decoder(q[:, nr + nw])
        return {
            "route": torch.cumsum(self.route_decoder(q[:, :nr]), dim=1),
            "future_waypoints": torch.cumsum(self.wp_decoder(q[:, nr:nr + nw]), dim=1),
            "target_speed_logits": logits,
            "target_speed": (torch.softmax(logits.float(), dim=-1) * self.speeds).sum(-1),
        }
