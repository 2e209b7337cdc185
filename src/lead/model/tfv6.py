"""TransFuser v6 (LEAD) in plain torch.nn: `build_model(config) -> TFv6`, `TFv6(batch) -> outputs`.

Frames: CARLA ego frame, x forward, y right, z up, metres, m/s, yaw in radians (positive turns
+x towards +y). A BEV grid (B, C, rows, cols) has rows along y (row 0 at bev.min_y) and columns
along x (column 0 at bev.min_x), LEAD's LiDAR-histogram layout; the feature grid of the box and
BEV-semantic heads is the same area at 1/bev.down_sample_factor (cell = down/ppm metres).
Images are the cameras stitched left to right (rgb_1 yaw -54.5, rgb_2 front, rgb_3 +54.5).

Symbols: B batch; H, W stitched image (camera.height, camera.count x camera.width); k
perspective.downsample_factor; Hb, Wb the BEV grid (rows = (max_y-min_y)*ppm, cols =
(max_x-min_x)*ppm); h, w = Hb/down, Wb/down; N = radar.sensors x radar.points_per_sensor;
Q = radar.queries; S = len(planning.target_speeds).

Inputs (all float32; normalisation happens inside the model, as in LEAD)
| name                   | shape           | content                                                         |
|------------------------|-----------------|-----------------------------------------------------------------|
| rgb                    | (B, 3, H, W)    | RGB 0..255 (ImageNet-normalised inside)                         |
| rasterized_lidar       | (B, 1, Hb, Wb)  | LiDAR hits per cell / hist_max_per_pixel, capped at 1, points of |
|                        |                 | the last lidar.steps ticks (ego-compensated) with min_z<=z<=max_z |
|                        |                 | merged into ONE channel; only when lidar.enabled                |
| radar                  | (B, N, 5)       | x, y, z, velocity (m/s), sensor id 0..3; zero-padded per sensor; |
|                        |                 | only when radar.enabled                                         |
| speed                  | (B,)            | ego speed m/s (divided by ego.max_speed inside)                 |
| command                | (B, 6)          | one-hot CARLA road option 1..6 (LEFT, RIGHT, STRAIGHT,           |
|                        |                 | LANEFOLLOW, CHANGELANELEFT, CHANGELANERIGHT)                    |
| target_point           | (B, 2)          | current route target point, ego metres (divided by (200, 50))   |
| target_point_previous  | (B, 2)          | previous (reached) target point, ego metres                     |
| target_point_next      | (B, 2)          | next target point, ego metres                                   |
(speed, command and target points are needed only with the planning decoder; speed also by radar;
 no speed at all with ego.speed_input false)

Outputs (present when their head is enabled)
| name                | shape            | content                                                          |
|---------------------|------------------|------------------------------------------------------------------|
| future_waypoints    | (B, 8, 2)        | ego metres (x, y) at t = 0.25, 0.5, ... 2.0 s (4 Hz)              |
| route               | (B, 10, 2)       | route checkpoints, ego metres, ~1 m apart                         |
| target_speed_logits | (B, S)           | logits over planning.target_speeds (m/s)                         |
| target_speed        | (B,)             | expected target speed m/s (softmax . classes, as LEAD)           |
| radar_detections    | (B, Q, 4)        | x, y (ego m), speed (m/s), validity logit                         |
| semantic            | (B, 10, H/k, W/k)| perspective semantic logits, classes.SEMANTIC_CLASSES             |
| depth               | (B, H/k, W/k)    | perspective depth, metres                                         |
| bev_semantic        | (B, 13, Hb, Wb)  | BEV semantic logits (predicted at 1/down, upsampled as LEAD)     |
| center_heatmap      | (B, 8, h, w)     | box-centre logits per class, classes.BOX_CLASSES                  |
| center_wh           | (B, 2, h, w)     | half length (box x), half width (box y), in cells                 |
| center_offset       | (B, 2, h, w)     | centre minus cell corner: columns (x), rows (y), in cells          |
| center_yaw_class    | (B, dir_bins, h, w) | yaw bin logits; bin c is centred on c * 2 pi / dir_bins       |
| center_yaw_res      | (B, 1, h, w)     | yaw minus bin centre, radians                                    |
| center_velocity     | (B, 1, h, w)     | box speed m/s (only with LiDAR and lidar.steps > 1, as LEAD)      |
| center_brake        | (B, 2, h, w)     | brake-light logits (not braking, braking); boxes.brake            |
"""
from __future__ import annotations

