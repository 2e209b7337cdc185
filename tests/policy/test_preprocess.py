"""The preprocessing node as a real process over DDS: one tick of the `lead` rig's sensors plus
/lead/route in, TensorBundle out, stamped with the tick, equal to what the trainer's function
(lead.model.inputs.FrameAssembler + build_inputs) makes of the same messages in this process;
a tick with a sensor missing is answered (lock-step) with a brake bundle naming the topic, which
the policy turns into an emergency brake; a re-sent tick gets the same bundle again."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.policy.harness import Peer, start_node, stop

pytest.importorskip("rclpy")

REF = (48.52, 9.06)


def _route_msg():
    from lead_msgs.msg import Route, RoutePoint

    from lead.sim import messages as M
    from lead.world.gps import location_to_gps

    pts = []
    for x, opt in ((0.0, 4), (12.0, 4), (30.0, 1), (45.0, 4)):
        g = location_to_gps(*REF, x, 0.0, 0.0)
        pts.append(RoutePoint(pose=M.ros_pose((x, 0.0, 0.0, 0.0, 0.0, 0.0)), road_option=opt,
                              latitude=g["lat"], longitude=g["lon"], altitude=g["z"]))
    return Route(route_id="RouteScenario_test_rep0", town="LeadGrid001", dense=pts, plan=pts)


def _tick_messages(rig, stamp: int, x: float, speed: float, seed: int, box: bool = False) -> dict:
    """topic -> message of one tick of the `lead` rig, ego at (x, 0) facing +x; LiDAR points in
    LEAD's safety box ahead of the bumper only with `box`."""
    from lead.control.safety_box import in_safety_box
    from lead.model.inputs import carla_rotation_matrix, sensor_to_ego

    from lead.sim import messages as M
    from lead.world.gps import location_to_gps

    rng = np.random.default_rng(seed)
    role, out = rig.role_name, {}
    pose = (x, 0.0, 0.0, 0.0, 0.0, 0.0)
    for s in rig.by_type("sensor.camera.rgb"):
        w, h = s.attributes["image_size_x"], s.attributes["image_size_y"]
        rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        out[s.topic(role)] = M.rgb_image(rgba, stamp, s.frame_id(role))
    for s in rig.by_type("sensor.lidar.ray_cast"):
        pts = np.column_stack([rng.uniform(-30, 60, 3000), rng.uniform(-35, 35, 3000), rng.uniform(-2.5, 1, 3000),
                               rng.uniform(0, 1, 3000)]).astype(np.float32)
        pts = pts[~in_safety_box(sensor_to_ego(pts[:, :3], s.pose))]
        if box:  # a wall 3.5 m ahead of the ego origin, moved into this LiDAR's frame
            wall = np.column_stack([np.full(10, 3.5), np.linspace(-0.5, 0.5, 10), np.full(10, 1.0)])
            r = carla_rotation_matrix(*s.pose[3:6])
            wall_s = (wall - np.asarray(s.pose[:3])) @ r
            pts = np.vstack([pts, np.column_stack([wall_s, np.ones(10)]).astype(np.float32)])
        out[s.topic(role)] = M.lidar_cloud(pts, stamp, s.frame_id(role))
    for s in rig.by_type("sensor.other.radar"):
        n = int(rng.integers(5, 90))
        det = np.column_stack([rng.uniform(-10, 10, n), rng.uniform(-0.7, 0.7, n), rng.uniform(-0.05, 0.05, n),
                               rng.uniform(1, 90, n)])
        out[s.topic(role)] = M.radar_cloud(det, stamp, s.frame_id(role))
    g = location_to_gps(*REF, x, 0.0, 0.0)
    out[f"/carla/{role}/gnss"] = M.navsatfix(g["lat"], g["lon"], g["z"], stamp, f"{role}/gnss")
    out[f"/carla/{role}/imu"] = M.imu((0.0, 0.0, 9.81), (0.0, 0.0, 0.0), pose[3:], stamp, f"{role}/imu")
    out[f"/carla/{role}/odometry"] = M.odometry(pose, (speed, 0.0, 0.0), (0.0, 0.0, 0.0), stamp, role)
    from lead.control.vehicle_control import VehicleControl

    out[f"/carla/{role}/vehicle_status"] = M.vehicle_status(speed, (0.0, 0.0, 0.0), pose, VehicleControl(), stamp,
                                                            role)
    return out


