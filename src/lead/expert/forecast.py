"""Forecasts and collision checks of the expert (LEAD's forecast_ego_agent,
predict_other_actors_bounding_boxes, forecast_walkers and check_obb_intersection).

- The ego rolls LEAD's kinematic bicycle model forward under its own controllers (lateral
  PID on the route, throttle from the longitudinal model), the route index following it;
  controller and route state are restored afterwards. Its boxes grow 1.3 x 1.2 when the ego
  drives faster than 5 m/s.
- Vehicles (and bicycles) keep their current action; a box moving at >= 1 m/s is 1.2 times
  longer (2.0 near a lane change) and widens to 1.3 times over the horizon, as LEAD's code
  computes it.
- Pedestrians walk straight on at least 0.5 m/s; their boxes are at least 1.5 m half-size.
- Static props stand still at their own size.
Boxes are compared as oriented rectangles on the ground (separating axes).
"""
from __future__ import annotations

import math

import numpy as np

from lead.control import ForecastBicycle, LinearLongitudinalController, RouteLateralController
from lead.expert.config import ExpertConfig
from lead.expert.inputs import ActorsView, EgoView
from lead.expert.route import DenseRoute

Boxes = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x, y, yaw (rad), half x, half y


def boxes_overlap(a: Boxes, b: Boxes) -> np.ndarray:
    """Whether oriented ground boxes a and b overlap, element-wise with broadcasting."""
    ax, ay, ayaw, ahx, ahy = a
    bx, by, byaw, bhx, bhy = b
    dx, dy = bx - ax, by - ay
    ca, sa, cb, sb = np.cos(ayaw), np.sin(ayaw), np.cos(byaw), np.sin(byaw)
    separated = np.zeros(np.broadcast(dx, ahx, bhx).shape, dtype=bool)
    for ux, uy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        # projections of both half-sizes onto the axis, against the centre distance on it
        ra = ahx * np.abs(ca * ux + sa * uy) + ahy * np.abs(-sa * ux + ca * uy)
        rb = bhx * np.abs(cb * ux + sb * uy) + bhy * np.abs(-sb * ux + cb * uy)
        separated |= np.abs(dx * ux + dy * uy) > ra + rb
    return ~separated


class EgoModel:
    """LEAD's ego forecast model (lead.control.ForecastBicycle.step_ego) on plain floats:
    the expert steps it 40-80 times a tick, where the array version's overhead dominates.
    tests/expert pins it to ForecastBicycle.step_ego."""

    def __init__(self, bicycle: ForecastBicycle) -> None:
        p = bicycle.params
        self.dt, self.lr, self.gain, self.threshold = p.time_step, p.rear_wheel_base, p.steering_gain, p.throttle_threshold
        self.slip_ratio = p.rear_wheel_base / (p.front_wheel_base + p.rear_wheel_base)
        self.throttle_values = tuple(float(v) for v in p.throttle_values)
        self.brake_values = tuple(float(v) for v in p.brake_values)

    def step(self, x: float, y: float, heading: float, speed: float, steer: float, throttle: float,
             brake: float) -> tuple[float, float, float, float]:
        slip = math.atan(self.slip_ratio * math.tan(self.gain * steer))
        x += speed * math.cos(heading + slip) * self.dt
        y += speed * math.sin(heading + slip) * self.dt
        new_heading = heading + speed / self.lr * math.sin(slip) * self.dt
        return x, y, new_heading, self.next_speed(speed, throttle, brake)

    def next_speed(self, speed: float, throttle: float, brake: float) -> float:
        kph = speed * 3.6
        if brake != 0.0:
            new_kph = sum(c * kph ** (i + 1) for i, c in enumerate(self.brake_values))
        else:
            t = min(max(throttle, 0.0), 1.0)
            if t < self.threshold:
                new_kph = kph
            else:
                a = self.throttle_values
                new_kph = (a[0] * kph + a[1] * kph * kph + a[2] * t + a[3] * t * t + a[4] * kph * t
                           + a[5] * kph * t * t + a[6] * kph * kph * t + a[7] * kph * kph * t * t)
        return max(0.0, new_kph / 3.6)