import torch
from torch import nn

from lead.model.classes import BEV_SEMANTIC_CLASSES, BOX_CLASSES, SEMANTIC_CLASSES
from lead.model.config import ModelConfig, driving_config
from lead.model.fusion import TopDown, TransfuserBackbone
from lead.model.heads import BEVSemanticDecoder, CenterNetHead, PerspectiveDecoder
from lead.model.planning import PlanningDecoder
from lead.model.radar import RadarDetector


def input_shapes(cfg: ModelConfig, batch: int = 1) -> dict[str, tuple[int, ...]]:
    """The inputs forward reads under `cfg`, name -> shape (the table above)."""
    b = batch
    shapes: dict[str, tuple[int, ...]] = {"rgb": (b, 3, cfg.image_height, cfg.image_width)}
    if cfg.lidar.enabled:
        shapes["rasterized_lidar"] = (b, 1, cfg.lidar_height_pixel, cfg.lidar_width_pixel)
    if cfg.radar.enabled:
        shapes["radar"] = (b, cfg.num_radar_points, 5)
    if cfg.ego.speed_input and (cfg.radar.enabled or cfg.planning.enabled):
        shapes["speed"] = (b,)
    if cfg.planning.enabled:
        shapes["command"] = (b, cfg.ego.num_commands)
        for k in ("target_point", "target_point_previous", "target_point_next"):
            shapes[k] = (b, 2)
    return shapes


def output_shapes(cfg: ModelConfig, batch: int = 1) -> dict[str, tuple[int, ...]]:
    """The outputs forward returns under `cfg`, name -> shape (the table above)."""
    b = batch
    h, w = cfg.bev_grid_size
    shapes: dict[str, tuple[int, ...]] = {}
    if cfg.planning.enabled:
        p = cfg.planning
        shapes.update(future_waypoints=(b, p.num_waypoints, 2), route=(b, p.num_route_points, 2),
                      target_speed_logits=(b, len(p.target_speeds)), target_speed=(b,))
    if cfg.radar.enabled:
        shapes["radar_detections"] = (b, cfg.radar.queries, 4)
    ph, pw = cfg.perspective_size
    if cfg.perspective.semantic:
        shapes["semantic"] = (b, len(SEMANTIC_CLASSES), ph, pw)
    if cfg.perspective.depth:
        shapes["depth"] = (b, ph, pw)
    if cfg.bev_semantic.enabled:
        shapes["bev_semantic"] = (b, len(BEV_SEMANTIC_CLASSES), cfg.lidar_height_pixel, cfg.lidar_width_pixel)
    if cfg.boxes.enabled:
        shapes.update(center_heatmap=(b, len(BOX_CLASSES), h, w), center_wh=(b, 2, h, w),
                      center_offset=(b, 2, h, w), center_yaw_class=(b, cfg.boxes.dir_bins, h, w),
                      center_yaw_res=(b, 1, h, w))
        if cfg.predicts_velocity:
            shapes["center_velocity"] = (b, 1, h, w)
        if cfg.boxes.brake:
            shapes["center_brake"] = (b, 2, h, w)
    return shapes


