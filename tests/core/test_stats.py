"""Tests for threadlift.core.stats, checked against tea-tasting, scipy and statsmodels."""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import tea_tasting as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
)

from threadlift.core.moments import SufficientStats
from threadlift.core.stats import (
    ERROR_CODES,
    adjust_pvalues,
    balance,
    compare,
    complier_effect,
    effective_events,
    heterogeneity,
    noninferiority,
    srm_test,
)
from threadlift.errors import InputError

REL = 1e-9
RESULT_FIELDS = (
    "control",
    "treatment",
    "effect_size",
    "effect_size_ci_lower",
    "effect_size_ci_upper",
    "rel_effect_size",
    "rel_effect_size_ci_lower",
    "rel_effect_size_ci_upper",
    "pvalue",
)


def sufficient_stats(
    main: np.ndarray,
    denominator: np.ndarray | None = None,
    covariate: np.ndarray | None = None,
    covariate_denominator: np.ndarray | None = None,
) -> SufficientStats:
    """Per-arm sufficient statistics computed independently with math.fsum."""
    n = len(main)
    ones = np.ones(n)
    columns = {
        "main": main.astype(float),
        "denominator": ones if denominator is None else denominator.astype(float),
        "covariate": np.zeros(n) if covariate is None else covariate.astype(float),
        "covariate_denominator": (
            ones if covariate_denominator is None else covariate_denominator.astype(float)
        ),
    }
    names = list(columns)
    values: dict[str, float] = {}
    for i, left in enumerate(names):
        values[f"{left}_sum"] = math.fsum(columns[left])
        values[f"{left}_sum_squares"] = math.fsum(columns[left] * columns[left])
        for right in names[i + 1 :]:
            values[f"{left}_{right}_sum_product"] = math.fsum(columns[left] * columns[right])
    return SufficientStats(units=n, **values)


def make_units(seed: int, n: int, treatment_share: float, uplift: float = 0.05) -> pd.DataFrame:
    """Per-unit data: conversion, revenue, orders and their pre-period values."""
    rng = np.random.default_rng(seed)
    variant = (rng.random(n) < treatment_share).astype(int)
    pre_orders = rng.poisson(1.2, n)
    pre_revenue = pre_orders * rng.lognormal(2.0, 0.6, n)
    propensity = 0.3 + 0.1 * (pre_orders > 0) + uplift * variant
    orders = rng.poisson(propensity * 2 + 0.3 * pre_orders)
    revenue = orders * rng.lognormal(2.0 + uplift * variant, 0.6, n) + 0.2 * pre_revenue
    converted = (orders > 0).astype(int)
    pre_converted = (pre_orders > 0).astype(int)
    return pd.DataFrame(
        {
            "variant": variant,
            "converted": converted,
            "pre_converted": pre_converted,
            "revenue": revenue,
            "pre_revenue": pre_revenue,
            # +1 keeps every per-unit denominator positive, like sessions per user.
            "orders": orders + 1,
            "pre_orders": pre_orders + 1,
        }
    )


@dataclass(frozen=True)
class Case:
    """One tea-tasting metric and the threadlift call that should match it."""

    name: str
    metric: object
    metric_type: str
    main: str
    denominator: str | None = None
    covariate: str | None = None
    covariate_denominator: str | None = None
    cuped: bool = False


def cases(alternative: str, confidence_level: float) -> list[Case]:
    options = {"alternative": alternative, "confidence_level": confidence_level}
    return [
        Case("proportion", tt.Mean("converted", **options), "proportion", "converted"),
        Case(
            "proportion_cuped",
            tt.Mean("converted", "pre_converted", **options),
            "proportion",
            "converted",
            covariate="pre_converted",
            cuped=True,
        ),
        Case("mean", tt.Mean("revenue", **options), "mean", "revenue"),
        Case(
            "mean_cuped",
            tt.Mean("revenue", "pre_revenue", **options),
            "mean",
            "revenue",
            covariate="pre_revenue",
            cuped=True,
        ),
        Case(
            "ratio",
            tt.RatioOfMeans("revenue", "orders", **options),
            "ratio",
            "revenue",
            denominator="orders",
        ),
        Case(
            "ratio_cuped",
            tt.RatioOfMeans("revenue", "orders", "pre_revenue", "pre_orders", **options),
            "ratio",
            "revenue",
            denominator="orders",
            covariate="pre_revenue",
            covariate_denominator="pre_orders",
            cuped=True,
        ),
    ]


def arm_stats(data: pd.DataFrame, case: Case, arm: int) -> SufficientStats:
    rows = data[data["variant"] == arm]

    def column(name: str | None) -> np.ndarray | None:
        return None if name is None else rows[name].to_numpy()

    return sufficient_stats(
        rows[case.main].to_numpy(),
        column(case.denominator),
        column(case.covariate),
        column(case.covariate_denominator),
    )


