"""Leaderboard route files: read Leaderboard 2.0 and 1.0 (Longest6) route XML, write 2.0.

Leaderboard 2.0: ``<routes><route id town>`` holding ``<waypoints><position x y z/>``
(sparse keypoints), ``<scenarios><scenario name type>`` (``<trigger_point x y z yaw/>``,
``<other_actor .../>`` and parameter children such as ``<distance value="40"/>`` or
``<source_dist_interval from="25" to="50"/>``) and ``<weathers><weather route_percentage
.../>``. Leaderboard 1.0: ``<waypoint pitch roll x y yaw z/>`` and at most one ``<weather>``
directly under ``<route>``, no scenarios. Coordinates are CARLA's world frame, used as is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from lxml import etree

# carla.WeatherParameters fields and their C++ defaults (LibCarla rpc/WeatherParameters.h)
CARLA_WEATHER_DEFAULTS: dict[str, float] = {
    "cloudiness": 0.0,
    "precipitation": 0.0,
    "precipitation_deposits": 0.0,
    "wind_intensity": 0.0,
    "sun_azimuth_angle": 0.0,
    "sun_altitude_angle": 0.0,
    "fog_density": 0.0,
    "fog_distance": 0.0,
    "fog_falloff": 0.0,
    "wetness": 0.0,
    "scattering_intensity": 0.0,
    "mie_scattering_scale": 0.0,
    "rayleigh_scattering_scale": 0.0331,
    "dust_storm": 0.0,
}
WEATHER_PARAMETERS = tuple(CARLA_WEATHER_DEFAULTS)
# Leaderboard 2.0 RouteParser.parse_weather starts every entry from this base weather,
# and uses it alone when a route has no <weathers>.
LEADERBOARD_BASE_WEATHER: dict[str, float] = {
    **CARLA_WEATHER_DEFAULTS, "sun_altitude_angle": 70.0, "cloudiness": 50.0}

Point3 = tuple[float, float, float]


class RouteFileError(ValueError):
    """A route file (or route id selection) that cannot be used; the message names the
    file, the line and the route id where there is one."""


@dataclass
class WeatherConfig:
    """One weather keypoint: `values` are the carla.WeatherParameters given in the file,
    `extra` any other attribute kept as written (Longest6's ``id="MidRainDawn"``)."""
    route_percentage: float = 0.0
    values: dict[str, float] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def parameters(self) -> dict[str, float]:
        """Every weather parameter: the leaderboard's base weather overridden by the file."""
        return {**LEADERBOARD_BASE_WEATHER, **self.values}


@dataclass
class TriggerPoint:
    x: float
    y: float
    z: float
    yaw: float  # degrees, CARLA frame


@dataclass
class ScenarioConfig:
    """A Leaderboard 2.0 scenario; `parameters` maps each parameter tag to all its
    attributes as written (``{"distance": {"value": "40"}}``), as the leaderboard keeps them."""
    name: str
    type: str
    trigger_points: list[TriggerPoint] = field(default_factory=list)
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    other_actors: list[dict[str, str]] = field(default_factory=list)

    @property
    def trigger_point(self) -> TriggerPoint:
        return self.trigger_points[0]

    def value(self, tag: str, default: str | None = None) -> str | None:
        """The ``value`` attribute of parameter `tag`, or `default` when absent."""
        return self.parameters.get(tag, {}).get("value", default)

    def interval(self, tag: str) -> tuple[float, float] | None:
        """A ``from``/``to`` parameter as two floats, or None when absent."""
        p = self.parameters.get(tag)
        if p is None or "from" not in p or "to" not in p:
            return None
        return float(p["from"]), float(p["to"])


@dataclass
class RouteConfig:
    """One route: sparse keypoints (CARLA frame, metres), scenarios and weathers.
    `attrs` keeps other <route> attributes (Bench2Drive's road_id); `source` is
    "file:line" for messages and is not part of equality."""
    id: str
    town: str
    keypoints: list[Point3]
    scenarios: list[ScenarioConfig] = field(default_factory=list)
    weathers: list[WeatherConfig] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    source: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        """The leaderboard's run name."""
        return f"RouteScenario_{self.id}"


# ---------------------------------------------------------------- reading

def read_routes(path: str | Path) -> list[RouteConfig]:
    """All routes of a Leaderboard 2.0 or 1.0 route file, in file order."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RouteFileError(f"{path}: cannot read route file: {e.strerror or e}") from e
    return parse_routes(data, source=str(path))


def parse_routes(text: str | bytes, source: str = "<string>") -> list[RouteConfig]:
    """Routes from route XML text; `source` names it in error messages."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    try:
        root = etree.fromstring(text, etree.XMLParser(remove_comments=True))
    except etree.XMLSyntaxError as e:
        line = e.position[0] if e.position else "?"
        raise RouteFileError(f"{source}:{line}: not well-formed XML: {e.msg}") from e
    if root.tag != "routes":
        raise RouteFileError(f"{source}:{root.sourceline}: root element is <{root.tag}>, expected <routes>")
    routes: list[RouteConfig] = []
    seen: dict[str, int] = {}
    for elem in root.iter("route"):
        r = _parse_route(elem, source)
        if r.id in seen:
            raise RouteFileError(f"{source}:{elem.sourceline}: route {r.id}: repeated route id "
                                 f"(first at line {seen[r.id]})")
        seen[r.id] = elem.sourceline
        routes.append(r)
    return routes


class _Ctx:
    """Formats errors for one route element."""

    def __init__(self, source: str, route_id: str):
        self.source, self.route_id = source, route_id

    def error(self, elem: etree._Element, problem: str) -> RouteFileError:
        return RouteFileError(f"{self.source}:{elem.sourceline}: route {self.route_id}: {problem}")

    def float_attr(self, elem: etree._Element, key: str, default: float | None = None) -> float:
        raw = elem.get(key)
        if raw is None:
            if default is not None:
                return default
            raise self.error(elem, f"<{elem.tag}> lacks attribute '{key}'")
        try:
            v = float(raw)
        except ValueError:
            raise self.error(elem, f"<{elem.tag}> attribute {key}={raw!r} is not a number") from None
        if not math.isfinite(v):
            raise self.error(elem, f"<{elem.tag}> attribute {key}={raw!r} is not finite")
        return v


def _children(elem: etree._Element) -> list[etree._Element]:
    return [c for c in elem if isinstance(c.tag, str)]


def _parse_route(elem: etree._Element, source: str) -> RouteConfig:
    route_id = elem.get("id")
    ctx = _Ctx(source, route_id if route_id is not None else "?")
    if route_id is None or not route_id.strip():
        raise ctx.error(elem, "<route> lacks attribute 'id'")
    town = elem.get("town")
    if not town:
        raise ctx.error(elem, "<route> lacks attribute 'town'")
    attrs = {k: v for k, v in elem.attrib.items() if k not in ("id", "town")}

    waypoints = elem.find("waypoints")
    if waypoints is not None:  # Leaderboard 2.0
        points = [c for c in _children(waypoints) if c.tag == "position"]
    else:  # Leaderboard 1.0
        points = [c for c in _children(elem) if c.tag == "waypoint"]
    keypoints = [(ctx.float_attr(p, "x"), ctx.float_attr(p, "y"), ctx.float_attr(p, "z")) for p in points]
    if len(keypoints) < 2:
        where = waypoints if waypoints is not None else elem
        raise ctx.error(where, f"needs at least 2 waypoints, found {len(keypoints)}")

    scenarios: list[ScenarioConfig] = []
    scen_elem = elem.find("scenarios")
    if scen_elem is not None:
        for s in _children(scen_elem):
            if s.tag != "scenario":
                raise ctx.error(s, f"unexpected <{s.tag}> inside <scenarios>")
            scenarios.append(_parse_scenario(s, ctx))

    weathers = _parse_weathers(elem, ctx)
    return RouteConfig(route_id, town, keypoints, scenarios, weathers, attrs,
                       source=f"{source}:{elem.sourceline}")


def _parse_scenario(elem: etree._Element, ctx: _Ctx) -> ScenarioConfig:
    name, stype = elem.get("name"), elem.get("type")
    if not stype:
        raise ctx.error(elem, "<scenario> lacks attribute 'type'")
    if not name:
        raise ctx.error(elem, f"<scenario type={stype!r}> lacks attribute 'name'")
    sc = ScenarioConfig(name, stype)
    for c in _children(elem):
        if c.tag == "trigger_point":
            sc.trigger_points.append(TriggerPoint(ctx.float_attr(c, "x"), ctx.float_attr(c, "y"),
                                                  ctx.float_attr(c, "z"), ctx.float_attr(c, "yaw")))
        elif c.tag == "other_actor":
            sc.other_actors.append(dict(c.attrib))
        else:
            if c.tag in sc.parameters:
                raise ctx.error(c, f"scenario {name}: parameter <{c.tag}> given twice")
            if ("from" in c.attrib) != ("to" in c.attrib):
                raise ctx.error(c, f"scenario {name}: interval <{c.tag}> needs both 'from' and 'to'")
            for key in ("from", "to"):
                if key in c.attrib:
                    ctx.float_attr(c, key)
            sc.parameters[c.tag] = dict(c.attrib)
    if not sc.trigger_points:
        raise ctx.error(elem, f"scenario {name} has no <trigger_point>")
    return sc


def _parse_weathers(route: etree._Element, ctx: _Ctx) -> list[WeatherConfig]:
    wrapper = route.find("weathers")
    if wrapper is not None:
        elems = [c for c in _children(wrapper) if c.tag == "weather"]
        needs_percentage = True
    else:  # Leaderboard 1.0: one <weather> directly under <route>, no percentage
        elems = [c for c in _children(route) if c.tag == "weather"]
        needs_percentage = False
    out: list[WeatherConfig] = []
    seen: dict[float, int] = {}
    for w in elems:
        if needs_percentage or "route_percentage" in w.attrib:
            pct = ctx.float_attr(w, "route_percentage")
        else:
            pct = 0.0
        if not 0.0 <= pct <= 100.0:
            raise ctx.error(w, f"weather route_percentage {pct} is outside 0..100")
        if pct in seen:
            raise ctx.error(w, f"two weathers at route_percentage {pct} (other at line {seen[pct]})")
        seen[pct] = w.sourceline
        values = {k: ctx.float_attr(w, k) for k in w.attrib if k in CARLA_WEATHER_DEFAULTS}
        extra = {k: v for k, v in w.attrib.items() if k not in CARLA_WEATHER_DEFAULTS and k != "route_percentage"}
        out.append(WeatherConfig(pct, values, extra))
    return out


# ---------------------------------------------------------------- writing

def _num(v: float) -> str:
    return repr(float(v))


def routes_to_xml(routes: Iterable[RouteConfig]) -> str:
    """Leaderboard 2.0 XML text for `routes`."""
    root = etree.Element("routes")
    for r in routes:
        re_ = etree.SubElement(root, "route", {"id": str(r.id), "town": r.town, **r.attrs})
        wps = etree.SubElement(re_, "waypoints")
        for x, y, z in r.keypoints:
            etree.SubElement(wps, "position", {"x": _num(x), "y": _num(y), "z": _num(z)})
        scs = etree.SubElement(re_, "scenarios")
        for s in r.scenarios:
            se = etree.SubElement(scs, "scenario", {"name": s.name, "type": s.type})
            for t in s.trigger_points:
                etree.SubElement(se, "trigger_point", {"x": _num(t.x), "y": _num(t.y), "z": _num(t.z),
                                                       "yaw": _num(t.yaw)})
            for tag, attrs in s.parameters.items():
                etree.SubElement(se, tag, attrs)
            for a in s.other_actors:
                etree.SubElement(se, "other_actor", a)
        ws = etree.SubElement(re_, "weathers")
        for w in sorted(r.weathers, key=lambda w: w.route_percentage):
            attrs = {"route_percentage": _num(w.route_percentage)}
            attrs.update({k: _num(v) for k, v in w.values.items()})
            attrs.update(w.extra)
            etree.SubElement(ws, "weather", attrs)
    etree.indent(root, space="   ")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True).decode("utf-8")


