"""Acceptance checks on every shared OpenDRIVE file: real CARLA towns and awkward
real-world samples (zero-width lanes, odd geometries, broken links)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from lead.world import checks
from lead.world.lane_types import LaneType

from tests.conftest import SHARED

_MAPS = sorted((SHARED / "data" / "maps").glob("*/*.xodr"))
MAPS = [pytest.param(p, id=p.stem) for p in _MAPS] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED / 'data' / 'maps'} is absent: needs ../shared/data"))]


def _is_carla(path: Path) -> bool:
    return path.parent.name == "carla"


@pytest.mark.parametrize("path", MAPS)
def test_parses_every_road_and_lane(any_map, path):
    m = any_map(path)
    root = etree.parse(str(path)).getroot()
    assert len(m.network.roads) == len(root.findall("road"))
    assert len(m.network.junctions) == len(root.findall("junction"))
    lanes_in_file = sum(len(sec.findall("left/lane")) + len(sec.findall("right/lane"))
                        for sec in root.iterfind("road/lanes/laneSection"))
    assert sum(1 for _ in m.lane_keys(LaneType.Any | LaneType.NONE)) == lanes_in_file
    assert m.generate_waypoints(2.0)


@pytest.mark.parametrize("path", MAPS)
def test_geometry_ends_where_the_file_starts_the_next(any_map, path):
    # evaluates every line/arc/spiral/poly3/paramPoly3 to its end and compares with the
    # start point the file gives the next geometry
    worst, where = checks.geometry_joins(any_map(path))
    assert worst <= checks.GAP_LIMIT_M, where


@pytest.mark.parametrize("path", MAPS)
def test_lane_centres_are_continuous(any_map, path):
    gaps = checks.lane_gaps(any_map(path))
    if _is_carla(path):
        # CARLA's towns are clean: no jump along any lane or across any link
        assert all(g.distance <= checks.GAP_LIMIT_M for g in gaps), [g.where for g in gaps][:5]
    # anywhere, a jump over 5 cm must be one the file itself makes (a record that does
    # not continue its predecessor, a link between lanes at different offsets)
    unexplained = [(g.where, round(g.distance, 3)) for g in gaps if not g.explained]
    assert not unexplained


@pytest.mark.parametrize("path", MAPS)
def test_lane_widths_positive_unless_the_file_says_zero(any_map, path):
    width, where, negative = checks.lane_widths(any_map(path))
    assert negative == 0
    assert width > 0, where


@pytest.mark.parametrize("path", MAPS)
def test_get_waypoint_round_trip(any_map, path):
    ratio, strict, n = checks.roundtrip(any_map(path), 2.0)
    assert n > 0
    assert ratio >= checks.ROUNDTRIP_MIN, f"round trip {ratio:.4f} (same lane {strict:.4f})"
    # lanes that coincide (junction connectors sharing a path) are the only way to miss
    # the exact lane; on the samples without such overlaps nearly every answer is exact
    assert strict >= (0.9 if _is_carla(path) else 0.99)
