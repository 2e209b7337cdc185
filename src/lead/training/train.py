"""TFv6 trainer: `lead train ...` or `torchrun --nproc_per_node=N -m lead.training.train ...`.

The recipe, the stages, DDP, what a run folder holds and how resume works are described once,
in lead.training.args (the text `lead train --help` prints).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger("lead.training")
from lead.training.args import BATCH, EPOCHS, LR, T_0, T_MULT, WEIGHT_DECAY, build_parser  # noqa: F401


# ----------------------------------------------------------------------------- helpers

def stage_config(cfg, stage: str, dropout: float | None = None):
    if stage == "pretrain":
        cfg = dataclasses.replace(cfg, planning=dataclasses.replace(cfg.planning, enabled=False))
    if dropout is not None:
        cfg = dataclasses.replace(
            cfg, fusion=dataclasses.replace(cfg.fusion, embd_dropout=dropout, attn_dropout=dropout,
                                            resid_dropout=dropout),
            planning=dataclasses.replace(cfg.planning, dropout=dropout),
            radar=dataclasses.replace(cfg.radar, dropout=dropout))
    return cfg


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    s = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def _set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


class Dist:
    """torchrun's environment: rank, world size, device, backend."""

    def __init__(self, device: str | None) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
        self.device = torch.device(f"cuda:{self.local}" if cuda and self.world > 1 else (device or ("cuda" if cuda else "cpu")))
        if cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            import torch.distributed as td

            td.init_process_group("nccl" if cuda else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as td

            td.barrier()

    def all_true(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        import torch.distributed as td

        t = torch.tensor([0.0 if flag else 1.0], device=self.device)
        td.all_reduce(t)
        return t.item() == 0.0

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as td

            td.destroy_process_group()


def set_train(model, bn_eval: bool = False) -> None:
    model.train()
    if bn_eval:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# ----------------------------------------------------------------------------- validation

@torch.no_grad()
def validate(model, loader, cfg, device, autocast) -> dict[str, float]:
    """Waypoint L2 at 1 s / 2 s, target-speed accuracy, BEV semantic mIoU, box precision/recall
    at 2 m (centre distance, any class), mean loss."""
    from lead.model.classes import BEV_SEMANTIC_CLASSES
    from lead.model.losses import compute_losses
    from lead.model.postprocess import decode_boxes
    from lead.training.dataset import split_batch

    model.eval()
    names = model.input_names
    l2_1 = l2_2 = acc = n = 0.0
    inter = np.zeros(len(BEV_SEMANTIC_CLASSES))
    union = np.zeros(len(BEV_SEMANTIC_CLASSES))
    tp = n_pred = n_gt = 0
    loss_sum = 0.0
    for batch in loader:
        batch = to_device(batch, device)
        x, t = split_batch(batch, names)
        with autocast():
            out = model(x)
        out = {k: v.float() for k, v in out.items()}
        loss_sum += float(compute_losses(out, t, cfg)["loss"]) * len(batch["rgb"])
        b = len(batch["rgb"])
        n += b
        if "future_waypoints" in out:
            d = (out["future_waypoints"] - t["future_waypoints"]).norm(dim=-1)
            l2_1 += float(d[:, 3].sum())
            l2_2 += float(d[:, 7].sum())
            acc += float((out["target_speed_logits"].argmax(-1) == t["target_speed_class"]).sum())
        if "bev_semantic" in out and "bev_semantic" in t:
            pred = out["bev_semantic"].argmax(1).cpu().numpy()
            gt = t["bev_semantic"].cpu().numpy()
            valid = gt >= 0
            for c in range(len(BEV_SEMANTIC_CLASSES)):
                p, g = (pred == c) & valid, gt == c
                inter[c] += np.logical_and(p, g).sum()
                union[c] += np.logical_or(p, g).sum()
        if "center_heatmap" in out:
            for i, pred_boxes in enumerate(decode_boxes(out, cfg)):
                gt = t["boxes"][i, :int(t["num_boxes"][i])].cpu().numpy()
                n_pred += len(pred_boxes)
                n_gt += len(gt)
                used = np.zeros(len(gt), bool)
                for pb in pred_boxes:
                    if not len(gt):
                        break
                    dist = np.hypot(gt[:, 0] - pb[0], gt[:, 1] - pb[1])
                    dist[used] = np.inf
                    j = int(np.argmin(dist))
                    if dist[j] <= 2.0:
                        used[j] = True
                        tp += 1
    m: dict[str, float] = {"val_samples": n, "val_loss": loss_sum / max(n, 1)}
    if n and cfg.planning.enabled:
        m.update(waypoint_l2_1s=l2_1 / n, waypoint_l2_2s=l2_2 / n, target_speed_accuracy=acc / n)
    present = union > 0
    if present.any():
        m["bev_semantic_miou"] = float((inter[present] / union[present]).mean())
    if cfg.boxes.enabled:
        m["box_precision_2m"] = tp / n_pred if n_pred else 0.0
        m["box_recall_2m"] = tp / n_gt if n_gt else 1.0
    return m


# ----------------------------------------------------------------------------- panels

def _bev_colour(classes: np.ndarray) -> np.ndarray:
    pal = (np.array([[0, 0, 0], [90, 90, 90], [255, 255, 255], [255, 0, 0], [0, 0, 255], [0, 255, 0],
                     [255, 128, 0], [0, 128, 255], [255, 0, 255], [0, 255, 255], [0, 200, 0], [200, 0, 0],
                     [128, 0, 0]], np.uint8))
    return pal[np.clip(classes, 0, len(pal) - 1)]


def log_panels(tb, model, batch, cfg, device, step: int) -> None:
    """Input cameras, predicted vs true BEV semantics, predicted vs true waypoints."""
    from lead.training.dataset import split_batch

    model.eval()
    with torch.no_grad():
        x, t = split_batch(to_device({k: v[:1] for k, v in batch.items()}, device), model.input_names)
        out = model(x)
    tb.add_image("inputs/cameras", (x["rgb"][0] / 255.0).clamp(0, 1).cpu(), step)
    if "rasterized_lidar" in x:
        tb.add_image("inputs/lidar", x["rasterized_lidar"][0].cpu(), step)
    if "bev_semantic" in out and "bev_semantic" in t:
        pred = _bev_colour(out["bev_semantic"][0].argmax(0).cpu().numpy())
        true = _bev_colour(t["bev_semantic"][0].cpu().numpy())
        tb.add_image("bev/pred_vs_true", np.concatenate([pred, true], axis=1), step, dataformats="HWC")
    if "future_waypoints" in out:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return
        fig, ax = plt.subplots(figsize=(3, 4))
        for name, w, c in (("true", t["future_waypoints"][0], "g"), ("pred", out["future_waypoints"][0], "r")):
            w = w.float().cpu().numpy()
            ax.plot(w[:, 1], w[:, 0], c + "o-", label=name)
        ax.set_xlabel("y right (m)")
        ax.set_ylabel("x forward (m)")
        ax.legend()
        ax.set_aspect("equal")
        tb.add_figure("plan/waypoints", fig, step)
        plt.close(fig)


def write_curves(path: Path, steps: list[tuple[int, float]], epochs: list[dict]) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if steps:
        s, l = zip(*steps)
        axes[0].plot(s, l, lw=0.8)
        axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss")
    for key in ("val_loss", "waypoint_l2_2s", "bev_semantic_miou", "target_speed_accuracy"):
        pts = [(e["epoch"], e[key]) for e in epochs if key in e]
        if pts:
            axes[1].plot(*zip(*pts), "o-", label=key)
    axes[1].set_xlabel("epoch")
    if axes[1].lines:
        axes[1].legend()
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return True


# ----------------------------------------------------------------------------- training

def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run a training; returns the summary (also the JSON line of --json)."""
    from torch.utils.data import DataLoader, DistributedSampler

    from lead.inference.checkpoint import load_checkpoint, save_checkpoint
    from lead.model.config import load_config
    from lead.model.losses import compute_losses
    from lead.model.tfv6 import build_model
    from lead.training.dataset import CacheDataset, junction_command_values, split_batch

    dist = Dist(args.device)
    device = dist.device
    if args.deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
    cfg = stage_config(load_config(args.config), args.stage, args.dropout)
    if args.batch_size % dist.world:
        raise SystemExit(f"--batch-size {args.batch_size} is not divisible by {dist.world} ranks")
    per_rank = args.batch_size // dist.world

    try:
        junction_commands = junction_command_values(args.junction_commands)
    except ValueError as e:
        raise SystemExit(f"--junction-commands: {e}") from None
    try:
        train_ds = CacheDataset(args.data, cfg, "train", args.val_fraction, augment=not args.no_augment,
                                seed=args.seed, limit=args.limit, standing_keep=args.standing_keep,
                                junction_repeat=args.junction_repeat, junction_commands=junction_commands,
                                junction_branches=args.junction_branches)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    parts = ([f"--standing-keep {args.standing_keep} left out {train_ds.dropped_standing} waiting frames"]
             if args.standing_keep is not None else [])
    parts += ([f"--junction-repeat {args.junction_repeat} added {train_ds.junction_copies} copies of "
               f"{args.junction_commands} frames"] if args.junction_repeat is not None else [])
    parts += ([f"--junction-branches added {len(train_ds.branch_items)} frames along another branch of their "
               f"junction"] if args.junction_branches else [])
    if parts and dist.main:
        log.info("%d training samples per epoch: %s", len(train_ds), ", ".join(parts))
    if len(train_ds) == 0:
        raise SystemExit(f"{args.data}: no training samples")
    val_ds = CacheDataset(args.data, cfg, "val", args.val_fraction, augment=False, seed=args.seed)
    sampler = DistributedSampler(train_ds, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=args.seed,
                                 drop_last=len(train_ds) >= args.batch_size)
    gen = torch.Generator().manual_seed(args.seed)  # the loader's own: keeps the global RNG for dropout

    def loader(epoch: int) -> DataLoader:
        sampler.set_epoch(epoch)
        train_ds.set_epoch(epoch)
        return DataLoader(train_ds, batch_size=per_rank, sampler=sampler, num_workers=args.workers,
                          generator=gen, drop_last=len(train_ds) >= args.batch_size,
                          persistent_workers=False, pin_memory=device.type == "cuda")

    model = build_model(cfg).to(device)
    if args.init and not args.resume:
        icfg, state = load_checkpoint(args.init)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if dist.main:
            log.info("initialised from %s (%d tensors new in this stage, %d unused)", args.init, len(missing),
                     len(unexpected))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_MULT)
    amp = device.type == "cuda"
    bf16 = args.precision == "bf16" or (args.precision == "auto" and amp)

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    epoch, step, start_batch, nan_count = 0, 0, 0, 0
    history: list[dict] = []
    loss_curve: list[tuple[int, float]] = []
    last = out / "last.pt"
    if args.resume:
        if not last.is_file():
            raise SystemExit(f"--resume: {last} does not exist")
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        epoch, step, start_batch, nan_count = ck["epoch"], ck["step"], ck["batch_in_epoch"], ck["nan_count"]
        history, loss_curve = ck.get("history", []), [tuple(x) for x in ck.get("loss_curve", [])]
        gen.set_state(ck["loader_rng"])
        _set_rng_state(ck["rng"][dist.rank] if isinstance(ck["rng"], list) else ck["rng"])
        if ck.get("data_hash") != train_ds.data_hash and dist.main:
            log.warning("resuming on a cache whose data hash changed (%s -> %s)", ck.get("data_hash", "")[:12],
                        train_ds.data_hash[:12])
    net = model
    if dist.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if amp else None)

    tb = None
    if dist.main:
        (out / "config.yaml").write_text(__import__("yaml").safe_dump(cfg.to_dict(), sort_keys=False))
        try:
            from torch.utils.tensorboard import SummaryWriter
            tb = SummaryWriter(str(out / "tb"))
        except ImportError:
            log.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")

    def save(kind: str, batch_in_epoch: int) -> None:
        rngs = [_rng_state()]
        if dist.world > 1:
            import torch.distributed as td

            rngs = [None] * dist.world
            td.all_gather_object(rngs, _rng_state())
        if not dist.main:
            return
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "scaler": None, "rng": rngs if dist.world > 1 else rngs[0], "loader_rng": gen.get_state(),
                 "epoch": epoch, "step": step, "batch_in_epoch": batch_in_epoch, "nan_count": nan_count,
                 "config": cfg.to_dict(), "stage": args.stage, "data_hash": train_ds.data_hash,
                 "history": history, "loss_curve": loss_curve, "args": vars(args)}
        _atomic_save(state, last)
        if kind == "epoch":
            save_checkpoint(out / f"model_{epoch:04d}.pth", cfg, model.state_dict(), epoch=epoch, step=step,
                            stage=args.stage, data_hash=train_ds.data_hash, seed=args.seed)

    steps_per_epoch = max(1, math.ceil(len(sampler) / per_rank) if len(train_ds) < args.batch_size
                          else len(sampler) // per_rank)
    t_start = time.time()
    samples_seen = 0
    stop = ""
    names = model.input_names
    set_train(model, args.bn_eval)
    while epoch < args.epochs and not stop:
        dl = loader(epoch)
        bar = None
        if dist.main:
            try:
                from tqdm import tqdm
                bar = tqdm(total=steps_per_epoch, initial=start_batch, desc=f"{args.stage} epoch {epoch}",
                           unit="step", dynamic_ncols=True)
            except ImportError:
                pass
        t_epoch = time.time()
        n_epoch = 0
        for i, batch in enumerate(dl):
            if i < start_batch:
                continue  # resumed inside this epoch: these batches were trained on
            if args.max_steps is not None and step >= args.max_steps:
                stop = "max_steps"
                save("step", i)
                break
            batch = to_device(batch, device)
            x, t = split_batch(batch, names)
            sched.step(epoch + i / steps_per_epoch)  # fractional epochs: cosine within the epoch
            with autocast():
                outputs = net(x)
            losses = compute_losses({k: v.float() for k, v in outputs.items()}, t, cfg)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            finite = dist.all_true(bool(torch.isfinite(losses["loss"]).item()))
            if not finite:
                nan_count += 1
                log.warning("step %d: non-finite loss (%s): step skipped (%d of --nan-limit %d)", step,
                            {k: float(v) for k, v in losses.items()}, nan_count, args.nan_limit)
                opt.zero_grad(set_to_none=True)
                if nan_count >= args.nan_limit:
                    stop = "nan_limit"
                    break
                continue
            if args.dump_grads and step == 0 and dist.main:
                torch.save({n: p.grad.detach().cpu().clone() for n, p in model.named_parameters()
                            if p.grad is not None} | {"_indices": batch["index"].cpu()}, args.dump_grads)
            if args.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            step += 1
            b = len(batch["rgb"]) * dist.world
            samples_seen += b
            n_epoch += b
            lv = float(losses["loss"].detach())
            loss_curve.append((step, lv))
            rate = n_epoch / max(time.time() - t_epoch, 1e-9)
            if bar is not None:
                bar.set_postfix(loss=f"{lv:.3f}", samples_s=f"{rate:.1f}")
                bar.update(1)
            if tb is not None and (step % args.log_every == 0 or step == 1):
                for k, v in losses.items():
                    tb.add_scalar(f"train/{k}", float(v.detach()), step)
                tb.add_scalar("train/lr", opt.param_groups[0]["lr"], step)
                tb.add_scalar("train/samples_per_s", rate, step)
        else:
            start_batch = 0
            if bar is not None:
                bar.close()
            epoch_metrics: dict[str, Any] = {"epoch": epoch, "step": step,
                                             "train_samples_per_s": n_epoch / max(time.time() - t_epoch, 1e-9)}
            if dist.main and not args.no_val:
                vds = val_ds if len(val_ds) else CacheDataset(args.data, cfg, "all", seed=args.seed)
                vdl = DataLoader(vds, batch_size=per_rank, num_workers=min(args.workers, 2))
                epoch_metrics.update(validate(model, vdl, cfg, device, autocast))
                if tb is not None:
                    for k, v in epoch_metrics.items():
                        if isinstance(v, float):
                            tb.add_scalar(f"val/{k}", v, step)
                    log_panels(tb, model, next(iter(vdl)), cfg, device, step)
                set_train(model, args.bn_eval)
            history.append(epoch_metrics)
            epoch += 1
            if epoch % max(1, args.save_every) and epoch < args.epochs:
                continue
            save("epoch", 0)
            if dist.main:
                (out / "metrics.json").write_text(json.dumps({"stage": args.stage, "config": cfg.name,
                                                              "data_hash": train_ds.data_hash, "epochs": history},
                                                             indent=1))
                write_curves(out / "curves.png", loss_curve, history)
            dist.barrier()
            continue
        if bar is not None:
            bar.close()
    if not stop and args.max_steps is not None and step >= args.max_steps:
        stop = "max_steps"
    elapsed = time.time() - t_start
    if tb is not None:
        tb.close()
    summary = {"run": str(out), "stage": args.stage, "config": cfg.name, "epochs": epoch, "steps": step,
               "samples_per_s": samples_seen / max(elapsed, 1e-9), "seconds": elapsed,
               "final_loss": loss_curve[-1][1] if loss_curve else None, "stopped": stop or "epochs",
               "nan_steps": nan_count, "data_hash": train_ds.data_hash, "world_size": dist.world,
               "metrics": history[-1] if history else {}}
    if dist.main and history:
        write_curves(out / "curves.png", loss_curve, history)
    dist.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    s = train(args)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"{s['stage']}: {s['steps']} steps, {s['epochs']} epochs, {s['samples_per_s']:.1f} samples/s, "
              f"final loss {s['final_loss']}, stopped: {s['stopped']} -> {s['run']}")
        if getattr(args, "json", False):
            print(json.dumps(s, default=float))
    return 3 if s["stopped"] == "nan_limit" else 0


if __name__ == "__main__":
    sys.exit(main())
