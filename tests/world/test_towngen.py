"""Town generator: the .xodr is checked with this file's own OpenDRIVE reading and
geometry evaluation (numerical integration of the heading, not the generator's Fresnel
code): links, contact points, lane counts, 1 cm joins, marks, signals; the routes are
checked against the lanes; the shipped towns are checked and must be reproducible."""
from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from scipy.integrate import quad

from lead.world.routes import read_routes, routes_to_xml
from lead.world.towngen import generate_town, register_generate

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [("grid", 1, "LeadGrid001"), ("irregular", 7, "LeadIrregular007")]
JOIN_TOL = 0.01  # m


# ---------------------------------------------------------------- independent xodr reading

def _pose_local(g: etree._Element, ds: float) -> tuple[float, float, float]:
    """(u, v, heading change) at ds along one <geometry>, by its definition."""
    kind = next(c for c in g if isinstance(c.tag, str))
    length = float(g.get("length"))
    if kind.tag == "line":
        return ds, 0.0, 0.0
    if kind.tag == "paramPoly3":
        c = {k: float(kind.get(k)) for k in ("aU", "bU", "cU", "dU", "aV", "bV", "cV", "dV")}
        p = ds / length if kind.get("pRange", "normalized") == "normalized" else ds
        u = c["aU"] + c["bU"] * p + c["cU"] * p ** 2 + c["dU"] * p ** 3
        v = c["aV"] + c["bV"] * p + c["cV"] * p ** 2 + c["dV"] * p ** 3
        return u, v, math.atan2(c["bV"] + 2 * c["cV"] * p + 3 * c["dV"] * p * p,
                                c["bU"] + 2 * c["cU"] * p + 3 * c["dU"] * p * p)
    if kind.tag == "arc":
        k0 = k1 = float(kind.get("curvature"))
    elif kind.tag == "spiral":
        k0, k1 = float(kind.get("curvStart")), float(kind.get("curvEnd"))
    else:
        raise AssertionError(f"unexpected geometry <{kind.tag}>")

    def theta(t: float) -> float:
        return k0 * t + 0.5 * (k1 - k0) / length * t * t

    u = quad(lambda t: math.cos(theta(t)), 0.0, ds, epsabs=1e-12, epsrel=1e-12)[0]
    v = quad(lambda t: math.sin(theta(t)), 0.0, ds, epsabs=1e-12, epsrel=1e-12)[0]
    return u, v, theta(ds)


class XRoad:
    def __init__(self, e: etree._Element):
        self.e = e
        self.id = int(e.get("id"))
        self.junction = int(e.get("junction"))
        self.length = float(e.get("length"))
        self.geoms = e.find("planView").findall("geometry")
        sec = e.find("lanes").findall("laneSection")
        assert len(sec) == 1
        self.lanes = {int(ln.get("id")): ln for ln in sec[0].iter("lane")}
        link = e.find("link")
        self.pred = link.find("predecessor")
        self.succ = link.find("successor")

    def pose(self, s: float) -> tuple[float, float, float]:
        g = [g for g in self.geoms if float(g.get("s")) <= s + 1e-9][-1]
        u, v, dh = _pose_local(g, s - float(g.get("s")))
        h = float(g.get("hdg"))
        return (float(g.get("x")) + u * math.cos(h) - v * math.sin(h),
                float(g.get("y")) + u * math.sin(h) + v * math.cos(h), h + dh)

    def width(self, lane: int, s: float) -> float:
        w = self.lanes[lane].find("width")
        ds = s - float(w.get("sOffset"))
        return sum(float(w.get(k)) * ds ** i for i, k in enumerate("abcd"))

    def lane_xy(self, lane: int, s: float) -> tuple[float, float]:
        sign = 1 if lane > 0 else -1
        t = sum(self.width(sign * k, s) for k in range(1, abs(lane))) + self.width(lane, s) / 2
        x, y, h = self.pose(s)
        return x - sign * t * math.sin(h), y + sign * t * math.cos(h)

    def driving(self, sign: int) -> list[int]:
        return [i for i, ln in self.lanes.items() if i * sign > 0 and ln.get("type") == "driving"]


