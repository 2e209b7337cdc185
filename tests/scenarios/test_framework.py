"""The scenario framework: route filtering, set-up distance, trigger semantics, unknown
types and setup errors, determinism, background traffic, and the events that reach the
leaderboard's RouteEvaluator."""
from __future__ import annotations

import logging

import numpy as np

from lead.control.vehicle_control import VehicleControl
from lead.leaderboard.events import TrafficEventType as T
from lead.leaderboard.rules import BENCH2DRIVE
from lead.sim.embedded.scenarios import SCENARIO_TYPES, ScenarioManager, load_all
from lead.sim.embedded.scenarios.manager import INIT_THRESHOLD, TRIGGER_DISTANCE
from lead.world.routes import TriggerPoint

from .helpers import (RouteFollower, dense_route, ego_at, lane_route, make_world, route_s, run, run_evaluated,
                      scenario, spawn_at_route_start, stop_and_wait, straight_lane, trigger_on)

SPEED = 6.0

# the 44 scenario types of bench2drive220.xml (specs/leaderboard.md section 7)
BENCH2DRIVE_TYPES = {
    "Accident", "AccidentTwoWays", "BlockedIntersection", "ConstructionObstacle", "ConstructionObstacleTwoWays",
    "ControlLoss", "CrossingBicycleFlow", "DynamicObjectCrossing", "EnterActorFlow", "HardBreakRoute",
    "HazardAtSideLane", "HazardAtSideLaneTwoWays", "HighwayCutIn", "HighwayExit", "InterurbanActorFlow",
    "InterurbanAdvancedActorFlow", "InvadingTurn", "MergerIntoSlowTraffic", "MergerIntoSlowTrafficV2",
    "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionLeftTurnEnterFlow", "NonSignalizedJunctionRightTurn",
    "OppositeVehicleRunningRedLight", "OppositeVehicleTakingPriority", "ParkedObstacle", "ParkedObstacleTwoWays",
    "ParkingCrossingPedestrian", "ParkingCutIn", "ParkingExit", "PedestrianCrossing", "SequentialLaneChange",
    "SignalizedJunctionLeftTurn", "SignalizedJunctionLeftTurnEnterFlow", "SignalizedJunctionRightTurn",
    "StaticCutIn", "T_Junction", "VanillaNonSignalizedTurn", "VanillaNonSignalizedTurnEncounterStopsign",
    "VanillaSignalizedTurnEncounterGreenLight", "VanillaSignalizedTurnEncounterRedLight",
    "VehicleOpensDoorTwoWays", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "YieldToEmergencyVehicle"}


def straight(world, length=220.0):
    wp = straight_lane(world.map, length, 1)
    return lane_route(world.map, *wp.xyz[:2], length)


def test_every_bench2drive_type_is_registered():
    types = load_all()
    assert len(BENCH2DRIVE_TYPES) == 44
    assert BENCH2DRIVE_TYPES <= set(types)
    assert set(types) - BENCH2DRIVE_TYPES == {"EnterActorFlowV2"}


def test_trigger_fires_within_two_metres_of_the_route_point(irregular):
    route = straight(irregular)
    cfg = scenario("ParkedObstacle", trigger_on(route, 50), distance=40)
    r = run(irregular, route, [cfg], stop_and_wait(route, 50 - TRIGGER_DISTANCE - 1.5, SPEED), 20)
    assert r.started(cfg.name) is None                                   # stopped 3.5 m short: not triggered
    assert r.track("parked_vehicle")                                     # but set up (within 500 m)
    r2 = run(irregular, route, [cfg], RouteFollower(route, SPEED), 20)
    t = r2.started(cfg.name)
    s = route_s(route, *ego_at(r2, t).ego[:2])
    assert 50 - TRIGGER_DISTANCE - 1.0 < s < 50                           # the first route point within 2 m


def test_scenarios_off_the_route_are_dropped(irregular, caplog):
    route = straight(irregular)
    tp = trigger_on(route, 30)
    off = TriggerPoint(tp.x + 3.0, tp.y + 3.0, tp.z, tp.yaw)
    turned = TriggerPoint(tp.x, tp.y, tp.z, tp.yaw + 30.0)
    cfgs = [scenario("ParkedObstacle", off, "Off_1"), scenario("ParkedObstacle", turned, "Turned_1"),
            scenario("ParkedObstacle", tp, "Kept_1", distance=30)]
    with caplog.at_level(logging.WARNING, logger="lead.scenarios"):
        spawn_at_route_start(irregular, route)
        m = ScenarioManager(irregular, route, cfgs)
    assert [s.name for s in m.scenarios] == ["Kept_1"]
    assert {name for name, _, _ in m.skipped} == {"Off_1", "Turned_1"}
    assert caplog.text.count("too far from the route") == 2
    m.finish()


