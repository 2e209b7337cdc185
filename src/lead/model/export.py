"""A positional-tensor view of TFv6 for ONNX / TensorRT export (forward has no data-dependent
control flow; box decoding and NMS live in lead.model.postprocess)."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from lead.model.config import BATCH_AXIS
from lead.model.tfv6 import TFv6, example_inputs

ONNX_OPSET = 17


class FlatTFv6(nn.Module):
    """Inputs as positional tensors in `model.input_names` order, outputs as a tuple in
    `model.output_names` order (the names the ONNX graph gets)."""

    def __init__(self, model: TFv6) -> None:
        super().__init__()
        self.model = model
        self.input_names = model.input_names
        self.output_names = model.output_names

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(dict(zip(self.input_names, inputs)))
        return tuple(out[k] for k in self.output_names)


def export_onnx(model: TFv6, path: str | Path, batch: int = 1, opset: int = ONNX_OPSET,
                dynamic_batch: bool = True) -> FlatTFv6:
    """Write `model` (set to eval) as ONNX; returns the flat wrapper that was traced.

    Uses the TorchScript-based exporter (`dynamo=False`): the dynamo exporter needs onnxscript,
    which the pinned environment does not have."""
    model.eval()
    flat = FlatTFv6(model).eval()  # the exporter restores the wrapper's mode, recursively
    example = example_inputs(model.cfg, batch)
    axes = {n: {0: BATCH_AXIS} for n in flat.input_names + flat.output_names} if dynamic_batch else None
    # traced with autograd on: under no_grad nn.MultiheadAttention takes its fused fast path
    # (aten::_native_multi_head_attention), which has no ONNX symbolic
    with torch.enable_grad(), warnings.catch_warnings():
        # the legacy exporter is chosen on purpose; MHA's shape asserts see config constants
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx|lead\.model\.export")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.functional")
        torch.onnx.export(flat, tuple(example[k] for k in flat.input_names), str(path),
                          input_names=flat.input_names, output_names=flat.output_names,
                          opset_version=opset, dynamic_axes=axes, dynamo=False)
    return flat
