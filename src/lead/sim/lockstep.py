"""Lock-step gate: after publishing tick t, the world waits until every required topic has
answered with a message stamped t or later (the agent's control, the route manager's status).

Plain Python with a condition variable; ROS callbacks call `seen(topic, stamp_ns)`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable


class LockstepGate:
    def __init__(self, topics: Iterable[str]):
        self.topics = [t for t in topics if t]
        self._latest = {t: -1 for t in self.topics}
        self._cv = threading.Condition()
        self._generation = 0  # cancel() bumps it: only waits in progress are woken

    def seen(self, topic: str, stamp_ns: int) -> None:
        with self._cv:
            if topic in self._latest and stamp_ns > self._latest[topic]:
                self._latest[topic] = stamp_ns
                self._cv.notify_all()

    def missing(self, stamp_ns: int) -> list[str]:
        with self._cv:
            return [t for t, s in self._latest.items() if s < stamp_ns]

    def nothing_seen(self) -> bool:
        """No topic has answered since construction or the last reset()."""
        with self._cv:
            return all(s < 0 for s in self._latest.values())

    def wait(self, stamp_ns: int, timeout: float) -> list[str]:
        """Block until all topics reached stamp_ns, `timeout` wall seconds pass, or cancel();
        returns the topics still missing (empty = all answered)."""
        end = time.monotonic() + timeout
        with self._cv:
            generation = self._generation
            while True:
                missing = [t for t, s in self._latest.items() if s < stamp_ns]
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
