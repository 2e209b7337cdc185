"""Command-line options of the TFv6 trainer (no torch import: `lead --help` stays fast).

TFv6 trainer: `lead train ...` or `torchrun --nproc_per_node=N -m lead.training.train ...`.

LEAD's recipe (specs/lead.md §5): AdamW (lr 3e-4, weight decay 0.01), cosine annealing with warm
restarts (T_0 = 1 epoch, T_mult = 2: restarts after epochs 1, 3, 7, 15, 31, hence 31 epochs),
bf16 autocast on GPUs (fp32 on the CPU unless --precision bf16), gradient clipping, loss weights
per head from the model config. Stages: `pretrain` trains the perception heads without the
planning decoder; `posttrain` trains all heads, starting from `--init` (the pretrain checkpoint;
planning weights start fresh). Not in LEAD's recipe, off by default: --standing-keep K,
--junction-repeat N (--junction-commands to narrow it).

DDP when launched by torchrun (WORLD_SIZE > 1): nccl on GPUs, gloo on the CPU, a
DistributedSampler; every rank computes, only rank 0 writes (checkpoints, logs, metrics).

RUN/ holds: model_EEEE.pth (lead.inference.checkpoint format: config + weights + meta, loadable
by the policy), last.pt (everything to resume exactly: model, optimizer, scheduler, scaler, RNG
states, epoch, step, config, data hash), config.yaml, metrics.json (validation per epoch),
curves.png, tb/ (TensorBoard). Writes are atomic (tmp file + rename).
Resume is exact: the sampler order and the augmentation draws depend only on (seed, epoch,
index), the RNG states are restored, and a run stopped by --max-steps inside an epoch resumes
at the next batch of that epoch.
"""
from __future__ import annotations

import argparse

DOC = __doc__
LR, WEIGHT_DECAY, EPOCHS, BATCH, T_0, T_MULT = 3e-4, 0.01, 31, 64, 1, 2


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="lead.training.train", description=DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="tfv6_small", help="model config YAML or name in config/model/")
    p.add_argument("--data", required=True, help="dataset cache (lead data cache BAGS --out CACHE)")
    p.add_argument("--stage", choices=("pretrain", "posttrain"), default="posttrain",
                   help="pretrain: perception heads only; posttrain: all heads (use --init)")
    p.add_argument("--init", help="checkpoint to start from (e.g. the pretrain model_EEEE.pth)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue RUN/last.pt exactly")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch-size", type=int, default=BATCH, help="global batch (split over DDP ranks)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps in all")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers per rank")
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    p.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of routes held out for validation")
    p.add_argument("--nan-limit", type=int, default=10, help="stop after this many non-finite losses")
    p.add_argument("--no-augment", action="store_true", help="no colour jitter, no perturbated views")
    p.add_argument("--deterministic", action="store_true", help="deterministic kernels (for exact resume)")
    p.add_argument("--no-val", action="store_true", help="skip the validation pass")
    p.add_argument("--save-every", type=int, default=1,
                   help="epochs between checkpoints / metrics / curves (the last epoch is always saved)")
    p.add_argument("--log-every", type=int, default=10, help="steps between TensorBoard scalars")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training samples")
    p.add_argument("--standing-keep", type=int, default=None, metavar="K",
                   help="train on only the first and last K frames of each wait of the expert (speed and "
                        "target speed < 0.5 m/s); default: every frame, as LEAD. Validation keeps every frame")
    p.add_argument("--junction-repeat", type=int, default=None, metavar="N",
                   help="train on each frame whose input command (the one-hot the model is given) is LEFT, "
                        "RIGHT or STRAIGHT (a junction) N times per epoch; default: once, as LEAD. Validation "
                        "keeps every frame once")
    p.add_argument("--junction-commands", default="LEFT,RIGHT,STRAIGHT", metavar="LIST",
                   help="which junction commands --junction-repeat repeats, comma-separated (e.g. STRAIGHT); "
                        "default: all three")
    p.add_argument("--junction-branches", action="store_true",
                   help="train each frame that has another branch of its junction once more per epoch with that "
                        "branch's command, target points and route checkpoints (route loss only), so the route "
                        "follows the planning inputs; needs a cache built with branches. Default: off, as LEAD")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="autocast: auto = bf16 on GPUs, fp32 on the CPU; bf16 on a CPU with AVX-512 BF16 or "
                        "AMX trains ~1.3x faster")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available)")
    p.add_argument("--dropout", type=float, default=None, help="override every dropout of the config")
    p.add_argument("--bn-eval", action="store_true",
                   help="BatchNorm layers use their running statistics (eval mode) while training")
    p.add_argument("--dump-grads", default=None, help=argparse.SUPPRESS)  # tests: rank 0's first gradients
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    return p


