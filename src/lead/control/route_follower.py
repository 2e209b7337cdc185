"""The route-follower baseline: LEAD's expert controllers on the route, blind to every other
actor and to lights. The leaderboard's sanity floor: it completes empty routes and crashes
into whatever stands on them."""
from __future__ import annotations

import math

import numpy as np

from lead.control.lateral import RouteLateralController, advance_route_index
from lead.control.longitudinal import LinearLongitudinalController
from lead.control.vehicle_control import VehicleControl

POINTS_PER_METER = 10


def densify(points: np.ndarray, per_meter: int = POINTS_PER_METER) -> np.ndarray:
    """Resample a polyline (N, 2+) to `per_meter` points per metre (linear), as LEAD does
    with the leaderboard's ~1 m route."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 2:
        return pts.copy()
    seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    keep = np.concatenate([[True], seg > 1e-6])  # joins repeat points: drop them
    pts, s = pts[keep], s[keep]
    n = max(int(math.floor(s[-1] * per_meter)) + 1, 2)
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, pts[:, k]) for k in range(pts.shape[1])])


class RouteFollower:
    """steer from LEAD's lateral PID on the densified route, throttle from LEAD's linear
    model towards a fixed target speed; brakes to a stop at the route's end."""

    def __init__(self, route_xy: np.ndarray, target_speed: float = 6.0):
        self.route = densify(route_xy)
        self.target_speed = float(target_speed)
        self.index = 0
        self.lateral = RouteLateralController()
        self.longitudinal = LinearLongitudinalController()

    def step(self, x: float, y: float, yaw_deg: float, speed: float) -> VehicleControl:
        self.index = advance_route_index(self.route, np.array([x, y]), self.index)
        remaining = (len(self.route) - 1 - self.index) / POINTS_PER_METER
        target = self.target_speed if remaining > 2.0 else 0.0
        steer = self.lateral.step(self.route[self.index:], speed, np.array([x, y]), math.radians(yaw_deg))
        throttle, brake = self.longitudinal.control(target, speed)
        if target == 0.0:
            throttle, brake = 0.0, True
        return VehicleControl(throttle=float(throttle), steer=float(steer), brake=1.0 if brake else 0.0)
