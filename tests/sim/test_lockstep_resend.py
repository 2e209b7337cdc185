"""The world's re-send rule when a tick goes out in parts: a reader that matched a publisher
after that publisher's part was sent missed its message, so the re-send must include it, even
when the reader matched before the tick's last part went out. The publishers are stand-ins:
when a real DDS reader matches cannot be placed between two publishes in a test."""
from __future__ import annotations

from lead.nodes._lockstep import LockstepWorld
from lead.sim.lockstep import LockstepGate


class _Pub:
    def __init__(self, subscribers: int = 0):
        self.subscribers, self.sent = subscribers, []

    def publish(self, msg) -> None:
        self.sent.append(msg)

    def get_subscription_count(self) -> int:
        return self.subscribers


class _World(LockstepWorld):
    def __init__(self):
        self.gate = LockstepGate(["/control"])
        self.gate.seen("/control", 1)  # an agent answered before: a stall now is a late reader, not a slow agent


def test_a_reader_matched_between_parts_gets_the_earlier_part_again():
    w = _World()
    state, lidar, camera = _Pub(), _Pub(1), _Pub(1)
    w._send([(state, "odometry t")])
    state.subscribers = 1  # the preprocessing node's reader matches now: it missed "odometry t"
    w._send([(lidar, "lidar t")], earlier=[(state, "odometry t")])
    w._send([(camera, "image t")], earlier=[(state, "odometry t"), (lidar, "lidar t")])
    w._republish()
    assert state.sent == ["odometry t", "odometry t"]  # sent again: its reader came after it
    assert lidar.sent == ["lidar t"] and camera.sent == ["image t"]  # their readers had them
    w._republish()
    assert state.sent == ["odometry t", "odometry t"]  # nothing new matched since


def test_everything_is_sent_again_when_asked():
    w = _World()
    a, b = _Pub(1), _Pub(1)
    w._send([(a, "x")])
    w._send([(b, "y")], earlier=[(a, "x")])
    w._republish(everything=True)
    assert a.sent == ["x", "x"] and b.sent == ["y", "y"]


def test_a_paced_reader_holds_the_world_back_only_when_it_lags_too_far():
    """The recorder's progress: no wait before it reports; then at most `lag` ahead of it;
    forgotten (its publisher gone) -> no wait again; reset (new route) -> not reported."""
    tick = 50_000_000
    gate = LockstepGate(["/control"], paced={"/progress": 10 * tick})
    gate.seen("/control", 100 * tick)
    assert gate.wait(100 * tick, 0.01) == []  # has not reported: a graph without a recorder
    gate.seen("/progress", 85 * tick)
    assert gate.wait(95 * tick, 0.01) == []  # 10 ticks ahead: allowed
    assert gate.wait(96 * tick, 0.01) == ["/progress"]
    gate.seen("/progress", 86 * tick)
    assert gate.missing(96 * tick) == []
    assert gate.missing(97 * tick) == ["/progress"]
    gate.forget("/progress")
    assert gate.missing(97 * tick) == []
    gate.seen("/progress", 1 * tick)
    assert gate.missing(97 * tick) == ["/progress"]
    gate.reset()
    assert gate.missing(1 * tick) == ["/control"] and gate.nothing_seen()
    gate.seen("/control", 20 * tick)
    gate.seen("/progress", 90 * tick)  # the last route's, arriving after the reset
    gate.seen("/progress", 5 * tick)   # this route's: sim time started again
    assert gate.missing(16 * tick) == ["/progress"]


def test_pace_topic_names_every_paced_reader():
    """The eval graph paces the world to the recorder and the video node: one comma-separated
    parameter, each topic with the same lag; a gate with both waits for the slower one."""
    from lead.graphs import GRAPHS
    from lead.nodes._lockstep import PROGRESS_TOPIC, VIDEO_PROGRESS_TOPIC, paced_topics

    params = {"pace_topic": f" {PROGRESS_TOPIC}, {VIDEO_PROGRESS_TOPIC},", "pace_lag": 10}
    paced = paced_topics(lambda name, default: params.get(name, default), 0.05)
    assert paced == {PROGRESS_TOPIC: 500_000_000, VIDEO_PROGRESS_TOPIC: 500_000_000}
    assert paced_topics(lambda name, default: default, 0.05) == {}
    world = next(n for n in GRAPHS["eval"].resolve({"world": "embedded"}) if n.name == "world")
    assert set(world.parameters["pace_topic"].split(",")) == {PROGRESS_TOPIC, VIDEO_PROGRESS_TOPIC}
    gate = LockstepGate(["/control"], paced)
    gate.seen("/control", 2_000_000_000)
    gate.seen(PROGRESS_TOPIC, 2_000_000_000)
    gate.seen(VIDEO_PROGRESS_TOPIC, 1_000_000_000)  # the video is 20 ticks behind
    assert gate.missing(2_000_000_000) == [VIDEO_PROGRESS_TOPIC]
    gate.seen(VIDEO_PROGRESS_TOPIC, 1_600_000_000)
    assert gate.missing(2_000_000_000) == []
