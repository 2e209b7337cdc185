"""Plan-view geometries against closed forms and numerical integration."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import fresnel

from lead.world.geometry import Arc, Cubic, CubicSeq, Line, ParamPoly3, Poly3, ReferenceLine, Spiral


def _integrate_heading(hdg_of, s: float) -> tuple[float, float]:
    """∫0^s (cos, sin)(hdg(t)) dt by adaptive quadrature: the definition of a curve
    parameterised by arc length."""
    x = quad(lambda t: math.cos(hdg_of(t)), 0.0, s, epsabs=1e-12, epsrel=1e-12, limit=500)[0]
    y = quad(lambda t: math.sin(hdg_of(t)), 0.0, s, epsabs=1e-12, epsrel=1e-12, limit=500)[0]
    return x, y


def test_line_closed_form():
    g = Line(0.0, 3.0, -2.0, 0.7, 10.0)
    x, y, h = g.evaluate(np.array([0.0, 4.0, 10.0, 12.0]))
    assert np.allclose(x, 3.0 + np.array([0, 4, 10, 10]) * math.cos(0.7))
    assert np.allclose(y, -2.0 + np.array([0, 4, 10, 10]) * math.sin(0.7))  # clamped at the end
    assert np.allclose(h, 0.7)
    assert g.point(4.0) == pytest.approx((x[1], y[1], 0.7))


@pytest.mark.parametrize("k", [0.05, -0.2, 1e-17])
def test_arc_stays_on_its_circle(k):
    g = Arc(0.0, 1.0, 2.0, 0.3, 20.0, k)
    ds = np.linspace(0, 20, 41)
    x, y, h = g.evaluate(ds)
    assert np.allclose(h, 0.3 + k * ds)
    if abs(k) > 1e-12:
        cx, cy = 1.0 - math.sin(0.3) / k, 2.0 + math.cos(0.3) / k  # centre on the left normal
        assert np.allclose(np.hypot(x - cx, y - cy), 1 / abs(k), atol=1e-9)
        # the chord to the end subtends the turned angle
        chord = math.hypot(x[-1] - 1.0, y[-1] - 2.0)
        assert chord == pytest.approx(2 / abs(k) * abs(math.sin(k * 20 / 2)), abs=1e-9)
    else:
        assert np.allclose(x, 1.0 + ds * math.cos(0.3))
    sx, sy, sh = g.point(13.0)
    assert (sx, sy, sh) == pytest.approx((float(x[26]), float(y[26]), float(h[26])))


def test_spiral_from_straight_is_the_standard_fresnel_clothoid():
    # curvature 0 -> c·L: points are a·(C(s/a), S(s/a)) with a = sqrt(pi/c)
    c, L = 0.004, 50.0
    g = Spiral(0.0, 0.0, 0.0, 0.0, L, 0.0, c * L)
    s = np.linspace(0, L, 11)
    x, y, h = g.evaluate(s)
    a = math.sqrt(math.pi / c)
    S, C = fresnel(s / a)
    assert np.allclose(x, a * C, atol=1e-12)
    assert np.allclose(y, a * S, atol=1e-12)
    assert np.allclose(h, c * s * s / 2)


@pytest.mark.parametrize("k0,k1,L,hdg", [
    (0.0, 0.1, 30.0, 0.4),        # entering a curve
    (0.08, -0.05, 45.0, -2.0),    # through an inflection
    (-0.02, -0.2, 12.0, 3.0),     # tightening right turn
    (0.0, -0.004, 300.0, 1.0),    # long and gentle
    (0.1, 0.1000002, 200.0, 0.0), # nearly an arc: the quadrature branch (|z| > 1e3)
    (100.0, -100.0, 0.1, 0.0),    # the awkward sample's violent S-curve
])
def test_spiral_matches_numerical_integration(k0, k1, L, hdg):
    g = Spiral(5.0, 10.0, -4.0, hdg, L, k0, k1)
    c = (k1 - k0) / L
    for ds in (0.0, L / 7, L / 2, L):
        x, y, h = g.point(ds)
        ix, iy = _integrate_heading(lambda t: hdg + k0 * t + c * t * t / 2, ds)
        assert x == pytest.approx(10.0 + ix, abs=1e-9)
        assert y == pytest.approx(-4.0 + iy, abs=1e-9)
        assert h == pytest.approx(hdg + k0 * ds + c * ds * ds / 2, abs=1e-12)


def test_spiral_is_not_a_polyline_guess():
    # a polyline through 1 m samples would be off by cm between samples on this curve
    g = Spiral(0.0, 0.0, 0.0, 0.0, 20.0, 0.0, 0.5)
    x, y, _ = g.point(10.5)
    ix, iy = _integrate_heading(lambda t: 0.5 / 20.0 * t * t / 2, 10.5)
    assert math.hypot(x - ix, y - iy) < 1e-10


def test_poly3_is_evaluated_at_true_arc_length():
    a, b, c, d = 0.5, 0.1, -0.01, 0.0004
    L = 40.0
    g = Poly3(0.0, 2.0, 1.0, 0.25, L, a, b, c, d)
    dv = lambda u: b + 2 * c * u + 3 * d * u * u
    for u in (0.0, 3.0, 17.0, 33.0):
        s = quad(lambda t: math.sqrt(1 + dv(t) ** 2), 0.0, u, epsabs=1e-13)[0]
        x, y, h = g.point(s)
        v = a + b * u + c * u * u + d * u ** 3
        ex = 2.0 + u * math.cos(0.25) - v * math.sin(0.25)
        ey = 1.0 + u * math.sin(0.25) + v * math.cos(0.25)
        assert (x, y) == pytest.approx((ex, ey), abs=1e-9)
        assert h == pytest.approx(0.25 + math.atan(dv(u)), abs=1e-9)


@pytest.mark.parametrize("p_range", ["normalized", "arcLength"])
def test_param_poly3_both_ranges(p_range):
    L = 25.0
    scale = 1.0 if p_range == "normalized" else L
    # the same curve expressed in either parameter range
    u = (0.0, 24.0 / scale, 2.0 / scale ** 2, -1.0 / scale ** 3)
    v = (0.0, 0.0, 3.0 / scale ** 2, -1.5 / scale ** 3)
    g = ParamPoly3(0.0, -5.0, 7.0, 1.2, L, u, v, p_range)
    speed = lambda p: math.hypot(u[1] + 2 * u[2] * p + 3 * u[3] * p * p, v[1] + 2 * v[2] * p + 3 * v[3] * p * p)
    for frac in (0.0, 0.3, 0.8):
        p = frac * scale
        s = quad(speed, 0.0, p, epsabs=1e-13)[0]
        x, y, h = g.point(s)
        uu = u[0] + u[1] * p + u[2] * p * p + u[3] * p ** 3
        vv = v[0] + v[1] * p + v[2] * p * p + v[3] * p ** 3
        ex = -5.0 + uu * math.cos(1.2) - vv * math.sin(1.2)
        ey = 7.0 + uu * math.sin(1.2) + vv * math.cos(1.2)
        assert (x, y) == pytest.approx((ex, ey), abs=1e-9)
    total = quad(speed, 0.0, scale, epsabs=1e-13)[0]
    assert g.curve_length == pytest.approx(total, abs=1e-9)


def test_reference_line_picks_the_geometry_holding_s():
    line = Line(0.0, 0.0, 0.0, 0.0, 10.0)
    arc = Arc(10.0, 10.0, 0.0, 0.0, 5.0, 0.1)
    ref = ReferenceLine([arc, line])  # given out of order on purpose
    assert ref.point(5.0) == pytest.approx((5.0, 0.0, 0.0))
    x, y, h = ref.point(12.0)
    assert (x, y, h) == pytest.approx(arc.point(2.0))
    xs, ys, hs = ref.evaluate(np.array([5.0, 12.0]))
    assert np.allclose([xs[1], ys[1], hs[1]], arc.point(2.0))


def test_cubic_sequence_records_and_slopes():
    seq = CubicSeq([Cubic(10.0, 2.0, 0.1), Cubic(0.0, 1.0, 0.0, 0.01), Cubic(10.0, 3.0)])
    # before the first record the first one applies; at 10 the later duplicate wins
    assert seq.value(-1.0) == pytest.approx(1.0 + 0.01)
    assert seq.value(5.0) == pytest.approx(1.0 + 0.25)
    assert seq.slope(5.0) == pytest.approx(0.1)
    assert seq.value(12.0) == pytest.approx(3.0)
    assert np.allclose(seq.values(np.array([5.0, 12.0])), [1.25, 3.0])
    assert not CubicSeq() and CubicSeq().value(3.0) == 0.0
