"""OpenDRIVE planView pieces for the town generator: lines, arcs, clothoid spirals and
paramPoly3, evaluated exactly (spirals through Fresnel integrals), in the OpenDRIVE frame
(right-handed, y north, heading counter-clockwise from +x, radians)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import fresnel

Pose = tuple[float, float, float]  # x, y, heading

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def wrap(a: float) -> float:
    """Angle in (-pi, pi]."""
    a = math.fmod(a + math.pi, 2.0 * math.pi)
    if a <= 0.0:
        a += 2.0 * math.pi
    return a - math.pi


def _clothoid(rate: float, u: float) -> tuple[float, float]:
    """Point at arc length u on the clothoid through the origin with heading 0 and
    curvature rate * u (exact, via scipy's Fresnel integrals)."""
    scale = math.sqrt(math.pi / abs(rate))
    s_val, c_val = fresnel(u / scale)
    return scale * float(c_val), (1.0 if rate > 0.0 else -1.0) * scale * float(s_val)


def spiral_local(k0: float, k1: float, length: float, s: float) -> Pose:
    """Pose at s on a spiral from curvature k0 to k1 over `length`, starting at the
    origin with heading 0."""
    rate = (k1 - k0) / length
    if abs(rate) < 1e-15:
        return arc_local(k0, s)
    u0 = k0 / rate  # where the base clothoid has curvature k0
    x0, y0 = _clothoid(rate, u0)
    x1, y1 = _clothoid(rate, u0 + s)
    th0 = 0.5 * rate * u0 * u0
    dx, dy = x1 - x0, y1 - y0
    c, sn = math.cos(th0), math.sin(th0)
    return c * dx + sn * dy, -sn * dx + c * dy, k0 * s + 0.5 * rate * s * s


def arc_local(k: float, s: float) -> Pose:
    if abs(k) < 1e-15:
        return s, 0.0, 0.0
    th = k * s
    return math.sin(th) / k, (1.0 - math.cos(th)) / k, th


@dataclass
class Geom:
    """One <geometry> record. kind: line | arc | spiral | poly3 (paramPoly3, normalized)."""
    kind: str
    x: float
    y: float
    hdg: float
    length: float
    k0: float = 0.0  # arc curvature, or spiral start curvature
    k1: float = 0.0  # spiral end curvature
    uv: tuple[float, ...] = ()  # paramPoly3 aU bU cU dU aV bV cV dV

    def local(self, s: float) -> Pose:
        if self.kind == "line":
            return s, 0.0, 0.0
        if self.kind == "arc":
            return arc_local(self.k0, s)
        if self.kind == "spiral":
            return spiral_local(self.k0, self.k1, self.length, s)
        au, bu, cu, du, av, bv, cv, dv = self.uv
        p = s / self.length
        u = au + p * (bu + p * (cu + p * du))
        v = av + p * (bv + p * (cv + p * dv))
        return u, v, math.atan2(bv + p * (2 * cv + 3 * dv * p), bu + p * (2 * cu + 3 * du * p))

    def pose(self, s: float) -> Pose:
        lx, ly, lh = self.local(s)
        c, sn = math.cos(self.hdg), math.sin(self.hdg)
        return self.x + c * lx - sn * ly, self.y + sn * lx + c * ly, wrap(self.hdg + lh)

    def end(self) -> Pose:
        return self.pose(self.length)


# A piece before placement: (kind, length, k0, k1, uv)
Piece = tuple[str, float, float, float, tuple[float, ...]]


def place(start: Pose, pieces: list[Piece]) -> list[Geom]:
    """Chain pieces from `start`, each starting where the previous one ends."""
    out: list[Geom] = []
    pose = start
    for kind, length, k0, k1, uv in pieces:
        g = Geom(kind, pose[0], pose[1], pose[2], length, k0, k1, uv)
        out.append(g)
        pose = g.end()
    return out


def fillet_pieces(turn: float, radius: float, spiral_len: float) -> tuple[list[Piece], float]:
    """A symmetric corner that turns by `turn` rad: spiral-arc-spiral (clothoid
    transitions of `spiral_len`) or a plain arc when spiral_len is 0. Returns the
    pieces and the tangent length (distance from the corner vertex to where the curve
    starts and ends)."""
    k = math.copysign(1.0 / radius, turn)
    if spiral_len > 0.0:
        arc_len = abs(turn) * radius - spiral_len
        if arc_len < 0.0:
            raise ValueError(f"spiral length {spiral_len} too long for a turn of {math.degrees(turn):.1f} deg "
                             f"at radius {radius}")
        pieces: list[Piece] = [("spiral", spiral_len, 0.0, k, ())]
        if arc_len > 1e-9:
            pieces.append(("arc", arc_len, k, k, ()))
        pieces.append(("spiral", spiral_len, k, 0.0, ()))
    else:
        pieces = [("arc", abs(turn) * radius, k, k, ())]
    end = place((0.0, 0.0, 0.0), pieces)[-1].end()
    return pieces, end[1] / math.sin(turn)


def hermite_poly3(start: Pose, end: Pose) -> Piece:
    """A normalized paramPoly3 from `start` to `end`, tangent to both headings (cubic
    Hermite, tangent magnitude = chord length)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    c, sn = math.cos(start[2]), math.sin(start[2])
    u1, v1 = c * dx + sn * dy, -sn * dx + c * dy
    phi = wrap(end[2] - start[2])
    k = math.hypot(u1, v1)
    uv = (0.0, k, 3 * u1 - 2 * k - k * math.cos(phi), k + k * math.cos(phi) - 2 * u1,
          0.0, 0.0, 3 * v1 - k * math.sin(phi), k * math.sin(phi) - 2 * v1)
    return ("poly3", poly3_length(uv), 0.0, 0.0, uv)


def poly3_length(uv: tuple[float, ...], pieces: int = 8) -> float:
    """Arc length of a paramPoly3 over p in [0, 1] (Gauss-Legendre per sub-interval)."""
    _, bu, cu, du, _, bv, cv, dv = uv
    total = 0.0
    for i in range(pieces):
        a, b = i / pieces, (i + 1) / pieces
        p = 0.5 * (b - a) * _GL_X + 0.5 * (a + b)
        du_ = bu + 2 * cu * p + 3 * du * p * p
        dv_ = bv + 2 * cv * p + 3 * dv * p * p
        total += 0.5 * (b - a) * float(np.sum(_GL_W * np.hypot(du_, dv_)))
    return total


def turn_pieces(start: Pose, end: Pose, min_radius: float) -> list[Piece] | None:
    """Line + arc (+ line) from `start` to `end` when the headings' tangent lines meet
    ahead of both poses with a radius of at least `min_radius`; else None."""
    turn = wrap(end[2] - start[2])
    if abs(turn) < math.radians(3.0) or abs(turn) > math.radians(177.0):
        return None
    d0 = (math.cos(start[2]), math.sin(start[2]))
    d1 = (math.cos(end[2]), math.sin(end[2]))
    # start + a*d0 = end - b*d1, i.e. a*d0 + b*d1 = end - start
    det = d0[0] * d1[1] - d0[1] * d1[0]
    rx, ry = end[0] - start[0], end[1] - start[1]
    a = (rx * d1[1] - ry * d1[0]) / det
    b = (d0[0] * ry - d0[1] * rx) / det
    if a <= 0.0 or b <= 0.0:
        return None
    t = min(a, b)
    radius = t / math.tan(abs(turn) / 2.0)
    if radius < min_radius:
        return None
    pieces: list[Piece] = []
    if a - t > 1e-6:
        pieces.append(("line", a - t, 0.0, 0.0, ()))
    k = math.copysign(1.0 / radius, turn)
    pieces.append(("arc", abs(turn) * radius, k, k, ()))
    if b - t > 1e-6:
        pieces.append(("line", b - t, 0.0, 0.0, ()))
    return pieces