def assert_close(actual: float, expected: float, rel: float = REL) -> None:
    if math.isinf(expected):
        assert actual == expected
    else:
        assert actual == pytest.approx(expected, rel=rel, abs=1e-15)


DATASETS = [
    (1, 4000, 0.5),
    (2, 6000, 0.9),
    (3, 8000, 0.95),
    (4, 3000, 0.1),
    (5, 20000, 0.95),
]


@pytest.mark.parametrize(("seed", "n", "treatment_share"), DATASETS)
@pytest.mark.parametrize(
    ("alternative", "alpha"), [("two-sided", 0.05), ("greater", 0.1), ("less", 0.01)]
)
def test_compare_matches_tea_tasting(
    seed: int, n: int, treatment_share: float, alternative: str, alpha: float
) -> None:
    data = make_units(seed, n, treatment_share)
    for case in cases(alternative, 1 - alpha):
        expected = case.metric.analyze(data, control=0, treatment=1, variant="variant")  # type: ignore[attr-defined]
        actual = compare(
            case.metric_type,  # type: ignore[arg-type]
            arm_stats(data, case, 0),
            arm_stats(data, case, 1),
            alpha=alpha,
            alternative=alternative,  # type: ignore[arg-type]
            cuped=case.cuped,
        )
        assert actual.error is None, case.name
        for field in RESULT_FIELDS:
            assert_close(getattr(actual, field), getattr(expected, field))
        assert_close(actual.statistic, expected.statistic)
        expected_method = ("delta_ratio" if case.metric_type == "ratio" else "welch_t") + (
            "+cuped" if case.cuped else ""
        )
        assert actual.method == expected_method


@pytest.mark.parametrize(("seed", "n", "treatment_share"), DATASETS)
def test_welch_matches_scipy_on_units(seed: int, n: int, treatment_share: float) -> None:
    data = make_units(seed, n, treatment_share)
    control = data.loc[data["variant"] == 0, "revenue"].to_numpy()
    treatment = data.loc[data["variant"] == 1, "revenue"].to_numpy()
    reference = scipy.stats.ttest_ind(treatment, control, equal_var=False)
    interval = reference.confidence_interval(0.95)
    actual = compare("mean", sufficient_stats(control), sufficient_stats(treatment))
    assert_close(actual.pvalue, float(reference.pvalue), rel=1e-8)
    assert_close(actual.statistic, float(reference.statistic), rel=1e-8)
    assert_close(actual.df, float(reference.df), rel=1e-8)
    assert_close(actual.effect_size_ci_lower, float(interval.low), rel=1e-8)
    assert_close(actual.effect_size_ci_upper, float(interval.high), rel=1e-8)


def binary_stats(successes: int, units: int) -> SufficientStats:
    return SufficientStats(units=units, main_sum=successes, main_sum_squares=successes)


PROPORTION_TABLES = [
    (60, 500, 630, 4500),
    (15, 50, 25, 50),
    (120, 1000, 9_400, 90_000),
    (30, 1000, 20, 1000),
    (3, 40, 9, 41),
]


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), PROPORTION_TABLES)
def test_prop_test_without_correction_matches_statsmodels(
    x_c: int, n_c: int, x_t: int, n_t: int
) -> None:
    result = compare(
        "proportion",
        binary_stats(x_c, n_c),
        binary_stats(x_t, n_t),
        proportion_test="prop_test",
        correction=False,
    )
    assert result.method == "prop_test_pooled_z"
    statistic, pvalue = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert_close(result.pvalue, float(pvalue))
    assert_close(result.statistic, float(statistic))
    for alternative, sm_alternative in (("greater", "larger"), ("less", "smaller")):
        one_sided = compare(
            "proportion", binary_stats(x_c, n_c), binary_stats(x_t, n_t),
            proportion_test="prop_test", correction=False, alternative=alternative,  # type: ignore[arg-type]
        )
        assert_close(
            one_sided.pvalue,
            float(proportions_ztest([x_t, x_c], [n_t, n_c], alternative=sm_alternative)[1]),
        )
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert_close(result.effect_size_ci_lower, float(low))
    assert_close(result.effect_size_ci_upper, float(high))
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="log", compare="ratio")
    assert_close(result.rel_effect_size_ci_lower, float(low) - 1)
    assert_close(result.rel_effect_size_ci_upper, float(high) - 1)


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), PROPORTION_TABLES)
def test_prop_test_with_yates_matches_r_formula(x_c: int, n_c: int, x_t: int, n_t: int) -> None:
    result = compare(
        "proportion", binary_stats(x_c, n_c), binary_stats(x_t, n_t), proportion_test="prop_test"
    )
    assert result.method == "prop_test_pooled_z_cc"
    # R's prop.test two-sided p-value is the Yates-corrected Pearson chi-square.
    table = [[x_t, n_t - x_t], [x_c, n_c - x_c]]
    assert_close(result.pvalue, float(scipy.stats.chi2_contingency(table, correction=True).pvalue))
    # tea-tasting's two-sided corrected pooled z-test gives the same p-value.
    tea = tt.Proportion("converted", method="norm", correction=True, equal_var=True)
    aggregates = {
        0: tt.aggr.Aggregates(count_=n_c, mean_={"converted": x_c / n_c}),
        1: tt.aggr.Aggregates(count_=n_t, mean_={"converted": x_t / n_t}),
    }
    assert_close(result.pvalue, tea.analyze(aggregates, 0, 1).pvalue)
    # R's interval (prop.test.R): unpooled Wald widened by YATES * sum(1/n), clipped.
    p_c, p_t = x_c / n_c, x_t / n_t
    delta = p_t - p_c
    yates = min(0.5, abs(delta) / (1 / n_c + 1 / n_t))
    width = scipy.stats.norm.ppf(0.975) * math.sqrt(
        p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t
    ) + yates * (1 / n_c + 1 / n_t)
    assert_close(result.effect_size_ci_lower, max(delta - width, -1))
    assert_close(result.effect_size_ci_upper, min(delta + width, 1))


