"""CARLA backend (issue: CARLA backend and docker). Today: the connection check that
`lead eval --world carla|external` runs, so users get a clear message, not a hang."""
from __future__ import annotations

import os
import sys

CARLA_HOST = os.environ.get("CARLA_HOST", "localhost")
CARLA_PORT = int(os.environ.get("CARLA_PORT", "2000"))
START_HINT = ("start a CARLA 0.9.15/0.9.16 server first, e.g. `./CarlaUE4.sh -RenderOffScreen -carla-rpc-port=2000` "
              "(or the carla-simulator/carla docker image), then run again; set CARLA_HOST/CARLA_PORT if it "
              "listens elsewhere")


def require_carla(world: str, timeout: float = 5.0) -> int:
    """Check that a CARLA server answers; returns an exit code with a message on failure."""
    if world == "external":
        print("lead eval --world external: pointing the stack at a running carla-ros-bridge is not "
              "implemented yet in this version; use --world embedded.", file=sys.stderr)
        return 2
    try:
        import carla  # noqa: F401
    except ImportError:
        print("lead eval --world carla: the `carla` client package is missing: `pip install -e .[carla]` "
              "(0.9.16 from PyPI) or the wheel in your server's PythonAPI/carla/dist.", file=sys.stderr)
        return 2
    import carla

    client = carla.Client(CARLA_HOST, CARLA_PORT)
    client.set_timeout(timeout)
    try:
        version = client.get_server_version()
    except RuntimeError as e:
        print(f"lead eval --world carla: no CARLA server answered at {CARLA_HOST}:{CARLA_PORT} ({e}); "
              f"{START_HINT}", file=sys.stderr)
        return 2
    print(f"lead eval --world carla: server {version} answers, but the CARLA world node is not implemented "
          "yet in this version; use --world embedded.", file=sys.stderr)
    return 2
