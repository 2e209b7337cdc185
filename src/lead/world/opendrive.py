"""OpenDRIVE 1.4-1.6 parser (lxml) -> lead.world.network.RoadNetwork.

Reads planView geometries (line, arc, spiral, poly3, paramPoly3), elevation, laneOffset,
lane sections (width or border polynomials, types, road marks, links, lane speed), road
links with contact points, road type/speed records, junctions with connections and lane
links, controllers, signals and signal references with their validity, objects with
outlines, and the header's geoReference. Values stay in the file's frame.

A broken file raises OpenDriveError naming the file, the road and the problem. Elements
the parser does not know are ignored with one warning per element name.
"""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from lxml import etree

from lead.world import geometry as geo
from lead.world.lane_types import lane_type_from_name
from lead.world.network import (
    Connection, Controller, GeoReference, Junction, Lane, LaneLink, LaneSection, Road,
    RoadLink, RoadMark, RoadNetwork, RoadObject, RoadTypeRecord, Signal, SignalReference,
    Validity,
)

log = logging.getLogger(__name__)

# Elements the parser reads or knowingly skips; any other name gets one warning.
_KNOWN = set("""
OpenDRIVE header geoReference offset userData include dataQuality error rawData
road link predecessor successor neighbor type speed planView geometry line arc spiral poly3
paramPoly3 elevationProfile elevation lateralProfile superelevation crossfall shape lanes
laneOffset laneSection left center right lane width border roadMark sway explicit
material visibility access height rule objects object repeat outline outlines cornerRoad
cornerLocal markings marking cornerReference borders parkingSpace objectReference tunnel
bridge signals signal signalReference validity dependency reference positionRoad
positionInertial controller control junction connection laneLink priority junctionGroup
junctionReference station platform segment railroad switch mainTrack sideTrack partner
surface CRG semantics
""".split())

_SPEED_UNITS = {"km/h": 1.0, "kmh": 1.0, "m/s": 3.6, "mph": 1.609344}


class OpenDriveError(ValueError):
    """An OpenDRIVE file that cannot be used; the message names file, road and problem."""

    def __init__(self, source: str, problem: str, road_id: str | int | None = None,
                 line: int | None = None):
        where = source
        if line is not None:
            where += f":{line}"
        if road_id is not None:
            where += f": road {road_id}"
        super().__init__(f"{where}: {problem}")
        self.source, self.road_id, self.problem, self.line = source, road_id, problem, line


