"""What the controller node does with a plan (lead.inference.policy.plan_control over
LEAD's sensor-agent controller), per specs/lead.md section 6: steer towards the route checkpoints,
throttle towards the target speed, brake when the target speed is (near) zero or the car is
too fast (more than 10 %, then the linear model's 3.1 %), no throttle while braking and no steer when braking at standstill; an
emergency-brake plan is full brake and does not advance the PID windows."""
from __future__ import annotations

import numpy as np
import pytest

from lead.control.sensor_agent import SensorAgentController
from lead.inference.policy import PlanResult, plan_control


def _plan(target_speed: float, lateral: float = 0.0, emergency: bool = False) -> PlanResult:
    xs = np.arange(1, 11, dtype=np.float32)
    route = np.column_stack([xs, lateral * xs ** 2 / 10.0]).astype(np.float32)  # bends right for lateral > 0
    wps = np.column_stack([np.arange(1, 9) * max(target_speed, 0.1) * 0.25, np.zeros(8)]).astype(np.float32)
    return PlanResult(wps, route, target_speed, emergency_brake=emergency, brake_reason="x" if emergency else "")


def test_drives_towards_target_speed_and_steers_to_the_route():
    c = SensorAgentController()
    ctrl = plan_control(c, _plan(8.0, lateral=0.5), speed=3.0)
    assert ctrl.throttle > 0.0 and ctrl.brake == 0.0
    assert ctrl.steer > 0.05  # route bends right (CARLA ego frame: +y right) -> steer right
    left = plan_control(SensorAgentController(), _plan(8.0, lateral=-0.5), speed=3.0)
    assert left.steer < -0.05
    straight = plan_control(SensorAgentController(), _plan(8.0), speed=3.0)
    assert abs(straight.steer) < 1e-6


# LEAD's default target_speed modality: the sensor agent's brake (target < 0.01 m/s or
# speed/target > 1.1), then the expert's linear model (its own brake above speed/target 1.0313)
@pytest.mark.parametrize("target,speed,brakes", [(0.0, 5.0, True), (0.005, 0.0, True), (8.0, 8.9, True),
                                                  (8.0, 8.4, True), (8.0, 8.2, False), (8.0, 2.0, False)])
def test_brake_rules(target, speed, brakes):
    ctrl = plan_control(SensorAgentController(), _plan(target, lateral=0.5), speed)
    assert (ctrl.brake > 0.0) == brakes, ctrl
    if brakes:
        assert ctrl.throttle == 0.0


def test_braking_at_standstill_does_not_steer():
    ctrl = plan_control(SensorAgentController(), _plan(0.0, lateral=0.5), speed=0.0)
    assert ctrl.brake > 0.0 and ctrl.steer == 0.0 and ctrl.throttle == 0.0


def test_emergency_plan_is_full_brake_and_leaves_the_controller_untouched():
    a, b = SensorAgentController(), SensorAgentController()
    for c in (a, b):
        plan_control(c, _plan(8.0, lateral=0.3), 3.0)
    e = plan_control(a, _plan(8.0, lateral=0.3, emergency=True), 3.0)
    assert (e.throttle, e.steer, e.brake) == (0.0, 0.0, 1.0)
    # the next good plan gives what a controller that never saw the emergency frame gives
    x, y = plan_control(a, _plan(8.0, lateral=0.3), 3.5), plan_control(b, _plan(8.0, lateral=0.3), 3.5)
    assert (x.throttle, x.steer, x.brake) == (y.throttle, y.steer, y.brake)


def test_creeping_stops_for_the_plans_safety_box():
    """With `creep` on, a car held at standstill by its plan creeps after 1100 ticks, unless the
    plan says LiDAR points are in LEAD's safety box ahead: then it brakes (the flag reaches the
    controller through plan_control)."""
    from lead.control.sensor_agent import SensorAgentConfig

    for occupied in (False, True):
        c = SensorAgentController(SensorAgentConfig(creep=True))
        plan = _plan(0.0)
        plan.safety_box_occupied = occupied
        for _ in range(1101):
            ctrl = plan_control(c, plan, speed=0.0)
        assert (ctrl.throttle, ctrl.brake) == ((0.0, 1.0) if occupied else (0.4, 0.0)), occupied


def test_the_plan_message_carries_the_safety_box():
    from lead.inference.messages import plan_from_msg, plan_msg

    for occupied in (False, True):
        p = _plan(4.0, lateral=0.2)
        p.safety_box_occupied = occupied
        back = plan_from_msg(plan_msg(p, 5))
        assert back.safety_box_occupied is occupied
        np.testing.assert_allclose(back.route, p.route, atol=1e-6)
