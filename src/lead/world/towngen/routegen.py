"""Leaderboard 2.0 routes on a generated town: drivable chains of roads through junctions
(at least one turn each), written as sparse keypoints the leaderboard's
interpolate_trajectory reconstructs: the start, a point just before and just after
every junction, and the end. Each route keeps one lane per road, so no lane change is
needed between keypoints."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lead.world.routes import RouteConfig, ScenarioConfig, TriggerPoint, WeatherConfig
from lead.world.towngen.network import Movement, Road, Town

KEYPOINT_GAP = 4.0        # keypoints this far from a junction's border
SAMPLE_STEP = 0.5         # lane-centre sampling for lengths

# (cloudiness, precipitation, precipitation_deposits, wetness, wind_intensity,
#  sun_azimuth_angle, sun_altitude_angle, fog_density)
_WEATHERS = (
    (5.0, 0.0, 0.0, 0.0, 10.0, 45.0, 60.0, 2.0),
    (60.0, 0.0, 20.0, 10.0, 30.0, 135.0, 35.0, 5.0),
    (90.0, 60.0, 60.0, 80.0, 60.0, 250.0, 20.0, 15.0),
    (20.0, 0.0, 0.0, 0.0, 10.0, 300.0, 5.0, 10.0),
    (80.0, 30.0, 50.0, 50.0, 40.0, 200.0, -10.0, 20.0),
    (10.0, 0.0, 0.0, 0.0, 5.0, 90.0, 80.0, 0.0),
)
_WEATHER_KEYS = ("cloudiness", "precipitation", "precipitation_deposits", "wetness", "wind_intensity",
                 "sun_azimuth_angle", "sun_altitude_angle", "fog_density")


@dataclass
class _Stop:
    road: Road
    lane: int
    u: float                  # distance along the lane's travel direction

    def s(self) -> float:
        return self.u if self.lane < 0 else self.road.length - self.u

    def carla(self) -> tuple[float, float, float, float]:
        """(x, y, z, yaw) in CARLA's frame."""
        x, y, h = self.road.lane_point(self.lane, self.s())
        return x, -y, 0.0, -math.degrees(h)


def lane_length(road: Road, lane: int, u0: float, u1: float) -> float:
    """Length of a lane's centre line between travel distances u0 < u1 (sampled)."""
    n = max(2, int(math.ceil((u1 - u0) / SAMPLE_STEP)) + 1)
    pts = [_Stop(road, lane, u).carla()[:2] for u in np.linspace(u0, u1, n)]
    return float(sum(math.dist(a, b) for a, b in zip(pts, pts[1:])))


def _scenario(town: Town, m: Movement, before: _Stop, index: int) -> ScenarioConfig:
    control = next(j.control for j in town.junctions if j.id == m.junction)
    side = "Left" if m.kind == "left" else "Right"
    stype = f"{'Signalized' if control == 'signal' else 'NonSignalized'}Junction{side}Turn"
    x, y, z, yaw = before.carla()
    return ScenarioConfig(f"{stype}_{index}", stype, [TriggerPoint(round(x, 3), round(y, 3), z, round(yaw, 3))],
                          {"flow_speed": {"value": "10"}, "source_dist_interval": {"from": "25", "to": "50"}})


