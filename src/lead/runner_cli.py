"""`lead run GRAPH` and `lead graphs`."""
from __future__ import annotations

import argparse
import json
import signal
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="start a node graph (each node its own process, sim time, clean shutdown)",
        description="Start every node of GRAPH as its own process with sim time and lead's shared-memory "
        "DDS transport, print their output prefixed with the node name, respawn nodes marked so, "
        "and stop them all on Ctrl-C / SIGTERM. `lead graphs` lists the graphs and their arguments.",
    )
    p.add_argument("graph", help="graph name (see `lead graphs`)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="ARG=VALUE",
                   help="set a graph argument (repeatable)")
    p.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID for every node of this run")
    p.add_argument("--timeout", type=float, default=None, help="stop the graph after this many wall seconds")
    p.add_argument("--no-color", action="store_true", help="plain prefixes even on a terminal")
    p.set_defaults(func=_run)

    g = sub.add_parser("graphs", help="list the node graphs", description="List every graph, its nodes and arguments.")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=_graphs)


def parse_params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"lead run: --param expects ARG=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def _run(args: argparse.Namespace) -> int:
    from lead.graphs import get_graph
    from lead.runner import GraphRunner

    try:
        graph = get_graph(args.graph)
        nodes = graph.resolve(parse_params(args.param))
    except (KeyError, ValueError) as e:
        print(f"lead run: {e.args[0]}", file=sys.stderr)
        return 2
    runner = GraphRunner(nodes, domain_id=args.domain_id, colour=False if args.no_color else None)
    signal.signal(signal.SIGTERM, runner.request_stop)
    signal.signal(signal.SIGINT, runner.request_stop)
    dom = args.domain_id if args.domain_id is not None else "from environment"
    runner.log(f"graph '{graph.name}': {len(nodes)} nodes, ROS_DOMAIN_ID {dom}")
    return runner.run(timeout=args.timeout)


def _graphs(args: argparse.Namespace) -> int:
    from lead.graphs import GRAPHS

    if args.json:
        print(json.dumps({name: {"description": g.description, "arguments": g.arguments,
                                 "nodes": [n.name for n in g.nodes]} for name, g in sorted(GRAPHS.items())}))
        return 0
    for name, g in sorted(GRAPHS.items()):
        print(f"{name}: {g.description}")
        print(f"  nodes: {', '.join(n.name + ('*' if n.required else '') for n in g.nodes)}")
        if g.arguments:
            print("  arguments: " + ", ".join(f"{k}={v}" for k, v in g.arguments.items()))
    return 0
