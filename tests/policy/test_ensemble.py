"""Ensembles of checkpoints (LEAD runs three seeds per model): a comma-separated checkpoint opens
every member on any backend, the outputs combine as LEAD combines them, and members that do
not fit together fail with the checkpoint named."""
from __future__ import annotations

import numpy as np
import pytest

from lead.inference.checkpoint import random_model, save_checkpoint
from lead.inference.ensemble import EnsembleRuntime, combine_outputs, split_checkpoints
from lead.inference.policy import Policy
from lead.inference.runtime import model_config_of, open_runtime
from lead.model.tfv6 import example_inputs


@pytest.fixture(scope="module")
def second_checkpoint(tmp_path_factory):
    model = random_model("tfv6_small", 11)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt2") / "seed11.pt", model.cfg, model.state_dict(), seed=11)


def _inputs(cfg):
    return {k: v.numpy() for k, v in example_inputs(cfg, 1, seed=3).items()}


def test_combine_follows_lead():
    speeds = (0.0, 4.0, 8.0)
    a = {"route": np.array([[[1.0, 0.0]]]), "target_speed_logits": np.array([[0.0, 2.0, 0.0]]),
         "target_speed": np.array([99.0]), "bev_semantic": np.array([[[[0.9]], [[0.1]]]]),
         "depth": np.array([[[2.0]]])}
    b = {"route": np.array([[[3.0, 1.0]]]), "target_speed_logits": np.array([[0.0, 0.0, 2.0]]),
         "target_speed": np.array([-99.0]), "bev_semantic": np.array([[[[0.2]], [[0.7]]]]),
         "depth": np.array([[[4.0]]])}
    out = combine_outputs([a, b], speeds)
    assert np.allclose(out["route"], [[[2.0, 0.5]]])
    assert np.allclose(out["target_speed_logits"], [[0.0, 1.0, 1.0]])
    p = np.exp([0.0, 1.0, 1.0]) / np.exp([0.0, 1.0, 1.0]).sum()
    assert np.allclose(out["target_speed"], [p @ speeds])  # from the averaged logits, not the mean speed
    assert np.allclose(out["bev_semantic"][0, :, 0, 0], [0.2, 0.7])  # class 0: min; other classes: max
    assert np.allclose(out["depth"], [[[3.0]]])
    assert combine_outputs([a], speeds)["target_speed"][0] == 99.0  # one member: untouched


def test_split_checkpoints():
    assert split_checkpoints("a.pt, b.pt,,c.pt ") == ["a.pt", "b.pt", "c.pt"]
    assert split_checkpoints("models/tfv6_small") == ["models/tfv6_small"]


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_ensemble_runtime_averages_its_members(small_checkpoint, second_checkpoint, inference_cache, backend):
    spec = f"{small_checkpoint},{second_checkpoint}"
    rt = open_runtime(backend, checkpoint=spec, cache_dir=inference_cache, perception=False)
    assert isinstance(rt, EnsembleRuntime) and len(rt.members) == 2
    x = _inputs(rt.config)
    one = open_runtime(backend, checkpoint=small_checkpoint, cache_dir=inference_cache, perception=False).run(x)
    two = open_runtime(backend, checkpoint=second_checkpoint, cache_dir=inference_cache, perception=False).run(x)
    got = rt.run(x)
    assert np.allclose(got["route"], (one["route"] + two["route"]) / 2, atol=1e-6)
    assert not np.allclose(got["route"], one["route"])  # the second member counts
    assert [m["checkpoint"] for m in rt.describe()["ensemble"]] == [str(small_checkpoint), str(second_checkpoint)]
    assert model_config_of(spec).name == "tfv6_small"
    # the policy plans from the combined outputs like from one model's
    plan = Policy(rt).step({k: v[0] for k, v in x.items()})
    assert not plan.emergency_brake and np.allclose(plan.route, got["route"][0], atol=1e-6)


def test_members_that_do_not_fit_are_named(small_checkpoint, tmp_path):
    from lead.model.config import config_from_dict

    cfg = random_model("tfv6_small", 1).cfg.to_dict()
    cfg["planning"] = {**cfg["planning"], "num_route_points": 12}
    other = random_model(config_from_dict(cfg), 1)
    bad = save_checkpoint(tmp_path / "twelve.pt", other.cfg, other.state_dict(), seed=1)
    with pytest.raises(ValueError, match=r"twelve.pt: outputs differ from .*tfv6_small.pt"):
        open_runtime("torch", checkpoint=f"{small_checkpoint},{bad}", perception=False)
    with pytest.raises(FileNotFoundError, match="missing.pt: no such checkpoint"):
        open_runtime("torch", checkpoint=f"{small_checkpoint},{tmp_path / 'missing.pt'}")


def test_eval_names_a_missing_member_before_starting_any_node(small_checkpoint, tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "lead.cli", "eval", "--agent", "tfv6", "--checkpoint",
                        f"{small_checkpoint},{tmp_path / 'seed2.pth'}", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "seed2.pth: no such checkpoint" in r.stderr and "[world]" not in r.stdout
