"""The policy and controller nodes as real processes over DDS, driven tick by tick from this
process: plan and control are stamped with the tick; a re-sent tick gets the same answer
without stepping anything twice; missing inputs and late frames give an emergency-brake plan
(logged) and full brake; a restart of sim time resets the controller."""
from __future__ import annotations

import numpy as np
import pytest

from tests.policy.harness import Peer, start_node, stop

pytest.importorskip("rclpy")


def test_policy_and_controller_nodes_tick_by_tick(ros_domain, small_checkpoint, inference_cache):
    from carla_msgs.msg import CarlaEgoVehicleControl, CarlaEgoVehicleStatus
    from lead_msgs.msg import Plan, TensorBundle
    from rosgraph_msgs.msg import Clock

    from lead.control.sensor_agent import SensorAgentController
    from lead.inference.bundle import to_bundle
    from lead.inference.messages import plan_from_msg
    from lead.inference.runtime import open_runtime
    from lead.io import qos
    from lead.io.stamps import header_stamp_ns, make_header, time_msg
    from lead.model.tfv6 import example_inputs

    procs = [start_node("lead.nodes.policy", "policy", {"checkpoint": str(small_checkpoint), "backend": "onnxruntime",
                                                        "cache_dir": str(inference_cache), "deadline": 0.5}),
             start_node("lead.nodes.controller", "controller", {})]
    peer = Peer()
    try:
        n = peer.node
        pub_clock = n.create_publisher(Clock, "/clock", 10)
        pub_in = n.create_publisher(TensorBundle, "/lead/inputs", qos.SENSOR)
        pub_status = n.create_publisher(CarlaEgoVehicleStatus, "/carla/ego_vehicle/vehicle_status", qos.SENSOR)
        peer.record(Plan, "/lead/plan", qos.SENSOR)
        peer.record(CarlaEgoVehicleControl, "/carla/ego_vehicle/vehicle_control_cmd", qos.SENSOR)
        peer.wait_for(lambda: pub_in.get_subscription_count() > 0 and pub_status.get_subscription_count() > 0,
                      90, "the policy and controller nodes")
        plans = lambda: peer.messages("/lead/plan")  # noqa: E731
        controls = lambda: peer.messages("/carla/ego_vehicle/vehicle_control_cmd")  # noqa: E731
        peer.wait_for(lambda: n.count_subscribers("/clock") >= 2 and n.count_publishers("/lead/plan") >= 1, 30,
                      "clock subscriptions")
        cfg = open_runtime("torch", checkpoint=small_checkpoint).config
        frame = {k: v[0].numpy() for k, v in example_inputs(cfg, 1, seed=3).items()}
        reference = SensorAgentController()

        def tick(stamp_ns: int, inputs: dict, speed: float, clock_ns: int | None = None) -> None:
            pub_clock.publish(Clock(clock=time_msg(clock_ns if clock_ns is not None else stamp_ns)))
            pub_in.publish(to_bundle(inputs, stamp_ns))
            pub_status.publish(CarlaEgoVehicleStatus(header=make_header(stamp_ns, "ego_vehicle"), velocity=speed))

        def expect(k_plans: int, k_controls: int) -> tuple:
            peer.wait_for(lambda: len(plans()) >= k_plans and len(controls()) >= k_controls, 30,
                          f"{k_plans} plans and {k_controls} controls")
            return plans()[k_plans - 1], controls()[k_controls - 1]

        # tick 1: a good frame
        tick(50_000_000, frame, 2.0)
        plan, ctrl = expect(1, 1)
        assert header_stamp_ns(plan) == header_stamp_ns(ctrl) == 50_000_000
        assert plan.header.frame_id == "ego_vehicle" and plan.source == "tfv6" and not plan.emergency_brake
        assert len(plan.waypoints) == 8 and len(plan.route_checkpoints) == 10 and plan.waypoint_dt == 0.25
        p = plan_from_msg(plan)
        ref = reference.step(2.0, checkpoints=p.route, target_speed=p.target_speed, waypoints=p.waypoints)
        assert (ctrl.throttle, ctrl.steer, ctrl.brake) == pytest.approx((ref.throttle, ref.steer, ref.brake), abs=1e-6)

        # the world re-sends tick 1: same plan and control, nothing stepped
        tick(50_000_000, frame, 2.0)
        plan1b, ctrl1b = expect(2, 2)
        assert plan1b.route_checkpoints == plan.route_checkpoints
        assert (ctrl1b.throttle, ctrl1b.steer, ctrl1b.brake) == (ctrl.throttle, ctrl.steer, ctrl.brake)

        # tick 2: another frame; the node's controller must agree with one stepped once per tick
        frame2 = dict(frame, speed=np.array(4.0, np.float32))
        tick(100_000_000, frame2, 4.0)
        peer.wait_for(lambda: any(header_stamp_ns(c) == 100_000_000 for c in controls()), 30, "control of tick 2")
        plan2 = [x for x in plans() if header_stamp_ns(x) == 100_000_000][-1]
        ctrl2 = [c for c in controls() if header_stamp_ns(c) == 100_000_000][-1]
        p2 = plan_from_msg(plan2)
        ref2 = reference.step(4.0, checkpoints=p2.route, target_speed=p2.target_speed, waypoints=p2.waypoints)
        assert (ctrl2.throttle, ctrl2.steer, ctrl2.brake) == pytest.approx((ref2.throttle, ref2.steer, ref2.brake),
                                                                           abs=1e-6)

        # tick 3: no target point in the inputs (e.g. no route yet) -> emergency brake
        tick(150_000_000, {k: v for k, v in frame.items() if k != "target_point"}, 4.0)
        peer.wait_for(lambda: any(header_stamp_ns(c) == 150_000_000 for c in controls()), 30, "control of tick 3")
        plan3 = [x for x in plans() if header_stamp_ns(x) == 150_000_000][-1]
        ctrl3 = [c for c in controls() if header_stamp_ns(c) == 150_000_000][-1]
        assert plan3.emergency_brake and "'target_point' missing" in plan3.brake_reason
        assert (ctrl3.throttle, ctrl3.steer, ctrl3.brake) == (0.0, 0.0, 1.0)

        # tick 4 arrives when the node's clock is already 2 s later: late -> emergency brake
        tick(200_000_000, frame, 4.0, clock_ns=2_200_000_000)
        peer.wait_for(lambda: any(header_stamp_ns(c) == 200_000_000 for c in controls()), 30, "control of tick 4")
        plan4 = [x for x in plans() if header_stamp_ns(x) == 200_000_000][-1]
        ctrl4 = [c for c in controls() if header_stamp_ns(c) == 200_000_000][-1]
        assert plan4.emergency_brake and plan4.brake_reason.startswith("late frame: 2000 ms old")
        assert ctrl4.brake == 1.0 and ctrl4.throttle == 0.0

        # sim time restarts (next route): tick 1 again is new, and the controller starts afresh
        fresh = SensorAgentController()
        tick(50_000_000, frame, 2.0)
        peer.wait_for(lambda: sum(header_stamp_ns(c) == 50_000_000 for c in controls()) >= 3, 30, "restarted tick")
        plan5 = [x for x in plans() if header_stamp_ns(x) == 50_000_000][-1]
        ctrl5 = [c for c in controls() if header_stamp_ns(c) == 50_000_000][-1]
        assert not plan5.emergency_brake
        p5 = plan_from_msg(plan5)
        ref5 = fresh.step(2.0, checkpoints=p5.route, target_speed=p5.target_speed, waypoints=p5.waypoints)
        assert (ctrl5.throttle, ctrl5.steer, ctrl5.brake) == pytest.approx((ref5.throttle, ref5.steer, ref5.brake),
                                                                           abs=1e-6)
    finally:
        peer.close()
        outs = stop(procs)
    policy_log, controller_log = outs[procs[0].pid], outs[procs[1].pid]
    assert "EMERGENCY BRAKE: inputs: 'target_point' missing" in policy_log, policy_log[-2000:]
    assert "EMERGENCY BRAKE: late frame" in policy_log
    assert "emergency brake: late frame" in controller_log, controller_log[-2000:]
    assert "sim time restarted" in controller_log, controller_log[-2000:]
    logs = policy_log + controller_log
    assert "Traceback" not in logs, logs[max(logs.find("Traceback") - 300, 0):][:3000]  # the cause, not the head
