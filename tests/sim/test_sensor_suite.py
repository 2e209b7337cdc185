"""The sensor suite of LEAD's rig casts LiDAR and radar rays on worker threads while the
cameras render: its readings must be what the same sensors give one after another, and the
same seed must give the same bytes."""
from __future__ import annotations

import numpy as np

from lead.sim.embedded import sensor_suite


class _Inline:
    """An executor that runs each job at submit: the suite's sequential order."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        f = Future()
        f.set_result(fn(*args))
        return f


def _readings(monkeypatch, threads: bool, ticks: int = 6) -> list[dict]:
    from lead.control.vehicle_control import VehicleControl
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

    world = EmbeddedWorld(WorldConfig(rig="lead"))
    world.load("LeadGrid001", seed=4, num_vehicles=12, num_pedestrians=6)
    sp = world.map.get_spawn_points()[0]
    world.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0, 0, sp.rotation.yaw))
    world.apply_control(VehicleControl(throttle=0.5))
    if not threads:
        monkeypatch.setattr(sensor_suite.SensorSuite, "_raycast_pool", lambda self: _Inline())
    out = []
    for _ in range(ticks):
        r = world.sense(world.tick())
        out.append({k: (v.rgba.copy() if hasattr(v, "rgba") else np.array(v, copy=True)) for k, v in r.items()
                    if k.startswith(("lidar", "radar", "rgb"))})
    monkeypatch.undo()
    return out


def test_threaded_ray_casting_reads_what_sequential_casting_reads(monkeypatch):
    threaded = _readings(monkeypatch, threads=True)
    again = _readings(monkeypatch, threads=True)
    sequential = _readings(monkeypatch, threads=False)
    assert {"lidar1", "lidar2", "radar1", "radar4", "rgb_1"} <= set(threaded[0])
    assert sum(len(t["lidar1"]) for t in threaded) > 1000  # the LiDAR sees the town
    for a, b, c in zip(threaded, again, sequential):
        for k in a:
            assert a[k].tobytes() == b[k].tobytes() == c[k].tobytes(), k
