"""Shared fixtures: repo paths, ../shared data (skipped with a reason when absent),
and a per-test ROS_DOMAIN_ID so DDS tests never hear each other."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lead.io import dds

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEAD_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    p = SHARED.joinpath("data", *parts)
    if not p.exists():
        pytest.skip(f"{p} is absent: this test needs the shared data of ../shared/data")
    return p


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
def carla_maps() -> Path:
    return shared_path("maps", "carla")


@pytest.fixture
def repo() -> Path:
    return REPO


_DOMAIN_BASE = int(os.environ.get("LEAD_TEST_DOMAIN_BASE", "40"))
_domain = [0]
MAX_DOMAIN = 232  # Fast DDS computes ports from the domain id; above 232 they pass 65535 and it aborts


@pytest.fixture
def ros_domain(monkeypatch):
    """A fresh ROS_DOMAIN_ID for this test (and the processes it starts), cycling through
    20 ids from LEAD_TEST_DOMAIN_BASE (ids past 232, which Fast DDS refuses, fold into
    215..232), with lead's DDS transport (lead.io.dds) and the default discovery range."""
    _domain[0] = (_domain[0] + 1) % 20
    d = _DOMAIN_BASE + _domain[0]
    if d > MAX_DOMAIN:
        d = 215 + d % (MAX_DOMAIN - 215 + 1)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(d))
    monkeypatch.setenv(dds.VARIABLE, dds.TRANSPORTS)
    monkeypatch.setenv(dds.PROFILES_VARIABLE, str(dds.PROFILES_FILE))
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    yield d
    dds.clean_zombie_shm()  # what this test's killed processes left in /dev/shm (RAM)


def pytest_sessionfinish(session, exitstatus):
    session.config._lead_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """A run that made in-process DDS nodes (tests/dds.py) ends here, with its exit status:
    deleting their participants at interpreter exit can deadlock in Fast DDS's TCP transport."""
    import sys

    from tests.dds import KEPT

    if KEPT and hasattr(config, "_lead_exitstatus"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config._lead_exitstatus)
