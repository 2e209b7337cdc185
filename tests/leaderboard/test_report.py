"""`lead eval-report`: the commonest causes and where a car left its route, on a real town of the
repository (LeadGrid002, route 5 of the embedded evaluation set crosses a junction straight ~30 m
after its start) with result files written by lead's own writers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lead.leaderboard.events import TrafficEvent, TrafficEventType as T
from lead.leaderboard.report import commonest_causes, departure_index, failure_report, junction_runs, option_near
from lead.leaderboard.results import Results, metric_frame, save_results, write_metric_info
from lead.leaderboard.scoring import compute_route_record, route_record_id

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "routes" / "embedded_bench" / "eval.xml"


def test_departure_is_the_last_route_point_reached():
    route = np.stack([np.arange(100.0), np.zeros(100)], axis=1)  # 1 m apart along x
    path = [(x, 0.3) for x in np.arange(0, 40.5, 0.5)] + [(40 + d, d) for d in range(1, 30)]  # then 45 deg off
    assert departure_index(route, path) == 42  # (42, 2) is 2 m from route point 42, (43, 3) 3 m from 43
    assert departure_index(route, []) == 0
    # a point far ahead on the route is not reached by a jump: the search looks 30 points ahead
    assert departure_index(route, [(0, 0), (80, 0)]) == 0
    with pytest.raises(ValueError, match="route_xy"):
        departure_index(np.zeros((0, 2)), path)


def test_option_near_and_causes():
    opts = ["LANEFOLLOW"] * 20 + ["STRAIGHT"] * 8 + ["LANEFOLLOW"] * 5 + ["RIGHT"] * 10 + ["LANEFOLLOW"] * 60
    assert option_near(opts, 18) == "STRAIGHT"  # 2 points before the crossing, a right turn 15 points on
    assert option_near(opts, 24) == "STRAIGHT"  # inside it
    assert option_near(opts, 31) == "RIGHT"  # 3 points past the crossing, 2 before the turn
    assert option_near(opts, 30) == "RIGHT"  # 3 either way: the one ahead
    assert option_near(opts, 52) == "RIGHT"  # 10 points after the turn: looked back that far ...
    assert option_near(opts, 53) == "LANEFOLLOW"  # ... not 11
    assert option_near(opts, 90) == "LANEFOLLOW"
    assert option_near(opts, 0, after=20) == "LANEFOLLOW"  # the crossing starts 20 points ahead
    assert option_near(opts, 0, after=21) == "STRAIGHT"
    assert junction_runs(opts) == [(20, 28, "STRAIGHT"), (33, 43, "RIGHT")]
    assert junction_runs(["LEFT", "RIGHT", "RIGHT", "LANEFOLLOW", "RIGHT"]) == [(0, 1, "LEFT"), (1, 3, "RIGHT"),
                                                                                 (4, 5, "RIGHT")]
    labels = ["Avg. driving score", "Collisions with vehicles", "Route deviations", "Red lights infractions",
              "Stop sign infractions", "Agent blocked"]
    assert commonest_causes(labels, ["31.5", "1.78", "2.04", "1.78", "2.8", "0.0"]) == [
        ("Stop sign infractions", 2.8), ("Route deviations", 2.04), ("Collisions with vehicles", 1.78)]


@pytest.fixture(scope="module")
def route5():
    from lead.world.map import Map
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes
    from lead.world.transform import Location

    r = next(r for r in read_routes(ROUTES) if r.id == "5")
    m = Map.from_file(ROOT / "routes" / f"{r.town}.xodr", r.town)
    _, dense = interpolate_trajectory(m, [Location(*k) for k in r.keypoints], 1.0)
    return np.array([[t.location.x, t.location.y] for t, _ in dense]), [o.name for _, o in dense]


def _eval_folder(out: Path, path_xy: np.ndarray) -> None:
    """What `lead eval` leaves: route 5 deviated with its metric_info.json, route 0 completed."""
    res = Results()
    res.set_progress(0, 2)
    dev = compute_route_record(route_record_id(5, 0), 0, [TrafficEvent(T.ROUTE_COMPLETION, 0, route_completed=11.0),
                                                          TrafficEvent(T.ROUTE_DEVIATION, 40)],
                               route_length=267.0, duration_game=10.0, duration_system=10.0)
    done = compute_route_record(route_record_id(0, 0), 1, [TrafficEvent(T.ROUTE_COMPLETION, 0, route_completed=100.0),
                                                           TrafficEvent(T.COLLISION_VEHICLE, 3, message="hit")],
                                route_length=400.0, duration_game=60.0, duration_system=60.0)
    for rec in (dev, done):
        res.start_route(rec.route_id, rec.index)
        res.finish_route(rec)
    res.set_progress(2, 2)
    res.compute_global_statistics()
    save_results(out / "checkpoint_endpoint.json", res)
    write_metric_info(out / dev.route_id / "metric_info.json",
                      {i: metric_frame((0, 0, 0), (0, 0, 0), (x, y, 0), (0, 0, 0)) for i, (x, y) in enumerate(path_xy)})


def _leave_at(xy: np.ndarray, k: int) -> np.ndarray:
    """A path along the route to point k, then 40 m at a right angle to it."""
    prev = next(xy[j] for j in range(k - 1, -1, -1) if np.linalg.norm(xy[k] - xy[j]) > 0.5)  # joins repeat a point
    heading = (xy[k] - prev) / np.linalg.norm(xy[k] - prev)
    right = np.array([-heading[1], heading[0]])
    return np.concatenate([xy[:k + 1], xy[k] + right * np.arange(1, 40)[:, None]])


def test_report_names_the_straight_crossing_the_car_turned_off(route5, tmp_path):
    xy, opts = route5
    k = opts.index("STRAIGHT")  # the junction entry
    path = _leave_at(xy, k)
    _eval_folder(tmp_path, path)
    rep = failure_report(tmp_path, ROUTES)
    assert (rep["routes"], rep["deviated"]) == (2, 1)
    by_id = {r["route_id"]: r for r in rep["per_route"]}
    d = by_id["RouteScenario_5_rep0"]["departure"]
    assert np.linalg.norm(xy[d["route_point"]] - xy[k]) < 3 and d["road_option"] == "STRAIGHT"
    assert 20 < d["metres_along"] < 40
    assert "departure" not in by_id["RouteScenario_0_rep0"]
    assert rep["departures_by_road_option"] == {"STRAIGHT": 1}
    assert by_id["RouteScenario_5_rep0"]["junctions_passed"] == []  # no metric_info.json for route 0: not counted
    assert rep["junctions_passed"] == {"LEFT": 0, "RIGHT": 0, "STRAIGHT": 0}
    causes = [c["cause"] for c in rep["commonest_causes"]]
    assert set(causes) == {"Route deviations", "Collisions with vehicles"}
    # the same through the CLI: a table, then one JSON object last
    p = subprocess.run([sys.executable, "-m", "lead.cli", "eval-report", str(tmp_path), "--routes", str(ROUTES),
                        "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "RouteScenario_5_rep0" in p.stdout and "STRAIGHT" in p.stdout
    assert json.loads(p.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(rep))


def test_junctions_passed_before_the_departure(route5, tmp_path):
    xy, opts = route5
    runs = junction_runs(opts)
    assert len(runs) >= 2 and runs[0][2] == "STRAIGHT"
    end = runs[1][1] - 1  # the last point of the second junction, then off the route
    _eval_folder(tmp_path, _leave_at(xy, end))
    rep = failure_report(tmp_path, ROUTES)
    row = next(r for r in rep["per_route"] if r["route_id"] == "RouteScenario_5_rep0")
    # left at its last point: the second junction is where the car left, not one it passed
    assert row["junctions_passed"] == [runs[0][2]]
    assert row["departure"]["road_option"] == runs[1][2]
    assert sum(rep["junctions_passed"].values()) == 1
    _eval_folder(tmp_path, _leave_at(xy, end + 15))  # 15 m past it: both passed, left on a lane follow
    row = next(r for r in failure_report(tmp_path, ROUTES)["per_route"] if r["route_id"] == "RouteScenario_5_rep0")
    assert row["junctions_passed"] == [runs[0][2], runs[1][2]]
    assert row["departure"]["road_option"] == option_near(opts, row["departure"]["route_point"])


def test_report_errors_name_the_file(route5, tmp_path):
    xy, _ = route5
    _eval_folder(tmp_path / "run", xy[:10])
    other = tmp_path / "other.xml"
    other.write_text('<routes><route id="9" town="LeadGrid002"><waypoints><position x="0" y="0" z="0"/>'
                     '<position x="10" y="0" z="0"/></waypoints></route></routes>')
    with pytest.raises(ValueError, match="other.xml: no route for RouteScenario_5_rep0"):
        failure_report(tmp_path / "run", other)
    p = subprocess.run([sys.executable, "-m", "lead.cli", "eval-report", str(tmp_path / "none"), "--routes",
                        str(ROUTES)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "none: no checkpoint_endpoint.json" in p.stderr
    bad = tmp_path / "run" / "RouteScenario_5_rep0" / "metric_info.json"
    bad.write_text('{"1": {"speed": 3}}')
    with pytest.raises(ValueError, match="metric_info.json: not a metric_info.json"):
        failure_report(tmp_path / "run", ROUTES)
