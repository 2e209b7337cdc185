"""Per-tick timing logs of the driving nodes (preprocess, policy, controller), for the latency
benchmark and the backend-parity check: one JSON object a line in <dir>/<node name>.jsonl, wall
times from time.monotonic_ns() (system-wide on Linux, so the files of different processes
compare)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO


def open_timing_log(directory: str, node_name: str) -> IO[str] | None:
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    return open(os.path.join(directory, f"{node_name}.jsonl"), "a", buffering=1)


def read_timing_log(path: str | os.PathLike, missing_ok: bool = False) -> list[dict]:
    """The rows of a timing log. A last line cut short (the node is still writing, or was
    stopped mid-line) is left out; another bad line is a ValueError naming file and line. A
    missing file is FileNotFoundError, or no rows with `missing_ok` (a node not started yet)."""
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return []
        raise FileNotFoundError(f"{path}: no timing log (was the graph run with -p timing_dir=...?)")
    lines = path.read_text().splitlines()
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i == len(lines):
                break
            raise ValueError(f"{path}:{i}: not a JSON line ({e})") from None
    return rows
