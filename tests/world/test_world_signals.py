"""Traffic lights, stop/yield signs and crosswalks of CARLA's towns: counted against the
file, placed where traffic stops, grouped per junction."""
from __future__ import annotations

import math

import pytest
from lxml import etree

from lead.world.lane_types import LaneType
from lead.world.transform import Location

from tests.conftest import shared_path


def _xml(name: str):
    return etree.parse(str(shared_path("maps", "carla", f"{name}.xodr"))).getroot()


@pytest.mark.parametrize("name", ["Town01", "Town02", "Town10HD"])
def test_every_light_governs_incoming_lanes(town, name):
    m = town(name)
    root = _xml(name)
    lights = m.get_traffic_lights()
    assert len(lights) == len(root.findall("road/signals/signal[@type='1000001']"))
    referenced = {r.get("id") for r in root.iterfind("road/signals/signalReference")}
    for tl in lights:
        if tl.id not in referenced:
            continue
        assert tl.stop_waypoints and len(tl.trigger_volumes) == len(tl.stop_waypoints)
        for stop, box in zip(tl.stop_waypoints, tl.trigger_volumes):
            # traffic stops at the end of a driving lane that leads into a junction
            assert stop.lane_type == LaneType.Driving and not stop.is_junction
            assert any(m.network.roads[k[0]].is_junction for k in m.successors(stop.key))
            # CARLA's box: 3 m upstream of that point, on the lane, turned with it
            assert box.location.distance(stop.transform.location) == pytest.approx(3.0, abs=0.05)
            centre = m.get_waypoint(box.location, project_to_road=False)
            assert centre is not None and centre.key == stop.key
            assert (box.extent.x, box.extent.z) == (1.5, 1.0)
            assert box.extent.y == pytest.approx(0.25 * stop.lane_width)
            assert box.contains(box.location + Location(0, 0, 0.5))
            assert not box.contains(stop.transform.location)
            assert abs((box.rotation.yaw - stop.transform.rotation.yaw + 180) % 360 - 180) < 5.0
        # the affected lanes are the ones the file's references name
        for wp in tl.affected_lane_waypoints:
            assert wp.lane_type == LaneType.Driving


@pytest.mark.parametrize("name", ["Town01", "Town10HD"])
def test_lights_are_grouped_by_the_junction_controllers(town, name):
    m = town(name)
    root = _xml(name)
    signals_of = {c.get("id"): {x.get("signalId") for x in c.iterfind("control")} for c in root.iterfind("controller")}
    controlled = set().union(*signals_of.values())
    light_ids = {s.get("id") for s in root.iterfind("road/signals/signal[@type='1000001']")}
    junction_of_road = {r.get("id"): r.get("junction") for r in root.iterfind("road")}
    groups = m.get_traffic_light_groups()
    for j in root.iterfind("junction"):
        # lights its controllers switch, and lights without a controller whose
        # references lie on the junction's roads
        expected = set()
        for c in j.iterfind("controller"):
            expected |= signals_of[c.get("id")] & light_ids
        for road in root.iterfind("road"):
            for sig in road.iterfind("signals/*"):
                if (sig.get("id") in light_ids and sig.get("id") not in controlled
                        and junction_of_road[road.get("id")] == j.get("id")):
                    expected.add(sig.get("id"))
        got = {tl.id for tl in groups.get(int(j.get("id")), [])}
        assert got == expected, j.get("id")
    for jid, members in groups.items():
        box = m.get_junction(jid).bounding_box
        for tl in members:  # every member stands near its junction
            d = tl.transform.location.distance_2d(box.location)
            assert d < math.hypot(box.extent.x, box.extent.y) + 15.0


def test_stop_and_yield_signs_and_crosswalks(town):
    m = town("Town10HD")
    root = _xml("Town10HD")
    assert len(m.get_stop_signs()) == len(root.findall("road/signals/signal[@type='206']"))
    assert len(m.get_yield_signs()) == len(root.findall("road/signals/signal[@type='205']"))
    for sign in m.get_stop_signs():
        assert sign.trigger_volumes and sign.stop_waypoints
        for box, wp in zip(sign.trigger_volumes, sign.affected_lane_waypoints):
            size = 0.9 * wp.lane_width / 2
            assert box.extent.x == box.extent.y == box.extent.z == pytest.approx(size)
    crosswalks = m.get_crosswalks()
    assert len(crosswalks) == len(root.findall("road/objects/object[@type='crosswalk']"))
    for poly in crosswalks:
        assert poly[0].distance(poly[-1]) < 1e-6       # closed as the file closes it
        cx = sum(p.x for p in poly[:-1]) / (len(poly) - 1)
        cy = sum(p.y for p in poly[:-1]) / (len(poly) - 1)
        # a crosswalk lies across the road: near a driving lane, its long side across it
        wp = m.get_waypoint(Location(cx, cy, 0.0))
        assert wp.transform.location.distance_2d(Location(cx, cy, 0.0)) < 5.0
        edges = [(b.x - a.x, b.y - a.y) for a, b in zip(poly, poly[1:])]
        ex, ey = max(edges, key=lambda e: math.hypot(*e))
        yaw = math.radians(wp.transform.rotation.yaw)
        assert abs(ex * math.cos(yaw) + ey * math.sin(yaw)) / math.hypot(ex, ey) < 0.3
    lines = m.get_stop_lines()
    assert len(lines) == len(root.findall("road/objects/object[@name='StopLine']"))
