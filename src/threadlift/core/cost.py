"""Cost per incremental conversion (pure).

The money spent on an arm is known exactly (billed messages × dated rate card); the
uncertainty is in the number of incremental conversions, ``n_treatment × effect``. Its
interval is Fieller's set for a ratio with a known numerator
(:func:`threadlift.core.fieller.known_numerator_interval`): the effect's interval mapped
through ``cost / (n × effect)`` when it excludes zero; when it includes zero there is no
finite interval (two rays, or everything), and both bounds are NaN (null in report.json).
Two arms' costs per incremental conversion are compared with Fieller's interval for the
ratio of their effects (:func:`threadlift.core.fieller.fieller_interval`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from threadlift.core.fieller import (
    FIELLER,
    IntervalKind,
    fieller_interval,
    known_numerator_interval,
)


class _Effect(Protocol):
    @property
    def effect_size(self) -> float: ...
    @property
    def effect_size_ci_lower(self) -> float: ...
    @property
    def effect_size_ci_upper(self) -> float: ...


@dataclass(frozen=True)
class CostPerIncremental:
    """Cost per incremental conversion with its Fieller interval.

    ``ci_lower`` and ``ci_upper`` are NaN unless ``interval`` is ``"bounded"``.
    """

    cost: float
    incremental: float
    estimate: float
    ci_lower: float
    ci_upper: float
    error: str | None = None
    interval: IntervalKind = "unbounded"
    method: str = FIELLER


def cost_per_incremental(cost: float, effect: _Effect, units: int) -> CostPerIncremental:
    """Cost per incremental conversion of an arm.

    Args:
        cost: Total money spent on the arm (one currency).
        effect: The arm's absolute conversion effect against the holdout, with its interval.
        units: Units in the arm.

    Returns:
        ``estimate = cost / (units * effect)`` with Fieller's interval for a known
        numerator (the effect's interval mapped through ``cost / (units * ·)``; both
        bounds NaN when the effect's interval includes zero); NaN with error
        ``no_incremental_conversions`` when the effect is not positive.

    Examples:
        >>> class E:  # effect 0.02 (0.01, 0.03) on 1000 units costing 100
        ...     effect_size, effect_size_ci_lower, effect_size_ci_upper = 0.02, 0.01, 0.03
        >>> r = cost_per_incremental(100.0, E(), 1000)
        >>> round(r.estimate, 4), round(r.ci_lower, 4), round(r.ci_upper, 4), r.interval
        (5.0, 3.3333, 10.0, 'bounded')
    """
    incremental = units * effect.effect_size
    if not math.isfinite(incremental) or incremental <= 0:
        return CostPerIncremental(
            cost, incremental, math.nan, math.nan, math.nan, "no_incremental_conversions"
        )
    estimate = cost / incremental
    interval = known_numerator_interval(
        cost, units * effect.effect_size_ci_lower, units * effect.effect_size_ci_upper, estimate
    )
    return CostPerIncremental(
        cost, incremental, estimate, interval.lower, interval.upper, interval=interval.kind
    )


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

    ``ratio < 1`` means ``arm`` buys an incremental conversion for less. The interval is
    Fieller's for the ratio of the two effects (scaled by the known costs), with the
    covariance the shared holdout induces between them; ``ratio_ci_lower`` and
    ``ratio_ci_upper`` are NaN unless ``interval`` is ``"bounded"``. The p-value tests a
    ratio of 1 (the same test the interval inverts).
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
    interval: IntervalKind = "unbounded"
    method: str = FIELLER


def compare_cost_per_incremental(
    a: ArmCost, b: ArmCost, control_variance: float, alpha: float = 0.05
) -> CostComparison:
    """Compare two arms' cost per incremental conversion against one shared holdout.

    With ``c = cost / units`` and effects ``d`` (both against the same control mean, so
    ``cov(d_a, d_b) = var(control mean)``), the ratio is

        (c_a / d_a) / (c_b / d_b) = k · d_b / d_a,   k = c_a / c_b,

    and its interval is ``k`` times Fieller's interval for ``d_b / d_a`` with normal
    critical value ``z``: the ``θ`` with
    ``(d_b − θ·d_a)² ≤ z²·(se_b² − 2θ·var(control) + θ²·se_a²)``. It is bounded only when
    ``d_a``'s interval excludes zero; otherwise both bounds are NaN. The p-value of
    ``ratio = 1`` is that of ``k·d_b − d_a = 0``:
    ``z = (k·d_b − d_a) / √(k²·se_b² + se_a² − 2k·var(control))``.

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
        (0.556, 0.137, 0.934)

    References:
        - Fieller, E. C. (1954). Some problems in interval estimation. JRSS B 16, 175–185.
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
    scale = (a.cost / a.units) / (b.cost / b.units)
    variance = scale**2 * b.se**2 + a.se**2 - 2 * scale * control_variance
    if not (variance > 0 and a.se > 0):
        return CostComparison(
            a.arm, b.arm, cpic_a, cpic_b, ratio, math.nan, math.nan, math.nan, "zero_variance"
        )
    z = float(sps.norm.ppf(1 - alpha / 2))
    effects = fieller_interval(b.effect, a.effect, b.se**2, a.se**2, control_variance, z)
    return CostComparison(
        arm=a.arm,
        other_arm=b.arm,
        cost_per_incremental=cpic_a,
        other_cost_per_incremental=cpic_b,
        ratio=ratio,
        ratio_ci_lower=scale * effects.lower,
        ratio_ci_upper=scale * effects.upper,
        pvalue=float(2 * sps.norm.sf(abs(scale * b.effect - a.effect) / math.sqrt(variance))),
        interval=effects.kind,
    )
