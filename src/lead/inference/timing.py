"""Per-tick timing logs of the driving nodes (preprocess, policy, controller), for the latency
benchmark: one JSON object a line in <dir>/<node name>.jsonl, wall times from
time.monotonic_ns() (system-wide on Linux, so the files of different processes compare)."""
from __future__ import annotations

import os
from typing import IO


def open_timing_log(directory: str, node_name: str) -> IO[str] | None:
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    return open(os.path.join(directory, f"{node_name}.jsonl"), "a", buffering=1)
