"""Pure statistics on per-arm sufficient statistics: lift, intervals, p-values, checks.

Everything here takes :class:`~threadlift.core.moments.SufficientStats` (units, sums, sums of
squares and cross-products per arm) and never sees a per-unit row, so the same numbers
come out whether the SQL ran on DuckDB, Spark or a warehouse. No I/O happens here.

Defaults follow tea-tasting number for number (docs/statistics.md):

- means and proportions (0/1 values): Welch's t-test, Welch–Satterthwaite degrees of
  freedom (``method="welch_t"``);
- ratio metrics (sum of main / sum of denominator per arm): the delta method, then
  Welch's t on the linearised values (``method="delta_ratio"``);
- CUPED: one θ estimated on both arms pooled, for means and ratios (``"+cuped"``);
- relative effect ``treatment / control − 1`` with its interval on the log-ratio scale,
  delta method, its own Welch degrees of freedom.

Options: R's ``prop.test`` (pooled z with or without Yates' correction,
``method="prop_test_pooled_z_cc"`` / ``"prop_test_pooled_z"``) for proportions, and
always-valid confidence sequences (``method="confidence_sequence"``, see
:mod:`threadlift.core.sequential`) for reports that are read every day.

Degenerate inputs never raise: the result carries a named ``error`` code and NaN in the
fields that cannot be computed (:data:`ERROR_CODES`). Invalid *arguments* (unknown
metric type, an option that does not apply) raise :class:`~threadlift.errors.InputError`.

Examples:
    >>> from threadlift.core.moments import SufficientStats
    >>> control = SufficientStats(units=1000, main_sum=100, main_sum_squares=100)
    >>> treatment = SufficientStats(units=9000, main_sum=1080, main_sum_squares=1080)
    >>> result = compare("proportion", control, treatment)
    >>> result.method, round(result.effect_size, 4), round(result.rel_effect_size, 2)
    ('welch_t', 0.02, 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from threadlift.core import sequential as confidence_sequences
from threadlift.core.moments import SufficientStats
from threadlift.errors import InputError

MetricType = Literal["proportion", "mean", "ratio"]
Alternative = Literal["two-sided", "greater", "less"]

def _distributions() -> Any:
    """``scipy.stats``, imported when a test first needs it (the CLI starts without scipy).

    The tests scipy provides whole (the sample-ratio chi-square, the balance Welch test)
    are called from it. Where a test only needs a distribution function, :func:`_special`
    evaluates it: ``scipy.special`` holds the functions ``scipy.stats`` evaluates
    (``norm.cdf`` is ``ndtr``, ``t.sf`` is ``stdtr``, ``chi2.sf`` is ``chdtrc``).
    """
    import scipy.stats

    return scipy.stats


def _special() -> Any:
    """``scipy.special``, imported when first needed."""
    import scipy.special

    return scipy.special


def _multipletests(pvalues: Any, method: str) -> Any:
    """statsmodels' ``multipletests``, imported when first needed (it loads pandas)."""
    from statsmodels.stats.multitest import multipletests

    return multipletests(pvalues, method=method)


ERROR_CODES: dict[str, str] = {
    "empty_arm": "an arm has no units; nothing can be estimated",
    "too_few_units": "an arm has fewer than 2 units; variances are undefined",
    "zero_denominator": "a ratio metric's denominator sums to 0 in an arm",
    "zero_covariate_denominator": "a ratio CUPED covariate's denominator sums to 0 in an arm",
    "not_binary": "a proportion metric's per-unit values are not all 0 or 1",
    "zero_variance": "both arms have zero variance; no test is possible",
    "zero_control_mean": "the control value is 0; relative effects are undefined",
    "zero_treatment_mean": "the treatment value is 0; the log-ratio interval is undefined",
    "zero_take_up": "take-up does not differ between arms; the complier effect is undefined",
    "too_few_events": "too few events in an arm for an always-valid interval yet (burn-in)",
    "no_units": "no units were observed at all",
    "single_arm": "fewer than two arms; a sample-ratio test needs at least two",
    "too_few_segments": "fewer than two segments have an estimate; nothing to compare",
}
"""Named degenerate-case codes carried in results' ``error`` field."""

_NAN = math.nan


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one metric.

    Attributes:
        control: Control value (mean, share, ratio of sums; CUPED-adjusted if used).
        treatment: Treatment value, same definition.
        effect_size: ``treatment − control``.
        effect_size_ci_lower: Lower bound of its interval (−inf for ``"less"``).
        effect_size_ci_upper: Upper bound of its interval (+inf for ``"greater"``).
        rel_effect_size: ``treatment / control − 1``.
        rel_effect_size_ci_lower: Lower bound of the relative interval.
        rel_effect_size_ci_upper: Upper bound of the relative interval.
        pvalue: P-value against no effect (always-valid for confidence sequences).
        method: What was computed, e.g. ``"welch_t"``, ``"welch_t+cuped"``,
            ``"delta_ratio"``, ``"prop_test_pooled_z_cc"``, ``"confidence_sequence"``,
            ``"complier_iv"``.
        error: A code from :data:`ERROR_CODES` when the inputs are degenerate, else None.
        statistic: Test statistic (effect divided by its standard error).
        se: Standard error of ``effect_size``.
        df: Degrees of freedom (NaN for normal-based methods).
        control_units: Units in control.
        treatment_units: Units in treatment.
        alpha: Significance level used for the intervals.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        cuped_theta: CUPED coefficient θ (NaN when CUPED was not used).
    """

    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    method: str
    error: str | None = None
    statistic: float = _NAN
    se: float = _NAN
    df: float = _NAN
    control_units: int = 0
    treatment_units: int = 0
    alpha: float = 0.05
    alternative: Alternative = "two-sided"
    cuped_theta: float = _NAN

    def to_dict(self) -> dict[str, float | int | str | None]:
        """All fields as a flat dictionary (the ``metrics`` rows of report.json)."""
        return asdict(self)


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio mismatch check.

    Attributes:
        statistic: Pearson's chi-square statistic.
        pvalue: Its p-value (``k − 1`` degrees of freedom).
        passed: True unless ``pvalue < alpha``.
        expected: Expected units per arm under the configured weights.
        observed: Observed units per arm.
        alpha: Threshold used.
        error: ``"no_units"`` or ``"single_arm"`` when no test is possible.
    """

    statistic: float
    pvalue: float
    passed: bool
    expected: tuple[float, ...]
    observed: tuple[int, ...]
    alpha: float
    error: str | None = None