def test_prop_test_rejects_options_that_do_not_apply() -> None:
    arm = binary_stats(10, 100)
    with pytest.raises(InputError, match="prop_test"):
        compare("mean", arm, arm, proportion_test="prop_test")
    with pytest.raises(InputError, match="prop_test"):
        compare("proportion", arm, arm, proportion_test="prop_test", cuped=True)


@pytest.mark.parametrize(("seed", "n", "treatment_share"), [(7, 5000, 0.9), (8, 3000, 0.95)])
def test_srm_matches_tea_tasting_and_scipy(seed: int, n: int, treatment_share: float) -> None:
    data = make_units(seed, n, treatment_share)
    counts = data["variant"].value_counts().sort_index().tolist()
    weights = [1 - treatment_share, treatment_share]
    result = srm_test(counts, [100 * w for w in weights])
    ratio = treatment_share / (1 - treatment_share)
    tea = tt.SampleRatio(ratio, method="norm", correction=False).analyze(
        data, control=0, treatment=1, variant="variant"
    )
    assert_close(result.pvalue, tea.pvalue)
    reference = scipy.stats.chisquare(counts, [n * w for w in weights])
    assert_close(result.statistic, float(reference.statistic))
    assert result.passed == (result.pvalue >= 0.001)


def test_srm_flags_a_mismatch_and_handles_degenerate_input() -> None:
    mismatch = srm_test([1200, 8800], [10, 90])
    assert not mismatch.passed
    assert mismatch.expected == pytest.approx((1000.0, 9000.0))
    three = srm_test([100, 205, 195], [1, 2, 2])
    assert three.passed
    assert three.statistic == pytest.approx(
        (0 / 100) + (5**2 / 200) + (5**2 / 200), rel=1e-12
    )
    assert srm_test([0, 0], [1, 1]).error == "no_units"
    assert srm_test([5], [1]).error == "single_arm"
    with pytest.raises(InputError):
        srm_test([1, 2], [1])
    with pytest.raises(InputError):
        srm_test([1, 2], [1, 0])


def test_adjust_pvalues_matches_statsmodels_and_keeps_nan() -> None:
    raw = [0.01, math.nan, 0.04, 0.03, 0.2, math.nan]
    finite = [p for p in raw if not math.isnan(p)]
    for method in ("holm", "fdr_bh"):
        adjusted = adjust_pvalues(raw, method)  # type: ignore[arg-type]
        expected = iter(multipletests(finite, method=method)[1])
        for raw_value, value in zip(raw, adjusted, strict=True):
            if math.isnan(raw_value):
                assert math.isnan(value)
            else:
                assert value == pytest.approx(next(expected), rel=1e-12)
    assert adjust_pvalues([]) == []
    assert all(math.isnan(p) for p in adjust_pvalues([math.nan]))
    with pytest.raises(InputError):
        adjust_pvalues([0.1], "bonferroni")  # type: ignore[arg-type]


