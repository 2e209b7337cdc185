"""Route criteria on hand-made trajectories along a straight two-lane road (toy_world)."""
from __future__ import annotations

import numpy as np
import pytest

from lead.leaderboard.evaluator import END_BLOCKED, END_COMPLETED, END_DEVIATION, END_TIMEOUT, RouteEvaluator
from lead.leaderboard.events import TrafficEventType as T
from lead.leaderboard.geometry import Pose, segments_intersect, transform_point
from lead.leaderboard.rules import BENCH2DRIVE, OFFICIAL
from lead.leaderboard.scoring import PENALTY_VALUE_DICT
from lead.leaderboard.snapshot import StopSign, TrafficLight, traffic_light_stop_lanes

from .toy_world import DT, EXTENT, WIDTH, StraightRoad, collision, drive, route_points, tick

STEP = 0.25  # m per tick at 5 m/s


def evaluator(rules=OFFICIAL, x_end=100.0, **kw) -> RouteEvaluator:
    return RouteEvaluator(route_points(0.0, x_end), kw.pop("road", StraightRoad()), rules=rules,
                          route_id="RouteScenario_3_rep0", **kw)


def xs(start, stop):
    return np.arange(start, stop, STEP)


def kinds(ev: RouteEvaluator) -> list[T]:
    return [e.type for e in ev.events() if e.type != T.ROUTE_COMPLETION]


def test_straight_route_driven_fully_is_perfect():
    ev = evaluator()
    frame, res = drive(ev, xs(0.0, 110.0))
    assert res[-1].done and res[-1].reason == END_COMPLETED
    assert not res[-2].done  # completion is reached one tick before the route ends, as upstream
    assert ev.completion.actual_value == 100
    record = ev.finish(duration_system=12.5)
    assert record.status == "Perfect"
    assert record.scores == {"score_route": 100, "score_penalty": 1.0, "score_composed": 100.0}
    assert record.meta["route_length"] == 100.0
    assert record.meta["duration_game"] == round(frame * DT, 3)
    assert record.num_infractions == 0


def test_stopping_halfway_gives_the_completed_share():
    ev = evaluator()
    drive(ev, xs(0.0, 50.5))  # last x 50.25: route points 0..50 passed
    assert ev.current_record().scores["score_route"] == 50.0
    record = ev.finish(duration_system=1.0, failure_message="Agent crashed")
    assert record.scores["score_route"] == 50.0
    assert record.status == "Failed - Agent crashed"
    with pytest.raises(RuntimeError):
        ev.finish(1.0)


def test_collisions_are_classified_and_deduplicated():
    hits = {120: (42, "vehicle.tesla.model3"), 121: (42, "vehicle.tesla.model3"),  # same actor again
            140: (43, "vehicle.audi.a2"),  # 5 m further: still within 5 m of the last collision
            200: (0, "static.prop.barrel"), 250: (7, "walker.pedestrian.0001"),
            300: (42, "vehicle.tesla.model3")}  # same actor, but > 5 s and > 5 m later
    ev = evaluator()
    new = []
    frame_x = {}

    def extra(frame, x):
        frame_x[frame] = x
        return {"collisions": collision(*hits[frame])} if frame in hits else {}

    _, res = drive(ev, xs(0.0, 110.0), extra=extra)
    for r in res:
        new += [e for e in r.new_events if e.type != T.ROUTE_COMPLETION]
    assert [e.type for e in new] == [T.COLLISION_VEHICLE, T.COLLISION_STATIC, T.COLLISION_PEDESTRIAN,
                                     T.COLLISION_VEHICLE]
    # the message uses the ego location the sensor callback sees: the previous tick's
    x = frame_x[119]
    assert new[0].message == ("Agent collided against object with type=vehicle.tesla.model3 and id=42 "
                              f"at (x={x}, y=1.75, z=0.0)")
    assert new[0].other_actor_id == 42 and new[1].other_actor_type == "static.prop.barrel"
    assert {e.criterion for e in new} == {"CollisionTest"}
    record = ev.finish(1.0)
    expected = PENALTY_VALUE_DICT[T.COLLISION_VEHICLE] ** 2 * PENALTY_VALUE_DICT[T.COLLISION_STATIC] * \
        PENALTY_VALUE_DICT[T.COLLISION_PEDESTRIAN]
    assert record.scores["score_penalty"] == round(expected, 6)
    assert record.scores["score_composed"] == round(100 * expected, 6)
    assert record.status == "Completed"
    assert len(record.infractions["collisions_vehicle"]) == 2


