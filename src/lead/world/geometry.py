"""OpenDRIVE plan-view geometry and cubic records, evaluated exactly in the file's own
(right-handed, y north) frame; lead.world.map mirrors the results into CARLA's frame.

Every primitive maps a distance `ds` along itself to (x, y, heading):
line and arc in closed form, spiral (clothoid) with Fresnel integrals, poly3 and
paramPoly3 by inverting their arc length to machine precision (Gauss-Legendre
quadrature plus Newton steps). Arrays in, arrays out, so whole roads are sampled at once.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import fresnel

# Gauss-Legendre nodes/weights on [-1, 1]; 8 points integrate the smooth speed of a
# cubic curve over a short interval to ~1e-15.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)

# Beyond |z| = 1e3 Fresnel differences would lose digits (the clothoid's inflection point
# lies far away); there the heading integral is integrated by quadrature instead.
_FRESNEL_Z_MAX = 1.0e3


class Geometry:
    """One <geometry> of a road's planView: start s, start pose, length."""

    kind = "geometry"
    __slots__ = ("s0", "x0", "y0", "hdg", "length")

    def __init__(self, s0: float, x0: float, y0: float, hdg: float, length: float):
        self.s0, self.x0, self.y0, self.hdg, self.length = s0, x0, y0, hdg, length

    def evaluate(self, ds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, heading) at distances `ds` (clamped to [0, length]) along the geometry."""
        ds = np.clip(np.asarray(ds, dtype=float), 0.0, max(self.length, 0.0))
        return self._eval(ds)

    def _eval(self, ds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def point(self, ds: float) -> tuple[float, float, float]:
        """Scalar form of `evaluate`."""
        x, y, h = self.evaluate(np.array([ds]))
        return float(x[0]), float(y[0]), float(h[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(s0={self.s0:.3f}, length={self.length:.3f})"


class Line(Geometry):
    kind = "line"
    __slots__ = ()

    def _eval(self, ds):
        c, s = math.cos(self.hdg), math.sin(self.hdg)
        return self.x0 + ds * c, self.y0 + ds * s, np.full_like(ds, self.hdg)

    def point(self, ds: float) -> tuple[float, float, float]:
        ds = min(max(ds, 0.0), self.length)
        return self.x0 + ds * math.cos(self.hdg), self.y0 + ds * math.sin(self.hdg), self.hdg


class Arc(Geometry):
    kind = "arc"
    __slots__ = ("curvature",)

    def __init__(self, s0, x0, y0, hdg, length, curvature: float):
        super().__init__(s0, x0, y0, hdg, length)
        self.curvature = curvature

    def _eval(self, ds):
        k = self.curvature
        h = self.hdg + k * ds
        if abs(k) < 1e-15:
            return self.x0 + ds * math.cos(self.hdg), self.y0 + ds * math.sin(self.hdg), h
        return (self.x0 + (np.sin(h) - math.sin(self.hdg)) / k,
                self.y0 - (np.cos(h) - math.cos(self.hdg)) / k, h)

    def point(self, ds: float) -> tuple[float, float, float]:
        ds = min(max(ds, 0.0), self.length)
        k = self.curvature
        h = self.hdg + k * ds
        if abs(k) < 1e-15:
            return self.x0 + ds * math.cos(self.hdg), self.y0 + ds * math.sin(self.hdg), h
        return (self.x0 + (math.sin(h) - math.sin(self.hdg)) / k,
                self.y0 - (math.cos(h) - math.cos(self.hdg)) / k, h)


class Spiral(Geometry):
    """Clothoid: curvature varies linearly from curv_start to curv_end over the length.

    It is a piece of the standard clothoid k(σ) = c·σ (c the curvature rate) starting at
    σ0 = curv_start / c, whose points are a·(C(σ/a), ±S(σ/a)) with a = sqrt(π/|c|) and
    C, S the Fresnel integrals; the piece is shifted and turned onto the start pose.
    """

    kind = "spiral"
    __slots__ = ("curv_start", "curv_end")

    def __init__(self, s0, x0, y0, hdg, length, curv_start: float, curv_end: float):
        super().__init__(s0, x0, y0, hdg, length)
        self.curv_start, self.curv_end = curv_start, curv_end

    @property
    def rate(self) -> float:
        return (self.curv_end - self.curv_start) / self.length if self.length > 0 else 0.0

    def _eval(self, ds):
        k0, c = self.curv_start, self.rate
        h = self.hdg + k0 * ds + 0.5 * c * ds * ds
        if abs(c) * self.length ** 2 < 1e-10:
            # the clothoid term turns the heading by < 1e-10 rad over the whole piece
            x, y, _ = Arc(0.0, self.x0, self.y0, self.hdg, self.length, k0)._eval(ds)
            return x, y, h
        a = math.sqrt(math.pi / abs(c))
        sig0 = k0 / c
        if max(abs(sig0), abs(sig0 + self.length)) / a > _FRESNEL_Z_MAX:
            x, y = _integrate_heading(self.hdg, k0, c, ds)
            return self.x0 + x, self.y0 + y, h
        s1, c1 = fresnel((sig0 + ds) / a)
        s0_, c0_ = fresnel(sig0 / a)
        sign = 1.0 if c > 0 else -1.0
        lx, ly = a * (c1 - c0_), sign * a * (s1 - s0_)
        rot = self.hdg - 0.5 * c * sig0 * sig0  # standard-clothoid heading at σ0 is c·σ0²/2
        cr, sr = math.cos(rot), math.sin(rot)
        return self.x0 + cr * lx - sr * ly, self.y0 + sr * lx + cr * ly, h


def _integrate_heading(h0: float, k0: float, c: float, ds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∫0^ds (cos, sin)(h0 + k0 t + c t²/2) dt by composite Gauss-Legendre quadrature,
    with pieces short enough (≤ 0.2 rad of turning) for machine precision."""
    ds = np.atleast_1d(ds)
    span = float(ds.max()) if ds.size else 0.0
    turn = abs(k0) * span + 0.5 * abs(c) * span * span
    m = max(1, int(math.ceil(turn / 0.2)))
    edges = np.linspace(0.0, 1.0, m + 1)
    u = (0.5 * (edges[:-1, None] + edges[1:, None]) + 0.5 * (edges[1:, None] - edges[:-1, None]) * _GL_X).ravel()
    w = (0.5 * (edges[1:, None] - edges[:-1, None]) * _GL_W).ravel()
    t = ds[:, None] * u[None, :]
    phase = h0 + k0 * t + 0.5 * c * t * t
    return (np.cos(phase) * w).sum(1) * ds, (np.sin(phase) * w).sum(1) * ds


