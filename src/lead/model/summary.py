"""Parameter table, I/O shapes and (optionally) CPU latency of a TFv6 config."""
from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from lead.model.tfv6 import TFv6, example_inputs, input_shapes, output_shapes

LEAD_RESNET34_PARAMS = 60_000_000  # LEAD README: "ResNet34 (60M params)"


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def summarize(model: TFv6) -> dict[str, Any]:
    """Per-module parameter counts (the backbone split into its encoders and fusion), totals, I/O shapes."""
    modules: dict[str, int] = {}
    for name, child in model.named_children():
        if name == "backbone":
            modules.update({f"backbone.{n}": _count(c) for n, c in child.named_children()})
        else:
            modules[name] = _count(child)
    cfg = model.cfg
    return {
        "config": cfg.name,
        "modules": modules,
        "total_params": _count(model),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "inputs": {k: list(v) for k, v in input_shapes(cfg, 1).items()},
        "outputs": {k: list(v) for k, v in output_shapes(cfg, 1).items()},
    }


def measure_latency(model: TFv6, runs: int = 10, batch: int = 1, warmup: int = 2) -> dict[str, float]:
    """Eval-mode forward wall time in ms on the current torch thread setting."""
    model.eval()
    x = example_inputs(model.cfg, batch)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            t = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append((time.perf_counter() - t) * 1000.0)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs, "batch": batch,
            "threads": torch.get_num_threads()}


def format_table(summary: dict[str, Any]) -> str:
    lines = [f"TFv6 config '{summary['config']}'", f"{'module':<34}{'params':>14}"]
    lines += [f"{k:<34}{v:>14,}" for k, v in summary["modules"].items()]
    total = summary["total_params"]
    lines.append(f"{'total':<34}{total:>14,}  ({total / 1e6:.2f} M, "
                 f"{(total / LEAD_RESNET34_PARAMS - 1) * 100:+.1f} % vs LEAD ResNet-34's 60 M)")
    lines.append("inputs:  " + ", ".join(f"{k} {tuple(v)}" for k, v in summary["inputs"].items()))
    lines.append("outputs: " + ", ".join(f"{k} {tuple(v)}" for k, v in summary["outputs"].items()))
    if "latency" in summary:
        lat = summary["latency"]
        lines.append(f"CPU forward, batch {lat['batch']}, {lat['threads']} threads: median {lat['median_ms']:.1f} ms, "
                     f"min {lat['min_ms']:.1f} ms over {lat['runs']} runs")
    return "\n".join(lines)
