"""Junction scenarios: OppositeVehicleTakingPriority / RunningRedLight, BlockedIntersection,
the (Non)SignalizedJunctionLeft/RightTurn flows, the Vanilla turns and T_Junction."""
from __future__ import annotations

import numpy as np
import pytest

from lead.sim.embedded.scenarios.geometry import closest_traffic_light, lights_in_junction, waypoint_at
from lead.sim.embedded.traffic.lights import LightState

from .helpers import (RouteFollower, dist3_xy, ego_at, first_moving, junction_route, lateral_offset,
                      route_s, run, scenario, stop_and_wait, trigger_on)

SPEED = 6.0
RED, GREEN = int(LightState.Red), int(LightState.Green)


def flow_labels(r, prefix="flow"):
    return sorted({k.split("/")[1] for k in r.extents if f"/{prefix}_" in k},
                  key=lambda s: int(s.rsplit("_", 1)[1]))


@pytest.mark.parametrize("typ,signalized,direction", [("OppositeVehicleTakingPriority", False, "right"),
                                                      ("OppositeVehicleRunningRedLight", True, "left")])
def test_opposite_vehicle_crosses_in_front(irregular, typ, signalized, direction):
    route, s_j = junction_route(irregular.map, "straight", signalized, (direction,))
    cfg = scenario(typ, trigger_on(route, s_j - 40), direction=direction)
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    assert sc.adversary.type_id in ("vehicle.dodge.charger_police", "vehicle.dodge.charger_police_2020",
                                    "vehicle.ford.ambulance", "vehicle.carlamotors.firetruck")
    first = r.track("adversary")[0]
    assert first[0] == pytest.approx(r.started(cfg.name), abs=0.06)      # placed at the trigger
    t_move = first_moving(r, "adversary")
    ego = ego_at(r, t_move - 0.05)
    loc = sc.collision_location
    assert dist3_xy(ego.ego, loc) <= max(2.2 * ego.speed, 12.0) + 0.5
    speeds = [p[4] for t, p in r.track("adversary") if t >= t_move]
    assert speeds[0] == pytest.approx(60 / 3.6, abs=0.01)                 # constant velocity at once
    # it drives through the ego's path close to the predicted collision point
    closest = min(dist3_xy(p, loc) for _, p in r.track("adversary"))
    assert closest < 2.5
    t_cross = min(r.track("adversary"), key=lambda tp: dist3_xy(tp[1], loc))[0]
    assert dist3_xy(ego_at(r, t_cross).ego, loc) < 20.0
    if signalized:
        lights = lights_in_junction(irregular.map, sc.junction_id)
        ego_tl = closest_traffic_light(sc.reference_waypoint, lights)
        during = ego_at(r, t_cross).lights
        assert during[ego_tl.id] == GREEN
        assert all(during[tl.id] == RED for tl in lights if tl is not ego_tl)

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 25, SPEED), 25)
    assert first_moving(r2, "adversary") is None and not r2.scenario_collisions()


def test_blocked_intersection(irregular):
    route, s_j = junction_route(irregular.map, "left")
    cfg = scenario("BlockedIntersection", trigger_on(route, s_j - 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 40)
    sc = r.manager.scenario(cfg.name)
    tr = r.track("blocker")
    assert tr[0][0] == pytest.approx(r.started(cfg.name), abs=0.06)
    p = tr[0][1]
    s_b, lat = lateral_offset(route, *p[:2])
    assert abs(lat) < 0.3 and s_j + 5 < s_b < s_j + 35                    # in the ego's lane behind the junction
    t_near = next(t.time for t in r.ticks if dist3_xy(t.ego, p) < 13.0)
    assert tr[-1][0] == pytest.approx(t_near + 10.0, abs=0.2)             # 10 s after the ego came within 13 m
    assert r.collisions_with("blocker")
    assert not r.ended(cfg.name).timed_out

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 10, SPEED), 40, scenario_timeout=30)
    assert r2.ended(cfg.name).timed_out and r2.track("blocker")


@pytest.mark.parametrize("typ,maneuver,signalized,source", [
    ("SignalizedJunctionLeftTurn", "left", True, "opposite"),
    ("NonSignalizedJunctionLeftTurn", "left", False, "opposite"),
    ("SignalizedJunctionRightTurn", "right", True, "left"),
    ("NonSignalizedJunctionRightTurn", "right", False, "left")])