@dataclass(frozen=True)
class GuardrailTest:
    """One-sided non-inferiority test of a guardrail metric.

    The null hypothesis is that the guardrail got worse by at least ``threshold``
    (``effect ≥ threshold``); the guardrail is *breached* unless that is rejected at
    level ``alpha``, i.e. unless the one-sided upper confidence bound is below the
    threshold.

    Attributes:
        control: Control value.
        treatment: Treatment value.
        effect_size: ``treatment − control`` (absolute test) or
            ``treatment / control − 1`` (relative test).
        ci_upper: One-sided upper ``1 − alpha`` confidence bound of ``effect_size``.
        threshold: The largest tolerated increase (same scale as ``effect_size``).
        relative: Whether the threshold is relative.
        pvalue: P-value of the non-inferiority null.
        breached: True when non-inferiority is not shown (``pvalue ≥ alpha``).
        method: ``"welch_t_noninferiority"`` or ``"welch_t_log_ratio_noninferiority"``.
        error: Degenerate-case code, see :data:`ERROR_CODES`.
    """

    control: float
    treatment: float
    effect_size: float
    ci_upper: float
    threshold: float
    relative: bool
    pvalue: float
    breached: bool
    method: str
    error: str | None = None


@dataclass(frozen=True)
class BalanceResult:
    """Pre-period balance of one variable between arms.

    Attributes:
        variable: Which :data:`~threadlift.core.moments.VARIABLES` entry was checked.
        control_mean: Mean per unit in control.
        treatment_mean: Mean per unit in treatment.
        standardized_mean_difference: ``(mean_t − mean_c) / sqrt((var_c + var_t) / 2)``.
        statistic: Welch's t statistic.
        pvalue: Welch's two-sided p-value.
        error: Degenerate-case code, see :data:`ERROR_CODES`.
    """

    variable: str
    control_mean: float
    treatment_mean: float
    standardized_mean_difference: float
    statistic: float
    pvalue: float
    error: str | None = None


@dataclass(frozen=True)
class _ArmEstimate:
    """One arm's metric value and per-unit variance of its linearisation."""

    units: int
    value: float
    variance: float


def _mean(stats: SufficientStats, variable: str | None) -> float:
    return 1.0 if variable is None else stats.sum(variable) / stats.units


def _cov(stats: SufficientStats, left: str | None, right: str | None) -> float:
    """Sample covariance (ddof 1) of two per-unit variables; 0 for a constant (None)."""
    if left is None or right is None:
        return 0.0
    n = stats.units
    value = (stats.product_sum(left, right) - stats.sum(left) * stats.sum(right) / n) / (n - 1)
    return max(value, 0.0) if left == right else value


def _ratio_var(stats: SufficientStats, numer: str | None, denom: str | None) -> float:
    """Per-unit variance of ``numer / denom`` by the delta method (tea-tasting's formula).

    References:
        - Deng, A., Knoblich, U., & Lu, J. (2018). Applying the Delta Method in Metric
          Analytics: A Practical Guide with Novel Ideas. KDD 2018.
    """
    numer_mean = _mean(stats, numer)
    denom_mean = _mean(stats, denom)
    return (
        _cov(stats, numer, numer)
        - 2 * _cov(stats, numer, denom) * numer_mean / denom_mean
        + _cov(stats, denom, denom) * numer_mean * numer_mean / (denom_mean * denom_mean)
    ) / (denom_mean * denom_mean)


def _ratio_cov(
    stats: SufficientStats,
    left: tuple[str | None, str | None],
    right: tuple[str | None, str | None],
) -> float:
    """Per-unit covariance of two ratios by the delta method (tea-tasting's formula)."""
    left_ratio = _mean(stats, left[0]) / _mean(stats, left[1])
    right_ratio = _mean(stats, right[0]) / _mean(stats, right[1])
    return (
        _cov(stats, left[0], right[0])
        - _cov(stats, left[0], right[1]) * right_ratio
        - _cov(stats, left[1], right[0]) * left_ratio
        + _cov(stats, left[1], right[1]) * left_ratio * right_ratio
    ) / (_mean(stats, left[1]) * _mean(stats, right[1]))


def _variables(
    metric_type: MetricType, *, cuped: bool
) -> tuple[tuple[str | None, str | None], tuple[str | None, str | None] | None]:
    if metric_type not in ("proportion", "mean", "ratio"):
        raise InputError(
            f"metric type {metric_type!r} is not known; use 'proportion', 'mean' or 'ratio'"
        )
    metric: tuple[str | None, str | None] = (
        ("main", "denominator") if metric_type == "ratio" else ("main", None)
    )
    if not cuped:
        return metric, None
    covariate: tuple[str | None, str | None] = (
        ("covariate", "covariate_denominator") if metric_type == "ratio" else ("covariate", None)
    )
    return metric, covariate


def _check_arms(
    metric_type: MetricType,
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    cuped: bool,
) -> str | None:
    """The first degenerate-case code that applies to both arms, or None."""
    arms = (control, treatment)
    if any(arm.units <= 0 for arm in arms):
        return "empty_arm"
    if metric_type == "ratio" and any(arm.denominator_sum == 0 for arm in arms):
        return "zero_denominator"
    if (
        cuped
        and metric_type == "ratio"
        and any(arm.covariate_denominator_sum == 0 for arm in arms)
    ):
        return "zero_covariate_denominator"
    if metric_type == "proportion" and any(
        arm.main_sum_squares != arm.main_sum or not 0 <= arm.main_sum <= arm.units
        for arm in arms
    ):
        return "not_binary"
    if any(arm.units < 2 for arm in arms):
        return "too_few_units"
    return None


