"""`lead model summary --config FILE [--json] [--latency N] [--threads T]`."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("model", help="TFv6 model tools")
    sub = p.add_subparsers(dest="model_command", metavar="SUBCOMMAND", required=True)
    s = sub.add_parser("summary", help="per-module parameter table, total and I/O shapes of a model config")
    s.add_argument("--config", required=True, help="model YAML (path, or a name in config/model/ e.g. tfv6_small)")
    s.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    s.add_argument("--latency", type=int, default=0, metavar="N", help="also time N CPU forward passes, batch 1")
    s.add_argument("--threads", type=int, default=0, help="torch threads for --latency (default: torch's)")
    s.set_defaults(func=_summary)


def _summary(args: argparse.Namespace) -> int:
    import json

    import torch

    from lead.model import ModelConfigError, build_model, load_config
    from lead.model.summary import format_table, measure_latency, summarize

    try:
        cfg = load_config(args.config)
    except ModelConfigError as e:
        print(f"error: {e}")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model(cfg)
    result = summarize(model)
    if args.latency:
        result["latency"] = measure_latency(model, runs=args.latency)
    print(format_table(result))
    if args.json:
        print(json.dumps(result))
    return 0
