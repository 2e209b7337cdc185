"""LEAD's windowed PID (lead/common/pid_controller.py).

The "integral" is the mean of the last `window` errors and the derivative the difference
of the last two, per step (no dt): the gains LEAD ships were tuned for exactly this.
"""
from __future__ import annotations

from collections import deque


class WindowedPID:
    """PID over a sliding window of past errors.

    prefill=True is LEAD's PIDController (speed / turn PIDs of the sensor agent): the window
    starts full of zeros, so the first derivative is the first error itself and the mean is
    always over `window` entries. prefill=False is LEAD's lateral route controllers: the
    window starts empty, the first derivative is 0 and the mean runs over what is there.
    """

    def __init__(self, kp: float, ki: float = 0.0, kd: float = 0.0, window: int = 20, prefill: bool = True) -> None:
        if window < 1:
            raise ValueError(f"PID window must be >= 1, got {window}")
        self.kp, self.ki, self.kd = float(kp), float(ki), float(kd)
        self.window = int(window)
        self.prefill = prefill
        self._errors: deque[float] = deque(maxlen=self.window)
        self._saved: deque[float] = deque(maxlen=self.window)
        self.reset()

    def reset(self) -> None:
        self._errors = deque([0.0] * self.window if self.prefill else [], maxlen=self.window)

    @property
    def errors(self) -> tuple[float, ...]:
        return tuple(self._errors)

    def step(self, error: float) -> float:
        self._errors.append(float(error))
        n = len(self._errors)
        integral = sum(self._errors) / n
        derivative = self._errors[-1] - self._errors[-2] if n >= 2 else 0.0
        return self.kp * float(error) + self.ki * integral + self.kd * derivative

    def save(self) -> None:
        """Remember the window (the expert forecasts with the controller, then restores it)."""
        self._saved = deque(self._errors, maxlen=self.window)

    def load(self) -> None:
        self._errors = deque(self._saved, maxlen=self.window)
