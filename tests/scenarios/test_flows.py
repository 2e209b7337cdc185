"""Flows, highway and lane-change types: EnterActorFlow(V2), MergerIntoSlowTraffic(V2),
HighwayExit, InterurbanActorFlow, InterurbanAdvancedActorFlow, the left-turn enter
flows, CrossingBicycleFlow, HighwayCutIn and SequentialLaneChange. The generated towns
have no highways: the flows run through their junctions, where the ego has to merge
into or cross them, as the route XML's start/end locations describe."""
from __future__ import annotations

import numpy as np
import pytest

from lead.sim.embedded.scenarios.geometry import (filter_direction, first_junction_wp, junction_topology,
                                                  move_backward, next_wp, route_arrays, target_waypoint, waypoint_at)

from .helpers import (RouteFollower, dist3_xy, ego_at, junction_route, lane_route, lateral_offset, route_s, run,
                      scenario, stop_and_wait, straight_lane, trigger_on)

SPEED = 6.0


def loc(p):
    return {"x": round(p[0], 3), "y": round(p[1], 3), "z": round(p[2], 3)}


def flow_cars(r, prefix="flow"):
    return sorted({k.split("/")[1] for k in r.extents if f"/{prefix}" in k})


def entry_of(world, route, s_j, direction):
    """The junction entry on `direction` of the junction the route meets at s_j."""
    ra = route_arrays(route, world.map)
    i = int(np.searchsorted(ra.cum, s_j - 5))
    jwp, _ = first_junction_wp(waypoint_at(world.map, *ra.xyz[i]))
    entries, _ = junction_topology(world.map, jwp.junction_id)
    return [e for e in filter_direction(jwp, entries, direction)
            if abs((target_waypoint(e, 0).transform.rotation.yaw - e.transform.rotation.yaw + 180) % 360 - 180) < 30][0]


def route_point(route, s):
    tp = trigger_on(route, s)
    return (tp.x, tp.y, tp.z)


def merge_site(world):
    """The ego turns right into a road whose traffic comes straight from its left."""
    route, s_j = junction_route(world.map, "right", None, ("left",))
    src = move_backward(entry_of(world, route, s_j, "left"), 50)
    return route, s_j, src.xyz, route_point(route, s_j + 45)


@pytest.mark.parametrize("typ", ["EnterActorFlow", "EnterActorFlowV2", "MergerIntoSlowTraffic",
                                 "MergerIntoSlowTrafficV2"])
def test_enter_a_flow(irregular, typ):
    route, s_j, start, end = merge_site(irregular)
    speed = 5.0 if typ.startswith("Merger") else 8.0
    cfg = scenario(typ, trigger_on(route, s_j - 35), start_actor_flow=loc(start), end_actor_flow=loc(end),
                   flow_speed=speed, source_dist_interval=(15, 25))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 35)
    st = r.started(cfg.name)
    cars = flow_cars(r)
    assert len(cars) >= 3
    initial = [c for c in cars if r.track(c)[0][0] <= st + 0.06]
    assert len(initial) >= 2                                              # initial_actors: the road starts full
    hits = r.scenario_collisions()
    t_hit = hits[0][0] if hits else float("inf")
    for c in cars:
        tr = r.track(c)
        # constant velocity, ignoring the ego, until a flow vehicle collides (then they brake as traffic)
        assert all(p[4] == pytest.approx(speed, abs=1e-6) for t, p in tr if t < t_hit)
        # every flow vehicle ends on the ego's exit road, driving the ego's way out of the junction
        s_last, lat = lateral_offset(route, *tr[-1][1][:2])
        if s_last > s_j + 15:
            assert abs(lat) < 0.5
    end = r.ended(cfg.name)
    assert not end.timed_out
    assert dist3_xy(ego_at(r, end.time).ego, end_pt := end_location(r, cfg)) < 2.0 + SPEED * 0.05 + 0.1
    assert end_pt

    r2 = run(irregular, route, [cfg], stop_and_wait(route, s_j - 5, SPEED), 40, scenario_timeout=30)
    assert r2.ended(cfg.name).timed_out


def end_location(r, cfg):
    p = cfg.parameters["end_actor_flow"]
    return (float(p["x"]), float(p["y"]), float(p["z"]))


def test_highway_exit_ends_when_the_ego_leaves_the_flows_junction(irregular):
    route, s_j = junction_route(irregular.map, "right")
    ra = route_arrays(route, irregular.map)
    ego_entry = waypoint_at(irregular.map, *ra.xyz[int(np.searchsorted(ra.cum, s_j - 2))])
    src = move_backward(ego_entry, 30)
    snk = next_wp(target_waypoint(ego_entry, 0), 20)
    cfg = scenario("HighwayExit", trigger_on(route, s_j - 35), start_actor_flow=loc(src.xyz),
                   end_actor_flow=loc(snk.xyz), flow_speed=8, source_dist_interval=(20, 30))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    cars = flow_cars(r)
    assert cars
    # the flow drives the ego's lane through the junction and straight on
    for c in cars:
        tr = r.track(c)
        assert dist3_xy(tr[0][1], src.xyz) < 1.0 or tr[0][0] <= r.started(cfg.name) + 0.06
    end = r.ended(cfg.name)
    assert not end.timed_out
    s_end = route_s(route, *ego_at(r, end.time).ego[:2])
    assert s_end > s_j and not irregular.map.get_waypoint(
        __import__("lead.world.transform", fromlist=["Location"]).Location(*ego_at(r, end.time).ego[:3])).is_junction


