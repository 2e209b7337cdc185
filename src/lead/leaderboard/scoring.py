"""Leaderboard 2.0 scores: per-route record (RC, IS, DS, status) and the global record.

Mirrors leaderboard/utils/statistics_manager.py of the leaderboard-2.0 branch (and the copy in
Bench2Drive, which only makes the min-speed penalty 'unused'): same keys, same arithmetic,
same order of operations, same rounding, so our numbers equal published ones.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lead.leaderboard.events import TrafficEvent, TrafficEventType
from lead.leaderboard.rules import OFFICIAL, Rules

# Each occurrence multiplies the infraction penalty by this value.
PENALTY_VALUE_DICT: dict[TrafficEventType, float] = {
    TrafficEventType.COLLISION_PEDESTRIAN: 0.5,
    TrafficEventType.COLLISION_VEHICLE: 0.6,
    TrafficEventType.COLLISION_STATIC: 0.65,
    TrafficEventType.TRAFFIC_LIGHT_INFRACTION: 0.7,
    TrafficEventType.STOP_INFRACTION: 0.8,
    TrafficEventType.SCENARIO_TIMEOUT: 0.7,
    TrafficEventType.YIELD_TO_EMERGENCY_VEHICLE: 0.7,
}
# [value, type] of the penalties that scale with the event's 'percentage':
# 'increases': the higher the percentage the bigger the penalty; 'decreases': 100 is ideal.
PENALTY_PERC_DICT: dict[TrafficEventType, list] = {
    TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION: [0, "increases"],
    TrafficEventType.MIN_SPEED_INFRACTION: [0.7, "decreases"],
}
PENALTY_PERC_DICT_BENCH2DRIVE: dict[TrafficEventType, list] = {
    TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION: [0, "increases"],
    TrafficEventType.MIN_SPEED_INFRACTION: [0.7, "unused"],
}

PENALTY_NAME_DICT: dict[TrafficEventType, str] = {
    TrafficEventType.COLLISION_STATIC: "collisions_layout",
    TrafficEventType.COLLISION_PEDESTRIAN: "collisions_pedestrian",
    TrafficEventType.COLLISION_VEHICLE: "collisions_vehicle",
    TrafficEventType.TRAFFIC_LIGHT_INFRACTION: "red_light",
    TrafficEventType.STOP_INFRACTION: "stop_infraction",
    TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION: "outside_route_lanes",
    TrafficEventType.MIN_SPEED_INFRACTION: "min_speed_infractions",
    TrafficEventType.YIELD_TO_EMERGENCY_VEHICLE: "yield_emergency_vehicle_infractions",
    TrafficEventType.SCENARIO_TIMEOUT: "scenario_timeouts",
    TrafficEventType.ROUTE_DEVIATION: "route_dev",
    TrafficEventType.VEHICLE_BLOCKED: "vehicle_blocked",
}
INFRACTION_KEYS: tuple[str, ...] = (*PENALTY_NAME_DICT.values(), "route_timeout")
ROUTE_TIMEOUT_MESSAGE = "Route timeout."

ENTRY_STATUS_VALUES = ("Started", "Finished", "Rejected", "Crashed", "Invalid")
ELIGIBLE_VALUES = {"Started": False, "Finished": True, "Rejected": False, "Crashed": False, "Invalid": False}
# external failure -> (entry_status, status suffix)
FAILURE_MESSAGES = {
    "Simulation": ("Crashed", "Simulation crashed"),
    "Sensors": ("Rejected", "Agent's sensors were invalid"),
    "Agent_init": ("Started", "Agent couldn't be set up"),
    "Agent_runtime": ("Started", "Agent crashed"),
}
TIMEOUT_FAILURE = "Agent timed out"
DEVIATION_FAILURE = "Agent deviated from the route"
BLOCKED_FAILURE = "Agent got blocked"

ROUND_DIGITS = 3
ROUND_DIGITS_SCORE = 6

SCORE_KEYS = ("score_composed", "score_route", "score_penalty")
LABELS: tuple[str, ...] = (
    "Avg. driving score",
    "Avg. route completion",
    "Avg. infraction penalty",
    "Collisions with pedestrians",
    "Collisions with vehicles",
    "Collisions with layout",
    "Red lights infractions",
    "Stop sign infractions",
    "Off-road infractions",
    "Route deviations",
    "Route timeouts",
    "Agent blocked",
    "Yield emergency vehicles infractions",
    "Scenario timeouts",
    "Min speed infractions",
)
# global_record.infractions keys reported after the three means, in LABELS order
_VALUE_INFRACTION_KEYS = (
    "collisions_pedestrian", "collisions_vehicle", "collisions_layout", "red_light",
    "stop_infraction", "outside_route_lanes", "route_dev", "route_timeout", "vehicle_blocked",
    "yield_emergency_vehicle_infractions", "scenario_timeouts", "min_speed_infractions",
)
BENCH2DRIVE_EXTRA_KEYS = ("scenario_name", "weather_id", "save_name", "town_name")


def penalty_perc_dict(rules: Rules = OFFICIAL) -> dict[TrafficEventType, list]:
    """PENALTY_PERC_DICT of the given rules (min-speed 'decreases' or Bench2Drive's 'unused')."""
    table = {k: list(v) for k, v in PENALTY_PERC_DICT.items()}
    table[TrafficEventType.MIN_SPEED_INFRACTION][1] = rules.min_speed_penalty
    return table


def _empty_infractions() -> dict[str, list[str]]:
    return {k: [] for k in INFRACTION_KEYS}


@dataclass
class RouteRecord:
    """One entry of `_checkpoint.records`. index -1 = route still running (never written)."""

    route_id: str
    index: int = -1
    status: str = "Started"
    num_infractions: int = 0
    infractions: dict[str, list[str]] = field(default_factory=_empty_infractions)
    scores: dict[str, float] = field(
        default_factory=lambda: {"score_route": 0, "score_penalty": 0, "score_composed": 0})
    meta: dict[str, float] = field(
        default_factory=lambda: {"route_length": 0, "duration_game": 0, "duration_system": 0})
    # Bench2Drive's scenario_name / weather_id / save_name / town_name, written at top level
    extras: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = {
            "index": self.index,
            "route_id": self.route_id,
            "status": self.status,
            "num_infractions": self.num_infractions,
            "infractions": {k: list(v) for k, v in self.infractions.items()},
            "scores": dict(self.scores),
            "meta": dict(self.meta),
        }
        d.update(self.extras)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "<record>") -> RouteRecord:
        missing = [k for k in ("index", "route_id", "status", "infractions", "scores", "meta") if k not in d]
        if missing:
            raise ValueError(f"{source}: route record {d.get('route_id', '?')} lacks keys {missing}")
        known = {"index", "route_id", "status", "num_infractions", "infractions", "scores", "meta"}
        return cls(
            route_id=d["route_id"], index=d["index"], status=d["status"],
            num_infractions=d.get("num_infractions", 0),
            infractions={k: list(v) for k, v in d["infractions"].items()},
            scores=dict(d["scores"]), meta=dict(d["meta"]),
            extras={k: v for k, v in d.items() if k not in known},
        )