def test_unknown_type_warns_once_and_the_route_runs(irregular, caplog):
    route = straight(irregular)
    cfgs = [scenario("FlyingSaucer", trigger_on(route, 20), "Saucer_1"),
            scenario("ParkedObstacle", trigger_on(route, 20), distance=40)]
    with caplog.at_level(logging.WARNING, logger="lead.scenarios"):
        r = run(irregular, route, cfgs, RouteFollower(route, SPEED), 15)
    warned = [rec for rec in caplog.records if "FlyingSaucer" in rec.getMessage()]
    assert len(warned) == 1 and "unknown scenario type" in warned[0].getMessage()
    assert [e.kind for e in r.events if e.scenario == "Saucer_1"] == ["skipped"]
    assert r.started("ParkedObstacle_1") is not None
    assert route_s(route, *r.ticks[-1].ego[:2]) > 60                     # the ego drove on


def test_setup_errors_skip_the_scenario(irregular, caplog):
    route = straight(irregular)
    cfgs = [scenario("DynamicObjectCrossing", trigger_on(route, 20), "Bad_1", direction="up"),
            scenario("DynamicObjectCrossing", trigger_on(route, 20), "Bad_2", blocker_model="static.prop.piano"),
            scenario("EnterActorFlow", trigger_on(route, 20), "Bad_3"),
            scenario("SignalizedJunctionLeftTurn", trigger_on(route, 20), "Bad_4")]
    with caplog.at_level(logging.WARNING, logger="lead.scenarios"):
        r = run(irregular, route, cfgs, RouteFollower(route, SPEED), 2)
    msgs = {e.scenario: e.message for e in r.events if e.kind == "skipped"}
    assert set(msgs) == {"Bad_1", "Bad_2", "Bad_3", "Bad_4"}
    assert "'direction'" in msgs["Bad_1"] and "static.prop.piano" in msgs["Bad_2"]
    assert "start_actor_flow" in msgs["Bad_3"]
    assert not r.extents                                                 # nothing left behind


def test_scenarios_are_set_up_within_500_m(irregular):
    # a route across the town, between the two spawn points farthest apart
    pts = np.array([(t.location.x, t.location.y) for t in irregular.map.get_spawn_points(40.0)])
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    i, j = np.unravel_index(np.argmax(d), d.shape)
    route = dense_route(irregular.map, [(*pts[i], 0.0), (*pts[j], 0.0)])
    o = route[0][0].location
    tp = next(tf for tf, _ in route if tf.location.distance(o) > INIT_THRESHOLD + 30)
    far = scenario("T_Junction", TriggerPoint(tp.location.x, tp.location.y, tp.location.z, tp.rotation.yaw), "Far_1")
    spawn_at_route_start(irregular, route)
    m = ScenarioManager(irregular, route, [far])
    assert m.scenarios[0].state == "pending"
    follower = RouteFollower(route, 12.0)
    ready_at = None
    for _ in range(2400):
        frame = irregular.tick()
        m.step(frame)
        irregular.apply_control(follower(frame))
        if m.scenarios[0].state != "pending":
            e = frame.ego.transform
            ready_at = np.hypot(e[0] - tp.location.x, e[1] - tp.location.y)
            break
    m.finish()
    assert ready_at is not None and INIT_THRESHOLD - 2 < ready_at < INIT_THRESHOLD


def snapshot(r):
    t0 = r.ticks[0].time
    return [(round(t.time - t0, 3), sorted((k, tuple(round(v, 6) for v in p)) for k, p in t.actors.items()))
            for t in r.ticks]