def read_xodr(text: str) -> tuple[etree._Element, dict[int, XRoad], dict[int, etree._Element]]:
    root = etree.fromstring(text.encode("utf-8"))
    roads = {r.id: r for r in (XRoad(e) for e in root.findall("road"))}
    junctions = {int(j.get("id")): j for j in root.findall("junction")}
    assert len(roads) == len(root.findall("road")), "repeated road id"
    return root, roads, junctions


def _end_s(road: XRoad, contact: str) -> float:
    return 0.0 if contact == "start" else road.length


# ---------------------------------------------------------------- the checks

def check_geometry(roads: dict[int, XRoad]) -> float:
    """Records chain without gaps and sum to the road length; returns the worst gap."""
    worst = 0.0
    for r in roads.values():
        s = 0.0
        for a, b in zip(r.geoms, r.geoms[1:]):
            la = float(a.get("length"))
            assert float(b.get("s")) == pytest.approx(float(a.get("s")) + la, abs=1e-6)
            u, v, dh = _pose_local(a, la)
            h = float(a.get("hdg"))
            end = (float(a.get("x")) + u * math.cos(h) - v * math.sin(h),
                   float(a.get("y")) + u * math.sin(h) + v * math.cos(h))
            gap = math.dist(end, (float(b.get("x")), float(b.get("y"))))
            dhdg = abs(math.remainder(h + dh - float(b.get("hdg")), 2 * math.pi))
            assert gap < 1e-4 and dhdg < 1e-6, f"road {r.id}: geometry records do not join ({gap} m)"
            worst = max(worst, gap)
            s += la
        assert s + float(r.geoms[-1].get("length")) == pytest.approx(r.length, abs=1e-6)
    return worst


def check_links(roads: dict[int, XRoad], junctions: dict[int, etree._Element]) -> float:
    """Every link target exists, contact points and lane links agree, connecting lanes
    meet their incoming and outgoing lanes; returns the worst lane-centre gap."""
    worst = 0.0
    for r in roads.values():
        for link, at in ((r.pred, "start"), (r.succ, "end")):
            assert link is not None, f"road {r.id} has no {at} link (dead end)"
            if r.junction == -1:
                assert link.get("elementType") == "junction" and int(link.get("elementId")) in junctions, \
                    f"road {r.id}: {at} link to a missing junction"
                continue
            other = roads[int(link.get("elementId"))]
            assert link.get("elementType") == "road" and other.junction == -1
            contact = link.get("contactPoint")
            back = other.pred if contact == "start" else other.succ
            assert back.get("elementType") == "junction" and int(back.get("elementId")) == r.junction
            for lane_id, ln in r.lanes.items():
                if lane_id == 0:
                    continue
                lk = ln.find("link").find("predecessor" if at == "start" else "successor")
                other_lane = int(lk.get("id"))
                assert other.lanes[other_lane].get("type") == ln.get("type")
                gap = math.dist(r.lane_xy(lane_id, _end_s(r, at)), other.lane_xy(other_lane, _end_s(other, contact)))
                assert gap < JOIN_TOL, f"road {r.id} lane {lane_id} misses road {other.id} lane {other_lane}: {gap} m"
                # the joined lanes point the same way (travel continues)
                h_r = r.pose(_end_s(r, at))[2]
                h_o = other.pose(_end_s(other, contact))[2]
                same = (at == "start") != (contact == "start")
                assert abs(math.remainder(h_r - h_o - (0 if same else math.pi), 2 * math.pi)) < 1e-6
                worst = max(worst, gap)
    for jid, j in junctions.items():
        listed = sorted(int(c.get("connectingRoad")) for c in j.findall("connection"))
        assert listed == sorted(r.id for r in roads.values() if r.junction == jid), f"junction {jid} connections"
        for c in j.findall("connection"):
            inc, con = roads[int(c.get("incomingRoad"))], roads[int(c.get("connectingRoad"))]
            assert con.junction == jid and inc.junction == -1
            assert c.get("contactPoint") == "start" and int(con.pred.get("elementId")) == inc.id
            for ll in c.findall("laneLink"):
                frm, to = int(ll.get("from")), int(ll.get("to"))
                assert frm in inc.lanes and to in con.lanes
                assert int(con.lanes[to].find("link").find("predecessor").get("id")) == frm
    return worst


