"""Time synchronizers for N message streams, after ROS 2 message_filters.

Plain Python: feed messages with `sync.add(i, msg)` (or use `sync.input(i)` as a
subscription callback) and registered callbacks receive one message per input. No
ROS import; a message only needs header.stamp (sec, nanosec).

ApproximateTimeSynchronizer follows message_filters' C++ ApproximateTime policy, not
its Python wrapper. The C++ policy picks, for every set it emits, the set with the
smallest time spread (with an age penalty) among the messages queued, proves that no
later message can give a better one before emitting it, emits sets in time order and
uses each message at most once; `slop` bounds the spread (its max interval
duration). The Python wrapper instead emits the first combination within `slop` of the
message that just arrived, which can pair a slow topic with a non-nearest message of a
fast one. Deterministic, best-match sets are what a recorder and a policy need, so we
follow the C++ policy. Two differences from it, both for robustness: a message older
than one its input already gave up is dropped as late, and a message that arrives out
of order but still within the queue is put in its place (the C++ policy only warns and
then assumes order). A set whose spread equals `slop` is accepted (the C++ policy
rejects only spreads above it; the Python wrapper needs spread < slop).

ExactTimeSynchronizer follows the ExactTime policy: a set is emitted when every input
has a message with the same stamp; at most `queue_size` incomplete stamps are kept.

Header-less messages are refused with TypeError: an input without stamps is a wiring
error, not something to guess a time for.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Sequence

from lead.io.stamps import header_stamp_ns


def _stamp(i: int, msg: Any) -> int:
    try:
        return header_stamp_ns(msg)
    except TypeError:
        raise TypeError(
            f"input {i}: {type(msg).__name__} has no header.stamp; time synchronizers need stamped messages"
        ) from None


class _Synchronizer:
    def __init__(self, num_inputs: int, queue_size: int, callback: Callable[..., Any] | None):
        if num_inputs < 2:
            raise ValueError(f"a synchronizer needs at least 2 inputs, got {num_inputs}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.num_inputs = num_inputs
        self.queue_size = queue_size
        self._callbacks: list[Callable[..., Any]] = [callback] if callback else []
        self._lock = threading.RLock()
        self.received = [0] * num_inputs
        self.dropped = [0] * num_inputs  # removed without being part of an emitted set
        self.emitted = 0

    def register_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def input(self, i: int) -> Callable[[Any], None]:
        """A one-argument callback feeding input `i` (for create_subscription)."""
        if not 0 <= i < self.num_inputs:
            raise IndexError(f"input {i} out of range 0..{self.num_inputs - 1}")
        return lambda msg: self.add(i, msg)

    def _signal(self, msgs: Sequence[Any]) -> None:
        self.emitted += 1
        for cb in self._callbacks:
            cb(*msgs)

    def add(self, i: int, msg: Any) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Forget every queued message and the time order (e.g. sim time restarted at a new route)."""
        with self._lock:
            self._reset_state()

    def _reset_state(self) -> None:
        raise NotImplementedError


class ExactTimeSynchronizer(_Synchronizer):
    """Emits a set when all inputs have a message with the same stamp."""

    def __init__(self, num_inputs: int, queue_size: int, callback: Callable[..., Any] | None = None):
        super().__init__(num_inputs, queue_size, callback)
        self._reset_state()

    def _reset_state(self) -> None:
        self._sets: dict[int, list[Any]] = {}
        self._last = None  # stamp of the last emitted set

    def add(self, i: int, msg: Any) -> None:
        t = _stamp(i, msg)
        with self._lock:
            self.received[i] += 1
            if self._last is not None and t <= self._last:
                self.dropped[i] += 1  # its set can no longer be completed in time order
                return
            slots = self._sets.setdefault(t, [None] * self.num_inputs)
            if slots[i] is not None:
                self.dropped[i] += 1  # same input, same stamp: the newer message wins
            slots[i] = msg
            if all(m is not None for m in slots):
                del self._sets[t]
                self._last = t
                for old in [s for s in self._sets if s < t]:
                    self._drop_set(old)
                self._signal(slots)
            while len(self._sets) > self.queue_size:
                self._drop_set(min(self._sets))

    def _drop_set(self, t: int) -> None:
        for j, m in enumerate(self._sets.pop(t)):
            if m is not None:
                self.dropped[j] += 1


