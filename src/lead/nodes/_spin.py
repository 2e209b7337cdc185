"""Shared start-up and shutdown for every lead node."""
from __future__ import annotations

import importlib
import logging
import sys
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def exit_deadline(seconds: int = 10) -> None:
    """End this process at most `seconds` from now, whatever happens: SIGALRM's default action
    (no Python handler, so it works even if a C call never returns). Called before DDS
    teardown: Fast DDS 3.2.3 can deadlock for good deleting a LARGE_DATA participant
    (TCPChannelResourceBasic::disconnect), which would leave a stray node on the domain.
    lead's own transport has no TCP (lead.io.dds), but a user may choose LARGE_DATA."""
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(seconds)


def run_node(factory: Callable[[], Node], argv: list[str] | None = None) -> int:
    """Init rclpy with `argv` (the --ros-args tail), build the node, spin until
    SIGINT/SIGTERM (rclpy's handlers) or the node calls `rclpy.shutdown()`."""
    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    code = 0
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as e:
        if rclpy.ok():  # a crashing node says why, and exits non-zero for the runner to see
            logging.getLogger("lead").exception("node crashed")
            code = 1
        else:
            # SIGINT/SIGTERM came while a callback ran: rclpy shut the context down under it and
            # the callback's next publish failed ("publisher's context is invalid"). That is the
            # shutdown asked for, not a crash.
            logging.getLogger("lead").warning("stopped while a callback ran (%s: %s)", type(e).__name__, e)
    finally:
        exit_deadline()
        if node is not None:
            code = getattr(node, "exit_code", code) or code
            node.destroy_node()
        rclpy.try_shutdown()
    return code


def executor_for(node: Node) -> SingleThreadedExecutor:
    """A single-threaded executor spinning `node`. Single-threaded on purpose: rclpy 9.1.2's
    MultiThreadedExecutor busy-loops when callbacks share the default mutually-exclusive
    group (pending futures pile up and the spinning thread holds the GIL, starving our
    sim/route threads)."""
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    return ex


def events_executor_for(node: Node):
    """rclpy's C++ events executor spinning `node`, for a node that takes many messages a tick
    (the recorder: ~60 subscriptions) or has many entities (the world: ~40 publishers, each with
    QoS event handlers that the SingleThreadedExecutor walks in Python on every wait, holding
    the GIL the world's tick loop needs: its spinning thread went from ~1.1 to ~0.2 ms of CPU a
    tick). Measured here: 25 us of CPU per message against 99 us for the
    SingleThreadedExecutor, which rebuilds its wait set in Python for every wait.
    Still marked experimental in rclpy 9.1.2, so a node falls back to the single-threaded one
    where it is missing."""
    try:
        from rclpy.experimental.events_executor import EventsExecutor
    except ImportError:
        return executor_for(node)
    ex = EventsExecutor()
    ex.add_node(node)
    return ex


def spin_while(executor, keep_going: Callable[[], bool] = lambda: True,
               timeout: float = 0.1) -> None:
    """Spin on this thread while `keep_going()` and rclpy is up. A node that calls
    rclpy.shutdown() from another thread ends it quietly."""
    try:
        while rclpy.ok() and keep_going():
            executor.spin_once(timeout_sec=timeout)
    except ExternalShutdownException:
        pass


def message_class(type_name: str):
    """'pkg/msg/Type' (or 'pkg/Type') -> the Python message class."""
    parts = type_name.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3:
        raise ValueError(f"not a ROS type name: {type_name!r}")
    pkg, kind, name = parts
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)