def test_degenerate_cases_return_named_codes() -> None:
    empty = SufficientStats(units=0)
    arm = binary_stats(10, 100)
    assert compare("proportion", empty, arm).error == "empty_arm"
    assert compare("mean", arm, empty).error == "empty_arm"
    one = compare("mean", SufficientStats(units=1, main_sum=3, main_sum_squares=9), arm)
    assert one.error == "too_few_units"
    assert one.control == 3
    assert math.isnan(one.pvalue)
    constant = SufficientStats(units=10, main_sum=20, main_sum_squares=40)
    flat = compare("mean", constant, constant)
    assert flat.error == "zero_variance"
    assert flat.effect_size == 0
    assert math.isnan(flat.effect_size_ci_lower)
    zero_denominator = SufficientStats(units=5, main_sum=0, denominator_sum=0)
    assert compare("ratio", zero_denominator, arm).error == "zero_denominator"
    assert compare("proportion", SufficientStats(units=5, main_sum=2, main_sum_squares=4), arm).error == "not_binary"
    for code in ("empty_arm", "too_few_units", "zero_variance", "zero_denominator", "not_binary"):
        assert code in ERROR_CODES


def test_zero_control_mean_keeps_the_absolute_effect() -> None:
    # A holdout that gets no messages cannot block the sender: control rate is 0.
    control = binary_stats(0, 1000)
    treatment = binary_stats(12, 9000)
    result = compare("proportion", control, treatment)
    assert result.error == "zero_control_mean"
    assert result.effect_size == pytest.approx(12 / 9000)
    reference = scipy.stats.ttest_ind(
        np.r_[np.ones(12), np.zeros(9000 - 12)], np.zeros(1000), equal_var=False
    )
    assert result.pvalue == pytest.approx(float(reference.pvalue), rel=1e-9)
    assert math.isnan(result.rel_effect_size)
    assert math.isnan(result.rel_effect_size_ci_lower)


def test_invalid_arguments_raise_input_error() -> None:
    arm = binary_stats(10, 100)
    with pytest.raises(InputError):
        compare("median", arm, arm)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        compare("mean", arm, arm, alpha=1.5)
    with pytest.raises(InputError):
        compare("mean", arm, arm, alternative="bigger")  # type: ignore[arg-type]


def test_noninferiority_matches_shifted_welch_test() -> None:
    rng = np.random.default_rng(11)
    control = (rng.random(2000) < 0.010).astype(float)
    treatment = (rng.random(18000) < 0.012).astype(float)
    threshold = 0.004
    result = noninferiority(
        "proportion", sufficient_stats(control), sufficient_stats(treatment),
        max_increase=threshold,
    )
    reference = scipy.stats.ttest_ind(
        treatment - threshold, control, equal_var=False, alternative="less"
    )
    assert result.pvalue == pytest.approx(float(reference.pvalue), rel=1e-8)
    upper = scipy.stats.ttest_ind(treatment, control, equal_var=False, alternative="less")
    assert result.ci_upper == pytest.approx(
        float(upper.confidence_interval(0.95).high), rel=1e-8
    )
    assert result.breached == (result.ci_upper >= threshold)
    assert result.breached == (result.pvalue >= 0.05)

    tight = noninferiority(
        "proportion", sufficient_stats(control), sufficient_stats(treatment),
        max_increase=0.0001,
    )
    assert tight.breached


def test_noninferiority_relative_uses_log_ratio() -> None:
    rng = np.random.default_rng(12)
    control = rng.lognormal(1, 0.5, 3000)
    treatment = rng.lognormal(1, 0.5, 3000) * 1.02
    result = noninferiority(
        "mean", sufficient_stats(control), sufficient_stats(treatment), max_rel_increase=0.10
    )
    assert result.relative
    assert not result.breached
    # The one-sided upper bound equals the upper bound of tea-tasting's "less" interval.
    frame = pd.DataFrame(
        {"variant": np.r_[np.zeros(3000), np.ones(3000)], "value": np.r_[control, treatment]}
    )
    tea = tt.Mean("value", alternative="less", confidence_level=0.95).analyze(
        frame, control=0, treatment=1, variant="variant"
    )
    assert result.ci_upper == pytest.approx(tea.rel_effect_size_ci_upper, rel=1e-9)
    with pytest.raises(InputError):
        noninferiority("mean", sufficient_stats(control), sufficient_stats(treatment))


def test_noninferiority_degenerate_zero_variance() -> None:
    none = binary_stats(0, 1000)
    result = noninferiority("proportion", none, binary_stats(0, 9000), max_increase=0.002)
    assert result.error == "zero_variance"
    assert not result.breached
    empty = noninferiority("proportion", SufficientStats(units=0), none, max_increase=0.002)
    assert empty.error == "empty_arm"
    assert empty.breached
    assert math.isnan(empty.pvalue)
    # A holdout that gets no messages has a zero block rate: relative tests are
    # deterministic (no rise is fine, any rise is an infinite relative increase).
    still_zero = noninferiority("proportion", none, binary_stats(0, 9000), max_rel_increase=0.5)
    assert still_zero.error == "zero_control_mean"
    assert not still_zero.breached
    risen = noninferiority("proportion", none, binary_stats(3, 9000), max_rel_increase=0.5)
    assert risen.breached
    assert risen.effect_size == math.inf


