"""`lead` command line: one subcommand per concern, each registered by its own module.

Every area keeps its CLI in `lead/<area>/cli.py` with `register(subparsers)`; heavy
imports (torch, rclpy, moderngl) happen inside the handlers so `lead --help` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# (module, what it adds) — order is the order of `lead --help`
COMMAND_MODULES = [
    "lead.runner_cli",        # run, graphs
    "lead.world.cli",         # world check|show|generate
    "lead.sim.cli",           # scenario preview
    "lead.leaderboard.cli",   # eval, eval merge
    "lead.recording.cli",     # collect, data info|check|cache
    "lead.expert.cli",        # collect
    "lead.training.cli",      # data cache|info|check, train
    "lead.model.cli",         # model summary
    "lead.inference.cli",     # export
    "lead.viz.cli",           # view
    "lead.webapp.cli",        # webapp
]


def build_parser() -> argparse.ArgumentParser:
    from lead import __version__

    p = argparse.ArgumentParser(
        prog="lead",
        description="lead: LEAD / TransFuser v6 as a ROS 2 stack. Drive, record, train and evaluate "
        "on the embedded simulator or a CARLA server.",
    )
    p.add_argument("--version", action="version", version=f"lead {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMAND_MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            # the area (package or its cli module) is not built yet
            if e.name and (mod == e.name or mod.startswith(e.name + ".")):
                continue
            raise
        m.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["eval", "merge"]:  # `lead eval merge ...` is the eval-merge command
        argv = ["eval-merge", *argv[2:]]
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lead ... | head`: the reader has gone; end quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 141  # 128 + SIGPIPE, what the shell reports for such a tool
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
