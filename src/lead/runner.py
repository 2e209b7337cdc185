"""Start a graph's nodes as child processes and supervise them (what `ros2 launch` does
for a full ROS 2 install, for pip installs that have no `launch` package).

- each node runs as `python -m <module> --ros-args ...` in its own session, so the
  terminal's Ctrl-C reaches only the runner, which then stops the children in order;
- children get PR_SET_PDEATHSIG, so even a SIGKILLed runner leaves no orphans;
- output is prefixed with the node name (coloured on a terminal);
- respawn for nodes marked so; a `required` node's exit stops the graph; so does a respawned
  node that keeps failing as it starts (START_FAILURES exits in a row, each within
  START_WINDOW seconds of its start: a bad parameter or checkpoint, which no respawn mends);
- a node marked sched_idle (the recorder) starts under Linux's SCHED_IDLE.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from lead.graphs import NodeSpec, ros_arguments

_COLOURS = ["36", "32", "33", "35", "34", "96", "92", "93", "95", "94"]
_PR_SET_PDEATHSIG = 1
START_FAILURES = 3     # exits in a row ...
START_WINDOW = 10.0    # ... each this soon (s) after its start: the node cannot start as configured


def node_environment(domain_id: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment every lead process runs with (lead.io.dds: the shared-memory transport)."""
    from lead.io.dds import dds_environment

    env = dds_environment(base)
    env["PYTHONUNBUFFERED"] = "1"
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    return env


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGTERM it when the runner dies.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _idle_and_die_with_parent() -> None:
    # the same, and SCHED_IDLE (NodeSpec.sched_idle) before exec, so every thread inherits it
    _die_with_parent()
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass  # not Linux: the node runs at normal priority


