"""Time stamps as integer nanoseconds, the one unit every lead.io module uses."""
from __future__ import annotations

from typing import Any

_NS = 1_000_000_000


def to_ns(t: Any) -> int:
    """Nanoseconds from an int, a builtin_interfaces/Time (sec, nanosec) or an
    rclpy.time.Time (nanoseconds)."""
    if isinstance(t, int):
        return t
    if hasattr(t, "sec") and hasattr(t, "nanosec"):
        return int(t.sec) * _NS + int(t.nanosec)
    if hasattr(t, "nanoseconds"):
        return int(t.nanoseconds)
    raise TypeError(f"not a time: {t!r} (expected int ns, builtin_interfaces/Time or rclpy Time)")


def header_stamp_ns(msg: Any) -> int:
    """msg.header.stamp in nanoseconds; TypeError when the message has no header stamp."""
    header = getattr(msg, "header", None)
    stamp = getattr(header, "stamp", None)
    if stamp is None:
        raise TypeError(f"{type(msg).__name__} has no header.stamp")
    return to_ns(stamp)


def time_msg(ns: int):
    """builtin_interfaces/Time for a nanosecond count (floor division, so negative
    times keep 0 <= nanosec < 1e9 as ROS requires)."""
    from builtin_interfaces.msg import Time

    sec, nanosec = divmod(int(ns), _NS)
    return Time(sec=sec, nanosec=nanosec)


def make_header(stamp_ns: int = 0, frame_id: str = ""):
    """std_msgs/Header with the given stamp and frame."""
    from std_msgs.msg import Header

    return Header(stamp=time_msg(stamp_ns), frame_id=frame_id)
