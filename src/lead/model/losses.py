"""TFv6 training losses, LEAD's per head (lead/tfv6/*.compute_loss), weighted by config.loss_weights.

`compute_losses(outputs, targets, cfg)` returns `loss_<head>` for every head present in `outputs`
(unweighted) and `loss`, their weighted sum. LEAD's names in brackets.

Targets (frames and grids as in lead.model.tfv6)
| name                    | shape           | dtype | content                                               |
|-------------------------|-----------------|-------|-------------------------------------------------------|
| future_waypoints        | (B, 8, 2)       | float | expert ego positions at t = 0.25 .. 2.0 s, ego metres  |
| route                   | (B, 10, 2)      | float | route checkpoints, ego metres                          |
| target_speed            | (B,)            | float | expert target speed m/s, >= 0                          |
| brake                   | (B,)            | bool  | expert brakes: target-speed label is class 0           |
| semantic                | (B, H/k, W/k)   | long  | semantic class ids (-1 ignored)                         |
| depth                   | (B, H/k, W/k)   | float | depth, metres                                          |
| bev_semantic            | (B, Hb, Wb)     | long  | BEV class ids, -1 = not visible (ignored)               |
| center_net_heatmap      | (B, 8, h, w)    | float | Gaussian splats, exactly 1 at each box centre cell     |
| center_net_wh           | (B, 2, h, w)    | float | half length / half width in cells, at centre cells     |
| center_net_offset       | (B, 2, h, w)    | float | sub-cell centre offset (x=col, y=row), at centre cells |
| center_net_yaw_class    | (B, h, w)       | long  | yaw bin                                                |
| center_net_yaw_res      | (B, 1, h, w)    | float | yaw residual, radians                                  |
| center_net_velocity     | (B, 1, h, w)    | float | box speed m/s                                          |
| center_net_brake        | (B, h, w)       | long  | 1 = braking                                            |
| center_net_pixel_weight | (B, 2, h, w)    | float | 1 at box centre cells, else 0                          |
| center_net_avg_factor   | (B,)            | float | number of boxes (>= 1)                                 |
| radar_detections        | (B, Q, 4)       | float | x, y (ego m), speed m/s, valid (0/1)                   |
| route_only (optional)   | (B,)            | bool  | a junction branch: no waypoint / target-speed loss     |

Losses: waypoints L1 [loss_spatio_temporal_waypoints]; route L1 + L1 of the last checkpoint
[loss_spatial_route]; target speed cross-entropy against a two-hot label [loss_target_speed];
semantic CE; depth L1; BEV CE with -1 ignored; CenterNet Gaussian focal loss + L1 (size, offset,
velocity), CE (yaw bin, brake), smooth L1 (yaw residual), each summed over box cells and divided
by the box count; radar: Hungarian matching, L1 (scaled by BEV extent and max speed) on valid
matches + BCE on validity [radar_loss].
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from lead.model.config import ModelConfig

# output name -> the targets its loss needs
_NEEDS = {
    "future_waypoints": ("future_waypoints",),
    "route": ("route",),
    "target_speed_logits": ("target_speed", "brake"),
    "semantic": ("semantic",),
    "depth": ("depth",),
    "bev_semantic": ("bev_semantic",),
    "radar_detections": ("radar_detections",),
}
_BOX_TARGETS = ("center_net_heatmap", "center_net_wh", "center_net_offset", "center_net_yaw_class",
                "center_net_yaw_res", "center_net_pixel_weight", "center_net_avg_factor")


def two_hot(speed: torch.Tensor, classes: torch.Tensor, brake: torch.Tensor) -> torch.Tensor:
    """(B,) m/s -> (B, S) weights on the two neighbouring classes; braking or 0 m/s -> class 0."""
    if bool((speed < 0).any()):
        raise ValueError(f"target_speed must be >= 0, got min {float(speed.min()):.3f}")
    s = speed.float().clamp(max=float(classes[-1]))
    upper = torch.searchsorted(classes, s, right=True).clamp(1, len(classes) - 1)
    lower = upper - 1
    w_up = ((s - classes[lower]) / (classes[upper] - classes[lower])).clamp(0.0, 1.0)
    label = torch.zeros(len(s), len(classes), device=s.device)
    label.scatter_(1, lower[:, None], (1 - w_up)[:, None])
    label.scatter_add_(1, upper[:, None], w_up[:, None])
    label[brake.bool()] = F.one_hot(torch.zeros((), dtype=torch.long, device=s.device), len(classes)).float()
    return label


def gaussian_focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0,
                        gamma: float = 4.0) -> torch.Tensor:
    """CenterNet focal loss per element on heatmap logits (log-sigmoid for stability)."""
    p = torch.sigmoid(logits)
    pos = target.eq(1).float()
    neg_w = (1 - target).pow(gamma)
    return -F.logsigmoid(logits) * (1 - p).pow(alpha) * pos - F.logsigmoid(-logits) * p.pow(alpha) * neg_w


def center_net_losses(outputs: dict[str, torch.Tensor], t: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {k: v.float() for k, v in outputs.items() if k.startswith("center_")}  # fp32 losses under autocast
    avg = t["center_net_avg_factor"].float().reshape(-1).clamp(min=1.0)
    w = t["center_net_pixel_weight"].float()

    def per_box(x: torch.Tensor) -> torch.Tensor:  # (B, ...) summed per sample / box count, batch mean
        return (x.flatten(1).sum(1) / avg).mean()

    losses = {
        "center_net_heatmap": per_box(gaussian_focal_loss(out["center_heatmap"], t["center_net_heatmap"])),
        "center_net_wh": per_box(F.l1_loss(out["center_wh"], t["center_net_wh"], reduction="none") * w) / 2,
        "center_net_offset": per_box(F.l1_loss(out["center_offset"], t["center_net_offset"], reduction="none") * w) / 2,
        "center_net_yaw_class": per_box(
            F.cross_entropy(out["center_yaw_class"], t["center_net_yaw_class"].long(), reduction="none") * w[:, 0]),
        "center_net_yaw_res": per_box(
            F.smooth_l1_loss(out["center_yaw_res"], t["center_net_yaw_res"], reduction="none") * w[:, :1]),
    }
    if "center_velocity" in out:
        losses["center_net_velocity"] = per_box(
            F.l1_loss(out["center_velocity"], t["center_net_velocity"], reduction="none") * w[:, :1])
    if "center_brake" in out:
        losses["center_net_brake"] = per_box(
            F.cross_entropy(out["center_brake"], t["center_net_brake"].long(), reduction="none") * w[:, 0])
    return losses


def radar_loss(pred: torch.Tensor, gt: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """LEAD's set loss: per sample, Hungarian matching on w_reg * scaled L1 (valid targets only) +
    w_cls * BCE, then the same terms on the matched pairs."""
    b = cfg.bev
    scale = torch.tensor([b.max_x - b.min_x, b.max_y - b.min_y, cfg.ego.max_speed], device=pred.device)
    w_reg, w_cls = cfg.loss_weights.radar_regression, cfg.loss_weights.radar_classification
    p_state, p_logit = pred[..., :3].float() / scale, pred[..., 3].float()
    g_state, g_valid = gt[..., :3].float() / scale, gt[..., 3].float()
    l1 = (p_state[:, :, None] - g_state[:, None]).abs().sum(-1) * g_valid[:, None]  # (B, P, G)
    bce = F.binary_cross_entropy_with_logits(p_logit[:, :, None].expand_as(l1), g_valid[:, None].expand_as(l1),
                                             reduction="none")
    cost = (w_reg * l1 + w_cls * bce).detach().cpu().numpy()
    total = pred.new_zeros(())
    for i in range(pred.shape[0]):
        rows, cols = (torch.as_tensor(np.asarray(a), device=pred.device) for a in linear_sum_assignment(cost[i]))
        valid = g_valid[i, cols]
        reg = (l1[i, rows, cols]).sum() / valid.sum().clamp(min=1.0)
        total = total + w_reg * reg + w_cls * bce[i, rows, cols].mean()
    return total / pred.shape[0]


def compute_losses(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                   cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Unweighted `loss_<head>` for every head in `outputs`, and `loss` = sum of weight x loss."""
    needed = [n for k, names in _NEEDS.items() if k in outputs for n in names]
    if "center_heatmap" in outputs:
        needed += list(_BOX_TARGETS)
        needed += ["center_net_velocity"] if "center_velocity" in outputs else []
        needed += ["center_net_brake"] if "center_brake" in outputs else []
    missing = [n for n in needed if n not in targets]
    if missing:
        raise ValueError(f"compute_losses: targets missing for config '{cfg.name}': {', '.join(missing)}")

    o, t = outputs, targets
    # a junction branch (lead.training.branches) labels only the route: the waypoint and target-speed
    # losses average over the other samples (the same value as before when there is none)
    keep = ~t["route_only"].reshape(-1).bool() if "route_only" in t else None

    def kept_mean(per_sample: torch.Tensor) -> torch.Tensor:
        if keep is None:
            return per_sample.mean()
        return (per_sample * keep).sum() / keep.sum().clamp(min=1)

    losses: dict[str, torch.Tensor] = {}
    if "future_waypoints" in o:
        losses["waypoints"] = kept_mean(F.l1_loss(o["future_waypoints"].float(), t["future_waypoints"].float(),
                                                  reduction="none").flatten(1).mean(1))
    if "route" in o:
        pr, tr = o["route"].float(), t["route"].float()
        losses["route"] = F.l1_loss(pr, tr) + F.l1_loss(pr[:, -1], tr[:, -1])
    if "target_speed_logits" in o:
        classes = torch.tensor(cfg.planning.target_speeds, device=o["target_speed_logits"].device)
        label = two_hot(t["target_speed"].reshape(-1), classes, t["brake"].reshape(-1))
        losses["target_speed"] = kept_mean(F.cross_entropy(o["target_speed_logits"].float(), label, reduction="none"))
    if "semantic" in o:
        losses["semantic"] = F.cross_entropy(o["semantic"].float(), t["semantic"].long(), ignore_index=-1,
                                             reduction="none").mean()
    if "depth" in o:
        losses["depth"] = F.l1_loss(o["depth"].float(), t["depth"].float())
    if "bev_semantic" in o:
        # LEAD averages over all cells, ignored ones counting 0
        losses["bev_semantic"] = F.cross_entropy(o["bev_semantic"].float(), t["bev_semantic"].long(),
                                                 ignore_index=-1, reduction="none").mean()
    if "center_heatmap" in o:
        losses.update(center_net_losses(o, t))
    if "radar_detections" in o:
        losses["radar"] = radar_loss(o["radar_detections"], t["radar_detections"], cfg)

    weights = cfg.loss_weights
    result = {f"loss_{k}": v for k, v in losses.items()}
    result["loss"] = sum(getattr(weights, k) * v for k, v in losses.items())
    return result
