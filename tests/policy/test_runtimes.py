"""Every backend runs the same checkpoint and matches torch eager within stated tolerances;
`lead export` writes an ONNX file that carries its model config; checkpoints load in the
trainer's format and the common variants (DDP prefixes, sibling config) and fail clearly.

Tolerances (max over elements of |backend - torch| <= atol + rtol * |torch|):
  onnxruntime FP32 (CPU)  every output          atol 1e-4, rtol 1e-4
  tensorrt FP32           every output          atol 1e-3, rtol 1e-3  (TF32 off)
  tensorrt FP16           planning outputs      atol 5e-2, rtol 2e-2  (waypoints, route, speed logits)
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from lead.inference.checkpoint import CheckpointError, load_checkpoint, load_model
from lead.inference.runtime import BackendUnavailable, OnnxRuntime, open_runtime, resolve_onnx
from lead.model.tfv6 import example_inputs

TOL = {"onnxruntime": (1e-4, 1e-4), "tensorrt": (1e-3, 1e-3), "tensorrt-fp16": (5e-2, 2e-2)}
PLANNING = ("future_waypoints", "route", "target_speed_logits", "target_speed")


def _inputs(cfg, seed: int) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in example_inputs(cfg, 1, seed=seed).items()}


def _assert_close(got: dict, ref: dict, atol: float, rtol: float, names=None) -> None:
    for k in names or ref:
        assert got[k].shape == ref[k].shape, k
        err = np.abs(got[k] - ref[k]) - rtol * np.abs(ref[k])
        assert err.max() <= atol, f"{k}: max |diff| {np.abs(got[k] - ref[k]).max():.3g} over tolerance"


def test_onnxruntime_matches_torch(small_checkpoint, inference_cache):
    ref_rt = open_runtime("torch", checkpoint=small_checkpoint)
    ort_rt = open_runtime("onnxruntime", checkpoint=small_checkpoint, cache_dir=inference_cache)
    assert ort_rt.output_names == ref_rt.output_names and len(ref_rt.output_names) == 15
    assert ort_rt.describe()["threads"] == 2 and ort_rt.describe()["spin"] is False
    for seed in (1, 2):
        x = _inputs(ref_rt.config, seed)
        ref, got = ref_rt.run(x), ort_rt.run(x)
        _assert_close(got, ref, *TOL["onnxruntime"])
    # the comparison can fail: another seed's weights give different outputs
    other = OnnxRuntime(resolve_onnx(config="tfv6_small", seed=99, cache_dir=inference_cache))
    assert np.abs(other.run(x)["route"] - ref["route"]).max() > 1e-2


def test_driving_only_runtimes_give_the_same_driving_outputs(small_checkpoint, inference_cache):
    """perception=False (the policy node without publish_perception): the perception heads are
    left out, the driving outputs are the full model's, bit for bit, in torch and ONNX Runtime."""
    full = open_runtime("torch", checkpoint=small_checkpoint)
    x = _inputs(full.config, 4)
    ref = full.run(x)
    for backend in ("torch", "onnxruntime"):
        rt = open_runtime(backend, checkpoint=small_checkpoint, cache_dir=inference_cache, perception=False)
        assert rt.output_names == [*PLANNING, "radar_detections"], backend
        got = rt.run(x)
        assert set(got) == set(rt.output_names)
        if backend == "torch":
            assert all(np.array_equal(got[k], ref[k]) for k in got)
        else:
            _assert_close(got, ref, *TOL["onnxruntime"], names=list(got))
    # the ONNX graph was cut: fewer nodes than the full one
    import onnx
    from lead.inference.runtime import driving_graph

    path = resolve_onnx(small_checkpoint, cache_dir=inference_cache)
    cut = onnx.load_from_string(driving_graph(path)[1])
    assert len(cut.graph.node) < len(onnx.load(str(path)).graph.node)
    assert [o.name for o in cut.graph.output] == [*PLANNING, "radar_detections"]


def test_onnxruntime_session_is_built_for_batch_one(small_checkpoint, inference_cache):
    """The exported graph's batch axis is dynamic; the runtime fixes it (the policy runs one
    frame at a time), so ONNX Runtime folds the shape arithmetic. Same outputs as a session
    that keeps the axis dynamic, which still takes any batch."""
    path = resolve_onnx(small_checkpoint, cache_dir=inference_cache)
    fixed, dynamic = OnnxRuntime(path), OnnxRuntime(path, batch=None)
    assert all(i.shape[0] == 1 for i in fixed.session.get_inputs())
    assert all(i.shape[0] == "batch" for i in dynamic.session.get_inputs())
    x = _inputs(fixed.config, 5)
    _assert_close(fixed.run(x), dynamic.run(x), 1e-5, 1e-5)
    two = {k: np.concatenate([v, v]) for k, v in x.items()}
    assert dynamic.run(two)["route"].shape[0] == 2
    with pytest.raises(Exception, match="(?i)dimension"):  # ONNX Runtime names the input and the size
        fixed.run(two)