def _connections(roads: dict[int, XRoad]) -> list[tuple[int, int, int, str, int, int]]:
    """(connecting road, in road, in lane, kind, out road, out lane) of every connecting driving lane; the
    kind comes from the heading change along the connecting road."""
    out = []
    for c in roads.values():
        if c.junction == -1:
            continue
        turn = math.degrees(math.remainder(c.pose(c.length)[2] - c.pose(0.0)[2], 2 * math.pi))
        kind = "straight" if abs(turn) <= 35 else ("left" if turn > 0 else "right")
        link = c.lanes[-1].find("link")
        out.append((c.id, int(c.pred.get("elementId")), int(link.find("predecessor").get("id")), kind,
                    int(c.succ.get("elementId")), int(link.find("successor").get("id"))))
    return out


def check_lane_coverage(roads: dict[int, XRoad]) -> None:
    """Every driving lane that enters a junction has a connection; every lane that leaves
    one is reached (all of them when a straight movement arrives, else at least the
    left turn's inner lane and the right turn's outer lane)."""
    conns = _connections(roads)
    entering = {(a, la) for _, a, la, _, _, _ in conns}
    reached: dict[tuple[int, int], set[int]] = {}
    straight: set[tuple[int, int]] = set()
    for _, _, _, kind, b, lb in conns:
        key = (b, 1 if lb > 0 else -1)
        reached.setdefault(key, set()).add(lb)
        if kind == "straight":
            straight.add(key)
    for r in roads.values():
        if r.junction != -1:
            continue
        for sign in (-1, 1):
            lanes = r.driving(sign)
            for lane in lanes:
                assert (r.id, lane) in entering, f"road {r.id} lane {lane} enters its junction without a connection"
            got = reached.get((r.id, sign), set())
            need = set(lanes) if (r.id, sign) in straight else {sign, sign * len(lanes)}
            assert need <= got, f"road {r.id}: lanes {sorted(need - got)} are never reached"


def check_marks_and_lanes(roads: dict[int, XRoad]) -> set[int]:
    """Two-way roads: yellow solid / double solid centre, broken between same-direction
    lanes, solid edges, sidewalks outside; returns the lane counts seen."""
    counts = set()
    for r in roads.values():
        if r.junction != -1:
            continue
        centre = r.lanes[0].find("roadMark")
        n = len(r.driving(-1))
        assert n == len(r.driving(1)) and 1 <= n <= 3
        counts.add(n)
        assert centre.get("color") == "yellow" and centre.get("type") in ("solid", "solid solid")
        for sign in (1, -1):
            for k in range(1, n + 1):
                mark = r.lanes[sign * k].find("roadMark")
                assert mark.get("type") == ("broken" if k < n else "solid"), f"road {r.id} lane {sign * k} mark"
                assert mark.get("laneChange") == ("both" if k < n else "none")
            assert r.lanes[sign * (n + 1)].get("type") == "sidewalk"
        speed = r.e.find("type").find("speed")
        assert float(speed.get("max")) > 0 and speed.get("unit") in ("km/h", "mph", "m/s")
    return counts


