"""Edge cases of the time synchronizers, fed directly (no ROS graph needed)."""
import itertools

import numpy as np
import pytest
from geometry_msgs.msg import PointStamped
from std_msgs.msg import Float32

from lead.io.stamps import make_header
from lead.io.sync import ApproximateTimeSynchronizer, ExactTimeSynchronizer

MS = 1_000_000


def msg(t_ns: int, tag: float = 0.0) -> PointStamped:
    m = PointStamped(header=make_header(t_ns, "f"))
    m.point.x = float(tag)
    return m


def t_of(m) -> int:
    return m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec


class Sink:
    def __init__(self):
        self.sets = []

    def __call__(self, *msgs):
        self.sets.append(tuple(t_of(m) for m in msgs))


def approx(n=3, queue=10, slop=0.01, **kw):
    sink = Sink()
    return ApproximateTimeSynchronizer(n, queue, slop, sink, **kw), sink


def queued(sync) -> int:
    return sum(len(q) for q in sync._queues) + sum(len(p) for p in sync._past)


def accounted(sync, sink) -> bool:
    return sum(sync.received) == len(sink.sets) * sync.num_inputs + sum(sync.dropped) + queued(sync)


def test_lock_step_sets_are_emitted_when_the_last_input_arrives():
    sync, sink = approx()
    for k in range(5):
        for i in range(3):
            assert len(sink.sets) == k  # nothing early
            sync.add(i, msg(k * 50 * MS))
        assert sink.sets[-1] == (k * 50 * MS,) * 3
    assert sync.dropped == [0, 0, 0] and accounted(sync, sink)


def test_jittered_streams_give_one_set_per_tick():
    rng = np.random.default_rng(3)
    sync, sink = approx(slop=0.02)
    arrivals = []
    for k in range(40):
        for i in range(3):
            arrivals.append((k * 50 * MS + int(rng.integers(-5, 6)) * MS, i))
    arrivals.sort()
    for t, i in arrivals:
        sync.add(i, msg(t))
    by_tick = {}
    for t, i in arrivals:
        by_tick.setdefault(round(t / (50 * MS)), [None] * 3)[i] = t
    # the last tick may wait for proof that no better set follows
    assert sink.sets[:39] == [tuple(by_tick[k]) for k in range(39)]
    assert accounted(sync, sink)


def test_out_of_order_arrival_within_a_topic():
    sync, sink = approx(n=2, slop=0.005)
    order = [(0, 0), (0, 100), (0, 50), (1, 0), (1, 50), (1, 100), (0, 150), (1, 150)]  # 50 after 100
    for i, t in order:
        sync.add(i, msg(t * MS))
    assert sink.sets[:3] == [(0, 0), (50 * MS, 50 * MS), (100 * MS, 100 * MS)]
    assert sync.dropped == [0, 0] and accounted(sync, sink)


def test_a_lagging_input_does_not_reorder_sets():
    sync, sink = approx(n=2, slop=0.005)
    for i, t in [(0, 0), (0, 50), (1, 50), (1, 0)]:  # input 1's tick 0 comes after its tick 50
        sync.add(i, msg(t * MS))
    assert sink.sets == [(50 * MS, 50 * MS)]  # tick 0 can no longer come out in order
    assert sync.dropped == [1, 1] and accounted(sync, sink)


def test_message_older_than_an_emitted_set_is_dropped_as_late():
    sync, sink = approx(n=2, slop=0.005)
    for t in (0, 50, 100):
        sync.add(0, msg(t * MS))
        sync.add(1, msg(t * MS))
    emitted = list(sink.sets)
    sync.add(1, msg(25 * MS))
    assert sink.sets == emitted and sync.dropped[1] == 1 and accounted(sync, sink)


