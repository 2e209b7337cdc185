"""The server-free parts of the CARLA client: connection errors, version check, weather,
the per-frame sensor queue, the eval graph's world choice, and `lead eval --world carla`
with no server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from types import SimpleNamespace as NS

import pytest

from lead.sim.carla_bridge.client import (CarlaError, SensorQueue, check_versions, connect, map_basename,
                                          parse_version, version_problem)


def test_versions():
    assert parse_version("0.9.15") == (0, 9, 15) and parse_version("0.9.15-dirty") == (0, 9, 15)
    assert parse_version("nonsense") is None
    assert version_problem("0.9.16", "0.9.16") == ""
    msg = version_problem("0.9.16", "0.9.15")
    assert "0.9.15" in msg and "PythonAPI/carla/dist" in msg and "LEAD_CARLA_ALLOW_VERSION_MISMATCH" in msg
    client = NS(get_server_version=lambda: "0.9.15", get_client_version=lambda: "0.9.16")
    with pytest.raises(CarlaError, match="does not match"):
        check_versions(client, allow_mismatch=False)
    assert check_versions(client, allow_mismatch=True) == "0.9.15"
    assert map_basename("Carla/Maps/Town13") == "Town13" and map_basename("Town01") == "Town01"


def test_connect_retries_then_says_how_to_start_a_server():
    tries, sleeps = [], []

    class Client:
        def __init__(self, host, port):
            tries.append((host, port))

        def set_timeout(self, t):
            pass

        def get_server_version(self):
            raise RuntimeError("time-out of 1000ms while waiting for the simulator")

    with pytest.raises(CarlaError, match="CarlaUE4.sh") as e:
        connect("simhost", 2345, retries=3, retry_delay=0.5, carla=NS(Client=Client), sleep=sleeps.append)
    assert tries == [("simhost", 2345)] * 3 and sleeps == [0.5, 0.5]
    assert "simhost:2345" in str(e.value)


def test_sensor_queue_takes_one_frame():
    q = SensorQueue()
    cb = {s: q.callback(s) for s in ("rgb", "lidar", "collision")}
    cb["rgb"](NS(frame=9))       # stale: dropped
    cb["rgb"](NS(frame=10))
    cb["lidar"](NS(frame=10))
    cb["collision"](NS(frame=10))
    cb["lidar"](NS(frame=11))    # next frame: kept for later
    got = q.collect(10, ["rgb", "lidar"], timeout=1.0)
    assert {k: [d.frame for d in v] for k, v in got.items()} == {"rgb": [10], "lidar": [10], "collision": [10]}
    cb["rgb"](NS(frame=11))
    assert set(q.collect(11, ["rgb", "lidar"], timeout=1.0)) == {"rgb", "lidar"}
    with pytest.raises(CarlaError, match="lidar"):
        q.collect(12, ["lidar"], timeout=0.05)


def test_weather_parameters():
    carla = pytest.importorskip("carla", reason="the CARLA client package (pip install -e .[carla]) is not installed")
    from lead.sim.carla_bridge.client import weather_parameters

    w = weather_parameters({"cloudiness": 80.0, "sun_altitude_angle": -10.0, "wetness": 30.0})
    assert isinstance(w, carla.WeatherParameters)
    assert (w.cloudiness, w.sun_altitude_angle, w.wetness) == (80.0, -10.0, 30.0)


def test_eval_graph_world_choice():
    from lead.graphs import get_graph

    g = get_graph("eval")
    by = {w: {n.name: n for n in g.resolve({"world": w})} for w in ("embedded", "carla", "external")}
    assert by["embedded"]["world"].module == "lead.nodes.world"
    assert get_graph("eval").resolve()[0].module == "lead.nodes.world"  # the default stays embedded
    assert by["carla"]["world"].module == by["external"]["world"].module == "lead.nodes.carla_world"
    assert by["carla"]["world"].parameters["mode"] == "carla"
    assert by["external"]["world"].parameters["mode"] == "external"
    emb, car = by["embedded"]["world"].parameters, by["carla"]["world"].parameters
    # the same parameters as the embedded world, but camera_every (the embedded world's sensor_tick
    # for its cameras; a CARLA rig sets sensor_tick on its camera blueprints) and render_process
    # (the embedded world's camera renderer)
    own = ("camera_every", "render_process")
    assert {k: v for k, v in car.items() if k in emb} == {k: v for k, v in emb.items() if k not in own}
    assert "camera_every" not in car
    for w in by:
        assert [n for n in by[w] if n == "world"] == ["world"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lead_eval_world_carla_without_a_server_fails_fast():
    env = dict(os.environ, CARLA_HOST="127.0.0.1", CARLA_PORT=str(_free_port()))
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "lead.cli", "eval", "--world", "carla", "--routes",
                        "routes/LeadGrid001_routes.xml"], capture_output=True, text=True, env=env, timeout=60,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    took = time.monotonic() - t0
    assert p.returncode != 0
    assert took < 15.0, took
    try:
        import carla  # noqa: F401
    except ImportError:
        assert "pip install -e .[carla]" in p.stderr
    else:
        assert "no CARLA server answered" in p.stderr and "CarlaUE4.sh" in p.stderr, p.stderr
        assert "docs/carla.md" in p.stderr


def test_bridge_objects_definition_is_the_rig():
    from lead.sim.carla_bridge.client import bridge_objects
    from lead.sim.rig import load_rig, parse_rig

    doc = bridge_objects("lead")
    (ego,) = [o for o in doc["objects"] if o["type"].startswith("vehicle.")]
    assert ego["id"] == "ego_vehicle" and ego["type"] == "vehicle.lincoln.mkz_2020"
    ids = [s["id"] for s in ego["sensors"]]
    assert "rgb_1" in ids and "lidar2" in ids and "depth_1" not in ids  # collect-only sensors left out
    assert parse_rig(doc).select(False) == load_rig("lead").select(False)  # the same rig, read back
