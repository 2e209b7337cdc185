"""The trainer on real cached frames (tests/training/tfv6_tiny.yaml: every head of tfv6_small, small):
overfit, exact resume, DDP gradients == single-process gradients, checkpoint loadable by the policy."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from lead.training.args import build_parser


def _args(cache, config, out, *extra):
    return build_parser().parse_args(["--config", str(config), "--data", str(cache), "--out", str(out),
                                      "--workers", "0", "--batch-size", "2", *map(str, extra)])


def _train(*a):
    from lead.training.train import train

    return train(_args(*a))


@pytest.mark.slow
def test_overfit_loss_falls_tenfold(tiny_cache, tiny_config, tmp_path):
    """Two real frames, no augmentation or dropout: the loss falls 10x within 120 steps (checked every 20)."""
    run = tmp_path / "run"
    common = ("--limit", "2", "--no-augment", "--dropout", "0", "--lr", "2e-3", "--no-val", "--epochs", "1000",
              "--save-every", "1000")
    first = None
    for steps in range(20, 121, 20):
        _train(tiny_cache, tiny_config, run, "--max-steps", steps, *common, *(("--resume",) if first else ()))
        curve = [v for _, v in torch.load(run / "last.pt", weights_only=False)["loss_curve"]]
        first = curve[0]
        if first / min(curve[-3:]) >= 10.0:
            break
    assert first / min(curve[-3:]) >= 10.0, curve[::10]
    print(f"overfit: loss {first:.2f} -> {min(curve[-3:]):.2f} in {len(curve)} steps")


def test_resume_is_exact_and_checkpoint_loads(tiny_cache, tiny_config, tmp_path):
    from lead.inference.checkpoint import load_checkpoint
    from lead.model.tfv6 import build_model

    # augmentation (colour, perturbated views) and dropout on: the RNG and sampler state must resume
    common = ("--deterministic", "--no-val", "--epochs", "10", "--seed", "3")
    a = _train(tiny_cache, tiny_config, tmp_path / "a", "--max-steps", 5, *common)
    assert a["steps"] == 5 and a["epochs"] >= 1  # crosses an epoch boundary (4+ frames, batch 2)
    _train(tiny_cache, tiny_config, tmp_path / "b", "--max-steps", 3, *common)
    b = _train(tiny_cache, tiny_config, tmp_path / "b", "--max-steps", 5, "--resume", *common)
    assert b["steps"] == 5
    wa = torch.load(tmp_path / "a" / "last.pt", weights_only=False)
    wb = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert wa["model"].keys() == wb["model"].keys()
    for k in wa["model"]:
        assert torch.equal(wa["model"][k], wb["model"][k]), k
    assert [x[1] for x in wa["loss_curve"]] == [x[1] for x in wb["loss_curve"]]
    # the epoch checkpoint is what the policy loads
    cfg, state = load_checkpoint(tmp_path / "a" / "model_0001.pth")
    build_model(cfg).load_state_dict(state, strict=True)
    assert wa["data_hash"] == a["data_hash"] and len(a["data_hash"]) == 64


def test_bf16_on_the_cpu_trains_in_bf16(tiny_cache, tiny_config, tmp_path):
    """--precision bf16 on the CPU: same steps and data, losses close to fp32's but not equal (the
    autocast really ran), all finite, and the checkpoint holds fp32 weights the policy loads."""
    common = ("--deterministic", "--no-val", "--no-augment", "--epochs", "1", "--max-steps", "2", "--seed", "1")
    _train(tiny_cache, tiny_config, tmp_path / "fp32", *common)
    _train(tiny_cache, tiny_config, tmp_path / "bf16", "--precision", "bf16", *common)
    curves = [[v for _, v in torch.load(tmp_path / r / "last.pt", weights_only=False)["loss_curve"]]
              for r in ("fp32", "bf16")]
    assert len(curves[0]) == len(curves[1]) == 2
    assert all(torch.isfinite(torch.tensor(c)).all() for c in curves)
    assert curves[0][0] != curves[1][0]
    assert abs(curves[0][0] - curves[1][0]) / curves[0][0] < 0.05, curves
    w = torch.load(tmp_path / "bf16" / "last.pt", weights_only=False)["model"]
    assert all(v.dtype != torch.bfloat16 for v in w.values())


def test_ddp_gloo_gradients_equal_single_process(tiny_cache, tiny_config, tmp_path):
    """torchrun with 2 gloo ranks (1 sample each) vs 1 process (2 samples): same first gradients.

    The embedded world's faces are flat-shaded, so its images hold exactly uniform regions; at
    such ties the image encoder's subgradient is not unique and the batch-1 and batch-2 CPU
    kernels pick differently (worst difference 2e-4 on these frames). +-1 grey level of noise on
    the cached camera images removes the ties (then 2e-6), as a real camera's noise would."""
    import shutil

    import numpy as np

    cache = tmp_path / "cache"
    shutil.copytree(tiny_cache, cache)
    rng = np.random.default_rng(0)
    for f in [*cache.rglob("rgb.npy"), *cache.rglob("perturbed.rgb.npy")]:
        a = np.load(f)
        np.save(f, np.clip(a.astype(np.int16) + rng.integers(-1, 2, a.shape), 0, 255).astype(np.uint8))
    common = ["-m", "lead.training.train", "--config", str(tiny_config), "--data", str(cache),
              "--workers", "0", "--batch-size", "2", "--max-steps", "1", "--no-val", "--no-augment",
              "--dropout", "0", "--bn-eval", "--seed", "1", "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    one = subprocess.run([sys.executable, *common, "--out", str(tmp_path / "one"), "--dump-grads",
                          str(tmp_path / "g1.pt")], env=env, capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          *common, "--out", str(tmp_path / "two"), "--dump-grads", str(tmp_path / "g2.pt")],
                         env=env, capture_output=True, text=True, timeout=240)
    assert two.returncode == 0, two.stderr[-3000:]
    g1, g2 = torch.load(tmp_path / "g1.pt"), torch.load(tmp_path / "g2.pt")
    assert g1["_indices"].tolist()[0] == g2["_indices"].tolist()[0]  # rank 0 got the first of the batch
    names = [k for k in g1 if not k.startswith("_")]
    assert names and names == [k for k in g2 if not k.startswith("_")]
    worst = max(float((g1[k] - g2[k]).abs().max()) for k in names)
    assert worst < 1e-5, worst
    assert any(float(g1[k].abs().max()) > 1e-3 for k in names)  # the gradients are not all zero
