"""`lead train`: the TFv6 trainer (lead.training.train). `lead data cache` lives in lead.recording.cli."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    from lead.training.args import DOC as doc

    p = sub.add_parser("train", help="train TFv6 on a dataset cache (pretrain / posttrain, DDP via torchrun)",
                       description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    from lead.training.args import build_parser

    build_parser(p)
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from lead.training.train import run

    return run(args)
