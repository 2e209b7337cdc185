"""`lead sim snapshot`: the four PNGs a user looks at, from a rig whose front camera is RGB only."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np


def test_snapshot_writes_rgb_semantic_depth_and_lidar_pngs(tmp_path):
    # the LEAD rig's rgb_2 publishes RGB only; the snapshot still needs its semantics and depth
    out = subprocess.run([sys.executable, "-m", "lead.cli", "sim", "snapshot", "--ticks", "3", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    names = [f"sim_LeadGrid001_rgb_2_{k}.png" for k in ("rgb", "semantic", "depth")] + ["sim_LeadGrid001_lidar_bev.png"]
    for name in names:
        img = cv2.imread(str(tmp_path / name))
        assert img is not None, f"{name} was not written"
        assert len(np.unique(img.reshape(-1, 3), axis=0)) > 3, f"{name} is (nearly) one colour"