def test_balance_matches_scipy() -> None:
    rng = np.random.default_rng(13)
    control = rng.gamma(2.0, 3.0, 800)
    treatment = rng.gamma(2.0, 3.0, 7200)
    c = sufficient_stats(np.zeros(800), covariate=control)
    t = sufficient_stats(np.zeros(7200), covariate=treatment)
    result = balance(c, t)
    reference = scipy.stats.ttest_ind(treatment, control, equal_var=False)
    assert result.pvalue == pytest.approx(float(reference.pvalue), rel=1e-8)
    assert result.statistic == pytest.approx(float(reference.statistic), rel=1e-8)
    smd = (treatment.mean() - control.mean()) / math.sqrt(
        (control.var(ddof=1) + treatment.var(ddof=1)) / 2
    )
    assert result.standardized_mean_difference == pytest.approx(smd, rel=1e-8)
    assert balance(SufficientStats(units=0), t).error == "empty_arm"


def test_complier_effect_recovers_effect_and_matches_influence_functions() -> None:
    rng = np.random.default_rng(14)
    n_c, n_t = 20_000, 180_000
    base_c = rng.random(n_c) < 0.05
    delivered = rng.random(n_t) < 0.6
    true_effect = 0.03
    outcome_t = (rng.random(n_t) < 0.05 + true_effect * delivered).astype(float)
    outcome_c = base_c.astype(float)
    control = sufficient_stats(outcome_c, denominator=np.zeros(n_c))
    treatment = sufficient_stats(outcome_t, denominator=delivered.astype(float))
    result = complier_effect(control, treatment)
    assert result.method == "complier_iv"
    take_up = delivered.mean()
    effect = (outcome_t.mean() - outcome_c.mean()) / take_up
    assert result.effect_size == pytest.approx(effect, rel=1e-12)
    residual_t = outcome_t - effect * delivered
    residual_c = outcome_c
    se = math.sqrt(residual_t.var(ddof=1) / n_t + residual_c.var(ddof=1) / n_c) / take_up
    assert result.se == pytest.approx(se, rel=1e-9)
    assert result.effect_size_ci_lower < true_effect < result.effect_size_ci_upper
    # Compliers' untreated mean: 5 % by construction.
    assert result.control == pytest.approx(0.05, abs=0.01)
    itt = compare("proportion", binary_stats(int(outcome_c.sum()), n_c),
                  binary_stats(int(outcome_t.sum()), n_t))
    assert result.effect_size == pytest.approx(itt.effect_size / take_up, rel=1e-12)
    assert complier_effect(control, control).error == "zero_take_up"


def test_sequential_interval_is_wider_and_pvalue_consistent() -> None:
    data = make_units(21, 10_000, 0.9, uplift=0.2)
    case = cases("two-sided", 0.95)[2]
    control, treatment = arm_stats(data, case, 0), arm_stats(data, case, 1)
    fixed = compare("mean", control, treatment)
    always_valid = compare("mean", control, treatment, sequential=True)
    assert always_valid.method == "confidence_sequence"
    assert always_valid.effect_size == fixed.effect_size
    assert always_valid.effect_size_ci_lower < fixed.effect_size_ci_lower
    assert always_valid.effect_size_ci_upper > fixed.effect_size_ci_upper
    assert always_valid.rel_effect_size_ci_lower < fixed.rel_effect_size_ci_lower
    assert always_valid.pvalue >= fixed.pvalue
    excludes_zero = always_valid.effect_size_ci_lower > 0 or always_valid.effect_size_ci_upper < 0
    assert excludes_zero == (always_valid.pvalue <= 0.05)
    cuped = compare("mean", control, treatment, sequential=True, cuped=True)
    assert cuped.method == "confidence_sequence+cuped"


def test_sequential_burn_in_uses_effective_events() -> None:
    assert effective_events("proportion", binary_stats(12, 100)) == 12
    assert effective_events("proportion", binary_stats(95, 100)) == 5
    values = np.array([0, 0, 10, 10, 40.0])
    assert effective_events("mean", sufficient_stats(values)) == pytest.approx(
        60**2 / 1800, rel=1e-12
    )
    few = compare("proportion", binary_stats(4, 1000), binary_stats(40, 9000), sequential=True)
    assert few.error == "too_few_events"
    assert math.isnan(few.effect_size_ci_lower)
    assert few.effect_size == pytest.approx(40 / 9000 - 4 / 1000)
    enough = compare("proportion", binary_stats(4, 1000), binary_stats(40, 9000),
                     sequential=True, sequential_min_events=3)
    assert enough.error is None
    fixed = compare("proportion", binary_stats(4, 1000), binary_stats(40, 9000))
    assert fixed.error is None