def test_same_actor_counts_again_only_after_5_s():
    hits = {100: 42, 130: 42, 240: 42}  # 1.5 s and 7.5 m after the first: dropped; 7 s after: counted
    ev = evaluator()
    drive(ev, xs(0.0, 110.0),
          extra=lambda f, x: {"collisions": collision(hits[f], "vehicle.tesla.model3")} if f in hits else {})
    events = [e for e in ev.events() if e.type == T.COLLISION_VEHICLE]
    assert [e.frame for e in events] == [100, 240]


def test_collision_while_standing_is_not_the_egos_fault():
    ev = evaluator()
    for f in range(1, 20):
        ev.step(tick(f, 10.0, speed=0.0, collisions=collision(5, "vehicle.nissan.micra") if f == 10 else ()))
    assert kinds(ev) == []


def red_light(state_of_frame, light_x=60.0):
    lane = StraightRoad().lane_at(light_x, WIDTH / 2, 0.0)
    light = TrafficLight(id=7, location=(light_x, 5.0, 3.0), trigger_center=(light_x - 2.0, WIDTH / 2, 0.0),
                         stop_lanes=(lane,))
    ev = evaluator(traffic_lights=[light])
    return ev, (lambda frame, x: {"light_states": {7: state_of_frame(frame, x)}})


def test_running_a_red_light():
    ev, extra = red_light(lambda f, x: "Red")
    drive(ev, xs(0.0, 110.0), extra=extra)
    events = [e for e in ev.events() if e.type == T.TRAFFIC_LIGHT_INFRACTION]
    assert len(events) == 1  # the same light counts once
    assert events[0].message == "Agent ran a red light 7 at (x=60.0, y=5.0, z=3.0)"
    # first tick on which the tail segment (0.8 extent .. extent + 1 m behind the centre)
    # touches the stop line at x = 60
    x = (events[0].frame - 1) * STEP
    assert 60.0 + 0.8 * EXTENT[0] <= x < 60.0 + 0.8 * EXTENT[0] + STEP
    assert ev.finish(1.0).scores["score_penalty"] == 0.7


def test_green_light_and_stopping_at_red_are_fine():
    ev, extra = red_light(lambda f, x: "Green")
    drive(ev, xs(0.0, 110.0), extra=extra)
    assert kinds(ev) == []
    # red until the ego waited at x = 55, then green
    waited = {"done": False}

    def state(frame, x):
        return "Green" if waited["done"] else "Red"
    ev, extra = red_light(state)
    positions = list(xs(0.0, 55.0)) + [55.0] * 100
    _, _ = drive(ev, positions, extra=extra)
    waited["done"] = True
    drive(ev, xs(55.0, 110.0), extra=extra, first_frame=len(positions) + 1)
    assert kinds(ev) == []


def stop_world():
    sign = StopSign(id=9, location=(80.0, 5.0, 0.0), trigger_center=(80.0, WIDTH / 2, 0.0), trigger_extent=(1.5, 1.5))
    return evaluator(stop_signs=[sign])


def test_rolling_through_a_stop_sign():
    ev = stop_world()
    drive(ev, xs(0.0, 110.0))
    events = [e for e in ev.events() if e.type == T.STOP_INFRACTION]
    assert len(events) == 1
    assert events[0].message == "Agent ran a stop with id=9 at (x=80.0, y=5.0, z=0.0)"
    assert ev.finish(1.0).scores["score_penalty"] == 0.8


def test_stopping_inside_the_stop_area_is_fine():
    ev = stop_world()
    positions = list(xs(0.0, 78.5)) + [78.5] * 40
    speeds = [5.0] * len(list(xs(0.0, 78.5))) + [0.0] * 40
    frame = 1
    for x, v in zip(positions, speeds):
        ev.step(tick(frame, x, speed=v))
        frame += 1
    drive(ev, xs(78.5, 110.0), first_frame=frame)
    assert kinds(ev) == []