def check_signals(root: etree._Element, roads: dict[int, XRoad], junctions: dict[int, etree._Element]) -> dict:
    """Traffic lights (1000001, dynamic) and stop signs (206) sit on roads entering a
    junction, name the lanes they control, and are referenced by that approach's
    connecting roads; lights belong to the junction's controllers."""
    controllers = {c.get("id"): [x.get("signalId") for x in c.findall("control")] for c in root.findall("controller")}
    kinds: dict[str, set[int]] = {"1000001": set(), "206": set()}
    for r in roads.values():
        for sig in r.e.iter("signal"):
            assert sig.get("country") == "OpenDRIVE"
            kind = sig.get("type")
            assert kind in kinds and sig.get("dynamic") == ("yes" if kind == "1000001" else "no")
            s = float(sig.get("s"))
            assert 0 <= s <= r.length
            at_end = sig.get("orientation") == "+"
            jid = int((r.succ if at_end else r.pred).get("elementId"))
            v = sig.find("validity")
            lanes = set(range(int(v.get("fromLane")), int(v.get("toLane")) + 1))
            assert lanes == set(r.driving(-1 if at_end else 1)), f"signal {sig.get('id')} validity"
            refs = [ref for c in junctions[jid].findall("connection") if int(c.get("incomingRoad")) == r.id
                    for ref in roads[int(c.get("connectingRoad"))].e.iter("signalReference")]
            assert refs and all(ref.get("id") == sig.get("id") for ref in refs)
            kinds[kind].add(len({c.get("incomingRoad") for c in junctions[jid].findall("connection")}))
            if kind == "1000001":
                ctrl = [cid for cid, sids in controllers.items() if sig.get("id") in sids]
                assert len(ctrl) == 1
                assert ctrl[0] in [c.get("id") for c in junctions[jid].findall("controller")]
    return kinds


def check_town(text: str) -> dict:
    root, roads, junctions = read_xodr(text)
    header = root.find("header")
    assert (header.get("revMajor"), header.get("revMinor")) == ("1", "4")
    geo = header.find("geoReference").text
    assert re.search(r"\+lat_0=[-\d.]+", geo) and re.search(r"\+lon_0=[-\d.]+", geo)
    geo_gap = check_geometry(roads)
    lane_gap = check_links(roads, junctions)
    check_lane_coverage(roads)
    counts = check_marks_and_lanes(roads)
    signals = check_signals(root, roads, junctions)
    kinds = {next(c for c in g if isinstance(c.tag, str)).tag for r in roads.values() for g in r.geoms}
    arms = {}
    conns = _connections(roads)
    for jid, j in junctions.items():
        mine = {int(c.get("connectingRoad")) for c in j.findall("connection")}
        moves = [m for m in conns if m[0] in mine]
        incoming = {m[1] for m in moves}
        arms[jid] = len(incoming)
        for a in incoming:  # every arm can leave to every other arm (no U-turns)
            assert {m[4] for m in moves if m[1] == a} == incoming - {a}, f"junction {jid}: missing movements"
        assert {"left", "right"} <= {m[3] for m in moves}
    return {"roads": roads, "geo_gap": geo_gap, "lane_gap": lane_gap, "lane_counts": counts,
            "signals": signals, "geometry_kinds": kinds, "arms": arms, "bytes": len(text.encode())}


