"""Per-route and global scores against the spec's formulas (../shared/specs/leaderboard.md §4)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.leaderboard.events import TrafficEvent, TrafficEventType as T
from lead.leaderboard.rules import BENCH2DRIVE, OFFICIAL
from lead.leaderboard.scoring import (
    FAILURE_MESSAGES,
    INFRACTION_KEYS,
    LABELS,
    PENALTY_PERC_DICT,
    PENALTY_VALUE_DICT,
    compute_global_record,
    compute_route_record,
    entry_status_of,
    global_values,
    penalty_perc_dict,
)


def completion(rc: float) -> TrafficEvent:
    return TrafficEvent(T.ROUTE_COMPLETION, 0, message=f"Agent has completed {rc} of the route", route_completed=rc)


def ev(kind: T, msg: str = "", percentage: float | None = None) -> TrafficEvent:
    return TrafficEvent(kind, 1, message=msg or kind.name, percentage=percentage)


def outside(metres: float, percentage: float) -> TrafficEvent:
    return ev(T.OUTSIDE_ROUTE_LANES_INFRACTION,
              f"Agent went outside its route lanes for about {metres} meters ({percentage}% of the completed route)",
              percentage)


def record(events, rc=100.0, length=1000.0, rules=OFFICIAL, **kw):
    return compute_route_record("RouteScenario_7_rep0", 0, [completion(rc), *events], route_length=length,
                                duration_game=kw.pop("game", 60.0), duration_system=kw.pop("system", 120.0),
                                rules=rules, **kw)


def test_penalty_tables_are_the_2_0_ones():
    assert {k.name: v for k, v in PENALTY_VALUE_DICT.items()} == {
        "COLLISION_PEDESTRIAN": 0.5, "COLLISION_VEHICLE": 0.6, "COLLISION_STATIC": 0.65,
        "TRAFFIC_LIGHT_INFRACTION": 0.7, "STOP_INFRACTION": 0.8, "SCENARIO_TIMEOUT": 0.7,
        "YIELD_TO_EMERGENCY_VEHICLE": 0.7}
    assert PENALTY_PERC_DICT[T.MIN_SPEED_INFRACTION] == [0.7, "decreases"]
    assert penalty_perc_dict(BENCH2DRIVE)[T.MIN_SPEED_INFRACTION] == [0.7, "unused"]
    assert penalty_perc_dict(OFFICIAL)[T.OUTSIDE_ROUTE_LANES_INFRACTION] == [0, "increases"]


@pytest.mark.parametrize("rules", [OFFICIAL, BENCH2DRIVE])
def test_worked_example_4_7(rules):
    events = [ev(T.COLLISION_VEHICLE), ev(T.TRAFFIC_LIGHT_INFRACTION), outside(100.0, 10.0),
              ev(T.MIN_SPEED_INFRACTION, "Average speed is 60.0% of the surrounding traffic's one", 60.0)]
    r = record(events, rc=80.0, rules=rules)
    if rules is OFFICIAL:
        expected_is = 0.60 * 0.70 * (1 - 0.10) * (1 - 0.3 * (1 - 0.60))
        assert r.scores["score_penalty"] == pytest.approx(0.33264, abs=1e-12)
        assert r.scores["score_composed"] == pytest.approx(26.6112, abs=1e-9)
    else:
        expected_is = 0.60 * 0.70 * (1 - 0.10)
        assert r.scores["score_composed"] == pytest.approx(30.24, abs=1e-9)
    assert r.scores["score_penalty"] == round(expected_is, 6)
    assert r.scores["score_composed"] == round(80.0 * expected_is, 6)
    assert r.scores["score_route"] == 80.0
    assert r.status == "Failed"
    assert r.num_infractions == 4
    g = compute_global_record([r], 1)
    assert g["infractions"]["collisions_vehicle"] == 1.25  # 1 / (1 km x 0.8)
    assert g["infractions"]["red_light"] == 1.25
    assert g["infractions"]["outside_route_lanes"] == 0.1  # km off-lane, not per km


def test_route_completion_discount_from_outside_lanes():
    # 37 % of the driven route off-lane on a completed route: IS = 1 - 0.37
    r = record([outside(370.0, 37.0)], rc=100.0)
    assert r.scores["score_penalty"] == pytest.approx(0.63)
    assert r.scores["score_composed"] == pytest.approx(63.0)
    assert r.status == "Completed"


def test_multiplicative_penalties_compound():
    kinds = [T.COLLISION_PEDESTRIAN, T.COLLISION_STATIC, T.COLLISION_VEHICLE, T.COLLISION_VEHICLE,
             T.STOP_INFRACTION, T.SCENARIO_TIMEOUT, T.YIELD_TO_EMERGENCY_VEHICLE]
    r = record([ev(k) for k in kinds], rc=55.5)
    expected = math.prod(PENALTY_VALUE_DICT[k] for k in kinds)
    assert r.scores["score_penalty"] == round(expected, 6)
    assert r.scores["score_composed"] == round(55.5 * expected, 6)
    assert r.infractions["collisions_vehicle"] == ["COLLISION_VEHICLE", "COLLISION_VEHICLE"]
    assert r.num_infractions == len(kinds)


def test_min_speed_decreases_officially_and_is_unused_in_bench2drive():
    events = [ev(T.MIN_SPEED_INFRACTION, "Average speed is 50.0% of ...", 50.0),
              ev(T.MIN_SPEED_INFRACTION, "Average speed is 120.0% of ...", 120.0)]
    official = record(events)
    # 'decreases' with p > 100 raises the penalty factor above 1, as upstream's arithmetic does
    assert official.scores["score_penalty"] == round((1 - 0.3 * 0.5) * (1 - 0.3 * (1 - 1.2)), 6)
    b2d = record(events, rules=BENCH2DRIVE)
    assert b2d.scores["score_penalty"] == 1.0
    assert b2d.infractions["min_speed_infractions"] == [e.message for e in events]
    assert b2d.status == "Completed"  # min-speed messages still count as infractions
    assert set(b2d.extras) == {"scenario_name", "weather_id", "save_name", "town_name"}


def test_statuses():
    assert record([]).status == "Perfect"
    assert record([ev(T.COLLISION_STATIC)]).status == "Completed"
    assert record([], rc=40.0).status == "Failed"
    timed_out = record([], rc=40.0, route_timed_out=True)
    assert timed_out.status == "Failed - Agent timed out"
    assert timed_out.infractions["route_timeout"] == ["Route timeout."]
    assert timed_out.num_infractions == 1
    assert timed_out.scores["score_penalty"] == 1.0  # a timeout costs no penalty
    assert record([ev(T.ROUTE_DEVIATION)], rc=20.0).status == "Failed - Agent deviated from the route"
    assert record([ev(T.VEHICLE_BLOCKED)], rc=20.0).status == "Failed - Agent got blocked"
    for key, suffix in [("Simulation", "Simulation crashed"), ("Agent_runtime", "Agent crashed"),
                        ("Agent_init", "Agent couldn't be set up"), ("Sensors", "Agent's sensors were invalid")]:
        msg = FAILURE_MESSAGES[key][1]
        assert msg == suffix
        assert record([], rc=10.0, failure_message=msg).status == f"Failed - {suffix}"
    # a timeout overrides an external failure message, as upstream sets it afterwards
    assert record([], rc=10.0, route_timed_out=True, failure_message="Agent crashed").status == \
        "Failed - Agent timed out"
    # a completed route is Completed/Perfect whatever the failure message
    assert record([], rc=100, failure_message="Agent crashed").status == "Perfect"


def test_rounding_and_meta():
    r = compute_route_record("RouteScenario_1_rep0", 3, [completion(33.333333333)],
                             route_length=123.456789, duration_game=10.12345, duration_system=99.99951,
                             )
    assert r.meta == {"route_length": 123.457, "duration_game": 10.123, "duration_system": 100.0}
    assert r.scores["score_route"] == 33.333333
    assert r.index == 3


def test_bad_events_are_rejected():
    with pytest.raises(ValueError, match="percentage"):
        record([ev(T.OUTSIDE_ROUTE_LANES_INFRACTION, "x")])
    with pytest.raises(ValueError, match="route_completed"):
        compute_route_record("RouteScenario_1_rep0", 0, [TrafficEvent(T.ROUTE_COMPLETION, 0)],
                             route_length=1, duration_game=0, duration_system=0)


def _synthetic_records():
    rng = np.random.default_rng(3)
    recs = []
    for i in range(5):
        rc = float(rng.choice([100.0, 72.5, 100.0, 12.0, 100.0])) if i else 100.0
        events = [ev(T.COLLISION_VEHICLE)] * i
        if i == 2:
            events.append(outside(25.5, 8.0))
        recs.append(compute_route_record(f"RouteScenario_{i}_rep0", i, [completion(rc), *events],
                                         route_length=200.0 + 50 * i, duration_game=30.0 + i,
                                         duration_system=100.0 + i, route_timed_out=(rc < 100)))
    return recs


def test_global_record_means_std_per_km_and_status():
    recs = _synthetic_records()
    n = 6  # one planned route has no record: it counts as zero in the means
    g = compute_global_record(recs, n)
    for key in ("score_composed", "score_route", "score_penalty"):
        values = [r.scores[key] for r in recs]
        mean = round(sum(values) / n, 6)
        assert g["scores_mean"][key] == pytest.approx(mean, abs=1e-9)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        assert g["scores_std_dev"][key] == round(std, 3)
    km = sum(r.meta["route_length"] / 1000 * r.scores["score_route"] / 100 for r in recs)
    assert g["infractions"]["collisions_vehicle"] == round(sum(range(5)) / km, 3)
    assert g["infractions"]["outside_route_lanes"] == round(25.5 / 1000, 3)
    timeouts = sum(1 for r in recs if r.infractions["route_timeout"])
    assert g["infractions"]["route_timeout"] == round(timeouts / km, 3)
    assert g["meta"]["total_length"] == sum(r.meta["route_length"] for r in recs)
    assert g["meta"]["exceptions"] == [[r.route_id, r.index, r.status] for r in recs if "Failed" in r.status]
    assert g["status"] == ("Failed" if g["meta"]["exceptions"] else "Completed")
    assert set(g["infractions"]) == set(INFRACTION_KEYS)
    values = global_values(g)
    assert len(values) == len(LABELS) == 15
    assert values[0] == str(g["scores_mean"]["score_composed"])
    assert values[4] == str(g["infractions"]["collisions_vehicle"])
    assert values[8] == str(g["infractions"]["outside_route_lanes"])
    assert values[10] == str(g["infractions"]["route_timeout"])


def test_global_single_route_and_km_floor():
    r = record([ev(T.COLLISION_STATIC)], rc=0.0)
    g = compute_global_record([r], 1)
    assert g["scores_std_dev"] == {"score_composed": 0, "score_route": 0, "score_penalty": 0}
    assert g["infractions"]["collisions_layout"] == 1000.0  # km_driven floored at 0.001
    assert g["status"] == "Failed"
    perfect = compute_global_record([record([])], 1)
    assert perfect["status"] == "Perfect"
    with pytest.raises(ValueError):
        compute_global_record([r], 0)


def test_entry_status():
    ok = record([])
    crashed = record([], rc=5, failure_message=FAILURE_MESSAGES["Simulation"][1])
    rejected = record([], rc=5, failure_message=FAILURE_MESSAGES["Sensors"][1])
    agent = record([], rc=5, failure_message=FAILURE_MESSAGES["Agent_runtime"][1])
    assert entry_status_of([ok, agent]) == "Finished"
    assert entry_status_of([ok, crashed]) == "Crashed"
    assert entry_status_of([crashed, rejected]) == "Rejected"


def test_rules_by_name():
    from lead.leaderboard.rules import rules_by_name

    assert rules_by_name("bench2drive") is BENCH2DRIVE
    assert rules_by_name("leaderboard") is OFFICIAL
    assert (OFFICIAL.min_speed_checkpoints, OFFICIAL.blocked_max_time) == (4, 180.0)
    assert (BENCH2DRIVE.min_speed_checkpoints, BENCH2DRIVE.blocked_max_time) == (20, 60.0)
    with pytest.raises(ValueError, match="unknown leaderboard rules"):
        rules_by_name("carla")
