"""Checkpoint -> ONNX (config in its metadata) -> TensorRT engine: what `lead export` writes.

An export folder holds
    model.onnx          TFv6 as lead.model.export traces it (opset 17, dynamic batch); the
                        metadata carries the model config (lead.model_config) and the source
    model[.fp16].engine TensorRT engine, when asked for (built on this machine's GPU: engines
                        are specific to the GPU model and TensorRT version)
    export.json         what was written, from what, with which settings and hashes
The policy node takes the folder (or the .onnx) as its `checkpoint`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lead.inference.runtime import META_CONFIG, META_SOURCE, ONNX_NAME


def export_model(model, target: str | Path, source: str = "", opset: int | None = None) -> Path:
    """Write `model` (a TFv6) as ONNX at `target` with its config in the metadata (atomic)."""
    import onnx

    from lead.model.export import ONNX_OPSET, export_onnx

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + ".partial.onnx")
    export_onnx(model, tmp, opset=opset or ONNX_OPSET)
    proto = onnx.load(str(tmp))
    for k, v in ((META_CONFIG, json.dumps(model.cfg.to_dict(), sort_keys=True)), (META_SOURCE, source)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(tmp))
    tmp.replace(target)
    return target


def export_checkpoint(checkpoint: str | Path, out: str | Path, onnx: bool = True, trt: bool = False,
                      fp16: bool = False, check: bool = True) -> dict[str, Any]:
    """Export a trainer checkpoint into folder `out`; returns the export.json record.

    check: run the ONNX graph once in ONNX Runtime (and the engine in TensorRT) on example
    inputs and record the largest difference to torch."""
    from lead.inference.checkpoint import file_sha256, load_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(checkpoint)
    record: dict[str, Any] = {"checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint),
                              "config": model.cfg.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                              "files": {}}
    onnx_path = out / ONNX_NAME
    if onnx or trt:
        t0 = time.perf_counter()
        export_model(model, onnx_path, source=str(checkpoint))
        record["files"]["onnx"] = {"path": onnx_path.name, "sha256": file_sha256(onnx_path),
                                   "seconds": round(time.perf_counter() - t0, 2)}
        if check:
            record["files"]["onnx"]["max_abs_diff_vs_torch"] = _max_diff(model, "onnxruntime", onnx_path)
    if trt:
        from lead.inference.tensorrt_backend import build_engine

        t0 = time.perf_counter()
        engine, info = build_engine(onnx_path, fp16=fp16, cache_dir=out,
                                    name="model.fp16.engine" if fp16 else "model.engine")
        record["files"]["tensorrt"] = {"path": engine.name, **info, "seconds": round(time.perf_counter() - t0, 2)}
        if check:
            record["files"]["tensorrt"]["max_abs_diff_vs_torch"] = _max_diff(model, "tensorrt", onnx_path, fp16, out)
    (out / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _max_diff(model, backend: str, onnx_path: Path, fp16: bool = False, cache: Path | None = None) -> dict[str, float]:
    import numpy as np

    from lead.inference.runtime import OnnxRuntime, TorchRuntime
    from lead.model.tfv6 import example_inputs

    x = {k: v.numpy() for k, v in example_inputs(model.cfg).items()}
    ref = TorchRuntime(model).run(x)
    if backend == "onnxruntime":
        rt = OnnxRuntime(onnx_path)
    else:
        from lead.inference.tensorrt_backend import TensorRTRuntime

        rt = TensorRTRuntime(onnx_path, fp16=fp16, cache_dir=cache)
    got = rt.run(x)
    return {k: float(np.max(np.abs(got[k] - ref[k]))) for k in ref}
