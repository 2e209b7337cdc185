"""TFv6 as a policy: preprocessed inputs -> plan, with the safety rules (plain Python, no ROS).

`Policy.step(inputs)` never raises for bad data: a `brake_reason` input (BRAKE_TENSOR), inputs
missing or of the wrong shape, a runtime error, or a NaN/inf in any output gives a plan with `emergency_brake` set and the
reason, which the controller turns into full braking. A frame that is late (the caller's
deadline) goes through `Policy.brake(...)` the same way.

For the safety tests a NaN can be injected into one named output (`inject_nan`), on chosen
frames (`inject_frames`: a set of frame indices counted from 0, or None for every frame).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from lead.inference.runtime import Runtime
from lead.model.postprocess import BRAKE_THRESHOLD

# An input bundle holding this tensor (UTF-8 bytes of a reason, uint8) asks for an emergency
# brake: the preprocessing node sends it for a tick it cannot build (a sensor missing, no route).
BRAKE_TENSOR = "brake_reason"
# Not a model input: the preprocessing node's LiDAR safety-box test (uint8 0/1) of the tick, which
# the plan carries to the controller's creeping heuristic (lead.control.safety_box).
SAFETY_BOX_TENSOR = "safety_box_occupied"


@dataclass
class PlanResult:
    """A plan in the CARLA ego frame (x forward, y right, metres, m/s)."""

    waypoints: np.ndarray                     # (8, 2), one every waypoint_dt seconds
    route: np.ndarray                         # (10, 2) route checkpoints
    target_speed: float
    target_speed_classes: tuple[float, ...] = ()
    target_speed_probs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    emergency_brake: bool = False
    brake_reason: str = ""
    waypoint_dt: float = 0.25
    safety_box_occupied: bool = False
    outputs: dict[str, np.ndarray] | None = None  # raw model outputs (batch 1), for perception
    inference_s: float = 0.0


def parse_frames(spec: str) -> set[int] | None:
    """'3,5-9' -> {3, 5, 6, 7, 8, 9}; '' -> None (every frame)."""
    spec = spec.strip()
    if not spec:
        return None
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


class Policy:
    def __init__(self, runtime: Runtime, brake_threshold: float | None = BRAKE_THRESHOLD,
                 inject_nan: str = "", inject_frames: Iterable[int] | None = None) -> None:
        from lead.model.tfv6 import input_shapes

        self.runtime = runtime
        self.cfg = runtime.config
        self.brake_threshold = brake_threshold
        self.shapes = {k: v[1:] for k, v in input_shapes(self.cfg, 1).items()}
        if inject_nan and inject_nan not in runtime.output_names:
            raise ValueError(f"inject_nan: '{inject_nan}' is not an output of config '{self.cfg.name}' "
                             f"({', '.join(runtime.output_names)})")
        self.inject_nan = inject_nan
        self.inject_frames = None if inject_frames is None else set(inject_frames)
        self.frames = 0
        p = self.cfg.planning
        self.classes = tuple(float(s) for s in p.target_speeds)
        self.num_waypoints, self.num_route = p.num_waypoints, p.num_route_points

    def brake(self, reason: str) -> PlanResult:
        """A stop plan: zero waypoints and route, target speed 0, emergency_brake with `reason`."""
        return PlanResult(np.zeros((self.num_waypoints, 2), np.float32), np.zeros((self.num_route, 2), np.float32),
                          0.0, self.classes, np.zeros(len(self.classes), np.float32), True, reason)

    def batch(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs with a batch dimension of 1 (added where the array has the unbatched shape);
        ValueError names every missing input or wrong shape."""
        out, problems = {}, []
        for k, shape in self.shapes.items():
            if k not in inputs:
                problems.append(f"'{k}' missing")
                continue
            a = np.asarray(inputs[k], dtype=np.float32)
            if a.shape == shape:
                a = a[None]
            if a.shape != (1, *shape):
                problems.append(f"'{k}' has shape {a.shape}, expected {shape} or {(1, *shape)}")
            out[k] = a
        if problems:
            raise ValueError("inputs: " + "; ".join(problems))
        return out

    def step(self, inputs: dict[str, np.ndarray]) -> PlanResult:
        """One frame. Counts frames (for NaN injection) whether or not the frame is usable."""
        frame = self.frames
        self.frames += 1
        if BRAKE_TENSOR in inputs:
            return self.brake(bytes(np.asarray(inputs[BRAKE_TENSOR], np.uint8)).decode("utf-8", "replace")
                              or "brake requested by the inputs")
        try:
            batch = self.batch(inputs)
        except ValueError as e:
            return self.brake(str(e))
        t0 = time.perf_counter()
        try:
            out = self.runtime.run(batch)
        except Exception as e:  # a runtime failure must not take the graph down: brake and say why
            return self.brake(f"{self.runtime.backend} failed: {type(e).__name__}: {e}")
        dt = time.perf_counter() - t0
        if self.inject_nan and (self.inject_frames is None or frame in self.inject_frames):
            out[self.inject_nan] = out[self.inject_nan].copy()
            out[self.inject_nan].reshape(-1)[0] = np.nan
        bad = [k for k, v in out.items() if not np.all(np.isfinite(v))]
        if bad:
            res = self.brake(f"non-finite model output: {', '.join(bad)}")
            res.outputs, res.inference_s = out, dt
            return res
        import torch

        from lead.model.postprocess import plan

        p = plan({k: torch.from_numpy(out[k]) for k in ("future_waypoints", "route", "target_speed_logits")},
                 self.cfg, self.brake_threshold)
        return PlanResult(p["waypoints"][0].astype(np.float32), p["route"][0].astype(np.float32),
                          float(p["target_speed"][0]), self.classes, p["target_speed_probs"][0].astype(np.float32),
                          safety_box_occupied=bool(np.any(inputs.get(SAFETY_BOX_TENSOR, 0))),
                          outputs=out, inference_s=dt)


def plan_control(controller, plan: PlanResult, speed: float):
    """LEAD's sensor-agent control for one tick of `plan` (lead.control.sensor_agent): steer
    on the route checkpoints, throttle/brake on the target speed (waypoints for the waypoint
    modalities). An emergency-brake plan gives full brake, no throttle, no steer, and leaves
    the controller's PID windows untouched (the frame carried no usable plan)."""
    from lead.control.vehicle_control import VehicleControl

    if plan.emergency_brake:
        return VehicleControl(throttle=0.0, steer=0.0, brake=1.0)
    return controller.step(float(speed), checkpoints=plan.route, target_speed=plan.target_speed,
                           waypoints=plan.waypoints, safety_box_occupied=plan.safety_box_occupied)


def max_output_difference(a: PlanResult, b: PlanResult) -> float | None:
    """Largest |a - b| over the raw outputs both plans carry (two backends on one frame); None
    where either is an emergency-brake plan (no inference, or outputs that are not finite)."""
    if a.emergency_brake or b.emergency_brake or a.outputs is None or b.outputs is None:
        return None
    common = sorted(set(a.outputs) & set(b.outputs))
    if not common:
        return None
    return max(float(np.max(np.abs(a.outputs[k].astype(np.float64) - b.outputs[k]))) for k in common)
