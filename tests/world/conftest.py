"""Fixtures of the road-network tests: the shared maps parsed once per session, and small
OpenDRIVE files written here whose answers follow from plane geometry."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import shared_path

_MAPS: dict[str, object] = {}
_PLANNERS: dict[str, object] = {}


def _load(path: Path):
    from lead.world.map import Map

    key = str(path)
    if key not in _MAPS:
        _MAPS[key] = Map.from_file(path)
    return _MAPS[key]


@pytest.fixture(scope="session")
def town():
    """town("Town01") -> the parsed CARLA map (cached for the session)."""
    def get(name: str):
        return _load(shared_path("maps", "carla", f"{name}.xodr"))
    return get


@pytest.fixture(scope="session")
def planner(town):
    """planner("Town01") -> a GlobalRoutePlanner at 1 m on that town (cached)."""
    from lead.world.planner import GlobalRoutePlanner

    def get(name: str):
        if name not in _PLANNERS:
            _PLANNERS[name] = GlobalRoutePlanner(town(name), 1.0)
        return _PLANNERS[name]
    return get


def all_map_paths() -> list[Path]:
    root = shared_path("maps")
    return sorted(root.glob("*/*.xodr"))


@pytest.fixture(scope="session")
def any_map():
    """any_map(path) -> the parsed map of any shared .xodr (cached)."""
    return _load


# ------------------------------------------------------------------ synthetic files

def _lane(lid: int, width: float = 3.5, type_: str = "driving", mark: str = "", links: str = "") -> str:
    return (f'<lane id="{lid}" type="{type_}" level="false">{links}'
            f'<width sOffset="0" a="{width}" b="0" c="0" d="0"/>{mark}</lane>')


def _road(rid: int, length: float, geometry: str, lanes: str, junction: int = -1, link: str = "",
          extra: str = "", lanes_extra: str = "") -> str:
    return (f'<road name="r{rid}" id="{rid}" junction="{junction}" length="{length}">'
            f'<link>{link}</link>{extra}<planView>{geometry}</planView>'
            f'<lanes>{lanes_extra}<laneSection s="0">{lanes}</laneSection></lanes></road>')


def _geom(x: float, y: float, hdg: float, length: float, shape: str = "<line/>") -> str:
    return f'<geometry s="0" x="{x}" y="{y}" hdg="{hdg}" length="{length}">{shape}</geometry>'


def four_way_xodr(d: float = 10.0, approach: float = 50.0) -> str:
    """A 4-way junction at the origin (OpenDRIVE frame). Radial road k leaves the
    junction at D·(cos θk, sin θk) heading θk = k·90°, with lane -1 driving outwards and
    lane 1 inwards. Connecting road 100·k+j joins inbound lane 1 of road k to outbound
    lane -1 of road j: a line for straight on, a quarter circle of radius D for a turn,
    so every lane centre meets its neighbour exactly."""
    roads, conns = [], []
    for k in range(4):
        th = k * math.pi / 2
        x, y = d * math.cos(th), d * math.sin(th)
        lanes = ('<left>' + _lane(1) + '</left><center><lane id="0" type="none" level="false"/></center>'
                 '<right>' + _lane(-1) + '</right>')
        roads.append(_road(k + 1, approach, _geom(x, y, th, approach), lanes,
                           link='<predecessor elementType="junction" elementId="9"/>',
                           extra='<type s="0" type="town"><speed max="30" unit="mph"/></type>'))
    cid = 0
    for k in range(4):
        for turn in (0, 1, -1):  # straight, left (counter-clockwise), right
            j = (k + 2 + turn) % 4
            th_in = k * math.pi / 2 + math.pi            # heading into the junction
            x0, y0 = d * math.cos(k * math.pi / 2), d * math.sin(k * math.pi / 2)
            if turn == 0:
                shape, length = "<line/>", 2 * d
            else:
                shape, length = f'<arc curvature="{turn / d}"/>', math.pi / 2 * d
            rid = 100 * (k + 1) + (j + 1)
            lanes = '<center><lane id="0" type="none" level="false"/></center><right>' + _lane(
                -1, links='<link><predecessor id="1"/><successor id="-1"/></link>') + '</right>'
            roads.append(_road(rid, length, _geom(x0, y0, th_in, length, shape), lanes, junction=9,
                               link=f'<predecessor elementType="road" elementId="{k + 1}" contactPoint="start"/>'
                                    f'<successor elementType="road" elementId="{j + 1}" contactPoint="start"/>'))
            conns.append(f'<connection id="{cid}" incomingRoad="{k + 1}" connectingRoad="{rid}" '
                         f'contactPoint="start"><laneLink from="1" to="-1"/></connection>')
            cid += 1
    return ('<?xml version="1.0"?><OpenDRIVE><header revMajor="1" revMinor="4" name="fourway">'
            '<geoReference><![CDATA[+proj=tmerc +lat_0=49.5 +lon_0=8.25 +k=1]]></geoReference></header>'
            + "".join(roads) + '<junction id="9" name="j">' + "".join(conns) + "</junction></OpenDRIVE>")


def straight_xodr(lane_change: str = "both", offset: float = 0.0, slope: float = 0.0, hdg: float = 0.3) -> str:
    """One 100 m straight road from (10, 20) heading `hdg`: lanes 1 (3 m, sidewalk 2),
    -1, -2 (3.5 m driving, mark between them allowing `lane_change`), -3 shoulder 1 m;
    laneOffset `offset`, elevation z = 1 + slope·s."""
    m1 = (f'<roadMark sOffset="0" type="broken" weight="standard" color="white" width="0.15" '
          f'laneChange="{lane_change}"/>')
    m0 = '<roadMark sOffset="0" type="solid solid" color="yellow" width="0.15" laneChange="none"/>'
    lanes = ('<left>' + _lane(2, 2.0, "sidewalk") + _lane(1, 3.0) + '</left>'
             f'<center><lane id="0" type="none" level="false">{m0}</lane></center>'
             '<right>' + _lane(-1, 3.5, mark=m1) + _lane(-2, 3.5) + _lane(-3, 1.0, "shoulder") + '</right>')
    return ('<?xml version="1.0"?><OpenDRIVE><header revMajor="1" revMinor="6" name="straight"/>'
            + _road(1, 100.0, _geom(10.0, 20.0, hdg, 100.0), lanes,
                    extra=f'<elevationProfile><elevation s="0" a="1" b="{slope}" c="0" d="0"/></elevationProfile>',
                    lanes_extra=f'<laneOffset s="0" a="{offset}" b="0" c="0" d="0"/>')
            + "</OpenDRIVE>")


@pytest.fixture
def four_way():
    from lead.world.map import Map
    return Map.from_string(four_way_xodr(), "fourway")


@pytest.fixture
def straight():
    from lead.world.map import Map
    return Map.from_string(straight_xodr(), "straight")


@pytest.fixture
def straight_map():
    """straight_map(**kwargs of straight_xodr) -> Map."""
    from lead.world.map import Map
    return lambda **kw: Map.from_string(straight_xodr(**kw), "straight")
