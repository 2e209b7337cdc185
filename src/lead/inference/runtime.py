"""One interface over TFv6's runtimes: torch (CPU/GPU), ONNX Runtime, TensorRT.

    rt = open_runtime("onnxruntime", checkpoint="models/tfv6_small.pt")
    out = rt.run({"rgb": ..., "rasterized_lidar": ..., ...})   # numpy in, numpy out

Inputs and outputs are float32 numpy arrays with a batch dimension, named and shaped as
lead.model.tfv6 documents; every backend returns the same names (`rt.output_names`).

Where the weights come from (`open_runtime` arguments):
- `checkpoint`: a trainer checkpoint (.pt/.pth, lead.inference.checkpoint), an ONNX file
  written by `lead export` (its model config travels in the ONNX metadata), or an export
  folder holding model.onnx;
- several of those separated by commas ("a.pth,b.pth,c.pth"): an ensemble, every member
  run on each frame and the outputs combined as LEAD combines its three seeds
  (lead.inference.ensemble);
- no checkpoint: an untrained model of `config` with weights seeded by `seed` (plumbing
  tests and benchmarks).
ONNX Runtime and TensorRT need an ONNX graph: a checkpoint is exported once and cached in
`cache_dir` by the SHA-256 of the checkpoint (or of the config and seed), so restarting a
node does not export again. TensorRT engines are cached the same way (tensorrt_backend).

`perception=False` leaves the perception heads out (lead.model.config.driving_config): torch
drops their modules, ONNX Runtime runs the graph cut down to the driving outputs (ONNX Runtime
computes every node of a graph whatever outputs are asked for). Same driving outputs, ~40 %
less CPU time for tfv6_small. TensorRT always runs the whole graph.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from lead.model.config import BATCH_AXIS, ModelConfig, config_from_dict, driving_config, load_config

BACKENDS = ("torch", "onnxruntime", "tensorrt")
ONNX_NAME = "model.onnx"
META_CONFIG = "lead.model_config"  # ONNX metadata key holding the model config as JSON
META_SOURCE = "lead.source"


class BackendUnavailable(RuntimeError):
    """This backend cannot run here (package missing, no GPU); the message says why."""


def default_cache_dir() -> Path:
    base = os.environ.get("LEAD_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "lead")
    return Path(base).expanduser() / "inference"


class Runtime:
    """A loaded TFv6 that maps named numpy inputs to named numpy outputs."""

    backend = "?"

    def __init__(self, config: ModelConfig) -> None:
        from lead.model.tfv6 import input_shapes, output_shapes

        self.config = config
        self.input_names = list(input_shapes(config))
        self.output_names = list(output_shapes(config))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "config": self.config.name}

    def close(self) -> None:
        pass

    def _feed(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [k for k in self.input_names if k not in inputs]
        if missing:
            raise KeyError(f"{self.backend} runtime: inputs missing: {', '.join(missing)}")
        return {k: np.ascontiguousarray(inputs[k], dtype=np.float32) for k in self.input_names}


class TorchRuntime(Runtime):
    """Eager PyTorch on the CPU or a CUDA device."""

    backend = "torch"

    def __init__(self, model, device: str = "cpu", threads: int = 0) -> None:
        import torch

        super().__init__(model.cfg)
        if threads:
            torch.set_num_threads(threads)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable("torch: device 'cuda' asked for, but torch sees no CUDA GPU")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        feed = self._feed(inputs)
        with torch.inference_mode():
            out = self.model({k: torch.from_numpy(v).to(self.device) for k, v in feed.items()})
        return {k: out[k].float().cpu().numpy() for k in self.output_names}

    def describe(self) -> dict[str, Any]:
        import torch

        return {**super().describe(), "device": str(self.device), "threads": torch.get_num_threads()}


class OnnxRuntime(Runtime):
    """ONNX Runtime; CPU by default with options for a small machine: `threads` intra-op
    threads, one inter-op thread, sequential execution, all graph optimisations, and no
    spin-waiting (spinning threads would steal the cores the rest of the graph runs on
    between frames; `spin=True` trades that for ~1 ms less latency). The session is built for
    `batch` (the policy runs 1): with the exported graph's dynamic batch axis fixed, ONNX Runtime
    folds the shape arithmetic the exporter writes around every reshape (Shape, Gather, Unsqueeze,
    Concat ...) instead of running it each frame: tfv6_small's optimised graph has 1006 nodes
    instead of 2225. None keeps the batch dynamic."""

    backend = "onnxruntime"

    def __init__(self, onnx_path: str | Path, device: str = "cpu", threads: int = 2, spin: bool = False,
                 config: ModelConfig | None = None, perception: bool = True, batch: int | None = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise BackendUnavailable(f"onnxruntime is not installed ({e})") from None
        self.path = Path(onnx_path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(int(threads), 0)
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        so.log_severity_level = 3
        if batch is not None:
            so.add_free_dimension_override_by_name(BATCH_AXIS, int(batch))
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailable("onnxruntime: device 'cuda' asked for, but this onnxruntime has no "
                                         "CUDAExecutionProvider (install onnxruntime-gpu)")
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        if perception:
            self.session = ort.InferenceSession(str(self.path), so, providers=providers)
            cfg = config or onnx_config(self.session.get_modelmeta().custom_metadata_map, self.path)
        else:
            cfg, graph = driving_graph(self.path, config)
            self.session = ort.InferenceSession(graph, so, providers=providers)
        super().__init__(cfg)
        names = [o.name for o in self.session.get_outputs()]
        if sorted(names) != sorted(self.output_names):
            raise ValueError(f"{self.path}: ONNX outputs {names} do not match config '{cfg.name}' "
                             f"({self.output_names})")
        self.threads, self.spin, self.providers = threads, spin, providers

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = self.session.run(self.output_names, self._feed(inputs))
        return dict(zip(self.output_names, outs))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "onnx": str(self.path), "threads": self.threads, "spin": self.spin,
                "providers": self.providers}


def driving_graph(onnx_path: Path, config: ModelConfig | None = None) -> tuple[ModelConfig, bytes]:
    """(driving_config of the model, the serialised ONNX graph cut down to its outputs)."""
    import onnx
    from onnx.utils import Extractor

    from lead.model.tfv6 import output_shapes

    proto = onnx.load(str(onnx_path))
    cfg = driving_config(config or onnx_config({m.key: m.value for m in proto.metadata_props}, onnx_path))
    inputs = [i.name for i in proto.graph.input]
    return cfg, Extractor(proto).extract_model(inputs, list(output_shapes(cfg))).SerializeToString()


def onnx_config(meta: dict[str, str], where: str | Path = "<onnx>") -> ModelConfig:
    """The model config stored in an ONNX file's metadata by `lead export`."""
    if META_CONFIG not in meta:
        raise ValueError(f"{where}: no '{META_CONFIG}' metadata; export it with `lead export` "
                         "(or pass the model config)")
    return config_from_dict(json.loads(meta[META_CONFIG]), source=f"{where}[{META_CONFIG}]")


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint path as given, else relative to the repository (so graphs can name
    models/tfv6_small.pt from any working directory); FileNotFoundError says what to do."""
    p = Path(path)
    if p.exists():
        return p
    repo = Path(__file__).resolve().parents[3] / p
    if not p.is_absolute() and repo.exists():
        return repo
    raise FileNotFoundError(f"{path}: no such checkpoint (train one with `lead train`, export one with "
                            "`lead export`, or give an empty checkpoint and a model_config for an untrained model)")


TRAINER_NAMES = ("model.pt", "model.pth", "checkpoint.pt", "last.pt")


def folder_entry(folder: Path, want: str) -> Path:
    """In a model folder (models/tfv6_small/, an export folder): the ONNX file (`want`="onnx",
    model.onnx, else the trainer checkpoint to export) or the trainer checkpoint (`want`="torch":
    model.pt / model.pth / checkpoint.pt / last.pt, else the only *.pt / *.pth)."""
    onnx_file = folder / ONNX_NAME
    if want == "onnx" and onnx_file.exists():
        return onnx_file
    for name in TRAINER_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted([*folder.glob("*.pt"), *folder.glob("*.pth")])
    if len(found) == 1:
        return found[0]
    if want == "onnx":
        return onnx_file  # the caller says it does not exist
    raise FileNotFoundError(f"{folder}: no trainer checkpoint for the torch backend (looked for "
                            f"{', '.join(TRAINER_NAMES)} or a single *.pt/*.pth; found {len(found)})")


def model_config_of(checkpoint: str | Path = "", config: str | Path | ModelConfig = "") -> ModelConfig:
    """The model config a checkpoint (.pt, .onnx, export folder) was made with, or `config`
    (of an ensemble: its first member's; the members share their inputs)."""
    if not checkpoint:
        return config if isinstance(config, ModelConfig) else load_config(config)
    from lead.inference.ensemble import split_checkpoints

    p = find_checkpoint(split_checkpoints(str(checkpoint))[0])
    if p.is_dir():
        p = folder_entry(p, "onnx")
    if p.suffix == ".onnx":
        import onnx

        meta = {m.key: m.value for m in onnx.load(str(p), load_external_data=False).metadata_props}
        return onnx_config(meta, p)
    from lead.inference.checkpoint import load_checkpoint

    return load_checkpoint(p)[0]


def resolve_onnx(checkpoint: str | Path = "", config: str | Path | ModelConfig = "", seed: int = 0,
                 cache_dir: str | Path | None = None) -> Path:
    """An ONNX file for a checkpoint / export folder / ONNX file, or for an untrained model
    of `config` seeded with `seed`; exported once and cached by content hash."""
    from lead.inference.export import export_model

    if checkpoint:
        checkpoint = p = find_checkpoint(checkpoint)
        if p.is_dir():
            checkpoint = p = folder_entry(p, "onnx")
        if p.suffix == ".onnx":
            if not p.exists():
                raise FileNotFoundError(f"{p}: no such ONNX file")
            return p
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if checkpoint:
        from lead.inference.checkpoint import file_sha256, load_model

        key = "ckpt-" + file_sha256(checkpoint)[:20]
        target = cache / key / ONNX_NAME
        if not target.exists():
            export_model(load_model(checkpoint), target, source=str(checkpoint))
        return target
    cfg = config if isinstance(config, ModelConfig) else load_config(config)
    import hashlib

    key = "random-" + hashlib.sha256(json.dumps([cfg.to_dict(), seed], sort_keys=True).encode()).hexdigest()[:20]
    target = cache / key / ONNX_NAME
    if not target.exists():
        from lead.inference.checkpoint import random_model

        export_model(random_model(cfg, seed), target, source=f"untrained {cfg.name} seed {seed}")
    return target


def open_runtime(backend: str, checkpoint: str | Path = "", config: str | Path | ModelConfig = "",
                 seed: int = 0, device: str = "", threads: int = 2, fp16: bool = False,
                 cache_dir: str | Path | None = None, spin: bool = False, perception: bool = True) -> Runtime:
    """A Runtime of `backend` (one of BACKENDS) for the weights described in the module doc;
    perception=False: the driving outputs only (module doc; not for TensorRT).

    device: "" = the backend's default (torch, onnxruntime: cpu; tensorrt: cuda:0)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    if not checkpoint and not config:
        raise ValueError("open_runtime needs a checkpoint or a model config")
    from lead.inference.ensemble import EnsembleRuntime, split_checkpoints

    members = split_checkpoints(str(checkpoint)) if checkpoint else []
    if len(members) > 1:
        return EnsembleRuntime([open_runtime(backend, m, config, seed, device, threads, fp16, cache_dir, spin,
                                             perception) for m in members], members)
    if backend == "torch":
        from lead.inference.checkpoint import load_model, random_model

        ck = find_checkpoint(checkpoint) if checkpoint else None
        if ck is not None and ck.is_dir():
            ck = folder_entry(ck, "torch")
        if ck is not None and ck.suffix == ".onnx":
            raise ValueError(f"{ck}: the torch backend needs a trainer checkpoint (.pt), not an ONNX export")
        model = load_model(ck) if ck is not None else random_model(config, seed)
        return TorchRuntime(model if perception else model.drop_perception(), device or "cpu", threads)
    if backend == "tensorrt":
        from lead.inference.tensorrt_backend import TensorRTRuntime, require_tensorrt

        require_tensorrt()  # fail with the reason before exporting anything
        onnx_path = resolve_onnx(checkpoint, config, seed, cache_dir)
        return TensorRTRuntime(onnx_path, fp16=fp16, device=device or "cuda:0",
                               cache_dir=Path(cache_dir) if cache_dir else None)
    onnx_path = resolve_onnx(checkpoint, config, seed, cache_dir)
    return OnnxRuntime(onnx_path, device=device or "cpu", threads=threads, spin=spin, perception=perception)
