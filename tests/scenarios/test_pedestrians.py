"""Pedestrians and cyclists crossing in front of the ego: DynamicObjectCrossing,
ParkingCrossingPedestrian, PedestrianCrossing, VehicleTurningRoute,
VehicleTurningRoutePedestrian - on the generated towns, with a blind route follower
(the adversary must cross the ego's lane in time for a collision) and a stop-and-wait
ego (the adversary must not move, nothing may hit the ego)."""
from __future__ import annotations

import math

import pytest

from lead.world.lane_types import LaneType
from lead.world.transform import Location

from .helpers import (RouteFollower, dist3_xy, ego_at, first_in_lane, first_moving, junction_route, lane_route,
                      lateral_offset, route_s, run, scenario, stop_and_wait, straight_lane, trigger_on)

SPEED = 6.0


def straight(world, length=220.0):
    wp = straight_lane(world.map, length, 1)
    return lane_route(world.map, *wp.xyz[:2], length)


def lane_half(world, route) -> float:
    tf = route[len(route) // 2][0]
    return world.map.get_waypoint(tf.location).lane_width / 2


@pytest.mark.parametrize("blocker,angle", [("static.prop.container", 8), ("static.prop.advertisement", 0)])
def test_dynamic_object_crossing_blind_ego_meets_the_walker(irregular, blocker, angle):
    route = straight(irregular)
    cfg = scenario("DynamicObjectCrossing", trigger_on(route, 20), distance=40, direction="right",
                   blocker_model=blocker, crossing_angle=angle)
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    half = lane_half(irregular, route)
    coll_s = route_s(route, *sc.collision_wp.xyz[:2])
    assert 55 < coll_s < 65                                   # 20 m to the trigger + 40 m

    # the blocker stands beside the road on the right, beyond the ego's lane
    (_, bpose), = r.track("blocker")[:1]
    bs, blat = lateral_offset(route, bpose[0], bpose[1])
    assert blat > half and abs(bs - coll_s) < 1.0
    assert irregular.map.get_waypoint(Location(*bpose[:3]), lane_type=LaneType.Sidewalk) is not None

    # the walker waits until the ego is 2.1 s (+0.1 per 5 deg) or 6 m away, then crosses the lane
    t_move = first_moving(r, "adversary")
    assert t_move is not None
    reaction = 2.1 + 0.1 * math.floor(angle / 5)
    ego = ego_at(r, t_move - 0.05)
    d = route_s(route, *sc.collision_wp.xyz[:2]) - route_s(route, *ego.ego[:2])
    assert 0 < d <= max(reaction * ego.speed, 6.0) + 0.5
    assert d > (reaction - 0.3) * ego.speed                   # not earlier than the trigger says
    t_lane, _ = first_in_lane(r, route, "adversary", half + 0.2)
    assert 0.3 < t_lane - t_move < 1.5
    assert r.collisions_with("adversary"), "the blind ego should hit the crossing pedestrian"
    # the walker crosses twice its distance to the lane centre, then both actors go
    assert r.ended(cfg.name) is not None and not r.ended(cfg.name).timed_out


def test_dynamic_object_crossing_stopped_ego_sees_no_walker_move(irregular):
    route = straight(irregular)
    cfg = scenario("DynamicObjectCrossing", trigger_on(route, 20), distance=40, blocker_model="static.prop.container")
    stop = 60 - 15.0                                          # 15 m before the crossing point
    r = run(irregular, route, [cfg], stop_and_wait(route, stop, SPEED), 30)
    assert r.started(cfg.name) is not None
    assert r.track("adversary"), "the walker is placed on the sidewalk at the trigger"
    assert first_moving(r, "adversary") is None
    assert first_in_lane(r, route, "adversary", lane_half(irregular, route)) is None
    assert not r.scenario_collisions()
    assert r.ended(cfg.name).time == pytest.approx(r.ticks[-1].time, abs=0.1)   # still waiting: ended by finish()


def test_dynamic_object_crossing_to_the_left_crosses_from_the_left(irregular):
    route = straight(irregular)
    cfg = scenario("DynamicObjectCrossing", trigger_on(route, 20), distance=40, direction="left",
                   blocker_model="static.prop.vendingmachine")
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    (_, p0), = r.track("adversary")[:1]
    assert lateral_offset(route, p0[0], p0[1])[1] < -5.0      # beyond the oncoming lane, on the left
    assert first_in_lane(r, route, "adversary", lane_half(irregular, route)) is not None


def test_parking_crossing_pedestrian(irregular):
    route = straight(irregular)
    cfg = scenario("ParkingCrossingPedestrian", trigger_on(route, 20), distance=40, direction="right",
                   crossing_angle=12)
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    half = lane_half(irregular, route)
    (_, car), = r.track("parked_blocker")[:1]
    s_car, lat_car = lateral_offset(route, car[0], car[1])
    assert lat_car == pytest.approx(2 * half, abs=0.2) and 58 < s_car < 62   # one lane width to the right
    (_, w0), = r.track("adversary")[:1]
    assert route_s(route, w0[0], w0[1]) > s_car + sc.blocker.extent[0]        # behind the car, seen from the ego
    t_move = first_moving(r, "adversary")
    ego = ego_at(r, t_move - 0.05)
    d = route_s(route, *sc.collision_wp.xyz[:2]) - route_s(route, *ego.ego[:2])
    assert 0 < d <= max((2.15 + 0.2) * ego.speed, 6.0) + 0.5
    assert first_in_lane(r, route, "adversary", half) is not None
    assert r.collisions_with("adversary")

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_car - 15, SPEED), 25)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()


