#!/usr/bin/env python3
"""Open-loop probe: does a TFv6 checkpoint's route follow the planning inputs it is given?

On the validation routes of a cache with junction branches (`lead data cache` stores them;
lead.training.branches), each frame that has another branch of its junction is run twice
through the model: once as the expert drove it and once with the branch's command and target
points (the same sensors). The route head's last checkpoint counts as following what it was
asked when it lies nearer that path's last checkpoint than the other's. Both the nominal and the
perturbated view (the car off its lane, as after a closed-loop mistake) are probed.

A model that reads its inputs follows both; one that drives from the picture alone follows the
expert's path in both runs (models/tfv6_small/README.md, "The other branch of each junction").
Mind the perturbated figure: the collector draws one perturbation per route, so a validation
split of a few routes probes only that many views, and the figure swings between checkpoints.
Prints a table, and one JSON object last with --json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def follows(pred_end, own_end, other_end) -> bool:
    """Whether a predicted last route checkpoint follows the inputs it was given: it lies nearer
    the last checkpoint of the path it was asked for (own) than of the other path (a tie is no)."""
    import numpy as np

    return bool(np.linalg.norm(np.subtract(pred_end, own_end)) < np.linalg.norm(np.subtract(pred_end, other_end)))


def probe(checkpoint: str, cache: Path, val_fraction: float, batch: int = 16) -> dict:
    import numpy as np
    import torch

    from lead.inference.checkpoint import load_model
    from lead.inference.runtime import folder_entry
    from lead.training.dataset import CacheDataset

    path = Path(checkpoint)
    model = load_model(folder_entry(path, "torch") if path.is_dir() else path)
    names = model.input_names
    out: dict = {"checkpoint": checkpoint}
    for view, perturbed in (("nominal", False), ("perturbated", True)):
        ds = CacheDataset(cache, model.cfg, split="val", val_fraction=val_fraction, augment=perturbed,
                          perturb_p=1.0, color_p=0.0, junction_branches=True)
        pairs = sorted(ds.branch_items)   # item k - 1 is the same frame as the expert drove it
        asked = {"expert": 0, "branch": 0}
        with torch.no_grad():
            for start in range(0, len(pairs), batch):
                ks = pairs[start:start + batch]
                samples = [ds[i] for k in ks for i in (k - 1, k)]
                x = {k: torch.stack([s[k] for s in samples]) for k in names}
                pred = model(x)["route"][:, -1].float().numpy()
                ends = np.stack([s["route"][-1].numpy() for s in samples])
                for p in range(len(ks)):
                    e_pred, b_pred = pred[2 * p], pred[2 * p + 1]
                    e_end, b_end = ends[2 * p], ends[2 * p + 1]
                    asked["expert"] += follows(e_pred, e_end, b_end)
                    asked["branch"] += follows(b_pred, b_end, e_end)
        out[view] = {"frames": len(pairs), "follows_expert_inputs": asked["expert"],
                     "follows_branch_inputs": asked["branch"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="probe_branches.py", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files or model folders (models/tfv6_small)")
    parser.add_argument("--data", type=Path, required=True, help="cache folder with junction branches")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="as the training run's (default 0.1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    a = parser.parse_args(argv)
    if not (a.data / "index.json").is_file():
        parser.error(f"{a.data}: not a cache (no index.json); build one with `lead data cache`")
    try:
        results = [probe(c, a.data, a.val_fraction) for c in a.checkpoints]
    except (OSError, ValueError) as e:
        print(f"probe_branches.py: {e}", file=sys.stderr)
        return 2
    for r in results:
        for view in ("nominal", "perturbated"):
            v = r[view]
            print(f"{r['checkpoint']}  {view:12s} frames {v['frames']:4d}  follows the expert's inputs "
                  f"{v['follows_expert_inputs']:4d}  a branch's {v['follows_branch_inputs']:4d}")
    if a.json:
        print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
