"""A transform buffer with tf2's semantics, in plain Python.

`Buffer` stores, per child frame, either one static transform (valid at all times) or
a time-sorted history of dynamic ones kept for `cache_time` seconds. `lookup_transform`
(target, source, time) walks both frames up to their lowest common ancestor, taking
each link at `time` (translation interpolated linearly, rotation by slerp; no
interpolation across a change of parent), and returns the transform that maps points
in `source` into `target`, as tf2 does. Time 0 means "the latest time every dynamic
link on the path has". Errors are tf2's: LookupException (unknown frame),
ConnectivityException (no common ancestor), ExtrapolationException (time outside a
link's history), InvalidArgumentException (bad frame name).

Transforms are geometry_msgs/TransformStamped; quaternions are (x, y, z, w).
The ROS side (broadcasters, listener) lives in lead.io.tf_ros.
"""
from __future__ import annotations

import logging
import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from geometry_msgs.msg import TransformStamped

from lead.io.stamps import time_msg, to_ns

log = logging.getLogger("lead.io.tf")
MAX_GRAPH_DEPTH = 1000
_QUAT_TOLERANCE = 10e-3  # tf2's bound on | |q|^2 - 1 | for an accepted quaternion


class TransformException(Exception):
    pass


class LookupException(TransformException):
    pass


class ConnectivityException(TransformException):
    pass


class ExtrapolationException(TransformException):
    pass


class InvalidArgumentException(TransformException, ValueError):
    pass


# --- quaternion and transform math ---------------------------------------------------
def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a*b of (x, y, z, w) quaternions (b applied first)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def quat_inverse(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]]) / float(np.dot(q, q))


def quat_to_matrix(q) -> np.ndarray:
    """3x3 rotation matrix of a (normalised on the fly) quaternion."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return quat_to_matrix(q) @ v


def slerp(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Spherical interpolation from a (r=0) to b (r=1) along the shorter arc."""
    d = float(np.dot(a, b))
    if d < 0.0:
        b, d = -b, -d
    if d > 0.9995:  # nearly parallel: normalised lerp avoids dividing by sin(~0)
        q = a + (b - a) * r
    else:
        theta = math.acos(d)
        q = (math.sin((1 - r) * theta) * a + math.sin(r * theta) * b) / math.sin(theta)
    return q / np.linalg.norm(q)


def _tq(msg) -> tuple[np.ndarray, np.ndarray]:
    tr = msg.transform if hasattr(msg, "transform") else msg
    t, q = tr.translation, tr.rotation
    return np.array([t.x, t.y, t.z], dtype=np.float64), np.array([q.x, q.y, q.z, q.w], dtype=np.float64)


def to_matrix(transform) -> np.ndarray:
    """4x4 homogeneous matrix of a TransformStamped or Transform (or a 4x4 passed through)."""
    if isinstance(transform, np.ndarray):
        if transform.shape != (4, 4):
            raise ValueError(f"a transform matrix must be 4x4, got {transform.shape}")
        return transform
    t, q = _tq(transform)
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(q)
    m[:3, 3] = t
    return m


def transform_points(points: np.ndarray, transform) -> np.ndarray:
    """Apply a transform (TransformStamped, Transform or 4x4) to (N, 3+) points: the first
    three columns are x, y, z; further columns (intensity ...) are kept. Same dtype out."""
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must have shape (N, 3) or (N, 3+k), got {pts.shape}")
    m = to_matrix(transform)
    out = pts.copy() if pts.dtype.kind == "f" else pts.astype(np.float64)
    out[:, :3] = pts[:, :3].astype(np.float64) @ m[:3, :3].T + m[:3, 3]
    return out


