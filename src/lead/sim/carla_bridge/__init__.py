"""CARLA backend (issue 13): the same stack against a real CARLA server.

- convert.py: carla.Transform/Location/Rotation/Vector3D <-> lead's CARLA-frame tuples and ROS poses
- sensors.py: CARLA sensor buffers -> numpy -> topic-contract messages (lead.sim.messages)
- client.py: connect (retry, version check), synchronous mode, towns, ego + rig, weather, ticks
- lead.nodes.carla_world: the world node on top of it (the embedded world node's interface)

`require_carla` is the check `lead eval --world carla|external` runs before starting the
graph, so users get a clear message in seconds, not a hang.
"""
from __future__ import annotations

import os
import sys

CARLA_HOST = os.environ.get("CARLA_HOST", "localhost")
CARLA_PORT = int(os.environ.get("CARLA_PORT", "2000"))
START_HINT = ("start a CARLA 0.9.15/0.9.16 server first, e.g. `./CarlaUE4.sh -RenderOffScreen -carla-rpc-port=2000` "
              "(or `docker compose -f docker/docker-compose.yml up carla`, see docs/carla.md), then run again; "
              "set CARLA_HOST/CARLA_PORT if it listens elsewhere")


def require_carla(world: str, timeout: float = 5.0) -> int:
    """Check that a CARLA server answers with a matching client version; 0 when the graph
    can start, else an exit code after a message on stderr."""
    from lead.sim.carla_bridge.client import CarlaError, check_versions, connect, host_port

    host, port = host_port()
    try:
        import carla  # noqa: F401
    except ImportError:
        print(f"lead eval --world {world}: the `carla` client package is missing: `pip install -e .[carla]` "
              "(0.9.16 from PyPI) or the wheel in your server's PythonAPI/carla/dist.", file=sys.stderr)
        return 2
    try:
        client = connect(host, port, timeout=timeout, retries=1)
        version = check_versions(client)
    except CarlaError as e:
        print(f"lead eval --world {world}: {e}", file=sys.stderr)
        return 2
    print(f"lead eval --world {world}: CARLA {version} answers at {host}:{port}", file=sys.stderr)
    return 0
