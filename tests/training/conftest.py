"""One real expert bag per session (embedded world + expert library, written as MCAP) and its
caches, shared by the training tests."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

HERE = Path(__file__).resolve().parent
TINY = HERE / "tfv6_tiny.yaml"


@pytest.fixture(scope="session")
def bag_dir(tmp_path_factory) -> Path:
    from lead.training.synthetic import record_expert_bag

    d = tmp_path_factory.mktemp("bags")
    # 3.5 s of route 0: frames every 0.25 s with 2 s of future -> 6 samples
    record_expert_bag(d / "LeadGrid001_route0.mcap", route_id="0", seconds=3.5, vehicles=6, pedestrians=4)
    return d


@pytest.fixture(scope="session")
def bag(bag_dir) -> Path:
    return next(bag_dir.glob("*.mcap"))


@pytest.fixture(scope="session")
def tiny_config() -> Path:
    return TINY


@pytest.fixture(scope="session")
def tiny_cache(bag_dir, tmp_path_factory) -> Path:
    from lead.training.cache import build_cache

    out = tmp_path_factory.mktemp("cache_tiny")
    build_cache(bag_dir, out, TINY, progress=False)
    return out


class CacheCopy(NamedTuple):
    """A writable copy of the tiny cache, for tests that rewrite its labels."""
    root: Path
    cfg: object  # lead.model.config.ModelConfig
    shard: Path  # the folder of its one shard
    frames: int


@pytest.fixture
def tiny_cache_copy(tiny_cache, tmp_path) -> CacheCopy:
    from lead.model.config import load_config
    from lead.training.cache import load_index

    root = tmp_path / "cache"
    shutil.copytree(tiny_cache, root)
    (shard,) = load_index(root)["shards"]
    assert shard["frames"] >= 6, "the tiny bag should give at least 6 samples"
    return CacheCopy(root, load_config(TINY), root / shard["dir"], shard["frames"])


@pytest.fixture(scope="session")
def small_cache(bag_dir, tmp_path_factory) -> Path:
    from lead.training.cache import build_cache

    out = tmp_path_factory.mktemp("cache_small")
    build_cache(bag_dir, out, "tfv6_small", progress=False)
    return out


def bag_frames(bag: Path, cfg, rig, perturbed: bool = False):
    """(stamp, build_inputs of each camera tick) as the policy's preprocessing builds them."""
    from lead.io.bag import BagReader
    from lead.model.inputs import FrameAssembler, build_inputs
    from lead.training.cache import _ticks

    reader = BagReader(bag)
    meta = reader.metadata().get("lead", {})
    pert = (float(meta.get("perturbation_shift_m", 0)), float(meta.get("perturbation_yaw_deg", 0)))
    asm = FrameAssembler(rig, cfg.lidar.steps)
    out = []
    for latched, tick in _ticks(reader):
        if latched == "/lead/route":
            asm.set_route(tick)
            continue
        if latched is not None:
            continue
        f = asm.add_tick(tick)
        if f is None:
            continue
        if perturbed:
            f = asm.frame(tick, perturbed=True, perturbation=pert)
        out.append((f.stamp_ns, build_inputs(f, cfg, rig), f))
    return out