def generate_routes(town: Town, rng: np.random.Generator, count: int = 12,
                    min_length: float = 300.0, max_length: float = 1500.0) -> list[RouteConfig]:
    """`count` routes of min_length..max_length metres (lane-centre length)."""
    # Routes use only movements the planner cannot replace by a lane change (lane changes
    # cost nothing in the leaderboard's planner): one-to-one lanes (no fan-out or merge)
    # and turns that have a single lane (else it turns from the inner, shorter one).
    seen: dict[tuple, int] = {}
    for m in town.movements:
        for key in ((m.in_road, m.out_road, "in", m.in_lane), (m.in_road, m.out_road, "out", m.out_lane),
                    (m.in_road, m.out_road, "turn")):
            seen[key] = seen.get(key, 0) + 1
    moves: dict[tuple[int, int], list[Movement]] = {}
    for m in town.movements:
        pair = (m.in_road, m.out_road)
        if (seen[(*pair, "in", m.in_lane)] == 1 and seen[(*pair, "out", m.out_lane)] == 1
                and (m.kind == "straight" or seen[(*pair, "turn")] == 1)):
            moves.setdefault((m.in_road, m.in_lane), []).append(m)
    starts = [(r, lane) for r in town.roads.values() if r.junction == -1 and r.length >= 60.0
              for lane in r.driving_lanes(-1) + r.driving_lanes(1)]
    if count > len(starts):  # each route starts on its own lane
        raise RuntimeError(f"{town.name}: {count} routes asked for, but the town has {len(starts)} start lanes")
    lo, hi = min_length + 30.0, max_length - 100.0  # aim inside the limits
    routes: list[RouteConfig] = []
    used_starts: set[tuple[int, int]] = set()
    for _ in range(count * 200):
        if len(routes) == count:
            break
        road, lane = starts[int(rng.integers(len(starts)))]
        if (road.id, lane) in used_starts:
            continue
        target = float(rng.uniform(lo, hi))
        first = _Stop(road, lane, float(rng.uniform(10.0, road.length - 25.0)))
        walk = _walk(town, moves, first, target, rng)
        if walk is None:
            continue
        steps, last, length = walk
        if not any(m.kind != "straight" for m in steps) or not min_length <= length <= max_length:
            continue
        used_starts.add((road.id, lane))
        routes.append(_route(town, str(len(routes)), first, steps, last, rng))
    if len(routes) < count:
        raise RuntimeError(f"{town.name}: found only {len(routes)} of {count} routes")
    return routes


def _walk(town: Town, moves: dict[tuple[int, int], list[Movement]], first: _Stop, target: float,
          rng: np.random.Generator) -> tuple[list[Movement], _Stop, float] | None:
    road, lane = first.road, first.lane
    length = lane_length(road, lane, first.u, road.length)
    used = {road.id}
    steps: list[Movement] = []
    while True:
        options = [m for m in moves.get((road.id, lane), []) if m.out_road not in used]
        if not options:
            return None
        weights = np.array([2.0 if m.kind != "straight" else 1.0 for m in options])
        m = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        steps.append(m)
        conn = town.roads[m.conn_road]
        length += lane_length(conn, -1, 0.0, conn.length)
        road, lane = town.roads[m.out_road], m.out_lane
        used.add(road.id)
        full = lane_length(road, lane, 0.0, road.length)
        need = target - length
        if need <= full - 15.0:
            u_end = max(need, 15.0) * road.length / full
            length += lane_length(road, lane, 0.0, u_end)
            return steps, _Stop(road, lane, u_end), length
        length += full


def _route(town: Town, rid: str, first: _Stop, steps: list[Movement], last: _Stop,
           rng: np.random.Generator) -> RouteConfig:
    stops = [first]
    for m in steps:
        r_in, r_out = town.roads[m.in_road], town.roads[m.out_road]
        stops.append(_Stop(r_in, m.in_lane, r_in.length - KEYPOINT_GAP))
        stops.append(_Stop(r_out, m.out_lane, KEYPOINT_GAP))
    stops.append(last)
    keypoints = [tuple(round(v, 3) for v in st.carla()[:3]) for st in stops]
    turn = next(i for i, m in enumerate(steps) if m.kind != "straight")
    scenario = _scenario(town, steps[turn], stops[1 + 2 * turn], 1)
    a, b = (int(i) for i in rng.choice(len(_WEATHERS), size=2))
    weathers = [WeatherConfig(0.0, dict(zip(_WEATHER_KEYS, _WEATHERS[a]))),
                WeatherConfig(100.0, dict(zip(_WEATHER_KEYS, _WEATHERS[b])))]
    return RouteConfig(rid, town.name, keypoints, [scenario], weathers)