def test_deterministic_per_seed(irregular):
    out = []
    route = straight(irregular)
    cfgs = [scenario("DynamicObjectCrossing", trigger_on(route, 100), distance=20),
            scenario("AccidentTwoWays", trigger_on(route, 20), distance=40, frequency=(20, 60))]
    for seed in (3, 3, 4):
        r = run(irregular, route, cfgs, RouteFollower(route, SPEED), 25, seed=seed)
        t0 = r.ticks[0].time
        out.append((snapshot(r), sorted(r.extents),
                    [(e.kind, e.scenario, round(e.time - t0, 3), e.timed_out) for e in r.events]))
    assert out[0] == out[1]
    assert out[0] != out[2]                                              # other blueprints, other gaps


def test_background_vehicles_make_room():
    w = make_world("LeadIrregular007", seed=2, vehicles=60)
    route = straight(w)
    cfg = scenario("Accident", trigger_on(route, 20), distance=40)
    spawn_at_route_start(w, route)
    m = ScenarioManager(w, route, [cfg])
    follower = RouteFollower(route, SPEED)
    cleared = None
    for _ in range(400):
        frame = w.tick()
        evs = m.step(frame)
        w.apply_control(follower(frame))
        if any(e.kind == "started" for e in evs):
            cleared = frame
            break
    assert cleared is not None
    frame = w.tick()                                                     # the removal shows in the next frame
    s_ego = route_s(route, *frame.ego.transform[:2])
    from tests.scenarios.helpers import lateral_offset
    ahead = [a for a in frame.actors if frame.roles[a.id] == "background" and a.kind == "vehicle"
             and 0 < route_s(route, *a.transform[:2]) - s_ego < 40 + 16
             and abs(lateral_offset(route, *a.transform[:2])[1]) < 2.0]
    assert not ahead
    m.finish()


def test_scenario_timeout_and_criteria_reach_the_evaluator(irregular):
    """SCENARIO_TIMEOUT reaches the record, and the agent-blocked test (60 s with
    Bench2Drive's rules) is paused while a scenario's ScenarioTimeout runs."""
    route = straight(irregular)
    parked = scenario("ParkedObstacle", trigger_on(route, 20), distance=40)
    crossing = scenario("DynamicObjectCrossing", trigger_on(route, 25), distance=30)
    stop = stop_and_wait(route, 40, SPEED)
    r, ev, events = run_evaluated(irregular, route, [parked, crossing], stop, 80, scenario_timeout=70,
                                  rules=BENCH2DRIVE)
    timeouts = [e for e in events if e.type == T.SCENARIO_TIMEOUT]
    assert len(timeouts) == 1                                            # only ParkedObstacle has a timeout
    assert not [e for e in events if e.type == T.VEHICLE_BLOCKED]        # 70 s stopped, but paused
    assert r.ended("ParkedObstacle_1").timed_out
    r1, _, events1 = run_evaluated(irregular, route, [crossing], stop_and_wait(route, 40, SPEED), 80,
                                   rules=BENCH2DRIVE)
    assert [e for e in events1 if e.type == T.VEHICLE_BLOCKED]          # without it the ego is blocked

    r2, ev2, events2 = run_evaluated(irregular, route, [parked], RouteFollower(route, SPEED), 40)
    assert not [e for e in events2 if e.type == T.SCENARIO_TIMEOUT]
    assert [e for e in events2 if e.type == T.COLLISION_VEHICLE]         # the blind ego hit the parked car


def test_filter_control_is_identity_without_control_loss(irregular):
    route = straight(irregular)
    spawn_at_route_start(irregular, route)
    m = ScenarioManager(irregular, route, [scenario("ParkedObstacle", trigger_on(route, 5), distance=30)])
    c = VehicleControl(throttle=0.3, steer=0.1)
    m.step(irregular.tick())
    assert m.filter_control(c) is c
    m.finish()
    assert not irregular.scenario_actors


def test_actor_names_name_the_scenario(irregular):
    route = straight(irregular)
    spawn_at_route_start(irregular, route)
    m = ScenarioManager(irregular, route, [scenario("Accident", trigger_on(route, 20), "Accident_7", distance=40)])
    names = m.actor_names()
    assert sorted(names.values()) == ["Accident_7/accident_car_1", "Accident_7/accident_car_2",
                                      "Accident_7/police_car", "Accident_7/warning_sign"]
    assert set(names) <= set(irregular.scenario_actors)
    m.finish()
    assert not irregular.scenario_actors


def test_registered_classes_cover_their_names():
    for name, cls in SCENARIO_TYPES.items():
        assert name in cls.type_names
