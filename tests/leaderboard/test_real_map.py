"""The criteria on a real CARLA town through lead.world.map (the WaypointLanes adapter)."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from lead.leaderboard.evaluator import END_COMPLETED, RouteEvaluator
from lead.leaderboard.events import TrafficEventType as T
from lead.leaderboard.geometry import Pose
from lead.leaderboard.snapshot import StopSign, Tick, WaypointLanes

world_map = pytest.importorskip("lead.world.map", reason="lead.world.map (the map library) is not available")

STEP = 0.25


_LOADED: dict = {}


@pytest.fixture
def town01(carla_maps):
    """Town01 (loaded once per module) and its LaneMap."""
    from lead.world.lane_types import LaneType
    from lead.world.transform import Location

    if "town01" not in _LOADED:
        m = world_map.Map.from_file(carla_maps / "Town01.xodr")
        _LOADED["town01"] = m, WaypointLanes(m, Location, {"driving": LaneType.Driving, "parking": LaneType.Parking})
    return _LOADED["town01"]


def straight_chain(m, length=80):
    """The first lane stretch of the town (generate_waypoints order) that runs `length` m
    without a junction: the dense route, 1 m apart."""
    for wp in m.generate_waypoints(20.0):
        chain = [wp]
        while len(chain) <= length and not chain[-1].is_junction:
            nxt = chain[-1].next(1.0)
            if not nxt:
                break
            chain.append(nxt[0])
        if len(chain) == length + 1 and not any(w.is_junction for w in chain):
            return [Pose(w.transform.location.x, w.transform.location.y, w.transform.location.z,
                         w.transform.rotation.yaw) for w in chain]
    raise AssertionError("Town01 has no straight 80 m lane stretch")


def along(route, left_offset=lambda d: 0.0, extra_m=10.0):
    """Ego poses every STEP m along the route (and extra_m beyond it), shifted left by
    left_offset(distance) metres."""
    out, d = [], 0.0
    for a, b in zip(route, route[1:]):
        seg = math.hypot(b.x - a.x, b.y - a.y)
        t = 0.0
        while t < seg:
            out.append((d + t, a.x + (b.x - a.x) * t / seg, a.y + (b.y - a.y) * t / seg, a.yaw))
            t += STEP
        d += seg
    last = route[-1]
    for i in range(int(extra_m / STEP)):
        out.append((d + i * STEP, last.x + math.cos(math.radians(last.yaw)) * i * STEP,
                    last.y + math.sin(math.radians(last.yaw)) * i * STEP, last.yaw))
    poses = []
    for dist, x, y, yaw in out:
        off = left_offset(dist)
        poses.append(Pose(x + off * math.sin(math.radians(yaw)), y - off * math.cos(math.radians(yaw)), 0.0, yaw))
    return poses


def run(ev, poses, speed=5.0):
    for frame, p in enumerate(poses, start=1):
        v = (speed * math.cos(math.radians(p.yaw)), speed * math.sin(math.radians(p.yaw)), 0.0)
        res = ev.step(Tick(frame, frame * 0.05, p, v, (2.45, 1.06, 0.76), speed_limit=30.0))
        if res.done:
            return res
    return res


def test_following_a_real_lane_is_perfect(town01):
    m, lanes = town01
    route = straight_chain(m)
    ev = RouteEvaluator(route, lanes, route_id="RouteScenario_1_rep0")
    res = run(ev, along(route))
    assert res.done and res.reason == END_COMPLETED
    record = ev.finish(1.0)
    assert record.status == "Perfect"
    xyz = np.array([p.location for p in route])
    assert record.meta["route_length"] == round(float(np.linalg.norm(np.diff(xyz, axis=0), axis=1).sum()), 3)


def test_opposite_lane_on_a_real_road(town01):
    m, lanes = town01
    route = straight_chain(m)
    width = lanes.lane_at(route[0].x, route[0].y, 0.0).width
    ev = RouteEvaluator(route, lanes, route_id="RouteScenario_1_rep0")
    run(ev, along(route, left_offset=lambda d: width if 20.0 <= d < 40.0 else 0.0))
    event = next(e for e in ev.events() if e.type == T.OUTSIDE_ROUTE_LANES_INFRACTION)
    # 20 m of the route driven in the opposite lane (give or take the 1 m route spacing)
    assert event.percentage == pytest.approx(100 * 20 / ev.route_length, abs=2.0)
    assert re.fullmatch(r"Agent went outside its route lanes for about [\d.]+ meters \([\d.]+% of the completed "
                        r"route\)", event.message)
    record = ev.finish(1.0)
    assert record.scores["score_penalty"] == pytest.approx(1 - event.percentage / 100, abs=1e-6)


def test_rolling_through_a_stop_on_a_real_road(town01):
    m, lanes = town01
    route = straight_chain(m)
    p = route[50]
    sign = StopSign(5, (p.x, p.y, 2.0), (p.x, p.y, 0.0), (1.5, 1.5))
    ev = RouteEvaluator(route, lanes, stop_signs=[sign], route_id="RouteScenario_1_rep0")
    run(ev, along(route))
    assert [e.type for e in ev.events() if e.type == T.STOP_INFRACTION] == [T.STOP_INFRACTION]
