"""Preprocessing node: the rig's sensors of one tick + /lead/route -> TFv6 inputs (lead_msgs/TensorBundle
on /lead/inputs), stamped with the tick.

The tensors come from lead.model.inputs (FrameAssembler + build_inputs), the same functions the
trainer's dataset cache calls, so the policy sees exactly what it was trained on. This node only
gathers the messages:
- approximate-time synchronisation (lead.io.sync, message_filters' ApproximateTime policy) of the
  sensors the model config needs: the rig's RGB cameras, its LiDARs and radars (when the config
  uses them), GNSS, IMU, odometry and the vehicle status (its `velocity` is the speedometer's
  value, with a stamp; std_msgs/Float32 has none, so it cannot be synchronised);
- /lead/route (latched): the GPS plan the sensor agent's route planner turns into target points.
  A new route (or sim time going back) starts a fresh frame history. A complete tick that arrives
  before any route (DDS may deliver the world's first tick before the latched route) is held
  for the route, up to `sensor_timeout`.

Lock-step: the world waits for the control of every tick, so every tick is answered. When a
tick's set is not complete `sensor_timeout` wall seconds after its first message arrived, the
bundle published for it carries only a `brake_reason` tensor (UTF-8 bytes, naming what is
missing); the policy turns it into an emergency-brake plan. A tick that cannot be built (no
route yet, a sensor the config needs is absent from the rig) is answered the same way. A tick
the world sends again is answered again with the same bundle. Beside the model inputs, every
bundle carries `safety_box_occupied` (uint8): whether this tick's LiDAR has points in LEAD's
safety box ahead of the bumper (lead.control.safety_box), which the plan passes on to the
creeping heuristic.

Parameters: rig (name or file), checkpoint (read for the model config only; .pt, .onnx or an
export folder; '' = `model_config`), model_config (default tfv6_small), slop (s, default 0.025),
sensor_timeout (wall s, default 1.0), period (sim s between ticks, default 0.05), input_topic
(default /lead/inputs), timing_dir (per tick: wall times, time.monotonic_ns, of the first
message of the tick, of its set being complete and of the bundle's publication, in <dir>/<node name>.jsonl).
"""
from __future__ import annotations

import json
import sys
import threading
import time

from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.inference.timing import open_timing_log
from lead.nodes._spin import run_node

from lead.inference.policy import BRAKE_TENSOR, SAFETY_BOX_TENSOR


def brake_bundle(reason: str, stamp_ns: int):
    import numpy as np

    from lead.inference.bundle import to_bundle

    return to_bundle({BRAKE_TENSOR: np.frombuffer(reason.encode("utf-8"), np.uint8)}, stamp_ns, "ego_vehicle")


def sensor_topics(rig, cfg) -> list[tuple[str, str]]:
    """(ROS type name, topic) of every stamped message one tick needs under `cfg`, in sync order."""
    from lead.model import inputs as I

    role = rig.role_name
    out = [("sensor_msgs/msg/Image", s.topic(role)) for s in I.rgb_cameras(rig, cfg.camera.count)]
    if cfg.lidar.enabled:
        lidars = rig.by_type("sensor.lidar.ray_cast")
        if not lidars:
            raise I.InputError(f"rig '{rig.name}' has no LiDAR; model config '{cfg.name}' needs one")
        out += [("sensor_msgs/msg/PointCloud2", s.topic(role)) for s in lidars]
    if cfg.radar.enabled:
        out += [("sensor_msgs/msg/PointCloud2", s.topic(role)) for s in I.radar_sensors(rig, cfg.radar.sensors)]
    out += [("sensor_msgs/msg/NavSatFix", f"/carla/{role}/gnss"), ("sensor_msgs/msg/Imu", f"/carla/{role}/imu"),
            ("nav_msgs/msg/Odometry", f"/carla/{role}/odometry"),
            ("carla_msgs/msg/CarlaEgoVehicleStatus", f"/carla/{role}/vehicle_status")]
    return out


