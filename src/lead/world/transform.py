"""CARLA's geometry value types in CARLA's world frame (left-handed, x forward, y right,
z up, metres, degrees): Vector3D, Location, Rotation, Transform, BoundingBox.

Rotation composes yaw·pitch·roll exactly as carla.Rotation does, so forward/right/up
vectors and Transform.transform() give CARLA's numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Vector3D:
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0

    def __add__(self, o: "Vector3D") -> "Vector3D":
        return type(self)(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o: "Vector3D") -> "Vector3D":
        return type(self)(self.x - o.x, self.y - o.y, self.z - o.z)

    def __mul__(self, k: float) -> "Vector3D":
        return type(self)(self.x * k, self.y * k, self.z * k)

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> "Vector3D":
        return type(self)(self.x / k, self.y / k, self.z / k)

    def __neg__(self) -> "Vector3D":
        return type(self)(-self.x, -self.y, -self.z)

    def length(self) -> float:
        return math.sqrt(self.x * self.x + self.y * self.y + self.z * self.z)

    def squared_length(self) -> float:
        return self.x * self.x + self.y * self.y + self.z * self.z

    def make_unit_vector(self) -> "Vector3D":
        n = self.length()
        return type(self)(self.x / n, self.y / n, self.z / n) if n > 0 else type(self)()

    def dot(self, o: "Vector3D") -> float:
        return self.x * o.x + self.y * o.y + self.z * o.z

    def dot_2d(self, o: "Vector3D") -> float:
        return self.x * o.x + self.y * o.y

    def cross(self, o: "Vector3D") -> "Vector3D":
        return Vector3D(self.y * o.z - self.z * o.y, self.z * o.x - self.x * o.z, self.x * o.y - self.y * o.x)

    def distance(self, o: "Vector3D") -> float:
        return math.sqrt((self.x - o.x) ** 2 + (self.y - o.y) ** 2 + (self.z - o.z) ** 2)

    def distance_2d(self, o: "Vector3D") -> float:
        return math.hypot(self.x - o.x, self.y - o.y)

    def distance_squared(self, o: "Vector3D") -> float:
        return (self.x - o.x) ** 2 + (self.y - o.y) ** 2 + (self.z - o.z) ** 2

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)


class Location(Vector3D):
    """A point in the world (carla.Location)."""


@dataclass
class Rotation:
    """Degrees; positive yaw turns +x towards +y (carla.Rotation)."""
    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0

    def _trig(self):
        p, y, r = math.radians(self.pitch), math.radians(self.yaw), math.radians(self.roll)
        return math.cos(p), math.sin(p), math.cos(y), math.sin(y), math.cos(r), math.sin(r)

    def get_forward_vector(self) -> Vector3D:
        cp, sp, cy, sy, _, _ = self._trig()
        return Vector3D(cp * cy, cp * sy, sp)

    def get_right_vector(self) -> Vector3D:
        cp, sp, cy, sy, cr, sr = self._trig()
        return Vector3D(cy * sp * sr - sy * cr, sy * sp * sr + cy * cr, -cp * sr)

    def get_up_vector(self) -> Vector3D:
        cp, sp, cy, sy, cr, sr = self._trig()
        return Vector3D(-cy * sp * cr - sy * sr, -sy * sp * cr + cy * sr, cp * cr)

    def rotate_vector(self, v: Vector3D) -> Vector3D:
        f, r, u = self.get_forward_vector(), self.get_right_vector(), self.get_up_vector()
        return Vector3D(f.x * v.x + r.x * v.y + u.x * v.z,
                        f.y * v.x + r.y * v.y + u.y * v.z,
                        f.z * v.x + r.z * v.y + u.z * v.z)

    def inverse_rotate_vector(self, v: Vector3D) -> Vector3D:
        f, r, u = self.get_forward_vector(), self.get_right_vector(), self.get_up_vector()
        return Vector3D(f.dot(v), r.dot(v), u.dot(v))


@dataclass
class Transform:
    location: Location = field(default_factory=Location)
    rotation: Rotation = field(default_factory=Rotation)

    def get_forward_vector(self) -> Vector3D:
        return self.rotation.get_forward_vector()

    def get_right_vector(self) -> Vector3D:
        return self.rotation.get_right_vector()

    def get_up_vector(self) -> Vector3D:
        return self.rotation.get_up_vector()

    def transform(self, point: Vector3D) -> Location:
        """Local point -> world (CARLA's Transform.transform, returning a new Location)."""
        v = self.rotation.rotate_vector(point)
        return Location(v.x + self.location.x, v.y + self.location.y, v.z + self.location.z)

    def inverse_transform(self, point: Vector3D) -> Location:
        """World point -> local frame of this transform."""
        v = self.rotation.inverse_rotate_vector(point - self.location)
        return Location(v.x, v.y, v.z)

    def get_matrix(self) -> list[list[float]]:
        f, r, u = self.get_forward_vector(), self.get_right_vector(), self.get_up_vector()
        t = self.location
        return [[f.x, r.x, u.x, t.x], [f.y, r.y, u.y, t.y], [f.z, r.z, u.z, t.z], [0.0, 0.0, 0.0, 1.0]]


@dataclass
class BoundingBox:
    """A box by centre, half-extents and rotation (carla.BoundingBox). Trigger volumes
    from lead.world.signals are given in world coordinates."""
    location: Location = field(default_factory=Location)
    extent: Vector3D = field(default_factory=Vector3D)
    rotation: Rotation = field(default_factory=Rotation)

    def contains(self, point: Vector3D, transform: Transform | None = None) -> bool:
        """Whether a world point lies in the box (box placed relative to `transform`)."""
        if transform is not None:
            point = transform.inverse_transform(point)
        p = Transform(self.location, self.rotation).inverse_transform(point)
        e = self.extent
        return abs(p.x) <= e.x and abs(p.y) <= e.y and abs(p.z) <= e.z

    def get_world_vertices(self, transform: Transform | None = None) -> list[Location]:
        local = Transform(self.location, self.rotation)
        e = self.extent
        out = []
        for sx in (-1, 1):
            for sy in (-1, 1):
                for sz in (-1, 1):
                    p = local.transform(Vector3D(sx * e.x, sy * e.y, sz * e.z))
                    out.append(transform.transform(p) if transform is not None else p)
        return out