def test_interurban_actor_flow_oncoming_stream(irregular):
    route, s_j = junction_route(irregular.map, "left", None, ("opposite",))
    opp = entry_of(irregular, route, s_j, "opposite")
    src, snk = move_backward(opp, 50), next_wp(target_waypoint(opp, 0), 20)
    cfg = scenario("InterurbanActorFlow", trigger_on(route, s_j - 35), start_actor_flow=loc(src.xyz),
                   end_actor_flow=loc(snk.xyz), flow_speed=8, source_dist_interval=(20, 30))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 3, SPEED), 40, scenario_timeout=30)
    cars = flow_cars(r)
    assert len(cars) >= 2
    first = r.track(cars[0])
    assert dist3_xy(first[0][1], src.xyz) < 1.0                          # not filled: all from the source
    assert any(dist3_xy(p, snk.xyz) < 5.0 for _, p in first)              # through the junction to the sink
    assert r.ended(cfg.name).timed_out

    r2 = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    assert not r2.ended(cfg.name).timed_out


def test_interurban_advanced_actor_flow_two_directions(irregular):
    route, s_j, start, end = merge_site(irregular)
    cfg = scenario("InterurbanAdvancedActorFlow", trigger_on(route, s_j - 35), start_actor_flow=loc(start),
                   end_actor_flow=loc(end), flow_speed=8, source_dist_interval=(20, 30))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 3, SPEED), 40, scenario_timeout=30)
    one, two = flow_cars(r, "flow1"), flow_cars(r, "flow2")
    assert one and two
    sc = r.manager.scenario(cfg.name)
    assert dist3_xy(r.track(two[0])[0][1], sc.source_wp_2.xyz) < 1.0      # the second flow runs the other way
    yaw1, yaw2 = r.track(one[0])[-1][1][3], r.track(two[0])[0][1][3]
    assert abs((yaw1 - yaw2 + 180) % 360 - 180) > 150                      # opposite headings on one road
    assert r.ended(cfg.name).timed_out


@pytest.mark.parametrize("typ,signalized", [("SignalizedJunctionLeftTurnEnterFlow", True),
                                            ("NonSignalizedJunctionLeftTurnEnterFlow", False)])
def test_left_turn_enter_flow_turns_into_the_egos_road(irregular, typ, signalized):
    route, s_j = junction_route(irregular.map, "left", signalized, ("opposite",))
    cfg = scenario(typ, trigger_on(route, s_j - 30), flow_speed=8, source_dist_interval=(15, 25))
    r = run(irregular, route, [cfg], stop_and_wait(route, s_j - 5, SPEED), 40, scenario_timeout=30)
    cars = flow_cars(r)
    assert cars
    # the oncoming flow turns right, into the road the ego turns left into
    tr = r.track(cars[0])
    assert any(abs(lateral_offset(route, *p[:2])[1]) < 0.5 and lateral_offset(route, *p[:2])[0] > s_j + 10
               for _, p in tr)
    assert r.ended(cfg.name).timed_out


def test_crossing_bicycle_flow_needs_a_biking_lane(irregular, caplog):
    route, s_j, start, _ = merge_site(irregular)
    cfg = scenario("CrossingBicycleFlow", trigger_on(route, s_j - 35), start_actor_flow=loc(start), flow_speed=8)
    with caplog.at_level("WARNING", logger="lead.scenarios"):
        r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 5)
    assert r.kinds(cfg.name) == ["skipped"]
    assert "biking lane" in r.events[0].message and "biking lane" in caplog.text


def test_highway_cut_in(irregular):
    route, s_j = junction_route(irregular.map, "straight", None, (), before=90, after=90, lane_on_right=True)
    ego_wp = waypoint_at(irregular.map, *route_point(route, s_j - 45))
    right = ego_wp.get_right_lane()
    cfg = scenario("HighwayCutIn", trigger_on(route, s_j - 60), other_actor_location=loc(right.xyz))
    r = run(irregular, route, [cfg], RouteFollower(route, SPEED), 30)
    tr = r.track("cut_in_vehicle")
    assert tr and tr[0][0] == pytest.approx(r.started(cfg.name), abs=0.06)
    inlane = [(t, p) for t, p in tr if abs(lateral_offset(route, *p[:2])[1]) < 0.3 and
              lateral_offset(route, *p[:2])[0] > s_j]
    assert inlane and route_s(route, *inlane[0][1][:2]) > route_s(route, *ego_at(r, inlane[0][0]).ego[:2])


def test_sequential_lane_change_runs_200_m(irregular):
    wp = straight_lane(irregular.map, 220, 1)
    route = lane_route(irregular.map, *wp.xyz[:2], 220)
    cfg = scenario("SequentialLaneChange", trigger_on(route, 5))
    r = run(irregular, route, [cfg], RouteFollower(route, 8.0), 40)
    end = r.ended(cfg.name)
    assert not end.timed_out and end.time < r.ticks[-1].time - 0.5
    s_trigger = route_s(route, *r.manager.scenario(cfg.name).trigger_location[:2])
    assert route_s(route, *ego_at(r, end.time).ego[:2]) - s_trigger == pytest.approx(200, abs=3)
