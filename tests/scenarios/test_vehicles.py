"""Vehicles around the ego: HardBreakRoute, ControlLoss, ParkingCutIn, StaticCutIn,
ParkingExit, YieldToEmergencyVehicle (the latter through the leaderboard's criteria)."""
from __future__ import annotations

import pytest

from lead.leaderboard.events import TrafficEventType as T
from lead.sim.embedded.scenarios.hard_break import HARD_DECEL
from lead.sim.embedded.world import SCENARIO_FIRST_ID

from lead.sim.embedded.scenarios.actors import lane_waypoints

from .helpers import (RouteFollower, dist3_xy, ego_at, first_moving, lane_route, lateral_offset, route_s, route_through,
                      run, run_evaluated, scenario, stop_and_wait, straight_lane, trigger_on)

SPEED = 6.0


def straight(world, lanes=1, index=0, length=220.0):
    wp = straight_lane(world.map, length, lanes, lane_index=index)
    return lane_route(world.map, *wp.xyz[:2], length), wp.lane_width / 2


def test_hard_break_route_leader_brakes_for_ten_seconds(irregular):
    route, half = straight(irregular)
    cfg = scenario("HardBreakRoute", trigger_on(route, 20))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 35)
    start = r.started(cfg.name)
    tr = r.track("lead_vehicle")
    assert tr[0][0] <= r.ticks[0].time + 0.06                              # there from the route's start
    s0 = route_s(route, *tr[0][1][:2])
    assert s0 == pytest.approx(15.0, abs=1.5)                               # 15 m ahead of the ego
    before = [p[4] for t, p in tr if start - 1.0 < t < start]
    assert before and min(before) > 3.0                                     # cruising when the trigger fires
    v0 = before[-1]
    stopped = [t for t, p in tr if t > start and p[4] == 0.0]
    assert stopped and stopped[0] - start == pytest.approx(v0 / HARD_DECEL, abs=0.15)
    moving_again = next(t for t, p in tr if t > stopped[0] and p[4] > 0)
    assert moving_again - start == pytest.approx(10.0, abs=0.15)             # Idle(10)
    assert all(lateral_offset(route, *p[:2])[1] == pytest.approx(0.0, abs=0.3) for _, p in tr)
    assert r.collisions_with("lead_vehicle")                                # the blind ego runs into it
    end = r.ended(cfg.name)
    assert end is not None and end.time > moving_again

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 8, SPEED), 25)
    assert r2.started(cfg.name) is None and not r2.scenario_collisions()
    tr2 = r2.track("lead_vehicle")
    gap = [dist3_xy(p, ego_at(r2, t).ego) for t, p in tr2]
    assert max(gap) < 30.0 + 8.0 ** 2 / (2 * 6.0) + 1.0                     # it waits ~30 m ahead of the ego
    assert tr2[-1][1][4] == 0.0


def test_control_loss_noise_over_the_debris(irregular):
    route, half = straight(irregular)
    cfg = scenario("ControlLoss", trigger_on(route, 20))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    sc = r.manager.scenario(cfg.name)
    assert len(sc.debris_locations) == 3
    s_trigger = route_s(route, *sc.trigger_location[:2])
    ds = [route_s(route, *loc[:2]) - s_trigger for loc in sc.debris_locations]
    # 1 m steps until the travelled distance reaches 14 / 48 / 74 m (rounding may add a step)
    assert all(d0 - 0.1 <= d <= d0 + 1.1 for d, d0 in zip(ds, (14, 48, 74)))
    noisy = [t for t in r.ticks if t.applied != t.control]
    assert noisy
    for t in noisy:
        near = min(dist3_xy(t.ego, loc) for loc in sc.debris_locations)
        assert near < 2.3                                                   # only over a patch
        assert abs(t.applied.steer - t.control.steer) < 0.055 + 5 * 0.015
    patches = {min(range(3), key=lambda i: dist3_xy(t.ego, sc.debris_locations[i])) for t in noisy}
    assert patches == {0, 1, 2}
    for i in range(3):
        diffs = [t.applied.steer - t.control.steer for t in noisy
                 if min(range(3), key=lambda k: dist3_xy(t.ego, sc.debris_locations[k])) == i]
        assert abs(sum(diffs) / len(diffs)) == pytest.approx(0.055, abs=0.02)   # mean +-0.055
    end = r.ended(cfg.name)
    assert end is not None
    assert 108 < route_s(route, *ego_at(r, end.time).ego[:2]) - s_trigger < 113    # DriveDistance(110)

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 30, SPEED), 20)
    assert all(t.applied == t.control for t in r2.ticks)


def test_parking_cut_in_pulls_into_the_ego_lane(irregular):
    route, half = straight(irregular, lanes=2, index=0)
    cfg = scenario("ParkingCutIn", trigger_on(route, 20), direction="right")
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    p0 = r.track("adversary")[0][1]
    assert lateral_offset(route, *p0[:2])[1] > 2 * half                    # parked in the next lane, pushed outwards
    t_move = first_moving(r, "adversary")
    ego = ego_at(r, t_move - 0.05)
    d = route_s(route, *sc.collision_wp.xyz[:2]) - route_s(route, *ego.ego[:2])
    assert 0 < d <= max(2.35 * ego.speed, 10.0) + 0.5
    inlane = [(t, p) for t, p in r.track("adversary") if abs(lateral_offset(route, *p[:2])[1]) < 0.3]
    assert inlane, "the cut-in car never reached the ego's lane"
    t_in, p_in = inlane[0]
    assert route_s(route, *p_in[:2]) > route_s(route, *ego_at(r, t_in).ego[:2])   # ahead of the ego
    assert max(p[4] for _, p in r.track("adversary")) == pytest.approx(20 / 3.6, abs=0.01)
    assert r.track("parked_blocker")

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 35 + 20 - 15, SPEED), 25)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()