def test_stopping_before_the_stop_area_does_not_count():
    ev = stop_world()
    positions = list(xs(0.0, 70.0))
    frame = 1
    for x in positions:
        ev.step(tick(frame, x))
        frame += 1
    for _ in range(40):  # 10 m before the trigger: not affected yet
        ev.step(tick(frame, 70.0, speed=0.0))
        frame += 1
    drive(ev, xs(70.0, 110.0), first_frame=frame)
    assert kinds(ev) == [T.STOP_INFRACTION]


def test_deviating_31_m_ends_the_route():
    ev = evaluator()
    frame, _ = drive(ev, xs(0.0, 20.0))
    res = None
    for i in range(1, 200):  # drift sideways 0.25 m per tick while advancing 0.25 m
        res = ev.step(tick(frame + i, 20.0 + i * STEP, y=WIDTH / 2 + i * STEP))
        if res.done:
            break
    assert res.done and res.reason == END_DEVIATION
    lateral = i * STEP
    assert 30.0 <= lateral < 30.0 + STEP + 1e-9  # ends as soon as the distance reaches 30 m
    record = ev.finish(1.0)
    assert record.status == "Failed - Agent deviated from the route"
    assert record.infractions["route_dev"][0].startswith("Agent deviated from the route at (x=")
    assert record.scores["score_route"] < 50


def test_29_m_off_for_a_short_stretch_is_no_deviation():
    ev = evaluator()
    frame, _ = drive(ev, xs(0.0, 20.0))
    for i, x in enumerate(xs(20.0, 30.0)):
        ev.step(tick(frame + i, x, y=WIDTH / 2 + 29.0))
    drive(ev, xs(30.0, 110.0), first_frame=frame + 40)
    assert T.ROUTE_DEVIATION not in kinds(ev)
    assert ev.done and ev.reason == END_COMPLETED


def test_driving_far_beside_the_route_for_30_percent_is_a_deviation():
    # 20 m beside the route (between offroad_max / 2 and offroad_max): the distance driven
    # there adds up, and more than 30 % of the route length ends the route
    ev = evaluator()
    frame, _ = drive(ev, xs(0.0, 20.0))
    res, x = None, 20.0
    for i, x in enumerate(xs(20.0, 80.0)):
        res = ev.step(tick(frame + i, x, y=WIDTH / 2 + 20.0))
        if res.done:
            break
    assert res.done and res.reason == END_DEVIATION
    assert 50.0 < x <= 52.0  # 30 % of 100 m is passed at about x = 50


@pytest.mark.parametrize("rules, limit", [(OFFICIAL, 180.0), (BENCH2DRIVE, 60.0)])
def test_standing_still_too_long_is_blocked(rules, limit):
    ev = evaluator(rules)
    frame, _ = drive(ev, xs(0.0, 10.0))
    t_last_moving = (frame - 1) * DT
    res = None
    for i in range(int((limit + 2) / DT)):
        res = ev.step(tick(frame + i, 10.0, speed=0.0))
        if res.done:
            break
    assert res.done and res.reason == END_BLOCKED
    t = (frame + i) * DT
    assert limit < t - t_last_moving <= limit + DT + 1e-9
    record = ev.finish(1.0)
    assert record.status == "Failed - Agent got blocked"
    assert record.infractions["vehicle_blocked"] == ["Agent got blocked at (x=10.0, y=1.75, z=0.0)"]


def test_creeping_ends_by_route_timeout():
    ev = evaluator()
    speed, limit_kmh = 0.2, 30.0
    frame = 0
    res = None
    while True:
        frame += 1
        res = ev.step(tick(frame, frame * speed * DT, speed=speed, speed_limit=limit_kmh))
        if res.done:
            break
    assert res.reason == END_TIMEOUT
    # independent derivation: 300 s plus, per metre passed, 1 / (10 % of the limit in m/s)
    expected = None
    for n in range(1, frame + 1):
        x = n * speed * DT
        passed = int(np.ceil(x)) - 1 if x > 0 else 0  # route point k is passed once x > k
        if (n - 1) * DT > 300 + passed / (limit_kmh / 3.6 * 0.1):
            expected = n
            break
    assert frame == expected
    record = ev.finish(1.0)
    assert record.status == "Failed - Agent timed out"
    assert record.infractions["route_timeout"] == ["Route timeout."]


