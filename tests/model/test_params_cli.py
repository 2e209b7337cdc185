"""Parameter budget of tfv6_full vs LEAD's ResNet-34 (60 M) and `lead model summary`."""
from __future__ import annotations

import json

from lead.cli import main
from lead.model import build_model, load_config
from lead.model.summary import LEAD_RESNET34_PARAMS, summarize


def test_full_model_within_ten_percent_of_leads_60m():
    s = summarize(build_model(load_config("tfv6_full")))
    assert abs(s["total_params"] / LEAD_RESNET34_PARAMS - 1) <= 0.10, s["total_params"]
    assert s["modules"]["backbone.image_encoder"] == 21_797_672 - 513_000  # torchvision resnet34 minus fc
    assert sum(s["modules"].values()) == s["total_params"]


def test_summary_cli_json_last_line(capsys):
    assert main(["model", "summary", "--config", "tfv6_small", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    data = json.loads(lines[-1])
    model = build_model(load_config("tfv6_small"))
    assert data["total_params"] == sum(p.numel() for p in model.parameters())
    assert data["outputs"]["center_heatmap"] == [1, 8, 80, 96]
    assert any(line.startswith("total") for line in lines[:-1])


def test_summary_cli_bad_config(tmp_path, capsys):
    p = tmp_path / "m.yaml"
    p.write_text("radar: {querys: 3}\n")
    assert main(["model", "summary", "--config", str(p)]) == 2
    assert "radar.querys" in capsys.readouterr().out
