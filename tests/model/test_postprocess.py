"""Post-processing: boxes encoded with LEAD's target rules decode back; NMS; the plan."""
from __future__ import annotations

import math

import numpy as np
import torch

from lead.model import load_config
from lead.model.postprocess import BOX_FIELDS, box_iou, decode_boxes, decode_radar, plan, rotated_nms

from .synthetic import make_targets


def _perfect_outputs(targets: dict[str, torch.Tensor], cfg) -> dict[str, torch.Tensor]:
    """What a perfect box head would output for these targets."""
    one_hot = torch.nn.functional.one_hot
    return {
        "center_heatmap": torch.logit(targets["center_net_heatmap"].clamp(1e-4, 1 - 1e-4)),
        "center_wh": targets["center_net_wh"],
        "center_offset": targets["center_net_offset"],
        "center_yaw_class": one_hot(targets["center_net_yaw_class"], cfg.boxes.dir_bins).permute(0, 3, 1, 2) * 10.0,
        "center_yaw_res": targets["center_net_yaw_res"],
        "center_velocity": targets["center_net_velocity"],
        "center_brake": one_hot(targets["center_net_brake"], 2).permute(0, 3, 1, 2) * 10.0,
    }


def test_boxes_round_trip_through_targets_and_decoding():
    cfg = load_config("tfv6_small")
    targets, boxes = make_targets(cfg, 2, seed=4)
    decoded = decode_boxes(_perfect_outputs(targets, cfg), cfg)
    assert len(decoded) == 2
    for want, got in zip(boxes, decoded):
        assert got.shape == (len(want), len(BOX_FIELDS))
        got = got[np.argsort(got[:, 0])]
        want = want[np.argsort(want[:, 0])]
        np.testing.assert_allclose(got[:, :4], want[:, :4], atol=1e-4)  # x, y, half extents (m)
        dyaw = (got[:, 4] - want[:, 4] + math.pi) % (2 * math.pi) - math.pi
        np.testing.assert_allclose(dyaw, 0, atol=1e-4)
        np.testing.assert_allclose(got[:, 5:8], want[:, 5:8], atol=1e-4)  # velocity, brake, class
        assert (got[:, 8] > 0.99).all()


def test_box_iou_and_nms():
    a = np.array([0, 0, 2, 1, 0.0, 0, 0, 0, 0.9])
    assert math.isclose(box_iou(a, a + np.array([1, 0, 0, 0, 0, 0, 0, 0, 0])), 6 / 10, rel_tol=1e-9)
    assert math.isclose(box_iou(a, np.array([0, 0, 2, 1, math.pi / 2, 0, 0, 0, 0])), 4 / 12, rel_tol=1e-9)
    assert math.isclose(box_iou(a, np.array([0, 0, 2, 1, math.pi, 0, 0, 0, 0])), 1.0, rel_tol=1e-9)
    near = np.array([0.3, 0.1, 2, 1, 0.1, 0, 0, 0, 0.95])
    far = np.array([10, 5, 2, 1, 0.0, 0, 0, 1, 0.5])
    kept = rotated_nms(np.stack([a, near, far]), 0.2)
    np.testing.assert_array_equal(kept[:, 8], [0.95, 0.5])  # the weaker overlapping box goes


def test_plan_expected_speed_and_brake_override():
    cfg = load_config("tfv6_small")
    logits = torch.full((2, 8), -20.0)
    logits[0, 1] = logits[0, 2] = 5.0  # half 4 m/s, half 8 m/s
    logits[1, 0] = 20.0  # certain stop
    out = {"target_speed_logits": logits, "future_waypoints": torch.zeros(2, 8, 2), "route": torch.zeros(2, 10, 2)}
    p = plan(out, cfg)
    np.testing.assert_allclose(p["target_speed"], [6.0, 0.0], atol=1e-4)
    assert p["waypoints"].shape == (2, 8, 2) and p["route"].shape == (2, 10, 2)


def test_decode_radar_keeps_confident_detections():
    det = torch.zeros(1, 20, 4)
    det[0, :, 3] = -5.0
    det[0, 3] = torch.tensor([12.0, -3.0, 4.0, 5.0])
    (got,) = decode_radar({"radar_detections": det})
    assert got.shape == (1, 4)
    np.testing.assert_allclose(got[0, :3], [12.0, -3.0, 4.0])
    assert got[0, 3] > 0.99
