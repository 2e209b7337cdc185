"""`lead eval-report RESULTS --routes FILE`: why the routes of an evaluation failed.

From the files `lead eval` writes (checkpoint_endpoint.json, and per route infractions.json and
metric_info.json) and the route file it ran:
- the commonest failure causes: the checkpoint's infraction rates per km, highest first;
- for each route that ended "deviated from the route", where the car left it: it follows the
  car's path (metric_info.json, one location a tick) along the route interpolated as the
  leaderboard does, and names the route's road option around the last point where the car was
  on the route (LEFT, RIGHT, STRAIGHT: the nearest junction; LANEFOLLOW where there is none). A policy that leaves
  at straight crossings and one that misses its turns fail differently, and DS alone hides which;
- junctions passed by road option: the route's junctions the car got through (the last point of
  each reached on the route), beside those it left the route at.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lead.leaderboard.scoring import DEVIATION_FAILURE, LABELS
from lead.world.planner import RoadOption

JUNCTION_OPTIONS = tuple(o.name for o in (RoadOption.LEFT, RoadOption.RIGHT, RoadOption.STRAIGHT))
ON_ROUTE_M = 2.5  # a tick counts as on the route within this distance of the route's next points
SEARCH_AHEAD = 30  # route points (~1 m apart) searched ahead of the last on-route point
NEAR_BEFORE, NEAR_AFTER = 10, 25  # route points around the departure that name its road option
_ROUTE_ID = re.compile(r"^RouteScenario_(.+)_rep\d+$")
_NOT_INFRACTIONS = LABELS[:3]  # the checkpoint's three averages (DS, RC, IS); the rest are rates per km


def departure_index(route_xy: np.ndarray, path_xy: np.ndarray, on_route_m: float = ON_ROUTE_M,
                    ahead: int = SEARCH_AHEAD) -> int:
    """Index of the last route point the car reached while on the route: each tick looks for the
    nearest route point among the next `ahead` points after the last one reached (so a route
    that passes the same place twice is followed in order) and advances when it is nearer than
    `on_route_m`."""
    route_xy, path_xy = np.asarray(route_xy, float), np.asarray(path_xy, float)
    if route_xy.ndim != 2 or route_xy.shape[1] != 2 or not len(route_xy):
        raise ValueError(f"route_xy must be an (N, 2) array of points, got shape {route_xy.shape}")
    reached = 0
    for p in path_xy:
        window = route_xy[reached:reached + ahead]
        d = np.hypot(*(window - p).T)
        j = int(d.argmin())
        if d[j] < on_route_m:
            reached += j
    return reached


def nearest_junction(options: Sequence[str], index: int, before: int = NEAR_BEFORE,
                     after: int = NEAR_AFTER) -> tuple[int, int, str] | None:
    """The junction (a run of `junction_runs`) with the route point nearest to `index` (ahead on
    a tie) among `before` points behind and `after` ahead, or None."""
    near = [(max(s - index, index - (e - 1), 0), -s, (s, e, o)) for s, e, o in junction_runs(options)
            if s < index + after and e - 1 >= index - before]
    return min(near)[2] if near else None


def option_near(options: Sequence[str], index: int, before: int = NEAR_BEFORE, after: int = NEAR_AFTER) -> str:
    """The road option of `nearest_junction`, or LANEFOLLOW when there is none."""
    j = nearest_junction(options, index, before, after)
    return j[2] if j else RoadOption.LANEFOLLOW.name


def junction_runs(options: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, option) of each junction the route crosses: a run of route points with one
    junction road option (LEFT, RIGHT, STRAIGHT), `end` exclusive."""
    runs: list[tuple[int, int, str]] = []
    for j, o in enumerate(options):
        if o not in JUNCTION_OPTIONS:
            continue
        if runs and runs[-1][1] == j and runs[-1][2] == o:
            runs[-1] = (runs[-1][0], j + 1, o)
        else:
            runs.append((j, j + 1, o))
    return runs


def commonest_causes(labels: Sequence[str], values: Sequence[str | float], n: int = 3) -> list[tuple[str, float]]:
    """The checkpoint's infraction rates (per km), highest first, the `n` non-zero ones."""
    rates = [(lab, float(v)) for lab, v in zip(labels, values) if lab not in _NOT_INFRACTIONS]
    return sorted((r for r in rates if r[1] > 0), key=lambda r: -r[1])[:n]


