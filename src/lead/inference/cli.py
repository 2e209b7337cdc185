"""`lead export CKPT --onnx [--trt] [--fp16] --out DIR [--json]`."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="export a TFv6 checkpoint to ONNX (and a TensorRT engine)",
        description="Write DIR/model.onnx (the model config in its metadata) and, with --trt, a TensorRT "
        "engine built on this machine's GPU (DIR/model.engine or model.fp16.engine), plus DIR/export.json. "
        "Each artefact is run once on example inputs and its largest difference to torch is recorded. "
        "The policy node takes DIR as its checkpoint.")
    p.add_argument("checkpoint", help="trainer checkpoint (.pt/.pth)")
    p.add_argument("--onnx", action="store_true", help="write model.onnx (implied by --trt)")
    p.add_argument("--trt", action="store_true", help="also build a TensorRT engine (needs TensorRT and a GPU)")
    p.add_argument("--fp16", action="store_true", help="TensorRT engine in FP16 (default FP32)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-check", action="store_true", help="skip the comparison run against torch")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads for the export and the check")
    p.add_argument("--json", action="store_true", help="print the export record as one JSON object, last")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    import json
    import sys

    import torch

    from lead.inference.checkpoint import CheckpointError
    from lead.inference.export import export_checkpoint
    from lead.inference.runtime import BackendUnavailable

    if not (args.onnx or args.trt):
        print("lead export: nothing to do: give --onnx and/or --trt", file=sys.stderr)
        return 2
    if args.fp16 and not args.trt:
        print("lead export: --fp16 applies to the TensorRT engine: add --trt", file=sys.stderr)
        return 2
    torch.set_num_threads(max(args.threads, 1))
    try:
        record = export_checkpoint(args.checkpoint, args.out, onnx=True, trt=args.trt, fp16=args.fp16,
                                   check=not args.no_check)
    except CheckpointError as e:
        print(f"lead export: {e}", file=sys.stderr)
        return 2
    except BackendUnavailable as e:
        print(f"lead export: TensorRT unavailable here: {e} (the ONNX file was written)", file=sys.stderr)
        return 3
    for kind, f in record["files"].items():
        diff = f.get("max_abs_diff_vs_torch")
        worst = f", max |diff| vs torch {max(diff.values()):.2e}" if diff else ""
        print(f"{kind}: {args.out}/{f['path']} ({f['seconds']} s{worst})")
    if args.json:
        print(json.dumps(record))
    return 0
