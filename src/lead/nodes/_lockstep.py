"""What both world nodes (embedded, CARLA) do after building a tick: send it, then wait for
the lock-step answers, re-sending where a late subscriber can have missed it.

A mixin for rclpy nodes that have: gate (lead.sim.lockstep.LockstepGate), _lock, _stop
(threading.Event), _running, control_timeout, on_timeout (wait | hold | stop), exit_code,
control_topic, and _load(town, opendrive, seed, weather, num_vehicles, num_pedestrians,
route_id) -> name and _spawn(pose, blueprint) -> actor id behind the /lead/world/load and
spawn_ego services.
"""
from __future__ import annotations

import rclpy

REPUBLISH_AFTER = 2.0  # wall s without an answer before the tick's messages are sent again
RESEND_ALL_AFTER = 8.0  # wall s without an answer before every publisher re-sends, not just the new-matched
PROGRESS_TOPIC = "/lead/recorder/progress"
VIDEO_PROGRESS_TOPIC = "/lead/video/progress"
PACE_LAG = 10  # ticks: the recorder's readers hold what is not read yet (writers keep 60, SHM 16 MB a reader)


def paced_topics(p, dt: float) -> dict[str, int]:
    """The pace_topic (comma-separated topics) / pace_lag parameters (p: declare-and-read) as
    LockstepGate's `paced`."""
    topics, lag = str(p("pace_topic", "")), int(p("pace_lag", PACE_LAG))
    if lag < 0:
        raise ValueError(f"pace_lag must be >= 0 ticks, got {lag}")
    return {t.strip(): int(round(lag * dt * 1e9)) for t in topics.split(",") if t.strip()}


class LockstepWorld:
    def _loop_until_shutdown(self) -> None:
        """The world thread's target: `_loop`. A shutdown (SIGINT, SIGTERM) invalidates the ROS
        context whenever it comes, also while the loop publishes or waits for answers: an error
        then ends the loop quietly. Any other error is raised."""
        try:
            self._loop()
        except Exception:
            if rclpy.ok() and not self._stop.is_set():
                raise

    def _subscribe_paced(self) -> None:
        from rosgraph_msgs.msg import Clock

        from lead.io import qos
        from lead.io.stamps import to_ns

        for topic in self.gate.paced:
            self.create_subscription(Clock, topic, lambda m, t=topic: self.gate.seen(t, to_ns(m.clock)), qos.SENSOR)

    def _object_arrays(self, f, t: int, classify, out: list) -> None:
        """/carla/objects (ego included) and /carla/<role>/objects (without it). Last tick's
        Object messages (published by now) are overwritten, not built anew: ~1.5 ms a tick for
        100 actors."""
        from lead.sim import messages as M

        built: dict = {}
        recycle = getattr(self, "_object_msgs", None)
        out.append((self.pub_objects, M.object_array([f.ego] + f.actors, classify, t, built, recycle)))
        out.append((self.pub_ego_objects, M.object_array(f.actors, classify, t, built, recycle)))
        self._object_msgs = built

    def _on_control(self, msg) -> None:
        """The agent's CarlaEgoVehicleControl: applied at the next step; answers its tick."""
        from lead.control.vehicle_control import VehicleControl
        from lead.io.stamps import header_stamp_ns

        stamp = header_stamp_ns(msg)
        self._pending_control = (stamp, VehicleControl(
            throttle=msg.throttle, steer=msg.steer, brake=msg.brake, hand_brake=msg.hand_brake,
            reverse=msg.reverse, gear=msg.gear, manual_gear_shift=msg.manual_gear_shift))
        self.gate.seen(self.control_topic, stamp)

    def _srv_load(self, req, res):
        from lead.nodes.world import weather_dict

        try:
            name = self._load(req.town, req.opendrive, req.seed, weather_dict(req.weather), req.num_vehicles,
                              req.num_pedestrians, req.route_id)
            res.success, res.message = True, f"loaded {name}"
        except Exception as e:  # noqa: BLE001 — the caller gets the reason; the node stays up
            res.success, res.message = False, f"{type(e).__name__}: {e}"
            self.get_logger().error(f"load failed: {res.message}")
        return res

    def _srv_spawn(self, req, res):
        from lead.sim.decode import carla_pose

        try:
            res.actor_id = self._spawn(carla_pose(req.pose), req.blueprint)
            res.success, res.message = True, "spawned"
        except Exception as e:  # noqa: BLE001
            res.success, res.message = False, f"{type(e).__name__}: {e}"
        return res

    def _send(self, out: list, earlier: list = ()) -> None:
        """Publish a tick's (publisher, message) pairs in order; remember the tick (with the
        `earlier` part of it already sent) for a re-send. Each publisher's subscriber count is
        taken right after its part went out: a reader matched later missed it."""
        for pub, msg in out:
            pub.publish(msg)
        counts = {id(pub): pub.get_subscription_count() for pub, _ in out}
        if earlier:
            self._last_counts.update(counts)
        else:
            self._last_counts = counts
        self._last_out = [*earlier, *out]

    def _republish(self, everything: bool = False) -> None:
        """Send the tick again where it can have been missed: a subscriber discovered after the
        tick was published never got it (volatile QoS). Only publishers that gained a subscriber
        since, unless `everything` or nothing has answered since the last (re)load: a short
        stall after that is a slow agent, and reliable QoS delivers to matched readers, so a
        copy would only reach consumers twice (headerless messages are told apart by order)."""
        counts = getattr(self, "_last_counts", {})
        everything = everything or self.gate.nothing_seen()
        out = getattr(self, "_last_out", [])
        now = {id(pub): pub.get_subscription_count() for pub, _ in out}
        for pub, msg in out:
            if everything or now[id(pub)] > counts.get(id(pub), 0):
                pub.publish(msg)
        self._last_counts = now

    def _wait_for(self, stamp_ns: int) -> None:
        """Block until every lock-step topic answered tick `stamp_ns`; warn every
        control_timeout s, then wait on, go on (hold) or shut down with exit code 3 (stop)."""
        waited = since_warning = 0.0
        while not self._stop.is_set() and self._running:
            missing = self.gate.wait(stamp_ns, REPUBLISH_AFTER)
            if not missing or not self._running:
                return
            waited += REPUBLISH_AFTER
            since_warning += REPUBLISH_AFTER
            for t in missing:
                if t in self.gate.paced and self.count_publishers(t) == 0:
                    self.get_logger().warning(f"{t}: its publisher is gone; no longer pacing the world to it")
                    self.gate.forget(t)
            with self._lock:
                # a long stall: a node may have been restarted between two looks at the
                # subscriber counts (same count, new reader): send everything
                self._republish(everything=waited >= RESEND_ALL_AFTER)
            if since_warning < self.control_timeout:
                continue
            since_warning = 0.0
            self.get_logger().warning(f"no answer from {', '.join(missing)} for {waited:.0f} s at t={stamp_ns / 1e9:.2f}")
            if self.on_timeout == "hold":
                return
            if self.on_timeout == "stop":
                self.exit_code = 3
                self._stop.set()
                rclpy.try_shutdown()
                return