def _cuped_theta(
    total: SufficientStats,
    metric: tuple[str | None, str | None],
    covariate: tuple[str | None, str | None],
) -> float:
    """One CUPED coefficient for both arms pooled: cov(metric, covariate) / var(covariate).

    References:
        - Deng, A., Xu, Y., Kohavi, R., & Walker, T. (2013). Improving the Sensitivity of
          Online Controlled Experiments by Utilizing Pre-Experiment Data. WSDM 2013.
    """
    covariate_var = _ratio_var(total, *covariate)
    if covariate_var == 0 or not math.isfinite(covariate_var):
        return 0.0
    return _ratio_cov(total, metric, covariate) / covariate_var


def _raw_values(
    metric_type: MetricType, control: SufficientStats, treatment: SufficientStats
) -> tuple[_ArmEstimate, _ArmEstimate]:
    """Unadjusted per-arm values without variances (for arms too small to test)."""
    metric, _ = _variables(metric_type, cuped=False)
    control_value, treatment_value = (
        _ArmEstimate(arm.units, _mean(arm, metric[0]) / _mean(arm, metric[1]), _NAN)
        for arm in (control, treatment)
    )
    return control_value, treatment_value


def _arm_estimates(
    metric_type: MetricType,
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    cuped: bool,
) -> tuple[_ArmEstimate, _ArmEstimate, float]:
    """Per-arm values and variances, CUPED-adjusted with a pooled θ when asked."""
    metric, covariate = _variables(metric_type, cuped=cuped)
    if covariate is None:
        arms = tuple(
            _ArmEstimate(
                units=arm.units,
                value=_mean(arm, metric[0]) / _mean(arm, metric[1]),
                variance=_ratio_var(arm, *metric),
            )
            for arm in (control, treatment)
        )
        return arms[0], arms[1], _NAN
    total = control + treatment
    theta = _cuped_theta(total, metric, covariate)
    covariate_mean = _mean(total, covariate[0]) / _mean(total, covariate[1])
    adjusted = []
    for arm in (control, treatment):
        arm_covariate = _mean(arm, covariate[0]) / _mean(arm, covariate[1])
        variance = (
            _ratio_var(arm, *metric)
            + theta * theta * _ratio_var(arm, *covariate)
            - 2 * theta * _ratio_cov(arm, metric, covariate)
        )
        adjusted.append(
            _ArmEstimate(
                units=arm.units,
                value=_mean(arm, metric[0]) / _mean(arm, metric[1])
                - theta * (arm_covariate - covariate_mean),
                variance=max(variance, 0.0),
            )
        )
    return adjusted[0], adjusted[1], theta


def _welch_scale_df(
    control_var: float, control_units: int, treatment_var: float, treatment_units: int
) -> tuple[float, float]:
    """Standard error of a difference in means and its Welch–Satterthwaite df.

    References:
        - Welch, B. L. (1947). The generalization of "Student's" problem when several
          different population variances are involved. Biometrika 34(1–2), 28–35.
    """
    control_mean_var = control_var / control_units
    treatment_mean_var = treatment_var / treatment_units
    scale = math.sqrt(control_mean_var + treatment_mean_var)
    denominator = (
        control_mean_var * control_mean_var / (control_units - 1)
        + treatment_mean_var * treatment_mean_var / (treatment_units - 1)
    )
    df = (control_mean_var + treatment_mean_var) ** 2 / denominator if denominator else _NAN
    return scale, df


def _point_only(
    method: str,
    error: str,
    control: _ArmEstimate | None,
    treatment: _ArmEstimate | None,
    *,
    alpha: float,
    alternative: Alternative,
    control_units: int,
    treatment_units: int,
) -> Comparison:
    """A result with point estimates where they exist and NaN inference."""
    control_value = control.value if control is not None else _NAN
    treatment_value = treatment.value if treatment is not None else _NAN
    rel = (
        treatment_value / control_value - 1
        if control_value and math.isfinite(control_value)
        else _NAN
    )
    return Comparison(
        control=control_value,
        treatment=treatment_value,
        effect_size=treatment_value - control_value,
        effect_size_ci_lower=_NAN,
        effect_size_ci_upper=_NAN,
        rel_effect_size=rel,
        rel_effect_size_ci_lower=_NAN,
        rel_effect_size_ci_upper=_NAN,
        pvalue=_NAN,
        method=method,
        error=error,
        control_units=control_units,
        treatment_units=treatment_units,
        alpha=alpha,
        alternative=alternative,
    )


def _validate_common(alpha: float, alternative: str) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(
            f"alternative {alternative!r} is not known; use 'two-sided', 'greater' or 'less'"
        )


def effective_events(metric_type: MetricType, stats: SufficientStats) -> float:
    """How many events an arm's metric rests on, for the sequential burn-in.

    For a proportion, the rarer of successes and failures, ``min(Σx, n − Σx)``. For a
    mean or ratio, Kish's effective sample size of the main variable,
    ``(Σx)² / Σx²``, which never exceeds the number of non-zero units and shrinks
    with skew (a revenue total carried by a few big orders counts as few events).

    Args:
        metric_type: ``"proportion"``, ``"mean"`` or ``"ratio"``.
        stats: One arm's sufficient statistics.

    Returns:
        The effective number of events (0 for an empty arm).

    References:
        - Kish, L. (1965). Survey Sampling. Wiley (effective sample size).
    """
    if metric_type == "proportion":
        return float(min(stats.main_sum, stats.units - stats.main_sum))
    if stats.main_sum_squares <= 0:
        return 0.0
    return stats.main_sum * stats.main_sum / stats.main_sum_squares


def _t_sf(x: float, df: float) -> float:
    """Survival function of Student's t (``scipy.stats.t.sf`` without its overhead)."""
    return float(_special().stdtr(df, -x))


def _t_ppf(q: float, df: float) -> float:
    """Quantile function of Student's t (``scipy.stats.t.ppf`` without its overhead)."""
    return float(_special().stdtrit(df, q))


