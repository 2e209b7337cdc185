#!/usr/bin/env python3
"""Copy a trained TFv6 run into a model folder for git: the posttrain checkpoint of the last
epoch, as LEAD ships `model_0030.pth` (the end of a cosine cycle), with its weights stored as
float16 (half the bytes; loading casts them back to float32), the config, the data hash, the
validation metrics of both stages and the training curves. `--best-val-l2` ships the epoch with
the lowest validation waypoint L2 at 2 s instead (lead's rule until 2026-12-07: twice its pick
drove worse closed loop than another epoch of the same run; see models/tfv6_small/README.md).
`--finetune RUN` ships that run's epoch instead (a further stage started from the posttrain
checkpoint, e.g. one epoch with `--junction-branches`): its metrics and curves go beside the
other two stages', and data_hash.txt names the data it was fine-tuned on.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def main(pre: Path, post: Path, out: Path, best_val_l2: bool = False, finetune: Path | None = None) -> int:
    import torch

    post_m = json.loads((post / "metrics.json").read_text())
    last = finetune if finetune is not None else post   # the run whose epoch is shipped
    last_m = json.loads((last / "metrics.json").read_text())
    if best_val_l2:
        selected = min(last_m["epochs"], key=lambda e: e.get("waypoint_l2_2s", float("inf")))
    else:
        selected = max(last_m["epochs"], key=lambda e: e["epoch"])
    chosen = last / f"model_{selected['epoch'] + 1:04d}.pth"   # model_EEEE.pth is written after epoch EEEE-1
    if not chosen.exists():
        print(f"ship_model: {chosen} is missing", file=sys.stderr)
        return 2
    ck = torch.load(chosen, map_location="cpu", weights_only=False)
    ck["model"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["model"].items()}
    ck.setdefault("meta", {})["stored_dtype"] = "float16"
    ck["meta"]["source"] = str(chosen)
    ck["meta"]["selected_epoch"] = selected["epoch"]
    out.mkdir(parents=True, exist_ok=True)
    torch.save(ck, out / "model.pt")
    shutil.copy(last / "config.yaml", out / "config.yaml")
    shutil.copy(post / "curves.png", out / "curves.png")
    pre_m = json.loads((pre / "metrics.json").read_text())
    metrics = {"selected": {"checkpoint": chosen.name, "stage": "finetune" if finetune else "posttrain", **selected},
               "pretrain": pre_m, "posttrain": post_m}
    if finetune is not None:
        shutil.copy(finetune / "curves.png", out / "curves_finetune.png")
        metrics["finetune"] = last_m
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (out / "data_hash.txt").write_text(last_m["data_hash"] + "\n")
    size = (out / "model.pt").stat().st_size / 1e6
    print(f"shipped {chosen} -> {out}/model.pt ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="ship_model.py", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--best-val-l2", action="store_true",
                        help="ship the epoch with the lowest validation waypoint L2 at 2 s, not the last")
    parser.add_argument("--finetune", type=Path, default=None, metavar="RUN",
                        help="a run started from the posttrain checkpoint: ship its epoch instead")
    parser.add_argument("pretrain_run", type=Path)
    parser.add_argument("posttrain_run", type=Path)
    parser.add_argument("out_dir", type=Path)
    a = parser.parse_args()
    sys.exit(main(a.pretrain_run, a.posttrain_run, a.out_dir, best_val_l2=a.best_val_l2, finetune=a.finetune))
