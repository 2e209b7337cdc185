"""The two rule sets lead scores with: the official Leaderboard 2.0 and the copy bundled with
Bench2Drive. They differ only in these parameters (leaderboard route_scenario.py,
statistics_manager.py and scenario_runner atomic_criteria.py of each repository)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PenaltyType = Literal["increases", "decreases", "unused"]


@dataclass(frozen=True)
class Rules:
    name: str
    # PENALTY_PERC_DICT[MIN_SPEED_INFRACTION][1]: 'decreases' officially, 'unused' in Bench2Drive
    min_speed_penalty: PenaltyType
    # MinimumSpeedRouteTest(checkpoints=...)
    min_speed_checkpoints: int
    # Bench2Drive's MinimumSpeedRouteTest records an event at every checkpoint (even >= 100 %),
    # which its driving-efficiency metric averages; the official one only below 100 %.
    min_speed_event_every_checkpoint: bool
    # ActorBlockedTest(max_time=...), seconds below 0.1 m/s before the route ends
    blocked_max_time: float
    # Bench2Drive records carry scenario_name, weather_id, save_name, town_name
    record_extras: bool


OFFICIAL = Rules("leaderboard", "decreases", 4, False, 180.0, False)
BENCH2DRIVE = Rules("bench2drive", "unused", 20, True, 60.0, True)

RULES = {r.name: r for r in (OFFICIAL, BENCH2DRIVE)}


def rules_by_name(name: str) -> Rules:
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown leaderboard rules {name!r}: choose one of {sorted(RULES)}") from None
