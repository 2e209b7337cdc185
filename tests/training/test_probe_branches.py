"""scripts/probe_branches.py: the open-loop probe of the route head on junction branches."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from .test_branches import _write_branch

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("probe_branches", ROOT / "scripts" / "probe_branches.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_prediction_follows_the_path_whose_end_it_lies_nearer():
    follows = _script().follows
    expert_end, branch_end = (20.0, 0.0), (8.0, -8.0)        # straight on / a right turn
    assert follows((18.0, 1.0), expert_end, branch_end)       # asked straight, went straight
    assert not follows((9.0, -7.0), expert_end, branch_end)   # asked straight, turned
    assert follows((9.0, -7.0), branch_end, expert_end)       # asked to turn, turned
    assert not follows((14.0, -4.0), expert_end, branch_end)  # halfway between: a tie is no


def test_probe_runs_each_branch_frame_both_ways(tiny_cache_copy, tiny_config, tmp_path, capsys):
    from lead.inference.checkpoint import random_model, save_checkpoint

    cache, cfg, shard, n = tiny_cache_copy
    _write_branch(shard, n, 1)
    model = random_model(tiny_config)
    ck = save_checkpoint(tmp_path / "m.pth", model.cfg, model.state_dict())
    # one route: with val fraction 1 it is the validation split
    assert _script().main([str(ck), "--data", str(cache), "--val-fraction", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (r,) = out["results"]
    for view in ("nominal", "perturbated"):
        assert r[view]["frames"] == 1
        # the counts are follows() on the model's own outputs, so here only the plumbing is checked
        assert r[view]["follows_expert_inputs"] in (0, 1) and r[view]["follows_branch_inputs"] in (0, 1)


def test_probe_names_a_folder_that_is_no_cache(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as e:
        _script().main(["x.pth", "--data", str(tmp_path)])
    assert e.value.code == 2 and "not a cache" in capsys.readouterr().err
