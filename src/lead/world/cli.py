"""`lead world ...`: check and show an OpenDRIVE map (generate comes from lead.world.towngen).

    lead world check MAP.xodr [--json] [--pairs N] [--seed S]
    lead world show MAP.xodr [--route FILE --id N] -o map.png
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    world = subparsers.add_parser("world", help="road networks: check, show (and generate) maps")
    sub = world.add_subparsers(dest="world_command", metavar="SUBCOMMAND")

    p = sub.add_parser("check", help="run the acceptance checks on an .xodr map")
    p.add_argument("map", help="OpenDRIVE file (.xodr)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--pairs", type=int, default=100, help="random spawn-point pairs to route (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random pairs (default 0)")
    p.set_defaults(func=_check)

    p = sub.add_parser("show", help="draw a map (and a route) to a PNG")
    p.add_argument("map", help="OpenDRIVE file (.xodr)")
    p.add_argument("-o", "--out", required=True, help="output image (.png)")
    p.add_argument("--route", help="Leaderboard route XML to draw")
    p.add_argument("--id", help="route id in --route (default: the first route)")
    p.add_argument("--dpi", type=int, default=150)
    p.set_defaults(func=_show)

    world.set_defaults(func=lambda args: (world.print_help(), 2)[1])
    try:  # `generate` lives with the town generator, when it is there
        from lead.world.towngen import register_generate
    except ImportError:
        return
    register_generate(sub)


def _check(args: argparse.Namespace) -> int:
    from lead.world.checks import GAP_LIMIT_M, ROUNDTRIP_MIN, ROUTABLE_MIN, check_map
    from lead.world.opendrive import OpenDriveError

    try:
        r = check_map(args.map, pairs=args.pairs, seed=args.seed)
    except (OpenDriveError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "error": str(e)}))
        return 1
    d = r.details

    def mark(good: bool) -> str:
        return "ok  " if good else "FAIL"

    print(f"map {d['map']}: {r.n_roads} roads, {r.n_lanes} lanes, {d['junctions']} junctions, "
          f"{d['traffic_lights']} traffic lights, {d['stop_signs']} stop signs, {d['crosswalks']} crosswalks; "
          f"parsed in {r.parse_s:.3f} s")
    for w in d["warnings"]:
        print(f"  warning: {w}")
    print(f"  {mark(d['geometry_join_m'] <= GAP_LIMIT_M)} geometry joins: max {d['geometry_join_m'] * 100:.2f} cm"
          + (f" ({d['geometry_join_at']})" if d["geometry_join_at"] else ""))
    print(f"  {mark(r.max_gap_m <= GAP_LIMIT_M)} lane-centre gaps: max {r.max_gap_m * 100:.2f} cm"
          + (f" ({d['gap_at']})" if d["gap_at"] else "")
          + f"; {d['gaps_over_limit']} over {GAP_LIMIT_M * 100:.0f} cm, "
          + f"{len(d['gaps_unexplained'])} not made by the file's own data")
    for where in d["gaps_unexplained"]:
        print(f"       unexplained gap: {where}")
    print(f"  {mark(r.min_width_m > 0 and d['negative_widths'] == 0)} lane widths: min {r.min_width_m:.4f} m"
          + (f" ({d['min_width_at']})" if d["min_width_at"] else "") + f", {d['negative_widths']} negative samples")
    print(f"  {mark(r.roundtrip_ratio >= ROUNDTRIP_MIN)} get_waypoint round trip: {r.roundtrip_ratio:.4f} "
          f"(same lane {d['roundtrip_strict']:.4f}) over {d['roundtrip_waypoints']} waypoints")
    print(f"  {mark(r.routable_ratio >= ROUTABLE_MIN)} routable spawn-point pairs: {r.routable_ratio:.3f}")
    for f in d["route_failures"][:3]:
        print(f"       {f}")
    print("OK" if r.ok else "NOT OK")
    if args.json:
        print(json.dumps(r.summary()))
    return 0 if r.ok else 1


def _show(args: argparse.Namespace) -> int:
    from lead.world.map import Map
    from lead.world.opendrive import OpenDriveError
    from lead.world.show import draw_map
    from lead.world.transform import Location

    try:
        m = Map.from_file(args.map)
        keypoints, title = None, m.name
        if args.route:
            keypoints, route_id = _route_keypoints(args.route, args.id)
            title = f"{m.name}: route {route_id}"
        out = draw_map(m, args.out, keypoints and [Location(*p) for p in keypoints], title=title, dpi=args.dpi)
    except (OpenDriveError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def _route_keypoints(path: str, route_id: str | None) -> tuple[list[tuple[float, float, float]], str]:
    """Keypoints of one route of a Leaderboard route file."""
    try:
        from lead.world.routes import read_routes
    except ImportError:
        read_routes = None
    if read_routes is not None:
        routes = [(r.id, list(r.keypoints)) for r in read_routes(path)]
    else:
        routes = _parse_route_keypoints(path)
    if not routes:
        raise ValueError(f"{path}: no <route> in the file")
    if route_id is None:
        return routes[0][1], routes[0][0]
    for rid, pts in routes:
        if rid == str(route_id):
            return pts, rid
    raise ValueError(f"{path}: no route with id {route_id} (ids: {', '.join(r for r, _ in routes[:20])})")


def _parse_route_keypoints(path: str) -> list[tuple[str, list[tuple[float, float, float]]]]:
    """<position x y z> (Leaderboard 2.0) or <waypoint x y z> (1.0) of every route."""
    from lxml import etree

    out = []
    for route in etree.parse(path).getroot().iter("route"):
        pts = [(float(p.get("x")), float(p.get("y")), float(p.get("z", 0.0)))
               for p in route.iter("position", "waypoint")]
        out.append((route.get("id", ""), pts))
    return out
