"""Pedestrians on real maps: on sidewalks, across roads only at crosswalks (and only on a
red for the traffic), at walking speed; CARLA's crossing factor; state consistency."""
from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.path import Path

from lead.sim.embedded.traffic import LightState, Traffic
from lead.sim.embedded.traffic.walkers import CROSSWALK, JAYWALK
from lead.world.lane_types import LaneType
from lead.world.map import Map
from lead.world.transform import Location
from tests.conftest import REPO, shared_path

_MAPS: dict[str, Map] = {}
DT = 0.05


def load(name: str) -> Map:
    if name not in _MAPS:
        if name.startswith("Lead"):
            path = REPO / "routes" / f"{name}.xodr"
        else:
            path = shared_path("maps", "carla", f"{name}.xodr")
        _MAPS[name] = Map.from_file(path)
    return _MAPS[name]


def on_sidewalk(m: Map, a) -> bool:
    ground = Location(a.transform[0], a.transform[1], a.transform[2] - a.extent[2])
    return m.get_waypoint(ground, project_to_road=False, lane_type=LaneType.Sidewalk) is not None


def test_pedestrians_keep_to_sidewalks_and_cross_at_crosswalks():
    m = load("Town10HD")
    tr = Traffic(m, seed=3, num_vehicles=20, num_pedestrians=20)
    # a crosswalk reaches the kerb; allow a metre beyond its polygon for the kerb strip
    crosswalks = [Path(np.array([[p.x, p.y] for p in poly])) for poly in m.get_crosswalks()]
    crossed = set()
    for k in range(round(90.0 / DT)):
        tr.step(DT)
        if k % 5:
            continue
        for a in tr.actors():
            if a.kind != "walker" or on_sidewalk(m, a):
                continue
            xy = (a.transform[0], a.transform[1])
            assert any(c.contains_point(xy, radius=2.0) or c.contains_point(xy, radius=-2.0) for c in crosswalks), \
                (k, a.id, xy)
            crossed.add(a.id)
    assert len(crossed) >= 2     # crossing does happen, and only at crosswalks


def test_pedestrians_step_onto_a_signalised_crosswalk_only_on_red_for_the_traffic():
    tr = Traffic(load("Town10HD"), seed=8, num_vehicles=10, num_pedestrians=20)
    w, net = tr.walkers, tr.walkers.net
    starts = 0
    before = {wid: int(w.edge[i]) for i, wid in enumerate(w.ids)}
    for _ in range(round(150.0 / DT)):
        tr.step(DT)
        lights = tr.lights()     # what pedestrians saw when they decided, this tick
        for i, wid in enumerate(w.ids):
            e = net.edges[w.edge[i]]
            if e.kind == CROSSWALK and w.wait[i] < 0 and before[wid] != w.edge[i]:
                cw = tr.rules.crosswalks[e.crosswalk]
                assert all(lights[lid] == LightState.Red for lid in cw.lights), (wid, cw.lights)
                starts += bool(cw.lights)
            before[wid] = int(w.edge[i])
    assert starts >= 3


def test_walking_speeds_and_states_are_consistent():
    tr = Traffic(load("Town10HD"), seed=1, num_vehicles=10, num_pedestrians=20)
    prev = {a.id: a for a in tr.actors()}
    speeds, errors = [], []
    for _ in range(400):
        tr.step(DT)
        for a in tr.actors():
            p = prev[a.id]
            moved = np.subtract(a.transform[:2], p.transform[:2]) / DT
            if a.kind == "walker" and a.speed > 0:
                speeds.append(a.speed)
            if a.speed > 0.5 and p.speed > 0.5:
                errors.append(float(np.linalg.norm(moved - np.asarray(a.velocity[:2]))))
            prev[a.id] = a
    # walking speeds of 1.2-1.5 m/s; a few per cent more while easing to the keep-right offset
    assert 1.15 <= np.percentile(speeds, 5) and np.percentile(speeds, 95) <= 1.55
    assert np.percentile(errors, 95) < 0.35      # velocities match the motion
    walker = next(a for a in tr.actors() if a.kind == "walker")
    assert walker.type_id.startswith("walker.pedestrian.") and walker.extent[2] > 0.5


def test_no_crosswalks_no_crossing_but_crossers_cross_anywhere():
    m = load("LeadGrid001")
    assert not m.get_crosswalks()
    stay = Traffic(m, seed=2, num_pedestrians=20)
    roam = Traffic(m, seed=2, num_pedestrians=20, cross_factor=1.0)
    off_road = 0
    for k in range(round(120.0 / DT)):
        stay.step(DT)
        roam.step(DT)
        if k % 10:
            continue
        assert all(on_sidewalk(m, a) for a in stay.actors())
        for i, a in enumerate(roam.actors()):
            if not on_sidewalk(m, a):
                assert roam.walkers.net.edges[roam.walkers.edge[i]].kind == JAYWALK
                off_road += 1
    assert off_road > 0
    with pytest.raises(ValueError, match="cross_factor"):
        Traffic(m, cross_factor=1.5)


def test_walker_pose_is_the_box_centre_above_the_sidewalk():
    m = load("Town01")
    tr = Traffic(m, seed=0, num_pedestrians=5)
    for a in tr.actors():
        ground = Location(a.transform[0], a.transform[1], a.transform[2] - a.extent[2])
        wp = m.get_waypoint(ground, project_to_road=False, lane_type=LaneType.Sidewalk)
        assert wp is not None and math.isclose(wp.transform.location.z, ground.z, abs_tol=0.05)