arm_sizes = st.integers(min_value=5, max_value=5000)


@st.composite
def binary_arms(draw: st.DrawFn) -> tuple[SufficientStats, SufficientStats]:
    n_c, n_t = draw(arm_sizes), draw(arm_sizes)
    x_c = draw(st.integers(min_value=1, max_value=n_c - 1))
    x_t = draw(st.integers(min_value=1, max_value=n_t - 1))
    return binary_stats(x_c, n_c), binary_stats(x_t, n_t)


@settings(max_examples=150, deadline=None)
@given(
    arms=binary_arms(),
    sequential=st.booleans(),
    test=st.sampled_from(["welch", "prop_test"]),
)
def test_intervals_contain_estimates_and_widen_as_alpha_falls(
    arms: tuple[SufficientStats, SufficientStats], sequential: bool, test: str
) -> None:
    if sequential and test == "prop_test":
        return
    control, treatment = arms
    results = [
        compare("proportion", control, treatment, alpha=alpha, sequential=sequential,
                proportion_test=test, sequential_min_events=0)  # type: ignore[arg-type]
        for alpha in (0.2, 0.05, 0.01)
    ]
    for result in results:
        assert result.error is None
        assert result.effect_size_ci_lower <= result.effect_size <= result.effect_size_ci_upper
        assert (
            result.rel_effect_size_ci_lower
            <= result.rel_effect_size
            <= result.rel_effect_size_ci_upper
        )
        assert 0 <= result.pvalue <= 1
    for wide, narrow in zip(results[1:], results[:-1], strict=True):
        assert wide.effect_size_ci_lower <= narrow.effect_size_ci_lower
        assert wide.effect_size_ci_upper >= narrow.effect_size_ci_upper
        assert wide.rel_effect_size_ci_lower <= narrow.rel_effect_size_ci_lower
        assert wide.rel_effect_size_ci_upper >= narrow.rel_effect_size_ci_upper


@settings(max_examples=100, deadline=None)
@given(arms=binary_arms(), alpha=st.floats(min_value=0.001, max_value=0.3))
def test_pvalue_agrees_with_interval_and_arm_swap(
    arms: tuple[SufficientStats, SufficientStats], alpha: float
) -> None:
    control, treatment = arms
    result = compare("proportion", control, treatment, alpha=alpha)
    swapped = compare("proportion", treatment, control, alpha=alpha)
    assert swapped.effect_size == pytest.approx(-result.effect_size, abs=1e-15)
    assert swapped.pvalue == pytest.approx(result.pvalue, rel=1e-9, abs=1e-300)
    excludes_zero = result.effect_size_ci_lower > 0 or result.effect_size_ci_upper < 0
    if abs(result.pvalue - alpha) > 1e-9:
        assert excludes_zero == (result.pvalue < alpha)
    greater = compare("proportion", control, treatment, alpha=alpha, alternative="greater")
    less = compare("proportion", control, treatment, alpha=alpha, alternative="less")
    assert greater.pvalue + less.pvalue == pytest.approx(1.0, rel=1e-9)
    assert greater.effect_size_ci_upper == math.inf
    assert less.effect_size_ci_lower == -math.inf


def test_heterogeneity_is_cochrans_q_as_statsmodels_computes_it() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    effects = [0.012, 0.031, -0.004, 0.022]
    ses = [0.006, 0.011, 0.009, 0.004]
    result = heterogeneity(effects, ses)
    reference = combine_effects(np.array(effects), np.array(ses) ** 2)
    assert result.statistic == pytest.approx(float(reference.q), rel=1e-12)
    assert result.df == reference.df == 3
    assert result.pvalue == pytest.approx(float(scipy.stats.chi2.sf(reference.q, 3)), rel=1e-12)
    assert result.estimates == 4
    assert result.method == "cochran_q"
    assert result.error is None
    # Q written out: weights 1/se², weighted mean, weighted squared deviations
    weights = [1 / s**2 for s in ses]
    mean = sum(w * e for w, e in zip(weights, effects, strict=True)) / sum(weights)
    q = sum(w * (e - mean) ** 2 for w, e in zip(weights, effects, strict=True))
    assert result.statistic == pytest.approx(q, rel=1e-12)


