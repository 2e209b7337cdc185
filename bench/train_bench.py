"""Training data path vs training step, side by side (issue 10).

For tfv6_small and tfv6_full: DataLoader samples/s (workers, real cached frames) vs training-step
samples/s (forward + backward + AdamW on the same batches); the loader must keep up (ratio >= 1.5).
And cache read MB/s (memory-mapped .npy shards) vs reading the raw MCAP bag (decode every message).
The bag is recorded here with the embedded world and the expert library (lead.training.synthetic).
Last stdout line: one JSON object.

    python bench/train_bench.py [--seconds 6] [--workers 2] [--steps 3] [--configs tfv6_small,tfv6_full]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def loader_rate(ds, batch: int, workers: int, batches: int) -> float:
    import torch

    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                     persistent_workers=False, drop_last=False)
    n, t0 = 0, None
    for i, b in enumerate(dl):
        if i == 0:
            t0 = time.perf_counter()  # worker start-up excluded: measured over the steady state
            continue
        n += len(b["rgb"])
        if i >= batches:
            break
    return n / max(time.perf_counter() - t0, 1e-9)


def step_rate(ds, cfg, batch: int, steps: int) -> float:
    import torch

    from lead.model.losses import compute_losses
    from lead.model.tfv6 import build_model
    from lead.training.dataset import split_batch

    model = build_model(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False, num_workers=0)
    batches = []
    for b in dl:
        batches.append(b)
        if len(batches) > steps:
            break
    n, t0 = 0, None
    for i in range(steps + 1):
        b = batches[i % len(batches)]
        if i == 1:
            t0 = time.perf_counter()  # first step (allocations) excluded
        x, t = split_batch(b, model.input_names)
        loss = compute_losses(model(x), t, cfg)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 1:
            n += len(b["rgb"])
    return n / max(time.perf_counter() - t0, 1e-9)


def cache_read(cache: Path, ds) -> float:
    import numpy as np

    t0 = time.perf_counter()
    nbytes = 0
    for i in range(len(ds)):
        for v in ds.raw(i).values():
            nbytes += np.asarray(v).nbytes
    return nbytes / 1e6 / max(time.perf_counter() - t0, 1e-9)


def bag_read(bag: Path) -> float:
    from lead.io.bag import BagReader

    t0 = time.perf_counter()
    raw = 0
    for m in BagReader(bag).messages(raw=True):
        raw += len(m.msg)
    t_raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in BagReader(bag).messages():
        pass
    t_dec = time.perf_counter() - t0
    return raw / 1e6 / max(t_raw, 1e-9), raw / 1e6 / max(t_dec, 1e-9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6.0, help="sim seconds of the recorded bag")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed training steps per config")
    ap.add_argument("--configs", default="tfv6_small,tfv6_full")
    ap.add_argument("--batch", default="tfv6_small=4,tfv6_full=1", help="batch per config")
    a = ap.parse_args()
    import torch

    from lead.model.config import load_config
    from lead.training.cache import build_cache
    from lead.training.dataset import CacheDataset
    from lead.training.synthetic import record_expert_bag

    batches = dict(kv.split("=") for kv in a.batch.split(","))
    result: dict = {"torch_threads": torch.get_num_threads(), "workers": a.workers}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        bag = record_expert_bag(tmp / "bags" / "route0.mcap", seconds=a.seconds)
        result["record_s"] = round(time.perf_counter() - t0, 2)
        result["bag_mb"] = round(bag.stat().st_size / 1e6, 2)
        result["bag_read_mb_s"], result["bag_decode_mb_s"] = (round(v, 1) for v in bag_read(bag))
        for name in a.configs.split(","):
            cfg = load_config(name)
            t0 = time.perf_counter()
            idx = build_cache(bag.parent, tmp / f"cache_{name}", name, progress=False)
            r: dict = {"cache_build_s": round(time.perf_counter() - t0, 2), "frames": idx["frames"]}
            ds = CacheDataset(tmp / f"cache_{name}", cfg, augment=True)
            bsz = int(batches.get(name, 2))
            r["batch"] = bsz
            r["cache_read_mb_s"] = round(cache_read(tmp / f"cache_{name}", ds), 1)
            r["loader_samples_s"] = round(loader_rate(ds, bsz, a.workers, max(2, idx["frames"] // bsz)), 2)
            r["train_step_samples_s"] = round(step_rate(ds, cfg, bsz, a.steps), 3)
            r["loader_to_step_ratio"] = round(r["loader_samples_s"] / max(r["train_step_samples_s"], 1e-9), 1)
            result[name] = r
            print(f"{name}: loader {r['loader_samples_s']} samples/s vs train step {r['train_step_samples_s']} "
                  f"samples/s -> ratio {r['loader_to_step_ratio']} (target >= 1.5); cache read "
                  f"{r['cache_read_mb_s']} MB/s", flush=True)
        first = a.configs.split(",")[0]
        result["cache_vs_bag_decode"] = round(result[first]["cache_read_mb_s"] / max(result["bag_decode_mb_s"], 1e-9), 1)
        print(f"bag: read {result['bag_read_mb_s']} MB/s raw, {result['bag_decode_mb_s']} MB/s decoded; cache "
              f"read is {result['cache_vs_bag_decode']}x the decoded bag rate")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
