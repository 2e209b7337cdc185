"""TensorRT runtime: an engine built from the exported ONNX graph (FP32 or FP16) and cached.

TensorRT and a CUDA GPU are needed only here, and imported only when this backend is used:
on a machine without them `require_tensorrt()` raises BackendUnavailable saying what is
missing, and nothing else in lead notices. Device buffers are torch CUDA tensors (the
PyTorch that drives training on the GPU machines), so no pycuda / cuda-python is needed.

Engines are specific to the GPU model, the TensorRT version and the build settings, so the
cache key is the SHA-256 of: the ONNX file's bytes, fp16, workspace, batch, TensorRT version,
GPU name and compute capability. A cached engine is used only when its sidecar JSON holds
the same key; anything else rebuilds it (a build takes a minute or more for tfv6_full).
FP32 builds clear TensorRT's TF32 flag so FP32 means FP32 (TF32 is on by default on Ampere+).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lead.inference.runtime import BackendUnavailable, Runtime, default_cache_dir, onnx_config

WORKSPACE_GB = 4.0


def require_tensorrt():
    """The tensorrt module, or BackendUnavailable with the reason it cannot run here."""
    try:
        import tensorrt as trt
    except ImportError as e:
        raise BackendUnavailable(f"TensorRT is not installed (pip install tensorrt on a CUDA machine): {e}") from None
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a core dependency
        raise BackendUnavailable(f"the TensorRT backend allocates buffers with torch: {e}") from None
    if not torch.cuda.is_available():
        raise BackendUnavailable("TensorRT needs a CUDA GPU and torch sees none (torch.cuda.is_available() is False)")
    return trt


def _gpu(device: str) -> dict[str, Any]:
    import torch

    idx = torch.device(device).index or 0
    major, minor = torch.cuda.get_device_capability(idx)
    return {"gpu": torch.cuda.get_device_name(idx), "capability": f"{major}.{minor}"}


def engine_key(onnx_path: str | Path, fp16: bool, workspace_gb: float = WORKSPACE_GB, batch: int = 1,
               device: str = "cuda:0") -> tuple[str, dict[str, Any]]:
    """(cache key, the settings it covers) for an engine of `onnx_path` on this machine."""
    trt = require_tensorrt()
    h = hashlib.sha256(Path(onnx_path).read_bytes())
    settings = {"onnx_sha256": h.hexdigest(), "fp16": bool(fp16), "workspace_gb": float(workspace_gb),
                "batch": int(batch), "tensorrt": trt.__version__, **_gpu(device)}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return key, settings


def build_engine(onnx_path: str | Path, fp16: bool = False, cache_dir: str | Path | None = None,
                 name: str | None = None, workspace_gb: float = WORKSPACE_GB, batch: int = 1,
                 device: str = "cuda:0") -> tuple[Path, dict[str, Any]]:
    """The engine file for `onnx_path` (built unless a cached one has the same key) and its record."""
    trt = require_tensorrt()
    onnx_path = Path(onnx_path)
    key, settings = engine_key(onnx_path, fp16, workspace_gb, batch, device)
    cache = Path(cache_dir) if cache_dir else default_cache_dir() / "tensorrt"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / (name or f"{onnx_path.stem}-{'fp16' if fp16 else 'fp32'}-{key[:16]}.engine")
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        try:
            if json.loads(sidecar.read_text()).get("key") == key:
                return path, {"key": key, "cached": True, **settings}
        except (OSError, ValueError):
            pass
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH") and int(trt.__version__.split(".")[0]) < 10:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path}: TensorRT could not parse the ONNX graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16:
        if not builder.platform_has_fast_fp16:
            raise BackendUnavailable(f"{settings['gpu']} has no fast FP16; build FP32 instead")
        config.set_flag(trt.BuilderFlag.FP16)
    elif hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        t = network.get_input(i)
        shape = tuple(batch if d < 0 else d for d in t.shape)
        profile.set_shape(t.name, shape, shape, shape)
    config.add_optimization_profile(profile)
    blob = builder.build_serialized_network(network, config)
    if blob is None:
        raise RuntimeError(f"{onnx_path}: TensorRT engine build failed (see the TensorRT log above)")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(blob))
    tmp.replace(path)
    sidecar.write_text(json.dumps({"key": key, **settings}, indent=2) + "\n")
    return path, {"key": key, "cached": False, **settings}


class TensorRTRuntime(Runtime):
    """Runs a cached TensorRT engine of an exported ONNX graph; batch 1, float32 I/O."""

    backend = "tensorrt"

    def __init__(self, onnx_path: str | Path, fp16: bool = False, device: str = "cuda:0",
                 cache_dir: str | Path | None = None, workspace_gb: float = WORKSPACE_GB) -> None:
        trt = require_tensorrt()
        import onnx
        import torch

        onnx_path = Path(onnx_path)
        meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
        super().__init__(onnx_config(meta, onnx_path))
        if cache_dir is None and (onnx_path.parent / "export.json").exists():
            cache_dir = onnx_path.parent  # an export folder keeps its engine beside the ONNX
            name = "model.fp16.engine" if fp16 else "model.engine"
        else:
            name = None
        self.engine_path, self.engine_info = build_engine(onnx_path, fp16, cache_dir, name, workspace_gb,
                                                          device=device)
        self.device = torch.device(device)
        self.fp16 = fp16
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"{self.engine_path}: TensorRT could not load the engine")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream(device=self.device)
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                  trt.int8: torch.int8, trt.bool: torch.bool}
        self.buffers: dict[str, Any] = {}
        from lead.model.tfv6 import input_shapes

        shapes = input_shapes(self.config, 1)
        for i in range(self.engine.num_io_tensors):
            n = self.engine.get_tensor_name(i)
            if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT:
                self.context.set_input_shape(n, shapes[n])
        for i in range(self.engine.num_io_tensors):
            n = self.engine.get_tensor_name(i)
            shape = tuple(self.context.get_tensor_shape(n))
            buf = torch.empty(shape, dtype=dtypes[self.engine.get_tensor_dtype(n)], device=self.device)
            self.context.set_tensor_address(n, buf.data_ptr())
            self.buffers[n] = buf

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        feed = self._feed(inputs)
        with torch.cuda.stream(self.stream):
            for k, v in feed.items():
                self.buffers[k].copy_(torch.from_numpy(v), non_blocking=False)
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError("TensorRT execute_async_v3 failed")
            outs = {k: self.buffers[k].float().cpu() for k in self.output_names}
        self.stream.synchronize()
        return {k: v.numpy() for k, v in outs.items()}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "engine": str(self.engine_path), "fp16": self.fp16,
                "cached": self.engine_info.get("cached"), "gpu": self.engine_info.get("gpu")}
