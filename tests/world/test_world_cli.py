"""`lead world check` and `lead world show` as a user runs them (real processes)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import shared_path

LEAD = [sys.executable, "-m", "lead.cli", "world"]


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*LEAD, *args], capture_output=True, text=True, timeout=timeout)


def test_check_prints_a_summary_and_a_json_last_line():
    town = shared_path("maps", "carla", "Town02.xodr")
    r = _run("check", str(town), "--json", "--pairs", "40")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {"parse_s", "n_roads", "n_lanes", "max_gap_m", "min_width_m", "roundtrip_ratio",
                            "routable_ratio", "ok"}
    assert summary["ok"] is True and summary["n_roads"] == 84
    assert summary["max_gap_m"] <= 0.05 and summary["min_width_m"] > 0
    assert summary["roundtrip_ratio"] >= 0.995 and summary["routable_ratio"] >= 0.99
    assert any("round trip" in line for line in lines) and lines[-2] == "OK"


def test_check_fails_on_a_broken_map_naming_the_problem(tmp_path):
    bad = tmp_path / "broken.xodr"
    bad.write_text('<OpenDRIVE><road id="3" length="x" junction="-1"/></OpenDRIVE>')
    r = _run("check", str(bad), "--json")
    assert r.returncode == 1
    assert "broken.xodr" in r.stderr and "road 3" in r.stderr and "length='x'" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["ok"] is False


def test_check_reports_an_awkward_map_as_not_ok():
    sample = shared_path("maps", "opendrive-samples", "shoulders.xodr")
    r = _run("check", str(sample), "--json", "--pairs", "10")
    assert r.returncode == 1
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["ok"] is False and summary["max_gap_m"] > 0.05  # the file's lanes split abruptly
    assert "not made by the file's own data" in r.stdout


def test_show_draws_map_and_route(tmp_path):
    town = shared_path("maps", "carla", "Town01.xodr")
    routes = shared_path("routes", "longest6_town01_02_10.xml")
    out = tmp_path / "town01.png"
    r = _run("show", str(town), "--route", str(routes), "--id", "3", "-o", str(out), "--dpi", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    r = _run("show", str(town), "--route", str(routes), "--id", "999", "-o", str(out))
    assert r.returncode == 1 and "no route with id 999" in r.stderr
