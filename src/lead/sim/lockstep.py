"""Lock-step gate: after publishing tick t, the world waits until every required topic has
answered with a message stamped t or later (the agent's control, the route manager's status).

A paced topic (the recorder's progress) is looser: once it has reported since the last
reset, the world may run at most `lag_ns` ahead of it. A reader outside the lock-step can then
fall behind under load without the writers' history (lead.io.qos.SENSOR) dropping what it has
not read yet, and it never holds the world back while it keeps up.

Plain Python with a condition variable; ROS callbacks call `seen(topic, stamp_ns)`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping


class LockstepGate:
    def __init__(self, topics: Iterable[str], paced: Mapping[str, int] | None = None):
        self.topics = [t for t in topics if t]
        self.paced = {t: int(lag) for t, lag in (paced or {}).items() if t}  # topic -> lag allowed, ns
        self._latest = {t: -1 for t in self.topics}
        self._progress = {t: -1 for t in self.paced}  # -1: not reported (since the last reset)
        self._cv = threading.Condition()
        self._generation = 0  # cancel() bumps it: only waits in progress are woken

    def seen(self, topic: str, stamp_ns: int) -> None:
        with self._cv:
            if topic in self._latest and stamp_ns > self._latest[topic]:
                self._latest[topic] = stamp_ns
                self._cv.notify_all()
            elif topic in self._progress:
                # the newest report, even an earlier stamp: sim time starts again with each route,
                # and a report of the last route arriving late must not switch the pacing off
                self._progress[topic] = stamp_ns
                self._cv.notify_all()

    def _missing(self, stamp_ns: int) -> list[str]:
        return [t for t, s in self._latest.items() if s < stamp_ns] + \
               [t for t, s in self._progress.items() if 0 <= s < stamp_ns - self.paced[t]]

    def missing(self, stamp_ns: int) -> list[str]:
        with self._cv:
            return self._missing(stamp_ns)

    def forget(self, topic: str) -> None:
        """A paced topic whose publisher is gone (the recorder died): stop waiting for it
        until it reports again."""
        with self._cv:
            if topic in self._progress:
                self._progress[topic] = -1
                self._cv.notify_all()

    def nothing_seen(self) -> bool:
        """No lock-step topic has answered since construction or the last reset()."""
        with self._cv:
            return all(s < 0 for s in self._latest.values())

    def wait(self, stamp_ns: int, timeout: float) -> list[str]:
        """Block until all topics reached stamp_ns, `timeout` wall seconds pass, or cancel();
        returns the topics still missing (empty = all answered)."""
        end = time.monotonic() + timeout
        with self._cv:
            generation = self._generation
            while True:
                missing = self._missing(stamp_ns)
                left = end - time.monotonic()
                if not missing or left <= 0 or self._generation != generation:
                    return missing
                self._cv.wait(left)

    def cancel(self) -> None:
        """Wake a waiting world (reset, shutdown)."""
        with self._cv:
            self._generation += 1
            self._cv.notify_all()

    def reset(self) -> None:
        with self._cv:
            self._latest = {t: -1 for t in self.topics}
            self._progress = {t: -1 for t in self.paced}