def rollout_ego(ego: EgoView, route: DenseRoute, lateral: RouteLateralController,
                longitudinal: LinearLongitudinalController, model: EgoModel, target_speed: float,
                steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ego's next `steps` states under its controllers towards `target_speed`, throttling
    without braking as LEAD's safety forecast does: locations (steps, 3), headings (steps,)
    in radians, speeds (steps,)."""
    lateral.save()
    route.save()
    x, y, z, heading, v = ego.x, ego.y, ego.z, ego.yaw_rad, ego.speed
    out_loc, out_head, out_speed = np.empty((steps, 3)), np.empty(steps), np.empty(steps)
    out_loc[:, 2] = z
    try:
        for i in range(steps):
            xy = np.array([x, y])
            steer = lateral.step(route.remaining(), v, xy, heading)
            throttle = longitudinal.extrapolate_throttle(target_speed, v)
            x, y, heading, v = model.step(x, y, heading, v, steer, throttle, 0.0)
            route.advance((x, y))
            out_loc[i, 0], out_loc[i, 1], out_head[i], out_speed[i] = x, y, heading, v
    finally:
        lateral.load()
        route.load()
    return out_loc, out_head, out_speed


def speed_profile(speed: float, target_speed: float, longitudinal: LinearLongitudinalController, model: EgoModel,
                  steps: int) -> np.ndarray:
    """Distances (steps,) the ego covers under its longitudinal controller towards
    `target_speed` (braking as the controller would), tick by tick."""
    out = np.empty(steps)
    covered = 0.0
    for i in range(steps):
        throttle, brake = longitudinal.control(target_speed, speed)
        covered += speed * model.dt  # the model moves with the speed before its update
        speed = model.next_speed(speed, throttle, 1.0 if brake else 0.0)
        out[i] = covered
    return out


def ego_boxes(ego: EgoView, loc: np.ndarray, heading: np.ndarray, config: ExpertConfig) -> Boxes:
    fast = ego.speed >= config.extent_ego_bbs_speed_threshold
    hx = ego.extent[0] * (config.high_speed_extent_factor_ego_x if fast else 1.0)
    hy = ego.extent[1] * (config.high_speed_extent_factor_ego_y if fast else 1.0)
    n = len(heading)
    return loc[:, 0], loc[:, 1], heading, np.full(n, hx), np.full(n, hy)


def vehicle_boxes(actors: ActorsView, steps: int, near_lane_change: bool, bicycle: ForecastBicycle,
                  config: ExpertConfig) -> Boxes:
    """Forecast boxes (steps, N) of vehicles, bicycles and static props."""
    n = len(actors)
    if n == 0:
        e = np.zeros((steps, 0))
        return e, e, e, e, e
    loc, head, speed = bicycle.rollout_vehicles(actors.location, np.radians(actors.yaw), actors.speed,
                                                actors.action, steps)
    frac = (np.arange(steps, dtype=np.float64) / steps)[:, None]
    min_x = (config.high_speed_min_extent_x_other_vehicle_lane_change if near_lane_change
             else config.high_speed_min_extent_x_other_vehicle)
    # LEAD scales with max(min_x, min_x * i / n): the length factor is min_x throughout
    length = np.maximum(min_x, config.high_speed_min_extent_x_other_vehicle * frac)
    width = np.maximum(config.high_speed_min_extent_y_other_vehicle, config.high_speed_extent_y_factor_other_vehicle * frac)
    slow = speed < config.extent_other_vehicles_bbs_speed_threshold
    hx = actors.extent[None, :, 0] * np.where(slow, 1.0, length)
    hy = actors.extent[None, :, 1] * np.where(slow, 1.0, width)
    return loc[:, :, 0], loc[:, :, 1], head, hx, hy


def walker_boxes(actors: ActorsView, steps: int, config: ExpertConfig) -> Boxes:
    """Forecast boxes (steps, N) of pedestrians walking on along their velocity."""
    n = len(actors)
    if n == 0:
        e = np.zeros((steps, 0))
        return e, e, e, e, e
    speed = np.maximum(actors.speed, config.min_walker_speed)
    norm = np.linalg.norm(actors.velocity[:, :2], axis=1)
    direction = np.where(norm[:, None] > 1e-3, actors.velocity[:, :2] / np.maximum(norm, 1e-9)[:, None], 0.0)
    k = np.arange(1, steps + 1, dtype=np.float64)[:, None, None]
    xy = actors.location[None, :, :2] + k * direction[None] * (speed[None, :, None] / config.fps)
    yaw = np.broadcast_to(np.radians(actors.yaw)[None], (steps, n))
    hx = np.broadcast_to(np.maximum(actors.extent[:, 0], config.pedestrian_minimum_extent)[None], (steps, n))
    hy = np.broadcast_to(np.maximum(actors.extent[:, 1], config.pedestrian_minimum_extent)[None], (steps, n))
    return xy[..., 0], xy[..., 1], yaw, hx, hy


def first_overlaps(ego: Boxes, others: Boxes) -> np.ndarray:
    """For each actor (column), the first forecast step its box meets the ego's, or -1."""
    ex, ey, eyaw, ehx, ehy = (v[:, None] for v in ego)
    hit = boxes_overlap((ex, ey, eyaw, ehx, ehy), others)
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)