@dataclass
class _Child:
    spec: NodeSpec
    colour: str
    proc: subprocess.Popen | None = None
    restart_at: float | None = None
    starts: int = 0
    started_at: float = 0.0
    start_failures: int = 0  # exits in a row within START_WINDOW of a start
    cpu_s: float = 0.0   # CPU seconds of its ended runs (os.wait4's rusage)
    reader: threading.Thread | None = field(default=None, repr=False)

    def poll(self) -> int | None:
        """The exit code once the process ended (reaping it with its CPU time), else None."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            return proc.poll()
        if pid == 0:
            return None
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_s += usage.ru_utime + usage.ru_stime
        return proc.returncode


class GraphRunner:
    """Runs a list of NodeSpec until stopped, a required node exits, or `timeout` passes."""

    def __init__(self, nodes: list[NodeSpec], domain_id: int | None = None, out: IO[str] | None = None,
                 colour: bool | None = None, stop_grace: float = 5.0, extra_env: dict[str, str] | None = None):
        self.out = out or sys.stdout
        self.colour = self.out.isatty() if colour is None else colour
        self.env = node_environment(domain_id)
        self.env.update(extra_env or {})
        self.stop_grace = stop_grace
        self.children = [_Child(n, _COLOURS[i % len(_COLOURS)]) for i, n in enumerate(nodes)]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = time.monotonic()
        self.exit_code = 0

    # -- output --------------------------------------------------------------
    def _print(self, name: str, colour: str, line: str) -> None:
        prefix = f"\033[{colour}m[{name}]\033[0m " if self.colour else f"[{name}] "
        with self._lock:
            self.out.write(prefix + line.rstrip("\n") + "\n")
            self.out.flush()

    def log(self, line: str) -> None:
        self._print("lead run", "1", line)

    def _pump(self, child: _Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._print(child.spec.name, child.colour, raw.decode(errors="replace"))
        stream.close()

    # -- processes -----------------------------------------------------------
    def _start(self, child: _Child) -> None:
        cmd = [sys.executable, "-m", child.spec.module, *ros_arguments(child.spec)]
        child.proc = subprocess.Popen(
            cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_idle_and_die_with_parent if child.spec.sched_idle else _die_with_parent,
        )
        child.starts += 1
        child.started_at = time.monotonic()
        child.restart_at = None
        child.reader = threading.Thread(target=self._pump, args=(child, child.proc.stdout), daemon=True)
        child.reader.start()
        what = "started" if child.starts == 1 else f"respawned (#{child.starts - 1})"
        self.log(f"{child.spec.name} {what}: pid {child.proc.pid}, {child.spec.module}")

    def pids(self) -> list[int]:
        return [c.proc.pid for c in self.children if c.proc and c.poll() is None]

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    def run(self, timeout: float | None = None) -> int:
        """Supervise in the calling thread (it must outlive the children: PDEATHSIG is per thread)."""
        from lead.io.dds import slow_settings

        for why in slow_settings(self.env):
            self.log(f"warning: {why}")
        self._started = time.monotonic()
        for c in self.children:
            self._start(c)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._stop.wait(0.1):
                if deadline is not None and time.monotonic() > deadline:
                    self.log(f"timeout of {timeout:g} s reached")
                    break
                self._supervise()
        finally:
            self._shutdown()
        return self.exit_code

    def _supervise(self) -> None:
        now = time.monotonic()
        for c in self.children:
            if c.proc is None:
                if c.restart_at is not None and now >= c.restart_at:
                    self._start(c)
                continue
            code = c.poll()
            if code is None:
                continue
            c.proc = None
            if c.reader:
                c.reader.join(timeout=1.0)
            if c.spec.required:
                self.log(f"{c.spec.name} (required) exited with code {code}: stopping the graph")
                self.exit_code = code
                self._stop.set()
                return
            c.start_failures = c.start_failures + 1 if code != 0 and now - c.started_at < START_WINDOW else 0
            if c.spec.respawn and c.start_failures >= START_FAILURES:
                self.log(f"{c.spec.name} exited with code {code} within {START_WINDOW:g} s of starting, "
                         f"{c.start_failures} times in a row: it cannot start as configured (its output above "
                         "says why); stopping the graph")
                self.exit_code = code
                self._stop.set()
                return
            if c.spec.respawn:
                self.log(f"{c.spec.name} exited with code {code}; respawning in {c.spec.respawn_delay:g} s")
                c.restart_at = now + c.spec.respawn_delay
            else:
                self.log(f"{c.spec.name} exited with code {code}")
        if all(c.proc is None and c.restart_at is None for c in self.children):
            self.log("every node has exited")
            self._stop.set()

    def _signal_all(self, sig: int) -> None:
        for c in self.children:
            if c.proc and c.poll() is None:
                try:
                    os.killpg(c.proc.pid, sig)  # the node and anything it started
                except ProcessLookupError:
                    pass

    def _wait_all(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if all(c.proc is None or c.poll() is not None for c in self.children):
                return True
            time.sleep(0.05)
        return False

    def _shutdown(self) -> None:
        live = [c.spec.name for c in self.children if c.proc and c.poll() is None]
        if live:
            self.log(f"stopping {', '.join(live)}")
        for sig, grace in ((signal.SIGINT, self.stop_grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            self._signal_all(sig)
            if self._wait_all(grace):
                break
            if sig != signal.SIGKILL:
                still = [c.spec.name for c in self.children if c.proc and c.poll() is None]
                self.log(f"{', '.join(still)} did not stop on {signal.Signals(sig).name}; escalating")
        for c in self.children:
            if c.reader:
                c.reader.join(timeout=1.0)
        used = sorted(((c.cpu_s, c.spec.name) for c in self.children if c.cpu_s > 0), reverse=True)
        if used:  # who used the machine: the first thing to read when a graph runs slowly
            wall = time.monotonic() - self._started
            self.log(f"CPU time per node over {wall:.0f} s wall: "
                     + ", ".join(f"{name} {cpu:.1f} s" for cpu, name in used)
                     + f" (total {sum(cpu for cpu, _ in used):.1f} s)")
        from lead.io.dds import clean_zombie_shm

        if n := clean_zombie_shm():  # a node killed above, or a crash, left its segment in RAM
            self.log(f"removed {n} shared-memory segment(s) of DDS participants that had died")
