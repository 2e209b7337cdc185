"""The sensor suite of LEAD's rig casts LiDAR and radar rays on worker threads while the
cameras render in their own process: its readings must be what the same sensors give one after
another in one process, and the same seed must give the same bytes."""
from __future__ import annotations

import numpy as np
import pytest

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

    world = EmbeddedWorld(WorldConfig(rig="lead", render_process=threads))
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
    world.close()
    return out


def test_threaded_ray_casting_and_render_process_read_what_one_thread_reads(monkeypatch):
    threaded = _readings(monkeypatch, threads=True)
    again = _readings(monkeypatch, threads=True)
    sequential = _readings(monkeypatch, threads=False)
    assert {"lidar1", "lidar2", "radar1", "radar4", "rgb_1"} <= set(threaded[0])
    assert sum(len(t["lidar1"]) for t in threaded) > 1000  # the LiDAR sees the town
    for a, b, c in zip(threaded, again, sequential):
        for k in a:
            assert a[k].tobytes() == b[k].tobytes() == c[k].tobytes(), k


def test_cameras_only_on_every_nth_tick_and_the_same_images_there():
    """camera_every (CARLA's sensor_tick for cameras; lead collect: the save rate): the cameras
    give images only on ticks whose index is a multiple, the same images a world rendering every
    tick gives there; LiDAR and the other sensors read every tick."""
    from lead.control.vehicle_control import VehicleControl
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

    def run(every: int) -> list[dict]:
        world = EmbeddedWorld(WorldConfig(rig="minimal", camera_every=every))
        world.load("LeadGrid001", seed=2, num_vehicles=4, num_pedestrians=0)
        sp = world.map.get_spawn_points()[0]
        world.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0, 0, sp.rotation.yaw))
        world.apply_control(VehicleControl(throttle=0.5))
        out = []
        for _ in range(6):
            f = world.tick()
            r = world.sense(f)
            out.append((round(f.time_ns / 50_000_000), {k: v.rgba.copy() for k, v in r.items() if hasattr(v, "rgba")},
                        len(r["lidar"])))
        return out

    every, always = run(3), run(1)
    for (tick, cams, n_lidar), (tick1, cams1, n_lidar1) in zip(every, always):
        assert tick == tick1 and n_lidar == n_lidar1 > 0
        assert cams1, tick
        if tick % 3:
            assert not cams, tick
        else:
            assert set(cams) == set(cams1)
            for k in cams:
                assert cams[k].tobytes() == cams1[k].tobytes(), (tick, k)
    assert sum(1 for t, c, _ in every if c) == 2  # ticks 3 and 6
    with pytest.raises(ValueError, match="camera_every"):
        WorldConfig(camera_every=0)
