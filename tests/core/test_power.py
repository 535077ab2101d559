"""Tests for threadlift.core.power against published R outputs, statsmodels and hand formulas."""

from __future__ import annotations

import math

import pytest
import scipy.stats
from hypothesis import example, given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from threadlift.core.power import incremental_cost, plan
from threadlift.errors import InputError


def test_power_prop_test_published_example() -> None:
    # R documentation, ?power.prop.test: power.prop.test(p1 = .50, p2 = .75, power = .90)
    # prints n = 76.7069 (uniroot tolerance ~1e-4 on n).
    result = plan("proportion", baseline=0.5, effect_size=0.25, power=0.9)
    assert result.method == "prop_test"
    assert result.control_units_exact == pytest.approx(76.7069, abs=1e-3)
    assert result.treatment_units_exact == result.control_units_exact
    assert result.control_units == 77
    assert result.total_units == 154


def test_cohen_h_value_given_in_the_brief() -> None:
    # pwr.2p.test(h = ES.h(0.75, 0.5), power = 0.9): n = 76.65294 per group (the value
    # quoted in the issue; it is the arcsine method, not power.prop.test's 76.7069).
    result = plan("proportion", baseline=0.5, effect_size=0.25, power=0.9, method="cohen_h")
    assert result.control_units_exact == pytest.approx(76.65294, abs=1e-4)
    assert result.standardized_effect == pytest.approx(
        2 * math.asin(math.sqrt(0.75)) - 2 * math.asin(math.sqrt(0.5)), rel=1e-12
    )


def test_power_t_test_published_examples() -> None:
    # R documentation, ?power.t.test: power.t.test(n = 20, delta = 1) gives
    # power = 0.8689528; power.t.test(power = .90, delta = 1) gives n = 22.02110.
    assert plan("mean", baseline=10, sd=1, effect_size=1, control_units=20).power == (
        pytest.approx(0.8689528, abs=1e-6)
    )
    solved = plan("mean", baseline=10, sd=1, effect_size=1, power=0.9)
    assert solved.control_units_exact == pytest.approx(22.02110, abs=1e-3)


@pytest.mark.parametrize(
    ("p_c", "effect", "n_c", "ratio", "alternative"),
    [
        (0.1, 0.02, 2000, 9, "two-sided"),
        (0.05, 0.01, 1500, 19, "two-sided"),
        (0.3, -0.03, 800, 4, "less"),
        (0.2, 0.015, 5000, 9, "greater"),
    ],
)
def test_prop_test_power_matches_hand_formula_with_unequal_allocation(
    p_c: float, effect: float, n_c: int, ratio: float, alternative: str
) -> None:
    result = plan(
        "proportion", baseline=p_c, effect_size=effect, control_units=n_c, ratio=ratio,
        alternative=alternative,  # type: ignore[arg-type]
    )
    n_t = n_c * ratio
    p_t = p_c + effect
    pooled = (p_c * n_c + p_t * n_t) / (n_c + n_t)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    alt_sd = math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    tail = alpha = 0.05
    if alternative == "two-sided":
        tail = alpha / 2
    critical = scipy.stats.norm.isf(tail) * null_sd
    expected = scipy.stats.norm.sf((critical - abs(effect)) / alt_sd)
    if alternative == "two-sided":
        expected += scipy.stats.norm.cdf((-critical - abs(effect)) / alt_sd)
    assert result.power == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("n_c", "ratio", "h"), [(80, 245 / 80, 0.3), (500, 9, 0.1), (60, 1.5, 0.6)])
def test_cohen_h_power_matches_normal_formula(n_c: int, ratio: float, h: float) -> None:
    # pwr.2p2n.test: power = pnorm(h*sqrt(n1 n2/(n1+n2)) - z) + pnorm(-h*sqrt(...) - z).
    p_c = 0.3
    p_t = math.sin(math.asin(math.sqrt(p_c)) + h / 2) ** 2
    result = plan("proportion", baseline=p_c, effect_size=p_t - p_c, control_units=n_c,
                  ratio=ratio, method="cohen_h")
    n_t = n_c * ratio
    shift = h * math.sqrt(n_c * n_t / (n_c + n_t))
    z = scipy.stats.norm.isf(0.025)
    expected = scipy.stats.norm.cdf(shift - z) + scipy.stats.norm.cdf(-shift - z)
    assert result.power == pytest.approx(expected, rel=1e-9)
    assert result.power == pytest.approx(
        NormalIndPower().power(proportion_effectsize(p_t, p_c), n_c, 0.05, ratio=ratio),
        rel=1e-12,
    )


