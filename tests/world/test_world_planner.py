"""Global route planner: CARLA's road options on a junction whose turns are known,
lane changes where markings permit, connectivity on CARLA's towns, and the leaderboard's
interpolate_trajectory on real Bench2Drive and Longest6 routes."""
from __future__ import annotations


import numpy as np
import pytest
from lxml import etree

from lead.world.checks import routable
from lead.world.gps import location_to_gps
from lead.world.planner import GlobalRoutePlanner, NoRouteError, RoadOption, interpolate_trajectory
from lead.world.transform import Location

from tests.conftest import shared_path


def test_road_option_values_are_carlas():
    assert {o.name: int(o) for o in RoadOption} == {
        "VOID": -1, "LEFT": 1, "RIGHT": 2, "STRAIGHT": 3, "LANEFOLLOW": 4, "CHANGELANELEFT": 5, "CHANGELANERIGHT": 6}


@pytest.mark.parametrize("dest_road,turn", [(1, RoadOption.RIGHT), (2, RoadOption.STRAIGHT), (3, RoadOption.LEFT)])
def test_turn_labels_at_a_four_way_junction(four_way, dest_road, turn):
    # from the south arm (road 4, driving north into the junction) to the east, north, west arm
    grp = GlobalRoutePlanner(four_way, 1.0)
    origin = four_way.get_waypoint_xodr(4, 1, 40.0).transform.location
    dest = four_way.get_waypoint_xodr(dest_road, -1, 30.0).transform.location
    trace = grp.trace_route(origin, dest)
    options = [o for _, o in trace]
    junction = [o for w, o in trace if w.is_junction]
    # as in CARLA, the first junction waypoint closes the approach edge (LANEFOLLOW);
    # the rest of the junction carries the turn
    assert junction[0] == RoadOption.LANEFOLLOW and len(junction) > 5 and set(junction[1:]) == {turn}
    assert set(options) == {RoadOption.LANEFOLLOW, turn}
    assert options[0] == RoadOption.LANEFOLLOW and options[-1] == RoadOption.LANEFOLLOW
    assert trace[-1][0].transform.location.distance(dest) < 2.0
    steps = [a.transform.location.distance(b.transform.location) for (a, _), (b, _) in zip(trace, trace[1:])]
    # dense: a waypoint per metre of road s (a lane outside a curve stretches that by
    # (R + t)/R) and an edge's last sample lies 1-2 steps before its end, as in CARLA
    assert max(steps) <= 2.0 * (10.0 + 1.75) / 10.0 and np.median(steps) == pytest.approx(1.0)
    assert trace[-1][0].road_id == dest_road


def test_lane_changes_where_the_marking_permits(straight_map):
    m = straight_map(lane_change="both")
    origin = m.get_waypoint_xodr(1, -1, 5.0).transform.location
    dest = m.get_waypoint_xodr(1, -2, 90.0).transform.location
    trace = GlobalRoutePlanner(m, 1.0).trace_route(origin, dest)
    options = [o for _, o in trace]
    assert RoadOption.CHANGELANERIGHT in options
    assert trace[0][0].lane_id == -1 and trace[-1][0].lane_id == -2
    closed = straight_map(lane_change="none")
    grp = GlobalRoutePlanner(closed, 1.0)
    with pytest.raises(NoRouteError, match="no route"):
        grp.trace_route(closed.get_waypoint_xodr(1, -1, 5.0).transform.location,
                        closed.get_waypoint_xodr(1, -2, 90.0).transform.location)
    assert not grp.route_exists(origin, dest)


@pytest.mark.parametrize("name", ["Town01", "Town02", "Town10HD"])
def test_planner_connects_random_spawn_pairs(town, planner, name):
    ratio, failures = routable(town(name), pairs=150, seed=7, planner=planner(name))
    assert ratio >= 0.99, failures[:5]


def test_lane_change_cost_is_a_knob(town):
    # Town10HD permits lane changes; a costly change makes routes change lanes less often
    m = town("Town10HD")
    spawns = m.get_spawn_points()
    rng = np.random.default_rng(3)
    free, costly = GlobalRoutePlanner(m, 1.0), GlobalRoutePlanner(m, 1.0, lane_change_cost=50.0)
    changes = [0, 0]
    for _ in range(40):
        a, b = rng.choice(len(spawns), 2, replace=False)
        for i, grp in enumerate((free, costly)):
            try:
                trace = grp.trace_route(spawns[a].location, spawns[b].location)
            except NoRouteError:
                continue
            changes[i] += sum(o in (RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT) for _, o in trace)
    assert changes[0] > 0 and changes[1] < changes[0]


def _keypoints(route: etree._Element) -> list[Location]:
    """Leaderboard 2.0 <position x y z/> or 1.0 <waypoint x y z .../> keypoints."""
    return [Location(float(p.get("x")), float(p.get("y")), float(p.get("z", 0.0)))
            for p in route.iter("position", "waypoint")]


def test_every_shared_route_interpolates(town, planner):
    files = sorted(shared_path("routes").glob("*.xml"))
    assert files
    n = 0
    for f in files:
        for route in etree.parse(str(f)).getroot().iter("route"):
            name = route.get("town")
            kps = _keypoints(route)
            m = town(name)
            gps, dense = interpolate_trajectory(m, kps, 1.0, planner=planner(name))
            n += 1
            assert len(gps) == len(dense) > 0
            where = f"{f.name} route {route.get('id')}"
            # the dense route starts at the first keypoint and ends near the last one
            assert dense[0][0].location.distance(kps[0]) < 3.0, where
            assert dense[-1][0].location.distance(kps[-1]) < 3.0, where
            # no jumps: lane changes move sideways ~5 m ahead, everything else ~1 m apart
            steps = [a.location.distance(b.location) for (a, _), (b, _) in zip(dense, dense[1:])]
            assert max(steps) < 8.0, where
            lat0, lon0 = m.lat_lon_ref
            t, opt = dense[len(dense) // 2]
            g, gopt = gps[len(dense) // 2]
            assert g == location_to_gps(lat0, lon0, t.location.x, t.location.y, t.location.z) and gopt == opt
            assert all(isinstance(o, RoadOption) for _, o in dense)
    assert n == 24


def test_interpolate_needs_two_keypoints(four_way):
    with pytest.raises(ValueError, match="at least 2 keypoints"):
        interpolate_trajectory(four_way, [Location(0, 0, 0)])


def test_route_files_agree_with_our_lanes(town):
    # the routes were recorded in CARLA: Bench2Drive's dense positions are CARLA lane
    # centres (to the file's 0.1 m rounding), Longest6 stores CARLA's yaw of each keypoint
    for f in sorted(shared_path("routes").glob("*.xml")):
        for route in etree.parse(str(f)).getroot().iter("route"):
            m = town(route.get("town"))
            for p in route.iter("position"):
                loc = Location(float(p.get("x")), float(p.get("y")), float(p.get("z")))
                assert m.get_waypoint(loc).transform.location.distance_2d(loc) < 0.1
            for p in route.iter("waypoint"):
                loc = Location(float(p.get("x")), float(p.get("y")), float(p.get("z")))
                yaw = m.get_waypoint(loc).transform.rotation.yaw
                assert abs((yaw - float(p.get("yaw")) + 180.0) % 360.0 - 180.0) < 5.0
