"""Fixtures for lead.io tests: an rclpy context + node on the test's own ROS domain,
and helper processes (tests/io/dds_peer.py) that are always killed at teardown."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lead.io.dds import dds_environment

PEER = Path(__file__).with_name("dds_peer.py")


class Peer:
    """A dds_peer.py process; lines it prints are read with a timeout."""

    def __init__(self, *args: str) -> None:
        env = dict(dds_environment(force=True), PYTHONUNBUFFERED="1")
        self.stderr = tempfile.TemporaryFile(mode="w+")  # a file, so a chatty peer never blocks
        self.proc = subprocess.Popen([sys.executable, str(PEER), *args], stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self.lines: list[str] = []
        self._buf = b""

    def wait_for(self, prefix: str, timeout: float = 30.0) -> str:
        """The next printed line that starts with `prefix`."""
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                self.lines.append(line.decode())
                if self.lines[-1].startswith(prefix):
                    return self.lines[-1]
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break  # the peer exited
            self._buf += chunk
        self.stderr.seek(0)
        err = self.stderr.read()[-2000:]
        self.stop()
        raise AssertionError(f"peer {self.proc.args[2:]} did not print {prefix!r} within {timeout} s; "
                             f"stdout {self.lines}, stderr {err!r}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def peer(ros_domain):
    """Factory starting dds_peer.py processes on this test's domain."""
    started: list[Peer] = []

    def start(*args: str) -> Peer:
        p = Peer(*args)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


@pytest.fixture
def ros_node(ros_domain):
    """(node, executor) in a fresh rclpy context on this test's domain."""
    from tests.dds import TestNode

    t = TestNode("lead_io_test")
    try:
        yield t.node, t.executor
    finally:
        t.close()


def spin_until(executor, predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        executor.spin_once(timeout_sec=0.05)
