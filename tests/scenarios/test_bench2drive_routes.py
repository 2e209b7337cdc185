"""The Bench2Drive routes of ../shared/data/routes/bench2drive_town01_02_10.xml on CARLA's
Town01, Town02 and Town10HD: every scenario is kept (its trigger lies on the
interpolated route), set up, triggered by the blind route follower, and does its thing;
the actors stand where the leaderboard puts them."""
from __future__ import annotations

import math

import pytest

from lead.world.lane_types import LaneType
from lead.world.routes import read_routes
from lead.world.transform import Location

from .helpers import RouteFollower, dense_route, first_in_lane, first_moving, lateral_offset, make_world, run

SPEED = 6.0
_WORLDS: dict = {}


@pytest.fixture
def b2d(shared_data, carla_maps):
    routes = read_routes(shared_data / "routes" / "bench2drive_town01_02_10.xml")
    assert len(routes) == 12
    return routes, carla_maps


def world_for(town, maps):
    if town not in _WORLDS:
        _WORLDS[town] = make_world(town, maps)
    return _WORLDS[town]


def lane_type_at(world, pose):
    wp = world.map.get_waypoint(Location(*pose[:3]), project_to_road=False, lane_type=LaneType.Any)
    return wp.lane_type if wp is not None else None


@pytest.mark.parametrize("index", range(12))
def test_bench2drive_route(b2d, index):
    routes, maps = b2d
    cfg_route = routes[index]
    world = world_for(cfg_route.town, maps)
    route = dense_route(world.map, cfg_route.keypoints)
    scen = cfg_route.scenarios[0]
    length = sum(a[0].location.distance(b[0].location) for a, b in zip(route, route[1:]))
    r = run(world, route, cfg_route.scenarios, RouteFollower(route, SPEED), min(60.0, length / SPEED + 15.0))
    assert not r.manager.skipped, r.manager.skipped                     # the trigger lies on the route
    assert r.started(scen.name) is not None, f"route {cfg_route.id}: {scen.type} never triggered"
    tp = scen.trigger_point
    t_start = r.started(scen.name)
    ego = min(r.ticks, key=lambda k: abs(k.time - t_start)).ego
    assert math.hypot(ego[0] - tp.x, ego[1] - tp.y) < 2.0 + 1.5          # the ego's route point within 2 m
    half = world.map.get_waypoint(Location(tp.x, tp.y, tp.z)).lane_width / 2
    sc = r.manager.scenario(scen.name)

    if scen.type == "DynamicObjectCrossing":
        blocker = r.track("blocker")[0][1]
        assert lane_type_at(world, blocker) in (LaneType.Sidewalk, LaneType.Shoulder, LaneType.Border, None)
        assert lateral_offset(route, *blocker[:2])[1] > half
        assert first_moving(r, "adversary") is not None
        assert first_in_lane(r, route, "adversary", half) is not None
        assert sc.blocker.type_id == scen.value("blocker_model")
    elif scen.type == "ParkingCrossingPedestrian":
        assert lateral_offset(route, *r.track("parked_blocker")[0][1][:2])[1] == pytest.approx(2 * half, abs=0.2)
        assert first_in_lane(r, route, "adversary", half) is not None
    elif scen.type == "Accident":
        for c in ("police_car", "accident_car_1", "accident_car_2"):
            p = r.track(c)[0][1]
            assert lane_type_at(world, p) == LaneType.Driving
            assert lateral_offset(route, *p[:2])[1] == pytest.approx(0.6 * half, abs=0.15)
        assert r.collisions_with("police_car")
    elif scen.type == "HardBreakRoute":
        tr = r.track("lead_vehicle")
        assert tr and any(p[4] == 0.0 for t, p in tr if t > t_start)
        assert all(lane_type_at(world, p) == LaneType.Driving for _, p in tr)
    elif scen.type == "ControlLoss":
        noisy = [t for t in r.ticks if t.applied != t.control]
        assert noisy and all(min(math.hypot(t.ego[0] - d[0], t.ego[1] - d[1]) for d in sc.debris_locations) < 2.3
                             for t in noisy)
        assert all(world.map.get_waypoint(Location(*d)).lane_type == LaneType.Driving for d in sc.debris_locations)
    elif scen.type == "T_Junction":
        assert sc.has_timeout and not r.ended(scen.name).timed_out
    else:
        raise AssertionError(f"unexpected scenario type {scen.type}")
    assert not r.ended(scen.name).timed_out


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_bench2drive_route_stopped_ego(b2d, index):
    """A stopped ego 15 m short of the crossing point (20 m short of the accident) is left
    alone; the accident's ScenarioTimeout fires (shortened to 30 s here)."""
    from .helpers import route_s, stop_and_wait, trigger_on

    routes, maps = b2d
    cfg_route = routes[index]
    world = world_for(cfg_route.town, maps)
    route = dense_route(world.map, cfg_route.keypoints)
    scen = cfg_route.scenarios[0]
    s_trigger = route_s(route, scen.trigger_point.x, scen.trigger_point.y)
    distance = float(scen.value("distance"))
    stop = s_trigger + distance - (20.0 if scen.type == "Accident" else 15.0)
    assert trigger_on(route, stop)                                      # the stop is on the route
    r = run(world, route, cfg_route.scenarios, stop_and_wait(route, stop, SPEED), 45, scenario_timeout=30)
    assert r.started(scen.name) is not None
    assert not r.scenario_collisions()
    if scen.type == "Accident":
        assert r.ended(scen.name).timed_out
    else:
        assert first_moving(r, "adversary") is None