class PreprocessNode(Node):
    def __init__(self) -> None:
        super().__init__("preprocess")
        from lead_msgs.msg import Route, TensorBundle

        from lead.inference.runtime import model_config_of
        from lead.io.sync import ApproximateTimeSynchronizer
        from lead.model.inputs import FrameAssembler
        from lead.nodes._spin import message_class
        from lead.sim.rig import load_rig

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        self.rig = load_rig(str(p("rig", "lead")))
        self.cfg = model_config_of(str(p("checkpoint", "")), str(p("model_config", "tfv6_small")))
        self.role = self.rig.role_name
        self.timeout_ns = int(float(p("sensor_timeout", 1.0)) * 1e9)
        period = float(p("period", 0.05))
        self.timing = open_timing_log(str(p("timing_dir", "")), self.get_name())
        self._FrameAssembler = FrameAssembler
        self.assembler = FrameAssembler(self.rig, self.cfg.lidar.steps)
        self.route_id = ""
        self.lock = threading.RLock()
        self.topics = sensor_topics(self.rig, self.cfg)
        self.sync = ApproximateTimeSynchronizer(len(self.topics), queue_size=8, slop=float(p("slop", 0.025)),
                                                callback=self._on_set)
        for i in range(len(self.topics)):
            # one message a tick per sensor: lets the synchronizer emit a tick as soon as it is complete
            self.sync.set_inter_message_lower_bound(i, 0.9 * period)
        self.latest: dict[str, object] = {}     # topic -> newest message (for incomplete ticks)
        self.first_rx: dict[int, int] = {}      # stamp -> wall ns of its first message
        self.last_stamp, self.last_msg = -1, None
        self.held: tuple[int, dict] | None = None  # a complete tick waiting for /lead/route
        self.brake_ticks = 0
        self.pub = self.create_publisher(TensorBundle, str(p("input_topic", "/lead/inputs")), qos.SENSOR)
        for i, (type_name, topic) in enumerate(self.topics):
            self.create_subscription(message_class(type_name), topic,
                                     lambda m, i=i, t=topic: self._on_msg(i, t, m), qos.SENSOR)
        self.create_subscription(Route, "/lead/route", self._on_route, qos.LATCHED)
        from rclpy.clock import Clock, ClockType

        # wall clock: sim time stands still while the world waits for this tick's answer
        self.create_timer(0.05, self._check_timeouts, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(f"preprocess ready: rig '{self.rig.name}', config '{self.cfg.name}', "
                               f"{len(self.topics)} synchronised topics")

    # --- inputs ----------------------------------------------------------------------------------
    def _on_route(self, msg) -> None:
        from lead.model.inputs import InputError

        with self.lock:
            held = self.held
            self.assembler = self._FrameAssembler(self.rig, self.cfg.lidar.steps)
            try:
                self.assembler.set_route(msg)
            except InputError as e:
                self.get_logger().error(f"route {msg.route_id}: {e}")
            self.route_id = msg.route_id
            self._restart()
            self.get_logger().info(f"route {msg.route_id}: {len(msg.plan)} plan points")
            if held is not None and self.assembler.route_source is not None:
                self._answer(*held)

    def _restart(self) -> None:
        self.sync.clear()
        self.latest.clear()
        self.first_rx.clear()
        self.last_stamp, self.last_msg = -1, None
        self.held = None

    def _on_msg(self, i: int, topic: str, msg) -> None:
        stamp = header_stamp_ns(msg)
        with self.lock:
            if stamp == self.last_stamp and self.last_msg is not None:
                if i == len(self.topics) - 1:  # the world re-sent the tick: answer again (once per resend)
                    self.pub.publish(self.last_msg)
                return
            if 0 <= stamp < self.last_stamp:
                self.get_logger().info(f"sim time restarted ({self.last_stamp / 1e9:.2f} s -> {stamp / 1e9:.2f} s)")
                self.assembler.lidar.clear()
                self._restart()
            self.first_rx.setdefault(stamp, time.monotonic_ns())
            self.latest[topic] = msg
            self.sync.add(i, msg)

    def _on_set(self, *msgs) -> None:
        stamp = max(header_stamp_ns(m) for m in msgs)
        if stamp <= self.last_stamp:
            return  # answered already (by the timeout path)
        tick = {t: m for (_, t), m in zip(self.topics, msgs)}
        if self.assembler.route_source is None and self.cfg.planning.enabled:
            # the latched /lead/route can reach this node after the first tick (DDS discovery
            # order at start): hold the tick for the route; the timeout path answers it if none comes
            self.held = (stamp, tick)
            return
        self._answer(stamp, tick)

    def _check_timeouts(self) -> None:
        now = time.monotonic_ns()
        with self.lock:
            for stamp in sorted(self.first_rx):
                if stamp <= self.last_stamp:
                    self.first_rx.pop(stamp)
                elif now - self.first_rx[stamp] > self.timeout_ns:
                    msgs = {t: m for t, m in self.latest.items() if header_stamp_ns(m) == stamp}
                    self._answer(stamp, msgs)

    # --- one tick ----------------------------------------------------------------------------------
    def _answer(self, stamp: int, msgs: dict) -> None:
        from std_msgs.msg import Float32

        import numpy as np

        from lead.control.safety_box import safety_box_occupied
        from lead.inference.bundle import to_bundle
        from lead.model.inputs import SPEED_TOPIC, InputError, build_inputs

        if self.held is not None and self.held[0] <= stamp:
            self.held = None
        last_rx = time.monotonic_ns()  # the set is complete (or given up on)
        rx = self.first_rx.pop(stamp, last_rx)
        for old in [s for s in self.first_rx if s < stamp]:
            self.first_rx.pop(old)
        missing = [t for _, t in self.topics if t not in msgs]
        status = msgs.get(f"/carla/{self.role}/vehicle_status")
        if status is not None:
            msgs[SPEED_TOPIC] = Float32(data=float(status.velocity))
        reason = ""
        try:
            frame = self.assembler.add_tick(msgs)
            if missing:
                raise InputError(f"no message at t={stamp / 1e9:.2f} s within {self.timeout_ns / 1e9:g} s on "
                                 + ", ".join(missing))
            if frame is None:
                raise InputError(f"no ego pose at t={stamp / 1e9:.2f} s")
            tensors = build_inputs(frame, self.cfg, self.rig)
            # the controller's creeping heuristic looks at this tick's LiDAR (not a model input)
            sweep = frame.lidar[-1] if frame.lidar and frame.lidar[-1].stamp_ns == stamp else None
            tensors[SAFETY_BOX_TENSOR] = np.uint8(sweep is not None and safety_box_occupied(sweep.points))
            out = to_bundle(tensors, stamp, "ego_vehicle")
        except (InputError, ValueError) as e:
            reason = f"preprocess: {e}"
            out = brake_bundle(reason, stamp)
        self.last_stamp, self.last_msg = stamp, out
        self.pub.publish(out)
        tx = time.monotonic_ns()
        if reason:
            self.brake_ticks += 1
            if self.brake_ticks == 1 or self.brake_ticks % 100 == 0:
                self.get_logger().warning(f"t={stamp / 1e9:.2f}: brake bundle ({self.brake_ticks} so far): {reason}")
        if self.timing is not None:
            self.timing.write(json.dumps({"stamp": stamp, "first_rx": rx, "last_rx": last_rx, "inputs_tx": tx,
                                          "latency_ms": (tx - rx) / 1e6, "brake": bool(reason)}) + "\n")

    def destroy_node(self):
        if self.timing is not None:
            self.timing.close()
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    return run_node(PreprocessNode, argv)


if __name__ == "__main__":
    sys.exit(main())
