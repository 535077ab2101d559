"""Fieller's confidence set for a ratio, against its textbook formula and its definition."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadlift.core.fieller import fieller_interval, known_numerator_interval


def _textbook(a: float, b: float, vaa: float, vbb: float, vab: float, q: float) -> tuple[float, float]:
    """Fieller (1954) as usually printed (e.g. Franz 2007, eq. 5), valid when g < 1."""
    theta = a / b
    g = q**2 * vbb / b**2
    half = q / abs(b) * math.sqrt(vaa - 2 * theta * vab + theta**2 * vbb - g * (vaa - vab**2 / vbb))
    centre = theta - g * vab / vbb
    return (centre - half) / (1 - g), (centre + half) / (1 - g)


def _inside(theta: float, a: float, b: float, vaa: float, vbb: float, vab: float, q: float) -> float:
    """The definition: q²·var(a − θb) − (a − θb)², non-negative inside the set."""
    return q**2 * (vaa - 2 * theta * vab + theta**2 * vbb) - (a - theta * b) ** 2


@pytest.mark.parametrize(
    ("a", "b", "vaa", "vbb", "vab", "q"),
    [
        (10.0, 2.0, 1.0, 0.25, 0.0, 1.959963984540054),
        (0.012, 0.031, 2.1e-5, 1.9e-5, 8.0e-6, 1.959963984540054),
        (-3.0, 4.0, 2.0, 1.5, -0.7, 2.5758293035489),
        (5.0, -6.0, 1.0, 2.0, 0.9, 1.6448536269514722),
    ],
)
def test_bounded_interval_matches_the_textbook_formula(
    a: float, b: float, vaa: float, vbb: float, vab: float, q: float
) -> None:
    result = fieller_interval(a, b, vaa, vbb, vab, q)
    lower, upper = _textbook(a, b, vaa, vbb, vab, q)
    assert result.kind == "bounded"
    assert result.estimate == pytest.approx(a / b)
    assert result.lower == pytest.approx(lower, rel=1e-10)
    assert result.upper == pytest.approx(upper, rel=1e-10)
    assert result.lower <= a / b <= result.upper


def test_a_denominator_interval_that_includes_zero_gives_no_finite_interval() -> None:
    q = 1.959963984540054
    # b = 0.5 with standard error 0.5: its interval b ± q·0.5 includes zero
    rays = fieller_interval(10.0, 0.5, 1.0, 0.25, 0.0, q)
    assert rays.kind == "complement"
    assert math.isnan(rays.lower)
    assert math.isnan(rays.upper)
    # the excluded ends solve the defining equation; beyond them the set goes on forever
    for end in (rays.excluded_lower, rays.excluded_upper):
        assert _inside(end, 10.0, 0.5, 1.0, 0.25, 0.0, q) == pytest.approx(0.0, abs=1e-9)
    assert _inside(rays.excluded_upper + 1e6, 10.0, 0.5, 1.0, 0.25, 0.0, q) > 0
    assert _inside(rays.excluded_lower - 1e6, 10.0, 0.5, 1.0, 0.25, 0.0, q) > 0
    assert _inside((rays.excluded_lower + rays.excluded_upper) / 2 - 5, 10.0, 0.5, 1.0, 0.25, 0.0, q) < 0
    # and when the numerator is not significant either, every ratio is in the set
    everything = fieller_interval(0.5, 0.5, 1.0, 0.25, 0.0, q)
    assert everything.kind == "unbounded"
    assert math.isnan(everything.lower)
    assert math.isnan(everything.upper)


def test_a_known_numerator_maps_the_denominator_interval() -> None:
    r = fieller_interval(250.0, 0.01, 0.0, 0.003**2, 0.0, 2.0)
    assert r.kind == "bounded"
    assert (r.lower, r.upper) == pytest.approx((250.0 / 0.016, 250.0 / 0.004), rel=1e-12)
    straddling = known_numerator_interval(250.0, -0.002, 0.022, 2.5)
    assert straddling.kind == "complement"
    assert (straddling.excluded_lower, straddling.excluded_upper) == pytest.approx(
        (250.0 / -0.002, 250.0 / 0.022)
    )


@given(
    a=st.floats(-100, 100), b=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-3),
    sa=st.floats(0.01, 50), sb=st.floats(0.01, 50), rho=st.floats(-0.95, 0.95),
)
def test_bounds_solve_the_defining_quadratic(
    a: float, b: float, sa: float, sb: float, rho: float
) -> None:
    q = 1.959963984540054
    vaa, vbb, vab = sa**2, sb**2, rho * sa * sb
    r = fieller_interval(a, b, vaa, vbb, vab, q)
    scale = q**2 * (vaa + vbb) + a**2 + b**2
    if r.kind == "bounded":
        assert abs(b) > q * sb * (1 - 1e-12)
        assert r.lower <= a / b <= r.upper
        for end in (r.lower, r.upper):
            assert abs(_inside(end, a, b, vaa, vbb, vab, q)) <= 1e-7 * scale * (1 + end**2)
    else:
        assert abs(b) <= q * sb * (1 + 1e-12)