def test_junction_turn_flow(irregular, typ, maneuver, signalized, source):
    route, s_j = junction_route(irregular.map, maneuver, signalized, (source,))
    flow_speed, lo, hi = 8.0, 15.0, 25.0
    cfg = scenario(typ, trigger_on(route, s_j - 30), flow_speed=flow_speed, source_dist_interval=(lo, hi))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 8, SPEED), 40, scenario_timeout=30)
    sc = r.manager.scenario(cfg.name)
    start = r.started(cfg.name)
    cars = flow_labels(r)
    assert len(cars) >= 3
    # constant flow speed, ignoring the stopped ego and every light
    for c in cars:
        assert all(p[4] == pytest.approx(flow_speed, abs=1e-6) for _, p in r.track(c))
    # new vehicles enter at the source once the newest one is a drawn gap away
    entered = [(r.track(c)[0][0], c) for c in cars]
    src = sc.source_wp.xyz
    fresh = [c for t, c in entered if t > start + 0.1]
    assert fresh
    for c in fresh:
        assert dist3_xy(r.track(c)[0][1], src) < 1.0
    gaps = np.diff(sorted(t for t, c in entered if c in fresh)) * flow_speed
    assert all(lo - 1.0 <= g <= hi + 1.0 for g in gaps)
    if maneuver == "right":                                               # initial_actors: the road starts full
        assert sum(1 for t, _ in entered if t <= start + 0.06) >= 2
    # the flow goes through the junction the ego turns at
    assert any(waypoint_at(irregular.map, *sc.path.pose(s)[:3]).junction_id == sc.junction_id
               for s in np.arange(0, sc.path.length, 1.0))
    if signalized:
        lights = lights_in_junction(irregular.map, sc.junction_id)
        ego_tl = closest_traffic_light(sc.reference_waypoint, lights)
        src_tl = closest_traffic_light(sc.source_wp, lights)
        early, late = ego_at(r, start + 2.5).lights, ego_at(r, start + 8).lights
        assert early[ego_tl.id] == RED and early[src_tl.id] == GREEN
        assert late[ego_tl.id] == GREEN and late[src_tl.id] == GREEN
        assert all(late[tl.id] == RED for tl in lights if tl not in (ego_tl, src_tl))
    assert r.ended(cfg.name).timed_out                                    # the ego never left the junction


def test_junction_turn_ends_after_the_junction(irregular):
    route, s_j = junction_route(irregular.map, "left", False, ("opposite",))
    cfg = scenario("NonSignalizedJunctionLeftTurn", trigger_on(route, s_j - 30), flow_speed=8,
                   source_dist_interval=(25, 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    end = r.ended(cfg.name)
    assert not end.timed_out
    s_end = route_s(route, *ego_at(r, end.time).ego[:2])
    assert s_end > s_j + 10                     # WaitEndIntersection, then DriveDistance(10)
    cars = flow_labels(r)
    assert cars and all(r.track(c)[-1][0] <= end.time + 0.06 for c in cars)    # the flow goes with it


@pytest.mark.parametrize("typ", ["VanillaSignalizedTurnEncounterGreenLight", "VanillaSignalizedTurnEncounterRedLight"])
def test_vanilla_signalized_turn_lights(irregular, typ):
    route, s_j = junction_route(irregular.map, "left", True)
    cfg = scenario(typ, trigger_on(route, s_j - 40))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 5, SPEED), 25)
    sc = r.manager.scenario(cfg.name)
    start = r.started(cfg.name)
    lights = lights_in_junction(irregular.map, sc.junction_id)
    ego = sc.ego_light
    first, second, after = (ego_at(r, start + t).lights for t in (2.5, 7.5, 12.5))
    if typ.endswith("GreenLight"):
        assert first[ego] == GREEN and all(first[tl.id] == RED for tl in lights if tl.id != ego)
        assert all(second[tl.id] == RED for tl in lights)
        _ = after                                                          # back to the junction's cycle
    else:
        assert all(first[tl.id] == RED for tl in lights)
        assert second[ego] == GREEN and after[ego] == GREEN
        assert all(second[tl.id] == RED for tl in lights if tl.id != ego)
    assert r.kinds(cfg.name) == ["started", "ended"] and not r.ended(cfg.name).timed_out


def test_vanilla_signalized_lights_return_to_their_cycle(irregular):
    route, s_j = junction_route(irregular.map, "left", True)
    cfg = scenario("VanillaSignalizedTurnEncounterGreenLight", trigger_on(route, s_j - 40))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 5, SPEED), 20, finish=False)
    sc = r.manager.scenario(cfg.name)
    lights = irregular.traffic.light_system
    jl = lights_in_junction(irregular.map, sc.junction_id)
    # 10 s after the trigger nothing is forced any more: every light shows its junction's cycle
    assert r.ticks[-1].time - r.started(cfg.name) > 10.5
    for tl in jl:
        assert irregular.traffic.lights()[tl.id] == lights.group_of[tl.id].states()[tl.id]
    r.manager.finish()


@pytest.mark.parametrize("typ", ["VanillaNonSignalizedTurn", "VanillaNonSignalizedTurnEncounterStopsign"])
def test_vanilla_non_signalized_turn_ends_after_the_junction(irregular, typ):
    route, s_j = junction_route(irregular.map, "right", False)
    cfg = scenario(typ, trigger_on(route, s_j - 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    end = r.ended(cfg.name)
    assert not end.timed_out and end.time < r.ticks[-1].time - 1
    assert route_s(route, *ego_at(r, end.time).ego[:2]) > s_j + 10
    assert not r.extents                                                    # nothing scripted

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 5, SPEED), 30)
    assert r2.ended(cfg.name).time == pytest.approx(r2.ticks[-1].time, abs=0.1)   # still running at the end


def test_t_junction_runs_200_m_or_times_out(grid):
    route, s_j = junction_route(grid.map, "left", before=40, after=60)
    cfg = scenario("T_Junction", trigger_on(route, 10))
    r = run(grid, route, [cfg], stop_and_wait(route, 30, SPEED), 252)
    end = r.ended(cfg.name)
    assert end.timed_out and end.time - r.started(cfg.name) == pytest.approx(240, abs=0.2)

    r2 = run(grid, route, [cfg], RouteFollower(route, SPEED), 30)
    assert r2.ended(cfg.name).time == pytest.approx(r2.ticks[-1].time, abs=0.1)   # < 200 m: runs to the route's end
