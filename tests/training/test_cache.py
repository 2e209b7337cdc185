"""The dataset cache: labels, rebuild-on-change by hash, truncated bags."""
from __future__ import annotations

import dataclasses
import logging
import shutil

import numpy as np

from lead.model.config import load_config
from lead.training.cache import feature_config


def test_cache_labels(tiny_cache, tiny_config):
    from lead.model.classes import BEV_SEMANTIC_CLASSES
    from lead.training.dataset import CacheDataset

    cfg = load_config(tiny_config)
    ds = CacheDataset(tiny_cache, cfg)
    road = BEV_SEMANTIC_CLASSES.index("ROAD")
    for i in range(len(ds)):
        r = ds.raw(i)
        wp = r["future_waypoints"]
        assert wp.shape == (8, 2) and np.all(np.diff(wp[:, 0]) > 0)  # the ego drives forward
        assert np.abs(wp[:, 1]).max() < 2.0
        assert r["route"].shape == (10, 2) and r["route"][0, 0] > 0
        # the ego stands on the road: the cells around the grid's ego cell are ROAD (or a lane mark)
        row, col = int(-cfg.bev.min_y * cfg.bev.pixels_per_meter), int(-cfg.bev.min_x * cfg.bev.pixels_per_meter)
        assert r["bev_semantic"][row, col] in (road, BEV_SEMANTIC_CLASSES.index("LANE_MARKERS"))
        assert (r["bev_semantic"] == road).mean() > 0.05
        n = int(r["num_boxes"])
        assert n >= 1 and np.all(r["boxes"][n:] == 0)
        assert set(np.unique(r["semantic"])) >= {2}  # road seen by the cameras
        assert 0 < r["depth"].astype(np.float32).max() < 2000
    s = ds[0]
    assert s["center_net_heatmap"].max() == 1.0 and s["radar_detections"][:, 3].sum() >= 1


def test_cache_rebuilds_only_on_change(bag_dir, tiny_config, tmp_path):
    from lead.training.cache import build_cache

    first = build_cache(bag_dir, tmp_path / "c", tiny_config, progress=False)
    assert first["built"] == 1 and first["frames"] >= 4 and not first["errors"]
    again = build_cache(bag_dir, tmp_path / "c", tiny_config, progress=False)
    assert again["built"] == 0 and again["kept"] == 1 and again["hash"] == first["hash"]
    forced = build_cache(bag_dir, tmp_path / "c", tiny_config, force=True, progress=False)
    assert forced["built"] == 1 and forced["hash"] == first["hash"]
    # another feature config is another cache content
    other = tmp_path / "other.yaml"
    other.write_text(tiny_config.read_text().replace("hist_max_per_pixel: 5", "hist_max_per_pixel: 4"))
    changed = build_cache(bag_dir, tmp_path / "c", other, progress=False)
    assert changed["built"] == 1 and changed["hash"] != first["hash"]


def test_cache_cli_json(bag_dir, tiny_config, tmp_path):
    """`lead data cache --json` ends with one JSON object; a second run keeps the shard."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "lead.cli", "data", "cache", str(bag_dir), "--out", str(tmp_path / "c"),
           "--config", str(tiny_config), "--json"]
    runs = [subprocess.run(cmd, capture_output=True, text=True, timeout=300) for _ in range(2)]
    for p in runs:
        assert p.returncode == 0, p.stderr[-2000:]
    first, again = (json.loads(p.stdout.strip().splitlines()[-1]) for p in runs)
    assert (first["built"], first["kept"], first["shards"]) == (1, 0, 1) and first["frames"] >= 4
    assert (again["built"], again["kept"]) == (0, 1) and again["hash"] == first["hash"]


def test_cache_from_truncated_bag(bag, tiny_config, tmp_path, caplog):
    from lead.training.cache import build_cache

    full = build_cache(bag, tmp_path / "full", tiny_config, progress=False)
    cut = tmp_path / "bags" / "cut.mcap"
    cut.parent.mkdir()
    data = bag.read_bytes()
    cut.write_bytes(data[:int(len(data) * 0.8)])
    with caplog.at_level(logging.WARNING):
        idx = build_cache(cut.parent, tmp_path / "cut", tiny_config, progress=False)
    assert not idx["errors"]
    assert 0 < idx["frames"] < full["frames"]
    assert idx["shards"][0]["truncated"] is True
    assert any(str(cut) in r.getMessage() and "truncated" in r.getMessage() for r in caplog.records)
    # a cut that keeps no complete frame is an error naming the bag, not a crash
    shutil.rmtree(tmp_path / "cut")
    cut.write_bytes(data[:len(data) // 20])
    bad = build_cache(cut.parent, tmp_path / "cut", tiny_config, progress=False)
    assert bad["frames"] == 0 and bad["errors"] and str(cut) in bad["errors"][0]["bag"]


def test_speed_input_flag_does_not_change_the_cache():
    """ego.speed_input only wires the model (the cache keeps the speed either way): a model
    with and one without it train from the same shards."""
    cfg = load_config("tfv6_small")
    off = dataclasses.replace(cfg, ego=dataclasses.replace(cfg.ego, speed_input=False))
    assert feature_config(off) == feature_config(cfg)
    other = dataclasses.replace(cfg, ego=dataclasses.replace(cfg.ego, max_speed=30.0))
    assert feature_config(other) != feature_config(cfg)