class ApproximateTimeSynchronizer(_Synchronizer):
    """Emits the best-matching sets whose stamps lie within `slop` seconds (see the
    module doc). `age_penalty` (default 0.1, as upstream) trades spread for latency."""

    def __init__(self, num_inputs: int, queue_size: int, slop: float,
                 callback: Callable[..., Any] | None = None, age_penalty: float = 0.1):
        super().__init__(num_inputs, queue_size, callback)
        if slop < 0:
            raise ValueError(f"slop must be >= 0 seconds, got {slop}")
        if age_penalty < 0:
            raise ValueError(f"age_penalty must be >= 0, got {age_penalty}")
        self.slop_ns = round(slop * 1e9)
        self.age_penalty = age_penalty
        self._lower_bounds = [0] * num_inputs
        self._reset_state()

    def _reset_state(self) -> None:
        n = self.num_inputs
        self._queues: list[deque[tuple[int, Any]]] = [deque() for _ in range(n)]
        self._past: list[list[tuple[int, Any]]] = [[] for _ in range(n)]
        self._had_drops = [False] * n
        self._floor: list[int | None] = [None] * n  # newest stamp each input gave up
        self._candidate: list[tuple[int, Any]] | None = None
        self._cand_start = self._cand_end = 0
        self._pivot: int | None = None
        self._pivot_time = 0

    def set_inter_message_lower_bound(self, i: int, seconds: float) -> None:
        """Promise that input `i` never has two messages closer than `seconds`; lets the
        synchronizer prove a set optimal (and emit it) sooner."""
        if seconds < 0:
            raise ValueError(f"lower bound must be >= 0 seconds, got {seconds}")
        self._lower_bounds[i] = round(seconds * 1e9)

    # --- feeding -------------------------------------------------------------------
    def add(self, i: int, msg: Any) -> None:
        t = _stamp(i, msg)
        with self._lock:
            self.received[i] += 1
            floor = self._floor[i]
            if floor is not None and t < floor:
                self.dropped[i] += 1  # older than what this input already gave up
                return
            q = self._queues[i]
            newest = q[-1][0] if q else (self._past[i][-1][0] if self._past[i] else None)
            if newest is not None and t < newest:
                # out of order: restart the candidate search from the queues, insert in place
                self._recover_all()
                self._drop_candidate()
                k = len(q)
                while k and q[k - 1][0] > t:
                    k -= 1
                q.insert(k, (t, msg))
                self._process()
            else:
                q.append((t, msg))
                if len(q) == 1:
                    self._process()
            if len(self._queues[i]) + len(self._past[i]) > self.queue_size:
                self._recover_all()
                self._discard_front(i)
                self._had_drops[i] = True
                if self._pivot is not None:
                    self._drop_candidate()
                    self._process()

    # --- queue moves ---------------------------------------------------------------
    def _discard_front(self, i: int) -> None:
        t, _ = self._queues[i].popleft()
        self._gave_up(i, t)

    def _gave_up(self, i: int, t: int) -> None:
        self.dropped[i] += 1
        if self._floor[i] is None or t > self._floor[i]:
            self._floor[i] = t

    def _to_past(self, i: int) -> None:
        self._past[i].append(self._queues[i].popleft())

    def _recover_all(self) -> None:
        for q, past in zip(self._queues, self._past):
            q.extendleft(reversed(past))
            past.clear()

    def _drop_candidate(self) -> None:
        self._candidate = None
        self._pivot = None

    def _make_candidate(self, start: int, end: int) -> None:
        self._candidate = [q[0] for q in self._queues]
        for i, past in enumerate(self._past):  # older than the new candidate: never usable
            for t, _ in past:
                self._gave_up(i, t)
            past.clear()
        self._cand_start, self._cand_end = start, end

    def _publish(self) -> None:
        msgs = [m for _, m in self._candidate]
        self._drop_candidate()
        for i, (q, past) in enumerate(zip(self._queues, self._past)):
            q.extendleft(reversed(past))
            past.clear()
            t, _ = q.popleft()  # the candidate's own message
            if self._floor[i] is None or t > self._floor[i]:
                self._floor[i] = t
        self._signal(msgs)

    # --- the policy ----------------------------------------------------------------
    @staticmethod
    def _bounds(times: Sequence[int]) -> tuple[int, int, int, int]:
        """(start index, start time, end index, end time): the earliest time (first
        index on ties) and the latest (last index on ties), as upstream."""
        si = min(range(len(times)), key=lambda k: (times[k], k))
        ei = max(range(len(times)), key=lambda k: (times[k], k))
        return si, times[si], ei, times[ei]

    def _worse(self, end_t: int, start_t: int) -> bool:
        """True when a set spanning [start_t, end_t] is no better than the candidate."""
        return (end_t - self._cand_end) * (1 + self.age_penalty) >= (start_t - self._cand_start)

    def _process(self) -> None:
        while all(self._queues):
            si, start_t, ei, end_t = self._bounds([q[0][0] for q in self._queues])
            for j in range(self.num_inputs):
                if j != ei:
                    self._had_drops[j] = False
            if self._pivot is None:
                if end_t - start_t > self.slop_ns or self._had_drops[ei]:
                    self._discard_front(si)
                    continue
                self._make_candidate(start_t, end_t)
                self._pivot, self._pivot_time = ei, end_t
                self._to_past(si)
            else:
                if not self._worse(end_t, start_t):
                    self._make_candidate(start_t, end_t)  # a better set; same pivot
                self._to_past(si)
            if si == self._pivot or self._worse(end_t, self._pivot_time):
                # every set with this pivot was seen, or none left can beat the candidate
                self._publish()
            elif not all(self._queues):
                self._virtual_search()

    def _virtual_search(self) -> None:
        """Before waiting for more messages, assume each empty input's next message comes
        as early as possible (its lower bound, or the pivot time); if even then no later
        set can beat the candidate, emit it now, else undo the moves."""
        moves = [0] * self.num_inputs
        while True:
            times = []
            for q, past, bound in zip(self._queues, self._past, self._lower_bounds):
                times.append(q[0][0] if q else max(past[-1][0] + bound, self._pivot_time))
            si, start_t, _, end_t = self._bounds(times)
            if self._worse(end_t, self._pivot_time):
                self._publish()
                return
            if not self._worse(end_t, start_t):
                for i, k in enumerate(moves):
                    for _ in range(k):
                        self._queues[i].appendleft(self._past[i].pop())
                return
            # start_t < pivot time here, so input si has a real message to move
            self._to_past(si)
            moves[si] += 1


def subscribe(node, sync: _Synchronizer, inputs: Sequence[tuple[type, str]], qos) -> list:
    """Create one subscription per (msg_type, topic) on `node`, feeding `sync` in order."""
    if len(inputs) != sync.num_inputs:
        raise ValueError(f"synchronizer has {sync.num_inputs} inputs, got {len(inputs)} topics")
    return [node.create_subscription(t, topic, sync.input(i), qos) for i, (t, topic) in enumerate(inputs)]
