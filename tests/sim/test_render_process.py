"""The cameras' render process: the images of CameraRenderer, bit for bit, from a child
process; its shared memory freed on close; a dead child reported with its exit code and
replaced at the next tick."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from lead.sim.embedded.sensors import (Actor, CameraRenderer, CameraSpec, EGLUnavailable, Mesh, SemanticClass,
                                       Weather, box, create_context, ribbon)
from lead.sim.embedded.sensors import render_process
from lead.sim.embedded.sensors.render_process import RenderProcess, RenderProcessError

CAR = Actor("car", (15.0, 0.0, 0.76, 0, 0, 0), (2.45, 1.06, 0.76), (200, 30, 30), actor_id=7)
CAMS = [CameraSpec("front", (0.0, 0.0, 2.0, 0, 0, 0), 160, 96, 90.0),
        CameraSpec("left", (0.0, -0.3, 2.0, 0, 0, -60), 96, 64, 60.0)]


def _plane(half: float = 200.0) -> Mesh:
    xs = np.linspace(-half, half, 9)
    return ribbon(np.column_stack([xs, np.full(9, -half), np.zeros(9)]),
                  np.column_stack([xs, np.full(9, half), np.zeros(9)]), (100, 100, 100), SemanticClass.ROADS)


@pytest.fixture(scope="module")
def local():
    try:
        ctx = create_context()
    except EGLUnavailable as e:
        pytest.skip(f"camera tests need a headless EGL OpenGL context: {e}")
    r = CameraRenderer(_plane(), ctx=ctx)
    yield r
    r.release()
    ctx.release()


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for name in ("rgba", "depth", "semantic"):
            u, v = getattr(x, name), getattr(y, name)
            assert (u is None) == (v is None), name
            if u is not None:
                assert u.shape == v.shape and u.dtype == v.dtype and u.tobytes() == v.tobytes(), name


def test_the_render_process_draws_what_the_renderer_draws(local):
    pose = np.eye(4)
    pose[:3, 3] = (3.0, 1.0, 0.0)
    weather = Weather(sun_altitude_angle=20.0, fog_density=30.0)
    proc = RenderProcess(_plane())
    try:
        for cams, channels in ((CAMS, ("rgb",)), (CAMS, ("rgb", "depth", "semantic")),
                               ([CameraSpec("big", (0, 0, 2.0, 0, 0, 0), 400, 300, 90.0)], ("rgb", "depth"))):
            got = proc.render(cams, pose, [CAR], weather, channels=channels)
            _same(got, local.render(cams, pose, [CAR], weather, channels=channels))
        first = proc.render(CAMS, None, [CAR])
        again = proc.render(CAMS, None, [])
        assert first[0].rgba.tobytes() != again[0].rgba.tobytes()  # images of their own, not views
        _same(first, local.render(CAMS, None, [CAR]))
        # a new map: the mesh is replaced in the same process
        wall = box((30.0, 0.0, 5.0), (1.0, 20.0, 5.0), (90, 90, 90), SemanticClass.BUILDINGS)
        proc.set_static_mesh(wall)
        other = CameraRenderer(wall, ctx=local.ctx)
        try:
            _same(proc.render(CAMS, None, [CAR]), other.render(CAMS, None, [CAR]))
        finally:
            other.release()
        shm = Path("/dev/shm") / proc._shm[0].name.lstrip("/")
        assert shm.exists()
    finally:
        proc.close()
    assert not shm.exists()  # the shared block is unlinked
    proc.close()  # idempotent
    with pytest.raises(RenderProcessError):
        proc.render(CAMS)


def test_a_dead_render_process_is_reported_with_its_exit_code(local):
    proc = RenderProcess(_plane())
    try:
        os.kill(proc._proc.pid, signal.SIGSTOP)  # it cannot answer before it dies
        proc.submit(CAMS, None, [CAR])
        os.kill(proc._proc.pid, signal.SIGKILL)
        with pytest.raises(RenderProcessError, match="exit code -9"):
            proc.result()
        assert not proc.alive
    finally:
        proc.close()


def test_a_hung_render_process_is_killed_after_the_timeout(monkeypatch):
    monkeypatch.setattr(render_process, "RENDER_TIMEOUT_S", 0.5)
    proc = RenderProcess(_plane())
    try:
        os.kill(proc._proc.pid, signal.SIGSTOP)
        proc.submit(CAMS)
        with pytest.raises(RenderProcessError, match="hung and was killed"):
            proc.result()
        assert proc._proc.poll() is not None and not proc.alive
    finally:
        proc.close()


def test_the_world_replaces_a_render_process_that_died_between_ticks(caplog):
    from lead.control.vehicle_control import VehicleControl
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

    def world(render_process: bool) -> EmbeddedWorld:
        w = EmbeddedWorld(WorldConfig(rig="minimal", render_process=render_process))
        w.load("LeadGrid001", seed=3, num_vehicles=4, num_pedestrians=2)
        sp = w.map.get_spawn_points()[0]
        w.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0, 0, sp.rotation.yaw))
        w.apply_control(VehicleControl(throttle=0.5))
        return w

    a, b = world(True), world(False)
    try:
        for tick in range(3):
            ra, rb = a.sense(a.tick()), b.sense(b.tick())
            cams = [k for k, v in rb.items() if hasattr(v, "rgba")]
            assert cams
            for k in cams:
                assert ra[k].rgba.tobytes() == rb[k].rgba.tobytes(), (tick, k)
            if tick == 0:
                child = a.camera_renderer()._proc
                child.kill()
                child.wait()
        assert "render process is gone" in caplog.text
        assert a.camera_renderer()._proc.pid != child.pid
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("render_process", [True, False])
def test_a_renderer_kept_across_routes_draws_what_a_new_world_draws(render_process):
    """The world keeps its renderer (child process or GL context) when a route loads the town
    again: the images of the second route equal those of a world that starts with it."""
    from lead.control.vehicle_control import VehicleControl
    from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

    def drive(w: EmbeddedWorld, seed: int) -> list[bytes]:
        w.load("LeadGrid001", seed=seed, num_vehicles=3, num_pedestrians=1)
        sp = w.map.get_spawn_points()[seed]
        w.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0, 0, sp.rotation.yaw))
        w.apply_control(VehicleControl(throttle=0.5))
        out = []
        for _ in range(2):
            r = w.sense(w.tick())
            out += [v.rgba.tobytes() for k, v in sorted(r.items()) if hasattr(v, "rgba")]
        return out

    kept = EmbeddedWorld(WorldConfig(rig="minimal", render_process=render_process))
    fresh = EmbeddedWorld(WorldConfig(rig="minimal", render_process=render_process))
    try:
        drive(kept, 1)
        renderer = kept.camera_renderer()
        second = drive(kept, 2)
        assert kept.camera_renderer() is renderer  # the same process / context, a new mesh
        assert second and second == drive(fresh, 2)
    finally:
        kept.close()
        fresh.close()
