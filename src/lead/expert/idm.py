"""LEAD's Intelligent Driver Model target speed (expert_utils.compute_target_speed_idm).

The IDM ODE (position, speed) is integrated with RK45 for idm_t_bound (one tick); the speed
reached is the target speed. The gap is the distance to the leader's reference point minus
the leader's length, never below 0.1 m; comfortable deceleration switches from the low- to
the high-speed value above 6.02 m/s.
"""
from __future__ import annotations

import math

from scipy.integrate import RK45

from lead.expert.config import ExpertConfig


def idm_target_speed(config: ExpertConfig, desired_speed: float, leading_length: float, ego_speed: float,
                     leading_speed: float, distance: float, s0: float, headway: float) -> float:
    """Target speed (m/s, >= 0) towards `desired_speed` behind a leader `distance` metres
    ahead; `s0`, `headway` are the obstacle kind's minimum gap and time headway."""
    if desired_speed <= 0.0:
        return 0.0
    if not math.isfinite(distance):
        distance = 1e6
    a = config.idm_maximum_acceleration
    b = (config.idm_comfortable_braking_deceleration_high_speed
         if ego_speed > config.idm_comfortable_braking_deceleration_threshold
         else config.idm_comfortable_braking_deceleration_low_speed)
    delta = config.idm_acceleration_exponent
    sqrt_ab = 2.0 * math.sqrt(a * b)

    def rhs(t: float, x):
        position, speed = float(x[0]), float(x[1])
        s_star = s0 + speed * headway + speed * (speed - leading_speed) / sqrt_ab
        gap = max(0.1, distance + t * leading_speed - position - leading_length)
        return [speed, a * (1.0 - (speed / desired_speed) ** delta - (s_star / gap) ** 2)]

    solver = RK45(rhs, 0.0, [0.0, float(ego_speed)], config.idm_t_bound)
    while solver.status == "running":
        solver.step()
    return max(float(solver.y[1]), 0.0)