def route_sort_key(route_id: str) -> tuple[int, int]:
    """(route number, repetition) of 'RouteScenario_<id>_rep<k>', the leaderboard's record order."""
    try:
        return int(route_id.split("_")[1]), int(route_id.split("_rep")[-1])
    except (IndexError, ValueError):
        raise ValueError(f"route id {route_id!r} is not of the form RouteScenario_<id>_rep<k>") from None


def route_record_id(route_number: int | str, repetition: int) -> str:
    return f"RouteScenario_{route_number}_rep{repetition}"


def compute_route_record(
    route_id: str,
    index: int,
    events: Iterable[TrafficEvent],
    *,
    route_length: float,
    duration_game: float,
    duration_system: float,
    route_timed_out: bool = False,
    failure_message: str = "",
    rules: Rules = OFFICIAL,
    extras: dict[str, Any] | None = None,
) -> RouteRecord:
    """The record the leaderboard's compute_route_statistics makes from a route's events.

    `events` are all criteria events in criteria order; `route_length` is the dense route's
    length (m); `failure_message` is an external failure ("Agent crashed", "Simulation crashed",
    ...: FAILURE_MESSAGES), overridden like upstream by a timeout / deviation / block."""
    perc = penalty_perc_dict(rules)
    record = RouteRecord(route_id=route_id, index=index, extras=dict(extras or {}))
    if rules.record_extras:
        for k in BENCH2DRIVE_EXTRA_KEYS:
            record.extras.setdefault(k, None)
    target_reached = False
    score_penalty = 1.0
    score_route = 0.0
    record.meta["route_length"] = round(route_length, ROUND_DIGITS)
    record.meta["duration_game"] = round(duration_game, ROUND_DIGITS)
    record.meta["duration_system"] = round(duration_system, ROUND_DIGITS)

    if route_timed_out:
        record.infractions["route_timeout"].append(ROUTE_TIMEOUT_MESSAGE)
        failure_message = TIMEOUT_FAILURE

    for event in events:
        kind = event.type
        if kind in PENALTY_VALUE_DICT:
            score_penalty *= PENALTY_VALUE_DICT[kind]
            record.infractions[PENALTY_NAME_DICT[kind]].append(event.message)
        elif kind in perc:
            value, penalty_type = perc[kind]
            p = _percentage(event)
            if penalty_type == "decreases":
                score_penalty *= (1 - (1 - value) * (1 - p / 100))
            elif penalty_type == "increases":
                score_penalty *= (1 - (1 - value) * p / 100)
            elif penalty_type != "unused":
                raise ValueError(f"unknown penalty type {penalty_type!r} for {kind.name}")
            record.infractions[PENALTY_NAME_DICT[kind]].append(event.message)
        elif kind == TrafficEventType.ROUTE_DEVIATION:
            failure_message = DEVIATION_FAILURE
            record.infractions[PENALTY_NAME_DICT[kind]].append(event.message)
        elif kind == TrafficEventType.VEHICLE_BLOCKED:
            failure_message = BLOCKED_FAILURE
            record.infractions[PENALTY_NAME_DICT[kind]].append(event.message)
        elif kind == TrafficEventType.ROUTE_COMPLETION:
            if event.route_completed is None:
                raise ValueError(f"ROUTE_COMPLETION event of {route_id} carries no route_completed value")
            score_route = event.route_completed
            target_reached = score_route >= 100

    record.scores["score_route"] = round(score_route, ROUND_DIGITS_SCORE)
    record.scores["score_penalty"] = round(score_penalty, ROUND_DIGITS_SCORE)
    record.scores["score_composed"] = round(max(score_route * score_penalty, 0.0), ROUND_DIGITS_SCORE)
    record.num_infractions = sum(len(v) for v in record.infractions.values())
    if target_reached:
        record.status = "Completed" if record.num_infractions > 0 else "Perfect"
    else:
        record.status = "Failed"
        if failure_message:
            record.status += " - " + failure_message
    return record