def _t_interval(
    estimate: float, scale: float, df: float, alpha: float, alternative: Alternative
) -> tuple[float, float, float]:
    """Welch-t interval and p-value (tea-tasting's ``_analyze_stats``, absolute part)."""
    confidence_level = 1 - alpha
    if alternative == "greater":
        return (
            estimate - _t_ppf(confidence_level, df) * scale,
            math.inf,
            _t_sf(estimate / scale, df),
        )
    if alternative == "less":
        return (
            -math.inf,
            estimate + _t_ppf(confidence_level, df) * scale,
            _t_sf(-estimate / scale, df),
        )
    half_width = _t_ppf((1 + confidence_level) / 2, df) * scale
    return (
        estimate - half_width,
        estimate + half_width,
        2 * _t_sf(abs(estimate) / scale, df),
    )


def _log_ratio_interval(
    ratio: float, log_scale: float, df: float, alpha: float, alternative: Alternative
) -> tuple[float, float]:
    """Interval for ``treatment / control`` from a t interval on the log scale."""
    confidence_level = 1 - alpha
    if alternative == "greater":
        return ratio * math.exp(-_t_ppf(confidence_level, df) * log_scale), math.inf
    if alternative == "less":
        return -math.inf, ratio * math.exp(_t_ppf(confidence_level, df) * log_scale)
    half = math.exp(_t_ppf((1 + confidence_level) / 2, df) * log_scale)
    return ratio / half, ratio * half


def compare(
    metric_type: MetricType,
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    cuped: bool = False,
    proportion_test: Literal["welch", "prop_test"] = "welch",
    correction: bool = True,
    sequential: bool = False,
    sequential_target_units: float | None = None,
    sequential_min_events: float = 30.0,
) -> Comparison:
    """Compare a treatment arm with the control arm on one metric.

    Args:
        metric_type: ``"proportion"`` (main is 0/1), ``"mean"`` (main is the value,
            denominator 1 per unit) or ``"ratio"`` (sum of main / sum of denominator).
        control: Control (holdout) arm's sufficient statistics.
        treatment: Treatment arm's sufficient statistics.
        alpha: Significance level; intervals have confidence ``1 − alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment above control) or
            ``"less"``.
        cuped: Adjust with the pre-period covariate (``covariate`` and, for ratios,
            ``covariate_denominator``), one θ pooled over both arms.
        proportion_test: ``"welch"`` (default, Welch's t on 0/1 values) or
            ``"prop_test"`` (R's ``prop.test``: pooled z; only for proportions,
            without CUPED or sequential).
        correction: Yates' continuity correction for ``proportion_test="prop_test"``.
        sequential: Report an always-valid confidence sequence instead of a
            fixed-horizon interval (means, proportions and ratios, with or without
            CUPED).
        sequential_target_units: Planned total units at which the sequence is
            tightest; it fixes ρ and must not be chosen from the data. Defaults to the
            current total units, which is right when the audience is frozen at
            assignment (so the total does not change between looks).
        sequential_min_events: Burn-in for ``sequential=True``: below this many
            effective events in either arm (:func:`effective_events`) the result has
            ``error="too_few_events"`` and no interval, because the sequence's
            guarantee is asymptotic and fails on a handful of events. 0 disables it.

    Returns:
        The comparison. Degenerate inputs give a named ``error`` and NaN fields.

    Raises:
        InputError: for an unknown metric type or alternative, alpha outside (0, 1), or
            an option that does not apply (``prop_test`` on a non-proportion metric,
            with CUPED or sequential).

    References:
        - Welch, B. L. (1947). The generalization of "Student's" problem when several
          different population variances are involved. Biometrika 34, 28–35.
        - Deng, A., Knoblich, U., & Lu, J. (2018). Applying the Delta Method in Metric
          Analytics: A Practical Guide with Novel Ideas. KDD 2018.
        - Deng, A., Xu, Y., Kohavi, R., & Walker, T. (2013). Improving the Sensitivity
          of Online Controlled Experiments by Utilizing Pre-Experiment Data. WSDM 2013.
        - tea-tasting: ``RatioOfMeans.analyze_aggregates``
          (https://tea-tasting.e10v.me/), whose conventions these reproduce.
        - Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A. (2021).
          Time-uniform central limit theory and asymptotic confidence sequences.

    Examples:
        >>> from threadlift.core.moments import SufficientStats
        >>> c = SufficientStats(units=500, main_sum=60, main_sum_squares=60)
        >>> t = SufficientStats(units=4500, main_sum=630, main_sum_squares=630)
        >>> r = compare("proportion", c, t, proportion_test="prop_test")
        >>> r.method, round(r.pvalue, 4)
        ('prop_test_pooled_z_cc', 0.2453)
    """
    _validate_common(alpha, alternative)
    if proportion_test not in ("welch", "prop_test"):
        raise InputError(
            f"proportion_test {proportion_test!r} is not known; use 'welch' or 'prop_test'"
        )
    if proportion_test == "prop_test":
        if metric_type != "proportion" or cuped or sequential:
            raise InputError(
                "proportion_test='prop_test' applies only to proportion metrics without "
                "CUPED or sequential testing; use proportion_test='welch' instead"
            )
        return _prop_test(control, treatment, alpha=alpha, alternative=alternative,
                          correction=correction)

    base = "delta_ratio" if metric_type == "ratio" else "welch_t"
    if sequential:
        base = "confidence_sequence"
    method = base + ("+cuped" if cuped else "")
    _variables(metric_type, cuped=cuped)  # raises InputError for an unknown metric type
    units = {"control_units": control.units, "treatment_units": treatment.units}
    error = _check_arms(metric_type, control, treatment, cuped=cuped)
    if error in ("empty_arm", "zero_denominator", "zero_covariate_denominator", "not_binary"):
        return _point_only(method, error or "", None, None, alpha=alpha,
                           alternative=alternative, **units)

    if error is not None:
        raw = _raw_values(metric_type, control, treatment)
        return _point_only(method, error, raw[0], raw[1], alpha=alpha,
                           alternative=alternative, **units)
    control_arm, treatment_arm, theta = _arm_estimates(
        metric_type, control, treatment, cuped=cuped
    )

    scale, df = _welch_scale_df(
        control_arm.variance, control_arm.units, treatment_arm.variance, treatment_arm.units
    )
    if not scale > 0:
        return _point_only(method, "zero_variance", control_arm, treatment_arm, alpha=alpha,
                           alternative=alternative, **units)
    if sequential and min(
        effective_events(metric_type, control), effective_events(metric_type, treatment)
    ) < sequential_min_events:
        return _point_only(method, "too_few_events", control_arm, treatment_arm, alpha=alpha,
                           alternative=alternative, **units)

    effect = treatment_arm.value - control_arm.value
    total_units = control_arm.units + treatment_arm.units
    target_units = sequential_target_units or total_units
    if sequential:
        cs = confidence_sequences.confidence_sequence(
            effect, scale, total_units, target_units=target_units, alpha=alpha,
            alternative=alternative,
        )
        lower, upper, pvalue = cs.lower, cs.upper, cs.pvalue
    else:
        lower, upper, pvalue = _t_interval(effect, scale, df, alpha, alternative)

    error = None
    rel = rel_lower = rel_upper = _NAN
    if control_arm.value == 0:
        error = "zero_control_mean"
    else:
        ratio = treatment_arm.value / control_arm.value
        rel = ratio - 1
        if treatment_arm.value == 0:
            error = "zero_treatment_mean"
        else:
            log_scale, log_df = _welch_scale_df(
                control_arm.variance / control_arm.value**2,
                control_arm.units,
                treatment_arm.variance / treatment_arm.value**2,
                treatment_arm.units,
            )
            if sequential:
                multiplier = confidence_sequences.boundary_multiplier(
                    total_units,
                    confidence_sequences.optimal_rho(target_units, alpha, alternative),
                    alpha,
                    alternative,
                )
                ratio_lower = ratio * math.exp(-multiplier * log_scale)
                ratio_upper = ratio * math.exp(multiplier * log_scale)
                if alternative == "greater":
                    ratio_upper = math.inf
                elif alternative == "less":
                    ratio_lower = -math.inf
            else:
                ratio_lower, ratio_upper = _log_ratio_interval(
                    ratio, log_scale, log_df, alpha, alternative
                )
            rel_lower, rel_upper = ratio_lower - 1, ratio_upper - 1

    return Comparison(
        control=control_arm.value,
        treatment=treatment_arm.value,
        effect_size=effect,
        effect_size_ci_lower=lower,
        effect_size_ci_upper=upper,
        rel_effect_size=rel,
        rel_effect_size_ci_lower=rel_lower,
        rel_effect_size_ci_upper=rel_upper,
        pvalue=pvalue,
        method=method,
        error=error,
        statistic=effect / scale,
        se=scale,
        df=_NAN if sequential else df,
        alpha=alpha,
        alternative=alternative,
        cuped_theta=theta,
        **units,
    )


