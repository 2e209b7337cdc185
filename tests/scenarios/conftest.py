"""Worlds for the scenario tests: the generated towns (always present), each loaded once
per session (tests share them: every run spawns its own ego and scenario actors);
CARLA's towns come through the `carla_maps` fixture where a test needs them."""
from __future__ import annotations

import pytest

from tests.scenarios.helpers import make_world


@pytest.fixture(scope="session")
def irregular():
    """LeadIrregular007: 1-3 lanes per direction, sidewalks, lights and stop signs."""
    return make_world("LeadIrregular007")


@pytest.fixture(scope="session")
def grid():
    """LeadGrid001: 1-2 lanes per direction, sidewalks, lights and stop signs."""
    return make_world("LeadGrid001")
