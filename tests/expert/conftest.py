"""Maps the expert tests drive on, loaded once per session."""
from __future__ import annotations

import pytest

from lead.world.map import Map
from tests.conftest import REPO, shared_path


@pytest.fixture(scope="session")
def grid() -> Map:
    """The project's generated grid town (always present)."""
    return Map.from_file(REPO / "routes" / "LeadGrid001.xodr")


@pytest.fixture(scope="session")
def town01() -> Map:
    """CARLA's Town01 (skipped without ../shared/data)."""
    return Map.from_file(shared_path("maps", "carla", "Town01.xodr"))
