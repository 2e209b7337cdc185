"""scripts/ship_model.py: which epoch of a run it ships, and in what form."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, l2s: list[float]) -> tuple[Path, Path]:
    pre, post = tmp_path / "pre", tmp_path / "post"
    pre.mkdir()
    post.mkdir()
    (pre / "metrics.json").write_text(json.dumps({"stage": "pretrain", "epochs": [{"epoch": 0}]}))
    epochs = [{"epoch": e, "waypoint_l2_2s": v} for e, v in enumerate(l2s)]
    (post / "metrics.json").write_text(json.dumps({"stage": "posttrain", "data_hash": "ab" * 32, "epochs": epochs}))
    (post / "config.yaml").write_text("name: x\n")
    (post / "curves.png").write_bytes(b"png")
    for e in range(len(l2s)):
        torch.save({"model": {"w": torch.full((2,), float(e)), "n": torch.tensor(e)}, "meta": {"epoch": e + 1}},
                   post / f"model_{e + 1:04d}.pth")
    return pre, post


def _ship(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "ship_model.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_ships_the_last_epoch_as_lead_or_the_lowest_l2_when_asked(tmp_path):
    pre, post = _run(tmp_path, [2.3, 2.1, 2.3])
    r = _ship(pre, post, tmp_path / "last")
    assert r.returncode == 0, r.stderr
    ck = torch.load(tmp_path / "last" / "model.pt", weights_only=False)
    assert ck["meta"]["selected_epoch"] == 2 and ck["model"]["w"].tolist() == [2.0, 2.0]
    assert ck["model"]["w"].dtype == torch.float16 and ck["model"]["n"].dtype == torch.int64
    assert json.loads((tmp_path / "last" / "metrics.json").read_text())["selected"]["checkpoint"] == "model_0003.pth"
    assert (tmp_path / "last" / "data_hash.txt").read_text().strip() == "ab" * 32

    r = _ship("--best-val-l2", pre, post, tmp_path / "best")
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path / "best" / "model.pt", weights_only=False)["meta"]["selected_epoch"] == 1


def test_bad_arguments_print_the_usage(tmp_path):
    r = _ship("--best", tmp_path, tmp_path)
    assert r.returncode == 2 and "usage: ship_model.py" in r.stderr


def test_a_finetune_run_is_shipped_beside_the_two_stages(tmp_path):
    pre, post = _run(tmp_path, [2.3, 2.1, 2.3])
    ft = tmp_path / "ft"
    ft.mkdir()
    (ft / "metrics.json").write_text(json.dumps({"stage": "posttrain", "data_hash": "cd" * 32,
                                                 "epochs": [{"epoch": 0, "waypoint_l2_2s": 2.2}]}))
    (ft / "curves.png").write_bytes(b"ft-png")
    (ft / "config.yaml").write_text("name: ft\n")
    torch.save({"model": {"w": torch.full((2,), 7.0), "n": torch.tensor(7)}, "meta": {"epoch": 1}}, ft / "model_0001.pth")
    r = _ship("--finetune", ft, pre, post, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    ck = torch.load(out / "model.pt", weights_only=False)
    assert ck["model"]["w"].tolist() == [7.0, 7.0] and ck["meta"]["source"] == str(ft / "model_0001.pth")
    m = json.loads((out / "metrics.json").read_text())
    assert m["selected"]["stage"] == "finetune" and m["selected"]["checkpoint"] == "model_0001.pth"
    assert len(m["posttrain"]["epochs"]) == 3 and m["finetune"]["data_hash"] == "cd" * 32
    assert (out / "data_hash.txt").read_text().strip() == "cd" * 32
    assert (out / "config.yaml").read_text() == "name: ft\n"
    assert (out / "curves_finetune.png").read_bytes() == b"ft-png" and (out / "curves.png").read_bytes() == b"png"
