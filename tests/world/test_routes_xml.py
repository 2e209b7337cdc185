"""Route files: real Bench2Drive (LB 2.0) and Longest6 (LB 1.0) files, round trips,
route subsets, weather interpolation and broken input."""
from __future__ import annotations

import math

import pytest
from lxml import etree

from lead.world.routes import (
    LEADERBOARD_BASE_WEATHER,
    RouteConfig,
    RouteFileError,
    ScenarioConfig,
    TriggerPoint,
    WeatherConfig,
    parse_route_ids,
    parse_routes,
    read_routes,
    route_percentages,
    select_routes,
    weather_at,
    write_routes,
)


@pytest.fixture
def b2d(shared_data):
    return shared_data / "routes" / "bench2drive_town01_02_10.xml"


@pytest.fixture
def longest6(shared_data):
    return shared_data / "routes" / "longest6_town01_02_10.xml"


def test_bench2drive_matches_the_xml(b2d):
    routes = read_routes(b2d)
    tree = etree.parse(str(b2d))
    elems = tree.getroot().findall("route")
    assert [r.id for r in routes] == [e.get("id") for e in elems]
    for r, e in zip(routes, elems):
        assert r.town == e.get("town") and r.town in ("Town01", "Town02", "Town10HD")
        assert r.attrs == {"road_id": e.get("road_id")}
        pos = e.find("waypoints").findall("position")
        assert r.keypoints == [(float(p.get("x")), float(p.get("y")), float(p.get("z"))) for p in pos]
        assert len(r.scenarios) == 1  # Bench2Drive: one scenario per route
        se = e.find("scenarios").find("scenario")
        s = r.scenarios[0]
        assert (s.name, s.type) == (se.get("name"), se.get("type"))
        tp = se.find("trigger_point")
        assert s.trigger_point == TriggerPoint(*(float(tp.get(k)) for k in ("x", "y", "z", "yaw")))
        params = {c.tag: dict(c.attrib) for c in se if c.tag != "trigger_point"}
        assert s.parameters == params
        assert [w.route_percentage for w in r.weathers] == [0.0, 100.0]
        assert r.source.startswith(str(b2d) + ":")
    first = routes[0]
    assert first.name == "RouteScenario_24211"
    assert first.scenarios[0].value("direction") == "right"
    assert first.scenarios[0].value("missing", "dflt") == "dflt"


def test_longest6_is_leaderboard_1(longest6):
    routes = read_routes(longest6)
    assert [r.id for r in routes] == [str(i) for i in range(12)]
    tree = etree.parse(str(longest6))
    for r, e in zip(routes, tree.getroot().findall("route")):
        wps = e.findall("waypoint")
        assert len(r.keypoints) == len(wps) >= 2
        assert r.keypoints[-1] == (float(wps[-1].get("x")), float(wps[-1].get("y")), float(wps[-1].get("z")))
        assert r.scenarios == []
        (w,) = r.weathers
        we = e.find("weather")
        assert w.route_percentage == 0.0 and w.extra == {"id": we.get("id")}
        assert w.values["sun_azimuth_angle"] == float(we.get("sun_azimuth_angle"))


@pytest.mark.parametrize("name", ["bench2drive_town01_02_10.xml", "longest6_town01_02_10.xml"])
def test_round_trip(name, shared_data, tmp_path):
    src = shared_data / "routes" / name
    routes = read_routes(src)
    out = write_routes(tmp_path / "out.xml", routes)
    again = read_routes(out)
    assert again == routes
    # the written file is Leaderboard 2.0: keypoints under <waypoints>, weathers under <weathers>
    root = etree.parse(str(out)).getroot()
    for e in root.findall("route"):
        assert e.find("waypoints") is not None and e.find("weathers") is not None
        assert e.find("scenarios") is not None
    assert write_routes(tmp_path / "twice.xml", again).read_bytes() == out.read_bytes()


def test_write_keeps_interval_and_actor_attributes(tmp_path):
    sc = ScenarioConfig("EnterActorFlow_1", "EnterActorFlow", [TriggerPoint(1.5, -2.25, 0.0, 90.0)],
                        {"start_actor_flow": {"x": "10", "y": "20", "z": "0"},
                         "source_dist_interval": {"from": "25", "to": "50"},
                         "flow_speed": {"value": "10"}},
                        [{"type": "vehicle.*", "x": "3", "y": "4", "z": "0", "yaw": "0"}])
    r = RouteConfig("7", "LeadGrid", [(0.0, 0.0, 0.0), (100.0, 5.0, 0.0)], [sc],
                    [WeatherConfig(0.0, {"cloudiness": 20.0}), WeatherConfig(50.0, {"wetness": 70.0}, {"id": "w"})])
    path = write_routes(tmp_path / "r.xml", [r])
    (back,) = read_routes(path)
    assert back == r
    assert back.scenarios[0].interval("source_dist_interval") == (25.0, 50.0)
    assert back.scenarios[0].interval("flow_speed") is None


def test_route_subsets_follow_the_leaderboard():
    ids = ["1", "2", "3", "10", "5", "6"]
    assert parse_route_ids("3", ids) == ["3"]
    assert parse_route_ids("2-5, 1", ids) == ["1", "2", "3", "5", "10"]  # file order range, sorted by number
    with pytest.raises(RouteFileError, match="no route with id '4'"):
        parse_route_ids("4", ids)
    with pytest.raises(RouteFileError, match="comes before"):
        parse_route_ids("5-2", ids)
    with pytest.raises(RouteFileError, match="selected twice"):
        parse_route_ids("2-3,3", ids)
    with pytest.raises(RouteFileError, match="empty item"):
        parse_route_ids("2,,3", ids)


