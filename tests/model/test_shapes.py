"""Forward passes: every documented output with its documented shape, per config and head set."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lead.model import build_model, input_shapes, load_config, output_shapes
from lead.model.embeddings import bev_sample
from lead.model.tfv6 import example_inputs


def _variant(cfg, **sections):
    return dataclasses.replace(cfg, **{k: dataclasses.replace(getattr(cfg, k), **v) for k, v in sections.items()})


def _check_forward(cfg, batch):
    model = build_model(cfg).eval()
    x = example_inputs(cfg, batch)
    assert set(x) == set(input_shapes(cfg, batch))
    with torch.no_grad():
        out = model(x)
    assert {k: tuple(v.shape) for k, v in out.items()} == output_shapes(cfg, batch)
    assert all(torch.isfinite(v).all() for v in out.values())
    return model, x, out


def test_small_forward_shapes():
    _, _, out = _check_forward(load_config("tfv6_small"), batch=2)
    assert {"future_waypoints", "route", "target_speed", "radar_detections", "semantic", "depth", "bev_semantic",
            "center_heatmap", "center_velocity", "center_brake"} <= set(out)
    speeds = load_config("tfv6_small").planning.target_speeds
    assert ((out["target_speed"] >= 0) & (out["target_speed"] <= speeds[-1])).all()


def test_full_forward_shapes():
    cfg = load_config("tfv6_full")
    _, _, out = _check_forward(cfg, batch=1)
    assert out["semantic"].shape == (1, 10, 384, 1152) and out["bev_semantic"].shape == (1, 13, 320, 384)
    assert out["center_heatmap"].shape == (1, 8, 80, 96) and out["future_waypoints"].shape == (1, 8, 2)


@pytest.mark.parametrize("name, sections, absent", [
    ("vision_only", {"lidar": {"enabled": False}}, {"center_velocity"}),
    ("no_radar", {"radar": {"enabled": False}}, {"radar_detections"}),
    ("pretraining", {"planning": {"enabled": False}}, {"future_waypoints", "route", "target_speed"}),
    ("planning_only", {"boxes": {"enabled": False}, "bev_semantic": {"enabled": False},
                       "perspective": {"semantic": False, "depth": False}, "radar": {"enabled": False}},
     {"center_heatmap", "bev_semantic", "semantic", "depth", "radar_detections"}),
])
def test_heads_off(name, sections, absent):
    cfg = _variant(load_config("tfv6_small"), **sections)
    model, x, out = _check_forward(cfg, batch=1)
    assert not (absent & set(out)), name
    full = build_model(load_config("tfv6_small"))
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in full.parameters())
    if name == "vision_only":
        assert "rasterized_lidar" not in x and model.backbone.lidar_encoder.conv1.in_channels == 2
    if name == "planning_only":
        assert model.top_down is None and model.radar is None


def test_without_the_speed_input_nothing_reads_the_speed():
    """ego.speed_input false: no `speed` input, no speed token in the planner or the radar, and
    the outputs do not change with whatever speed a caller still passes."""
    cfg = _variant(load_config("tfv6_small"), ego={"speed_input": False})
    model, x, out = _check_forward(cfg, batch=2)
    assert "speed" not in x and "speed" in input_shapes(load_config("tfv6_small"))
    assert not hasattr(model.planning, "velocity_encoder") and not hasattr(model.radar, "ego_vel_proj")
    with torch.no_grad():
        again = model({**x, "speed": torch.tensor([0.0, 30.0])})
    for k in out:
        assert torch.equal(out[k], again[k]), k
    # the same weights with the speed input wired in differ only by the speed tokens
    with_speed = {k for k in build_model(load_config("tfv6_small")).state_dict()}
    assert with_speed - set(model.state_dict()) == {
        "planning.velocity_encoder.weight", "planning.velocity_encoder.bias",
        "radar.ego_vel_proj.weight", "radar.ego_vel_proj.bias", "radar.ego_vel_pos_embed"}


def test_missing_or_misshaped_inputs_are_named():
    cfg = load_config("tfv6_small")
    model = build_model(cfg).eval()
    x = example_inputs(cfg, 1)
    del x["radar"]
    x["speed"] = torch.zeros(1, 1)
    with pytest.raises(ValueError, match=r"'radar' missing.*'speed' has shape \(1, 1\)"):
        model(x)


def test_bev_grid_rows_are_y_and_columns_are_x():
    cfg = load_config("tfv6_small")
    b = cfg.bev
    # the 1/32 grid the radar tokenizer samples: 5 rows (y) x 6 columns (x), 16 m cells;
    # cell (r, c) holds its own centre in metres: channel 0 = x, channel 1 = y
    rows, cols = cfg.lidar_height_pixel // 32, cfg.lidar_width_pixel // 32
    cell = 32 / b.pixels_per_meter
    xs = b.min_x + (torch.arange(cols) + 0.5) * cell
    ys = b.min_y + (torch.arange(rows) + 0.5) * cell
    grid = torch.stack((xs[None, :].expand(rows, cols), ys[:, None].expand(rows, cols)))[None]
    pts = torch.tensor([[[10.0, -5.0], [-20.0, 30.0], [50.0, 0.0], [-23.0, -31.0]]])
    # bilinear sampling of a linear field is exact between cell centres
    assert torch.allclose(bev_sample(grid, pts, b)[0], pts[0], atol=1e-4)
