"""Checkpoint JSON, atomic writes, resume, shard merge, shard split, LEAD's side files."""
from __future__ import annotations

import json
import math
import os

import pytest

from lead.leaderboard import results as results_mod
from lead.leaderboard.events import TrafficEvent, TrafficEventType as T
from lead.leaderboard.geometry import Pose, forward_vector, transform_point
from lead.leaderboard.results import (
    Results,
    infraction_entry,
    load_results,
    merge,
    metric_frame,
    parse_shard,
    resume,
    save_results,
    shard,
    write_infractions_json,
    write_json_atomic,
    write_metric_info,
)
from lead.leaderboard.rules import BENCH2DRIVE, OFFICIAL
from lead.leaderboard.scoring import FAILURE_MESSAGES, compute_route_record, route_record_id

# the spec's skeleton (§5)
SPEC_TOP = {"_checkpoint", "entry_status", "eligible", "sensors", "values", "labels"}
SPEC_CHECKPOINT = {"global_record", "progress", "records"}
SPEC_GLOBAL = {"index", "route_id", "status", "infractions", "scores_mean", "scores_std_dev", "meta"}
SPEC_INFRACTIONS = {"collisions_layout", "collisions_pedestrian", "collisions_vehicle", "red_light",
                    "stop_infraction", "outside_route_lanes", "min_speed_infractions",
                    "yield_emergency_vehicle_infractions", "scenario_timeouts", "route_dev", "vehicle_blocked",
                    "route_timeout"}
SPEC_SCORES = {"score_composed", "score_route", "score_penalty"}
SPEC_GLOBAL_META = {"total_length", "duration_game", "duration_system", "exceptions"}
SPEC_RECORD = {"index", "route_id", "status", "num_infractions", "infractions", "scores", "meta"}
SPEC_RECORD_META = {"route_length", "duration_game", "duration_system"}
SPEC_B2D_EXTRAS = {"scenario_name", "weather_id", "save_name", "town_name"}
SENSORS = ["carla_camera", "carla_camera", "carla_lidar", "carla_imu", "carla_gnss", "carla_speedometer"]


def make_record(number: int, index: int, rules=OFFICIAL):
    """A route record that depends on its number, so merged files show any mix-up."""
    rc = 100.0 if number % 3 else 61.25 + number
    events = [TrafficEvent(T.ROUTE_COMPLETION, 0, route_completed=rc)]
    events += [TrafficEvent(T.COLLISION_VEHICLE, 3, message=f"hit {number}")] * (number % 2)
    extras = {"scenario_name": f"Accident_{number}", "weather_id": "3", "save_name": f"s{number}",
              "town_name": "Town01"} if rules.record_extras else None
    return compute_route_record(route_record_id(number, 0), index, events, route_length=100.0 + number,
                                duration_game=20.0 + number, duration_system=30.0, rules=rules,
                                route_timed_out=rc < 100, extras=extras)


def run_routes(path, numbers, rules=OFFICIAL, stop_after=None):
    """What the route manager does: start, finish, save after each route; global stats at the end."""
    res = Results()
    res.sensors = list(SENSORS)
    res.set_progress(0, len(numbers))
    save_results(path, res)
    for i, number in enumerate(numbers):
        res.start_route(route_record_id(number, 0), i)
        if stop_after is not None and i == stop_after:
            save_results(path, res)  # written while the route runs: it must not appear
            return res
        res.finish_route(make_record(number, i, rules))
        res.set_progress(i + 1, len(numbers))
        save_results(path, res)
    res.compute_global_statistics()
    assert res.validate(sensors_initialized=True, crashed=False) == ""
    save_results(path, res)
    return res


def test_keys_equal_the_spec_skeleton(tmp_path):
    path = tmp_path / "results.json"
    run_routes(path, [1, 2, 3])
    data = json.loads(path.read_text())
    assert set(data) == SPEC_TOP
    ck = data["_checkpoint"]
    assert set(ck) == SPEC_CHECKPOINT
    assert set(ck["global_record"]) == SPEC_GLOBAL
    assert set(ck["global_record"]["infractions"]) == SPEC_INFRACTIONS
    assert set(ck["global_record"]["scores_mean"]) == SPEC_SCORES == set(ck["global_record"]["scores_std_dev"])
    assert set(ck["global_record"]["meta"]) == SPEC_GLOBAL_META
    for rec in ck["records"]:
        assert set(rec) == SPEC_RECORD
        assert set(rec["infractions"]) == SPEC_INFRACTIONS
        assert set(rec["scores"]) == SPEC_SCORES
        assert set(rec["meta"]) == SPEC_RECORD_META
    assert ck["progress"] == [3, 3]
    assert data["entry_status"] == "Finished" and data["eligible"] is True
    assert len(data["values"]) == len(data["labels"]) == 15
    assert data["labels"][0] == "Avg. driving score" and data["labels"][-1] == "Min speed infractions"
    # indent 4, sorted keys
    text = path.read_text()
    assert text == json.dumps(data, indent=4, sort_keys=True)


