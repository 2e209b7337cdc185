"""Dense test routes (10 points per metre) and the closed loop that drives them."""
from __future__ import annotations

import math

import numpy as np

from lead.control.lateral import RouteLateralController, advance_route_index
from lead.control.longitudinal import LinearLongitudinalController
from lead.control.vehicle_control import VehicleControl
from lead.sim.embedded.dynamics import VehicleDynamics


def dense_route(segments: list[tuple[float, float]], points_per_meter: int = 10) -> np.ndarray:
    """Route from (length m, curvature 1/m) pieces, starting at the origin heading +x;
    positive curvature bends towards +y (a right turn in CARLA's frame)."""
    ds = 1.0 / points_per_meter
    x = y = h = 0.0
    points = [(x, y)]
    for length, curvature in segments:
        for _ in range(int(round(length * points_per_meter))):
            if curvature == 0.0:
                x, y = x + ds * math.cos(h), y + ds * math.sin(h)
            else:
                h2 = h + curvature * ds
                x += (math.sin(h2) - math.sin(h)) / curvature
                y -= (math.cos(h2) - math.cos(h)) / curvature
                h = h2
            points.append((x, y))
    return np.array(points)


def cross_track_error(route: np.ndarray, point: np.ndarray) -> float:
    """Distance from point to the route polyline."""
    a, b = route[:-1], route[1:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", point[None] - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
    return float(np.min(np.linalg.norm(a + t[:, None] * ab - point[None], axis=1)))


def drive_route(route: np.ndarray, target_speed: float, max_ticks: int = 4000):
    """The expert's control loop (lateral PID + linear longitudinal model) on the embedded
    dynamics, starting on the route at the target speed. Returns (errors, speeds)."""
    car = VehicleDynamics()
    car.reset(x=route[0, 0], y=route[0, 1], yaw_deg=0.0, speed=target_speed)
    lateral, longitudinal = RouteLateralController(), LinearLongitudinalController()
    index, errors, speeds = 0, [], []
    for _ in range(max_ticks):
        s = car.state
        position = np.array([s.x, s.y])
        index = advance_route_index(route, position, index)
        if index >= len(route) - 110:  # keep a full lookahead ahead
            break
        steer = lateral.step(route[index:], abs(s.speed), position, math.radians(s.yaw))
        throttle, brake = longitudinal.control(target_speed, abs(s.speed))
        s = car.step(VehicleControl(throttle=throttle, steer=steer, brake=float(brake)))
        errors.append(cross_track_error(route, np.array([s.x, s.y])))
        speeds.append(s.speed)
    return np.array(errors), np.array(speeds)
