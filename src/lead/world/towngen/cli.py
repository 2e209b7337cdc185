"""`lead world generate`: write a procedural town (.xodr) and its route file."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register_generate(world_subparsers: argparse._SubParsersAction) -> None:
    """Add the `generate` subcommand to `lead world`."""
    p = world_subparsers.add_parser(
        "generate", help="write a procedural town (.xodr) and a matching Leaderboard 2.0 route file",
        description="Generate a town deterministically from a seed: NAME.xodr (OpenDRIVE 1.4) and "
        "NAME_routes.xml (Leaderboard 2.0 routes on it) in --out.")
    p.add_argument("--seed", type=int, required=True, help="random seed; the same seed gives the same town")
    p.add_argument("--out", type=Path, default=Path("routes"), help="output folder (default: routes/)")
    p.add_argument("--kind", choices=("grid", "irregular"), default="grid", help="street layout (default: grid)")
    p.add_argument("--name", help="town name and file stem (default: Lead<Kind><seed>, e.g. LeadGrid001)")
    p.add_argument("--routes", type=int, default=12, help="number of routes (default: 12)")
    p.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    p.set_defaults(func=_run)

    b = world_subparsers.add_parser(
        "bench", help="write the embedded benchmark: routes/embedded_bench/{train,eval,train_extra}.xml and its towns",
        description="Generate the embedded benchmark deterministically: the training and held-out evaluation "
        "towns (.xodr into --towns) and one Bench2Drive-style scenario per route (150-600 m) in "
        "--out/train.xml and --out/eval.xml, then a second training set on two more towns in "
        "--out/train_extra.xml (route ids continuing train.xml's). See routes/README.md.")
    b.add_argument("--out", type=Path, default=Path("routes/embedded_bench"), help="route files folder")
    b.add_argument("--towns", type=Path, default=Path("routes"), help="folder for the towns' .xodr files")
    b.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    b.set_defaults(func=_bench)


def _run(args: argparse.Namespace) -> int:
    from lxml import etree

    from lead.world.routes import write_routes
    from lead.world.towngen.generate import generate_town, town_name

    name = args.name or town_name(args.seed, args.kind)
    try:
        xodr, routes = generate_town(args.seed, args.kind, name, args.routes)
    except RuntimeError as e:  # e.g. more routes asked for than the town holds
        print(f"lead world generate: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    xodr_path = args.out / f"{name}.xodr"
    xodr_path.write_text(xodr, encoding="utf-8")
    routes_path = write_routes(args.out / f"{name}_routes.xml", routes)
    summary = {"town": name, "kind": args.kind, "seed": args.seed, "xodr": str(xodr_path),
               "routes_file": str(routes_path), "n_routes": len(routes),
               "xodr_bytes": xodr_path.stat().st_size}
    root = etree.fromstring(xodr.encode("utf-8"))
    summary["n_roads"] = len(root.findall("road"))
    summary["n_junctions"] = len(root.findall("junction"))
    print(f"wrote {xodr_path} ({summary['xodr_bytes'] / 1e3:.0f} kB) and {routes_path} ({len(routes)} routes)")
    if args.json:
        print(json.dumps(summary))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lead.world.towngen.benchgen import build_bench

    try:
        summary = build_bench(args.out, args.towns)
    except RuntimeError as e:
        print(f"lead world bench: {e}", file=sys.stderr)
        return 1
    for split, info in summary["sets"].items():
        print(f"{split}: {info['routes']} routes on {', '.join(info['towns'])}, "
              f"{len(info['scenario_types'])} scenario types -> {info['file']}")
    if args.json:
        print(json.dumps(summary))
    return 0