def _prop_test(
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    alpha: float,
    alternative: Alternative,
    correction: bool,
) -> Comparison:
    """R's ``prop.test(c(x_t, x_c), c(n_t, n_c))``: pooled z, optional Yates correction.

    The p-value is the pooled chi-square (two-sided) or signed z (one-sided) with
    R's Yates term ``min(0.5, |x − E|)``; the absolute interval is R's: unpooled Wald
    widened by the Yates term. The relative interval, which R does not give, is Katz's
    log interval (unpooled, delta method on the log risk ratio).

    References:
        - R Core Team. ``prop.test`` (package stats), R source ``prop.test.R``.
        - Yates, F. (1934). Contingency tables involving small numbers and the χ² test.
          Supplement to JRSS 1(2), 217–235.
        - Katz, D., Baptista, J., Azen, S. P., & Pike, M. C. (1978). Obtaining
          confidence intervals for the risk ratio in cohort studies. Biometrics 34.
    """
    method = "prop_test_pooled_z_cc" if correction else "prop_test_pooled_z"
    units = {"control_units": control.units, "treatment_units": treatment.units}
    error = _check_arms("proportion", control, treatment, cuped=False)
    if error in ("empty_arm", "not_binary"):
        return _point_only(method, error or "", None, None, alpha=alpha,
                           alternative=alternative, **units)
    n_c, n_t = control.units, treatment.units
    p_c, p_t = control.main_sum / n_c, treatment.main_sum / n_t
    arms = (_ArmEstimate(n_c, p_c, _NAN), _ArmEstimate(n_t, p_t, _NAN))
    pooled = (control.main_sum + treatment.main_sum) / (n_c + n_t)
    if not 0 < pooled < 1:
        return _point_only(method, "zero_variance", arms[0], arms[1], alpha=alpha,
                           alternative=alternative, **units)

    delta = p_t - p_c
    inverse_sum = 1 / n_c + 1 / n_t
    yates = min(0.5, abs(delta) / inverse_sum) if correction else 0.0
    pooled_se = math.sqrt(pooled * (1 - pooled) * inverse_sum)
    z_abs = (abs(delta) - yates * inverse_sum) / pooled_se
    statistic = math.copysign(z_abs, delta) if delta else 0.0
    confidence_level = 1 - alpha
    if alternative == "two-sided":
        pvalue = float(_special().chdtrc(1, z_abs * z_abs))
        quantile = float(_special().ndtri((1 + confidence_level) / 2))
    else:
        pvalue = float(_special().ndtr(-statistic if alternative == "greater" else statistic))
        quantile = float(_special().ndtri(confidence_level))
    width = quantile * math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    width += yates * inverse_sum
    lower = max(delta - width, -1.0) if alternative != "less" else -1.0
    upper = min(delta + width, 1.0) if alternative != "greater" else 1.0

    rel = rel_lower = rel_upper = _NAN
    error = None
    if p_c == 0:
        error = "zero_control_mean"
    else:
        ratio = p_t / p_c
        rel = ratio - 1
        if p_t == 0:
            error = "zero_treatment_mean"
        else:
            log_se = math.sqrt((1 - p_c) / (n_c * p_c) + (1 - p_t) / (n_t * p_t))
            factor = math.exp(quantile * log_se)
            rel_lower = ratio / factor - 1 if alternative != "less" else -math.inf
            rel_upper = ratio * factor - 1 if alternative != "greater" else math.inf

    return Comparison(
        control=p_c,
        treatment=p_t,
        effect_size=delta,
        effect_size_ci_lower=lower,
        effect_size_ci_upper=upper,
        rel_effect_size=rel,
        rel_effect_size_ci_lower=rel_lower,
        rel_effect_size_ci_upper=rel_upper,
        pvalue=pvalue,
        method=method,
        error=error,
        statistic=statistic,
        se=pooled_se,
        alpha=alpha,
        alternative=alternative,
        **units,
    )


