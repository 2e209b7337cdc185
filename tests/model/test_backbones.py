"""Backbones have torchvision's / timm's structure: parameter counts and stage geometry."""
from __future__ import annotations

import pytest
import torch

from lead.model.backbones import REGNETY_032, build_backbone, regnet_widths

# published sizes with a 1000-class classifier: torchvision resnet18 / resnet34, timm regnety_032
REFERENCE = {"resnet18": 11_689_512, "resnet34": 21_797_672, "regnety_032": 19_436_338}


@pytest.mark.parametrize("arch", list(REFERENCE))
def test_parameter_count_matches_reference(arch):
    m = build_backbone(arch)
    fc = m.channels[-1] * 1000 + 1000
    assert sum(p.numel() for p in m.parameters()) + fc == REFERENCE[arch]


def test_regnety_032_stages():
    widths, depths, _ = regnet_widths(REGNETY_032["w0"], REGNETY_032["wa"], REGNETY_032["wm"],
                                      REGNETY_032["depth"], REGNETY_032["group_size"])
    assert (widths, depths) == ([72, 216, 576, 1512], [2, 5, 13, 1])


@pytest.mark.parametrize("arch, width, in_ch", [("resnet18", 0.5, 3), ("resnet34", 1.0, 1), ("regnety_032", 0.5, 2)])
def test_stage_strides_and_channels(arch, width, in_ch):
    m = build_backbone(arch, in_ch, width).eval()
    feats = m(torch.rand(1, in_ch, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [(c, 64 // r, 96 // r) for c, r in zip(m.channels, m.reductions)]
    assert m.reductions == [4, 8, 16, 32]
