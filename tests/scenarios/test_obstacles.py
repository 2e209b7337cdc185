"""Obstacles in the ego's lane: Accident, ParkedObstacle, ConstructionObstacle,
HazardAtSideLane, VehicleOpensDoorTwoWays (+ the TwoWays variants) and InvadingTurn.
The blind ego must find its lane blocked (and hit the obstacle); a stopped ego must be
left alone and its ScenarioTimeout must fire."""
from __future__ import annotations

import math

import pytest

from lead.sim.embedded.scenarios import SCENARIO_TYPES, load_all

from .helpers import (RouteFollower, lane_route, lateral_offset, route_s, run, scenario, stop_and_wait, straight_lane,
                      trigger_on)

SPEED = 6.0
load_all()


def straight(world, length=220.0, lanes=1, index=0):
    wp = straight_lane(world.map, length, lanes, lane_index=index)
    return lane_route(world.map, *wp.xyz[:2], length), wp.lane_width / 2


def blocks_lane(route, pose, extent, half: float) -> bool:
    """Whether an actor's box reaches over the ego lane's centre line... i.e. covers a
    car-width corridor there (1 m either side of the centre)."""
    _, lat = lateral_offset(route, pose[0], pose[1])
    c, s_ = abs(math.cos(math.radians(pose[3]))), abs(math.sin(math.radians(pose[3])))
    return abs(lat) - (extent[0] * s_ + extent[1] * c) < 1.0


def test_upstream_timeouts():
    """ScenarioTimeout(240) exactly where scenario_runner's behaviour tree has one."""
    with_timeout = {t for t, c in SCENARIO_TYPES.items() if c.has_timeout}
    assert with_timeout == {
        "Accident", "AccidentTwoWays", "ParkedObstacle", "ParkedObstacleTwoWays", "ConstructionObstacle",
        "ConstructionObstacleTwoWays", "HazardAtSideLane", "HazardAtSideLaneTwoWays", "VehicleOpensDoorTwoWays",
        "InvadingTurn", "BlockedIntersection", "SignalizedJunctionLeftTurn", "NonSignalizedJunctionLeftTurn",
        "SignalizedJunctionRightTurn", "NonSignalizedJunctionRightTurn", "SignalizedJunctionLeftTurnEnterFlow",
        "NonSignalizedJunctionLeftTurnEnterFlow", "ParkingExit", "T_Junction", "SequentialLaneChange",
        "EnterActorFlow", "EnterActorFlowV2", "MergerIntoSlowTraffic", "MergerIntoSlowTrafficV2", "HighwayExit",
        "InterurbanActorFlow", "InterurbanAdvancedActorFlow", "CrossingBicycleFlow"}
    assert {SCENARIO_TYPES[t].scenario_timeout for t in with_timeout} == {240.0}


def test_accident_blocks_the_lane_and_times_out_a_stopped_ego(irregular):
    route, half = straight(irregular)
    cfg = scenario("Accident", trigger_on(route, 20), distance=40, direction="right", speed=53)
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    cars = ["police_car", "accident_car_1", "accident_car_2"]
    poses = {c: r.track(c)[0][1] for c in cars}
    s = [route_s(route, *poses[c][:2]) for c in cars]
    assert s[0] == pytest.approx(60, abs=1.5) and s[1] - s[0] == pytest.approx(10, abs=1) \
        and s[2] - s[1] == pytest.approx(6, abs=1)
    for c in cars:
        assert lateral_offset(route, *poses[c][:2])[1] == pytest.approx(0.6 * half, abs=0.1)
        assert blocks_lane(route, poses[c], r.extents[f"{cfg.name}/{c}"], half)
    sign = r.track("warning_sign")[0][1]
    assert lateral_offset(route, *sign[:2])[1] > half                 # beside the road, at the trigger
    assert r.collisions_with("police_car")
    end = r.ended(cfg.name)
    assert end is not None and not end.timed_out                      # the (ghosting) ego got past the end point
    assert not r.track("police_car")[-1][0] >= end.time               # actors removed at the end

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 45, SPEED), 246)
    end = r2.ended(cfg.name)
    assert end.timed_out and end.time - r2.started(cfg.name) == pytest.approx(240, abs=0.2)
    assert not r2.scenario_collisions()


@pytest.mark.parametrize("typ", ["AccidentTwoWays", "ParkedObstacleTwoWays", "ConstructionObstacleTwoWays"])
def test_two_ways_oncoming_flow(irregular, typ):
    route, half = straight(irregular)
    cfg = scenario(typ, trigger_on(route, 20), distance=40, frequency=(25, 40))
    r = run(irregular, route, [cfg], stop_and_wait(route, 45, SPEED), 40, scenario_timeout=35)
    assert r.kinds(cfg.name) == ["started", "wrong_direction_check", "wrong_direction_check", "ended"]
    wd = [e for e in r.events if e.kind == "wrong_direction_check"]
    assert [e.active for e in wd] == [False, True]
    start = r.started(cfg.name)
    # the oncoming flow starts 5 s after the ego is within reach of the obstacle
    assert wd[0].time - start == pytest.approx(5.0, abs=0.2) or wd[0].time - start > 5.0
    oncoming = [k for k in r.extents if "/opposite_" in k]
    assert len(oncoming) >= 2
    for name in oncoming:
        tr = r.track(name.split("/")[1])
        lat = [lateral_offset(route, p[0], p[1])[1] for _, p in tr]
        assert all(-3 * half < v < -half for v in lat)                # in the oncoming lane
        s = [route_s(route, p[0], p[1]) for _, p in tr]
        assert s[-1] < s[0]                                           # driving towards the ego
    assert r.ended(cfg.name).timed_out


