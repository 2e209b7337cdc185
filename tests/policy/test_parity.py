"""lead.inference.parity: comparing two controllers' per-tick logs, and reading them
(lead.inference.timing); plain Python, no ROS."""
from __future__ import annotations

import json

import pytest

from lead.inference.parity import compare_controls
from lead.inference.timing import read_timing_log


def _row(stamp: int, throttle: float, steer: float = 0.0, brake: float = 0.0) -> dict:
    return {"stamp": stamp, "throttle": throttle, "steer": steer, "brake": brake}


def test_identical_logs_agree_and_a_difference_names_its_tick():
    a = [_row(50_000_000 * i, 0.5) for i in range(10)]
    assert compare_controls(a, [dict(r) for r in a]) == {
        "ticks": 10, "tolerance": 1e-3, "max_abs_diff": {"throttle": 0.0, "steer": 0.0, "brake": 0.0},
        "same_controls": True, "agree_ticks": 10, "first_difference": None, "unmatched": 0, "moving": True}
    b = [dict(r) for r in a]
    b[3]["throttle"] += 5e-4  # inside the tolerance
    b[6]["steer"] = 0.01      # outside it
    r = compare_controls(a, b)
    assert not r["same_controls"] and r["agree_ticks"] == 6
    assert r["first_difference"]["tick"] == 6 and r["first_difference"]["b"]["steer"] == 0.01
    assert r["max_abs_diff"]["throttle"] == pytest.approx(5e-4) and r["max_abs_diff"]["steer"] == 0.01
    assert compare_controls(a, b, ticks=6)["same_controls"]  # only the first 6 ticks compared


def test_ticks_are_matched_by_route_and_stamp():
    # two routes, sim time from 0 in each; the second log lacks one tick of route 0
    a = [_row(s, 0.1 * k) for k, s in enumerate((0, 50, 100))] + [_row(s, 0.2) for s in (0, 50)]
    b = [r for r in a if not (r["stamp"] == 50 and r["throttle"] == 0.1)]
    r = compare_controls(a, b)
    assert r["ticks"] == 4 and r["unmatched"] == 1 and r["same_controls"]
    b[-1] = _row(50, 0.9)  # route 1's second tick differs, not route 0's
    f = compare_controls(a, b)["first_difference"]
    assert (f["route"], f["tick"]) == (1, 3)


def test_nothing_in_common_is_not_the_same_controls():
    assert not compare_controls([_row(0, 0.1)], [])["same_controls"]


def test_timing_log_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        read_timing_log(tmp_path / "missing.jsonl")
    f = tmp_path / "controller.jsonl"
    f.write_text(json.dumps(_row(0, 0.1)) + "\n" + json.dumps(_row(50, 0.2)) + "\n" + '{"stamp": 10')
    assert [r["stamp"] for r in read_timing_log(f)] == [0, 50]  # a run stopped mid-line
    f.write_text('{"stamp": 1\n' + json.dumps(_row(50, 0.2)) + "\n")
    with pytest.raises(ValueError, match="controller.jsonl:1"):
        read_timing_log(f)
