"""The video node in a real `lead eval --video` run (embedded world, route follower, three
short routes of the straight test town, over DDS): one MP4 per route in the results folder
with its sidecar, as long as the route's sim time at the node's frame rate, of the front
camera's size, showing the drive (frames change), where `lead webapp` looks for it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from lead.viz.video import read_frames

TESTS = Path(__file__).parents[1]


def test_eval_with_video_writes_one_mp4_per_route(tmp_path, ros_domain):
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "lead.cli", "eval", "--routes", str(TESTS / "recording" / "data" / "short_routes.xml"),
           "--maps", str(TESTS / "leaderboard" / "data"), "--rig", "minimal", "--num-vehicles", "0",
           "--num-pedestrians", "0", "--out", str(out), "--domain-id", str(ros_domain), "--video",
           "-p", "tick_timeout=30", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads((out / "checkpoint_endpoint.json").read_text())["_checkpoint"]["records"]
    assert len(records) == 3
    for rec in records:
        video = out / rec["route_id"] / "video.mp4"
        side = json.loads((out / rec["route_id"] / "video.json").read_text())
        assert side["route_id"] == rec["route_id"] and side["town"] == "StraightRoad" and side["fps"] == 10.0
        frames = read_frames(video)
        # one frame per 0.1 s of the route's sim time (give or take the first and the final one)
        assert abs(len(frames) - rec["meta"]["duration_game"] * 10) <= 2, (len(frames), rec["meta"])
        assert frames[0].shape[:2] == (side["height"], side["width"]) and side["width"] >= 800  # the 800x? camera + panel
        # the ego drives ~30 m: the picture changes between start and end
        assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5.0
        assert side["start_s"] < 0.5