class _ArcLengthCurve(Geometry):
    """Base of poly3/paramPoly3: a local cubic curve (u(p), v(p)) turned by hdg, evaluated
    at true arc length. The arc length s(p) is tabulated with Gauss-Legendre quadrature
    and inverted by Newton steps; past the tabulated end the curve continues straight."""

    __slots__ = ("_pu", "_pv", "_p_end", "_p_nodes", "_s_nodes")

    def _setup(self, pu: tuple, pv: tuple, p_end: float) -> None:
        self._pu, self._pv, self._p_end = pu, pv, p_end
        n = max(16, int(math.ceil(max(self.length, 0.0) / 0.5)))
        p = np.linspace(0.0, p_end, n + 1)
        seg = self._arc(p[:-1], p[1:])
        self._p_nodes, self._s_nodes = p, np.concatenate([[0.0], np.cumsum(seg)])

    def _deriv(self, p):
        _, bu, cu, du = self._pu
        _, bv, cv, dv = self._pv
        return bu + p * (2 * cu + 3 * du * p), bv + p * (2 * cv + 3 * dv * p)

    def _arc(self, p_a: np.ndarray, p_b: np.ndarray) -> np.ndarray:
        """Arc length between parameters p_a and p_b (elementwise)."""
        half = 0.5 * (p_b - p_a)
        mid = 0.5 * (p_b + p_a)
        pp = mid[:, None] + half[:, None] * _GL_X[None, :]
        du, dv = self._deriv(pp)
        return (np.hypot(du, dv) * _GL_W).sum(1) * half

    def _param_at(self, ds: np.ndarray) -> np.ndarray:
        s_nodes, p_nodes = self._s_nodes, self._p_nodes
        i = np.clip(np.searchsorted(s_nodes, ds, side="right") - 1, 0, len(s_nodes) - 2)
        f = (ds - s_nodes[i]) / np.maximum(s_nodes[i + 1] - s_nodes[i], 1e-300)
        p = p_nodes[i] + f * (p_nodes[i + 1] - p_nodes[i])
        for _ in range(3):
            du, dv = self._deriv(p)
            speed = np.maximum(np.hypot(du, dv), 1e-12)
            p = p - (s_nodes[i] + self._arc(p_nodes[i], p) - ds) / speed
            p = np.clip(p, p_nodes[i], p_nodes[i + 1])
        return p

    def _eval(self, ds):
        total = self._s_nodes[-1]
        p = self._param_at(np.minimum(ds, total))
        au, bu, cu, du = self._pu
        av, bv, cv, dv = self._pv
        u = au + p * (bu + p * (cu + p * du))
        v = av + p * (bv + p * (cv + p * dv))
        tu, tv = self._deriv(p)
        h_local = np.arctan2(tv, tu)
        extra = np.maximum(ds - total, 0.0)  # beyond the curve's own length: straight on
        u = u + extra * np.cos(h_local)
        v = v + extra * np.sin(h_local)
        c, s = math.cos(self.hdg), math.sin(self.hdg)
        return self.x0 + c * u - s * v, self.y0 + s * u + c * v, self.hdg + h_local

    @property
    def curve_length(self) -> float:
        """True arc length of the cubic over its parameter range."""
        return float(self._s_nodes[-1])


