"""`lead eval`: run a route file on a world with an agent and score it as the leaderboard
does; `lead eval merge`: merge shard results; `--check-only`: validate routes without driving."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

AGENTS = ("route_follower", "expert", "tfv6")
BACKENDS = ("torch", "onnxruntime", "tensorrt")  # lead.inference.runtime.BACKENDS, without importing it
WORLDS = ("embedded", "carla", "external")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="evaluate an agent on Leaderboard routes (DS/RC/IS as CARLA scores them)",
        description="Run the eval graph (world + route manager + agent, lock-step) over a route file and "
        "write Leaderboard 2.0 results (checkpoint_endpoint.json) plus per-route infractions.json and "
        "metric_info.json into --out. `lead eval merge OUT SHARD_DIR...` merges shard results.",
    )
    p.add_argument("--routes", default="routes/LeadGrid001_routes.xml", help="Leaderboard 1.0 or 2.0 route XML")
    p.add_argument("--route-ids", default="", help='subset, e.g. "3,5-9" (default: all)')
    p.add_argument("--repetitions", type=int, default=1)
    p.add_argument("--agent", choices=AGENTS, default="route_follower")
    p.add_argument("--world", choices=WORLDS, default="embedded",
                   help="embedded (default); carla: a CARLA 0.9.15/0.9.16 server at CARLA_HOST:CARLA_PORT; "
                   "external: a running carla-ros-bridge (docs/carla.md)")
    p.add_argument("--maps", action="append", default=[], metavar="DIR",
                   help="extra folders with .xodr towns (e.g. CARLA's Maps/OpenDrive); repeatable")
    p.add_argument("--out", default="results/eval", help="results folder")
    p.add_argument("--resume", action="store_true", help="skip finished routes, re-run an interrupted one")
    p.add_argument("--rules", choices=("leaderboard", "bench2drive"), default="leaderboard")
    p.add_argument("--shard", default="", metavar="I/N", help="run only shard I of N (deterministic split)")
    p.add_argument("--rig", default="lead", help="sensor rig name or file (config/rigs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-vehicles", type=int, default=-1, help="background vehicles (-1: world default)")
    p.add_argument("--num-pedestrians", type=int, default=-1)
    p.add_argument("--checkpoint", default=None,
                   help="tfv6: trainer checkpoint (.pt), ONNX file or `lead export` folder (default models/tfv6_small); "
                   "several joined by commas drive as one ensemble, as LEAD runs its three seeds")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="tfv6: inference runtime (default onnxruntime)")
    p.add_argument("--shadow-backend", choices=BACKENDS, default=None,
                   help="tfv6: a second runtime answers every frame on the same inputs; its plan and controls "
                   "go to /lead/shadow/plan and /lead/shadow/vehicle_control_cmd (nothing drives with them) and, "
                   "with -p timing_dir=DIR, to DIR/shadow_controller.jsonl beside DIR/controller.jsonl")
    p.add_argument("--param", "-p", action="append", default=[], metavar="ARG=VALUE",
                   help="any other graph argument (see `lead graphs`)")
    p.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID for this run")
    p.add_argument("--check-only", action="store_true",
                   help="validate routes and scenarios (load, interpolate, trigger placement) without driving")
    p.add_argument("--video", action="store_true",
                   help="write an overlay MP4 per route to OUT/<route>/video.mp4 while driving (lead webapp shows it)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object last")
    p.set_defaults(func=_eval)

    m = sub.add_parser("eval-merge", help="merge shard result files into one checkpoint, as the leaderboard does",
                       description="Merge the checkpoint_endpoint.json of several shard folders into OUT.")
    m.add_argument("out", help="folder for the merged checkpoint_endpoint.json")
    m.add_argument("shards", nargs="+", help="shard result folders or files")
    m.set_defaults(func=_merge)

    r = sub.add_parser("eval-report", help="why an evaluation's routes failed: commonest causes, where cars left the route",
                       description="Read a `lead eval --out` folder and the route file it ran: the commonest "
                       "infractions (per km, from checkpoint_endpoint.json) and, for each route that ended "
                       "'deviated from the route', where the car left it and the route's road option there "
                       "(LEFT / RIGHT / STRAIGHT at a junction, LANEFOLLOW elsewhere), from metric_info.json.")
    r.add_argument("results", help="a `lead eval --out` folder")
    r.add_argument("--routes", required=True, help="the route file the evaluation ran")
    r.add_argument("--maps", action="append", default=[], metavar="DIR", help="extra folders with .xodr towns")
    r.add_argument("--json", action="store_true", help="print one JSON object last")
    r.set_defaults(func=_report)


def _graph_args(a: argparse.Namespace) -> dict[str, str]:
    from lead.runner_cli import parse_params

    args = {"routes": a.routes, "route_ids": a.route_ids, "repetitions": str(a.repetitions), "out": a.out,
            "resume": str(a.resume), "rules": a.rules, "shard": a.shard, "agent": a.agent, "rig": a.rig,
            "seed": str(a.seed), "num_vehicles": str(a.num_vehicles), "num_pedestrians": str(a.num_pedestrians),
            "maps": os.pathsep.join(a.maps)}
    if getattr(a, "video", False):
        args["video"] = "true"
    for k in ("checkpoint", "backend", "shadow_backend"):  # pass-through; unset keeps the graph default
        if getattr(a, k, None) is not None:
            args[k] = getattr(a, k)
    args.update(parse_params(a.param))
    return args


def _eval(a: argparse.Namespace) -> int:
    if a.check_only:
        from lead.leaderboard.check import check_routes

        return check_routes(a.routes, a.maps, a.route_ids, json_out=True)
    if a.world != "embedded":  # a CARLA server must answer first (docs/carla.md)
        from lead.sim.carla_bridge import require_carla

        code = require_carla(a.world)
        if code:
            return code
    from lead.leaderboard.results import load_results

    if a.shadow_backend and a.agent != "tfv6":
        print("lead eval: --shadow-backend needs --agent tfv6", file=sys.stderr)
        return 2
    if a.agent == "tfv6" and a.checkpoint:  # a missing file is the user's error: say so before any node starts
        from lead.inference.ensemble import split_checkpoints
        from lead.inference.runtime import find_checkpoint

        try:
            for member in split_checkpoints(a.checkpoint):
                find_checkpoint(member)
        except FileNotFoundError as e:
            print(f"lead eval: {e}", file=sys.stderr)
            return 2
    try:
        code = run_eval_graph({**_graph_args(a), "world": a.world}, a.domain_id)
    except ValueError as e:
        print(f"lead eval: {e}", file=sys.stderr)
        return 2
    results = load_results(Path(a.out) / "checkpoint_endpoint.json")
    if results is None:
        print(f"lead eval: no results were written to {a.out}", file=sys.stderr)
        return code or 1
    summary = print_summary(results)
    if a.json:
        print(json.dumps(summary))
    return code


def run_eval_graph(args: dict, domain_id: int | None, out=None) -> int:
    """Run the eval graph with these graph arguments until it ends, restarting it with resume
    when the world stops answering (up to 3 times); ValueError on bad arguments. `out`: where
    node output goes (default stdout). Shared by `lead eval` and `lead collect`."""
    from lead.graphs import get_graph
    from lead.runner import GraphRunner

    graph = get_graph("eval")
    args = dict(args)
    if args.get("routes") and Path(str(args["routes"])).is_file():
        # a bad file or route subset is the user's error: say so here, not as a node's traceback
        from lead.world.routes import read_routes, select_routes

        routes = read_routes(str(args["routes"]))
        try:
            select_routes(routes, str(args.get("route_ids", "")))
        except ValueError as e:
            ids = [r.id for r in routes]
            raise ValueError(f"{args['routes']}: {e} (its route ids: {', '.join(ids[:8])}"
                             f"{', ...' if len(ids) > 8 else ''})") from None
    restarts = 0
    while True:
        try:
            nodes = graph.resolve(args)
        except (KeyError, ValueError) as e:
            raise ValueError(e.args[0]) from None
        runner = GraphRunner(nodes, domain_id=domain_id, out=out)
        signal.signal(signal.SIGTERM, runner.request_stop)
        signal.signal(signal.SIGINT, runner.request_stop)
        code = runner.run()
        if runner._stop.is_set() and code == 0:
            break
        if code == 3 and restarts < 3:  # the world stopped answering: start over, resuming
            restarts += 1
            runner.log(f"world stopped answering: restarting the graph with resume ({restarts}/3)")
            args["resume"] = "True"
            continue
        break
    return code


def print_summary(results) -> dict:
    rows = results.finished_records()
    print(f"\n{'route':28s} {'status':34s} {'DS':>7s} {'RC':>7s} {'IS':>6s}")
    for r in rows:
        s = r.scores
        print(f"{r.route_id:28s} {r.status:34s} {s['score_composed']:7.2f} {s['score_route']:7.2f} "
              f"{s['score_penalty']:6.3f}")
    n = len(rows)
    mean = {k: (sum(r.scores[k] for r in rows) / n if n else 0.0)
            for k in ("score_composed", "score_route", "score_penalty")}
    print(f"{'mean of ' + str(n) + ' routes':63s} {mean['score_composed']:7.2f} {mean['score_route']:7.2f} "
          f"{mean['score_penalty']:6.3f}")
    return {"routes": n, "DS": round(mean["score_composed"], 3), "RC": round(mean["score_route"], 3),
            "IS": round(mean["score_penalty"], 4)}


def _report(a: argparse.Namespace) -> int:
    from lead.leaderboard.report import failure_report, print_report
    from lead.world.maps_path import MapNotFoundError
    from lead.world.routes import RouteFileError

    try:
        report = failure_report(a.results, a.routes, a.maps)
    except (OSError, ValueError, RouteFileError, MapNotFoundError) as e:
        print(f"lead eval-report: {e}", file=sys.stderr)
        return 2
    print_report(report)
    if a.json:
        print(json.dumps(report))
    return 0


def _merge(a: argparse.Namespace) -> int:
    from lead.leaderboard.results import merge, save_results

    files = [Path(s) / "checkpoint_endpoint.json" if Path(s).is_dir() else Path(s) for s in a.shards]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        print(f"lead eval-merge: missing result files: {', '.join(missing)}", file=sys.stderr)
        return 2
    merged = merge(files)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    save_results(out / "checkpoint_endpoint.json", merged)
    print_summary(merged)
    print(f"merged {len(files)} files into {out / 'checkpoint_endpoint.json'}")
    return 0