def make_transform(parent: str, child: str, stamp_ns: int = 0,
                   translation: Sequence[float] = (0.0, 0.0, 0.0),
                   rotation: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> TransformStamped:
    """TransformStamped placing `child` in `parent`; rotation is (x, y, z, w)."""
    msg = TransformStamped()
    msg.header.stamp = time_msg(stamp_ns)
    msg.header.frame_id = parent
    msg.child_frame_id = child
    (msg.transform.translation.x, msg.transform.translation.y,
     msg.transform.translation.z) = (float(v) for v in translation)
    (msg.transform.rotation.x, msg.transform.rotation.y, msg.transform.rotation.z,
     msg.transform.rotation.w) = (float(v) for v in rotation)
    return msg


# --- storage ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Link:
    stamp: int
    parent: str
    t: np.ndarray
    q: np.ndarray


def _fmt(ns: int) -> str:
    return f"{ns / 1e9:.9f}"


class _StaticCache:
    def __init__(self) -> None:
        self.link: _Link | None = None

    def insert(self, link: _Link) -> bool:
        self.link = link
        return True

    def get(self, time: int) -> _Link:
        return self.link

    def latest(self) -> tuple[int, str]:
        return 0, self.link.parent


class _TimeCache:
    def __init__(self, cache_ns: int) -> None:
        self.cache_ns = cache_ns
        self.stamps: list[int] = []
        self.links: list[_Link] = []

    def insert(self, link: _Link) -> bool:
        if self.stamps and link.stamp < self.stamps[-1] - self.cache_ns:
            return False  # older than the cache keeps
        i = bisect_left(self.stamps, link.stamp)
        if i < len(self.stamps) and self.stamps[i] == link.stamp:
            self.links[i] = link  # same stamp again: the newer data wins
        else:
            self.stamps.insert(i, link.stamp)
            self.links.insert(i, link)
        oldest = bisect_left(self.stamps, self.stamps[-1] - self.cache_ns)
        del self.stamps[:oldest], self.links[:oldest]
        return True

    def latest(self) -> tuple[int, str] | None:
        return (self.stamps[-1], self.links[-1].parent) if self.links else None

    def get(self, time: int) -> _Link:
        s = self.stamps
        if not s:
            raise ExtrapolationException("no transform data is in the buffer")
        if time == 0:
            return self.links[-1]
        if len(s) == 1:
            if s[0] == time:
                return self.links[0]
            raise ExtrapolationException(
                f"Lookup would require extrapolation at time {_fmt(time)}, but only time {_fmt(s[0])} is in the buffer")
        if time > s[-1]:
            raise ExtrapolationException(
                f"Lookup would require extrapolation into the future.  Requested time {_fmt(time)} "
                f"but the latest data is at time {_fmt(s[-1])}")
        if time < s[0]:
            raise ExtrapolationException(
                f"Lookup would require extrapolation into the past.  Requested time {_fmt(time)} "
                f"but the earliest data is at time {_fmt(s[0])}")
        i = bisect_left(s, time)
        if s[i] == time:
            return self.links[i]
        a, b = self.links[i - 1], self.links[i]
        if a.parent != b.parent:
            return a
        r = (time - a.stamp) / (b.stamp - a.stamp)
        return _Link(time, a.parent, a.t + (b.t - a.t) * r, slerp(a.q, b.q, r))


# --- the buffer ------------------------------------------------------------------------
class Buffer:
    """Static and dynamic transforms, looked up at a time (see the module doc)."""

    def __init__(self, cache_time: float = 10.0) -> None:
        if cache_time <= 0:
            raise ValueError(f"cache_time must be positive seconds, got {cache_time}")
        self.cache_ns = round(cache_time * 1e9)
        self._caches: dict[str, _StaticCache | _TimeCache] = {}
        self._frames: set[str] = set()

    def clear(self) -> None:
        """Forget all dynamic history (static transforms stay, as in tf2)."""
        for name, cache in self._caches.items():
            if isinstance(cache, _TimeCache):
                self._caches[name] = _TimeCache(self.cache_ns)

    def frames(self) -> list[str]:
        return sorted(self._frames)

    def set_transform(self, msg: TransformStamped, authority: str = "default_authority",
                      is_static: bool = False) -> bool:
        """Store one transform; False (and a logged reason) when tf2 would ignore it."""
        parent = msg.header.frame_id.lstrip("/")
        child = msg.child_frame_id.lstrip("/")
        t, q = _tq(msg)
        problem = None
        if not child:
            problem = "child_frame_id is empty"
        elif not parent:
            problem = "frame_id is empty"
        elif child == parent:
            problem = f"frame_id and child_frame_id are both {child!r}"
        elif not (np.isfinite(t).all() and np.isfinite(q).all()):
            problem = f"it has a NaN or infinite value ({t.tolist()} {q.tolist()})"
        elif abs(float(np.dot(q, q)) - 1.0) >= _QUAT_TOLERANCE:
            problem = f"its quaternion {q.tolist()} is not normalised"
        if problem:
            log.error("ignoring transform %s -> %s from %s: %s", parent, child, authority, problem)
            return False
        cache = self._caches.get(child)
        if is_static and not isinstance(cache, _StaticCache):
            cache = self._caches[child] = _StaticCache()
        elif not is_static and not isinstance(cache, _TimeCache):
            cache = self._caches[child] = _TimeCache(self.cache_ns)
        stamp = to_ns(msg.header.stamp)
        if not cache.insert(_Link(stamp, parent, t, q / np.linalg.norm(q))):
            log.warning("ignoring transform %s -> %s from %s at %s: older than the %.1f s cache",
                        parent, child, authority, _fmt(stamp), self.cache_ns / 1e9)
            return False
        self._frames.update((parent, child))
        return True

    # --- lookups -------------------------------------------------------------------
    def _validate(self, frame: str, arg: str) -> None:
        if not frame:
            raise InvalidArgumentException(f'invalid frame "" passed to lookup_transform as {arg}: frame ids cannot be empty')
        if frame.startswith("/"):
            raise InvalidArgumentException(
                f'invalid frame "{frame}" passed to lookup_transform as {arg}: frame ids cannot start with "/"')
        if frame not in self._frames:
            known = ", ".join(self.frames()) or "none yet"
            raise LookupException(f'frame "{frame}" passed to lookup_transform as {arg} does not exist (known frames: {known})')

    def _up(self, frame: str, step) -> tuple[list[str], list, str | None]:
        """Walk from `frame` towards the root: frames reached, what `step(cache)` gave for
        each link, and the error that stopped the walk early (None at the root)."""
        path, links = [frame], []
        while frame in self._caches:
            try:
                link, parent = step(self._caches[frame])
            except ExtrapolationException as e:
                return path, links, str(e)
            links.append(link)
            frame = parent
            path.append(frame)
            if len(path) > MAX_GRAPH_DEPTH:
                raise LookupException(f"the tf tree is invalid because it contains a loop through {frame!r}")
        return path, links, None

    def _meet(self, target: str, source: str, step):
        """Links from source and from target up to their lowest common ancestor."""
        sp, sl, serr = self._up(source, step)
        tp, tl, terr = self._up(target, step)
        seen = {f: k for k, f in enumerate(sp)}
        for j, f in enumerate(tp):
            if f in seen:
                return sl[:seen[f]], tl[:j]
        err = terr or serr
        if err:
            raise ExtrapolationException(f"{err}, when looking up transform from frame [{source}] to frame [{target}]")
        raise ConnectivityException(
            f"Could not find a connection between '{target}' and '{source}' because they are not part "
            f"of the same tree. Tf has two or more unconnected trees.")

    def _latest_common_time(self, target: str, source: str) -> int:
        def step(cache):
            latest = cache.latest()
            if latest is None:
                raise ExtrapolationException("no transform data is in the buffer")
            return latest[0], latest[1]

        src, tgt = self._meet(target, source, step)
        stamps = [s for s in src + tgt if s != 0]  # static links (stamp 0) do not bound it
        return min(stamps) if stamps else 0

    def _lookup(self, target: str, source: str, time) -> tuple[np.ndarray, np.ndarray, int]:
        time = to_ns(time)
        if target == source:
            return np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]), time
        self._validate(target, "target_frame")
        self._validate(source, "source_frame")
        if time == 0:
            time = self._latest_common_time(target, source)

        def step(cache):
            link = cache.get(time)
            return link, link.parent

        src, tgt = self._meet(target, source, step)
        # source -> ancestor, then ancestor -> target (inverse of target -> ancestor)
        t, q = np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0])
        for link in src:
            t, q = quat_rotate(link.q, t) + link.t, quat_multiply(link.q, q)
        tt, tq = np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0])
        for link in tgt:
            tt, tq = quat_rotate(link.q, tt) + link.t, quat_multiply(link.q, tq)
        inv_q = quat_inverse(tq)
        return quat_rotate(inv_q, t - tt), quat_multiply(inv_q, q), time

    def lookup_transform(self, target_frame: str, source_frame: str, time=0) -> TransformStamped:
        """Transform taking points in `source_frame` to `target_frame` at `time` (int ns,
        builtin_interfaces/Time or rclpy Time; 0 = latest common time). The result's
        header.frame_id is the target, child_frame_id the source."""
        t, q, stamp = self._lookup(target_frame, source_frame, time)
        return make_transform(target_frame, source_frame, stamp, t, q)

    def lookup_matrix(self, target_frame: str, source_frame: str, time=0) -> np.ndarray:
        """Same as lookup_transform, as a 4x4 homogeneous matrix."""
        t, q, _ = self._lookup(target_frame, source_frame, time)
        m = np.eye(4)
        m[:3, :3] = quat_to_matrix(q)
        m[:3, 3] = t
        return m

    def can_transform(self, target_frame: str, source_frame: str, time=0) -> bool:
        try:
            self._lookup(target_frame, source_frame, time)
        except TransformException:
            return False
        return True

    def transform_points(self, points: np.ndarray, target_frame: str, source_frame: str, time=0) -> np.ndarray:
        """(N, 3+) points in `source_frame` expressed in `target_frame` (see transform_points)."""
        return transform_points(points, self.lookup_matrix(target_frame, source_frame, time))