def test_heterogeneity_leaves_out_estimates_without_a_standard_error() -> None:
    full = heterogeneity([0.01, 0.03, 0.02], [0.01, 0.01, 0.02])
    with_gaps = heterogeneity(
        [0.01, 0.03, math.nan, 0.02, 0.5], [0.01, 0.01, 0.01, 0.02, 0.0]
    )
    assert with_gaps == full
    single = heterogeneity([0.01, 0.02], [0.01, math.inf])
    assert single.error == "too_few_segments" in ERROR_CODES
    assert math.isnan(single.pvalue)
    assert single.estimates == 1


def _load_bench(name: str = "aa_simulation") -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_aa_simulation_is_calibrated_on_a_10_90_split() -> None:
    """10,000 A/A experiments: FPR in [4 %, 6 %], coverage in [94 %, 96 %]; peeking.

    Takes several minutes (``pytest -m slow``); bench/aa_simulation.py prints the same
    numbers as a table.
    """
    bench = _load_bench()
    for row in bench.fixed_horizon(experiments=10_000, units=10_000):
        if "prop_test" in row.method:
            continue  # Yates' correction is conservative by design; reported, not bounded.
        assert row.errors == 0, row.method
        assert 0.04 <= row.false_positive_rate <= 0.06, row
        assert 0.94 <= row.coverage <= 0.96, row
        assert 0.94 <= row.rel_coverage <= 0.96, row
    peeks = {row.method: row for row in bench.peeking(experiments=1_000)}
    frozen = {row.method: row for row in bench.frozen_audience_peeking(experiments=500)}
    for name in ("proportion welch_t", "mean welch_t"):
        assert peeks[f"{name} sequential"].false_positive_rate <= 0.05
        assert peeks[f"{name} fixed"].false_positive_rate > 0.10
        assert frozen[f"{name} sequential, looks from day 1"].false_positive_rate <= 0.05
        assert frozen[f"{name} fixed, looks from day 1"].false_positive_rate > 0.10


@pytest.mark.slow
def test_heterogeneity_holds_its_size_and_rejects_when_effects_differ() -> None:
    """bench/heterogeneity_size.py's 20,000-unit runs, same seeds (≈ 30 s): with one common
    effect (none, or +2 points in every segment) the test rejects about 5 % of the time
    (conversion: the simulation's interval holds 5 %; skewed revenue with CUPED at most
    7.5 %); with effects of 0 to +6 points across segments, most of the time."""
    bench = _load_bench("heterogeneity_size")
    for index, world in enumerate(bench.WORLDS):
        for row in bench.simulate(world, 20_000, 2_000, 20261208 + 100 * index):
            assert row.experiments == 2_000
            if "differ" in world:
                assert row.rejection_rate > 0.6, row
            elif row.metric.startswith("conversion"):
                assert row.interval_low <= 0.05 <= row.interval_high, row
            else:
                assert row.rejection_rate <= 0.075, row


unit_values = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=50),
        st.integers(min_value=1, max_value=5),
        st.integers(min_value=0, max_value=50),
    ),
    min_size=3,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(
    control_rows=unit_values,
    treatment_rows=unit_values,
    metric_type=st.sampled_from(["mean", "ratio"]),
    cuped=st.booleans(),
    sequential=st.booleans(),
)
def test_mean_and_ratio_intervals_are_nested_in_alpha(
    control_rows: list[tuple[int, int, int]],
    treatment_rows: list[tuple[int, int, int]],
    metric_type: str,
    cuped: bool,
    sequential: bool,
) -> None:
    arms = []
    for rows in (control_rows, treatment_rows):
        values = np.asarray(rows, dtype=float)
        arms.append(sufficient_stats(
            values[:, 0], denominator=values[:, 1], covariate=values[:, 2],
            covariate_denominator=values[:, 1],
        ))
    results = [
        compare(metric_type, arms[0], arms[1], alpha=alpha, cuped=cuped,  # type: ignore[arg-type]
                sequential=sequential, sequential_min_events=0)
        for alpha in (0.2, 0.05, 0.01)
    ]
    if results[0].error in ("zero_variance", "zero_control_mean", "zero_treatment_mean"):
        return
    assert results[0].error is None
    for result in results:
        assert result.effect_size_ci_lower <= result.effect_size <= result.effect_size_ci_upper
        assert 0 <= result.pvalue <= 1
    for wide, narrow in zip(results[1:], results[:-1], strict=True):
        assert wide.effect_size_ci_lower <= narrow.effect_size_ci_lower
        assert wide.effect_size_ci_upper >= narrow.effect_size_ci_upper