def lane_samples(roads: dict[int, XRoad]) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(road, lane, s values, centre points) every 0.5 m of every driving lane outside junctions."""
    out = []
    for r in roads.values():
        if r.junction == -1:
            ss = np.linspace(0.0, r.length, int(r.length / 0.5) + 2)
            for lane in r.driving(-1) + r.driving(1):
                out.append((r.id, lane, ss, np.array([r.lane_xy(lane, s) for s in ss])))
    return out


def nearest_lane(roads: dict[int, XRoad], samples, x: float, y: float) -> tuple[float, int, int]:
    """(distance, road, lane) of the driving-lane centre nearest to an OpenDRIVE point,
    refined between samples."""
    best = (math.inf, -1, 0, 0.0, 0.0)
    for rid, lane, ss, pts in samples:
        d = np.hypot(pts[:, 0] - x, pts[:, 1] - y)
        i = int(np.argmin(d))
        if d[i] < best[0]:
            best = (float(d[i]), rid, lane, ss[max(i - 1, 0)], ss[min(i + 1, len(ss) - 1)])
    _, rid, lane, lo, hi = best
    d = min(math.dist(roads[rid].lane_xy(lane, s), (x, y)) for s in np.linspace(lo, hi, 201))
    return d, rid, lane


# ---------------------------------------------------------------- tests

@pytest.fixture(scope="module", params=SHIPPED, ids=[s[2] for s in SHIPPED])
def town(request):
    kind, seed, name = request.param
    text, routes = generate_town(seed, kind, name)
    info = check_town(text)
    info["samples"] = lane_samples(info["roads"])
    return kind, name, text, routes, info


def test_town_is_valid_opendrive(town):
    kind, name, text, routes, info = town
    assert info["lane_gap"] < JOIN_TOL
    assert info["bytes"] < 1_000_000
    assert info["lane_counts"] == {1, 2, 3} if kind == "grid" else len(info["lane_counts"]) >= 2
    assert {"line", "arc", "spiral"} <= info["geometry_kinds"]
    assert sorted(set(info["arms"].values())) == [3, 4]
    # traffic lights at 3- and 4-way junctions (grid), stop signs somewhere
    assert info["signals"]["1000001"] and info["signals"]["206"]
    if kind == "grid":
        assert info["signals"]["1000001"] == {3, 4}
    else:
        assert "paramPoly3" in info["geometry_kinds"]


def test_routes_follow_lanes(town):
    kind, name, text, routes, info = town
    assert len(routes) >= 10
    roads = info["roads"]
    for r in routes:
        assert r.town == name and len(r.keypoints) >= 4 and r.weathers and r.weathers[0].route_percentage == 0.0
        lane_of = []
        for x, y, z in r.keypoints:
            d, road, lane = nearest_lane(roads, info["samples"], x, -y)  # route XML is CARLA's frame
            assert d < 0.01, f"route {r.id}: keypoint ({x}, {y}) is {d:.3f} m off any driving lane"
            lane_of.append((road, lane))
        # consecutive keypoints on different roads are joined by a connecting road
        for (ra, la), (rb, lb) in zip(lane_of, lane_of[1:]):
            if ra != rb:
                assert any(c.pred.get("elementId") == str(ra) and c.succ.get("elementId") == str(rb)
                           and int(c.lanes[-1].find("link").find("predecessor").get("id")) == la
                           and int(c.lanes[-1].find("link").find("successor").get("id")) == lb
                           for c in roads.values() if c.junction != -1), f"route {r.id}: {ra}/{la} -> {rb}/{lb}"
            else:
                assert la == lb
        # length along the keypoints is a lower bound of the driven length
        chord = sum(math.dist(a, b) for a, b in zip(r.keypoints, r.keypoints[1:]))
        assert 0.6 * 300 <= chord <= 1500
        sc = r.scenarios[0]
        assert sc.type.endswith(("LeftTurn", "RightTurn"))
        assert (sc.trigger_point.x, sc.trigger_point.y) in {k[:2] for k in r.keypoints}


def test_lead_map_and_planner_accept_the_town(town):
    """lead's own parser and route planner (lead.world.map / planner) on the generated town:
    lane centres join within 5 cm, widths are positive, get_waypoint round-trips, and every
    route interpolates to 300-1500 m with its turns and without lane changes."""
    from lead.world.checks import lane_gaps, lane_widths, roundtrip
    from lead.world.map import Map
    from lead.world.planner import GlobalRoutePlanner, interpolate_trajectory
    from lead.world.transform import Location

    kind, name, text, routes, info = town
    m = Map.from_string(text, name)
    assert max((g.distance for g in lane_gaps(m)), default=0.0) < 0.05
    assert lane_widths(m)[0] > 0.0
    assert roundtrip(m)[0] >= 0.995
    grp = GlobalRoutePlanner(m, 1.0)
    for r in routes:
        keypoints = [Location(*k) for k in r.keypoints]
        gps, dense = interpolate_trajectory(m, keypoints, 1.0, planner=grp)
        pts = np.array([(tf.location.x, tf.location.y) for tf, _ in dense])
        length = float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))
        assert 300.0 <= length <= 1500.0, f"route {r.id}: {length:.0f} m"
        options = {opt.name for _, opt in dense}
        assert options & {"LEFT", "RIGHT"} and not options & {"CHANGELANELEFT", "CHANGELANERIGHT"}, options
        for k in keypoints:  # the dense route passes every keypoint (a trace stops within 2 hops of its end)
            assert np.min(np.hypot(pts[:, 0] - k.x, pts[:, 1] - k.y)) < 2.05
        assert len(gps) == len(dense)


def _mutate(text: str, change) -> str:
    root = etree.fromstring(text.encode("utf-8"))
    change(root)
    return etree.tostring(root, encoding="unicode")


@pytest.mark.parametrize("change, message", [
    (lambda root: root.xpath("//road[@junction!='-1']/planView/geometry")[0].set(
        "x", str(float(root.xpath("//road[@junction!='-1']/planView/geometry")[0].get("x")) + 0.02)), "misses"),
    (lambda root: root.find("junction").remove(root.find("junction").find("connection")), "connections"),
    (lambda root: root.xpath("//road[@junction='-1']")[0].find("link/successor").set("elementId", "99999"),
     "missing junction"),
    (lambda root: root.xpath("//road[@junction='-1']")[0].find("lanes/laneSection/right/lane/roadMark").set(
        "type", "none"), "mark"),
])
def test_checker_catches_broken_towns(change, message):
    text, _ = generate_town(1, "grid")
    check_town(text)
    with pytest.raises(AssertionError, match=message):
        check_town(_mutate(text, change))


def test_deterministic_and_seeded():
    a = generate_town(5, "irregular")
    b = generate_town(5, "irregular")
    assert a[0] == b[0] and routes_to_xml(a[1]) == routes_to_xml(b[1])
    c = generate_town(6, "irregular")
    assert c[0] != a[0]


def test_other_seeds_are_valid():
    for seed, kind in ((11, "grid"), (12, "irregular")):
        text, routes = generate_town(seed, kind)
        info = check_town(text)
        assert info["lane_gap"] < JOIN_TOL and len(routes) == 12


def test_generate_command(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register_generate(parser.add_subparsers())
    args = parser.parse_args(["generate", "--seed", "3", "--kind", "grid", "--out", str(tmp_path), "--json"])
    assert args.func(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    xodr = Path(summary["xodr"])
    assert xodr == tmp_path / "LeadGrid003.xodr" and summary["n_routes"] == 12
    routes = read_routes(summary["routes_file"])
    assert {r.town for r in routes} == {xodr.stem}
    assert xodr.read_text() == generate_town(3, "grid")[0]
    # asking for more routes than the town holds is a clear error, not a traceback
    args = parser.parse_args(["generate", "--seed", "3", "--out", str(tmp_path / "x"), "--routes", "400"])
    assert args.func(args) == 1
    assert "400 routes asked for" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown town kind 'ring'"):
        generate_town(1, "ring")


@pytest.mark.parametrize("kind, seed, name", SHIPPED)
def test_shipped_towns_are_reproducible(kind, seed, name):
    xodr, routes_file = REPO / "routes" / f"{name}.xodr", REPO / "routes" / f"{name}_routes.xml"
    assert xodr.stat().st_size < 1_000_000
    text, routes = generate_town(seed, kind, name)
    assert xodr.read_text(encoding="utf-8") == text
    assert read_routes(routes_file) == routes