def test_static_cut_in_from_a_queue(irregular):
    route, half = straight(irregular, lanes=2, index=0)
    cfg = scenario("StaticCutIn", trigger_on(route, 20), distance=45, direction="right")
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    start = r.started(cfg.name)
    queue = sorted(k.split("/")[1] for k in r.extents)
    assert queue == ["adversary", "standing_1", "standing_2", "standing_4", "standing_5", "standing_6"]
    for k in queue:
        t0, p = r.track(k)[0]
        assert t0 == pytest.approx(start, abs=0.06)                         # placed at the trigger
        assert lateral_offset(route, *p[:2])[1] == pytest.approx(2 * half, abs=0.3)
    s_adv = route_s(route, *r.track("adversary")[0][1][:2])
    assert s_adv - 20 == pytest.approx(45 + 2 * 11, abs=2)
    t_move = first_moving(r, "adversary")
    ego = ego_at(r, t_move - 0.05)
    assert s_adv - route_s(route, *ego.ego[:2]) <= max(2.7 * ego.speed, 15.0) + 0.5
    inlane = [(t, p) for t, p in r.track("adversary") if abs(lateral_offset(route, *p[:2])[1]) < 0.3]
    assert inlane and route_s(route, *inlane[0][1][:2]) > route_s(route, *ego_at(r, inlane[0][0]).ego[:2])
    assert inlane[0][0] - t_move < 3.5                                      # within the 3 s lane change
    assert max(p[4] for _, p in r.track("adversary")) == pytest.approx(60 / 3.6, abs=0.05)
    assert all(p[4] == 0 for k in queue if k != "adversary" for _, p in r.track(k))

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_adv - 25, SPEED), 25)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()


def test_parking_exit_starts_the_ego_in_the_parking_spot(irregular):
    route, half = straight(irregular, lanes=3, index=1)
    cfg = scenario("ParkingExit", trigger_on(route, 0), direction="right", front_vehicle_distance=9,
                   behind_vehicle_distance=9)
    r = run(irregular, route, [cfg], RouteFollower(route, 4.0), 25)
    first = r.ticks[0]
    _, lat = lateral_offset(route, *first.ego[:2])
    w = 2 * half
    assert lat == pytest.approx(w + (w - 1.0642) / 4, abs=0.2)              # moved into the spot beside the lane
    front, behind = r.track("parked_front")[0][1], r.track("parked_behind")[0][1]
    assert route_s(route, *front[:2]) - route_s(route, *first.ego[:2]) == pytest.approx(9, abs=1)
    assert dist3_xy(first.ego, behind) == pytest.approx(9, abs=1)          # behind the spot (before the route)
    assert lateral_offset(route, *front[:2])[1] == pytest.approx(lat, abs=0.2)
    side = r.track("side_vehicle")
    assert abs(lateral_offset(route, *side[0][1][:2])[1]) < 0.3             # in the lane the ego must enter
    assert side[-1][1][4] > 0 and dist3_xy(side[-1][1], side[0][1]) == pytest.approx(50, abs=2)
    end = r.ended(cfg.name)
    assert end and not end.timed_out

    r2 = run(irregular, route, [cfg], stop_and_wait(route, 0.5, SPEED), 40, scenario_timeout=30)
    assert r2.ended(cfg.name).timed_out


def test_yield_to_emergency_vehicle_through_the_criteria(irregular):
    route, half = straight(irregular, lanes=2, index=0)
    cfg = scenario("YieldToEmergencyVehicle", trigger_on(route, 40), distance=28)
    r, ev, events = run_evaluated(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    sc = r.manager.scenario(cfg.name)
    started = next(e for e in r.events if e.kind == "started")
    assert isinstance(started.emergency_vehicle_id, int) and started.emergency_vehicle_id >= SCENARIO_FIRST_ID
    assert sc.ev.type_id in ("vehicle.dodge.charger_police", "vehicle.dodge.charger_police_2020",
                             "vehicle.ford.ambulance", "vehicle.carlamotors.firetruck")
    yields = [e for e in events if e.type == T.YIELD_TO_EMERGENCY_VEHICLE]
    assert len(yields) == 1 and yields[0].other_actor_id == started.emergency_vehicle_id
    end = r.ended(cfg.name)
    assert end.time - started.time < 12.0                                  # 10 s after it came within 50 m

    # an ego that moves over to the other lane right after the trigger lets it pass
    m = irregular.map
    wp = m.get_waypoint(route[0][0].location)
    chain = lane_waypoints(wp, 50)
    right = lane_waypoints(chain[-1].get_right_lane(), 150)
    yielding = route_through(m, chain + right)
    cfg2 = scenario("YieldToEmergencyVehicle", trigger_on(yielding, 25), distance=28)
    r2, ev2, events2 = run_evaluated(irregular, yielding, [cfg2], RouteFollower(yielding, SPEED), 30)
    assert r2.started(cfg2.name) is not None
    assert not [e for e in events2 if e.type == T.YIELD_TO_EMERGENCY_VEHICLE]
    assert not r2.ended(cfg2.name).timed_out
