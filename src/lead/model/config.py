"""TFv6 model config: nested dataclasses loaded from config/model/*.yaml and validated.

Every key has LEAD's default (kesai-labs/lead, lead/training/config_training.py, CARLA
Leaderboard 2.0 "3 cameras" mode), so a YAML file only states what it changes. Unknown keys,
wrong types and impossible values raise ModelConfigError naming the file and the key path.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "model"
BACKBONES = ("resnet18", "resnet34", "regnety_032")
# the exported ONNX graph's dynamic batch dimension (lead.model.export names it; the ONNX Runtime
# backend fixes it by this name)
BATCH_AXIS = "batch"


class ModelConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CameraConfig:
    count: int = 3  # cameras stitched left to right: rgb_1 (yaw -54.5), rgb_2, rgb_3
    width: int = 384  # px per camera
    height: int = 384  # px (after LEAD's crop, none in Leaderboard mode)


@dataclass(frozen=True)
class EncoderConfig:
    arch: str = "resnet34"
    width: float = 1.0  # channel multiplier: 1.0 is torchvision's / timm's network


@dataclass(frozen=True)
class LidarConfig:
    """How `rasterized_lidar` is made (read by the preprocessing; the model itself only needs
    `enabled`, and `steps` > 1 to build the box-velocity head, as LEAD)."""

    enabled: bool = True  # false: vision only (LEAD's Latent TransFuser, no LiDAR input)
    steps: int = 10  # ticks whose points are accumulated into the one histogram channel
    hist_max_per_pixel: int = 5
    min_z: float = -4.0
    max_z: float = 10.0  # LEAD keeps points with -4 <= z <= 10 (max_height_lidar) in the histogram


@dataclass(frozen=True)
class BEVConfig:
    """The BEV grid, CARLA ego frame: x forward, y right (metres)."""

    min_x: float = -32.0
    max_x: float = 64.0
    min_y: float = -40.0
    max_y: float = 40.0
    pixels_per_meter: float = 4.0
    feature_channels: int = 64  # channels of the top-down BEV feature grid
    down_sample_factor: int = 4  # the feature grid (boxes, BEV semantics) is 1/4 of the input grid
    upsample_factor: int = 2  # first top-down upsampling step


@dataclass(frozen=True)
class FusionConfig:
    layers: int = 2
    heads: int = 4
    expansion: int = 4
    embd_dropout: float = 0.1
    attn_dropout: float = 0.1
    resid_dropout: float = 0.1


@dataclass(frozen=True)
class EgoConfig:
    max_speed: float = 25.0  # m/s, speed input is divided by it
    # LEAD feeds the ego speed to the planner and the radar detector (`use_velocity`). False
    # drops the input altogether (an ablation: a model trained on little data then cannot take
    # the "standing -> stay" shortcut from it; config/model/tfv6_small_nospeed.yaml). Measured
    # results on the embedded evaluation set: models/tfv6_small/README.md.
    speed_input: bool = True
    num_commands: int = 6  # CARLA road options 1..6 one-hot
    target_point_norm: tuple[float, float] = (200.0, 50.0)  # x, y divisors of the target points


@dataclass(frozen=True)
class PlanningConfig:
    enabled: bool = True  # false in LEAD's perception pre-training stage
    token_dim: int = 256  # LEAD PR #71: the paper's 256, not the old code default 64
    layers: int = 6
    heads: int = 8
    # LEAD keeps torch.nn.TransformerDecoderLayer's default 2048. With token 256 that makes the
    # ResNet-34 model 68.9 M parameters, not the 60 M LEAD's README states (60 M is what the old
    # code default token 64 gives: 61.0 M); tfv6_full.yaml uses 4 x 256 = 1024 -> 65.8 M.
    ff_dim: int = 2048
    dropout: float = 0.1
    num_waypoints: int = 8  # 2 s at 4 Hz
    num_route_points: int = 10
    target_speeds: tuple[float, ...] = (0.0, 4.0, 8.0, 10.0, 13.88888888, 16.0, 17.77777777, 20.0)


@dataclass(frozen=True)
class RadarConfig:
    enabled: bool = True
    sensors: int = 4
    points_per_sensor: int = 75
    queries: int = 20
    token_dim: int = 256
    layers: int = 4
    heads: int = 8
    ff_dim: int = 1024
    tokenizer_hidden: int = 1024
    decoder_hidden: int = 1024
    dropout: float = 0.1


@dataclass(frozen=True)
class BoxConfig:
    enabled: bool = True
    dir_bins: int = 12
    brake: bool = True  # TransFuser++'s brake head; LEAD keeps the label but predicts none
    max_boxes: int = 90
    top_k: int = 100
    confidence: float = 0.3
    nms_iou: float = 0.2
    pool_kernel: int = 3


@dataclass(frozen=True)
class PerspectiveConfig:
    semantic: bool = True
    depth: bool = True
    downsample_factor: int = 1  # outputs at 1/k of the stitched image
    channels: tuple[int, int, int] = (128, 64, 32)
    first_upsample: int = 8  # the rest of the way is one interpolation to the output size


@dataclass(frozen=True)
class BEVSemanticConfig:
    enabled: bool = True


@dataclass(frozen=True)
class LossWeights:
    """LEAD's detailed_loss_weights (CARLA) plus the radar matching costs."""

    waypoints: float = 1.0
    route: float = 1.0
    target_speed: float = 1.0
    semantic: float = 1.0
    depth: float = 0.00001
    bev_semantic: float = 1.0
    center_net_heatmap: float = 1.0
    center_net_wh: float = 1.0
    center_net_offset: float = 1.0
    center_net_yaw_class: float = 1.0
    center_net_yaw_res: float = 1.0
    center_net_velocity: float = 1.0
    center_net_brake: float = 1.0
    radar: float = 1.0
    radar_regression: float = 5.0  # inside the radar loss and its Hungarian cost
    radar_classification: float = 1.0


