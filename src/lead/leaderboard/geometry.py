"""Small CARLA-frame geometry the criteria need (left-handed, x fwd, y right, z up, degrees):
carla.Rotation's forward/right/up vectors, carla.Transform.transform, and the dense route's
cumulative lengths."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Pose:
    """A transform in CARLA's frame: location (m) and rotation (degrees)."""

    x: float
    y: float
    z: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    @property
    def location(self) -> Vec3:
        return (self.x, self.y, self.z)

    def forward(self) -> Vec3:
        return forward_vector(self.yaw, self.pitch)


def forward_vector(yaw: float, pitch: float = 0.0) -> Vec3:
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    return (cy * cp, sy * cp, sp)


def transform_point(pose: Pose, local: Sequence[float]) -> Vec3:
    """carla.Transform.transform: a point in the pose's local frame -> world."""
    cr, sr = math.cos(math.radians(pose.roll)), math.sin(math.radians(pose.roll))
    cp, sp = math.cos(math.radians(pose.pitch)), math.sin(math.radians(pose.pitch))
    cy, sy = math.cos(math.radians(pose.yaw)), math.sin(math.radians(pose.yaw))
    fwd = (cy * cp, sy * cp, sp)
    right = (cy * sp * sr - sy * cr, sy * sp * sr + cy * cr, -cp * sr)
    up = (-cy * sp * cr - sy * sr, -sy * sp * cr + cy * sr, cp * cr)
    lx, ly, lz = local
    return tuple(p + lx * f + ly * r + lz * u
                 for p, f, r, u in zip(pose.location, fwd, right, up))  # type: ignore[return-value]


def rotate_yaw(x: float, y: float, angle_deg: float) -> tuple[float, float]:
    """Rotate (x, y) about z by angle degrees (upstream's rotate_point)."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return (c * x - s * y, s * x + c * y)


def sub(a: Sequence[float], b: Sequence[float]) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def dist3(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)


def dist2(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)


def segments_intersect(p1: Sequence[float], p2: Sequence[float], q1: Sequence[float], q2: Sequence[float]) -> bool:
    """Whether closed 2D segments p1-p2 and q1-q2 share a point (touching counts), as
    shapely's LineString.intersection(...).is_empty is False."""
    def orient(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    def on_segment(a, b, c) -> bool:  # c collinear with a-b: inside its box?
        return (min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and on_segment(q1, q2, p1)) or (d2 == 0 and on_segment(q1, q2, p2))
            or (d3 == 0 and on_segment(p1, p2, q1)) or (d4 == 0 and on_segment(p1, p2, q2)))


class RouteGeometry:
    """The dense route (waypoint transforms ~1 m apart) with forward vectors and cumulative
    3D lengths, as the route criteria precompute them."""

    def __init__(self, points: Sequence[Pose], source: str = "route") -> None:
        if len(points) < 2:
            raise ValueError(f"{source}: a route needs at least 2 points, got {len(points)}")
        self.points = list(points)
        self.locations = [p.location for p in self.points]
        self.forwards = [p.forward() for p in self.points]
        accum = [0.0]
        for a, b in zip(self.locations, self.locations[1:]):
            accum.append(accum[-1] + dist3(a, b))
        if accum[-1] <= 0.0:
            raise ValueError(f"{source}: route has zero length")
        self.accum = accum

    def __len__(self) -> int:
        return len(self.points)

    @property
    def length(self) -> float:
        """Sum of 3D distances between consecutive points (compute_route_length)."""
        return self.accum[-1]

    def passed(self, index: int, location: Sequence[float]) -> bool:
        """Whether `location` is past route point `index` (in front of its normal plane)."""
        return dot(sub(location, self.locations[index]), self.forwards[index]) > 0