def complier_effect(
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> Comparison:
    """Effect on compliers (those delivered, or those who read): the Wald IV estimator.

    Inputs are per-arm statistics where ``main`` is the outcome and ``denominator`` is
    the 0/1 take-up indicator (delivered, or read) of each *assigned* unit, so that
    ``main_denominator_sum_product`` is the outcome summed over units that took up.
    The estimate is ``ITT / (take-up_t − take-up_c)``: with a holdout that receives
    nothing, the intent-to-treat effect divided by the treatment arm's delivered share.
    Its standard error is the delta method including the outcome–take-up covariance;
    intervals and p-value use the normal distribution.

    ``control`` / ``treatment`` in the result are the compliers' mean outcome without
    and with the message (Imbens & Rubin 1997), so ``rel_effect_size`` is the
    compliers' relative lift (point estimate only; its interval is NaN).

    Args:
        control: Holdout arm's statistics (outcome as main, take-up as denominator).
        treatment: Treatment arm's statistics, same variables.
        alpha: Significance level.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        A :class:`Comparison` with ``method="complier_iv"``; ``error="zero_take_up"``
        when take-up does not differ between arms.

    References:
        - Angrist, J. D., Imbens, G. W., & Rubin, D. B. (1996). Identification of
          causal effects using instrumental variables. JASA 91(434), 444–455.
        - Imbens, G. W., & Rubin, D. B. (1997). Estimating outcome distributions for
          compliers in instrumental variables models. Rev. Econ. Stud. 64(4), 555–574.
        - Deng, A., Knoblich, U., & Lu, J. (2018). Applying the Delta Method in Metric
          Analytics. KDD 2018.
    """
    _validate_common(alpha, alternative)
    method = "complier_iv"
    units = {"control_units": control.units, "treatment_units": treatment.units}
    error = _check_arms("mean", control, treatment, cuped=False)
    if error is not None:
        return _point_only(method, error, None, None, alpha=alpha,
                           alternative=alternative, **units)
    arms = (control, treatment)
    outcome = [arm.mean("main") for arm in arms]
    take_up = [arm.mean("denominator") for arm in arms]
    untreated_outcome = [
        (arm.main_sum - arm.main_denominator_sum_product) / arm.units for arm in arms
    ]
    itt = outcome[1] - outcome[0]
    take_up_difference = take_up[1] - take_up[0]
    if take_up_difference == 0:
        return _point_only(method, "zero_take_up", None, None, alpha=alpha,
                           alternative=alternative, **units)
    effect = itt / take_up_difference
    var_itt = sum(_cov(arm, "main", "main") / arm.units for arm in arms)
    var_take_up = sum(_cov(arm, "denominator", "denominator") / arm.units for arm in arms)
    cov_itt_take_up = sum(_cov(arm, "main", "denominator") / arm.units for arm in arms)
    variance = (
        var_itt - 2 * effect * cov_itt_take_up + effect * effect * var_take_up
    ) / (take_up_difference * take_up_difference)
    complier_control = (untreated_outcome[0] - untreated_outcome[1]) / take_up_difference
    complier_treatment = complier_control + effect
    rel = effect / complier_control if complier_control else _NAN
    se = math.sqrt(max(variance, 0.0))
    if not se > 0:
        return _point_only(method, "zero_variance",
                           _ArmEstimate(control.units, complier_control, _NAN),
                           _ArmEstimate(treatment.units, complier_treatment, _NAN),
                           alpha=alpha, alternative=alternative, **units)
    distribution = _distributions().norm(scale=se)
    if alternative == "greater":
        lower, upper = effect + float(distribution.isf(1 - alpha)), math.inf
        pvalue = float(distribution.sf(effect))
    elif alternative == "less":
        lower, upper = -math.inf, effect + float(distribution.ppf(1 - alpha))
        pvalue = float(distribution.cdf(effect))
    else:
        half_width = float(distribution.ppf(1 - alpha / 2))
        lower, upper = effect - half_width, effect + half_width
        pvalue = float(2 * distribution.sf(abs(effect)))
    return Comparison(
        control=complier_control,
        treatment=complier_treatment,
        effect_size=effect,
        effect_size_ci_lower=lower,
        effect_size_ci_upper=upper,
        rel_effect_size=rel,
        rel_effect_size_ci_lower=_NAN,
        rel_effect_size_ci_upper=_NAN,
        pvalue=pvalue,
        method=method,
        error=None if complier_control else "zero_control_mean",
        statistic=effect / se,
        se=se,
        alpha=alpha,
        alternative=alternative,
        **units,
    )


def noninferiority(
    metric_type: MetricType,
    control: SufficientStats,
    treatment: SufficientStats,
    *,
    max_increase: float | None = None,
    max_rel_increase: float | None = None,
    alpha: float = 0.05,
    cuped: bool = False,
) -> GuardrailTest:
    """One-sided test that a guardrail did not rise by ``max_increase`` or more.

    Null hypothesis ``treatment − control ≥ max_increase`` (or, relative,
    ``treatment / control − 1 ≥ max_rel_increase``, tested on the log-ratio scale)
    against the alternative that the increase is smaller. Welch's t as in
    :func:`compare`. The guardrail is breached when the null is not rejected.

    Args:
        metric_type: ``"proportion"``, ``"mean"`` or ``"ratio"``.
        control: Control (holdout) statistics.
        treatment: Treatment statistics.
        max_increase: Largest tolerated absolute increase.
        max_rel_increase: Largest tolerated relative increase (e.g. 0.1 for +10 %).
        alpha: Significance level of the one-sided test.
        cuped: Adjust with the pre-period covariate (pooled θ).

    Returns:
        The test; degenerate inputs carry an ``error`` code. Where the comparison is
        deterministic (zero variance in both arms; a relative threshold against a
        control value of 0, where any rise is infinite) the guardrail is breached iff
        the observed effect reaches the threshold and the p-value is 0 or 1. Where
        nothing can be estimated (empty or one-unit arm) it is breached, with a NaN
        p-value: non-inferiority cannot be shown.

    Raises:
        InputError: unless exactly one of ``max_increase`` and ``max_rel_increase``
            is given, or if a relative threshold is not above −1.

    References:
        - Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure
          and the power approach for assessing the equivalence of average
          bioavailability. J. Pharmacokinet. Biopharm. 15(6), 657–680.
        - Welch, B. L. (1947). Biometrika 34, 28–35.
    """
    _validate_common(alpha, "two-sided")
    if (max_increase is None) == (max_rel_increase is None):
        raise InputError("give exactly one of max_increase and max_rel_increase")
    relative = max_rel_increase is not None
    threshold = float(max_rel_increase if max_rel_increase is not None else max_increase or 0.0)
    if relative and not threshold > -1:
        raise InputError(f"max_rel_increase must be above -1, got {threshold!r}")
    method = (
        "welch_t_log_ratio_noninferiority" if relative else "welch_t_noninferiority"
    ) + ("+cuped" if cuped else "")

    def degenerate(error: str, control_value: float = _NAN,
                   treatment_value: float = _NAN, effect: float = _NAN) -> GuardrailTest:
        breached = effect >= threshold if not math.isnan(effect) else True
        return GuardrailTest(
            control=control_value, treatment=treatment_value, effect_size=effect,
            ci_upper=effect, threshold=threshold, relative=relative,
            pvalue=_NAN if math.isnan(effect) else float(breached), breached=breached,
            method=method, error=error,
        )

    error = _check_arms(metric_type, control, treatment, cuped=cuped)
    if error in ("empty_arm", "zero_denominator", "zero_covariate_denominator", "not_binary"):
        return degenerate(error or "")
    if error is not None:
        raw = _raw_values(metric_type, control, treatment)
        return degenerate(error, raw[0].value, raw[1].value)
    control_arm, treatment_arm, _ = _arm_estimates(metric_type, control, treatment,
                                                   cuped=cuped)
    values = (control_arm.value, treatment_arm.value)
    if relative:
        if control_arm.value == 0:
            # From zero, any rise is an infinite relative increase and no rise is none.
            growth = (treatment_arm.value > 0) - (treatment_arm.value < 0)
            return degenerate("zero_control_mean", *values, effect=growth * math.inf
                              if growth else 0.0)
        ratio = treatment_arm.value / control_arm.value
        if not ratio > 0:
            return degenerate("zero_treatment_mean", *values, effect=ratio - 1)
        scale, df = _welch_scale_df(
            control_arm.variance / control_arm.value**2, control_arm.units,
            treatment_arm.variance / treatment_arm.value**2, treatment_arm.units,
        )
        effect = ratio - 1
        if not scale > 0:
            return degenerate("zero_variance", *values, effect=effect)
        statistic = (math.log(ratio) - math.log1p(threshold)) / scale
        ci_upper = ratio * math.exp(_t_ppf(1 - alpha, df) * scale) - 1
    else:
        effect = treatment_arm.value - control_arm.value
        scale, df = _welch_scale_df(
            control_arm.variance, control_arm.units,
            treatment_arm.variance, treatment_arm.units,
        )
        if not scale > 0:
            return degenerate("zero_variance", *values, effect=effect)
        statistic = (effect - threshold) / scale
        ci_upper = effect + _t_ppf(1 - alpha, df) * scale
    pvalue = _t_sf(-statistic, df)
    return GuardrailTest(
        control=control_arm.value,
        treatment=treatment_arm.value,
        effect_size=effect,
        ci_upper=ci_upper,
        threshold=threshold,
        relative=relative,
        pvalue=pvalue,
        breached=not pvalue < alpha,
        method=method,
    )


def srm_test(
    observed: Sequence[int], weights: Sequence[float], alpha: float = 0.001
) -> SRMResult:
    """Sample-ratio mismatch: Pearson's chi-square of units per arm against the weights.

    Args:
        observed: Units per arm, in the same order as ``weights``.
        weights: Configured arm weights (any positive scale; normalised here).
        alpha: The check fails when ``pvalue < alpha`` (0.001 by convention, so a
            scheduled report does not cry wolf).

    Returns:
        The test result; with no units or fewer than two arms, ``error`` is set,
        ``pvalue`` is NaN and ``passed`` is True (there is nothing to contradict).

    Raises:
        InputError: if the lengths differ or a weight is not positive.

    References:
        - Fabijan, A., et al. (2019). Diagnosing Sample Ratio Mismatch in Online
          Controlled Experiments. KDD 2019.
        - ``scipy.stats.chisquare``.
    """
    if len(observed) != len(weights):
        raise InputError(
            f"srm_test got {len(observed)} observed counts but {len(weights)} weights; "
            "give one weight per arm"
        )
    if any(not w > 0 for w in weights):
        raise InputError(f"arm weights must be positive, got {list(weights)}")
    counts = tuple(int(x) for x in observed)
    total = sum(counts)
    weight_total = math.fsum(weights)
    expected = tuple(total * w / weight_total for w in weights)
    error = "single_arm" if len(counts) < 2 else "no_units" if total == 0 else None
    if error is not None:
        return SRMResult(_NAN, _NAN, True, expected, counts, alpha, error)
    result = _distributions().chisquare(np.asarray(counts, dtype=float), np.asarray(expected))
    pvalue = float(result.pvalue)
    return SRMResult(
        statistic=float(result.statistic),
        pvalue=pvalue,
        passed=not pvalue < alpha,
        expected=expected,
        observed=counts,
        alpha=alpha,
    )


def adjust_pvalues(
    pvalues: Sequence[float], method: Literal["holm", "fdr_bh"] = "holm"
) -> list[float]:
    """Adjust p-values for multiple comparisons; NaN entries stay NaN and are not counted.

    Args:
        pvalues: Raw p-values (NaN for comparisons that could not be computed).
        method: ``"holm"`` (family-wise error, Holm–Bonferroni) or ``"fdr_bh"``
            (false discovery rate, Benjamini–Hochberg).

    Returns:
        Adjusted p-values in the input order.

    Raises:
        InputError: for an unknown method.

    References:
        - Holm, S. (1979). A simple sequentially rejective multiple test procedure.
          Scand. J. Statist. 6(2), 65–70.
        - Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
          JRSS B 57(1), 289–300.
        - ``statsmodels.stats.multitest.multipletests``, which computes them. A single
          p-value is its own adjusted value under both methods, so a report with one
          finite p-value does not import statsmodels.
    """
    if method not in ("holm", "fdr_bh"):
        raise InputError(f"p-value adjustment {method!r} is not known; use 'holm' or 'fdr_bh'")
    values = np.asarray(pvalues, dtype=float)
    finite = ~np.isnan(values)
    adjusted = np.full(values.shape, _NAN)
    if finite.any():
        kept = values[finite]
        adjusted[finite] = kept if len(kept) == 1 else _multipletests(kept, method)[1]
    return [float(x) for x in adjusted]


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q test that independent estimates of one effect differ.

    Attributes:
        statistic: ``Q = Σ w_k (e_k − ē)²`` with ``w_k = 1/se_k²`` and ``ē`` the
            inverse-variance weighted mean.
        df: ``K − 1`` for ``K`` estimates.
        pvalue: ``P(χ²_df ≥ Q)``.
        estimates: ``K``, the estimates that entered (finite effect, finite positive se).
        method: ``cochran_q``.
        error: ``too_few_segments`` when fewer than two estimates entered, else None.
    """

    statistic: float
    df: int
    pvalue: float
    estimates: int
    method: str = "cochran_q"
    error: str | None = None


def heterogeneity(effects: Sequence[float], ses: Sequence[float]) -> Heterogeneity:
    """Do independent estimates (one per segment) of an effect differ? Cochran's Q.

    Estimates whose effect or standard error is not finite, or whose standard error is 0,
    are left out. Under the null (one common effect) and normal estimates with known
    variances, Q follows a chi-square with ``K − 1`` degrees of freedom; with estimated
    variances it is an approximation that needs each estimate's sample to be large
    (docs/statistics.md measures its size).

    Args:
        effects: The estimates (e.g. each segment's absolute effect).
        ses: Their standard errors, in the same order.

    Returns:
        The test (``error="too_few_segments"`` and NaN when fewer than two entered).

    References:
        - Cochran, W. G. (1954). The combination of estimates from different
          experiments. Biometrics 10(1), 101–129.
        - ``statsmodels.stats.meta_analysis.combine_effects`` (its ``q`` and ``df``).
    """
    pairs = [
        (float(e), float(s))
        for e, s in zip(effects, ses, strict=True)
        if math.isfinite(e) and math.isfinite(s) and s > 0
    ]
    if len(pairs) < 2:
        return Heterogeneity(_NAN, max(len(pairs) - 1, 0), _NAN, len(pairs), error="too_few_segments")
    estimate = np.array([e for e, _ in pairs])
    weight = 1.0 / np.array([s for _, s in pairs]) ** 2
    pooled = float(np.sum(weight * estimate) / np.sum(weight))
    statistic = float(np.sum(weight * (estimate - pooled) ** 2))
    df = len(pairs) - 1
    pvalue = float(_distributions().chi2.sf(statistic, df))
    return Heterogeneity(statistic, df, pvalue, len(pairs))


def balance(
    control: SufficientStats, treatment: SufficientStats, variable: str = "covariate"
) -> BalanceResult:
    """Pre-period balance: standardised mean difference and Welch's t-test.

    Args:
        control: Control statistics.
        treatment: Treatment statistics.
        variable: One of :data:`~threadlift.core.moments.VARIABLES` (default the CUPED
            covariate, i.e. the pre-period value of the metric).

    Returns:
        Means, standardised mean difference ``(mean_t − mean_c) / sqrt((s²_c + s²_t)/2)``
        and Welch's two-sided test (``scipy.stats.ttest_ind_from_stats``).

    References:
        - Austin, P. C. (2009). Balance diagnostics for comparing the distribution of
          baseline covariates between treatment groups in propensity-score matched
          samples. Statistics in Medicine 28(25), 3083–3107.
    """
    if any(arm.units <= 0 for arm in (control, treatment)):
        return BalanceResult(variable, _NAN, _NAN, _NAN, _NAN, _NAN, "empty_arm")
    means = (control.mean(variable), treatment.mean(variable))
    if any(arm.units < 2 for arm in (control, treatment)):
        return BalanceResult(variable, *means, _NAN, _NAN, _NAN, "too_few_units")
    variances = (_cov(control, variable, variable), _cov(treatment, variable, variable))
    if variances[0] + variances[1] == 0:
        return BalanceResult(variable, *means, _NAN, _NAN, _NAN, "zero_variance")
    smd = (means[1] - means[0]) / math.sqrt((variances[0] + variances[1]) / 2)
    result = _distributions().ttest_ind_from_stats(
        means[1], math.sqrt(variances[1]), treatment.units,
        means[0], math.sqrt(variances[0]), control.units,
        equal_var=False,
    )
    return BalanceResult(
        variable=variable,
        control_mean=means[0],
        treatment_mean=means[1],
        standardized_mean_difference=smd,
        statistic=float(result.statistic),
        pvalue=float(result.pvalue),
    )
