"""Map / Waypoint API on small files whose answers follow from plane geometry."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lead.world.gps import location_to_gps
from lead.world.lane_types import LaneChange, LaneMarkingColor, LaneMarkingType, LaneType
from lead.world.map import EPSILON
from lead.world.transform import BoundingBox, Location, Rotation, Transform, Vector3D

H = 0.3  # heading of the straight road in the file


def _odr_point(s: float, t: float) -> tuple[float, float]:
    """Point (s, t) of the straight road in the OpenDRIVE frame (+t to the left)."""
    return 10.0 + s * math.cos(H) - t * math.sin(H), 20.0 + s * math.sin(H) + t * math.cos(H)


@pytest.mark.parametrize("lane_id,t_centre", [(-1, -1.75), (-2, -5.25), (1, 1.5), (2, 4.0), (-3, -7.5)])
def test_lane_centres_are_the_files_mirrored(straight_map, lane_id, t_centre):
    m = straight_map(offset=0.5, slope=0.01)
    wp = m.get_waypoint_xodr(1, lane_id, 40.0)
    x, y = _odr_point(40.0, 0.5 + t_centre)
    loc = wp.transform.location
    assert (loc.x, loc.y, loc.z) == pytest.approx((x, -y, 1.0 + 0.01 * 40.0), abs=1e-9)
    rot = wp.transform.rotation
    if lane_id < 0:
        assert rot.yaw == pytest.approx(-math.degrees(H))
        assert rot.pitch == pytest.approx(math.degrees(0.01))
    else:  # drives against s: turned round, CARLA's pitch convention
        assert rot.yaw == pytest.approx(180.0 - math.degrees(H))
        assert rot.pitch == pytest.approx(360.0 - math.degrees(0.01))
    widths = {-1: 3.5, -2: 3.5, 1: 3.0, 2: 2.0, -3: 1.0}
    assert wp.lane_width == pytest.approx(widths[lane_id])
    assert wp.road_id == 1 and wp.section_id == 0 and wp.s == 40.0 and not wp.is_junction
    assert wp.junction_id == -1


def test_forward_vector_points_along_travel(straight):
    wp = straight.get_waypoint_xodr(1, -1, 50.0)
    ahead = wp.next(10.0)[0]
    d = ahead.transform.location - wp.transform.location
    f = wp.transform.get_forward_vector()
    assert d.make_unit_vector().dot(f) == pytest.approx(1.0, abs=1e-9)
    back = straight.get_waypoint_xodr(1, 1, 50.0)
    d = back.next(10.0)[0].transform.location - back.transform.location
    assert d.make_unit_vector().dot(back.transform.get_forward_vector()) == pytest.approx(1.0, abs=1e-9)


def test_get_waypoint_projects_and_filters_by_lane_type(straight):
    x, y = _odr_point(37.0, -1.75 - 1.0)  # 1 m right of lane -1's centre, still inside it
    wp = straight.get_waypoint(Location(x, -y, 1.0))
    assert (wp.lane_id, wp.s) == (-1, pytest.approx(37.0, abs=1e-6))
    assert straight.get_waypoint(Location(x, -y, 1.0), project_to_road=False).lane_id == -1
    x, y = _odr_point(37.0, -6.5)  # inside lane -2
    assert straight.get_waypoint(Location(x, -y, 1.0), project_to_road=False).lane_id == -2
    x, y = _odr_point(37.0, -7.5)  # on the shoulder: no driving lane there
    assert straight.get_waypoint(Location(x, -y, 1.0), project_to_road=False) is None
    assert straight.get_waypoint(Location(x, -y, 1.0)).lane_id == -2
    assert straight.get_waypoint(Location(x, -y, 1.0), lane_type=LaneType.Shoulder).lane_id == -3
    x, y = _odr_point(60.0, 4.0)
    side = straight.get_waypoint(Location(x, -y, 1.0), lane_type=LaneType.Sidewalk)
    assert (side.lane_id, side.lane_type) == (2, LaneType.Sidewalk)
    far = Location(*_odr_point(50.0, 40.0)[:1], -_odr_point(50.0, 40.0)[1], 1.0)
    assert straight.get_waypoint(far, project_to_road=False) is None
    assert straight.get_waypoint(far).lane_id == 1  # nearest driving lane on that side


def test_neighbour_lanes_follow_carla(straight):
    wp = straight.get_waypoint_xodr(1, -1, 30.0)
    assert wp.get_right_lane().lane_id == -2
    assert wp.get_left_lane().lane_id == 1          # across the centre line: the other direction
    assert straight.get_waypoint_xodr(1, 1, 30.0).get_left_lane().lane_id == -1
    assert straight.get_waypoint_xodr(1, 1, 30.0).get_right_lane().lane_id == 2
    assert straight.get_waypoint_xodr(1, -3, 30.0).get_right_lane() is None
    assert wp.get_right_lane().s == wp.s


@pytest.mark.parametrize("lane_change,expected", [("both", LaneChange.Right), ("none", LaneChange.NONE),
                                                   ("increase", LaneChange.Right), ("decrease", LaneChange.NONE)])
def test_lane_markings_and_permitted_changes(straight_map, lane_change, expected):
    m = straight_map(lane_change=lane_change)
    wp = m.get_waypoint_xodr(1, -1, 10.0)
    right, left = wp.right_lane_marking, wp.left_lane_marking
    assert (right.type, right.color, right.width) == (LaneMarkingType.Broken, LaneMarkingColor.White, 0.15)
    assert (left.type, left.color, left.lane_change) == (LaneMarkingType.SolidSolid, LaneMarkingColor.Yellow,
                                                         LaneChange.NONE)
    # the centre line forbids crossing; the broken line permits what the file says
    assert wp.lane_change == expected
    outer = m.get_waypoint_xodr(1, -2, 10.0)
    assert outer.right_lane_marking is None   # the file gives lane -2 no mark
    assert outer.left_lane_marking == right


def test_next_previous_along_a_dead_end_road(straight):
    wp = straight.get_waypoint_xodr(1, -1, 10.0)
    assert [w.s for w in wp.next(5.0)] == [pytest.approx(15.0)]
    assert [w.s for w in wp.previous(5.0)] == [pytest.approx(5.0)]
    back = straight.get_waypoint_xodr(1, 1, 10.0)
    assert [w.s for w in back.next(5.0)] == [pytest.approx(5.0)]   # lane 1 drives towards s = 0
    assert wp.next(95.0) == []                                       # past the road's end
    steps = wp.next_until_lane_end(20.0)
    assert [round(w.s) for w in steps] == [30, 50, 70, 90, 100]
    with pytest.raises(ValueError):
        wp.next(0.0)


def test_generate_waypoints_topology_and_geo(straight):
    wps = straight.generate_waypoints(2.0)
    assert len(wps) == 50 * 3  # s = EPS, 2+EPS, ... on the three driving lanes
    assert [w.lane_id for w in wps[:3]] == [-2, -1, 1]
    assert wps[0].s == EPSILON
    topo = straight.get_topology()  # dead ends: (start, end) of each driving lane
    assert sorted((a.lane_id, round(a.s), round(b.s)) for a, b in topo) == [(-2, 0, 100), (-1, 0, 100), (1, 100, 0)]
    for a, b in topo:
        assert a.key == b.key
    geo = straight.transform_to_geolocation(Location(10.0, -5.0, 2.0))
    g = location_to_gps(42.0, 2.0, 10.0, -5.0, 2.0)  # no geoReference: the leaderboard's defaults
    assert (geo.latitude, geo.longitude, geo.altitude) == (g["lat"], g["lon"], g["z"])


def test_lane_geometry_boundaries(straight):
    lanes = {g.lane_id: g for g in straight.lane_geometry(step=5.0)}
    assert set(lanes) == {2, 1, -1, -2, -3}
    g = lanes[-1]
    assert len(g.s) == 21 and g.s[0] == 0.0 and g.s[-1] == 100.0
    x, y = _odr_point(g.s[3], -3.5)
    assert (g.right[3, 0], g.right[3, 1]) == pytest.approx((x, -y))
    x, y = _odr_point(g.s[3], 0.0)
    assert (g.left[3, 0], g.left[3, 1]) == pytest.approx((x, -y))
    assert np.allclose(g.width, 3.5)
    assert [m.marking.type for m in g.right_marks] == [LaneMarkingType.Broken]
    back = lanes[1]
    assert back.s[0] == 100.0 and back.s[-1] == 0.0  # in the direction of travel
    assert lanes[2].lane_type == LaneType.Sidewalk and not lanes[2].is_junction


def test_junction_successors_and_continuity(four_way):
    m = four_way
    # inbound lane 1 of road 4 (south arm) 5 m before the junction
    wp = m.get_waypoint_xodr(4, 1, 5.0)
    branches = wp.next(8.0)
    assert sorted(b.road_id for b in branches) == [401, 402, 403]
    assert all(b.is_junction and b.junction_id == 9 and b.lane_id == -1 for b in branches)
    assert all(b.s == pytest.approx(3.0) for b in branches)
    # every link joins lane centres exactly
    for key in m.lane_keys(LaneType.Driving):
        end = m._lane_end(key).transform.location
        for n in m.successors(key):
            assert end.distance(m._lane_start(n).transform.location) < 1e-9
    out = m.get_waypoint_xodr(1, -1, 2.0)   # outbound lane of the east arm
    assert sorted(p.road_id for p in out.previous(5.0)) == [201, 301, 401]
    j = out.previous(5.0)[0].get_junction()
    assert j.id == 9 and len(j.get_waypoints()) == 12
    assert j.bounding_box.contains(Location(0.0, 0.0, 0.0))
    assert m.get_waypoint_xodr(1, -1, 2.0).speed_limit == pytest.approx(30 * 1.609344)


def test_spawn_points_lie_on_driving_lanes_outside_junctions(four_way):
    spawns = four_way.get_spawn_points(spacing=10.0)
    assert len(spawns) == 8 * 5  # 8 arm lanes of 50 m: 3, 13, 23, 33, 43 m
    for t in spawns:
        wp = four_way.get_waypoint(t.location, project_to_road=False)
        assert wp is not None and not wp.is_junction
        assert t.location.z == pytest.approx(wp.transform.location.z + 0.5)
        assert abs((t.rotation.yaw - wp.transform.rotation.yaw + 180) % 360 - 180) < 1e-6


def test_transform_types_follow_carla():
    r = Rotation(pitch=0.0, yaw=90.0, roll=0.0)
    f, rt, up = r.get_forward_vector(), r.get_right_vector(), r.get_up_vector()
    assert (f.x, f.y, f.z) == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)
    assert (rt.x, rt.y, rt.z) == pytest.approx((-1.0, 0.0, 0.0), abs=1e-12)  # left-handed: right of +y is -x
    assert (up.x, up.y, up.z) == pytest.approx((0.0, 0.0, 1.0), abs=1e-12)
    tf = Transform(Location(1.0, 2.0, 3.0), Rotation(10.0, 35.0, -5.0))
    p = Vector3D(4.0, -1.0, 0.5)
    back = tf.inverse_transform(tf.transform(p))
    assert (back.x, back.y, back.z) == pytest.approx((4.0, -1.0, 0.5))
    assert Location(0, 0, 0).distance(Location(3, 4, 12)) == 13.0
    box = BoundingBox(Location(10, 0, 0), Vector3D(2, 1, 1), Rotation(yaw=90))
    assert box.contains(Location(10.5, 1.9, 0)) and not box.contains(Location(11.9, 0.5, 0))