def test_pedestrian_crossing_three_walkers_at_the_junction(irregular):
    route, s_j = junction_route(irregular.map, "straight")
    cfg = scenario("PedestrianCrossing", trigger_on(route, s_j - 40))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    sc = r.manager.scenario(cfg.name)
    half = lane_half(irregular, route)
    s_cross = route_s(route, *sc.collision_wp.xyz[:2])
    assert s_j - 2 <= s_cross <= s_j + 0.5                    # the last metre before the junction
    movers = [first_moving(r, f"pedestrian_{i}") for i in (1, 2, 3)]
    assert all(t is not None for t in movers)
    first = min(movers)
    ego = ego_at(r, first)
    d = s_cross - route_s(route, *ego.ego[:2])
    assert d <= max(3.5 * ego.speed, 12.0) + 1.5              # idle times of up to 1.5 s are allowed
    for i in (1, 2, 3):
        hit = first_in_lane(r, route, f"pedestrian_{i}", half, (s_cross - 3, s_cross + 3))
        assert hit is not None, f"pedestrian {i} never entered the ego's lane"

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 25, SPEED), 30)
    assert all(first_moving(r2, f"pedestrian_{i}") is None for i in (1, 2, 3))
    assert not r2.scenario_collisions()


def test_vehicle_turning_route_bicycle_crosses_the_exit(irregular):
    route, s_j = junction_route(irregular.map, "right")
    cfg = scenario("VehicleTurningRoute", trigger_on(route, s_j - 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    sc = r.manager.scenario(cfg.name)
    s_cross = route_s(route, *sc.collision_wp.xyz[:2])
    assert s_cross > s_j + 5                                  # 11 m after the junction exit
    (_, b0), = r.track("adversary")[:1]
    assert lateral_offset(route, b0[0], b0[1])[1] > lane_half(irregular, route)   # waits on the right
    t_move = first_moving(r, "adversary")
    ego = ego_at(r, t_move - 0.05)
    assert dist3_xy(ego.ego, sc.collision_wp.xyz) <= max(1.8 * ego.speed, 6.0) + 0.5
    assert first_in_lane(r, route, "adversary", lane_half(irregular, route)) is not None

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 10, SPEED), 30)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()


def test_vehicle_turning_route_pedestrian(irregular):
    route, s_j = junction_route(irregular.map, "left")
    cfg = scenario("VehicleTurningRoutePedestrian", trigger_on(route, s_j - 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    sc = r.manager.scenario(cfg.name)
    t_move = first_moving(r, "adversary")
    assert t_move is not None
    ego = ego_at(r, t_move - 0.05)
    assert dist3_xy(ego.ego, sc.collision_wp.xyz) <= max(2.2 * ego.speed, 6.0) + 0.5
    s_cross = route_s(route, *sc.collision_wp.xyz[:2])
    assert first_in_lane(r, route, "adversary", lane_half(irregular, route), (s_cross - 3, s_cross + 3)) is not None

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 10, SPEED), 30)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()
