"""`lead eval --check-only`: load every route of a file on its town, interpolate it as the
leaderboard does, and check that each scenario's trigger lies on the route (RouteParser's
is_scenario_at_route: within 2 m horizontally, dz < 2 m, yaw within 10 degrees)."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence

DIST_THRESHOLD = 2.0
ANGLE_THRESHOLD = 10.0


def trigger_on_route(trigger, dense) -> bool:
    for t, _ in dense:
        loc, yaw = t.location, t.rotation.yaw
        dyaw = (trigger.yaw - yaw) % 360.0
        if (trigger.z - loc.z < DIST_THRESHOLD and math.hypot(trigger.x - loc.x, trigger.y - loc.y) < DIST_THRESHOLD
                and (dyaw < ANGLE_THRESHOLD or dyaw > 360.0 - ANGLE_THRESHOLD)):
            return True
    return False


def supported_scenarios() -> set[str]:
    from lead.sim.embedded.scenarios import SCENARIO_TYPES, load_all

    load_all()
    return set(SCENARIO_TYPES)


def check_routes(routes_file: str, maps_dirs: Sequence[str] = (), route_ids: str = "", json_out: bool = True) -> int:
    from lead.world.map import Map
    from lead.world.maps_path import find_map
    from lead.world.planner import interpolate_trajectory
    from lead.world.routes import read_routes, select_routes
    from lead.world.transform import Location

    routes = select_routes(read_routes(routes_file), route_ids)
    supported = supported_scenarios()
    maps: dict[str, object] = {}
    ok, failed, unsupported = 0, [], set()
    print(f"{'route':>8s} {'town':12s} {'length_m':>9s} {'scenarios':30s} result")
    for r in routes:
        t0 = time.time()
        try:
            if r.town not in maps:
                maps[r.town] = Map.from_file(find_map(r.town, maps_dirs), r.town)
            m = maps[r.town]
            _, dense = interpolate_trajectory(m, [Location(*k) for k in r.keypoints], 1.0)
            length = sum(a.location.distance(b.location) for (a, _), (b, _) in zip(dense[:-1], dense[1:]))
            problems = []
            for sc in r.scenarios:
                if supported and sc.type not in supported:
                    unsupported.add(sc.type)
                for tp in sc.trigger_points:
                    if not trigger_on_route(tp, dense):
                        problems.append(f"{sc.name}: trigger not on the route")
            result = "ok" if not problems else "; ".join(problems)
        except Exception as e:  # one bad route must not hide the others
            length, result = 0.0, f"{type(e).__name__}: {e}"
            problems = [result]
        if problems:
            failed.append(r.id)
        else:
            ok += 1
        types = ",".join(sorted({s.type for s in r.scenarios})) or "-"
        print(f"{r.id:>8s} {r.town:12s} {length:9.1f} {types[:30]:30s} {result} ({time.time() - t0:.1f} s)")
    summary = {"routes": len(routes), "ok": ok, "failed": failed, "unsupported_scenarios": sorted(unsupported)}
    if json_out:
        print(json.dumps(summary))
    return 0 if not failed else 1
