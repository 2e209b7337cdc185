"""Write a generated town as OpenDRIVE 1.4 text, laid out like CARLA's own towns
(header with geoReference, roads, controllers, junctions; traffic lights as signal type
1000001 dynamic="yes", stop signs as type 206; signalReferences on connecting roads)."""
from __future__ import annotations

from lxml import etree

from lead.world.towngen.network import STOP_SIGN, TRAFFIC_LIGHT, Road, Town

GEO_LAT, GEO_LON = 48.52, 9.06  # Tübingen: any fixed reference works for GNSS
_SIGNAL_LOOK = {  # name, dynamic, zOffset, height, width (sizes as in CARLA's towns)
    TRAFFIC_LIGHT: ("Signal_3Light_Post01", "yes", "0", "1.16", "0.52"),
    STOP_SIGN: ("Sign_Stop", "no", "2", "1", "0.97"),
}


def _f(v: float) -> str:
    s = f"{v:.12g}"
    return "0" if s == "-0" else s


def _sub(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    return etree.SubElement(parent, tag, {k.rstrip("_"): (v if isinstance(v, str) else _f(float(v)))
                                          for k, v in attrs.items()})


def _zero_poly(parent: etree._Element, tag: str) -> None:
    _sub(parent, tag, s=0.0, a=0.0, b=0.0, c=0.0, d=0.0)


def _road(root: etree._Element, r: Road) -> None:
    e = _sub(root, "road", name=f"Road {r.id}", length=r.length, id=str(r.id), junction=str(r.junction))
    link = _sub(e, "link")
    for tag, ln in (("predecessor", r.pred), ("successor", r.succ)):
        if ln is not None:
            attrs = {"elementType": ln.element_type, "elementId": str(ln.element_id)}
            if ln.contact:
                attrs["contactPoint"] = ln.contact
            _sub(link, tag, **attrs)
    typ = _sub(e, "type", s=0.0, type="town")
    _sub(typ, "speed", max=str(r.speed_kmh), unit="km/h")
    pv = _sub(e, "planView")
    s = 0.0
    for g in r.geoms:
        ge = _sub(pv, "geometry", s=s, x=g.x, y=g.y, hdg=g.hdg, length=g.length)
        if g.kind == "line":
            _sub(ge, "line")
        elif g.kind == "arc":
            _sub(ge, "arc", curvature=g.k0)
        elif g.kind == "spiral":
            _sub(ge, "spiral", curvStart=g.k0, curvEnd=g.k1)
        else:
            names = ("aU", "bU", "cU", "dU", "aV", "bV", "cV", "dV")
            _sub(ge, "paramPoly3", **dict(zip(names, g.uv)), pRange="normalized")
        s += g.length
    _zero_poly(_sub(e, "elevationProfile"), "elevation")
    _zero_poly(_sub(e, "lateralProfile"), "superelevation")
    lanes = _sub(e, "lanes")
    _zero_poly(lanes, "laneOffset")
    sec = _sub(lanes, "laneSection", s=0.0)
    left = sorted((ln for ln in r.lanes if ln.id > 0), key=lambda ln: -ln.id)
    right = sorted((ln for ln in r.lanes if ln.id < 0), key=lambda ln: -ln.id)
    if left:
        side = _sub(sec, "left")
        for ln in left:
            _lane(side, ln)
    center = _sub(_sub(sec, "center"), "lane", id="0", type="none", level="false")
    if r.center_mark == "none":
        _sub(center, "roadMark", sOffset=0.0, type="none", material="standard", color="white", laneChange="none")
    else:
        _sub(center, "roadMark", sOffset=0.0, type=r.center_mark, weight="standard", color="yellow",
             material="standard", width=0.125, laneChange="none")
    if right:
        side = _sub(sec, "right")
        for ln in right:
            _lane(side, ln)
    sigs = _sub(e, "signals") if (r.signals or r.signal_refs) else None
    for sg in r.signals:
        name, dynamic, z, height, width = _SIGNAL_LOOK[sg.kind]
        se = _sub(sigs, "signal", name=name, id=str(sg.id), s=sg.s, t=sg.t, zOffset=z, hOffset=0.0, roll=0.0,
                  pitch=0.0, orientation=sg.orientation, dynamic=dynamic, country="OpenDRIVE", type=sg.kind,
                  subtype="-1", value=-1.0, text="", height=height, width=width)
        _sub(se, "validity", fromLane=str(sg.from_lane), toLane=str(sg.to_lane))
    for ref in r.signal_refs:
        re_ = _sub(sigs, "signalReference", id=str(ref.id), s=0.0, t=0.0, orientation="+")
        _sub(re_, "validity", fromLane=str(ref.from_lane), toLane=str(ref.to_lane))


def _lane(side: etree._Element, ln) -> None:
    e = _sub(side, "lane", id=str(ln.id), type=ln.type, level="false")
    if ln.pred is not None or ln.succ is not None:
        link = _sub(e, "link")
        if ln.pred is not None:
            _sub(link, "predecessor", id=str(ln.pred))
        if ln.succ is not None:
            _sub(link, "successor", id=str(ln.succ))
    _sub(e, "width", sOffset=0.0, a=ln.width, b=ln.width_b, c=0.0, d=0.0)
    if ln.mark == "none":
        _sub(e, "roadMark", sOffset=0.0, type="none", material="standard", color=ln.mark_color, laneChange="none")
    else:
        _sub(e, "roadMark", sOffset=0.0, type=ln.mark, weight="standard", color=ln.mark_color,
             material="standard", width=0.125, laneChange=ln.lane_change)


def town_to_xodr(town: Town) -> str:
    """OpenDRIVE text of `town`."""
    root = etree.Element("OpenDRIVE")
    xs, ys = [], []
    for r in town.roads.values():
        for g in r.geoms:
            xs.append(g.x)
            ys.append(g.y)
    header = _sub(root, "header", revMajor="1", revMinor="4", name=town.name, version="1",
                  date="2026-01-01T00:00:00", north=max(ys) + 50, south=min(ys) - 50,
                  east=max(xs) + 50, west=min(xs) - 50, vendor="lead towngen")
    geo = etree.SubElement(header, "geoReference")
    geo.text = etree.CDATA(f"+proj=tmerc +lat_0={GEO_LAT} +lon_0={GEO_LON} +k=1 +x_0=0 +y_0=0 "
                           "+datum=WGS84 +units=m +no_defs")
    for r in town.roads.values():
        _road(root, r)
    for cid, seq, signal_ids in town.controllers:
        c = _sub(root, "controller", name=f"ctrl{cid}", id=str(cid), sequence=str(seq))
        for sid in signal_ids:
            _sub(c, "control", signalId=str(sid), type="0")
    for j in town.junctions:
        je = _sub(root, "junction", id=str(j.id), name=f"junction{j.id}")
        for cid, incoming, connecting, links in j.connections:
            ce = _sub(je, "connection", id=str(cid), incomingRoad=str(incoming), connectingRoad=str(connecting),
                      contactPoint="start")
            for a, b in links:
                _sub(ce, "laneLink", from_=str(a), to=str(b))
        for cid, seq in j.controllers:
            _sub(je, "controller", id=str(cid), type="0", sequence=str(seq))
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True).decode("utf-8")