@pytest.mark.parametrize(("n_c", "ratio", "d"), [(90, 60 / 90, 0.6), (200, 9, 0.25)])
def test_t_test_power_matches_noncentral_t(n_c: int, ratio: float, d: float) -> None:
    result = plan("mean", baseline=5, sd=2, effect_size=2 * d, control_units=n_c, ratio=ratio,
                  alternative="greater")
    n_t = n_c * ratio
    df = n_c + n_t - 2
    noncentrality = d * math.sqrt(n_c * n_t / (n_c + n_t))
    expected = scipy.stats.nct.sf(scipy.stats.t.isf(0.05, df), df, noncentrality)
    assert result.power == pytest.approx(expected, rel=1e-9)
    assert result.standardized_effect == pytest.approx(d)


@settings(max_examples=40, deadline=None)
@given(
    baseline=st.floats(min_value=0.02, max_value=0.6),
    rel=st.floats(min_value=0.05, max_value=0.5),
    ratio=st.sampled_from([1.0, 4.0, 9.0, 19.0]),
    method=st.sampled_from(["prop_test", "cohen_h"]),
)
@example(baseline=0.6, rel=0.5, ratio=19.0, method="prop_test")
def test_solving_round_trips(baseline: float, rel: float, ratio: float, method: str) -> None:
    sized = plan("proportion", baseline=baseline, rel_effect_size=rel, power=0.8,
                 ratio=ratio, method=method)  # type: ignore[arg-type]
    # The sample size ignores the opposite tail (R's strict = FALSE); the reported power
    # counts both tails, so it exceeds the target slightly at small n: by 3.0e-4 at the
    # corner of this space (baseline 0.6, +50 %, ratio 19: 12.4 control units).
    assert 0.8 - 1e-6 <= sized.power <= 0.8 + 5e-4
    mde = plan("proportion", baseline=baseline, control_units=sized.control_units_exact,
               power=0.8, ratio=ratio, method=method)  # type: ignore[arg-type]
    assert mde.effect_size == pytest.approx(sized.effect_size, rel=1e-3)
    bigger = plan("proportion", baseline=baseline, rel_effect_size=rel,
                  control_units=sized.control_units_exact * 2, ratio=ratio,
                  method=method)  # type: ignore[arg-type]
    assert bigger.power > sized.power


def test_mean_mde_matches_statsmodels() -> None:
    result = plan("mean", baseline=12.0, sd=30.0, control_units=1000, ratio=9, power=0.8)
    d = TTestIndPower().solve_power(None, nobs1=1000, alpha=0.05, power=0.8, ratio=9)
    assert result.effect_size == pytest.approx(d * 30.0, rel=1e-9)
    assert result.rel_effect_size == pytest.approx(d * 30.0 / 12.0, rel=1e-9)


def test_cost_fields_and_incremental_cost() -> None:
    result = plan("proportion", baseline=0.04, effect_size=0.01, control_units=5000, ratio=9,
                  cost_per_treated_unit=0.06)
    assert result.experiment_cost == pytest.approx(45000 * 0.06)
    assert result.forgone_actions == pytest.approx(50.0)
    assert result.cost_per_incremental_action == pytest.approx(6.0)

    whatsapp = incremental_cost(0.06, 0.010, 0.006, 0.014)
    sms = incremental_cost(0.01, 0.001, -0.002, 0.004)
    assert whatsapp.cost_per_incremental_action == pytest.approx(6.0)
    assert (whatsapp.ci_lower, whatsapp.ci_upper) == pytest.approx((0.06 / 0.014, 10.0))
    assert sms.cost_per_incremental_action == pytest.approx(10.0)
    assert sms.ci_upper == math.inf
    assert incremental_cost(0.01, -0.001).cost_per_incremental_action == math.inf
    with pytest.raises(InputError):
        incremental_cost(-1.0, 0.01)


def test_invalid_plans_raise_input_error() -> None:
    with pytest.raises(InputError, match="exactly one"):
        plan("proportion", baseline=0.1, effect_size=0.01, control_units=100, power=0.8)
    with pytest.raises(InputError, match="exactly one"):
        plan("proportion", baseline=0.1, power=0.8)
    with pytest.raises(InputError, match="standard deviation"):
        plan("mean", baseline=1.0, effect_size=0.1, power=0.8)
    with pytest.raises(InputError, match="does not apply"):
        plan("mean", baseline=1.0, sd=1.0, effect_size=0.1, power=0.8, method="cohen_h")
    with pytest.raises(InputError, match="share"):
        plan("proportion", baseline=0.95, effect_size=0.1, power=0.8)
    with pytest.raises(InputError, match="cannot be reached"):
        plan("proportion", baseline=0.5, control_units=3, power=0.99)