def test_onnx_export_is_cached_by_checkpoint_hash(small_checkpoint, inference_cache):
    a = resolve_onnx(small_checkpoint, cache_dir=inference_cache)
    mtime = a.stat().st_mtime_ns
    b = resolve_onnx(small_checkpoint, cache_dir=inference_cache)
    assert a == b and b.stat().st_mtime_ns == mtime  # not exported again
    assert a.parent.name.startswith("ckpt-")


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_tensorrt_matches_torch(small_checkpoint, inference_cache, fp16):
    try:
        from lead.inference.tensorrt_backend import require_tensorrt

        require_tensorrt()
    except BackendUnavailable as e:
        pytest.skip(f"TensorRT backend not testable here: {e}")
    ref_rt = open_runtime("torch", checkpoint=small_checkpoint, device="cuda:0")
    trt_rt = open_runtime("tensorrt", checkpoint=small_checkpoint, fp16=fp16, cache_dir=inference_cache)
    x = _inputs(ref_rt.config, 3)
    ref, got = ref_rt.run(x), trt_rt.run(x)
    if fp16:
        _assert_close(got, ref, *TOL["tensorrt-fp16"], names=PLANNING)
    else:
        _assert_close(got, ref, *TOL["tensorrt"])
    # a second runtime finds the cached engine
    again = open_runtime("tensorrt", checkpoint=small_checkpoint, fp16=fp16, cache_dir=inference_cache)
    assert again.describe()["cached"] is True


def test_tensorrt_unavailable_says_why(small_checkpoint, inference_cache):
    try:
        import tensorrt  # noqa: F401

        if torch.cuda.is_available():
            pytest.skip("TensorRT and a GPU are present: nothing unavailable to report")
    except ImportError:
        pass
    with pytest.raises(BackendUnavailable, match="TensorRT|CUDA"):
        open_runtime("tensorrt", checkpoint=small_checkpoint, cache_dir=inference_cache)


def test_lead_export_cli_writes_onnx_with_config(small_checkpoint, tmp_path):
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "lead.cli", "export", str(small_checkpoint), "--onnx", "--out",
                        str(out), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    record = json.loads(r.stdout.strip().splitlines()[-1])
    assert record["config"] == "tfv6_small" and (out / "model.onnx").exists() and (out / "export.json").exists()
    assert max(record["files"]["onnx"]["max_abs_diff_vs_torch"].values()) < 1e-3
    rt = open_runtime("onnxruntime", checkpoint=out)  # the folder; config from the ONNX metadata
    assert rt.config == load_checkpoint(small_checkpoint)[0]
    x = _inputs(rt.config, 4)
    _assert_close(rt.run(x), open_runtime("torch", checkpoint=small_checkpoint).run(x), *TOL["onnxruntime"])
    bad = subprocess.run([sys.executable, "-m", "lead.cli", "export", str(small_checkpoint), "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--onnx" in bad.stderr


def test_checkpoint_variants_load_and_bad_ones_fail_clearly(small_checkpoint, tmp_path):
    cfg, state = load_checkpoint(small_checkpoint)
    # DDP + torch.compile prefixes, weights under "state_dict", config in a sibling config.json
    d = tmp_path / "ddp"
    d.mkdir()
    torch.save({"state_dict": {"module._orig_mod." + k: v for k, v in state.items()}, "epoch": 30},
               d / "model_0030.pth")
    (d / "config.json").write_text(json.dumps(cfg.to_dict()))
    model = load_model(d / "model_0030.pth")
    ref = load_model(small_checkpoint)
    x = example_inputs(cfg, 1, seed=5)
    with torch.inference_mode():
        assert torch.equal(model(x)["route"], ref(x)["route"])
    # no config anywhere
    torch.save({"model": state}, tmp_path / "noconf.pt")
    with pytest.raises(CheckpointError, match="noconf.pt: no model config"):
        load_checkpoint(tmp_path / "noconf.pt")
    # weights of another config
    (tmp_path / "other").mkdir()
    other = {**cfg.to_dict(), "name": "x", "image_encoder": {"arch": "resnet34", "width": 0.5}}
    torch.save({"config": other, "model": state}, tmp_path / "other" / "m.pt")
    with pytest.raises(CheckpointError, match="do not fit config 'x'"):
        load_model(tmp_path / "other" / "m.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_model_folder_holds_the_checkpoint(small_checkpoint, tmp_path):
    """models/tfv6_small/ (the graphs' default checkpoint) may hold the trainer checkpoint, its
    ONNX export, or both: torch takes the checkpoint, ONNX Runtime the export when present."""
    import shutil

    from lead.inference.runtime import folder_entry, model_config_of

    folder = tmp_path / "tfv6_small"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="no trainer checkpoint"):
        folder_entry(folder, "torch")
    shutil.copy(small_checkpoint, folder / "model.pt")
    assert folder_entry(folder, "onnx") == folder / "model.pt"  # exported on first use
    assert model_config_of(folder).name == "tfv6_small"
    rt = open_runtime("torch", checkpoint=folder)
    x = _inputs(rt.config, 6)
    ref = open_runtime("torch", checkpoint=small_checkpoint).run(x)
    assert np.array_equal(rt.run(x)["route"], ref["route"])
    (folder / "model.onnx").write_bytes(b"")
    assert folder_entry(folder, "onnx") == folder / "model.onnx"