def _trajectory(route_dir: Path) -> np.ndarray:
    path = route_dir / "metric_info.json"
    try:
        frames = json.loads(path.read_text(encoding="utf-8"))
        return np.array([frames[k]["location"][:2] for k in sorted(frames, key=int)], float).reshape(-1, 2)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{path}: not a metric_info.json with a location per tick ({e})") from None


def failure_report(results_dir: str | Path, routes_file: str | Path, maps_dirs: Sequence[str] = ()) -> dict[str, Any]:
    """What `lead eval-report` prints, as a dict (see the module docstring)."""
    from lead.leaderboard.results import load_results
    from lead.world.map import Map
    from lead.world.maps_path import find_map
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes
    from lead.world.transform import Location

    results_dir = Path(results_dir)
    results = load_results(results_dir / "checkpoint_endpoint.json")
    if results is None:
        raise FileNotFoundError(f"{results_dir}: no checkpoint_endpoint.json (not a `lead eval --out` folder)")
    routes = {r.id: r for r in read_routes(routes_file)}
    maps: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    passed: Counter[str] = Counter()
    for rec in results.finished_records():
        m = _ROUTE_ID.match(rec.route_id)
        row: dict[str, Any] = {"route_id": rec.route_id, "status": rec.status,
                               "DS": round(float(rec.scores["score_composed"]), 2)}
        rows.append(row)
        route = routes.get(m.group(1)) if m else None
        if route is None:
            raise ValueError(f"{routes_file}: no route for {rec.route_id} of {results_dir} "
                             "(pass the route file the evaluation ran)")
        deviated = DEVIATION_FAILURE in rec.status
        try:
            path_xy = _trajectory(results_dir / rec.route_id)
        except FileNotFoundError:  # an interrupted run may lack it; the rest of the report stands
            if deviated:
                row["departure"] = None
            continue
        if route.town not in maps:
            maps[route.town] = Map.from_file(find_map(route.town, maps_dirs), route.town)
        _, dense = interpolate_trajectory(maps[route.town], [Location(*k) for k in route.keypoints], 1.0)
        route_xy = np.array([[t.location.x, t.location.y] for t, _ in dense])
        options = [o.name for _, o in dense]
        i = departure_index(route_xy, path_xy)
        # the junction a deviated car left the route at is not passed, even when it reached its last point
        left_at = nearest_junction(options, i) if deviated else None
        row["junctions_passed"] = [run[2] for run in junction_runs(options) if run[1] - 1 <= i and run != left_at]
        passed.update(row["junctions_passed"])
        if not deviated:
            continue
        along = float(np.hypot(*np.diff(route_xy[:i + 1], axis=0).T).sum()) if i else 0.0
        row["departure"] = {"route_point": i, "route_points": len(route_xy), "metres_along": round(along, 1),
                            "x": round(float(route_xy[i, 0]), 1), "y": round(float(route_xy[i, 1]), 1),
                            "road_option": left_at[2] if left_at else RoadOption.LANEFOLLOW.name}
    departures = Counter(r["departure"]["road_option"] for r in rows if r.get("departure"))
    return {"results": str(results_dir), "routes": len(rows),
            "deviated": sum(DEVIATION_FAILURE in r["status"] for r in rows),
            "departures_by_road_option": dict(departures.most_common()),
            "junctions_passed": {o: passed[o] for o in JUNCTION_OPTIONS},
            "commonest_causes": [{"cause": c, "per_km": v} for c, v in commonest_causes(results.labels, results.values)],
            "per_route": rows}


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['results']}: {report['routes']} routes, {report['deviated']} ended deviated from the route")
    print("commonest causes (per km): " + (", ".join(f"{c['cause']} {c['per_km']:.2f}"
                                                     for c in report["commonest_causes"]) or "none"))
    left, ok = report["departures_by_road_option"], report["junctions_passed"]
    print("junctions passed (of those reached): " + ", ".join(
        f"{o} {ok[o]} of {ok[o] + left.get(o, 0)}" for o in JUNCTION_OPTIONS))
    dev = [r for r in report["per_route"] if "departure" in r]
    if not dev:
        return
    print(f"\n{'route':24s} {'DS':>6s} {'left after':>10s}  {'at (x, y)':18s} road option there")
    for r in dev:
        d = r["departure"]
        if d is None:
            print(f"{r['route_id']:24s} {r['DS']:6.2f}  (no metric_info.json)")
            continue
        at = f"({d['x']}, {d['y']})"
        print(f"{r['route_id']:24s} {r['DS']:6.2f} {d['metres_along']:8.1f} m  {at:18s} {d['road_option']}")
    print("departures by road option: " + ", ".join(f"{k} {v}" for k, v in report["departures_by_road_option"].items()))