def test_driving_in_the_opposite_lane_is_outside_route_lanes():
    ev = evaluator()
    reported = []

    def extra(frame, x):
        return {"y": -WIDTH / 2} if 20.0 <= x < 40.0 else {}

    _, res = drive(ev, xs(0.0, 110.0), extra=extra)
    for r in res:
        reported += [e for e in r.new_events if e.type == T.OUTSIDE_ROUTE_LANES_INFRACTION]
    assert len(reported) == 1  # one event, updated in place
    event = reported[0]
    assert event.percentage == pytest.approx(20.0)
    assert event.message == "Agent went outside its route lanes for about 20.0 meters (20.0% of the completed route)"
    record = ev.finish(1.0)
    assert record.scores["score_penalty"] == pytest.approx(0.8)
    assert record.scores["score_composed"] == pytest.approx(80.0)


def test_off_road_on_the_sidewalk_counts_too():
    ev = evaluator()
    drive(ev, xs(0.0, 110.0), extra=lambda f, x: {"y": WIDTH + 2.5} if 50.0 <= x < 60.0 else {})
    event = next(e for e in ev.events() if e.type == T.OUTSIDE_ROUTE_LANES_INFRACTION)
    assert event.percentage == pytest.approx(10.0)
    # with the wrong-direction check switched off, the opposite lane is no infraction
    ev = evaluator()
    ev.set_wrong_direction_check(False)
    drive(ev, xs(0.0, 110.0), extra=lambda f, x: {"y": -WIDTH / 2} if 20.0 <= x < 40.0 else {})
    assert kinds(ev) == []


def test_min_speed_official_and_bench2drive():
    def extra(frame, x):
        return {"background_speeds": (8.0, 12.0)}  # mean 10 m/s, ego 5 m/s: 50 %

    ev = evaluator()
    drive(ev, xs(0.0, 110.0), extra=extra)
    record = ev.finish(1.0)
    # 4 checkpoints on 100 m (passing 26, 52, 78 m) plus the last one recorded at the end
    msg = "Average speed is {}% of the surrounding traffic's one"
    assert record.infractions["min_speed_infractions"] == [msg.format(50.0)] * 4
    assert record.scores["score_penalty"] == round((1 - 0.3 * 0.5) ** 4, 6)

    ev = evaluator(BENCH2DRIVE)
    drive(ev, xs(0.0, 110.0), extra=lambda f, x: {"background_speeds": (4.0,)})  # ego faster: 125 %
    record = ev.finish(1.0)
    # every checkpoint recorded: 20 on 100 m (passing 6, 12, ..., 96 m: 16) plus the last one
    assert record.infractions["min_speed_infractions"] == [msg.format(125.0)] * 17
    assert record.scores["score_penalty"] == 1.0
    assert record.status == "Completed"


def test_min_speed_population_is_background_activitys_radius_around_the_ego():
    from lead.leaderboard.criteria import surrounding_speeds

    # standing ego: 45 m; driving at 10 m/s: 45 + 17 = 62 m
    vehicles = [(10.0, 0.0, 1.0), (0.0, 44.9, 2.0), (45.1, 0.0, 3.0), (40.0, 40.0, 4.0), (-61.0, 0.0, 5.0)]
    assert surrounding_speeds((0.0, 0.0), 0.0, vehicles) == (1.0, 2.0)
    assert surrounding_speeds((0.0, 0.0), 10.0, vehicles) == (1.0, 2.0, 3.0, 4.0, 5.0)  # (40, 40): 56.6 m
    assert surrounding_speeds((1000.0, 0.0), 0.0, vehicles) == ()


def test_no_background_traffic_means_no_min_speed_infraction():
    ev = evaluator()
    drive(ev, xs(0.0, 110.0))
    assert ev.finish(1.0).infractions["min_speed_infractions"] == []