def example_inputs(cfg: ModelConfig, batch: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """Plausible random inputs with the shapes, ranges and frames of the table above."""
    g = torch.Generator().manual_seed(seed)
    b, bev = batch, cfg.bev
    x: dict[str, torch.Tensor] = {"rgb": torch.rand(input_shapes(cfg, b)["rgb"], generator=g) * 255.0}
    if cfg.lidar.enabled:
        hits = torch.randint(0, cfg.lidar.hist_max_per_pixel + 1, input_shapes(cfg, b)["rasterized_lidar"], generator=g)
        sparse = torch.rand(hits.shape, generator=g) < 0.1
        x["rasterized_lidar"] = hits.float() * sparse / cfg.lidar.hist_max_per_pixel
    if cfg.radar.enabled:
        n, per = cfg.num_radar_points, cfg.radar.points_per_sensor
        r = torch.rand(b, n, 5, generator=g)
        r[..., 0] = bev.min_x + r[..., 0] * (bev.max_x - bev.min_x)
        r[..., 1] = bev.min_y + r[..., 1] * (bev.max_y - bev.min_y)
        r[..., 2] = r[..., 2] * 2.0
        r[..., 3] = (r[..., 3] - 0.5) * 20.0
        r[..., 4] = (torch.arange(n) // per).float()
        x["radar"] = r
    if "speed" in input_shapes(cfg, b):
        x["speed"] = torch.rand(b, generator=g) * 15.0
    if cfg.planning.enabled:
        x["command"] = torch.nn.functional.one_hot(torch.randint(0, cfg.ego.num_commands, (b,), generator=g),
                                                   cfg.ego.num_commands).float()
        for k in ("target_point", "target_point_previous", "target_point_next"):
            x[k] = (torch.rand(b, 2, generator=g) - torch.tensor([0.0, 0.5])) * torch.tensor([60.0, 20.0])
    return x


class TFv6(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = TransfuserBackbone(cfg)
        img_ch, bev_ch = self.backbone.num_image_features, self.backbone.num_lidar_features
        self.radar = RadarDetector(bev_ch, cfg) if cfg.radar.enabled else None
        self.planning = PlanningDecoder(bev_ch, cfg) if cfg.planning.enabled else None
        p = cfg.perspective
        self.semantic_decoder = PerspectiveDecoder(img_ch, len(SEMANTIC_CLASSES), cfg) if p.semantic else None
        self.depth_decoder = PerspectiveDecoder(img_ch, 1, cfg) if p.depth else None
        dense_bev = cfg.bev_semantic.enabled or cfg.boxes.enabled
        self.top_down = TopDown(bev_ch, cfg) if dense_bev else None
        self.bev_semantic_decoder = BEVSemanticDecoder(cfg) if cfg.bev_semantic.enabled else None
        self.center_net = CenterNetHead(cfg) if cfg.boxes.enabled else None

    def drop_perception(self) -> "TFv6":
        """Remove the perception heads in place (config: driving_config), so forward computes
        only what driving reads, with the same values; returns self."""
        self.cfg = driving_config(self.cfg)
        self.semantic_decoder = self.depth_decoder = self.top_down = None
        self.bev_semantic_decoder = self.center_net = None
        return self

    @property
    def input_names(self) -> list[str]:
        return list(input_shapes(self.cfg))

    @property
    def output_names(self) -> list[str]:
        return list(output_shapes(self.cfg))

    def check_inputs(self, batch: dict[str, torch.Tensor]) -> None:
        """Raise ValueError naming every missing input or wrong shape (batch size taken from rgb)."""
        if "rgb" not in batch:
            raise ValueError("TFv6 input 'rgb' is missing")
        expected = input_shapes(self.cfg, batch["rgb"].shape[0])
        problems = [f"'{k}' missing (expected {v})" for k, v in expected.items() if k not in batch]
        problems += [f"'{k}' has shape {tuple(batch[k].shape)}, expected {v}"
                     for k, v in expected.items() if k in batch and tuple(batch[k].shape) != v]
        if problems:
            raise ValueError(f"TFv6 inputs for config '{self.cfg.name}': " + "; ".join(problems))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
            self.check_inputs(batch)
        lidar = batch["rasterized_lidar"] if self.cfg.lidar.enabled else None
        bev, image = self.backbone(batch["rgb"], lidar)
        out: dict[str, torch.Tensor] = {}
        radar_features = radar_detections = None
        if self.radar is not None:
            radar_features, radar_detections = self.radar(bev, batch["radar"], batch.get("speed"))
        if self.planning is not None:
            out.update(self.planning(bev, batch, radar_features, radar_detections))
        if radar_detections is not None:
            out["radar_detections"] = radar_detections
        if self.semantic_decoder is not None:
            out["semantic"] = self.semantic_decoder(image)
        if self.depth_decoder is not None:
            out["depth"] = self.depth_decoder(image)[:, 0]
        if self.top_down is not None:
            grid = self.top_down(bev)
            if self.bev_semantic_decoder is not None:
                out["bev_semantic"] = self.bev_semantic_decoder(grid)
            if self.center_net is not None:
                out.update(self.center_net(grid))
        return out


def build_model(config: ModelConfig) -> TFv6:
    """A freshly initialised TFv6 for `config` (see lead.model.config.load_config)."""
    return TFv6(config)