@pytest.mark.parametrize("typ", ["ParkedObstacle", "ConstructionObstacle"])
def test_lane_blocked_then_timeout(irregular, typ):
    route, half = straight(irregular)
    cfg = scenario(typ, trigger_on(route, 20), distance=40, direction="right")
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    labels = {k.split("/")[1] for k in r.extents}
    if typ == "ParkedObstacle":
        assert labels == {"warning_sign", "parked_vehicle"}
        p = r.track("parked_vehicle")[0][1]
        assert lateral_offset(route, *p[:2])[1] == pytest.approx(0.7 * half, abs=0.1)
        assert blocks_lane(route, p, r.extents[f"{cfg.name}/parked_vehicle"], half)
    else:
        cones = sorted(l for l in labels if l.startswith("constructioncone"))
        assert len(cones) == 7 and "trafficwarning_0" in labels
        # the set-up appears with the trigger, not before
        t_first = min(t for t, _ in r.track("trafficwarning_0"))
        assert t_first == pytest.approx(r.started(cfg.name), abs=0.06)
        board = r.track("trafficwarning_0")[0][1]
        assert route_s(route, *board[:2]) == pytest.approx(60 - 5, abs=1.0)
        assert blocks_lane(route, board, r.extents[f"{cfg.name}/trafficwarning_0"], half)
        lats = [lateral_offset(route, *r.track(c)[0][1][:2])[1] for c in cones]
        assert min(lats) == pytest.approx(-0.85 * half, abs=0.15)     # the cone line on the lane's left
    assert r.scenario_collisions()

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 40, SPEED), 45, scenario_timeout=30)
    assert r2.ended(cfg.name).timed_out and not r2.scenario_collisions()


@pytest.mark.parametrize("typ", ["HazardAtSideLane", "HazardAtSideLaneTwoWays"])
def test_hazard_at_side_lane_bicycles_ride_ahead(irregular, typ):
    route, half = straight(irregular)
    cfg = scenario(typ, trigger_on(route, 20), distance=40, bicycle_speed=8, bicycle_drive_distance=60)
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    start = r.started(cfg.name)
    for b in ("bicycle_1", "bicycle_2"):
        tr = r.track(b)
        assert tr[0][0] <= start + 0.06                                # spawned at setup, before the trigger
        moving = [(t, p) for t, p in tr if p[4] > 0.1]
        assert moving and moving[0][0] - start < 0.2                   # ride off at the trigger
        assert max(p[4] for _, p in tr) == pytest.approx(8 / 3.6, abs=0.05)
        for _, p in moving:
            assert lateral_offset(route, *p[:2])[1] == pytest.approx(0.55 * half, abs=0.15)
    s1 = route_s(route, *r.track("bicycle_1")[0][1][:2])
    s2 = route_s(route, *r.track("bicycle_2")[0][1][:2])
    assert s2 - s1 == pytest.approx(9, abs=1)
    assert r.collisions_with("bicycle_1") or r.collisions_with("bicycle_2")
    assert not r.ended(cfg.name).timed_out

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 40, SPEED), 40, scenario_timeout=30)
    assert r2.ended(cfg.name).timed_out and not r2.scenario_collisions()


def test_vehicle_opens_door_two_ways(irregular):
    route, half = straight(irregular)
    cfg = scenario("VehicleOpensDoorTwoWays", trigger_on(route, 20), distance=40, frequency=(30, 40))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    car = r.track("parked_vehicle")[0][1]
    assert lateral_offset(route, *car[:2])[1] > half                 # beside the ego's lane, to the right
    door = r.track("open_door")
    assert door, "the door never opened"
    t_open = door[0][0]
    ego = min(r.ticks, key=lambda k: abs(k.time - t_open + 0.05))
    d = route_s(route, *sc.front_wp.xyz[:2]) - route_s(route, *ego.ego[:2])
    assert 0 < d <= max(3.0 * ego.speed, 10.0) + 0.5
    dpose, dext = door[0][1], r.extents[f"{cfg.name}/open_door"]
    _, lat = lateral_offset(route, *dpose[:2])
    assert lat - (dext[0] * abs(math.sin(math.radians(dpose[3] - sc.front_wp.transform.rotation.yaw)))) < half
    assert r.collisions_with("open_door") or r.collisions_with("parked_vehicle")

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 30, SPEED), 30)
    assert not r2.track("open_door") and not r2.scenario_collisions()


def test_invading_turn_oncoming_vehicles_cross_the_centre_line(irregular):
    route, half = straight(irregular)
    offset = 0.3
    cfg = scenario("InvadingTurn", trigger_on(route, 20), distance=60, offset=offset)
    r = run(irregular, route, [cfg], stop_and_wait(route, 30, SPEED), 40, scenario_timeout=35)
    cars = sorted({k.split("/")[1] for k in r.extents if "/invading_" in k})
    assert len(cars) >= 2
    for c in cars:
        ext = r.extents[f"{cfg.name}/{c}"]
        lats = [lateral_offset(route, *p[:2])[1] for _, p in r.track(c) if p[4] > 1.0]
        assert lats
        edge = max(lats) + ext[1]                                    # the edge on the ego's side
        assert edge - (-half) == pytest.approx(offset + ext[1] - 0.7, abs=0.3)
    cones = [r.track(k.split("/")[1])[0][1] for k in r.extents if "/cone_" in k]
    assert len(cones) == 6 and all(lateral_offset(route, *p[:2])[1] < -2 * half for p in cones)
    assert r.ended(cfg.name).timed_out
