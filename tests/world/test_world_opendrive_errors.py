"""Broken OpenDRIVE files: the error names the file, the road and the problem; unknown
elements are ignored with one warning each; dangling links are dropped with a warning."""
from __future__ import annotations

import logging

import pytest

from lead.world.map import Map
from lead.world.opendrive import OpenDriveError, load_opendrive, parse_opendrive

_LANES = ('<lanes><laneSection s="0"><center><lane id="0" type="none"/></center><right>'
          '<lane id="-1" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane>'
          '</right></laneSection></lanes>')
_GEOM = '<planView><geometry s="0" x="0" y="0" hdg="0" length="10"><line/></geometry></planView>'


def _doc(*roads: str, extra: str = "") -> str:
    return '<?xml version="1.0"?><OpenDRIVE><header revMajor="1" revMinor="4"/>' + "".join(roads) + extra + "</OpenDRIVE>"


def _road(rid: str = "7", length: str = "10", plan: str = _GEOM, lanes: str = _LANES, link: str = "") -> str:
    return f'<road id="{rid}" junction="-1" length="{length}">{link}{plan}{lanes}</road>'


@pytest.mark.parametrize("text,fragments", [
    ("<OpenDRIVE><road", ["bad.xodr:1", "not well-formed XML"]),
    ("<OpenSCENARIO/>", ["bad.xodr", "<OpenSCENARIO>", "expected <OpenDRIVE>"]),
    (_doc(), ["bad.xodr", "no <road>"]),
    (_doc(_road(length="ten")), ["road 7", "length='ten' is not a number"]),
    (_doc(_road(length="-3")), ["road 7", "negative length"]),
    (_doc(_road(rid="A7")), ["road A7", "not an integer id"]),
    (_doc(_road(plan="<planView/>")), ["road 7", "no <planView> geometry"]),
    (_doc(_road(plan=_GEOM.replace("<line/>", ""))), ["road 7", "geometry at s=0.0", "found none"]),
    (_doc(_road(plan=_GEOM.replace("<line/>", "<clothoid/>"))), ["road 7", "unknown type <clothoid>"]),
    (_doc(_road(plan=_GEOM.replace("<line/>", '<arc curvature="x"/>'))), ["road 7", "curvature='x'"]),
    (_doc(_road(plan=_GEOM.replace('hdg="0"', 'hdg="nan"'))), ["road 7", "hdg='nan' is not finite"]),
    (_doc(_road(plan=_GEOM.replace("<line/>", '<paramPoly3 pRange="meters"/>'))), ["road 7", "pRange='meters'"]),
    (_doc(_road(lanes="")), ["road 7", "has no <lanes>"]),
    (_doc(_road(lanes="<lanes/>")), ["road 7", "no <laneSection>"]),
    (_doc(_road(lanes=_LANES.replace('id="-1"', 'id="-2"'))), ["road 7", "not consecutive"]),
    (_doc(_road(lanes=_LANES.replace('<width sOffset="0" a="3.5" b="0" c="0" d="0"/>', ""))),
     ["road 7", "lane -1 has neither <width> nor <border>"]),
    (_doc(_road(lanes=_LANES.replace("<right>", "<left>").replace("</right>", "</left>"))),
     ["road 7", "lane -1 is in <left>"]),
    (_doc(_road(), _road()), ["road 7", "used twice"]),
    (_doc(_road(link='<link><successor elementType="bridge" elementId="3"/></link>')), ["road 7", "elementType='bridge'"]),
])
def test_errors_name_file_road_and_problem(text, fragments):
    with pytest.raises(OpenDriveError) as err:
        parse_opendrive(text, source="bad.xodr")
    msg = str(err.value)
    for frag in fragments:
        assert frag in msg, msg


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(OpenDriveError, match="nothere.xodr: cannot read file"):
        load_opendrive(tmp_path / "nothere.xodr")
    with pytest.raises(OpenDriveError, match="nothere.xodr"):
        Map.from_file(tmp_path / "nothere.xodr")


def test_error_reports_the_line(tmp_path):
    p = tmp_path / "lined.xodr"
    p.write_text(_doc(_road()).replace("<road", "\n\n<road").replace('length="10">', 'length="10">\n<planView/>', 1))
    with pytest.raises(OpenDriveError) as err:
        load_opendrive(p)
    assert f"{p}:3: road 7" in str(err.value)


def test_unknown_elements_warn_once_per_name(caplog):
    road = _road().replace("</road>", "<hovercraftLane/><hovercraftLane/><userData><vendorThing/></userData></road>")
    with caplog.at_level(logging.WARNING, logger="lead.world.opendrive"):
        net = parse_opendrive(_doc(road, extra="<weather/>"), source="odd.xodr")
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("<hovercraftLane>" in m for m in msgs) == 1 and "(2x)" in msgs[0] + msgs[-1]
    assert sum("<weather>" in m for m in msgs) == 1
    assert not any("vendorThing" in m for m in msgs)          # vendor data inside <userData>
    assert len(net.warnings) == 2 and all(m.startswith("odd.xodr") for m in msgs)
    assert 7 in net.roads


def test_dangling_links_are_dropped_with_one_warning(caplog):
    a = _road(rid="1", link='<link><successor elementType="road" elementId="99" contactPoint="start"/></link>')
    b = _road(rid="2", link='<link><predecessor elementType="junction" elementId="5"/></link>')
    with caplog.at_level(logging.WARNING, logger="lead.world.opendrive"):
        net = parse_opendrive(_doc(a, b), source="dangling.xodr")
    assert net.roads[1].successor is None and net.roads[2].predecessor is None
    assert len(caplog.records) == 1 and "2 links" in caplog.records[0].getMessage()
    Map(net, "dangling").generate_waypoints(2.0)  # and the map still works


def test_geo_reference_and_speed_units():
    road = _road().replace("<planView>", '<type s="0" type="town"><speed max="50" unit="km/h"/></type>'
                                         '<type s="5" type="town"><speed max="10"/></type><planView>')
    head = ('<header revMajor="1" revMinor="6"><geoReference><![CDATA[+proj=tmerc +lat_0=48.1 +lon_0=-3.5 '
            '+k=1]]></geoReference></header>')
    net = parse_opendrive(_doc(road).replace('<header revMajor="1" revMinor="4"/>', head))
    assert (net.geo_reference.lat_0, net.geo_reference.lon_0) == (48.1, -3.5)
    assert net.revision == (1, 6)
    assert net.roads[7].speed_limit(2.0) == 50.0
    assert net.roads[7].speed_limit(6.0) == pytest.approx(36.0)  # OpenDRIVE's default unit is m/s
