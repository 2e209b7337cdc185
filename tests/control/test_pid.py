"""LEAD's windowed PID: mean-of-window integral, last-difference derivative."""
import pytest

from lead.control.pid import WindowedPID


def test_prefilled_window_matches_leads_pid_controller():
    pid = WindowedPID(kp=2.0, ki=3.0, kd=5.0, window=4, prefill=True)
    # First step: window (0, 0, 0, 1) -> mean 0.25, derivative 1 - 0.
    assert pid.step(1.0) == pytest.approx(2.0 * 1.0 + 3.0 * 0.25 + 5.0 * 1.0)
    # Second: (0, 0, 1, 3) -> mean 1.0, derivative 2.
    assert pid.step(3.0) == pytest.approx(2.0 * 3.0 + 3.0 * 1.0 + 5.0 * 2.0)


def test_window_slides_and_forgets_old_errors():
    pid = WindowedPID(kp=0.0, ki=1.0, kd=0.0, window=3, prefill=True)
    for e in (10.0, 0.0, 0.0):
        pid.step(e)
    assert pid.errors == (10.0, 0.0, 0.0)
    assert pid.step(0.0) == pytest.approx(0.0)  # the 10 has left the window


def test_growing_window_matches_leads_lateral_controllers():
    pid = WindowedPID(kp=1.0, ki=1.0, kd=1.0, window=3, prefill=False)
    assert pid.step(2.0) == pytest.approx(2.0 + 2.0 + 0.0)  # no derivative on the first step
    assert pid.step(4.0) == pytest.approx(4.0 + 3.0 + 2.0)  # mean over two entries
    pid.step(6.0)
    assert pid.step(8.0) == pytest.approx(8.0 + 6.0 + 2.0)  # mean of (4, 6, 8)


def test_save_load_and_reset_restore_the_window():
    pid = WindowedPID(kp=1.0, ki=1.0, kd=1.0, window=5, prefill=False)
    pid.step(1.0)
    pid.save()
    first = pid.step(2.0)
    pid.step(7.0)
    pid.load()
    assert pid.step(2.0) == pytest.approx(first)
    pid.reset()
    assert pid.errors == ()


def test_rejects_empty_window():
    with pytest.raises(ValueError):
        WindowedPID(1.0, window=0)