# The core report's proportion test evaluates scipy.special's distribution functions
# (and the other tests call scipy.stats and statsmodels through threadlift); these
# check that they give scipy.stats' and statsmodels' numbers to 1e-12.
EXACT = 1e-12


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=2, max_size=5),
    weights=st.lists(st.floats(min_value=0.5, max_value=100.0), min_size=5, max_size=5),
)
def test_srm_is_scipy_chisquare_to_1e12(counts: list[int], weights: list[float]) -> None:
    weights = weights[: len(counts)]
    result = srm_test(counts, weights)
    if sum(counts) == 0:
        assert result.error == "no_units"
        return
    expected = [sum(counts) * w / math.fsum(weights) for w in weights]
    reference = scipy.stats.chisquare(counts, expected)
    assert_close(result.statistic, float(reference.statistic), rel=EXACT)
    assert_close(result.pvalue, float(reference.pvalue), rel=EXACT)


@settings(max_examples=60, deadline=None)
@given(
    n_c=st.integers(min_value=2, max_value=2_000_000),
    n_t=st.integers(min_value=2, max_value=2_000_000),
    mean_c=st.floats(min_value=-1e3, max_value=1e3),
    mean_t=st.floats(min_value=-1e3, max_value=1e3),
    sd_c=st.floats(min_value=1e-3, max_value=1e3),
    sd_t=st.floats(min_value=1e-3, max_value=1e3),
)
def test_balance_is_scipy_welch_from_stats_to_1e12(
    n_c: int, n_t: int, mean_c: float, mean_t: float, sd_c: float, sd_t: float
) -> None:
    def arm(n: int, mean: float, sd: float) -> SufficientStats:
        total = mean * n
        return SufficientStats(units=n, covariate_sum=total,
                               covariate_sum_squares=sd * sd * (n - 1) + total * total / n)

    def sample_sd(stats: SufficientStats) -> float:
        n = stats.units
        return math.sqrt((stats.covariate_sum_squares - stats.covariate_sum ** 2 / n) / (n - 1))

    control, treatment = arm(n_c, mean_c, sd_c), arm(n_t, mean_t, sd_t)
    result = balance(control, treatment)
    reference = scipy.stats.ttest_ind_from_stats(
        result.treatment_mean, sample_sd(treatment), n_t,
        result.control_mean, sample_sd(control), n_c, equal_var=False,
    )
    assert_close(result.statistic, float(reference.statistic), rel=EXACT)
    assert_close(result.pvalue, float(reference.pvalue), rel=EXACT)


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), PROPORTION_TABLES)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_prop_test_is_scipy_stats_norm_and_chi2_to_1e12(
    x_c: int, n_c: int, x_t: int, n_t: int, alternative: str
) -> None:
    result = compare("proportion", binary_stats(x_c, n_c), binary_stats(x_t, n_t),
                     proportion_test="prop_test", alternative=alternative)  # type: ignore[arg-type]
    p_c, p_t = x_c / n_c, x_t / n_t
    inverse_sum = 1 / n_c + 1 / n_t
    yates = min(0.5, abs(p_t - p_c) / inverse_sum)
    pooled = (x_c + x_t) / (n_c + n_t)
    z = (abs(p_t - p_c) - yates * inverse_sum) / math.sqrt(pooled * (1 - pooled) * inverse_sum)
    if alternative == "two-sided":
        pvalue = scipy.stats.chi2.sf(z * z, 1)
        quantile = scipy.stats.norm.ppf(0.975)
    else:
        signed = math.copysign(z, p_t - p_c)
        pvalue = (scipy.stats.norm.sf(signed) if alternative == "greater"
                  else scipy.stats.norm.cdf(signed))
        quantile = scipy.stats.norm.ppf(0.95)
    width = quantile * math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    width += yates * inverse_sum
    assert_close(result.pvalue, float(pvalue), rel=EXACT)
    if alternative != "less":
        assert_close(result.effect_size_ci_lower, max(p_t - p_c - width, -1.0), rel=EXACT)
    if alternative != "greater":
        assert_close(result.effect_size_ci_upper, min(p_t - p_c + width, 1.0), rel=EXACT)


@settings(max_examples=100, deadline=None)
@given(
    pvalues=st.lists(
        st.one_of(st.floats(min_value=0.0, max_value=1.0), st.sampled_from([0.01, 0.05, 0.5])),
        min_size=1, max_size=30,
    ),
    method=st.sampled_from(["holm", "fdr_bh"]),
)
def test_adjust_pvalues_is_statsmodels_multipletests_to_1e12(
    pvalues: list[float], method: str
) -> None:
    adjusted = adjust_pvalues(pvalues, method)  # type: ignore[arg-type]
    reference = multipletests(pvalues, method=method)[1]
    for value, expected in zip(adjusted, reference, strict=True):
        assert_close(value, float(expected), rel=EXACT)
