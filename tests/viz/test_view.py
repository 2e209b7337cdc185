"""`lead view`: a real bag from the embedded world -> MP4 with the overlay; the infraction
flashes on the frame of its sim time and not before."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lead.viz.video import read_frames
from tests.viz.bagmaker import make_bag


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("viewbag") / "route.mcap"
    info = make_bag(path, ticks=60, infraction_tick=40)
    return path, info


def _border(frame: np.ndarray) -> np.ndarray:
    """The outer 8 pixels of the frame, where the flash draws its red border."""
    return np.concatenate([frame[:8].reshape(-1, 3), frame[-8:].reshape(-1, 3),
                           frame[:, :8].reshape(-1, 3), frame[:, -8:].reshape(-1, 3)]).astype(float)


def test_lead_view_renders_frames_and_flashes_the_infraction(bag, tmp_path):
    path, info = bag
    out = tmp_path / "route.mp4"
    r = subprocess.run([sys.executable, "-m", "lead.cli", "view", str(path), "-o", str(out), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    frames = read_frames(out)
    # one frame per sim tick at 20 fps, from the first tick to the last
    assert len(frames) == summary["frames"] == info["ticks"]
    h, w = frames[0].shape[:2]
    cam_h, cam_w = info["camera_shape"]
    assert (w, h) == (summary["width"], summary["height"]) == (960, max(400, round(960 * cam_h / cam_w)))
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["start_s"] == pytest.approx(info["first_ns"] / 1e9) and side["route_id"] == "RouteScenario_7_rep0"
    assert summary["infractions"] == 1

    k = int(round((info["infraction_ns"] / 1e9 - side["start_s"]) * side["fps"]))
    before, at, earlier = _border(frames[k - 1]), _border(frames[k]), _border(frames[k - 2])
    red = np.array([40, 40, 235], float)  # BGR of the flash
    # the infraction frame differs from its predecessor where the overlay flashes ...
    assert np.abs(at - before).mean() > 40
    assert np.abs(at - red).mean() < 40
    # ... while the frames before it do not differ there (the camera is the same at most ticks)
    assert np.abs(before - earlier).mean() < 15
    assert np.abs(before - red).mean() > 60
    # the flash lasts one second: 20 frames at 20 fps
    assert np.abs(_border(frames[k + 19]) - red).mean() < 40
    assert np.abs(_border(frames[k + 20]) - red).mean() > 60
    # frames move: the camera and the HUD change along the drive
    assert np.abs(frames[0].astype(float) - frames[-1].astype(float)).mean() > 5


def test_lead_view_errors_are_clear(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lead.cli", "view", str(tmp_path / "missing.mcap")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no such bag file" in r.stderr
    empty = tmp_path / "empty.mcap"
    from lead.io.bag import BagWriter

    with BagWriter(empty) as b:
        from lead.sim import messages as M

        b.write("/clock", M.clock(5), 5)
    r = subprocess.run([sys.executable, "-m", "lead.cli", "view", str(empty)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "no timed messages" in r.stderr
