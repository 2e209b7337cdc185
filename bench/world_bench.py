"""Road-network benchmark: parse time, get_waypoint and route planning, each measured in
the same run beside a naive baseline and printed as a ratio.

    .venv/bin/python bench/world_bench.py [--map Town10HD.xodr] [--route-map Town01.xodr]

- parse: Map.from_file + spatial index build on Town10HD (target <= 2 s), beside lxml's
  bare XML parse of the same file.
- get_waypoint: µs per call for points near roads (target <= 50 µs), beside a linear
  scan over every lane segment (the same exact projection, no grid); both answers are
  compared.
- route: ms to plan a ~1 km route (A*, as CARLA's planner) and to trace it densely,
  beside plain Dijkstra on the same graph.
The last stdout line is one JSON object.
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lead.world.lane_types import LaneType  # noqa: E402
from lead.world.map import Map  # noqa: E402
from lead.world.planner import GlobalRoutePlanner  # noqa: E402
from lead.world.transform import Location  # noqa: E402

MAPS = REPO.parent / "shared" / "data" / "maps" / "carla"


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_parse(path: Path, repeat: int) -> dict:
    from lxml import etree

    def load():
        Map.from_file(path)._lane_index()

    parse_s = _best(load, repeat)
    xml_s = _best(lambda: etree.parse(str(path)), repeat)
    return {"parse_s": parse_s, "xml_only_s": xml_s, "parse_over_target": parse_s / 2.0}


def bench_get_waypoint(m: Map, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    wps = m.generate_waypoints(1.0)
    picks = rng.choice(len(wps), n)
    pts = [w.transform.location for w in (wps[i] for i in picks)]
    pts = [Location(p.x + rng.normal(0, 2.0), p.y + rng.normal(0, 2.0), p.z) for p in pts]
    index = m._lane_index()
    mask = int(LaneType.Driving)
    m.get_waypoint(pts[0])

    def indexed():
        for p in pts:
            m.get_waypoint(p)

    def linear():
        for p in pts:
            index.nearest_brute(p.x, p.y, p.z, mask)

    fast = _best(indexed, 3) / n
    slow = _best(linear, 1) / n
    agree = sum(index.nearest(p.x, p.y, p.z, mask)[0] == index.nearest_brute(p.x, p.y, p.z, mask)[0] for p in pts)
    return {"get_waypoint_us": fast * 1e6, "linear_scan_us": slow * 1e6, "speedup": slow / fast,
            "segments": len(index), "agree": agree / n}


def _dijkstra(grp: GlobalRoutePlanner, source: int, target: int) -> list[int]:
    dist, parent, queue, done = {source: 0.0}, {source: None}, [(0.0, source)], set()
    while queue:
        d, node = heapq.heappop(queue)
        if node == target:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])
            return path[::-1]
        if node in done:
            continue
        done.add(node)
        for nbr, edge in grp._edges.get(node, {}).items():
            nd = d + edge.length
            if nd < dist.get(nbr, float("inf")):
                dist[nbr], parent[nbr] = nd, node
                heapq.heappush(queue, (nd, nbr))
    raise RuntimeError("unreachable")


def bench_route(m: Map, seed: int, want_m: float = 1000.0) -> dict:
    t = time.perf_counter()
    grp = GlobalRoutePlanner(m, 1.0)
    build_s = time.perf_counter() - t
    spawns = m.get_spawn_points()
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(300):  # a pair whose route is closest to the wanted length
        a, b = rng.choice(len(spawns), 2, replace=False)
        trace = grp.trace_route(spawns[a].location, spawns[b].location)
        length = sum(x.transform.location.distance(y.transform.location) for (x, _), (y, _) in zip(trace, trace[1:]))
        if best is None or abs(length - want_m) < abs(best[2] - want_m):
            best = (spawns[a].location, spawns[b].location, length)
    o, d, length = best
    start, end = grp._localize(o), grp._localize(d)
    astar = _best(lambda: grp._astar(start[0], end[0]), 20)
    dijkstra = _best(lambda: _dijkstra(grp, start[0], end[0]), 20)
    same = grp._astar(start[0], end[0]) == _dijkstra(grp, start[0], end[0])
    trace_s = _best(lambda: grp.trace_route(o, d), 5)
    return {"route_m": length, "astar_ms": astar * 1e3, "dijkstra_ms": dijkstra * 1e3,
            "dijkstra_over_astar": dijkstra / astar, "trace_route_ms": trace_s * 1e3,
            "planner_build_s": build_s, "same_path": same, "graph_nodes": len(grp._nodes)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", default=str(MAPS / "Town10HD.xodr"))
    ap.add_argument("--route-map", default=str(MAPS / "Town01.xodr"), help="map for the ~1 km route")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for p in (args.map, args.route_map):
        if not Path(p).exists():
            print(f"error: {p} is absent (needs ../shared/data/maps)", file=sys.stderr)
            return 1

    parse = bench_parse(Path(args.map), 3)
    print(f"parse {Path(args.map).name}: {parse['parse_s']:.3f} s (target 2 s, ratio {parse['parse_over_target']:.2f}); "
          f"bare XML parse {parse['xml_only_s']:.3f} s")
    m = Map.from_file(args.map)
    gw = bench_get_waypoint(m, args.queries, args.seed)
    print(f"get_waypoint: {gw['get_waypoint_us']:.1f} us/call vs linear scan {gw['linear_scan_us']:.1f} us/call "
          f"over {gw['segments']} segments: {gw['speedup']:.1f}x faster (target 50 us); same answer {gw['agree']:.3f}")
    rm = Map.from_file(args.route_map)
    rt = bench_route(rm, args.seed)
    print(f"route {rt['route_m']:.0f} m on {Path(args.route_map).stem}: A* {rt['astar_ms']:.3f} ms vs Dijkstra "
          f"{rt['dijkstra_ms']:.3f} ms ({rt['dijkstra_over_astar']:.2f}x); dense trace {rt['trace_route_ms']:.1f} ms; "
          f"planner build {rt['planner_build_s']:.2f} s; same path {rt['same_path']}")
    result = {
        "map": Path(args.map).stem, "parse_s": round(parse["parse_s"], 4),
        "xml_only_s": round(parse["xml_only_s"], 4), "parse_target_ratio": round(parse["parse_over_target"], 3),
        "get_waypoint_us": round(gw["get_waypoint_us"], 2), "linear_scan_us": round(gw["linear_scan_us"], 2),
        "get_waypoint_speedup": round(gw["speedup"], 1), "get_waypoint_agree": gw["agree"],
        "route_map": Path(args.route_map).stem, "route_m": round(rt["route_m"], 1),
        "astar_ms": round(rt["astar_ms"], 3), "dijkstra_ms": round(rt["dijkstra_ms"], 3),
        "dijkstra_over_astar": round(rt["dijkstra_over_astar"], 2), "trace_route_ms": round(rt["trace_route_ms"], 2),
        "planner_build_s": round(rt["planner_build_s"], 3),
        "targets_met": bool(parse["parse_s"] <= 2.0 and gw["get_waypoint_us"] <= 50.0),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
