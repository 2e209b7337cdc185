"""Losses: LEAD's per-head terms, finite, differentiable, weighted by config; the small model
overfits a tiny synthetic batch."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lead.model import build_model, compute_losses, load_config
from lead.model.losses import gaussian_focal_loss, radar_loss, two_hot
from lead.model.tfv6 import example_inputs

from .synthetic import make_targets

SPEEDS = torch.tensor(load_config("tfv6_small").planning.target_speeds)


def test_two_hot_interpolates_between_neighbouring_classes():
    speed = torch.tensor([0.0, 6.0, 12.0, 20.0, 27.0, 9.0])
    brake = torch.tensor([False, False, False, False, False, True])
    label = two_hot(speed, SPEEDS, brake)
    assert torch.allclose(label.sum(1), torch.ones(6))
    assert torch.allclose(label[1, 1:3], torch.tensor([0.5, 0.5]))  # 6 m/s: half 4, half 8
    assert torch.allclose(label[:4] @ SPEEDS, speed[:4], atol=1e-5)  # expectation recovers the speed
    assert label[4, -1] == 1 and label[5, 0] == 1  # above the top class; braking -> 0 m/s
    assert ((label > 0).sum(1) <= 2).all()
    with pytest.raises(ValueError, match="target_speed must be >= 0"):
        two_hot(torch.tensor([-1.0]), SPEEDS, torch.tensor([False]))


def test_focal_loss_prefers_the_right_heatmap():
    target = torch.zeros(1, 1, 9, 9)
    target[0, 0, 4, 4] = 1.0
    target[0, 0, 3:6, 3:6] = torch.maximum(target[0, 0, 3:6, 3:6], torch.full((3, 3), 0.6))
    good = torch.logit(target.clamp(1e-3, 1 - 1e-3))
    bad = torch.roll(good, shifts=3, dims=3)
    assert gaussian_focal_loss(good, target).sum() < 0.1 * gaussian_focal_loss(bad, target).sum()


def test_radar_loss_is_permutation_invariant_and_zero_at_the_match():
    cfg = load_config("tfv6_small")
    gt = torch.zeros(1, cfg.radar.queries, 4)
    gt[0, :3] = torch.tensor([[10.0, 2.0, 5.0, 1.0], [30.0, -8.0, 0.0, 1.0], [-5.0, 12.0, 8.0, 1.0]])
    pred = gt.clone()
    pred[..., 3] = torch.where(gt[..., 3] > 0, 20.0, -20.0)  # confident validity logits
    perm = torch.randperm(cfg.radar.queries, generator=torch.Generator().manual_seed(1))
    exact = radar_loss(pred, gt, cfg)
    assert float(exact) < 1e-6
    assert torch.isclose(radar_loss(pred[:, perm], gt, cfg), exact, atol=1e-6)
    shifted = pred.clone()
    shifted[0, :3, 0] += 4.0
    assert float(radar_loss(shifted, gt, cfg)) > 0.1


def test_losses_are_finite_weighted_and_reach_every_parameter():
    cfg = load_config("tfv6_small")
    model = build_model(cfg).train()
    targets, _ = make_targets(cfg, 2)
    losses = compute_losses(model(example_inputs(cfg, 2)), targets, cfg)
    heads = {k for k in losses if k != "loss"}
    assert {"loss_waypoints", "loss_route", "loss_target_speed", "loss_semantic", "loss_depth",
            "loss_bev_semantic", "loss_center_net_heatmap", "loss_center_net_velocity", "loss_center_net_brake",
            "loss_radar"} <= heads
    assert all(torch.isfinite(v) for v in losses.values())
    w = cfg.loss_weights
    total = sum(getattr(w, k[len("loss_"):]) * v for k, v in losses.items() if k != "loss")
    assert torch.isclose(losses["loss"], total)
    losses["loss"].backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad


def test_zero_weight_removes_a_head_and_missing_targets_are_named():
    cfg = load_config("tfv6_small")
    cfg0 = dataclasses.replace(cfg, loss_weights=dataclasses.replace(cfg.loss_weights, semantic=0.0))
    model = build_model(cfg).eval()
    targets, _ = make_targets(cfg, 1)
    with torch.no_grad():
        out = model(example_inputs(cfg, 1))
    a, b = compute_losses(out, targets, cfg), compute_losses(out, targets, cfg0)
    assert torch.isclose(a["loss"] - b["loss"], a["loss_semantic"])
    del targets["bev_semantic"], targets["center_net_pixel_weight"]
    with pytest.raises(ValueError, match="bev_semantic, .*center_net_pixel_weight"):
        compute_losses(out, targets, cfg)


def test_small_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    cfg = load_config("tfv6_small")
    model = build_model(cfg).train()
    x = example_inputs(cfg, 2, seed=1)
    targets, _ = make_targets(cfg, 2, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    first = last = None
    for _ in range(150):
        loss = compute_losses(model(x), targets, cfg)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        last = float(loss.detach())
        first = first if first is not None else last
        if last < first / 10:
            break
    assert last < first / 10, f"loss {first:.2f} -> {last:.2f} after 150 steps"
