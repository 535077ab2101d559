"""Cost per incremental conversion (pure).

The money spent on an arm is known exactly (billed messages × dated rate card); the
uncertainty is in the number of incremental conversions, ``n_treatment × effect``. The
cost per incremental conversion is a monotone function of the effect, so its interval
is the effect's interval mapped through ``cost / (n × effect)`` — exact whenever the
effect's interval excludes zero (Fieller's construction with a known numerator). When
the interval includes zero, the upper bound is unbounded (reported as infinity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class _Effect(Protocol):
    @property
    def effect_size(self) -> float: ...
    @property
    def effect_size_ci_lower(self) -> float: ...
    @property
    def effect_size_ci_upper(self) -> float: ...


@dataclass(frozen=True)
class CostPerIncremental:
    """Cost per incremental conversion with its interval."""

    cost: float
    incremental: float
    estimate: float
    ci_lower: float
    ci_upper: float
    error: str | None = None


def cost_per_incremental(cost: float, effect: _Effect, units: int) -> CostPerIncremental:
    """Cost per incremental conversion of an arm.

    Args:
        cost: Total money spent on the arm (one currency).
        effect: The arm's absolute conversion effect against the holdout, with its interval.
        units: Units in the arm.

    Returns:
        ``estimate = cost / (units * effect)``; NaN with error ``no_incremental_conversions``
        when the effect is not positive.

    Examples:
        >>> class E:  # effect 0.02 (0.01, 0.03) on 1000 units costing 100
        ...     effect_size, effect_size_ci_lower, effect_size_ci_upper = 0.02, 0.01, 0.03
        >>> r = cost_per_incremental(100.0, E(), 1000)
        >>> round(r.estimate, 4), round(r.ci_lower, 4), round(r.ci_upper, 4)
        (5.0, 3.3333, 10.0)
    """
    incremental = units * effect.effect_size
    if not math.isfinite(incremental) or incremental <= 0:
        return CostPerIncremental(
            cost, incremental, math.nan, math.nan, math.nan, "no_incremental_conversions"
        )
    upper_effect = effect.effect_size_ci_upper
    lower_effect = effect.effect_size_ci_lower
    ci_lower = cost / (units * upper_effect) if upper_effect > 0 else math.nan
    ci_upper = cost / (units * lower_effect) if lower_effect > 0 else math.inf
    return CostPerIncremental(cost, incremental, cost / incremental, ci_lower, ci_upper)


@dataclass(frozen=True)
class ArmCost:
    """What one treatment arm spent and added, for comparing arms (channels).

    Attributes:
        arm: The arm's name.
        cost: Total money spent on the arm (one currency).
        units: Units in the arm.
        effect: Absolute conversion effect against the shared holdout.
        se: Standard error of ``effect`` (the one its interval used).
    """

    arm: str
    cost: float
    units: int
    effect: float
    se: float


@dataclass(frozen=True)
class CostComparison:
    """Cost per incremental conversion of ``arm`` relative to ``other_arm``.

    ``ratio < 1`` means ``arm`` buys an incremental conversion for less. The interval and
    p-value (against a ratio of 1) come from the delta method on ``log ratio``, with the
    covariance the shared holdout induces between the two arms' effects.
    """

    arm: str
    other_arm: str
    cost_per_incremental: float
    other_cost_per_incremental: float
    ratio: float
    ratio_ci_lower: float
    ratio_ci_upper: float
    pvalue: float
    error: str | None = None


def compare_cost_per_incremental(
    a: ArmCost, b: ArmCost, control_variance: float, alpha: float = 0.05
) -> CostComparison:
    """Compare two arms' cost per incremental conversion against one shared holdout.

    With ``c = cost / units`` and effects ``d`` (both against the same control mean, so
    ``cov(d_a, d_b) = var(control mean)``), the ratio is ``(c_a / d_a) / (c_b / d_b)`` and

        var(log ratio) ≈ se_a² / d_a² + se_b² / d_b² − 2 · var(control) / (d_a · d_b).

    Args:
        a: The first arm.
        b: The arm it is compared with.
        control_variance: Variance of the holdout's conversion rate (``p(1 − p)/(n − 1)``).
        alpha: Two-sided level of the interval.

    Returns:
        The comparison; NaN with error ``no_incremental_conversions`` when either effect is
        not positive (a cost per incremental conversion is not defined), or
        ``zero_variance`` when the effects carry no uncertainty.

    Examples:
        >>> a = ArmCost("whatsapp", 500.0, 10_000, 0.03, 0.004)
        >>> b = ArmCost("sms", 300.0, 10_000, 0.01, 0.004)
        >>> r = compare_cost_per_incremental(a, b, control_variance=0.000008)
        >>> round(r.ratio, 3), round(r.ratio_ci_lower, 3), round(r.ratio_ci_upper, 3)
        (0.556, 0.278, 1.109)
    """
    from scipy import stats as sps

    cpic_a = a.cost / (a.units * a.effect) if a.units and a.effect > 0 else math.nan
    cpic_b = b.cost / (b.units * b.effect) if b.units and b.effect > 0 else math.nan
    if not (math.isfinite(cpic_a) and math.isfinite(cpic_b)) or cpic_b == 0:
        return CostComparison(
            a.arm, b.arm, cpic_a, cpic_b, math.nan, math.nan, math.nan, math.nan,
            "no_incremental_conversions",
        )
    ratio = cpic_a / cpic_b
    variance = (
        (a.se / a.effect) ** 2
        + (b.se / b.effect) ** 2
        - 2 * control_variance / (a.effect * b.effect)
    )
    if not variance > 0:
        return CostComparison(
            a.arm, b.arm, cpic_a, cpic_b, ratio, math.nan, math.nan, math.nan, "zero_variance"
        )
    sd = math.sqrt(variance)
    z = float(sps.norm.ppf(1 - alpha / 2))
    log_ratio = math.log(ratio) if ratio > 0 else math.nan
    return CostComparison(
        arm=a.arm,
        other_arm=b.arm,
        cost_per_incremental=cpic_a,
        other_cost_per_incremental=cpic_b,
        ratio=ratio,
        ratio_ci_lower=math.exp(log_ratio - z * sd),
        ratio_ci_upper=math.exp(log_ratio + z * sd),
        pvalue=float(2 * sps.norm.sf(abs(log_ratio) / sd)),
    )