class Poly3(_ArcLengthCurve):
    """Local cubic v(u) = a + b·u + c·u² + d·u³, u along the start heading."""

    kind = "poly3"
    __slots__ = ("coeffs",)

    def __init__(self, s0, x0, y0, hdg, length, a: float, b: float, c: float, d: float):
        super().__init__(s0, x0, y0, hdg, length)
        self.coeffs = (a, b, c, d)
        # arc length >= u, so u never exceeds the length
        self._setup((0.0, 1.0, 0.0, 0.0), self.coeffs, max(length, 0.0))


class ParamPoly3(_ArcLengthCurve):
    """Parametric cubic (u(p), v(p)); p in [0, 1] ("normalized") or [0, length] ("arcLength")."""

    kind = "paramPoly3"
    __slots__ = ("u_coeffs", "v_coeffs", "p_range")

    def __init__(self, s0, x0, y0, hdg, length, u_coeffs: tuple, v_coeffs: tuple,
                 p_range: str = "normalized"):
        super().__init__(s0, x0, y0, hdg, length)
        self.u_coeffs, self.v_coeffs, self.p_range = tuple(u_coeffs), tuple(v_coeffs), p_range
        self._setup(self.u_coeffs, self.v_coeffs, max(length, 0.0) if p_range == "arcLength" else 1.0)


class ReferenceLine:
    """A road's planView: geometries sorted by s."""

    __slots__ = ("geometries", "_starts")

    def __init__(self, geometries: list[Geometry]):
        self.geometries = sorted(geometries, key=lambda g: g.s0)
        self._starts = [g.s0 for g in self.geometries]

    def index(self, s: float) -> int:
        return max(0, bisect.bisect_right(self._starts, s) - 1)

    def point(self, s: float) -> tuple[float, float, float]:
        """(x, y, heading) of the reference line at s."""
        g = self.geometries[self.index(s)]
        return g.point(s - g.s0)

    def evaluate(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.asarray(s, dtype=float)
        x, y, h = np.empty_like(s), np.empty_like(s), np.empty_like(s)
        idx = np.clip(np.searchsorted(self._starts, s, side="right") - 1, 0, len(self.geometries) - 1)
        for gi in np.unique(idx):
            m = idx == gi
            g = self.geometries[gi]
            x[m], y[m], h[m] = g.evaluate(s[m] - g.s0)
        return x, y, h


@dataclass(frozen=True)
class Cubic:
    """a + b·ds + c·ds² + d·ds³ with ds = s - s0."""
    s0: float
    a: float
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0


class CubicSeq:
    """A sequence of cubic records (elevation, laneOffset, lane width, border): the record
    in force at s is the last one starting at or before s (the first one before it)."""

    __slots__ = ("records", "_starts", "_start_list", "_coef")

    def __init__(self, records: list[Cubic] | tuple = ()):
        self.records = sorted(records, key=lambda r: r.s0)  # stable: a later duplicate wins
        self._start_list = [r.s0 for r in self.records]
        self._starts = np.array(self._start_list, dtype=float)
        self._coef = np.array([[r.a, r.b, r.c, r.d] for r in self.records], dtype=float).reshape(-1, 4)

    def __bool__(self) -> bool:
        return bool(self.records)

    def index(self, s: float) -> int:
        return max(0, bisect.bisect_right(self._start_list, s) - 1)

    def value(self, s: float) -> float:
        if not self.records:
            return 0.0
        r = self.records[self.index(s)]
        ds = s - r.s0
        return r.a + ds * (r.b + ds * (r.c + ds * r.d))

    def slope(self, s: float) -> float:
        if not self.records:
            return 0.0
        r = self.records[self.index(s)]
        ds = s - r.s0
        return r.b + ds * (2.0 * r.c + 3.0 * ds * r.d)

    def values(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=float)
        if not self.records:
            return np.zeros_like(s)
        i = np.clip(np.searchsorted(self._starts, s, side="right") - 1, 0, None)
        a, b, c, d = self._coef[i].T
        ds = s - self._starts[i]
        return a + ds * (b + ds * (c + ds * d))

    def slopes(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=float)
        if not self.records:
            return np.zeros_like(s)
        i = np.clip(np.searchsorted(self._starts, s, side="right") - 1, 0, None)
        _, b, c, d = self._coef[i].T
        ds = s - self._starts[i]
        return b + ds * (2.0 * c + 3.0 * ds * d)
