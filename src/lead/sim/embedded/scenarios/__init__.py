"""Leaderboard 2.0 / Bench2Drive scenarios in the embedded world.

    from lead.sim.embedded.scenarios import ScenarioManager, apply_events
    manager = ScenarioManager(world, dense_route, route_config.scenarios, seed=0)
    events = manager.step(world.tick())            # each tick, after the world ticked
    apply_events(evaluator, events)                # criteria: scenario timeout, yield to EV
    control = manager.filter_control(control)      # ControlLoss adds noise to the ego

One module per scenario family (a type and its variants, as scenario_runner groups
them); each behaves as its namesake in scenario_runner's leaderboard-2.0 branch / the
Bench2Drive copy: same actors, trigger, parameters (with scenario_runner's defaults) and
criteria. `SCENARIO_TYPES` maps every supported route-XML type to its class.

Differences forced by the embedded world are listed in each module's docstring; the
common ones: actors move kinematically along the paths the CARLA agents would drive;
actors scenario_runner hides under the ground before use are spawned only when placed;
flat props the ego drives over (ControlLoss's debris) are kept out of the world unless
the world supports `add_scenario_actor(..., collides=False)`; the Background Activity's
part (LeaveSpaceInFront, HandleJunctionScenario, ...) is reduced to removing background
vehicles that stand where the scenario needs room.
"""
from __future__ import annotations

import importlib

from .base import (ENDED, SCENARIO_TYPES, SKIPPED, STARTED, WRONG_DIRECTION_CHECK, Scenario, ScenarioContext,
                   ScenarioEvent, register)
from .geometry import ScenarioSetupError
from .manager import ScenarioManager, apply_events

_MODULES = (
    "crossing", "obstacles", "construction", "hard_break", "control_loss", "junction_plain",
    "pedestrian_crossing", "vehicle_turning", "opposite_vehicle", "junction_turns", "blocked_intersection",
    "vehicle_opens_door", "cut_in", "parking_exit", "invading_turn", "yield_to_emergency_vehicle",
    "flows", "highway",
)
_loaded = False


def load_all() -> dict[str, type[Scenario]]:
    """Import every scenario module (registering its types); returns SCENARIO_TYPES."""
    global _loaded
    if not _loaded:
        for m in _MODULES:
            importlib.import_module(f"{__name__}.{m}")
        _loaded = True
    return SCENARIO_TYPES


__all__ = ["ScenarioManager", "apply_events", "Scenario", "ScenarioContext", "ScenarioEvent", "ScenarioSetupError",
           "SCENARIO_TYPES", "register", "load_all", "STARTED", "ENDED", "WRONG_DIRECTION_CHECK", "SKIPPED"]
