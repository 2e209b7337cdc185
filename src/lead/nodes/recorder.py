"""Recorder node: every topic of LEAD's data table (lead.io.data_table) -> one MCAP bag per route.

Thin: raw (serialized) subscriptions hand CDR bytes to lead.recording.recorder.RouteRecorder,
which gates rates, splits routes and writes the bags. The recorder is not part of the
lock-step set, so it must keep up: raw subscriptions (no deserialisation) and deep queues.

Parameters: out (folder for the bags; required), rig (name or file), collect (the perturbated
views are recorded too), seed (the run's base seed, for the metadata), dt (s per tick),
camera_every (the world publishes the cameras only on ticks that are multiples of this: the
embedded world's parameter of that name; 1 = every tick, as CARLA does),
flush_every (wall s between chunk flushes: what a SIGKILL can lose at most).

The recorder is not in the lock-step, but it paces the world: after each tick's /clock it
publishes that tick on /lead/recorder/progress (rosgraph_msgs/Clock), and a world with
pace_topic set to it runs at most pace_lag ticks ahead (lead.nodes._lockstep). The graphs
start it under SCHED_IDLE (NodeSpec.sched_idle): it takes only CPU the lock-stepped nodes
leave idle, and when it falls behind the pacing holds the world back instead of losing
messages. SIGINT/SIGTERM: take what is still queued, finish the open bag, exit 0.
"""
from __future__ import annotations

import signal
import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock

from lead.io import data_table as DT
from lead.io import qos
from lead.nodes._lockstep import PROGRESS_TOPIC
from lead.nodes._spin import events_executor_for, exit_deadline, spin_while
from lead.io.msgdefs import message_class
from lead.recording.recorder import RouteRecorder
from lead.recording.topics import cdr_stamp_ns
from lead.sim import messages as M

# deep queues: a slow moment of the recorder must not drop a tick of the lock-step world
TICK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=500, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
LATCHED_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def needs_saved_ticks_filter(every: int, camera: bool, camera_every: int) -> bool:
    """Whether a DDS content filter should drop the unsaved ticks of a topic recorded every
    `every` ticks (`camera`: one of the data table's camera topics). Not where the world already
    sends a camera topic on saved ticks only
    (camera_every a multiple of the save rate, as in `lead collect`): every message would pass,
    and the writer would still test each image against the filter (measured: 0.15 ms more per
    384x384 image published, 18 images a saved tick with LEAD's collect rig)."""
    if every <= 1:
        return False
    return not (camera and camera_every % every == 0)


def saved_ticks_filter(dt_ns: int, every: int):
    """A DDS content filter that lets through only the saved ticks of a camera topic, so the
    world does not even send the others (Fast DDS filters on the writer side): the stamps of
    saved ticks are multiples of dt*every, i.e. a few fixed nanosecond values within each
    second. None when that period does not divide a second (the recorder then gates alone)."""
    from rclpy.subscription_content_filter_options import ContentFilterOptions

    period = dt_ns * every
    if period <= 0 or 1_000_000_000 % period or 1_000_000_000 // period > 20:
        return None
    values = range(0, 1_000_000_000, period)
    return ContentFilterOptions(" OR ".join(f"header.stamp.nanosec = %{i}" for i in range(len(values))),
                                [str(v) for v in values])


class Recorder(Node):
    def __init__(self) -> None:
        super().__init__("recorder")
        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        out = str(p("out", ""))
        if not out:
            raise ValueError("recorder: parameter 'out' (folder for the bags) is empty")
        self.rec = RouteRecorder(out, rig=str(p("rig", "lead")), collect=bool(p("collect", True)),
                                 seed=int(p("seed", 0)), dt=float(p("dt", 0.05)),
                                 flush_every_s=float(p("flush_every", 1.0)))
        camera_every = int(p("camera_every", 1))
        if camera_every < 1:
            raise ValueError(f"recorder: parameter 'camera_every' must be >= 1, got {camera_every}")
        self.received = 0
        self.pub_progress = self.create_publisher(Clock, PROGRESS_TOPIC, qos.SENSOR)
        for topic, type_name in self.rec.types.items():
            if topic == "/tf_static":
                profile = qos.TF_STATIC_LISTENER
            elif topic in DT.LATCHED:
                profile = LATCHED_QOS
            else:
                profile = TICK_QOS
            cb = (lambda data, t=topic, ty=type_name: self._on(t, ty, data))
            every = self.rec.every.get(topic, 1)
            camera = topic in self.rec.camera_topics
            filt = saved_ticks_filter(self.rec.dt_ns, every) if needs_saved_ticks_filter(every, camera, camera_every) \
                else None
            try:
                self.create_subscription(message_class(type_name), topic, cb, profile, raw=True,
                                         content_filter_options=filt)
            except Exception as e:  # noqa: BLE001 — an RMW without content filters: gate in Python only
                self.get_logger().warning(f"{topic}: no content filter ({e}); receiving every tick")
                self.create_subscription(message_class(type_name), topic, cb, profile, raw=True)
        self.get_logger().info(f"recording {len(self.rec.types)} topics of rig '{self.rec.rig.name}' "
                               f"(collect={self.rec.collect}) into {out}")

    def _on(self, topic: str, type_name: str, data: bytes) -> None:
        self.received += 1
        self.rec.handle(topic, type_name, data)
        if topic == "/clock":
            stamp = cdr_stamp_ns(type_name, data)
            if stamp is not None:
                self.pub_progress.publish(M.clock(stamp))


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=sys.argv if argv is None else argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = {"sig": None}

    def on_signal(sig, _frame):
        stop["sig"] = sig

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node = ex = None
    code = 0
    try:
        node = Recorder()
        ex = events_executor_for(node)
        spin_while(ex, lambda: stop["sig"] is None)
        # drain: take what is queued (the last route's final status among it) before closing,
        # until nothing came for 0.3 s (2 s at most)
        quiet_since = time.monotonic()
        end = quiet_since + 2.0
        received = node.received
        while rclpy.ok() and time.monotonic() < end and time.monotonic() - quiet_since <= 0.3:
            ex.spin_once(timeout_sec=0.02)
            if node.received != received:
                received, quiet_since = node.received, time.monotonic()
    except Exception:  # noqa: BLE001 — say why, exit non-zero for the runner
        import logging

        logging.getLogger("lead").exception("recorder crashed")
        code = 1
    finally:
        if node is not None:
            node.rec.close("interrupted")  # the bag first: the deadline covers only DDS teardown
            exit_deadline(15)
            if ex is not None:
                ex.shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
