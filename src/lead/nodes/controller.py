"""Controller node: /lead/plan + vehicle status -> CarlaEgoVehicleControl stamped with the plan's tick.

LEAD's sensor-agent controller (lead.control.sensor_agent: lateral PID on the route
checkpoints, target-speed longitudinal control, LEAD's brake rules) steps exactly once per
tick, when the plan and the vehicle status of that tick are both in. A plan with
`emergency_brake` gives full brake, no throttle, no steer, and does not step the controller.
Lock-step duties: a status or plan of a tick already answered (the world re-sent it) is
answered again with the same command; a stamp older than the last one means sim time
restarted (a new route): the controller is reset.

Parameters: role_name, plan_topic, control_topic ('' = /carla/<role_name>/vehicle_control_cmd;
the eval graph's shadow controller publishes elsewhere, so nothing drives with it),
steer_modality, throttle_modality, brake_modality, target_speed_controller (linear | pid), creep,
timing_dir (a folder: per tick the wall times, time.monotonic_ns, of plan arrival and control
publication go to <dir>/<node>.jsonl; '' = off).
"""
from __future__ import annotations

import json
import sys
import time

from rclpy.node import Node

from lead.io import qos
from lead.io.stamps import header_stamp_ns
from lead.nodes._spin import run_node
from lead.inference.timing import open_timing_log
from lead.sim import messages as M

KEEP = 16  # pending plans / statuses kept while waiting for their partner


class ControllerNode(Node):
    def __init__(self) -> None:
        super().__init__("controller")
        from carla_msgs.msg import CarlaEgoVehicleControl, CarlaEgoVehicleStatus
        from lead_msgs.msg import Plan

        from lead.control.sensor_agent import SensorAgentConfig, SensorAgentController

        p = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        role = str(p("role_name", "ego_vehicle"))
        cfg = SensorAgentConfig(steer_modality=str(p("steer_modality", "route")),
                                throttle_modality=str(p("throttle_modality", "target_speed")),
                                brake_modality=str(p("brake_modality", "target_speed")),
                                target_speed_controller=str(p("target_speed_controller", "linear")),
                                creep=bool(p("creep", False)))
        self.controller = SensorAgentController(cfg)
        self.timing = open_timing_log(str(p("timing_dir", "")), self.get_name())
        self.plans: dict[int, tuple] = {}     # stamp -> (PlanResult, arrival ns)
        self.speeds: dict[int, float] = {}    # stamp -> speed m/s
        self.last_stamp, self.last_msg = -1, None
        self.braking = ""
        control_topic = str(p("control_topic", "")) or f"/carla/{role}/vehicle_control_cmd"
        self.pub = self.create_publisher(CarlaEgoVehicleControl, control_topic, qos.SENSOR)
        self.create_subscription(Plan, str(p("plan_topic", "/lead/plan")), self._on_plan, qos.SENSOR)
        self.create_subscription(CarlaEgoVehicleStatus, f"/carla/{role}/vehicle_status", self._on_status, qos.SENSOR)

    def _restarted(self, stamp: int) -> bool:
        """A stamp before the last answered one: sim time restarted (new route); reset."""
        if stamp >= self.last_stamp or self.last_stamp < 0:
            return False
        self.get_logger().info(f"sim time restarted ({self.last_stamp / 1e9:.2f} s -> {stamp / 1e9:.2f} s): reset")
        self.controller.reset()
        self.plans.clear()
        self.speeds.clear()
        self.last_stamp, self.last_msg = -1, None
        return True

    def _on_plan(self, msg) -> None:
        from lead.inference.messages import plan_from_msg

        stamp = header_stamp_ns(msg)
        if stamp == self.last_stamp and self.last_msg is not None:
            self.pub.publish(self.last_msg)  # the tick was sent again: same answer
            return
        self._restarted(stamp)
        if stamp < self.last_stamp:
            return
        self.plans[stamp] = (plan_from_msg(msg), time.monotonic_ns())
        self._try(stamp)

    def _on_status(self, msg) -> None:
        stamp = header_stamp_ns(msg)
        if stamp == self.last_stamp and self.last_msg is not None:
            self.pub.publish(self.last_msg)
            return
        self._restarted(stamp)
        if stamp < self.last_stamp:
            return
        self.speeds[stamp] = float(msg.velocity)
        self._try(stamp)

    def _try(self, stamp: int) -> None:
        if stamp not in self.plans or stamp not in self.speeds:
            for d in (self.plans, self.speeds):
                while len(d) > KEEP:
                    d.pop(min(d))
            return
        (plan, arrived), speed = self.plans.pop(stamp), self.speeds.pop(stamp)
        for d in (self.plans, self.speeds):
            for old in [s for s in d if s < stamp]:
                d.pop(old)
        from lead.inference.policy import plan_control

        if plan.emergency_brake:
            if plan.brake_reason != self.braking:
                self.get_logger().warning(f"t={stamp / 1e9:.2f}: emergency brake: {plan.brake_reason}")
            self.braking = plan.brake_reason
        elif self.braking:
            self.get_logger().info(f"t={stamp / 1e9:.2f}: plan valid again, driving")
            self.braking = ""
        creeping = self.controller.creep_left > 0
        control = plan_control(self.controller, plan, speed)
        if self.controller.creep_left > 0 and not creeping:
            self.get_logger().info(f"t={stamp / 1e9:.2f}: stuck for {self.controller.stuck_ticks} ticks: creeping "
                                   + ("(waiting: LiDAR points in the safety box)" if plan.safety_box_occupied
                                      else f"(throttle {control.throttle:.2f})"))
        self.last_stamp, self.last_msg = stamp, M.vehicle_control(control, stamp)
        self.pub.publish(self.last_msg)
        if self.timing is not None:
            self.timing.write(json.dumps({"stamp": stamp, "plan_rx": arrived, "control_tx": time.monotonic_ns(),
                                          "throttle": control.throttle, "steer": control.steer,
                                          "brake": control.brake, "emergency": plan.emergency_brake}) + "\n")

    def destroy_node(self):
        if self.timing is not None:
            self.timing.close()
        return super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    return run_node(ControllerNode, argv)


if __name__ == "__main__":
    sys.exit(main())