def write_routes(path: str | Path, routes: Iterable[RouteConfig]) -> Path:
    """Write `routes` as a Leaderboard 2.0 route file; reading it back gives equal routes
    (Leaderboard 1.0 input comes back as 2.0, its weather at route_percentage 0)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(routes_to_xml(routes), encoding="utf-8")
    return path


# ---------------------------------------------------------------- selection

def _id_key(route_id: str) -> tuple:
    return (0, int(route_id), "") if route_id.lstrip("-").isdigit() else (1, 0, route_id)


def parse_route_ids(spec: str, available: Sequence[str]) -> list[str]:
    """Route ids selected by a leaderboard subset such as ``"3,5-9"``.

    As the leaderboard does: ``a-b`` takes every id from `a` to `b` in file order
    (`available`), single ids must exist, an id selected twice is an error, and the
    result is sorted numerically.
    """
    available = [str(a) for a in available]
    chosen: list[str] = []

    def add(rid: str, group: str) -> None:
        if rid in chosen:
            raise RouteFileError(f"route subset {spec!r}: route {rid} selected twice (in {group!r})")
        chosen.append(rid)

    groups = spec.replace(" ", "").split(",")
    if not any(groups):
        raise RouteFileError(f"route subset {spec!r} selects nothing")
    for group in groups:
        if not group:
            raise RouteFileError(f"route subset {spec!r}: empty item")
        if "-" in group:
            start, _, end = group.partition("-")
            if start not in available:
                raise RouteFileError(f"route subset {spec!r}: no route with id {start!r}")
            if end not in available:
                raise RouteFileError(f"route subset {spec!r}: no route with id {end!r}")
            i, j = available.index(start), available.index(end)
            if j < i:
                raise RouteFileError(f"route subset {spec!r}: route {end} comes before route {start} in the file")
            for rid in available[i:j + 1]:
                add(rid, group)
        else:
            if group not in available:
                raise RouteFileError(f"route subset {spec!r}: no route with id {group!r}")
            add(group, group)
    return sorted(chosen, key=_id_key)


def select_routes(routes: Sequence[RouteConfig], spec: str | None) -> list[RouteConfig]:
    """The routes a subset spec selects, in file order (all of them for an empty spec)."""
    if not spec:
        return list(routes)
    ids = set(parse_route_ids(spec, [r.id for r in routes]))
    return [r for r in routes if r.id in ids]


# ---------------------------------------------------------------- weather along a route

def route_percentages(points: Sequence[Point3]) -> list[float]:
    """Accumulated 3D distance at each point of a dense route, as % of its length."""
    acc = [0.0]
    for a, b in zip(points, points[1:]):
        acc.append(acc[-1] + math.dist(a, b))
    total = acc[-1]
    if total <= 0.0:
        return [0.0 for _ in acc]
    return [100.0 * d / total for d in acc]


def weather_at(weathers: Sequence[WeatherConfig], percentage: float) -> dict[str, float]:
    """The weather the leaderboard sets at `percentage` (0..100) of the route.

    Entries are sorted by route_percentage; before the first and after the last the
    nearest entry holds; in between every parameter is interpolated linearly (the
    leaderboard's RouteWeatherBehavior). No entry gives the leaderboard's base weather.
    """
    if not weathers:
        return dict(LEADERBOARD_BASE_WEATHER)
    ws = sorted(weathers, key=lambda w: w.route_percentage)
    if percentage <= ws[0].route_percentage:
        return ws[0].parameters()
    if percentage >= ws[-1].route_percentage:
        return ws[-1].parameters()
    for a, b in zip(ws, ws[1:]):
        if a.route_percentage <= percentage <= b.route_percentage:
            pa, pb = a.parameters(), b.parameters()
            f = (percentage - a.route_percentage) / (b.route_percentage - a.route_percentage)
            return {k: pa[k] + (pb[k] - pa[k]) * f for k in WEATHER_PARAMETERS}
    raise AssertionError("unreachable: percentages are sorted")