def test_preprocess_node_builds_the_trainers_inputs_and_answers_every_tick(ros_domain, small_checkpoint):
    from lead_msgs.msg import Route, TensorBundle
    from std_msgs.msg import Float32

    from lead.inference.bundle import from_bundle
    from lead.inference.checkpoint import load_checkpoint
    from lead.inference.policy import BRAKE_TENSOR, SAFETY_BOX_TENSOR
    from lead.io import qos
    from lead.io.stamps import header_stamp_ns
    from lead.model.inputs import SPEED_TOPIC, FrameAssembler, build_inputs
    from lead.model.tfv6 import input_shapes
    from lead.nodes.preprocess import sensor_topics
    from lead.sim.rig import load_rig

    rig = load_rig("lead")
    cfg = load_checkpoint(small_checkpoint)[0]
    proc = start_node("lead.nodes.preprocess", "preprocess", {"rig": "lead", "checkpoint": str(small_checkpoint),
                                                               "sensor_timeout": 0.5})
    peer = Peer("preprocess_test_peer")
    try:
        n = peer.node
        topics = sensor_topics(rig, cfg)
        from lead.nodes._spin import message_class

        pubs = {t: n.create_publisher(message_class(ty), t, qos.SENSOR) for ty, t in topics}
        pub_route = n.create_publisher(Route, "/lead/route", qos.LATCHED)
        peer.record(TensorBundle, "/lead/inputs", qos.SENSOR)
        peer.wait_for(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), 60,
                      "the preprocess node's subscriptions")
        bundles = lambda: peer.messages("/lead/inputs")  # noqa: E731
        route = _route_msg()
        pub_route.publish(route)
        reference = FrameAssembler(rig, cfg.lidar.steps)
        reference.set_route(route)
        import time

        time.sleep(0.5)  # the route before the first tick, as the route manager sends it

        def send(msgs: dict) -> None:
            for t in [t for _, t in topics]:  # in the world's order
                if t in msgs:
                    pubs[t].publish(msgs[t])

        expected = []
        for k in range(3):  # three complete ticks, driving along +x
            stamp = (k + 1) * 50_000_000
            msgs = _tick_messages(rig, stamp, 0.6 * k, 12.0, seed=k, box=k == 1)
            send(msgs)
            ref_msgs = dict(msgs, **{SPEED_TOPIC: Float32(data=12.0)})
            expected.append(build_inputs(reference.add_tick(ref_msgs), cfg, rig))
            peer.wait_for(lambda: len(bundles()) >= k + 1, 30, f"the bundle of tick {k + 1}")
        shapes = {name: s[1:] for name, s in input_shapes(cfg, 1).items()}
        for k, (msg, ref) in enumerate(zip(bundles(), expected)):
            assert header_stamp_ns(msg) == (k + 1) * 50_000_000
            got = from_bundle(msg)
            # beside the model inputs: the LiDAR safety-box flag for the creeping heuristic
            assert int(got.pop(SAFETY_BOX_TENSOR)) == (k == 1), k
            assert sorted(got) == sorted(shapes) == sorted(ref)
            for name in ref:
                assert got[name].shape == shapes[name] and got[name].dtype == np.float32, name
                np.testing.assert_array_equal(got[name], ref[name], err_msg=name)
        last = from_bundle(bundles()[-1])
        assert last["speed"] == pytest.approx(12.0) and last["rasterized_lidar"].sum() > 0
        assert last["command"].argmax() == 3  # LANEFOLLOW before the left turn
        assert math.isclose(float(last["target_point"][0]), 12.0 - 1.2, abs_tol=1e-3)

        # the world sends tick 3 again (its answer got lost): the same bundle again
        send(_tick_messages(rig, 150_000_000, 1.2, 12.0, seed=2))
        peer.wait_for(lambda: len(bundles()) >= 4, 30, "the re-sent tick's bundle")
        assert header_stamp_ns(bundles()[3]) == 150_000_000
        assert list(bundles()[3].tensors[0].data) == list(bundles()[2].tensors[0].data)

        # tick 4 lacks radar4: after sensor_timeout a brake bundle naming it, the policy brakes
        msgs = _tick_messages(rig, 200_000_000, 1.8, 12.0, seed=4)
        radar4 = [s.topic(rig.role_name) for s in rig.by_type("sensor.other.radar")][-1]
        send({t: m for t, m in msgs.items() if t != radar4})
        peer.wait_for(lambda: len(bundles()) >= 5, 30, "the bundle of the incomplete tick")
        msg = bundles()[4]
        assert header_stamp_ns(msg) == 200_000_000
        got = from_bundle(msg)
        assert list(got) == [BRAKE_TENSOR]
        reason = bytes(got[BRAKE_TENSOR]).decode()
        assert radar4 in reason and "preprocess:" in reason

        from lead.inference.policy import Policy
        from lead.inference.runtime import open_runtime

        res = Policy(open_runtime("torch", checkpoint=small_checkpoint)).step(got)
        assert res.emergency_brake and res.brake_reason == reason

        # and tick 5, complete again, drives on
        send(_tick_messages(rig, 250_000_000, 2.4, 12.0, seed=5))
        peer.wait_for(lambda: len(bundles()) >= 6, 30, "the bundle of tick 5")
        assert BRAKE_TENSOR not in from_bundle(bundles()[5])
    finally:
        peer.close()
        out = stop([proc])[proc.pid]
    assert "brake bundle" in out and radar4 in out, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