def _percentage(event: TrafficEvent) -> float:
    if event.percentage is None:
        raise ValueError(f"{event.type.name} event at frame {event.frame} carries no percentage")
    return event.percentage


def outside_lanes_km(record: RouteRecord) -> float:
    """Kilometres driven outside route lanes, read from the first message's 9th token
    ("Agent went outside its route lanes for about <m> meters ..."), as upstream does."""
    messages = record.infractions.get("outside_route_lanes", [])
    if not messages:
        return 0.0
    try:
        return float(messages[0].split(" ")[8]) / 1000
    except (IndexError, ValueError):
        raise ValueError(f"{record.route_id}: outside_route_lanes message {messages[0]!r} has no metres "
                         "as its 9th word") from None


def compute_global_record(records: Sequence[RouteRecord], total_routes: int) -> dict[str, Any]:
    """The leaderboard's global_record: means over `total_routes` (routes x repetitions, not
    the number of records), sample std-dev, infractions per km driven (outside_route_lanes:
    km off-lane instead), exceptions and the downgraded global status."""
    if total_routes <= 0:
        raise ValueError(f"total_routes must be positive, got {total_routes}")
    g: dict[str, Any] = {
        "index": -1,
        "route_id": -1,
        "status": "Perfect",
        "infractions": {k: 0 for k in INFRACTION_KEYS},
        "scores_mean": {k: 0 for k in SCORE_KEYS},
        "scores_std_dev": {k: 0 for k in SCORE_KEYS},
        "meta": {"total_length": 0, "duration_game": 0, "duration_system": 0, "exceptions": []},
    }
    mean, std, meta = g["scores_mean"], g["scores_std_dev"], g["meta"]
    global_result = "Perfect"
    for r in records:
        mean["score_route"] += r.scores["score_route"] / total_routes
        mean["score_penalty"] += r.scores["score_penalty"] / total_routes
        mean["score_composed"] += r.scores["score_composed"] / total_routes
        meta["total_length"] += r.meta["route_length"]
        meta["duration_game"] += r.meta["duration_game"]
        meta["duration_system"] += r.meta["duration_system"]
        route_result = "Failed" if "Failed" in r.status else r.status
        if route_result == "Failed":
            meta["exceptions"].append([r.route_id, r.index, r.status])
            global_result = route_result
        elif global_result == "Perfect" and route_result != "Perfect":
            global_result = route_result
    for k in mean:
        mean[k] = round(mean[k], ROUND_DIGITS_SCORE)
    g["status"] = global_result

    if total_routes == 1:
        for k in std:
            std[k] = 0
    else:
        for r in records:
            for k in std:
                std[k] += math.pow(r.scores[k] - mean[k], 2)
        for k in std:
            std[k] = round(math.sqrt(std[k] / float(total_routes - 1)), ROUND_DIGITS)

    infractions = g["infractions"]
    km_driven = 0
    for r in records:
        km_driven += r.meta["route_length"] / 1000 * r.scores["score_route"] / 100
        for k in infractions:
            if k == "outside_route_lanes":
                infractions[k] += outside_lanes_km(r)
            else:
                infractions[k] += len(r.infractions.get(k, []))
    km_driven = max(km_driven, 0.001)
    for k in infractions:
        if k != "outside_route_lanes":
            infractions[k] /= km_driven
        infractions[k] = round(infractions[k], ROUND_DIGITS)
    return g


def global_values(global_record: dict[str, Any]) -> list[str]:
    """The 15 `values` strings, in LABELS order."""
    mean, inf = global_record["scores_mean"], global_record["infractions"]
    return [str(mean["score_composed"]), str(mean["score_route"]), str(mean["score_penalty"])] + [
        str(inf[k]) for k in _VALUE_INFRACTION_KEYS]


def entry_status_of(records: Iterable[RouteRecord]) -> str:
    """'Finished', unless a route crashed the simulation ('Crashed') or had invalid sensors
    ('Rejected'); the last such route decides, as upstream."""
    status = "Finished"
    for r in records:
        if "Simulation crashed" in r.status:
            status = "Crashed"
        elif "Agent's sensors were invalid" in r.status:
            status = "Rejected"
    return status


def check_entry_status(entry_status: str) -> str:
    if entry_status not in ENTRY_STATUS_VALUES:
        raise ValueError(f"invalid entry_status {entry_status!r}: one of {ENTRY_STATUS_VALUES}")
    return entry_status
