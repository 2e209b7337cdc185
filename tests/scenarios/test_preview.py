"""`lead scenario preview` writes a decodable clip that starts before the trigger and
shows the scenario's start event."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_preview_clip_of_a_bench_route(tmp_path):
    import av

    out = tmp_path / "clip.mp4"
    p = subprocess.run([sys.executable, "-m", "lead.cli", "scenario", "preview", str(REPO / "routes/embedded_bench/eval.xml"),
                        "--id", "9", "-o", str(out), "--max-seconds", "3", "--json"],
                       capture_output=True, text=True, timeout=180, cwd=REPO)
    assert p.returncode == 0, p.stderr[-2000:]
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert any("started DynamicObjectCrossing" in e for e in summary["events"]), summary["events"]
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == summary["frames"] >= 30          # 4 s before the trigger + 3 s after, at 10 fps
    assert frames[0].shape == (450, 450, 3)
    assert not (frames[0] == frames[-1]).all()              # the scene moves


def test_preview_unknown_route_is_a_clear_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "lead.cli", "scenario", "preview", str(REPO / "routes/embedded_bench/eval.xml"),
                        "--id", "nope", "-o", str(tmp_path / "x.mp4")], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert p.returncode == 2 and "no route with id 'nope'" in p.stderr
