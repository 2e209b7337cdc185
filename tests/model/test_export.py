"""tfv6_small exports to ONNX (opset 17) and ONNX Runtime matches torch within 1e-4."""
from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lead.model import build_model, load_config
from lead.model.export import ONNX_OPSET, export_onnx
from lead.model.tfv6 import example_inputs


@pytest.mark.parametrize("speed_input", [True, False])
def test_onnx_export_matches_torch(tmp_path, speed_input):
    cfg = load_config("tfv6_small")
    cfg = dataclasses.replace(cfg, ego=dataclasses.replace(cfg.ego, speed_input=speed_input))
    model = build_model(cfg)
    path = tmp_path / "tfv6_small.onnx"
    flat = export_onnx(model, path)
    assert not model.training  # export leaves the model in eval mode
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= ONNX_OPSET >= 17
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == flat.input_names
    assert ("speed" in flat.input_names) == speed_input
    for batch in (1, 2):  # the batch axis is dynamic
        x = example_inputs(cfg, batch, seed=batch + 10)
        with torch.no_grad():
            ref = model(x)
        got = sess.run(flat.output_names, {k: x[k].numpy() for k in flat.input_names})
        for name, value in zip(flat.output_names, got):
            assert value.shape == tuple(ref[name].shape), name
            np.testing.assert_allclose(value, ref[name].numpy(), atol=1e-4, rtol=1e-4, err_msg=name)
