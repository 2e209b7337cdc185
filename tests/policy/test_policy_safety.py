"""The policy's safety rules without ROS: NaN outputs (injected, or from NaN inputs), missing or
misshapen inputs give an emergency-brake plan with the reason; good frames give a plan in the
ego frame from lead.model.postprocess; TensorBundle round trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lead.inference.policy import SAFETY_BOX_TENSOR, Policy, parse_frames
from lead.inference.runtime import open_runtime
from lead.model.postprocess import plan as decode_plan
from lead.model.tfv6 import example_inputs


@pytest.fixture(scope="module")
def runtime(small_checkpoint, inference_cache):
    return open_runtime("onnxruntime", checkpoint=small_checkpoint, cache_dir=inference_cache)


def _frame(cfg, seed=0) -> dict[str, np.ndarray]:
    return {k: v[0].numpy() for k, v in example_inputs(cfg, 1, seed=seed).items()}  # unbatched, as published


def test_good_frame_gives_the_decoded_plan(runtime):
    policy = Policy(runtime)
    x = _frame(runtime.config)
    res = policy.step(x)
    assert not res.emergency_brake and res.brake_reason == ""
    out = runtime.run({k: v[None] for k, v in x.items()})
    ref = decode_plan({k: torch.from_numpy(v) for k, v in out.items()}, runtime.config)
    np.testing.assert_allclose(res.route, ref["route"][0], atol=1e-6)
    np.testing.assert_allclose(res.waypoints, ref["waypoints"][0], atol=1e-6)
    assert res.target_speed == pytest.approx(float(ref["target_speed"][0]), abs=1e-5)
    assert res.target_speed_classes == tuple(runtime.config.planning.target_speeds)
    assert res.target_speed_probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert res.safety_box_occupied is False
    # the preprocessing node's safety-box flag is no model input: it passes into the plan as it is
    boxed = policy.step(dict(x, **{SAFETY_BOX_TENSOR: np.uint8(1)}))
    assert boxed.safety_box_occupied is True
    np.testing.assert_array_equal(boxed.route, res.route)


def test_injected_nan_brakes_only_on_its_frames(runtime):
    policy = Policy(runtime, inject_nan="route", inject_frames=parse_frames("1,3-4"))
    x = _frame(runtime.config)
    results = [policy.step(x) for _ in range(6)]
    assert [r.emergency_brake for r in results] == [False, True, False, True, True, False]
    assert results[1].brake_reason == "non-finite model output: route"
    assert results[1].target_speed == 0.0 and not np.any(results[1].route)
    np.testing.assert_array_equal(results[0].route, results[5].route)  # the model itself is untouched
    with pytest.raises(ValueError, match="'nope' is not an output"):
        Policy(runtime, inject_nan="nope")


def test_nan_input_missing_input_and_wrong_shape_brake(runtime):
    policy = Policy(runtime)
    x = _frame(runtime.config)
    nan = dict(x, speed=np.array(np.nan, np.float32))
    r = policy.step(nan)
    assert r.emergency_brake and r.brake_reason.startswith("non-finite model output:")
    r = policy.step({k: v for k, v in x.items() if k != "target_point"})
    assert r.emergency_brake and "'target_point' missing" in r.brake_reason
    r = policy.step(dict(x, rgb=x["rgb"][:, :64]))
    assert r.emergency_brake and "'rgb' has shape" in r.brake_reason
    assert not policy.step(x).emergency_brake  # and recovers on the next good frame


def test_parse_frames():
    assert parse_frames("") is None
    assert parse_frames("2, 5-7") == {2, 5, 6, 7}


def test_tensor_bundle_round_trip():
    from lead.inference.bundle import from_bundle, to_bundle

    rng = np.random.default_rng(0)
    arrays = {"rgb": rng.random((3, 8, 24), dtype=np.float32), "mask": rng.random((4, 5)) > 0.5,
              "ids": rng.integers(0, 255, (7,), dtype=np.uint8), "speed": np.array(3.5, np.float32),
              "empty": np.zeros((0, 5), np.float32), "h": rng.random((2, 2)).astype(np.float16)}
    msg = to_bundle(arrays, 123_450_000_000, "ego_vehicle")
    back = from_bundle(msg)
    assert list(back) == list(arrays) and msg.header.stamp.sec == 123 and msg.header.stamp.nanosec == 450_000_000
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
    msg.tensors[0].shape = [3, 8, 25]
    with pytest.raises(ValueError, match="tensor 'rgb'"):
        from_bundle(msg)