def test_dropped_message_leaves_no_wrong_pair():
    sync, sink = approx(n=2, slop=0.01)
    for k in range(6):
        sync.add(0, msg(k * 50 * MS))
        if k != 2:  # input 1 loses tick 2
            sync.add(1, msg(k * 50 * MS))
    ticks = [s[0] // (50 * MS) for s in sink.sets]
    assert 2 not in ticks and ticks == sorted(ticks) and {0, 1, 3, 4} <= set(ticks)
    assert all(a == b for a, b in sink.sets)
    assert accounted(sync, sink)


def test_queue_overflow_drops_the_oldest_of_that_input():
    sync, sink = approx(n=2, queue=5, slop=0.002)
    for k in range(12):  # input 0 runs ahead alone
        sync.add(0, msg(k * 10 * MS))
    assert len(sync._queues[0]) == 5 and sync.dropped[0] == 7
    sync.add(1, msg(30 * MS))  # matched a message that was pushed out: nothing to pair with
    sync.add(1, msg(101 * MS))  # 1 ms from k=10
    sync.add(1, msg(200 * MS))
    assert sink.sets == [(100 * MS, 101 * MS)]
    assert accounted(sync, sink)


@pytest.mark.parametrize("spread_ns,emitted", [(10 * MS, True), (10 * MS + 1, False)])
def test_slop_boundary_is_inclusive(spread_ns, emitted):
    sync, sink = approx(n=2, slop=0.010)
    sync.add(0, msg(1000 * MS))
    sync.add(1, msg(1000 * MS + spread_ns))
    sync.add(0, msg(2000 * MS))  # later messages let the policy decide
    sync.add(1, msg(2000 * MS))
    assert ((1000 * MS, 1000 * MS + spread_ns) in sink.sets) == emitted


def test_fast_topic_is_paired_with_its_nearest_message():
    sync, sink = approx(n=2, queue=30, slop=0.02)
    fast = [k * 10 * MS for k in range(101)]  # 100 Hz
    slow = [k * 100 * MS + 3 * MS for k in range(10)]  # 10 Hz, 3 ms after a fast one
    events = sorted([(t, 0) for t in fast] + [(t, 1) for t in slow])
    for t, i in events:
        sync.add(i, msg(t))
    expected = [(min(fast, key=lambda f: abs(f - s)), s) for s in slow]
    assert sink.sets == expected
    assert accounted(sync, sink)


def test_sets_are_within_slop_ordered_and_use_each_message_once():
    rng = np.random.default_rng(11)
    sync, sink = approx(n=3, queue=8, slop=0.015)
    streams = [np.cumsum(rng.integers(5, 40, 200)) * MS for _ in range(3)]
    events = sorted(itertools.chain.from_iterable(((int(t), i) for t in s) for i, s in enumerate(streams)))
    for t, i in events:
        sync.add(i, msg(t))
    assert sink.sets
    for s in sink.sets:
        assert max(s) - min(s) <= 15 * MS
    for i in range(3):
        column = [s[i] for s in sink.sets]
        assert column == sorted(set(column))
    assert accounted(sync, sink)


def test_lower_bound_lets_a_set_out_before_the_next_message():
    plain, plain_sink = approx(n=2, slop=0.03)
    bounded, bounded_sink = approx(n=2, slop=0.03)
    bounded.set_inter_message_lower_bound(0, 0.05)
    for sync in (plain, bounded):
        sync.add(0, msg(0))
        sync.add(1, msg(10 * MS))
    assert plain_sink.sets == []  # input 0's next message might come at 10 ms and beat (0, 10)
    assert bounded_sink.sets == [(0, 10 * MS)]  # it cannot come before 50 ms


def test_headerless_messages_are_refused():
    sync, _ = approx(n=2)
    with pytest.raises(TypeError, match="input 1: Float32 has no header.stamp"):
        sync.add(1, Float32(data=1.0))
    with pytest.raises(TypeError, match="header.stamp"):
        ExactTimeSynchronizer(2, 5).add(0, Float32())


def test_input_callback_and_bad_arguments():
    sync, sink = approx(n=2)
    cb0, cb1 = sync.input(0), sync.input(1)
    cb0(msg(5))
    cb1(msg(5))
    assert sink.sets == [(5, 5)]
    with pytest.raises(IndexError):
        sync.input(2)
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(1, 10, 0.1)
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(2, 0, 0.1)
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(2, 10, -0.1)


def test_exact_time():
    sink = Sink()
    sync = ExactTimeSynchronizer(3, 3, sink)
    sync.add(0, msg(10))
    sync.add(1, msg(10))
    sync.add(2, msg(11))  # no match for 10 on input 2 yet
    assert sink.sets == []
    sync.add(2, msg(10))
    assert sink.sets == [(10, 10, 10)]
    # stamp 11 is still incomplete; a complete later set discards it
    for i in range(3):
        sync.add(i, msg(20))
    assert sink.sets[-1] == (20, 20, 20) and sync.dropped[2] == 1
    sync.add(0, msg(15))  # older than the last set: late
    assert sync.dropped[0] == 1
    for t in (30, 31, 32, 33):  # queue of 3 incomplete stamps: 30 falls out
        sync.add(0, msg(t))
    for i in (1, 2):
        sync.add(i, msg(30))
    assert sink.sets[-1] == (20, 20, 20)
    for i in (1, 2):
        sync.add(i, msg(31))
    assert sink.sets[-1] == (31, 31, 31)


def test_clear_forgets_time_order_when_sim_time_restarts():
    from types import SimpleNamespace

    from lead.io.stamps import time_msg
    from lead.io.sync import ApproximateTimeSynchronizer, ExactTimeSynchronizer

    def msg(ns):
        return SimpleNamespace(header=SimpleNamespace(stamp=time_msg(ns)))

    for sync in (ExactTimeSynchronizer(2, 10), ApproximateTimeSynchronizer(2, 10, 0.01)):
        out = []
        sync.register_callback(lambda a, b: out.append(a.header.stamp.sec))
        for t in (5, 6, 7):
            sync.add(0, msg(t * 10**9)), sync.add(1, msg(t * 10**9))
        sync.add(0, msg(1 * 10**9)), sync.add(1, msg(1 * 10**9))
        before = len(out)
        sync.clear()
        for t in (1, 2, 3):
            sync.add(0, msg(t * 10**9)), sync.add(1, msg(t * 10**9))
        assert out[before:][:2] == [1, 2], (type(sync).__name__, out)
