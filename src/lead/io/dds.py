"""The Fast DDS transport every lead process uses (DESIGN.md §4, corrected at stop 16).

Shared memory only, messages up to 4 MB sent whole, a 16 MB socket size. Each participant
maps a segment of twice the socket size in /dev/shm, which is RAM (33.5 MB here; LARGE_DATA's
9.1 MB). Measured on these machines (Fast DDS 3.2.3, rmw_fastrtps 9.3.3, 2 cores):

- a 1024x512 bgra8 image between two processes: p50 4.1 ms (LARGE_DATA 4.4-6.2 ms, Fast DDS's
  default UDP + 512 KB shared memory 35.7 ms: it cuts the image into 64 KB fragments);
- sizing: with a 4 MB socket size (8.4 MB segment) `bench/collect_bench.py` (LEAD rig) recorded
  274 of 386 ticks; 16 MB and 32 MB recorded all 386;
- discovery: three processes starting together on a reused domain failed to match a pair
  in 2 of 40 tries (twice) with LARGE_DATA and 0 of 40 with this; with LARGE_DATA whole test
  runs lost a topic or a service for good about twice per `make test`;
- LARGE_DATA's TCP transport can also hang for good deleting a participant (lead.nodes._spin);
- ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST loses the fast path with either setting (the same
  image: ~37 ms): leave the range at its default.

The price: every participant talking to lead must be on this host and use the same setting
(as LARGE_DATA also required). A user's own FASTDDS_BUILTIN_TRANSPORTS wins.

Discovery: lead's processes also get FASTDDS_DEFAULT_PROFILES_FILE = fastdds_profile.xml (30
initial participant announcements 100 ms apart, then one a second; the file has the
measurements): with Fast DDS's defaults (5, then every 3 s) most graph starts here lost 3-4 s
to a pair of participants that had not heard each other. Only timing: a participant without
it still matches. A user's own profiles file (either variable) wins.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

VARIABLE = "FASTDDS_BUILTIN_TRANSPORTS"
TRANSPORTS = "SHM?max_msg_size=4MB&sockets_size=16MB"
# discovery timing for participants that start together (the file says why and what it measured)
PROFILES_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
PROFILES_FILE = Path(__file__).with_name("fastdds_profile.xml")
_USER_PROFILES = (PROFILES_VARIABLE, "FASTRTPS_DEFAULT_PROFILES_FILE")


def dds_environment(base: Mapping[str, str] | None = None, *, force: bool = False) -> dict[str, str]:
    """`base` (default: this process's environment) with lead's transport and discovery
    profile, unless the user chose their own (or `force`, for tests that must all speak the same)."""
    env = dict(os.environ if base is None else base)
    if force:
        env[VARIABLE] = TRANSPORTS
        env[PROFILES_VARIABLE] = str(PROFILES_FILE)
    else:
        env.setdefault(VARIABLE, TRANSPORTS)
        if not any(env.get(v) for v in _USER_PROFILES):
            env[PROFILES_VARIABLE] = str(PROFILES_FILE)
    return env


def slow_settings(env: Mapping[str, str]) -> list[str]:
    """Why lead's topics would be slow with this environment (one sentence each, none if fine)."""
    out = []
    if env.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").upper() == "LOCALHOST":
        out.append("ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST: Fast DDS then sends images over UDP "
                   "(a 1024x512 camera ~37 ms instead of ~4 ms between nodes); unset it to keep shared memory")
    transports = env.get(VARIABLE, TRANSPORTS)
    if transports.split("?")[0].upper() in ("DEFAULT", "UDPV4", "UDPV6", "DEFAULTV6"):
        out.append(f"{VARIABLE}={transports}: large messages are cut into 64 KB fragments "
                   f"(~9x slower for a camera image than lead's {TRANSPORTS})")
    return out


def clean_zombie_shm() -> int:
    """Delete the /dev/shm files of Fast DDS participants whose process died without removing
    them (SIGKILL, a teardown deadline): each holds its segment in RAM. Uses Fast DDS's own
    `fastdds shm clean` (the ros-fastdds wheel ships it under <prefix>/tools/fastdds), which
    only deletes files whose owner no longer holds their lock. Returns the number of zombie
    segments deleted (0 when the tool is not there)."""
    import contextlib
    import io
    import re

    clean = _fastdds_shm_clean()
    if clean is None:
        return 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        clean().run(False)
    m = re.search(r"(\d+) zombie segments cleaned", out.getvalue())
    return int(m.group(1)) if m else 0


@functools.lru_cache(maxsize=1)
def _fastdds_shm_clean():
    """The `Clean` class of the wheel's `fastdds shm` tool, loaded once (None if absent)."""
    import importlib.util
    import sys
    from pathlib import Path

    tool = Path(sys.prefix) / "tools" / "fastdds" / "shm" / "clean.py"
    if not tool.is_file():
        return None
    spec = importlib.util.spec_from_file_location("lead_fastdds_shm_clean", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Clean