def test_bench2drive_records_carry_extras(tmp_path):
    path = tmp_path / "b2d.json"
    run_routes(path, [4, 5], rules=BENCH2DRIVE)
    rec = json.loads(path.read_text())["_checkpoint"]["records"][0]
    assert set(rec) == SPEC_RECORD | SPEC_B2D_EXTRAS
    assert rec["save_name"] == "s4"


def test_roundtrip(tmp_path):
    path = tmp_path / "r.json"
    res = run_routes(path, [1, 2, 3, 4])
    again = load_results(path)
    assert again.to_json() == res.to_json()
    assert load_results(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{\"_checkpoint\": {}}")
    with pytest.raises(ValueError, match="bad.json"):
        load_results(tmp_path / "bad.json")


def test_crash_between_write_and_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"old": True})
    before = path.read_text()

    def failing_replace(src, dst):
        assert os.path.getsize(src) > 0  # the new content was fully written to the temp file
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(results_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated crash"):
        write_json_atomic(path, {"new": list(range(1000))})
    assert path.read_text() == before
    assert json.loads(before) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left behind


def test_crash_while_serialising_keeps_the_old_file(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"old": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"new": object()})  # fails half-way through json.dump
    assert json.loads(path.read_text()) == {"old": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_route_in_progress_is_not_written_and_resume_reruns_it(tmp_path):
    path = tmp_path / "r.json"
    planned = [route_record_id(n, 0) for n in (1, 2, 3, 4)]
    run_routes(path, [1, 2, 3, 4], stop_after=2)
    data = json.loads(path.read_text())
    assert [r["route_id"] for r in data["_checkpoint"]["records"]] == planned[:2]
    assert data["_checkpoint"]["progress"] == [2, 4]
    res, state = resume(path, planned)
    assert state.next_index == 2
    assert state.finished == tuple(planned[:2])
    assert state.interrupted == planned[2]
    assert res.entry_status == "Started"
    # finish the set from there: the file equals an uninterrupted run's
    for i in range(state.next_index, 4):
        res.start_route(planned[i], i)
        res.finish_route(make_record(i + 1, i))
        res.set_progress(i + 1, 4)
    res.compute_global_statistics()
    assert res.validate(True, False) == ""
    save_results(path, res)
    full = tmp_path / "full.json"
    run_routes(full, [1, 2, 3, 4])
    assert path.read_text() == full.read_text()


def test_resume_after_simulation_crash_reruns_the_crashed_route(tmp_path):
    path = tmp_path / "r.json"
    planned = [route_record_id(n, 0) for n in (1, 2, 3)]
    res = Results()
    res.set_progress(0, 3)
    for i in range(2):
        res.start_route(planned[i], i)
        msg = FAILURE_MESSAGES["Simulation"][1] if i == 1 else ""
        rec = compute_route_record(planned[i], i, [TrafficEvent(T.ROUTE_COMPLETION, 0, route_completed=50.0)],
                                   route_length=10, duration_game=1, duration_system=1, failure_message=msg)
        res.finish_route(rec)
        res.set_progress(i + 1, 3)
    res.set_entry_status(FAILURE_MESSAGES["Simulation"][0])
    save_results(path, res)
    _, state = resume(path, planned)
    assert state.next_index == 1
    assert state.interrupted == planned[1]
    assert state.finished == (planned[0],)


def test_resume_rejects_a_foreign_checkpoint(tmp_path):
    path = tmp_path / "r.json"
    run_routes(path, [1, 2])
    with pytest.raises(ValueError, match="plans 3"):
        resume(path, [route_record_id(n, 0) for n in (1, 2, 3)])
    with pytest.raises(ValueError, match="RouteScenario_9_rep0"):
        resume(path, [route_record_id(n, 0) for n in (1, 9)])
    assert resume(tmp_path / "none.json", ["RouteScenario_1_rep0"]) is None


def test_shard_split():
    ids = [route_record_id(n, 0) for n in range(1, 12)]
    parts = [shard(ids, i, 4) for i in range(4)]
    assert [len(p) for p in parts] == [3, 3, 3, 2]
    assert sum(parts, []) == ids  # disjoint, complete, in order
    assert shard(ids, 2, 4) == parts[2]  # deterministic
    assert shard(ids, 0, 1) == ids
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "a/b", "1", "-1/3"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    with pytest.raises(ValueError):
        shard(ids, 0, 0)


def test_merge_of_shards_equals_the_unsharded_run(tmp_path):
    numbers = [1, 2, 3, 5, 8, 13, 21]
    ids = [route_record_id(n, 0) for n in numbers]
    full = tmp_path / "full.json"
    run_routes(full, numbers)
    shard_files = []
    for i in range(2):
        part = [int(rid.split("_")[1]) for rid in shard(ids, i, 2)]
        f = tmp_path / f"shard{i}.json"
        # a shard's own indices start at 0; merge re-indexes them
        res = Results()
        res.sensors = list(SENSORS)
        res.set_progress(0, len(part))
        for j, n in enumerate(part):
            res.start_route(route_record_id(n, 0), j)
            res.finish_route(make_record(n, j))
            res.set_progress(j + 1, len(part))
        res.compute_global_statistics()
        save_results(f, res)
        shard_files.append(f)
    merged = merge(list(reversed(shard_files)), expected_route_ids=ids)
    out = tmp_path / "merged.json"
    save_results(out, merged)
    assert out.read_text() == full.read_text()


def test_merge_partial_and_bad_inputs(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run_routes(a, [1, 2])
    run_routes(b, [3, 4], stop_after=1)  # shard b is unfinished: 1 of 2 records
    partial = merge([a, b])
    assert partial.progress == [3, 4]
    assert partial.global_record == {} and partial.entry_status == "Started"
    run_routes(b, [2, 3])
    with pytest.raises(ValueError, match="more than one record"):
        merge([a, b])
    run_routes(b, [3, 4])
    with pytest.raises(ValueError, match="missing"):
        merge([a, b], expected_route_ids=[route_record_id(n, 0) for n in (1, 2, 3, 4, 5)])
    with pytest.raises(FileNotFoundError):
        merge([a, tmp_path / "nope.json"])
    data = json.loads(b.read_text())
    data["sensors"] = ["carla_camera"]
    b.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="sensor configuration"):
        merge([a, b])


def test_infractions_json(tmp_path):
    event = TrafficEvent(T.COLLISION_VEHICLE, 412, 20.6, "Agent collided against object with type=vehicle.a.b "
                         "and id=42 at (x=1.0, y=2.0, z=0.0)", criterion="CollisionTest")
    entry = infraction_entry(event, step=400, meters_travelled=123.456)
    path = tmp_path / "infractions.json"
    write_infractions_json(path, [entry], video_fps=20)
    data = json.loads(path.read_text())
    assert data == {"infractions": [{"step": 400, "infraction": "CollisionTest", "frame": 412,
                                     "message": event.message, "event_type": "TrafficEventType.COLLISION_VEHICLE",
                                     "meters_travelled": 123.46}], "video_fps": 20}
    with pytest.raises(ValueError, match="criterion"):
        infraction_entry(TrafficEvent(T.COLLISION_VEHICLE, 1), step=1, meters_travelled=0.0)


def test_metric_info_frames(tmp_path):
    roll, pitch, yaw = 3.0, -4.0, 127.0
    frame = metric_frame((0.5, -0.2, 0.0), (0.0, 0.0, 12.0), (10.0, 20.0, 0.3), (roll, pitch, yaw))
    fwd, right = frame["forward_vector"], frame["right_vector"]
    assert fwd == pytest.approx(list(forward_vector(yaw, pitch)))
    assert math.hypot(*right) == pytest.approx(1.0)
    assert sum(f * r for f, r in zip(fwd, right)) == pytest.approx(0.0, abs=1e-12)
    # without roll and pitch, right is forward turned +90 degrees (towards +y in CARLA's frame)
    flat = metric_frame((0, 0, 0), (0, 0, 0), (0, 0, 0), (0.0, 0.0, yaw))
    assert flat["right_vector"] == pytest.approx(list(forward_vector(yaw + 90.0)))
    # the same axes carla.Transform.transform maps local x and y to
    pose = Pose(0, 0, 0, yaw, pitch, roll)
    assert right == pytest.approx(list(transform_point(pose, (0, 1, 0))))
    path = tmp_path / "metric_info.json"
    write_metric_info(path, {10: frame, 2: frame})
    data = json.loads(path.read_text())
    assert list(data) == ["2", "10"]
    assert set(data["2"]) == {"acceleration", "angular_velocity", "forward_vector", "right_vector", "location",
                              "rotation"}
    assert data["10"]["rotation"] == [roll, pitch, yaw]
    with pytest.raises(ValueError, match="acceleration"):
        metric_frame((1.0, 2.0), (0, 0, 0), (0, 0, 0), (0, 0, 0))
