"""Policy node: preprocessed inputs (lead_msgs/TensorBundle on /lead/inputs) -> TFv6 -> /lead/plan.

The plan (waypoints, route checkpoints, target speed with the class probabilities) is stamped
with the tick of its inputs, frame ego_vehicle (REP-103). Safety (lead.inference.policy):
missing inputs, a runtime error, NaN/inf outputs, or a frame older than `deadline` seconds on
the node's clock (sim time in the graphs) when it arrives or when its plan is ready, give a plan
with emergency_brake and the reason, logged; the node never dies of a bad frame. Optionally
publishes the perception outputs for viewers after the plan: boxes (derived_object_msgs/
ObjectArray on /lead/perception/objects) and dense maps (TensorBundle on /lead/perception/bev).
A bundle of a tick already answered (re-sent) gets the same plan again, without inference.

Parameters: checkpoint (.pt, .onnx or an export folder; several joined by commas = an
ensemble, lead.inference.ensemble; '' = untrained `model_config` seeded with `seed`),
model_config, seed, backend (torch | onnxruntime | tensorrt), device, threads, fp16, cache_dir,
deadline (s, 0 = off), brake_threshold, publish_perception (false: the model runs without its
perception heads, lead.inference.runtime), inject_nan (an output name to corrupt with NaN, for
tests; 'route:20-29' also names the frames, counted from 0, as the graph's single inject_nan
argument does), inject_frames ('20-29'; '' = every frame), input_topic, plan_topic, timing_dir
(per-tick wall times, time.monotonic_ns, in <dir>/<node>.jsonl), shadow_backend,
shadow_plan_topic, shadow_wait (seconds the node waits at start for a subscriber there).

Shadow mode (`shadow_backend`, e.g. torch beside onnxruntime; '' = off): a second runtime of the
same checkpoint answers every frame too, after the plan is out, and its plan goes to
`shadow_plan_topic` (default /lead/shadow/plan), where the eval graph's shadow controller turns it
into controls that nothing drives with. Both backends then see the same inputs on every tick,
so their controls compare tick by tick without the two worlds of two separate runs drifting
apart; the timing log gets the largest output difference of the tick (`shadow_max_abs_diff`).
"""
from __future__ import annotations

import json
import sys
import time

from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.nodes._spin import run_node
from lead.inference.timing import open_timing_log


