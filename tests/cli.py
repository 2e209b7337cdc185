"""Run the `lead` CLI in a subprocess the way a user would; when it overruns its time, fail
with what it printed (subprocess.TimeoutExpired alone shows only its first lines)."""
from __future__ import annotations

import subprocess
import sys

LEAD = [sys.executable, "-m", "lead.cli"]


def run(cmd: list[str], timeout: float, merge: bool = False) -> subprocess.CompletedProcess:
    """`cmd` is a full argv; `merge` sends stderr into stdout (one interleaved log)."""
    err = subprocess.STDOUT if merge else subprocess.PIPE
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err_s = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError(f"{' '.join(cmd[1:])} ran past {timeout:.0f} s; its output ends:\n"
                             f"{out[-6000:]}\n--- stderr ---\n{err_s[-3000:]}") from None


def lead(*args: str, timeout: float = 240, merge: bool = False) -> subprocess.CompletedProcess:
    return run([*LEAD, *args], timeout, merge)
