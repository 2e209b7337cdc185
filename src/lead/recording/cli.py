"""`lead collect` (expert data as MCAP bags) and `lead data info|check|cache` (dataset tools)."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
from pathlib import Path

AGENTS = ("expert", "route_follower")


def register(sub: argparse._SubParsersAction) -> None:
    if "collect" not in sub.choices:
        _register_collect(sub)
    if "data" not in sub.choices:
        _register_data(sub)


def _register_collect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "collect", help="drive routes with the expert and record one MCAP bag per route (LEAD's data table)",
        description="Run the eval graph (embedded world + route manager + expert, lock-step) with the "
        "perturbated views on (collect) and the recorder: one ROS 2 MCAP bag per route under OUT/bags "
        "(<route_id>.mcap, LEAD's topics at LEAD's save rate, result in the 'lead' metadata record), "
        "leaderboard results under OUT/results, node output in OUT/collect.log.",
    )
    p.add_argument("--routes", required=True, help="Leaderboard 1.0 or 2.0 route XML")
    p.add_argument("--out", required=True, help="dataset folder (bags/, results/, collect.log)")
    p.add_argument("--route-ids", default="", help='subset, e.g. "3,5-9" (default: all)')
    p.add_argument("--repetitions", type=int, default=1)
    p.add_argument("--rig", default="lead", help="sensor rig name or file (config/rigs)")
    p.add_argument("--agent", choices=AGENTS, default="expert",
                   help="who drives (route_follower: a plain route follower, for tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--maps", action="append", default=[], metavar="DIR",
                   help="extra folders with .xodr towns; repeatable")
    p.add_argument("--num-vehicles", type=int, default=-1, help="background vehicles (-1: world default)")
    p.add_argument("--num-pedestrians", type=int, default=-1)
    p.add_argument("--resume", action="store_true", help="skip routes already finished in OUT/results")
    p.add_argument("--param", "-p", action="append", default=[], metavar="ARG=VALUE",
                   help="any other eval graph argument (see `lead graphs`); the cameras render only "
                        "on saved ticks (camera_every=5) unless -p camera_every=1 (e.g. for -p video=true)")
    p.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID for this run")
    p.add_argument("--show-log", action="store_true", help="print node output instead of a progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON summary object last")
    p.set_defaults(func=_collect)


def _register_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="dataset tools: info, check, cache",
                       description="Inspect and prepare a folder of expert bags (from `lead collect`).")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    i = dsub.add_parser("info", help="frames, hours, km, per-scenario counts, infractions of the bags in DIR",
                        description="Summarize every *.mcap under DIR from its 'lead' metadata (counted from "
                        "the messages for bags whose recorder died).")
    i.add_argument("dir", help="folder of bags (searched recursively) or one bag")
    i.add_argument("--json", action="store_true", help="print one JSON object last")
    i.set_defaults(func=_info)
    c = dsub.add_parser("check", help="report truncated or corrupt bags (exit 1 if any)",
                        description="Read every message of every bag under DIR: ok, truncated (its readable "
                        "prefix: N messages, last stamp) or corrupt. Exit 1 when any bag is not ok.")
    c.add_argument("dir", help="folder of bags (searched recursively) or one bag")
    c.add_argument("--json", action="store_true", help="print one JSON object last")
    c.set_defaults(func=_check)
    k = dsub.add_parser("cache", help="preprocess bags into the training cache",
                        description="Turn the bags under BAGS_DIR into the training cache (lead.training.cache).")
    k.add_argument("bags_dir", help="folder of bags")
    k.add_argument("--out", required=True, help="cache folder")
    k.add_argument("--config", default="config/model/tfv6_small.yaml", help="model config")
    k.add_argument("--workers", type=int, default=1, help="bags cached in parallel (default: 1)")
    k.add_argument("--force", action="store_true", help="rebuild entries that exist")
    k.add_argument("--json", action="store_true", help="print one JSON object last")
    k.set_defaults(func=_cache)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


# ---------------------------------------------------------------------- collect
class _Progress:
    """A text stream for GraphRunner: every line goes to the log file; route ends move a bar."""

    _END = re.compile(r"\]: (\S+): (.+?); DS ([\d.]+) RC ([\d.]+)")

    def __init__(self, log_path: Path, total: int, echo: bool) -> None:
        from tqdm import tqdm

        self.file = open(log_path, "a", buffering=1)
        self.echo = echo
        self.bar = None if echo else tqdm(total=total, unit="route", desc="collect", file=sys.stderr)
        self.done: list[tuple[str, str, float, float]] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.file.write(text)
            if self.echo:
                sys.stdout.write(text)
            for line in text.splitlines():
                m = self._END.search(line)
                if m and "[route_manager]" in line:
                    self.done.append((m.group(1), m.group(2), float(m.group(3)), float(m.group(4))))
                    if self.bar is not None:
                        self.bar.update(1)
                        self.bar.set_postfix_str(f"{m.group(1)}: {m.group(2)[:30]} DS {m.group(3)}")
        return len(text)

    def flush(self) -> None:
        self.file.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.file.close()


def _collect(a: argparse.Namespace) -> int:
    from lead.io import data_table as DT
    from lead.leaderboard.campaign import plan_jobs
    from lead.leaderboard.cli import run_eval_graph
    from lead.recording.dataset import dataset_info, format_table
    from lead.runner_cli import parse_params

    if a.agent == "expert":
        import importlib.util

        if importlib.util.find_spec("lead.nodes.expert") is None:
            print("lead collect: the expert node (lead.nodes.expert) is not available in this install; "
                  "use --agent route_follower", file=sys.stderr)
            return 2
    try:
        jobs = plan_jobs(a.routes, a.route_ids, a.repetitions)
    except (OSError, ValueError, KeyError) as e:
        print(f"lead collect: {a.routes}: {e}", file=sys.stderr)
        return 2
    if not jobs:
        print(f"lead collect: {a.routes}: no routes selected (--route-ids {a.route_ids!r})", file=sys.stderr)
        return 2
    out = Path(a.out)
    bags, results = out / "bags", out / "results"
    bags.mkdir(parents=True, exist_ok=True)
    args = {"routes": a.routes, "route_ids": a.route_ids, "repetitions": str(a.repetitions), "out": str(results),
            "resume": str(a.resume), "agent": a.agent, "rig": a.rig, "seed": str(a.seed),
            "num_vehicles": str(a.num_vehicles), "num_pedestrians": str(a.num_pedestrians),
            "maps": os.pathsep.join(a.maps), "collect": "True", "record": str(bags),
            # the agents collect drives (expert, route follower) use no camera and the bags keep
            # images at the save rate only: render the cameras on those ticks alone
            "camera_every": str(DT.SAVE_EVERY)}
    try:
        args.update(parse_params(a.param))
    except ValueError as e:
        print(f"lead collect: {e}", file=sys.stderr)
        return 2
    log_path = out / "collect.log"
    progress = _Progress(log_path, len(jobs), a.show_log)
    try:
        code = run_eval_graph(args, a.domain_id, out=progress)
    except ValueError as e:
        progress.close()
        print(f"lead collect: {e}", file=sys.stderr)
        return 2
    progress.close()
    if code != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        print(f"lead collect: the graph ended with code {code}; full log in {log_path}", file=sys.stderr)
    info = dataset_info(bags)
    print(format_table(info))
    for rid, status, ds, rc in progress.done:
        if status not in ("Perfect", "Completed"):
            print(f"note: {rid} ended '{status}' (DS {ds:.1f}, RC {rc:.1f}); its bag is kept, with the result "
                  "in its metadata")
    _say_incomplete(info)
    t = info["totals"]
    print(f"{t['bags']} bags, {t['frames']} frames, {t['hours'] * 60:.2f} min, {t['km']:.3f} km, "
          f"{t['size_mb']:.1f} MB ({t['mb_per_frame']:.3f} MB/frame) in {bags}")
    if a.json:
        print(json.dumps({"code": code, "routes": len(jobs), "finished": len(progress.done),
                          "bags_dir": str(bags), "results_dir": str(results), **{"totals": t},
                          "bags": [{k: b[k] for k in ("path", "route_id", "status", "frames", "ticks",
                                                      "duration_s", "size_mb", "mb_per_frame")}
                                   for b in info["bags"]]}))
    return code


# ---------------------------------------------------------------------- data
def _say_incomplete(info: dict) -> None:
    """One line per bag that lacks messages (its metadata's 'missing': the recorder fell behind
    or a sensor did not publish)."""
    for b in info["bags"]:
        if b["missing"]:
            worst = sorted(b["missing"].items(), key=lambda kv: -kv[1])[:3]
            print(f"incomplete: {Path(b['path']).name} lacks {sum(b['missing'].values())} messages on "
                  f"{len(b['missing'])} topics (" + ", ".join(f"{k} {v}" for k, v in worst) + ")")


def _info(a: argparse.Namespace) -> int:
    from lead.recording.dataset import dataset_info, format_table

    try:
        info = dataset_info(a.dir)
    except FileNotFoundError as e:
        print(f"lead data info: {e}", file=sys.stderr)
        return 2
    t = info["totals"]
    print(format_table(info))
    print(f"frames {t['frames']}, hours {t['hours']:.4f}, km {t['km']:.3f}, truncated bags {t['truncated']}")
    _say_incomplete(info)
    if t["scenarios"]:
        print("scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(t["scenarios"].items())))
    print("statuses: " + (", ".join(f"{k} {v}" for k, v in sorted(t["statuses"].items())) or "-"))
    print("infractions: " + (", ".join(f"{k} {v}" for k, v in sorted(t["infractions"].items())) or "none"))
    if a.json:
        print(json.dumps(info))
    return 0


def _check(a: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lead.recording.dataset import check_bag, find_bags

    try:
        paths = find_bags(a.dir)
    except FileNotFoundError as e:
        print(f"lead data check: {e}", file=sys.stderr)
        return 2
    rows = [check_bag(p) for p in paths]
    for r in rows:
        last = f"{r.last_stamp_ns / 1e9:.2f} s" if r.last_stamp_ns is not None else "-"
        extra = f"readable prefix: {r.messages} messages, last stamp {last}" if r.status != "ok" else \
            f"{r.messages} messages, last stamp {last}"
        print(f"{r.status:9s} {r.path}  {extra}" + (f"  ({r.error})" if r.error else ""))
    bad = [r for r in rows if r.status != "ok"]
    print(f"{len(rows)} bags: {len(rows) - len(bad)} ok, "
          f"{sum(r.status == 'truncated' for r in rows)} truncated, {sum(r.status == 'corrupt' for r in rows)} corrupt")
    if a.json:
        print(json.dumps({"bags": [asdict(r) for r in rows], "ok": len(rows) - len(bad), "bad": len(bad)}))
    return 1 if bad else 0


def _cache(a: argparse.Namespace) -> int:
    try:
        from lead.training.cache import cache_main
    except ModuleNotFoundError as e:
        if e.name and "lead.training.cache".startswith(e.name):
            print("lead data cache: not available in this install (lead.training.cache is missing)",
                  file=sys.stderr)
            return 2
        raise
    return cache_main(a)