class PolicyNode(Node):
    def __init__(self) -> None:
        super().__init__("policy")
        from derived_object_msgs.msg import ObjectArray
        from lead_msgs.msg import Plan, TensorBundle

        from lead.inference.policy import Policy, parse_frames
        from lead.inference.runtime import open_runtime

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        backend = str(p("backend", "onnxruntime"))
        checkpoint = str(p("checkpoint", ""))
        threads = int(p("threads", 2))
        import torch

        torch.set_num_threads(max(threads, 1))
        t0 = time.perf_counter()
        self.perception = bool(p("publish_perception", False))
        # without viewers of the perception outputs the policy runs the driving outputs only
        weights = dict(checkpoint=checkpoint, config=str(p("model_config", "tfv6_small")), seed=int(p("seed", 0)),
                       device=str(p("device", "")), threads=threads, fp16=bool(p("fp16", False)),
                       cache_dir=str(p("cache_dir", "")) or None)
        runtime = open_runtime(backend, perception=self.perception, **weights)
        threshold = float(p("brake_threshold", 0.9))
        inject, _, frames = str(p("inject_nan", "")).partition(":")
        frames = frames or str(p("inject_frames", ""))
        self.policy = Policy(runtime, brake_threshold=threshold if threshold > 0 else None,
                             inject_nan=inject.strip(), inject_frames=parse_frames(frames))
        self.shadow = None
        shadow = str(p("shadow_backend", ""))
        shadow_topic = str(p("shadow_plan_topic", "/lead/shadow/plan"))
        if shadow:  # same weights, inputs and safety rules (NaN injection included) on another runtime
            self.shadow = Policy(open_runtime(shadow, perception=False, **weights),
                                 brake_threshold=self.policy.brake_threshold,
                                 inject_nan=self.policy.inject_nan, inject_frames=self.policy.inject_frames)
            self.pub_shadow = self.create_publisher(Plan, shadow_topic, qos.SENSOR)
            self._wait_for_subscriber(self.pub_shadow, shadow_topic, float(p("shadow_wait", 20.0)))
        self.deadline_ns = int(float(p("deadline", 0.5)) * 1e9)
        self.timing = open_timing_log(str(p("timing_dir", "")), self.get_name())
        self.last_stamp, self.last_msg = -1, None
        self.braking = ""
        self.brake_frames = 0
        self.pub = self.create_publisher(Plan, str(p("plan_topic", "/lead/plan")), qos.SENSOR)
        if self.perception:
            self.pub_objects = self.create_publisher(ObjectArray, "/lead/perception/objects", qos.SENSOR)
            self.pub_bev = self.create_publisher(TensorBundle, "/lead/perception/bev", qos.SENSOR)
        self.create_subscription(TensorBundle, str(p("input_topic", "/lead/inputs")), self._on_inputs, qos.SENSOR)
        d = runtime.describe()
        if self.policy.inject_nan:
            self.get_logger().warning(f"NaN injection into '{self.policy.inject_nan}' on frames "
                                      f"{frames or 'all'}")
        self.get_logger().info(f"policy ready in {time.perf_counter() - t0:.1f} s: {json.dumps(d)}")
        if self.shadow is not None:
            self.get_logger().info(f"shadow mode: {self.shadow.runtime.backend} answers every frame too, on "
                                   f"{shadow_topic}: {json.dumps(self.shadow.runtime.describe())}")

    def _wait_for_subscriber(self, pub, topic: str, seconds: float) -> None:
        """Hold start-up until someone listens on `topic` (the shadow controller, which starts
        beside this node): plans are volatile, so those of the first ticks would be lost to a
        controller still starting, and the tick-by-tick comparison would miss them."""
        end = time.monotonic() + seconds
        while pub.get_subscription_count() == 0 and time.monotonic() < end:
            time.sleep(0.05)
        if pub.get_subscription_count() == 0:
            self.get_logger().warning(f"no subscriber on {topic} after {seconds:g} s: shadow plans published "
                                      "before one joins are lost")

    def _age_ns(self, stamp: int) -> int:
        return self.get_clock().now().nanoseconds - stamp

    def _on_inputs(self, msg) -> None:
        from lead.inference.bundle import from_bundle
        from lead.inference.messages import plan_msg

        rx = time.monotonic_ns()
        stamp = header_stamp_ns(msg)
        if stamp == self.last_stamp and self.last_msg is not None:
            self.pub.publish(self.last_msg)  # the tick was sent again: same answer
            return
        if 0 <= stamp < self.last_stamp:
            self.get_logger().info(f"sim time restarted ({self.last_stamp / 1e9:.2f} s -> {stamp / 1e9:.2f} s)")
        late = self.deadline_ns and self._age_ns(stamp) > self.deadline_ns
        inputs = None
        if late:
            res = self.policy.brake(f"late frame: {self._age_ns(stamp) / 1e6:.0f} ms old on arrival "
                                    f"(deadline {self.deadline_ns / 1e6:.0f} ms)")
            self.policy.frames += 1
        else:
            try:
                inputs = from_bundle(msg)
            except ValueError as e:
                inputs = {}
                self.get_logger().error(f"t={stamp / 1e9:.2f}: bad input bundle: {e}")
            res = self.policy.step(inputs)
            if not res.emergency_brake and self.deadline_ns and self._age_ns(stamp) > self.deadline_ns:
                res = self.policy.brake(f"late plan: ready {self._age_ns(stamp) / 1e6:.0f} ms after its frame "
                                        f"(deadline {self.deadline_ns / 1e6:.0f} ms)")
        self._log_brake(stamp, res)
        self.last_stamp, self.last_msg = stamp, plan_msg(res, stamp)
        self.pub.publish(self.last_msg)
        tx = time.monotonic_ns()
        row = {"stamp": stamp, "inputs_rx": rx, "plan_tx": tx, "inference_ms": res.inference_s * 1e3,
               "emergency": res.emergency_brake}
        if self.perception and res.outputs is not None and not res.emergency_brake:
            self._publish_perception(res.outputs, stamp)
        if self.shadow is not None:  # last: it delays no output of this tick (the next tick waits for it)
            row.update(self._run_shadow(stamp, inputs, res))
        if self.timing is not None:
            self.timing.write(json.dumps(row) + "\n")

    def _run_shadow(self, stamp: int, inputs, res) -> dict:
        """The shadow backend on the same inputs (None: the frame was late, so it brakes too);
        publishes its plan and returns its timing-log fields."""
        from lead.inference.messages import plan_msg
        from lead.inference.policy import max_output_difference

        if inputs is None:
            shadow = self.shadow.brake(res.brake_reason)
            self.shadow.frames += 1
        else:
            shadow = self.shadow.step(inputs)
        self.pub_shadow.publish(plan_msg(shadow, stamp))
        return {"shadow_inference_ms": shadow.inference_s * 1e3, "shadow_emergency": shadow.emergency_brake,
                "shadow_max_abs_diff": max_output_difference(res, shadow)}

    def _log_brake(self, stamp: int, res) -> None:
        if res.emergency_brake:
            self.brake_frames += 1
            if res.brake_reason != self.braking:
                self.get_logger().error(f"t={stamp / 1e9:.2f}: EMERGENCY BRAKE: {res.brake_reason}")
            self.braking = res.brake_reason
        elif self.braking:
            self.get_logger().warning(f"t={stamp / 1e9:.2f}: plan valid again after {self.brake_frames} "
                                      f"emergency-brake frame(s)")
            self.braking, self.brake_frames = "", 0

    def _publish_perception(self, outputs, stamp: int) -> None:
        import torch

        from lead.inference.messages import boxes_msg, perception_bundle
        from lead.model.postprocess import decode_boxes

        try:
            if "center_heatmap" in outputs:
                boxes = decode_boxes({k: torch.from_numpy(v) for k, v in outputs.items()}, self.policy.cfg)[0]
                self.pub_objects.publish(boxes_msg(boxes, stamp))
            self.pub_bev.publish(perception_bundle(outputs, stamp))
        except Exception as e:  # visualisation must never stop the policy
            self.get_logger().warning(f"perception outputs not published: {type(e).__name__}: {e}")

    def destroy_node(self):
        if self.timing is not None:
            self.timing.close()
        self.policy.runtime.close()
        if self.shadow is not None:
            self.shadow.runtime.close()
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    return run_node(PolicyNode, argv)


if __name__ == "__main__":
    sys.exit(main())
