"""Fieller's confidence set for a ratio of two (jointly normal) estimates (pure).

For estimates ``a`` and ``b`` of ``α`` and ``β`` with variances ``v_aa``, ``v_bb`` and
covariance ``v_ab``, the set of ratios ``θ = α / β`` not rejected at critical value ``q``
is

    {θ : (a − θ·b)² ≤ q² · (v_aa − 2θ·v_ab + θ²·v_bb)},

since ``a − θ·b`` is normal with mean 0 and that variance when ``θ`` is the true ratio.
Written as a quadratic ``A·θ² − 2B·θ + C ≤ 0`` with

    A = b² − q²·v_bb,   B = a·b − q²·v_ab,   C = a² − q²·v_aa,   D = B² − A·C,

the set is

* ``A > 0`` (the denominator is significantly away from zero): the interval
  ``[(B − √D)/A, (B + √D)/A]``;
* ``A < 0`` and ``D > 0``: two rays, ``(−∞, r₁] ∪ [r₂, ∞)`` — the complement of an
  interval, ``kind = "complement"``;
* ``A ≤ 0`` otherwise: every real number, ``kind = "unbounded"``.

So when the denominator's own interval ``b ± q·√v_bb`` includes zero the set is never a
finite interval: a report shows no bounds rather than a finite interval that would
not cover the ratio at its stated rate (which is what the delta method does there).
Its coverage is exact under normality of ``(a, b)``, whatever ``β``.

References:
    - Fieller, E. C. (1954). Some problems in interval estimation. Journal of the Royal
      Statistical Society, Series B 16(2), 175–185.
    - Franz, V. H. (2007). Ratios: A short guide to confidence limits and proper use.
      arXiv:0710.2024.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

FIELLER = "fieller"
"""The method name reports give intervals computed here."""

IntervalKind = Literal["bounded", "complement", "unbounded"]


@dataclass(frozen=True)
class RatioInterval:
    """Fieller's confidence set for a ratio.

    Attributes:
        estimate: ``a / b`` (NaN when ``b`` is 0).
        kind: ``"bounded"`` (``[lower, upper]``), ``"complement"`` (everything outside
            ``(excluded_lower, excluded_upper)``) or ``"unbounded"`` (every number).
        lower: Lower bound of a bounded set; NaN otherwise.
        upper: Upper bound of a bounded set; NaN otherwise.
        excluded_lower: For ``"complement"``: the upper end of the lower ray; else NaN.
        excluded_upper: For ``"complement"``: the lower end of the upper ray; else NaN.
    """

    estimate: float
    kind: IntervalKind
    lower: float = math.nan
    upper: float = math.nan
    excluded_lower: float = math.nan
    excluded_upper: float = math.nan


def fieller_interval(
    a: float,
    b: float,
    var_a: float,
    var_b: float,
    cov_ab: float,
    critical: float,
) -> RatioInterval:
    """Fieller's confidence set for ``α / β`` from estimates ``a`` and ``b``.

    Args:
        a: Estimate of the numerator.
        b: Estimate of the denominator.
        var_a: Variance of ``a`` (0 for a known numerator).
        var_b: Variance of ``b``.
        cov_ab: Covariance of ``a`` and ``b``.
        critical: Critical value ``q`` of the two-sided interval (``1.96`` for 95 % with a
            normal reference, a t quantile with Welch's degrees of freedom, …).

    Returns:
        The set (see the module docstring). With a known numerator (``var_a = 0``,
        ``cov_ab = 0``) it is the denominator's interval ``b ± q·√var_b`` mapped through
        ``a / ·``, computed in that closed form.

    Examples:
        >>> r = fieller_interval(10.0, 2.0, 1.0, 0.25, 0.0, 1.96)
        >>> r.kind, round(r.lower, 4), round(r.upper, 4)
        ('bounded', 3.1653, 9.9943)
        >>> fieller_interval(10.0, 0.5, 1.0, 0.25, 0.0, 1.96).kind
        'complement'
        >>> fieller_interval(0.5, 0.5, 1.0, 0.25, 0.0, 1.96).kind
        'unbounded'
    """
    if not all(math.isfinite(x) for x in (a, b, var_a, var_b, cov_ab, critical)):
        return RatioInterval(math.nan, "unbounded")
    estimate = a / b if b != 0 else math.nan
    q2 = critical * critical
    if var_a == 0 and cov_ab == 0:
        half = critical * math.sqrt(var_b)
        return known_numerator_interval(a, b - half, b + half, estimate)
    big_a = b * b - q2 * var_b
    big_b = a * b - q2 * cov_ab
    big_c = a * a - q2 * var_a
    discriminant = big_b * big_b - big_a * big_c
    if big_a > 0:
        root = math.sqrt(max(discriminant, 0.0))
        return RatioInterval(estimate, "bounded", (big_b - root) / big_a, (big_b + root) / big_a)
    if big_a < 0 and discriminant > 0:
        root = math.sqrt(discriminant)
        ends = sorted(((big_b - root) / big_a, (big_b + root) / big_a))
        return RatioInterval(
            estimate, "complement", excluded_lower=ends[0], excluded_upper=ends[1]
        )
    return RatioInterval(estimate, "unbounded")


def known_numerator_interval(
    a: float, low: float, high: float, estimate: float
) -> RatioInterval:
    """Fieller's set for ``a / β`` with ``a`` known and ``β`` in the interval ``[low, high]``.

    With no uncertainty in the numerator the quadratic reduces to ``a / θ ∈ [low, high]``:
    the denominator's interval mapped through ``a / ·`` — bounded when it excludes zero,
    the complement of ``(a/low, a/high)`` when it straddles zero, everything when an end
    is zero (or ``a`` is).

    Args:
        a: The known numerator.
        low: Lower bound of the denominator's interval.
        high: Upper bound of the denominator's interval.
        estimate: The ratio's point estimate, passed through.

    Examples:
        >>> r = known_numerator_interval(250.0, 40.0, 160.0, 2.5)
        >>> r.kind, r.lower, r.upper
        ('bounded', 1.5625, 6.25)
        >>> r = known_numerator_interval(250.0, -20.0, 220.0, 2.5)
        >>> r.kind, r.excluded_lower, round(r.excluded_upper, 4)
        ('complement', -12.5, 1.1364)
    """
    if not all(math.isfinite(x) for x in (a, low, high)):
        return RatioInterval(estimate, "unbounded")
    if low > 0 or high < 0:
        first, second = sorted((a / high, a / low))
        return RatioInterval(estimate, "bounded", first, second)
    if a == 0 or low == 0 or high == 0:
        return RatioInterval(estimate, "unbounded")
    first, second = sorted((a / low, a / high))
    return RatioInterval(estimate, "complement", excluded_lower=first, excluded_upper=second)