@dataclass(frozen=True)
class ModelConfig:
    name: str = "tfv6"
    camera: CameraConfig = field(default_factory=CameraConfig)
    image_encoder: EncoderConfig = field(default_factory=EncoderConfig)
    lidar_encoder: EncoderConfig = field(default_factory=EncoderConfig)
    lidar: LidarConfig = field(default_factory=LidarConfig)
    bev: BEVConfig = field(default_factory=BEVConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    ego: EgoConfig = field(default_factory=EgoConfig)
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    radar: RadarConfig = field(default_factory=RadarConfig)
    boxes: BoxConfig = field(default_factory=BoxConfig)
    perspective: PerspectiveConfig = field(default_factory=PerspectiveConfig)
    bev_semantic: BEVSemanticConfig = field(default_factory=BEVSemanticConfig)
    loss_weights: LossWeights = field(default_factory=LossWeights)

    # ---- derived sizes (LEAD's property names where it has them) ----
    @property
    def image_height(self) -> int:
        return self.camera.height

    @property
    def image_width(self) -> int:
        return self.camera.count * self.camera.width

    @property
    def lidar_width_pixel(self) -> int:
        """BEV columns: x (forward) from min_x to max_x."""
        return round((self.bev.max_x - self.bev.min_x) * self.bev.pixels_per_meter)

    @property
    def lidar_height_pixel(self) -> int:
        """BEV rows: y (right) from min_y to max_y."""
        return round((self.bev.max_y - self.bev.min_y) * self.bev.pixels_per_meter)

    @property
    def bev_grid_size(self) -> tuple[int, int]:
        """(rows, cols) of the BEV feature grid used by the box and BEV-semantic heads."""
        d = self.bev.down_sample_factor
        return self.lidar_height_pixel // d, self.lidar_width_pixel // d

    @property
    def bev_cell_m(self) -> float:
        """Metres per cell of the BEV feature grid."""
        return self.bev.down_sample_factor / self.bev.pixels_per_meter

    @property
    def perspective_size(self) -> tuple[int, int]:
        k = self.perspective.downsample_factor
        return self.image_height // k, self.image_width // k

    @property
    def num_radar_points(self) -> int:
        return self.radar.sensors * self.radar.points_per_sensor

    @property
    def lidar_in_channels(self) -> int:
        # LEAD: one histogram channel; Latent TransFuser: a 2-channel coordinate grid
        return 1 if self.lidar.enabled else 2

    @property
    def predicts_velocity(self) -> bool:
        # LEAD builds the velocity head only when several LiDAR ticks are stacked
        return self.lidar.enabled and self.lidar.steps > 1

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def driving_config(cfg: ModelConfig) -> ModelConfig:
    """`cfg` without the perception heads (perspective semantics and depth, BEV semantics,
    boxes): the outputs driving reads. Backbone, radar and planning decoder do not depend on
    these heads, so a model's planning outputs are the same with or without them."""
    return dataclasses.replace(
        cfg, perspective=dataclasses.replace(cfg.perspective, semantic=False, depth=False),
        bev_semantic=dataclasses.replace(cfg.bev_semantic, enabled=False),
        boxes=dataclasses.replace(cfg.boxes, enabled=False))


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def load_config(path: str | Path) -> ModelConfig:
    """Read a model YAML (a path, or a name in config/model/ such as 'tfv6_small')."""
    p = _find_config(path)
    if p is None:
        known = ", ".join(sorted(x.stem for x in CONFIG_DIR.glob("*.yaml")))
        raise ModelConfigError(f"{path}: no such model config (known in {CONFIG_DIR}: {known})")
    return config_from_dict(_read_with_base(p, ()), source=str(p))


def _find_config(path: str | Path, beside: Path | None = None) -> Path | None:
    """A config path: `path` relative to the folder `beside` (a base named in a file), as given,
    or a name in config/model/; None when none of these exists."""
    p = Path(path)
    if beside is not None and not p.is_absolute() and (beside / p).exists():
        return beside / p
    if not p.exists() and not p.suffix:
        p = CONFIG_DIR / f"{path}.yaml"
    return p if p.exists() else None


def _read_with_base(p: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The YAML mapping of `p`; a top-level `base: NAME_OR_PATH` key starts from that config
    (resolved like load_config's argument, relative paths beside `p`) and merges `p`'s keys over
    it section by section, so a variant states only what it changes."""
    if p.resolve() in seen:
        chain = " -> ".join(str(x) for x in (*seen, p.resolve()))
        raise ModelConfigError(f"{p}: 'base' goes round in a circle: {chain}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ModelConfigError(f"{p}: not valid YAML: {e}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise ModelConfigError(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    if "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str) or not base:
        raise ModelConfigError(f"{p}: key 'base': expected a config name or path, got {base!r}")
    bp = _find_config(base, beside=p.parent)
    if bp is None:
        raise ModelConfigError(f"{p}: key 'base': no such model config {base!r}")
    return _merge(_read_with_base(bp, (*seen, p.resolve())), data)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> ModelConfig:
    """Build and validate a ModelConfig from a plain mapping (a YAML file, a checkpoint)."""
    cfg = _build(ModelConfig, data, source, "")
    _check(cfg, source)
    return cfg


def _build(cls: type, data: Any, source: str, prefix: str) -> Any:
    where = prefix.rstrip(".") or "<top level>"
    if not isinstance(data, dict):
        raise ModelConfigError(f"{source}: key '{where}': expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise ModelConfigError(f"{source}: unknown key '{prefix}{k}' (known: {', '.join(sorted(names))})")
    kwargs = {}
    for k, v in data.items():
        t = hints[k]
        if dataclasses.is_dataclass(t):
            kwargs[k] = _build(t, v, source, f"{prefix}{k}.")
        else:
            kwargs[k] = _coerce(t, v, source, f"{prefix}{k}")
    return cls(**kwargs)


def _coerce(t: Any, v: Any, source: str, key: str) -> Any:
    def bad(expected: str) -> ModelConfigError:
        return ModelConfigError(f"{source}: key '{key}': expected {expected}, got {v!r}")

    if t is bool:
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if t is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad("an integer")
        return v
    if t is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad("a number")
        return float(v)
    if t is str:
        if not isinstance(v, str):
            raise bad("a string")
        return v
    origin = typing.get_origin(t)
    if origin is tuple:
        args = typing.get_args(t)
        if not isinstance(v, (list, tuple)):
            raise bad("a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], x, source, f"{key}[{i}]") for i, x in enumerate(v))
        if len(v) != len(args):
            raise bad(f"a list of {len(args)}")
        return tuple(_coerce(a, x, source, f"{key}[{i}]") for i, (a, x) in enumerate(zip(args, v)))
    raise ModelConfigError(f"{source}: key '{key}': unsupported field type {t}")


def _check(c: ModelConfig, source: str) -> None:
    def fail(key: str, msg: str) -> ModelConfigError:
        return ModelConfigError(f"{source}: key '{key}': {msg}")

    for key in ("image_encoder", "lidar_encoder"):
        enc: EncoderConfig = getattr(c, key)
        if enc.arch not in BACKBONES:
            raise fail(f"{key}.arch", f"unknown backbone '{enc.arch}' (known: {', '.join(BACKBONES)})")
        if not 0.0 < enc.width <= 4.0:
            raise fail(f"{key}.width", f"must be in (0, 4], got {enc.width}")
    positive = {
        "camera.count": c.camera.count, "camera.width": c.camera.width, "camera.height": c.camera.height,
        "lidar.steps": c.lidar.steps, "lidar.hist_max_per_pixel": c.lidar.hist_max_per_pixel,
        "bev.pixels_per_meter": c.bev.pixels_per_meter, "bev.feature_channels": c.bev.feature_channels,
        "bev.down_sample_factor": c.bev.down_sample_factor, "bev.upsample_factor": c.bev.upsample_factor,
        "fusion.layers": c.fusion.layers, "fusion.heads": c.fusion.heads, "fusion.expansion": c.fusion.expansion,
        "ego.max_speed": c.ego.max_speed, "ego.num_commands": c.ego.num_commands,
        "planning.token_dim": c.planning.token_dim, "planning.layers": c.planning.layers,
        "planning.heads": c.planning.heads, "planning.ff_dim": c.planning.ff_dim,
        "planning.num_waypoints": c.planning.num_waypoints, "planning.num_route_points": c.planning.num_route_points,
        "radar.sensors": c.radar.sensors, "radar.points_per_sensor": c.radar.points_per_sensor,
        "radar.queries": c.radar.queries, "radar.token_dim": c.radar.token_dim, "radar.layers": c.radar.layers,
        "radar.heads": c.radar.heads, "radar.ff_dim": c.radar.ff_dim,
        "radar.tokenizer_hidden": c.radar.tokenizer_hidden, "radar.decoder_hidden": c.radar.decoder_hidden,
        "boxes.dir_bins": c.boxes.dir_bins, "boxes.max_boxes": c.boxes.max_boxes, "boxes.top_k": c.boxes.top_k,
        "perspective.downsample_factor": c.perspective.downsample_factor,
        "perspective.first_upsample": c.perspective.first_upsample,
    }
    for k, v in positive.items():
        if v <= 0:
            raise fail(k, f"must be positive, got {v}")
    for i, ch in enumerate(c.perspective.channels):
        if ch <= 0:
            raise fail(f"perspective.channels[{i}]", f"must be positive, got {ch}")
    for k, v in ("fusion.embd_dropout", c.fusion.embd_dropout), ("fusion.attn_dropout", c.fusion.attn_dropout), \
            ("fusion.resid_dropout", c.fusion.resid_dropout), ("planning.dropout", c.planning.dropout), \
            ("radar.dropout", c.radar.dropout):
        if not 0.0 <= v < 1.0:
            raise fail(k, f"must be in [0, 1), got {v}")
    if c.bev.max_x <= c.bev.min_x:
        raise fail("bev.max_x", f"must exceed bev.min_x ({c.bev.min_x}), got {c.bev.max_x}")
    if c.bev.max_y <= c.bev.min_y:
        raise fail("bev.max_y", f"must exceed bev.min_y ({c.bev.min_y}), got {c.bev.max_y}")
    if c.lidar.max_z <= c.lidar.min_z:
        raise fail("lidar.max_z", f"must exceed lidar.min_z ({c.lidar.min_z}), got {c.lidar.max_z}")
    # encoders reduce by 32: anchors and fusion need whole feature maps
    if c.camera.height % 32:
        raise fail("camera.height", f"must be a multiple of 32, got {c.camera.height}")
    if c.image_width % 32:
        raise fail("camera.width", f"camera.count x camera.width must be a multiple of 32, got {c.image_width}")
    for key, extent, px in (("bev.max_x", c.bev.max_x - c.bev.min_x, c.lidar_width_pixel),
                            ("bev.max_y", c.bev.max_y - c.bev.min_y, c.lidar_height_pixel)):
        if abs(extent * c.bev.pixels_per_meter - px) > 1e-6 or px % 32:
            raise fail(key, f"the BEV extent x pixels_per_meter must be a whole multiple of 32 pixels, got "
                            f"{extent * c.bev.pixels_per_meter:g}")
    for key, px in (("bev.down_sample_factor", c.lidar_height_pixel), ("bev.down_sample_factor", c.lidar_width_pixel)):
        if px % c.bev.down_sample_factor:
            raise fail(key, f"must divide the BEV grid ({c.lidar_height_pixel} x {c.lidar_width_pixel})")
    k = c.perspective.downsample_factor
    if c.image_height % k or c.image_width % k:
        raise fail("perspective.downsample_factor", f"must divide the image ({c.image_height} x {c.image_width})")
    if c.planning.token_dim % c.planning.heads:
        raise fail("planning.heads", f"must divide planning.token_dim ({c.planning.token_dim})")
    if c.planning.token_dim % 4:
        raise fail("planning.token_dim", "must be a multiple of 4 (2D sine embedding)")
    if c.radar.token_dim % c.radar.heads:
        raise fail("radar.heads", f"must divide radar.token_dim ({c.radar.token_dim})")
    if c.radar.token_dim % 4:
        raise fail("radar.token_dim", "must be a multiple of 4 (2D sine embedding)")
    ts = c.planning.target_speeds
    if len(ts) < 2 or ts[0] != 0.0 or any(b <= a for a, b in zip(ts, ts[1:])):
        raise fail("planning.target_speeds", f"must start at 0 and increase strictly, got {list(ts)}")
    if len(c.ego.target_point_norm) != 2 or min(c.ego.target_point_norm) <= 0:
        raise fail("ego.target_point_norm", "must be two positive numbers")
    if not 0.0 <= c.boxes.confidence <= 1.0:
        raise fail("boxes.confidence", f"must be in [0, 1], got {c.boxes.confidence}")
    if not 0.0 <= c.boxes.nms_iou <= 1.0:
        raise fail("boxes.nms_iou", f"must be in [0, 1], got {c.boxes.nms_iou}")
    if c.boxes.pool_kernel % 2 == 0:
        raise fail("boxes.pool_kernel", f"must be odd, got {c.boxes.pool_kernel}")
    for f in dataclasses.fields(LossWeights):
        if getattr(c.loss_weights, f.name) < 0:
            raise fail(f"loss_weights.{f.name}", "must be >= 0")
