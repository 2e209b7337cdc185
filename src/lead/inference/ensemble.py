"""Several trained TFv6 as one runtime, combined as LEAD's sensor agent combines its seeds.

LEAD ships each model as an ensemble of three training seeds (specs/lead.md §5) and runs every
member on each frame (lead/inference/open_loop_inference.py). The outputs are combined as there:
- route checkpoints and future waypoints: the mean over members;
- target speed: the mean of the members' logits; the expected speed is recomputed from its
  softmax (the plan, and the brake threshold, read the averaged distribution);
- BEV and perspective semantics: per class the most confident member (max over members),
  except class 0 (unlabelled / background), which takes the least confident (min);
- depth: the mean.
Boxes are where this differs: LEAD pools every member's decoded boxes and runs NMS over them;
here the CenterNet maps (and the radar detections) are averaged before decoding, so the one
decoder of lead.model.postprocess serves both cases. Boxes are a viewer output; the plan
does not read them.

Members must take the same inputs and give the same outputs (shapes and target-speed classes;
training settings may differ): a mismatch is a ValueError naming the checkpoint that differs.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lead.inference.runtime import Runtime

# outputs combined per class as LEAD combines its semantic maps (class 0: min, the rest: max)
SEMANTIC_OUTPUTS = ("semantic", "bev_semantic")


def split_checkpoints(spec: str) -> list[str]:
    """'a.pth,b.pth' -> ['a.pth', 'b.pth'] (a comma separates ensemble members; blanks dropped)."""
    return [s.strip() for s in str(spec).split(",") if s.strip()]


def combine_outputs(outputs: Sequence[dict[str, np.ndarray]], target_speeds: Sequence[float]) -> dict[str, np.ndarray]:
    """One output dict from the members' (module doc)."""
    if len(outputs) == 1:
        return dict(outputs[0])
    out: dict[str, np.ndarray] = {}
    for k in outputs[0]:
        stack = np.stack([o[k] for o in outputs]).astype(np.float32)
        if k in SEMANTIC_OUTPUTS:
            out[k] = np.concatenate([stack[:, :, :1].min(0), stack[:, :, 1:].max(0)], axis=1)
        else:
            out[k] = stack.mean(0)
    if "target_speed_logits" in out and "target_speed" in out:
        logits = out["target_speed_logits"].astype(np.float64)
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        out["target_speed"] = (probs @ np.asarray(target_speeds, np.float64)).astype(np.float32)
    return out


def _interface(rt: Runtime) -> dict[str, Any]:
    """What members must share: input and output shapes, target-speed classes (training-only
    settings such as loss weights or dropout may differ)."""
    from lead.model.tfv6 import input_shapes, output_shapes

    return {"inputs": input_shapes(rt.config, 1), "outputs": output_shapes(rt.config, 1),
            "target speed classes": tuple(rt.config.planning.target_speeds)}


class EnsembleRuntime(Runtime):
    """Runs every member runtime on the same inputs, one after the other, and combines the
    outputs (module doc). The members are opened by the caller (lead.inference.runtime.open_runtime
    opens one per comma-separated checkpoint)."""

    def __init__(self, members: Sequence[Runtime], names: Sequence[str] = ()) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        first = members[0]
        names = list(names) or [f"member {i}" for i in range(len(members))]
        ref = _interface(first)
        for m, name in zip(members[1:], names[1:]):
            got = _interface(m)
            if got != ref:
                diff = ", ".join(k for k in ref if ref[k] != got[k])
                raise ValueError(f"{name}: {diff} differ from {names[0]}'s; ensemble members must take the "
                                 "same inputs and give the same outputs")
        super().__init__(first.config)
        self.members, self.names = list(members), names
        self.backend = first.backend
        self.target_speeds = tuple(float(s) for s in first.config.planning.target_speeds)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return combine_outputs([m.run(inputs) for m in self.members], self.target_speeds)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "ensemble": [{"checkpoint": n, **{k: v for k, v in m.describe().items()
                                                                         if k not in ("backend", "config")}}
                                                   for n, m in zip(self.names, self.members)]}

    def close(self) -> None:
        for m in self.members:
            m.close()
