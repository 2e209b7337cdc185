"""The markers node during a real `lead eval` (embedded world, route manager, route follower,
lock-step over DDS): /lead/markers carries the documented namespaces in the right frames,
and the ego-frame markers follow the ego (through /tf they land on the map-frame route)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lead.viz.markers import NAMESPACES

rclpy = pytest.importorskip("rclpy")

from tests.dds import TestNode  # noqa: E402


def _stamp(h) -> int:
    return h.stamp.sec * 1_000_000_000 + h.stamp.nanosec


def test_markers_during_eval(tmp_path, ros_domain):
    from tf2_msgs.msg import TFMessage
    from visualization_msgs.msg import Marker, MarkerArray

    from lead.io import qos

    proc = subprocess.Popen(
        [sys.executable, "-m", "lead.cli", "eval", "--routes", "routes/LeadGrid001_routes.xml", "--route-ids", "0",
         "--rig", "minimal", "--num-vehicles", "4", "--num-pedestrians", "0", "--out", str(tmp_path / "res"),
         "--domain-id", str(ros_domain), "-p", "markers=true", "-p", "render=false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checker = TestNode("markers_checker")
    node = checker.node
    arrays: list = []
    tf: dict[int, tuple] = {}

    def on_tf(msg):
        for t in msg.transforms:
            if t.header.frame_id == "map" and t.child_frame_id == "ego_vehicle":
                tr, q = t.transform.translation, t.transform.rotation
                yaw = np.arctan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
                tf[_stamp(t.header)] = (tr.x, tr.y, yaw)

    node.create_subscription(MarkerArray, "/lead/markers", arrays.append, qos.SENSOR)
    node.create_subscription(TFMessage, "/tf", on_tf, qos.TF)
    checker.spin_in_thread()
    try:
        end = time.monotonic() + 75
        while time.monotonic() < end:  # enough: 14 sim s of driving, to where the route turns (the route ahead bends)
            time.sleep(0.5)
            stamps = [_stamp(m.header) for a in arrays for m in a.markers if m.ns == "ego"]
            if stamps and max(stamps) - min(stamps) > 14e9 and any(m.ns == "route" for a in arrays for m in a.markers):
                break
    finally:
        checker.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    markers = [m for a in arrays for m in a.markers if m.action == Marker.ADD]
    assert markers, "no markers heard on /lead/markers"
    by_ns: dict[str, list] = {}
    for m in markers:
        by_ns.setdefault(m.ns, []).append(m)
    assert set(by_ns) <= set(NAMESPACES)
    assert {"route", "route_ahead", "ego", "objects", "lights"} <= set(by_ns), sorted(by_ns)
    frames = {"route": "map", "objects": "map", "lights": "map", "ego": "ego_vehicle", "route_ahead": "ego_vehicle"}
    for ns, frame in frames.items():
        assert {m.header.frame_id for m in by_ns[ns]} == {frame}, ns
    # lifetimes: the route stays, per-tick markers expire
    assert all(m.lifetime.sec == 0 and m.lifetime.nanosec == 0 for m in by_ns["route"])
    assert all(0 < m.lifetime.sec + m.lifetime.nanosec / 1e9 <= 2.0 for m in by_ns["ego"] + by_ns["objects"])

    # the route in the map frame (REP-103)
    route = np.array([[p.x, p.y] for p in by_ns["route"][-1].points])
    assert len(route) > 100
    # ego-frame markers follow the ego: the route ahead, put through the TF of its stamp, lies on
    # the route; and that TF moved along the drive
    checked, positions = 0, []
    for m in by_ns["route_ahead"]:
        t = tf.get(_stamp(m.header))
        if t is None:
            continue
        x0, y0, yaw = t
        pts = np.array([[p.x, p.y] for p in m.points])
        c, s = np.cos(yaw), np.sin(yaw)
        world = np.column_stack([x0 + c * pts[:, 0] - s * pts[:, 1], y0 + s * pts[:, 0] + c * pts[:, 1]])
        d = np.min(np.hypot(world[:, None, 0] - route[None, :, 0], world[:, None, 1] - route[None, :, 1]), axis=1)
        assert d.max() < 0.5, f"route ahead off the route by {d.max():.2f} m"
        # and it starts at the ego, not somewhere fixed in the map
        assert np.hypot(*pts[0]) < 3.0
        positions.append((x0, y0))
        checked += 1
    assert checked >= 5, f"only {checked} route_ahead markers matched a /tf stamp"
    travelled = np.hypot(*(np.array(positions[-1]) - positions[0]))
    assert travelled > 5.0, f"the ego moved only {travelled:.1f} m"
    # ego markers are stamped with the tick they show (a /tf stamp)
    assert sum(_stamp(m.header) in tf for m in by_ns["ego"]) >= checked
    # ground-truth boxes do not include the ego itself
    ego_xy = {k: v[:2] for k, v in tf.items()}
    for m in by_ns["objects"]:
        e = ego_xy.get(_stamp(m.header))
        if e is not None:
            assert np.hypot(m.pose.position.x - e[0], m.pose.position.y - e[1]) > 0.5
