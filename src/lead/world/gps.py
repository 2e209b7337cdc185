"""The leaderboard's GPS conversion and plan downsampling (Leaderboard 2.0 facts,
../shared/specs/leaderboard.md §2), in CARLA's world frame."""
from __future__ import annotations

import math
from typing import Sequence

EARTH_RADIUS_EQUA = 6378137.0
DEFAULT_LAT_REF = 42.0
DEFAULT_LON_REF = 2.0

# RoadOption values (CARLA agents' enum) that mark lane changes
CHANGELANELEFT = 5
CHANGELANERIGHT = 6


def location_to_gps(lat_ref: float, lon_ref: float, x: float, y: float, z: float) -> dict:
    """CARLA world location -> {'lat', 'lon', 'z'} as Leaderboard 2.0 computes it
    (2.0 subtracts y; the 1.0 code added it)."""
    scale = math.cos(lat_ref * math.pi / 180.0)
    mx = scale * lon_ref * math.pi * EARTH_RADIUS_EQUA / 180.0 + x
    my = scale * EARTH_RADIUS_EQUA * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0)) - y
    lon = mx * 180.0 / (math.pi * EARTH_RADIUS_EQUA * scale)
    lat = 360.0 * math.atan(math.exp(my / (EARTH_RADIUS_EQUA * scale))) / math.pi - 90.0
    return {"lat": lat, "lon": lon, "z": z}


def gps_to_location(lat_ref: float, lon_ref: float, lat: float, lon: float, z: float) -> tuple[float, float, float]:
    """Inverse of location_to_gps (what an agent does to use the GPS plan)."""
    scale = math.cos(lat_ref * math.pi / 180.0)
    mx = lon * math.pi * EARTH_RADIUS_EQUA * scale / 180.0
    my = math.log(math.tan((lat + 90.0) * math.pi / 360.0)) * EARTH_RADIUS_EQUA * scale
    x = mx - scale * lon_ref * math.pi * EARTH_RADIUS_EQUA / 180.0
    y = scale * EARTH_RADIUS_EQUA * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0)) - my
    return x, y, z


def downsample_route(points: Sequence[tuple[float, float, float]], options: Sequence[int], sample_factor: float) -> list[int]:
    """Indices of the route points the leaderboard keeps for the agent's plan.

    Keeps the first point, every lane-change point, a point where the road option
    changes (unless the previous one was a lane change), a point once more than
    `sample_factor` metres have accumulated since the last kept one, and the last point.
    Distance accumulates only over points that were not kept, as upstream does.
    """
    ids: list[int] = []
    prev_option = None
    dist = 0.0
    last = len(points) - 1
    for i, opt in enumerate(options):
        if (
            prev_option is None
            or opt in (CHANGELANELEFT, CHANGELANERIGHT)
            or (opt != prev_option and prev_option not in (CHANGELANELEFT, CHANGELANERIGHT))
            or dist > sample_factor
            or i == last
        ):
            ids.append(i)
            dist = 0.0
        else:
            dist += math.dist(points[i], points[i - 1])
        prev_option = opt
    return ids
