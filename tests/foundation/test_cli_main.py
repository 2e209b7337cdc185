"""The `lead` entry point itself: a reader that leaves early (`lead ... | head`) ends the command
quietly with the shell's code for SIGPIPE, not a traceback."""
from __future__ import annotations

import os
import subprocess
import sys


def test_closed_stdout_ends_quietly():
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line is written
    try:
        p = subprocess.run([sys.executable, "-m", "lead.cli", "graphs"], stdout=w, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    finally:
        os.close(w)
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr
