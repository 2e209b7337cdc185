"""The cameras rendered in a child process, beside the ray casting.

In one process the cameras and the LiDARs cannot run together: moderngl keeps the GIL while
llvmpipe draws and reads the frame back, so the ray-casting threads stall behind it (measured
with the LEAD rig: rendering and casting on two threads took as long as one after the other).
A child process owns the GL context and the map mesh; each tick the parent sends the camera
poses, actors and weather, casts its rays meanwhile, and takes the images from shared memory.

`RenderProcess` renders exactly what `CameraRenderer` renders (same code, same inputs: the
images are bit-identical) and has the same `submit` / `result` / `render` calls, so the
sensor suite uses either. The child is `python -m lead.sim.embedded.sensors.render_process`
(not multiprocessing's spawn, which would import the caller's main script again: a script
without a `__main__` guard would start worlds recursively), talking over a socket pair.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import traceback
import weakref
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Sequence

import numpy as np

from .camera import _TARGETS, CHANNELS, CameraImages, CameraSpec, EGLUnavailable, _attachments, _Atlas
from .meshes import Mesh
from .scene import Actor, Weather

START_TIMEOUT_S = 120.0  # interpreter start, imports, EGL context, map upload
RENDER_TIMEOUT_S = 60.0  # one render (llvmpipe: tens of ms; a hung driver: never)


class RenderProcessError(RuntimeError):
    """The camera render process failed or exited."""


def _layout(cameras: Sequence[CameraSpec], channels) -> tuple[_Atlas, list[tuple[tuple[int, ...], np.dtype, int]]]:
    """The atlas of a render and, per read-back attachment, its (shape, dtype, byte offset) in
    the shared block."""
    atlas = _Atlas(tuple((c.width, c.height) for c in cameras))
    parts, offset = [], 0
    for _, comps, _, dtype in _TARGETS[:_attachments(channels)]:
        shape = (atlas.height, atlas.width, comps) if comps > 1 else (atlas.height, atlas.width)
        parts.append((shape, np.dtype(dtype), offset))
        offset += int(np.prod(shape)) * np.dtype(dtype).itemsize
    return atlas, parts


def _views(buf, parts) -> list[np.ndarray]:
    return [np.ndarray(shape, dtype, buffer=buf, offset=off) for shape, dtype, off in parts]


def _attach(name: str) -> shared_memory.SharedMemory:
    """Open the parent's block without handing it to this process's resource tracker (the
    parent owns and unlinks it; Python 3.11 would otherwise unlink it when the child exits)."""
    from multiprocessing import resource_tracker

    shm = shared_memory.SharedMemory(name=name)
    try:
        resource_tracker.unregister(shm._name, "shared_memory")  # noqa: SLF001 — no public API before 3.13
    except Exception:  # noqa: BLE001 — only the tracker's bookkeeping
        pass
    return shm


def _serve(conn: Connection) -> None:
    """The child: one CameraRenderer; renders each request into the shared block."""
    try:
        mesh, options = conn.recv()
    except (EOFError, OSError):
        return  # the parent is gone
    try:
        from .camera import CameraRenderer

        renderer = CameraRenderer(mesh, **options)
    except Exception as e:  # noqa: BLE001 — reported to the parent, which raises it
        conn.send(("error", type(e).__name__, str(e)))
        return
    conn.send(("ready",))
    shm = None
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if request is None:
                return
            try:
                if request[0] == "mesh":
                    renderer.set_static_mesh(request[1])
                    conn.send(("ready",))
                    continue
                _, name, cameras, parent_pose, actors, weather, channels = request
                if shm is None or shm.name != name:
                    if shm is not None:
                        shm.close()
                    shm = _attach(name)
                images = renderer.render(cameras, parent_pose, actors, weather, reuse_buffers=True, channels=channels)
                del images  # views of the renderer's read-back buffers, copied whole below
                _, parts = _layout(cameras, channels)
                for src, dst in zip(renderer._readback, _views(shm.buf, parts)):  # noqa: SLF001
                    np.copyto(dst, src)
                conn.send(("done",))
            except Exception as e:  # noqa: BLE001 — this render failed; the process stays up
                conn.send(("error", type(e).__name__, "".join(traceback.format_exception(e))))
    finally:
        if shm is not None:
            shm.close()
        renderer.release()


def _shutdown(proc: subprocess.Popen, conn: Connection, shm_box: list) -> None:
    try:
        conn.send(None)
    except (OSError, ValueError):
        pass
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5.0)
    conn.close()
    for shm in shm_box:
        shm.close()
        shm.unlink()
    shm_box.clear()


class RenderProcess:
    """A CameraRenderer in a child process (spawned: a fresh interpreter, no inherited threads
    or GL state). Raises EGLUnavailable when the child cannot create its context and
    RenderProcessError when it fails later; `close()` (or garbage collection) stops it."""

    asynchronous = True  # submit() returns at once; the render runs beside the caller

    def __init__(self, static_mesh: Mesh, **renderer_options):
        parent_sock, child_sock = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(child_sock.fileno())], pass_fds=(child_sock.fileno(),),
            stdin=subprocess.DEVNULL)
        child_sock.close()
        self._conn = Connection(parent_sock.detach())
        self._shm: list[shared_memory.SharedMemory] = []  # the current block (a list: shared with the finalizer)
        self._pending = None
        self._finalizer = weakref.finalize(self, _shutdown, self._proc, self._conn, self._shm)
        self._conn.send((static_mesh, renderer_options))
        if not self._conn.poll(START_TIMEOUT_S):
            self.close()
            raise RenderProcessError(f"the camera render process did not start within {START_TIMEOUT_S:.0f} s")
        reply = self._receive()
        if reply[0] == "error":
            self.close()
            exc = EGLUnavailable if reply[1] == "EGLUnavailable" else RenderProcessError
            raise exc(f"camera render process: {reply[1]}: {reply[2]}")

    def set_static_mesh(self, mesh: Mesh) -> None:
        """Replace the map mesh (a new map), keeping the process and its GL context."""
        if self._pending is not None:
            raise RuntimeError("RenderProcess.set_static_mesh during a render")
        if not self.alive:
            raise RenderProcessError("the camera render process was closed or exited")
        self._conn.send(("mesh", mesh))
        reply = self._receive()
        if reply[0] == "error":
            raise RenderProcessError(f"camera render process: {reply[1]}: {reply[2]}")

    def _receive(self):
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._exited()

    def _exited(self):
        """Raise RenderProcessError with the child's exit code (and clean up after it)."""
        try:
            code = self._proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        raise RenderProcessError(f"the camera render process exited (exit code {code})") from None

    def _block(self, nbytes: int) -> shared_memory.SharedMemory:
        if not self._shm or self._shm[0].size < nbytes:
            for old in self._shm:
                old.close()
                old.unlink()
            self._shm[:] = [shared_memory.SharedMemory(create=True, size=max(nbytes, 1))]
        return self._shm[0]

    def submit(self, cameras: Sequence[CameraSpec], parent_pose=None, actors: Sequence[Actor] = (),
               weather: Weather | None = None, channels=CHANNELS) -> None:
        """Start rendering; `result()` returns the images. One render at a time."""
        if self._pending is not None:
            raise RuntimeError("RenderProcess.submit: the previous render's result() was not taken")
        if not self._finalizer.alive:
            raise RenderProcessError("the camera render process was closed")
        if self._proc.poll() is not None:
            self._exited()
        cameras = list(cameras)
        atlas, parts = _layout(cameras, channels)
        shape, dtype, offset = parts[-1]
        shm = self._block(offset + int(np.prod(shape)) * dtype.itemsize)
        self._conn.send(("render", shm.name, cameras, parent_pose, list(actors), weather or Weather(), tuple(channels)))
        self._pending = (atlas, parts, shm)

    def result(self) -> list[CameraImages]:
        """The images of the submitted render (arrays of their own, valid after the next one)."""
        if self._pending is None:
            raise RuntimeError("RenderProcess.result: nothing was submitted")
        atlas, parts, shm = self._pending
        self._pending = None
        if not self._conn.poll(RENDER_TIMEOUT_S):
            self._proc.kill()
            self.close()
            raise RenderProcessError(f"no images from the camera render process in {RENDER_TIMEOUT_S:.0f} s: "
                                     "it hung and was killed")
        reply = self._receive()
        if reply[0] == "error":
            raise RenderProcessError(f"camera render failed in the render process: {reply[1]}: {reply[2]}")
        rgba, depth, cls = (*_views(shm.buf, parts), None, None)[:3]
        out = []
        for (cw, ch), (ox, oy) in zip(atlas.sizes, atlas.origins):
            s = np.s_[oy:oy + ch, ox:ox + cw]
            out.append(CameraImages(rgba[s].copy(), None if depth is None else depth[s].copy(),
                                    None if cls is None else cls[s].copy()))
        return out

    def render(self, cameras: Sequence[CameraSpec], parent_pose=None, actors: Sequence[Actor] = (),
               weather: Weather | None = None, channels=CHANNELS) -> list[CameraImages]:
        if not cameras:
            return []
        self.submit(cameras, parent_pose, actors, weather, channels)
        return self.result()

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._proc.poll() is None

    def close(self) -> None:
        """Stop the child and free the shared memory (idempotent)."""
        self._pending = None
        self._finalizer()


def main(argv: list[str]) -> int:
    """The child's entry: the parent passes its end of the socket pair as a file descriptor."""
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m lead.sim.embedded.sensors.render_process FD  (started by RenderProcess)",
              file=sys.stderr)
        return 2
    # the parent's process group gets the terminal's / lead run's SIGINT: the parent stops this
    # process by closing the socket (or sending None), not with a KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(argv[0]))
    try:
        _serve(conn)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent went away while this process was answering
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
