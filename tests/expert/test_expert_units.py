"""The expert's parts on their own: config loading, IDM, box overlap, the ego model, labels."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.control import ForecastBicycle, LinearLongitudinalController
from lead.expert import ExpertConfig, load_expert_config, target_speed_class
from lead.expert.forecast import EgoModel, boxes_overlap, speed_profile
from lead.expert.idm import idm_target_speed
from lead.expert.inputs import Category, actors_view
from lead.expert.labels import to_ego
from lead.expert.obstacles import min_time_for_distance

from .harness import ActorState


def test_config_file_holds_the_defaults(repo):
    assert load_expert_config(repo / "config" / "expert.yaml") == ExpertConfig()


def test_config_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "e.yaml"
    bad.write_text("ratio_target_speed_limit: 0.8\nno_such_key: 1\n")
    with pytest.raises(ValueError, match=r"e\.yaml.*no_such_key"):
        load_expert_config(bad)
    bad.write_text("idm_stop_sign: [2.0, fast]\n")
    with pytest.raises(ValueError, match=r"e\.yaml.*idm_stop_sign"):
        load_expert_config(bad)
    bad.write_text("shifts: {Accident: {transition: 12}}\nratio_target_speed_limit: 0.8\n")
    c = load_expert_config(bad)
    assert c.shifts["Accident"].transition == 12.0 and c.shifts["Accident"].add_before == 1.5
    assert c.ratio_target_speed_limit == 0.8
    with pytest.raises(ValueError, match="unknown scenario"):
        load_expert_config(None, shifts={"Nope": {}})


def _drive_idm(config: ExpertConfig, speed: float, gap: float, params: tuple[float, float]) -> tuple[float, float]:
    """Follow the IDM's one-tick target speed as the speed, towards a standing obstacle
    `gap` metres ahead; returns (final speed, remaining distance)."""
    for _ in range(2000):
        target = idm_target_speed(config, 8.0, 0.0, speed, 0.0, gap, *params)
        gap -= 0.5 * (speed + target) * config.dt
        speed = target
    return speed, gap


@pytest.mark.parametrize("kind", ["idm_red_light", "idm_stop_sign", "idm_pedestrian", "idm_leading_vehicle"])
def test_idm_stops_short_of_a_standing_obstacle(kind):
    c = ExpertConfig()
    s0 = getattr(c, kind)[0]
    speed, gap = _drive_idm(c, 8.0, 40.0, getattr(c, kind))
    assert speed < 0.05
    assert 0.5 * s0 < gap < 1.5 * s0  # comes to rest near the minimum gap, not on the obstacle


def test_idm_is_free_on_an_empty_road_and_brakes_harder_when_closer():
    c = ExpertConfig()
    free = idm_target_speed(c, 8.0, 0.0, 8.0, 0.0, math.inf, 4.0, 0.25)
    assert 7.9 < free <= 8.0
    speeds = [idm_target_speed(c, 8.0, 0.0, 8.0, 0.0, d, 4.0, 0.25) for d in (60.0, 30.0, 15.0, 8.0)]
    assert all(a > b for a, b in zip(speeds, speeds[1:]))
    # behind a leader driving away at the same speed the gap hardly matters
    assert idm_target_speed(c, 8.0, 4.0, 8.0, 8.0, 30.0, 4.0, 0.25) > speeds[1]


def test_box_overlap_agrees_with_point_sampling():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        a = (rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-np.pi, np.pi), rng.uniform(0.3, 2.5), rng.uniform(0.2, 1.2))
        b = (rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-np.pi, np.pi), rng.uniform(0.3, 2.5), rng.uniform(0.2, 1.2))
        # sample box a densely and test the points against box b
        u, v = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))
        px = a[0] + u * a[3] * math.cos(a[2]) - v * a[4] * math.sin(a[2])
        py = a[1] + u * a[3] * math.sin(a[2]) + v * a[4] * math.cos(a[2])
        dx, dy = px - b[0], py - b[1]
        lu = (dx * math.cos(b[2]) + dy * math.sin(b[2])) / b[3]
        lv = (-dx * math.sin(b[2]) + dy * math.cos(b[2])) / b[4]
        depth = np.maximum(np.abs(lu), np.abs(lv)).min()
        if 0.95 < depth < 1.05:
            continue  # grazing: sampling cannot decide
        got = bool(boxes_overlap(tuple(np.array(x) for x in a), tuple(np.array(x) for x in b)))
        assert got == (depth < 1.0)
        checked += 1
    assert checked > 300


def test_ego_model_is_forecast_bicycle_step_ego():
    bicycle = ForecastBicycle()
    model = EgoModel(bicycle)
    rng = np.random.default_rng(1)
    for _ in range(200):
        x, y, h, v = rng.uniform(-50, 50), rng.uniform(-50, 50), rng.uniform(-3, 3), rng.uniform(0, 20)
        steer, throttle = rng.uniform(-1, 1), rng.uniform(0, 1)
        brake = float(rng.random() < 0.3)
        loc, head, speed = bicycle.step_ego([[x, y, 0.0]], [h], [v], [[steer, throttle, brake]])
        got = model.step(x, y, h, v, steer, throttle, brake)
        assert got == pytest.approx((loc[0, 0], loc[0, 1], head[0], speed[0]), rel=1e-12, abs=1e-12)


def test_speed_profile_reaches_the_target_and_stops_for_zero():
    c = ExpertConfig()
    model, lon = EgoModel(ForecastBicycle()), LinearLongitudinalController()
    cruise = speed_profile(0.0, 8.0, lon, model, 200)
    steady = np.diff(cruise[-40:]) / c.dt
    assert abs(steady.mean() - 8.0) < 0.4
    stop = speed_profile(8.0, 0.0, lon, model, 60)
    assert stop[-1] - stop[-20] < 1e-9  # standing still
    assert 2.0 < stop[-1] < 8.0  # braking distance of LEAD's brake model from 29 km/h


def test_min_time_for_distance():
    c = ExpertConfig()
    assert min_time_for_distance(c, 50.0, 10.0, 10.0) == pytest.approx(5.0, abs=c.dt)
    times = [min_time_for_distance(c, d, 10.0, 0.0) for d in (10.0, 20.0, 40.0)]
    assert all(a < b for a, b in zip(times, times[1:]))
    assert times[2] > 4.0  # accelerating from rest takes longer than cruising
    assert min_time_for_distance(c, 10.0, 0.0, 0.0) == math.inf


def test_target_speed_class_and_ego_frame():
    classes = ExpertConfig().target_speed_classes
    assert [target_speed_class(v, classes) for v in (0.0, 0.1, 3.9, 6.1, 13.0, 25.0)] == [0, 0, 1, 2, 4, 7]
    p = to_ego(np.array([[10.0, 5.0]]), np.array([10.0, 0.0]), math.radians(90.0))
    assert p[0] == pytest.approx([5.0, 0.0])  # heading +y (south): a point further south is ahead
    p = to_ego(np.array([[11.0, 0.0]]), np.array([10.0, 0.0]), math.radians(90.0))
    assert p[0] == pytest.approx([0.0, -1.0])  # +x (east) is on the left when heading south


def test_actor_categories_and_estimated_actions():
    actors = [
        ActorState(7, "walker.pedestrian.0001", "walker", (0, 0, 1, 0, 0, 0), (1.0, 0.0, 0.0), (0.2, 0.2, 0.9)),
        ActorState(8, "vehicle.bh.crossbike", "vehicle", (5, 0, 0, 0, 0, 0), (3.0, 0.0, 0.0), (0.75, 0.43, 0.8)),
        ActorState(9, "vehicle.ford.ambulance", "vehicle", (9, 0, 0, 0, 0, 0), (0.0, 0.0, 0.0), (3.2, 1.2, 1.2)),
        ActorState(10, "static.prop.constructioncone", "static", (3, 3, 0, 0, 0, 0), (0, 0, 0), (0.2, 0.2, 0.3)),
        ActorState(11, "vehicle.audi.a2", "vehicle", (0, 9, 0, 0, 0, 90), (0.0, 6.0, 0.0), (1.9, 0.9, 0.8)),
        ActorState(1, "vehicle.lincoln.mkz_2020", "vehicle", (0, 0, 0, 0, 0, 0), (0, 0, 0), (2.45, 1.06, 0.76)),
    ]
    actors[4].angular_velocity = (0.0, 0.0, 20.0)  # turning right at 20 deg/s
    actors[4].acceleration = (0.0, -4.0, 0.0)  # braking hard along its heading (+y)
    view = actors_view(actors, ego_id=1)
    assert list(view.ids) == [7, 8, 9, 10, 11]
    assert list(view.category) == [Category.PEDESTRIAN, Category.BICYCLE, Category.EMERGENCY, Category.STATIC,
                                   Category.VEHICLE]
    steer, throttle, brake = view.action[4]
    assert steer > 0.0 and brake == 1.0 and throttle == 0.0
    # the estimated steer reproduces the yaw rate in the forecast model
    _, head, _ = ForecastBicycle().step_vehicles([[0, 0, 0]], [0.0], [6.0], [[steer, 0.0, 0.0]])
    assert math.degrees(head[0]) / 0.05 == pytest.approx(20.0, rel=1e-6)
