"""Traffic lights and stop signs along the expert's dense route.

Traffic lights (LEAD: the light's stop waypoints, advanced to the junction and taken 1.5 m
before it): a light stops the route where the route leaves one of the light's stop lanes into
the junction, or enters a junction lane the light governs. In the towns where LEAD's data
labels the light as standing at the stop line (European posts in Town01-10HD, overhead heads
in Town11-15) the ego stops a further 6 m / 9 m back, so it can still see the light.

Stop signs (LEAD's copy of the leaderboard's RunningStopTest): a route point is affected when
it is within 4 m of the sign's trigger centre and one of the route points up to 4 m ahead
lies inside the trigger box (axis aligned, extents at least 1 m, times 1.2); the sign belongs
to the first affected point.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from lead.expert.config import ExpertConfig
from lead.expert.route import DenseRoute
from lead.world.map import Map

GREEN, OFF = 2, 3  # carla.TrafficLightState / CarlaTrafficLightStatus values


@dataclass(frozen=True)
class RouteLight:
    light_id: str  # OpenDRIVE signal id
    index: int  # dense route index of the stop point
    extra_distance: float  # metres to stay further back (light at the stop line)


@dataclass(frozen=True)
class RouteStopSign:
    sign_id: str
    index: int  # first dense route index the sign affects
    center: tuple[float, float, float]  # trigger centre


def light_state(lights: Mapping[Any, Any], light_id: str) -> int | None:
    """State of a light from a dict keyed by OpenDRIVE id (str) or by the bridge's int id."""
    for key in (light_id, light_number(light_id)):
        if key in lights:
            return int(lights[key])
    return None


def light_number(signal_id: str) -> int:
    """The integer id the world node publishes for an OpenDRIVE signal id."""
    try:
        return int(signal_id)
    except ValueError:  # the world node's stable id for non-numeric signal ids
        return zlib.crc32(signal_id.encode()) & 0x7FFFFFFF


def stops_for(state: int | None) -> bool:
    """LEAD stops for every light that is not green; an unknown or dark light is ignored."""
    return state is not None and state not in (GREEN, OFF)


def route_lights(route: DenseRoute, map_: Map, config: ExpertConfig) -> list[RouteLight]:
    """Stop points of the route's traffic lights, in route order."""
    ppm = config.points_per_meter
    offset = config.points(config.light_stop_offset)
    town_extra = (config.idm_europe_red_light_minimum_distance if map_.name in config.europe_light_towns
                  else config.idm_overhead_red_light_minimum_distance if map_.name in config.overhead_light_towns
                  else 0.0)
    by_stop_lane: dict[tuple, list] = {}
    by_junction_lane: dict[tuple, list] = {}
    for tl in map_.get_traffic_lights():
        for w in tl.stop_waypoints:
            by_stop_lane.setdefault(w.key, []).append((tl, w))
        for w in tl.affected_lane_waypoints:
            if w.is_junction:
                by_junction_lane.setdefault(w.key, []).append((tl, w))
    out: dict[tuple[str, int], RouteLight] = {}
    keys, junction = route.keys, route.is_junction
    for i in range(len(keys) - 1):
        if junction[i] or not junction[i + 1]:
            continue
        # the junction entry: the lane the route leaves, and the first junction lane it takes
        entry = keys[min(i + ppm, len(keys) - 1)] if junction[min(i + ppm, len(keys) - 1)] else keys[i + 1]
        index = max(i - offset, 0)
        yaw = math.radians(route.yaw[index])
        for tl, _ in by_stop_lane.get(keys[i], []) + by_junction_lane.get(entry, []):
            # the pole's distance along the lane from the stop point decides its style
            d = np.array([tl.transform.location.x, tl.transform.location.y]) - route.points[index, :2]
            along = math.cos(yaw) * d[0] + math.sin(yaw) * d[1]
            extra = town_extra if abs(along) < config.light_pole_near_stop_line else 0.0
            out.setdefault((tl.id, index), RouteLight(tl.id, index, extra))
    return sorted(out.values(), key=lambda r: r.index)


def route_stop_signs(route: DenseRoute, map_: Map, config: ExpertConfig) -> list[RouteStopSign]:
    """The route's stop signs, in route order: one per pass by a sign (its volumes on the
    approach and on the junction lanes make one stop), at the first point it affects."""
    look = config.points(config.stop_sign_lookahead)
    step = max(config.points_per_meter // 2, 1)  # 0.5 m, as the leaderboard's test walks the lane
    xy = route.points[:, :2]
    out = []
    for sign in map_.get_stop_signs():
        hits: list[tuple[int, tuple[float, float, float]]] = []
        for box in sign.trigger_volumes:
            c = np.array([box.location.x, box.location.y])
            ext = np.maximum([box.extent.x, box.extent.y], config.stop_sign_min_extent) * config.stop_sign_box_multiplier
            for i in np.flatnonzero(np.linalg.norm(xy - c, axis=1) <= config.stop_sign_proximity):
                if (np.abs(xy[i:i + look + 1:step] - c) < ext).all(axis=1).any():
                    hits.append((int(i), (box.location.x, box.location.y, box.location.z)))
        hits.sort()
        for k, (i, center) in enumerate(hits):
            if k == 0 or i - hits[k - 1][0] > config.points(config.unclearing_distance_to_stop_sign):
                out.append(RouteStopSign(sign.id, i, center))
    return sorted(out, key=lambda r: r.index)