def load_opendrive(path: str | Path) -> RoadNetwork:
    """Parse an .xodr file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise OpenDriveError(str(path), f"cannot read file: {e.strerror or e}") from e
    return parse_opendrive(data, source=str(path))


def parse_opendrive(text: str | bytes, source: str = "<string>") -> RoadNetwork:
    """Parse OpenDRIVE XML text; `source` names it in errors and warnings."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    parser = etree.XMLParser(remove_comments=True, huge_tree=True, resolve_entities=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as e:
        raise OpenDriveError(source, f"not well-formed XML: {e.msg}", line=e.lineno) from e
    if root.tag != "OpenDRIVE":
        raise OpenDriveError(source, f"root element is <{root.tag}>, expected <OpenDRIVE>")
    return _Parser(source).parse(root)


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.road_id: str | None = None
        self.warnings: list[str] = []

    # --------------------------------------------------------------- helpers
    def fail(self, problem: str, el: etree._Element | None = None):
        raise OpenDriveError(self.source, problem, self.road_id, el.sourceline if el is not None else None)

    def num(self, el, name: str, default: float | None = None) -> float:
        v = el.get(name)
        if v is None:
            if default is None:
                self.fail(f"<{el.tag}> lacks attribute '{name}'", el)
            return default
        try:
            x = float(v)
        except ValueError:
            self.fail(f"<{el.tag}> attribute {name}={v!r} is not a number", el)
        if not math.isfinite(x):
            self.fail(f"<{el.tag}> attribute {name}={v!r} is not finite", el)
        return x

    def int_(self, el, name: str, default: int | None = None) -> int:
        v = el.get(name)
        if v is None:
            if default is None:
                self.fail(f"<{el.tag}> lacks attribute '{name}'", el)
            return default
        try:
            return int(v.strip())
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                f = math.nan
            if f.is_integer():
                return int(f)
            self.fail(f"<{el.tag}> attribute {name}={v!r} is not an integer id "
                      "(lead, like CARLA, needs integer road, junction and lane ids)", el)

    def cubic(self, el, s_attr: str) -> geo.Cubic:
        return geo.Cubic(self.num(el, s_attr, 0.0), self.num(el, "a", 0.0), self.num(el, "b", 0.0),
                         self.num(el, "c", 0.0), self.num(el, "d", 0.0))

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        log.warning("%s: %s", self.source, msg)

    # --------------------------------------------------------------- document
    def parse(self, root) -> RoadNetwork:
        self._warn_unknown(root)
        header = root.find("header")
        rev = (1, 4)
        geo_ref = GeoReference()
        name = vendor = ""
        if header is not None:
            rev = (int(self.num(header, "revMajor", 1)), int(self.num(header, "revMinor", 4)))
            name, vendor = header.get("name", ""), header.get("vendor", "")
            gr = header.find("geoReference")
            if gr is not None and gr.text:
                geo_ref = _geo_reference(gr.text)
        roads: dict[int, Road] = {}
        for el in root.iterfind("road"):
            road = self.road(el)
            if road.id in roads:
                self.fail("road id is used twice", el)
            roads[road.id] = road
        self.road_id = None
        if not roads:
            self.fail("the file has no <road>")
        junctions: dict[int, Junction] = {}
        for el in root.iterfind("junction"):
            j = self.junction(el)
            if j.id in junctions:
                self.fail(f"junction id {j.id} is used twice", el)
            junctions[j.id] = j
        controllers = {}
        for el in root.iterfind("controller"):
            c = Controller(el.get("id", ""), el.get("name", ""),
                           int(self.num(el, "sequence")) if el.get("sequence") is not None else None,
                           [ctl.get("signalId", "") for ctl in el.iterfind("control")])
            controllers[c.id] = c
        self._check_links(roads, junctions)
        return RoadNetwork(self.source, rev, roads, junctions, controllers, geo_ref, name, vendor,
                           self.warnings)

    def _warn_unknown(self, root) -> None:
        counts: dict[str, int] = {}
        stack = [root]
        while stack:
            el = stack.pop()
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                if child.tag not in _KNOWN:
                    counts[child.tag] = counts.get(child.tag, 0) + 1
                elif child.tag != "userData":  # vendor data: its insides are not OpenDRIVE
                    stack.append(child)
        for tag, n in sorted(counts.items()):
            self.warn(f"unknown element <{tag}> ignored ({n}x)")

    # --------------------------------------------------------------- roads
    def road(self, el) -> Road:
        self.road_id = el.get("id", "?")
        rid = self.int_(el, "id")
        length = self.num(el, "length")
        if length < 0:
            self.fail(f"negative length {length}", el)
        junction = self.int_(el, "junction", -1)
        pred = succ = None
        link = el.find("link")
        if link is not None:
            pred = self.road_link(link.find("predecessor"))
            succ = self.road_link(link.find("successor"))
        types = []
        for t in el.iterfind("type"):
            speed = None
            sp = t.find("speed")
            if sp is not None:
                speed = self.speed(sp)
            types.append(RoadTypeRecord(self.num(t, "s", 0.0), t.get("type", ""), speed))
        pv = el.find("planView")
        if pv is None or pv.find("geometry") is None:
            self.fail("has no <planView> geometry", el)
        geoms = [self.geometry(g) for g in pv.iterfind("geometry")]
        elevation = geo.CubicSeq([self.cubic(e, "s") for e in el.iterfind("elevationProfile/elevation")])
        lanes = el.find("lanes")
        if lanes is None:
            self.fail("has no <lanes>", el)
        offset = geo.CubicSeq([self.cubic(o, "s") for o in lanes.iterfind("laneOffset")])
        sec_els = list(lanes.iterfind("laneSection"))
        if not sec_els:
            self.fail("has no <laneSection>", lanes)
        starts = [self.num(s, "s", 0.0) for s in sec_els]
        order = sorted(range(len(sec_els)), key=lambda i: starts[i])
        sections = []
        for k, i in enumerate(order):
            s1 = starts[order[k + 1]] if k + 1 < len(order) else length
            sections.append(self.section(sec_els[i], k, starts[i], max(s1, starts[i])))
        road = Road(rid, el.get("name", ""), length, junction, geo.ReferenceLine(geoms), elevation,
                    offset, sections, pred, succ, types, rule=el.get("rule", "RHT"))
        for s in el.iterfind("signals/signal"):
            road.signals.append(self.signal(s, rid))
        for s in el.iterfind("signals/signalReference"):
            road.signal_references.append(SignalReference(
                s.get("id", ""), rid, self.num(s, "s"), self.num(s, "t", 0.0), s.get("orientation", "+"),
                self.validities(s)))
        for o in el.iterfind("objects/object"):
            road.objects.append(self.road_object(o, rid))
        return road

    def road_link(self, el) -> RoadLink | None:
        if el is None:
            return None
        etype = el.get("elementType", "road")
        if etype not in ("road", "junction"):
            self.fail(f"<{el.tag}> elementType={etype!r} is neither 'road' nor 'junction'", el)
        cp = el.get("contactPoint")
        if cp is not None and cp not in ("start", "end"):
            self.fail(f"<{el.tag}> contactPoint={cp!r} is neither 'start' nor 'end'", el)
        return RoadLink(etype, self.int_(el, "elementId"), cp)

    def speed(self, el) -> float:
        unit = el.get("unit", "m/s").strip().lower()  # OpenDRIVE's default unit is m/s
        if unit not in _SPEED_UNITS:
            self.fail(f"<speed> unit={unit!r} is not one of {sorted(_SPEED_UNITS)}", el)
        raw = (el.get("max") or "").strip().lower()
        if raw in ("no limit", "undefined"):
            return math.inf
        return self.num(el, "max") * _SPEED_UNITS[unit]

    def geometry(self, el) -> geo.Geometry:
        s0, x, y = self.num(el, "s"), self.num(el, "x"), self.num(el, "y")
        hdg, length = self.num(el, "hdg"), self.num(el, "length")
        if length < 0:
            self.fail(f"geometry at s={s0} has negative length {length}", el)
        kinds = [c for c in el if isinstance(c.tag, str) and c.tag != "userData"]
        if len(kinds) != 1:
            self.fail(f"geometry at s={s0} must hold exactly one of line/arc/spiral/poly3/paramPoly3, "
                      f"found {[c.tag for c in kinds] or 'none'}", el)
        k = kinds[0]
        if k.tag == "line":
            return geo.Line(s0, x, y, hdg, length)
        if k.tag == "arc":
            return geo.Arc(s0, x, y, hdg, length, self.num(k, "curvature"))
        if k.tag == "spiral":
            return geo.Spiral(s0, x, y, hdg, length, self.num(k, "curvStart"), self.num(k, "curvEnd"))
        if k.tag == "poly3":
            return geo.Poly3(s0, x, y, hdg, length, *(self.num(k, c, 0.0) for c in "abcd"))
        if k.tag == "paramPoly3":
            p_range = k.get("pRange", "normalized")
            if p_range not in ("normalized", "arcLength"):
                self.fail(f"paramPoly3 at s={s0} has pRange={p_range!r} (expected 'normalized' or 'arcLength')", k)
            return geo.ParamPoly3(s0, x, y, hdg, length,
                                  tuple(self.num(k, c + "U", 0.0) for c in "abcd"),
                                  tuple(self.num(k, c + "V", 0.0) for c in "abcd"), p_range)
        self.fail(f"geometry at s={s0} has unknown type <{k.tag}>", k)

    def section(self, el, index: int, s0: float, s1: float) -> LaneSection:
        lanes: dict[int, Lane] = {}
        for side, sign in (("left", 1), ("center", 0), ("right", -1)):
            for lel in el.iterfind(f"{side}/lane"):
                lane = self.lane(lel, s0)
                if sign and lane.id * sign <= 0 or not sign and lane.id != 0:
                    self.fail(f"lane section at s={s0}: lane {lane.id} is in <{side}>", lel)
                if lane.id in lanes:
                    self.fail(f"lane section at s={s0}: lane id {lane.id} is used twice", lel)
                lanes[lane.id] = lane
        for sign in (1, -1):
            ids = sorted((i for i in lanes if i * sign > 0), key=abs)
            if ids and ids != list(range(sign, sign * (len(ids) + 1), sign)):
                self.fail(f"lane section at s={s0}: lane ids {ids} are not consecutive from the centre", el)
        for lane in lanes.values():
            if lane.id != 0 and not lane.widths and not lane.borders:
                self.fail(f"lane section at s={s0}: lane {lane.id} has neither <width> nor <border>", el)
        return LaneSection(index, s0, s1, lanes)

    def lane(self, el, s0: float) -> Lane:
        lid = self.int_(el, "id")
        type_name = el.get("type", "none")
        lane = Lane(lid, lane_type_from_name(type_name), type_name,
                    el.get("level", "false").strip().lower() in ("true", "1"))
        link = el.find("link")
        if link is not None:
            for tag in ("predecessor", "successor"):
                t = link.find(tag)
                if t is not None:
                    v = self.int_(t, "id")
                    setattr(lane, tag, v if v != 0 or lid == 0 else None)  # id 0: no link
        widths = [self.cubic(w, "sOffset") for w in el.iterfind("width")]
        for w in widths:
            if w.s0 < -1e-9:
                self.fail(f"lane {lid} at section s={s0}: width sOffset {w.s0} is negative", el)
        lane.widths = geo.CubicSeq(widths)
        if not widths:
            lane.borders = geo.CubicSeq([self.cubic(b, "sOffset") for b in el.iterfind("border")])
        for m in el.iterfind("roadMark"):
            lane.road_marks.append(RoadMark(
                self.num(m, "sOffset", 0.0), m.get("type", "none"), m.get("color", "standard"),
                m.get("laneChange", "both"), self.num(m, "width", 0.0), m.get("weight", "standard"),
                m.get("material", "standard"), self.num(m, "height", 0.0)))
        lane.road_marks.sort(key=lambda r: r.s_offset)
        sp = el.find("speed")
        if sp is not None:
            lane.speed_kmh = self.speed(sp)
        return lane

    def validities(self, el) -> list[Validity]:
        return [Validity(self.int_(v, "fromLane"), self.int_(v, "toLane")) for v in el.iterfind("validity")]

    def signal(self, el, rid: int) -> Signal:
        value = el.get("value")
        try:
            val = float(value) if value is not None else None
        except ValueError:
            val = None
        return Signal(
            el.get("id", ""), rid, self.num(el, "s"), self.num(el, "t", 0.0), el.get("name", ""),
            el.get("type", ""), el.get("subtype", ""), el.get("country", ""),
            el.get("dynamic", "no").strip().lower() in ("yes", "true"), el.get("orientation", "+"),
            self.num(el, "zOffset", 0.0), self.num(el, "hOffset", 0.0), self.num(el, "pitch", 0.0),
            self.num(el, "roll", 0.0), self.num(el, "height", 0.0), self.num(el, "width", 0.0), val,
            self.validities(el))

    def road_object(self, el, rid: int) -> RoadObject:
        obj = RoadObject(
            el.get("id", ""), rid, self.num(el, "s"), self.num(el, "t", 0.0), el.get("name", ""),
            el.get("type", ""), el.get("subtype", ""), self.num(el, "zOffset", 0.0),
            self.num(el, "hdg", 0.0), el.get("orientation", "none"), self.num(el, "length", 0.0),
            self.num(el, "width", 0.0), self.num(el, "radius", 0.0), self.num(el, "height", 0.0))
        outline = el.find("outline")
        if outline is None:
            outline = el.find("outlines/outline")
        if outline is not None:
            local = [(self.num(c, "u"), self.num(c, "v"), self.num(c, "z", 0.0)) for c in outline.iterfind("cornerLocal")]
            road = [(self.num(c, "s"), self.num(c, "t"), self.num(c, "dz", 0.0)) for c in outline.iterfind("cornerRoad")]
            if local:
                obj.outline_kind, obj.outline = "local", local
            elif road:
                obj.outline_kind, obj.outline = "road", road
        return obj

    # --------------------------------------------------------------- junctions
    def junction(self, el) -> Junction:
        self.road_id = None
        jid = self.int_(el, "id")
        j = Junction(jid, el.get("name", ""))
        for c in el.iterfind("connection"):
            cp = c.get("contactPoint", "start")
            if cp not in ("start", "end"):
                self.fail(f"junction {jid} connection {c.get('id')}: contactPoint={cp!r}", c)
            j.connections.append(Connection(
                c.get("id", ""), self.int_(c, "incomingRoad"), self.int_(c, "connectingRoad"), cp,
                [LaneLink(self.int_(ll, "from"), self.int_(ll, "to")) for ll in c.iterfind("laneLink")]))
        j.controllers = [c.get("id", "") for c in el.iterfind("controller")]
        return j

    def _check_links(self, roads: dict[int, Road], junctions: dict[int, Junction]) -> None:
        """Drop links to roads/junctions the file lacks, with one warning for all of them."""
        dangling: list[str] = []
        for road in roads.values():
            for tag, link in (("predecessor", road.predecessor), ("successor", road.successor)):
                if link is None:
                    continue
                known = roads if link.element_type == "road" else junctions
                if link.element_id not in known:
                    dangling.append(f"road {road.id} {tag} {link.element_type} {link.element_id}")
                    setattr(road, tag, None)
            if road.junction != -1 and road.junction not in junctions:
                dangling.append(f"road {road.id} junction attribute {road.junction}")
        for j in junctions.values():
            keep = []
            for c in j.connections:
                missing = [r for r in (c.incoming_road, c.connecting_road) if r not in roads]
                if missing:
                    dangling.append(f"junction {j.id} connection {c.id} road {missing[0]}")
                else:
                    keep.append(c)
            j.connections = keep
        if dangling:
            shown = "; ".join(dangling[:3]) + ("; ..." if len(dangling) > 3 else "")
            self.warn(f"{len(dangling)} links name roads or junctions the file lacks and are "
                      f"ignored ({shown})")


def _geo_reference(text: str) -> GeoReference:
    """+lat_0/+lon_0 as the leaderboard reads them from the PROJ string."""
    ref = GeoReference(proj=text.strip())
    for item in text.split():
        m = re.match(r"\+(lat_0|lon_0)=(.*)", item)
        if m:
            try:
                setattr(ref, m.group(1), float(m.group(2)))
            except ValueError:
                pass
    return ref
