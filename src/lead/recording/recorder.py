"""The recorder as a library: serialized messages in, one MCAP bag per route out.

`RouteRecorder.handle(topic, type, cdr_bytes)` is all the ROS node calls. It

- keeps the data table's rates (lead.io.data_table): a topic recorded every `every`
  ticks keeps the messages whose tick (header stamp / dt) is a multiple of `every`, so the
  cameras of one saved frame are always the same tick;
- starts a bag when a new /lead/route arrives (or sim time runs backwards, for runs
  without a route manager) and writes the latched topics (map, lights, tf_static, ...) it
  has cached at the start of every bag, so each bag stands alone;
- drops the world's re-sent ticks (same stamp, same bytes) and stale messages;
- ends a route's bag when /lead/leaderboard/status says the route finished
  (state FINISHED), with the result in the bag's "lead" metadata record; a route that ends
  in an infraction is kept all the same, so the dataset can be filtered later;
- flushes the open chunk every `flush_every_s` wall seconds, so a killed recorder leaves
  a bag whose prefix up to the last flush reads back (lead.io.bag.BagReader).
- counts, per sensor topic of the rig, the messages a bag lacks (one per tick, a camera's one
  per saved tick): "missing" in the final metadata (JSON, empty when complete), and a warning,
  so a recorder that fell behind and lost data says so instead of leaving a thinner bag.

Bags are named `<route_id>.mcap` (route ids are RouteScenario_<id>_rep<k>), or
`run<k>.mcap` when no route was announced. Log times are sim time; messages without a
header (speedometer, CarlaStatus, light states) are stamped by their order: one per tick.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import lead
from lead.io import data_table as DT
from lead.io.bag import BagWriter
from lead.recording import topics as T
from lead.sim.rig import load_rig, resolve_rig_path

log = logging.getLogger("lead.recording")
_REP = re.compile(r"_rep(\d+)$")
_STATE_FINISHED = 3


@dataclass
class _Bag:
    writer: BagWriter
    path: Path
    route_id: str
    meta: dict[str, str]
    last_stamp: dict[str, int] = field(default_factory=dict)
    last_data: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ticks: int = 0
    saved_ticks: int = 0          # ticks at the save rate (when the cameras are recorded)
    frames: int = 0
    first_tick: int | None = None
    last_tick: int | None = None
    clock_ns: int | None = None
    distance_m: float = 0.0
    last_xy: tuple[float, float] | None = None
    status: dict[str, str] = field(default_factory=dict)
    infractions: list[str] = field(default_factory=list)
    finish_stamp: int | None = None   # stamp of the route's final status (state FINISHED)
    first_clock: int | None = None
    held: list = field(default_factory=list)  # the newest tick's messages, written when the next starts
    held_stamp: int = -1
    resent: dict = field(default_factory=dict)  # tick -> how many times the world sent it again (extra /clock)
    resent_dropped: dict = field(default_factory=dict)  # (topic, tick) -> re-sent headerless copies dropped


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class RouteRecorder:
    """See the module doc. Not thread-safe: call from one thread (the node's executor)."""

    def __init__(self, out_dir: str | Path, rig: str = "lead", collect: bool = True, seed: int = 0,
                 dt: float = 0.05, flush_every_s: float = 1.0, compression: str = "zstd",
                 chunk_size: int = 4 << 20) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rig_path = resolve_rig_path(rig)
        self.rig = load_rig(rig_path)
        self.rig_path = rig_path
        self.rig_sha256 = file_sha256(rig_path)
        self.collect = bool(collect)
        self.seed = int(seed)
        self.dt_ns = int(round(dt * 1e9))
        self.flush_every_s = flush_every_s
        self.compression = compression
        self.chunk_size = chunk_size
        self.types = T.topic_types(self.rig, self.collect)
        rates = DT.recorded_topics(self.rig, self.collect)
        self.every = {tr.topic: tr.every for tr in rates}
        self.camera_topics = frozenset(tr.topic for tr in rates if tr.camera)
        # the rig's sensors: one message a tick (a camera's at the save rate), so a gap is a loss
        self.sensor_topics = {tr.topic: tr.every for tr in rates if tr.topic not in DT.EVERY_TICK + DT.LATCHED}
        self.latched = set(DT.LATCHED)
        # the saved frame is counted on one camera image topic (the first of the rig)
        cams = [t for t, e in self.every.items() if e > 1 and t.endswith("/image") and DT.PERTURBED_SUFFIX not in t]
        self.frame_topic = cams[0] if cams else None
        self.cache: dict[str, tuple[str, bytes, int]] = {}   # latched topic -> (type, data, stamp)
        self.route: tuple[bytes, object] | None = None        # (cdr, lead_msgs/Route) of the current route
        self.route_done = False                                # the current route's final status came
        self.bag: _Bag | None = None
        self.runs = 0
        self.closed_bags: list[dict] = []                      # per closed bag: path + final metadata
        self._last_flush = time.monotonic()

    # ------------------------------------------------------------------ input
    def handle(self, topic: str, type_name: str, data: bytes) -> None:
        data = bytes(data)
        if topic == DT.ROUTE_TOPIC:
            self._on_route(type_name, data)
            return
        if topic in self.latched:
            stamp = T.cdr_stamp_ns(type_name, data) or 0
            self.cache[topic] = (type_name, data, stamp)
            b = self.bag
            if b is not None and b.finish_stamp is None and b.last_data.get(topic) != data:
                b.last_data[topic] = data
                self._write(b, topic, type_name, data, max(stamp, b.clock_ns or 0))
            return
        stamp = T.cdr_stamp_ns(type_name, data)
        if topic == "/clock" and stamp is not None:
            b = self.bag
            if b is not None and b.clock_ns is not None and stamp < b.clock_ns:
                # sim time ran backwards: the world was reset; without a route manager that is a new run
                if self.route is None:
                    self._close("time reset")
                elif stamp < b.clock_ns - self.dt_ns:
                    log.warning("%s: sim time went back from %.2f to %.2f s without a new /lead/route",
                                b.route_id, b.clock_ns / 1e9, stamp / 1e9)
        b = self.bag
        if b is None:
            if self.route is not None:  # between routes (finished, the next not announced): nothing to keep
                return
            self.runs += 1
            b = self._open(f"run{self.runs}", {})
        if stamp is None:
            stamp = self._headerless_stamp(b, topic, data)
            if stamp is None:
                return
        if b.finish_stamp is not None and stamp > b.finish_stamp:
            return  # the world's tick after the route's end
        every = self.every.get(topic, 1)
        if every > 1 and self._tick(stamp) % every:
            return
        if topic == T.STATUS_TOPIC and self._on_status(b, type_name, data, stamp):
            return
        last = b.last_stamp.get(topic)
        if last is not None and (stamp < last or (stamp == last and b.last_data.get(topic) == data)):
            if topic == "/clock" and stamp == last:
                b.resent[stamp] = b.resent.get(stamp, 0) + 1
            return  # the world re-sent the tick, or a straggler of an earlier one
        b.last_stamp[topic] = stamp
        b.last_data[topic] = data
        if topic == "/clock":
            b.clock_ns = stamp
            b.first_clock = stamp if b.first_clock is None else b.first_clock
        # write one tick behind: the newest tick is held until a later one starts, so the
        # world's tick after a route's end (it steps once more before the final status
        # arrives) is dropped whole instead of half-recorded
        if stamp > b.held_stamp:
            self._release(b, None)
            b.held_stamp = stamp
        if stamp == b.held_stamp:
            b.held.append((topic, type_name, data, stamp))
        else:
            self._emit(b, topic, type_name, data, stamp)

    def _tick(self, stamp: int) -> int:
        """The tick index of a stamp (sim time / dt, rounded): the world's rule for the ticks
        that carry cameras (camera_every) and the trainer's for the saved ones."""
        return (stamp + self.dt_ns // 2) // self.dt_ns

    def _release(self, b: _Bag, upto: int | None) -> None:
        """Write the held tick (its messages stamped <= upto; all when upto is None)."""
        held, b.held = b.held, []
        for topic, type_name, data, stamp in held:
            if upto is None or stamp <= upto:
                self._emit(b, topic, type_name, data, stamp)

    def _emit(self, b: _Bag, topic: str, type_name: str, data: bytes, stamp: int) -> None:
        if topic == "/clock":
            b.ticks += 1
            b.first_tick = stamp if b.first_tick is None else min(b.first_tick, stamp)
            b.last_tick = stamp if b.last_tick is None else max(b.last_tick, stamp)
            if self._tick(stamp) % DT.SAVE_EVERY == 0:
                b.saved_ticks += 1
        elif topic == self.frame_topic:
            b.frames += 1
        elif topic == T.ODOM_TOPIC:
            self._on_odometry(b, type_name, data)
        elif topic == T.EVENT_TOPIC:
            self._on_event(b, type_name, data)
        self._write(b, topic, type_name, data, stamp)

    def _headerless_stamp(self, b: _Bag, topic: str, data: bytes) -> int | None:
        """The tick of a message without a header, None for a re-sent one. Per topic,
        messages arrive in order, one per tick, but not in order with /clock (another
        subscription, which can run ahead or behind when the recorder lags): the first of a
        route is the route's first tick, each next one the tick after. A message equal to
        the last one while the world is re-sending that tick (a second /clock of it came) is
        the re-sent copy."""
        last = b.last_stamp.get(topic)
        if last is None:
            if b.first_clock is not None:
                return b.first_clock
            return b.clock_ns if b.clock_ns is not None else 0
        if b.last_data.get(topic) == data and b.resent_dropped.get((topic, last), 0) < b.resent.get(last, 0):
            # one copy per re-send: a constant message (an empty light list) must not swallow
            # every later tick once one tick was re-sent
            b.resent_dropped[(topic, last)] = b.resent_dropped.get((topic, last), 0) + 1
            return None
        return last + self.dt_ns

    def _write(self, b: _Bag, topic: str, type_name: str, data: bytes, stamp: int) -> None:
        b.writer.write_serialized(topic, type_name, data, stamp)
        b.counts[topic] = b.counts.get(topic, 0) + 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_every_s:
            b.writer.flush()
            self._last_flush = now

    # ------------------------------------------------------------------ routes
    def _on_route(self, type_name: str, data: bytes) -> None:
        if self.route is not None and self.route[0] == data:
            return  # the latched route delivered again
        msg = _deserialize(type_name, data)
        self._close("next route" if self.bag is not None else "")
        self.route = (data, msg)
        self.route_done = False
        m = _REP.search(msg.route_id)
        rep = int(m.group(1)) if m else 0
        scenarios = [s.type or s.name for s in msg.scenarios]
        meta = {"route_id": msg.route_id, "town": msg.town, "route_index": str(msg.route_index),
                "num_routes": str(msg.num_routes), "route_length_m": f"{msg.length_m:.1f}",
                "repetition": str(rep), "seed": str(self.seed + rep), "scenarios": ",".join(scenarios)}
        if self.collect and self.rig.perturbation is not None:
            # the world draws the route's perturbated views from the same seed (route manager: seed + rep)
            # and route id (the route manager's LoadWorld request)
            from lead.sim.rig import route_perturbation

            shift, yaw = route_perturbation(self.rig, self.seed + rep, msg.route_id)
            meta.update(perturbation_shift_m=repr(shift), perturbation_yaw_deg=repr(yaw))
        b = self._open(_safe_name(msg.route_id) or f"route{msg.route_index}", meta)
        self._write(b, DT.ROUTE_TOPIC, type_name, data, 0)

    def _open(self, name: str, route_meta: dict[str, str]) -> _Bag:
        path = self.out_dir / f"{name}.mcap"
        if path.exists():
            log.warning("%s exists (an earlier, interrupted run of this route?): replacing it", path)
        writer = BagWriter(path, compression=self.compression, chunk_size=self.chunk_size, overwrite=True)
        world = self.cache.get("/carla/world_info")
        map_name = _deserialize(world[0], world[1]).map_name if world else route_meta.get("town", "")
        meta = {"format": "lead-expert-bag/1", "rig": self.rig.name, "rig_file": self.rig_path.name,
                "rig_sha256": self.rig_sha256, "collect": str(self.collect).lower(), "map": map_name,
                "route_id": name, "seed": str(self.seed), "software": f"lead {lead.__version__}",
                "start_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "save_every": str(DT.SAVE_EVERY), "dt": f"{self.dt_ns / 1e9:g}", **route_meta}
        writer.add_metadata(DT.METADATA_NAME, meta)
        b = self.bag = _Bag(writer, path, meta["route_id"], meta)
        for topic, (type_name, data, stamp) in self.cache.items():
            b.last_data[topic] = data
            self._write(b, topic, type_name, data, stamp)
        log.info("recording %s into %s", b.route_id, path)
        return b

    def _on_status(self, b: _Bag, type_name: str, data: bytes, stamp: int) -> bool:
        """Keep the route's scores; True when this is the route's final status (then written
        here, with the held tick up to its stamp, and nothing later is kept)."""
        if b.finish_stamp is not None:
            return True
        msg = _deserialize(type_name, data)
        if msg.route_id and msg.route_id != b.meta.get("route_id", msg.route_id):
            return False
        b.status = {"status": msg.status, "driving_score": f"{msg.driving_score:.3f}",
                    "route_completion": f"{msg.route_completion:.3f}",
                    "infraction_penalty": f"{msg.infraction_penalty:.4f}",
                    "num_infractions": str(msg.num_infractions)}
        if msg.state != _STATE_FINISHED:
            return False
        # the bag is closed when the next route starts or the recorder stops: messages of this
        # last tick may still be queued on other subscriptions
        b.finish_stamp = stamp
        self.route_done = True
        self._release(b, stamp)
        self._emit(b, T.STATUS_TOPIC, type_name, data, stamp)
        return True

    def _on_event(self, b: _Bag, type_name: str, data: bytes) -> None:
        b.infractions.append(_deserialize(type_name, data).event_type)

    def _on_odometry(self, b: _Bag, type_name: str, data: bytes) -> None:
        p = _deserialize(type_name, data).pose.pose.position
        if b.last_xy is not None:
            d = math.hypot(p.x - b.last_xy[0], p.y - b.last_xy[1])
            if d < 50.0:  # a teleport (respawn) is not driving
                b.distance_m += d
        b.last_xy = (p.x, p.y)

    # ------------------------------------------------------------------ output
    def _close(self, reason: str) -> None:
        b, self.bag = self.bag, None
        if b is None:
            return
        if b.finish_stamp is not None:
            reason = "finished"
        self._release(b, b.finish_stamp)
        counts: dict[str, int] = {}
        for e in b.infractions:
            counts[e] = counts.get(e, 0) + 1
        duration = (b.last_tick - b.first_tick) / 1e9 + self.dt_ns / 1e9 if b.ticks else 0.0
        missing = self._missing(b)
        if missing:
            log.warning("%s: messages missing (not received: the recorder fell behind, or a sensor "
                        "did not publish): %s", b.route_id, ", ".join(f"{t} {n}" for t, n in missing.items()))
        end = {**b.meta, "end_reason": reason or "closed", "ticks": str(b.ticks), "frames": str(b.frames),
               "duration_s": f"{duration:.2f}", "distance_m": f"{b.distance_m:.2f}",
               "infractions": json.dumps(counts, sort_keys=True),
               "missing": json.dumps(missing, sort_keys=True),
               "end_time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **b.status}
        if reason != "finished":
            end.setdefault("status", "")
            end["status"] = end["status"] or "Unfinished"
        try:
            b.writer.add_metadata(DT.METADATA_NAME, end)
        finally:
            b.writer.close()
        self.closed_bags.append({"path": str(b.path), **end})
        log.info("%s: %d ticks, %d frames, %s (%s) -> %s", b.route_id, b.ticks, b.frames,
                 end.get("status", ""), end["end_reason"], b.path)

    def _missing(self, b: _Bag) -> dict[str, int]:
        """Per sensor topic, messages fewer than its rate predicts for the ticks recorded."""
        out = {}
        for topic, every in self.sensor_topics.items():
            n = (b.ticks if every == 1 else b.saved_ticks) - b.counts.get(topic, 0)
            if n > 0:
                out[topic] = n
        return out

    def flush(self) -> None:
        if self.bag is not None:
            self.bag.writer.flush()
            self._last_flush = time.monotonic()

    def close(self, reason: str = "interrupted") -> None:
        """Finish the open bag (a route that did not finish gets status 'Unfinished')."""
        self._close(reason)

    @property
    def current(self) -> _Bag | None:
        return self.bag


def _safe_name(route_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", route_id).strip("._")


_CLASSES: dict[str, type] = {}


def _deserialize(type_name: str, data: bytes):
    from rclpy.serialization import deserialize_message

    from lead.io.msgdefs import message_class

    cls = _CLASSES.get(type_name)
    if cls is None:
        cls = _CLASSES[type_name] = message_class(type_name)
    return deserialize_message(data, cls)
