"""config/lead.rviz and config/foxglove_layout.json parse, and every topic they show is one
of the contract's (what the world publishes for rig lead or minimal, what the recorder
writes, /lead/markers)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from lead.io.data_table import recorded_topics
from lead.sim.rig import load_rig
from lead.viz.markers import NAMESPACES

CONFIG = Path(__file__).resolve().parents[2] / "config"


def contract_topics() -> set[str]:
    out = {"/lead/markers", "/tf", "/tf_static"}
    for rig in ("lead", "minimal"):
        out |= {t.topic for t in recorded_topics(load_rig(rig), collect=True)}
    return out


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_rviz_config_parses_and_shows_contract_topics():
    cfg = yaml.safe_load((CONFIG / "lead.rviz").read_text())
    vm = cfg["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == "map"
    displays = vm["Displays"]
    classes = {d["Class"] for d in displays}
    assert {"rviz_default_plugins/TF", "rviz_default_plugins/MarkerArray", "rviz_default_plugins/Image",
            "rviz_default_plugins/PointCloud2"} <= classes
    topics = [d["Topic"]["Value"] for d in displays if "Topic" in d]
    assert topics and set(topics) <= contract_topics(), set(topics) - contract_topics()
    markers = next(d for d in displays if d["Class"] == "rviz_default_plugins/MarkerArray")
    assert markers["Topic"]["Value"] == "/lead/markers" and set(markers["Namespaces"]) == set(NAMESPACES)
    assert vm["Views"]["Current"]["Target Frame"] == "ego_vehicle"


def test_foxglove_layout_parses_and_shows_contract_topics():
    cfg = json.loads((CONFIG / "foxglove_layout.json").read_text())
    panels = cfg["configById"]
    leaves: list[str] = []

    def collect(node):
        if isinstance(node, str):
            leaves.append(node)
        else:
            assert node["direction"] in ("row", "column")
            collect(node["first"])
            collect(node["second"])

    collect(cfg["layout"])
    assert sorted(leaves) == sorted(panels), "every panel is placed once, and only defined panels"
    topics = set()
    for pid, panel in panels.items():
        for d in _walk(panel):
            if "imageTopic" in d:
                topics.add(d["imageTopic"])
            if "topicPath" in d:
                topics.add(d["topicPath"].split(".")[0])
        if pid.startswith("3D!"):
            topics |= set(panel["topics"])
            assert panel["followTf"] == "ego_vehicle"
        if pid.startswith("Plot!"):
            topics |= {p["value"].split(".")[0] for p in panel["paths"]}
    assert "/lead/markers" in topics
    assert topics <= contract_topics(), topics - contract_topics()
