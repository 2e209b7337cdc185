"""The TFv6 evaluation launch files: each one runs (with `launch_graph` recording what it is
asked for, since ROS 2 `launch` is not installed here), names the eval graph with agent tfv6 and
the benchmark's rules, and its arguments resolve to the tfv6 nodes with the route file the
benchmark needs (present for the sets ../shared/data ships)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {  # launch file -> (rules, route file name, shipped by ../shared/data or the repo)
    "eval_bench2drive": ("bench2drive", "bench2drive_town01_02_10.xml", "shared"),
    "eval_longest6": ("leaderboard", "longest6_town01_02_10.xml", "shared"),
    "eval_town13": ("leaderboard", "routes_validation.xml", None),
    "eval_fail2drive": ("leaderboard", "fail2drive.xml", None),
    "eval_embedded": ("leaderboard", "eval.xml", "repo"),
}


def _run_launch_file(path: Path, monkeypatch) -> tuple[str, dict]:
    import lead.launch_support

    calls = []
    monkeypatch.setattr(lead.launch_support, "launch_graph", lambda name, **kw: calls.append((name, kw)) or "LD")
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description() == "LD"
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_eval_launch_file(name, monkeypatch):
    from lead.graphs import get_graph

    path = REPO / "launch" / f"{name}.launch.py"
    assert path.exists(), f"{path} missing"
    graph_name, overrides = _run_launch_file(path, monkeypatch)
    assert graph_name == "eval"
    rules, route_file, shipped = EXPECTED[name]
    assert overrides["agent"] == "tfv6" and overrides["rules"] == rules
    routes = Path(overrides["routes"])
    assert routes.name == route_file and routes.is_absolute()
    if shipped == "repo":
        assert routes.is_file(), routes
    elif shipped == "shared" and (REPO.parent / "shared" / "data").is_dir():
        assert routes.is_file(), routes
        assert (Path(overrides["maps"]) / "Town01.xodr").is_file()
    nodes = {n.name: n for n in get_graph("eval").resolve(overrides)}
    assert {"world", "route_manager", "preprocess", "policy", "controller"} <= set(nodes)
    assert "route_follower" not in nodes and "expert" not in nodes
    assert nodes["route_manager"].parameters["rules"] == rules
    assert nodes["route_manager"].parameters["routes"] == str(routes)
    assert nodes["policy"].parameters["checkpoint"] == nodes["preprocess"].parameters["checkpoint"]
    assert nodes["controller"].parameters["creep"] is False  # LEAD's default; `-p creep=true` turns it on