def test_scenario_timeout_pauses_the_blocked_check_and_penalises():
    ev = evaluator()
    frame, _ = drive(ev, xs(0.0, 10.0))
    ev.start_scenario("Accident_1", has_timeout=True)
    for i in range(int(200 / DT)):  # 200 s standing behind the obstacle: not blocked
        assert not ev.step(tick(frame + i, 10.0, speed=0.0)).done
    frame += int(200 / DT)
    ev.end_scenario("Accident_1", timed_out=True)
    res = ev.step(tick(frame, 10.0, speed=0.0))
    assert [e.type for e in res.new_events] == [T.SCENARIO_TIMEOUT]
    assert res.new_events[0].message == "Agent timed out a scenario"
    drive(ev, xs(10.0, 110.0), first_frame=frame + 1)
    record = ev.finish(1.0)
    assert record.infractions["scenario_timeouts"] == ["Agent timed out a scenario"]
    assert record.scores["score_penalty"] == 0.7
    with pytest.raises(ValueError):
        ev.end_scenario("Accident_1")


@pytest.mark.parametrize("yields", [False, True])
def test_yield_to_emergency_vehicle(yields):
    ev = evaluator()
    ev.start_scenario("YieldToEmergencyVehicle_1", emergency_vehicle_id=99)
    frame = 1
    for frame, x in enumerate(xs(0.0, 40.0), start=1):
        ev_x = x + 10.0 if (yields and x > 20.0) else x - 10.0  # the ambulance behind, or let past
        ev.step(tick(frame, x, actors={99: Pose(ev_x, -WIDTH / 2 if yields else WIDTH / 2, 0.0, 0.0)}))
    ev.end_scenario("YieldToEmergencyVehicle_1")
    got = [e for e in ev.take_new_events() if e.type == T.YIELD_TO_EMERGENCY_VEHICLE]
    assert len(got) == (0 if yields else 1)
    record = ev.finish(1.0)
    assert record.scores["score_penalty"] == (1.0 if yields else 0.7)


def test_evaluator_refuses_ticks_after_the_end_and_bad_routes():
    ev = evaluator()
    drive(ev, xs(0.0, 110.0))
    with pytest.raises(RuntimeError, match="already ended"):
        ev.step(tick(9999, 105.0))
    with pytest.raises(ValueError, match="at least 2 points"):
        RouteEvaluator([Pose(0, 0)], StraightRoad(), route_id="RouteScenario_1_rep0")
    with pytest.raises(ValueError, match="speed_limit"):
        evaluator().step(tick(1, 1.5, speed_limit=0.0))


def test_traffic_light_stop_lanes_advance_to_the_junction():
    road = StraightRoad(with_junction=True)
    # light right of the road at x = 190, yaw 90: its local x axis runs across the lanes
    light = Pose(190.0, 5.0, 0.0, yaw=90.0)
    center, lanes = traffic_light_stop_lanes(road, light, trigger_location=(-3.25, 0.0, 0.0),
                                             trigger_extent=(1.5, 1.0, 1.0))
    assert center == pytest.approx((190.0, 1.75, 0.0))
    assert len(lanes) == 1 and lanes[0].lane_id == -1
    assert lanes[0].x == pytest.approx(199.5)  # the last point before the junction at x = 200
    # the light stops an ego driving through on red
    tl = TrafficLight(3, light.location, center, lanes)
    ev = RouteEvaluator(route_points(150.0, 260.0), road, traffic_lights=[tl], route_id="RouteScenario_5_rep0")
    drive(ev, xs(150.0, 260.0), extra=lambda f, x: {"light_states": {3: "Red"}})
    assert kinds(ev) == [T.TRAFFIC_LIGHT_INFRACTION]


def test_geometry_helpers():
    assert transform_point(Pose(1.0, 2.0, 0.0, yaw=90.0), (1.0, 0.0, 0.0)) == pytest.approx((1.0, 3.0, 0.0))
    assert segments_intersect((0, 0), (2, 0), (1, -1), (1, 1))
    assert segments_intersect((0, 0), (2, 0), (2, 0), (3, 3))  # touching counts
    assert not segments_intersect((0, 0), (2, 0), (3, -1), (3, 1))
    assert not segments_intersect((0, 0), (2, 0), (0, 1), (2, 1))  # parallel