def test_select_routes_keeps_file_order(b2d):
    routes = read_routes(b2d)
    chosen = select_routes(routes, "28035,24224-24294")
    assert [r.id for r in chosen] == ["24224", "24240", "24294", "28035"]
    assert select_routes(routes, "") == routes


def test_weather_interpolation():
    ws = [WeatherConfig(80.0, {"cloudiness": 100.0, "wetness": 0.0}),
          WeatherConfig(20.0, {"cloudiness": 0.0, "wetness": 50.0})]
    assert weather_at(ws, 0.0)["cloudiness"] == 0.0           # before the first entry it holds
    assert weather_at(ws, 100.0)["cloudiness"] == 100.0       # after the last entry it holds
    mid = weather_at(ws, 50.0)
    assert mid["cloudiness"] == pytest.approx(50.0) and mid["wetness"] == pytest.approx(25.0)
    # parameters absent from both entries come from the leaderboard's base weather
    assert mid["sun_altitude_angle"] == 70.0 and mid["rayleigh_scattering_scale"] == pytest.approx(0.0331)
    assert weather_at([], 30.0) == LEADERBOARD_BASE_WEATHER


def test_weather_along_a_real_route(b2d):
    r = read_routes(b2d)[0]
    pct = route_percentages(r.keypoints)
    assert pct[0] == 0.0 and pct[-1] == pytest.approx(100.0)
    assert all(b >= a for a, b in zip(pct, pct[1:]))
    total = sum(math.dist(a, b) for a, b in zip(r.keypoints, r.keypoints[1:]))
    assert pct[1] == pytest.approx(100.0 * math.dist(r.keypoints[0], r.keypoints[1]) / total)
    w = weather_at(r.weathers, pct[len(pct) // 2])
    assert w["cloudiness"] == r.weathers[0].values["cloudiness"]


GOOD_ROUTE = """<routes>
  <route id="1" town="Town01">
    <waypoints>
      <position x="0" y="0" z="0"/>
      <position x="10" y="0" z="0"/>
    </waypoints>
    <scenarios/>
    <weathers><weather route_percentage="0" cloudiness="5"/></weathers>
  </route>
</routes>"""


def test_good_string_parses():
    (r,) = parse_routes(GOOD_ROUTE)
    assert r.keypoints == [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0)] and r.weathers[0].values == {"cloudiness": 5.0}


@pytest.mark.parametrize("broken, pattern", [
    ("<routes><route id='1' town='T'>", r"<string>:1: not well-formed XML"),
    ("<route id='1' town='T'/>", r"root element is <route>"),
    (GOOD_ROUTE.replace('town="Town01"', ""), r"<string>:2: route 1: <route> lacks attribute 'town'"),
    (GOOD_ROUTE.replace('id="1" ', ""), r"<string>:2: route \?: <route> lacks attribute 'id'"),
    (GOOD_ROUTE.replace('x="10"', 'x="ten"'), r"<string>:5: route 1: <position> attribute x='ten' is not a number"),
    (GOOD_ROUTE.replace('<position x="10" y="0" z="0"/>', ""), r"<string>:3: route 1: needs at least 2 waypoints"),
    (GOOD_ROUTE.replace(' z="0"/>\n      <position x="10"', '/>\n      <position x="10"'),
     r"<string>:4: route 1: <position> lacks attribute 'z'"),
    (GOOD_ROUTE.replace("<scenarios/>", "<scenarios><scenario name='A_1' type='A'><distance value='3'/>"
                        "</scenario></scenarios>"), r"<string>:7: route 1: scenario A_1 has no <trigger_point>"),
    (GOOD_ROUTE.replace("<scenarios/>", "<scenarios><scenario name='A_1'><trigger_point x='0' y='0' z='0' "
                        "yaw='0'/></scenario></scenarios>"), r"route 1: <scenario> lacks attribute 'type'"),
    (GOOD_ROUTE.replace("<scenarios/>", "<scenarios><scenario name='A_1' type='A'><trigger_point x='0' y='0' "
                        "z='0'/></scenario></scenarios>"), r"<trigger_point> lacks attribute 'yaw'"),
    (GOOD_ROUTE.replace("<scenarios/>", "<scenarios><scenario name='A_1' type='A'><trigger_point x='0' y='0' "
                        "z='0' yaw='0'/><gap from='3'/></scenario></scenarios>"),
     r"interval <gap> needs both 'from' and 'to'"),
    (GOOD_ROUTE.replace('route_percentage="0"', 'route_percentage="120"'), r"<string>:8: route 1: .*outside 0..100"),
    (GOOD_ROUTE.replace('route_percentage="0" ', ""), r"<weather> lacks attribute 'route_percentage'"),
    (GOOD_ROUTE.replace('cloudiness="5"', 'cloudiness="5"/><weather route_percentage="0.0"'),
     r"two weathers at route_percentage 0.0"),
    (GOOD_ROUTE.replace("</routes>", GOOD_ROUTE.split("\n", 1)[1]), r"<string>:10: route 1: repeated route id"),
])
def test_broken_input_names_line_and_route(broken, pattern):
    with pytest.raises(RouteFileError, match=pattern):
        parse_routes(broken)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(RouteFileError, match=str(tmp_path / "nope.xml")):
        read_routes(tmp_path / "nope.xml")
