"""Always-valid inference: asymptotic confidence sequences for a difference in means.

A fixed-horizon confidence interval covers the truth with probability 1 − α at *one*
pre-planned look. A scheduled report that is read every day looks many times, and the
chance that at least one of those intervals excludes the truth grows with every look.
A confidence sequence covers the truth with probability ≥ 1 − α *simultaneously at every
sample size*, so it may be read, and acted on, as often as one likes.

This module implements the normal-mixture boundary of the asymptotic confidence
sequences of Waudby-Smith et al. (2021). For an estimator whose standard error after
``t`` units is ``se`` (so the per-unit standard deviation is ``σ̂ = se·√t``), the
two-sided sequence is

    estimate ± se · sqrt( (tρ² + 1) / (tρ²) · log((tρ² + 1) / α²) )

and the one-sided sequence (Howard et al. 2021, one-sided normal mixture) is

    estimate − se · sqrt( 2 (tρ² + 1) / (tρ²) · log(1 + sqrt(tρ² + 1) / (2α)) ).

ρ > 0 is a tuning parameter that sets the sample size at which the sequence is
tightest; :func:`optimal_rho` picks the ρ that minimises the width at a planned number
of units. Any fixed ρ gives a valid sequence; ρ must not be chosen from the data.

Inverting the boundary gives an always-valid p-value (:func:`always_valid_pvalue`):
the smallest α at which the sequence excludes zero. It is ≤ α exactly when the
sequence at level α excludes zero.

References:
    - Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A. (2021).
      Time-uniform central limit theory and asymptotic confidence sequences.
      arXiv:2103.06476 (Annals of Statistics, 2024).
    - Howard, S. R., Ramdas, A., McAuliffe, J., & Sekhon, J. (2021). Time-uniform,
      nonparametric, nonasymptotic confidence sequences. Annals of Statistics 49(2),
      1055–1080.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]


def optimal_rho(
    target_units: float, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> float:
    """Tuning parameter ρ that makes the sequence tightest at ``target_units``.

    Args:
        target_units: Planned number of units (both arms together) at which the
            sequence should be narrowest. Must be positive.
        alpha: Significance level, in (0, 1).
        alternative: ``"two-sided"`` or a one-sided alternative. One-sided sequences
            use the two-sided optimum at level 2α, a close approximation.

    Returns:
        ρ = sqrt((−2 log a + log(1 − 2 log a)) / target_units) with a = α (two-sided)
        or a = 2α (one-sided).

    Raises:
        ValueError: if ``target_units`` is not positive or ``alpha`` is not in (0, 1).

    References:
        - Waudby-Smith et al. (2021), Time-uniform central limit theory and asymptotic
          confidence sequences, the choice of ρ minimising the boundary at a given t.
    """
    if not target_units > 0:
        raise ValueError(f"target_units must be positive, got {target_units!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    level = alpha if alternative == "two-sided" else min(2 * alpha, 0.5)
    log_term = -2 * math.log(level)
    return math.sqrt((log_term + math.log(log_term + 1)) / target_units)


def boundary_multiplier(
    units: float, rho: float, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> float:
    """Half-width of the confidence sequence in units of the standard error.

    Args:
        units: Number of units (both arms together) observed so far, ``t``.
        rho: Tuning parameter (see :func:`optimal_rho`).
        alpha: Significance level, in (0, 1).
        alternative: ``"two-sided"`` for the two-sided normal mixture, otherwise the
            one-sided normal mixture.

    Returns:
        The multiplier ``m`` such that the sequence is ``estimate ± m·se`` (two-sided)
        or ``estimate − m·se`` / ``estimate + m·se`` (one-sided). NaN when ``units``
        is not positive.

    References:
        - Waudby-Smith et al. (2021), two-sided normal-mixture boundary.
        - Howard et al. (2021), one-sided normal-mixture boundary.
    """
    if not units > 0:
        return math.nan
    v = units * rho * rho
    if alternative == "two-sided":
        return math.sqrt((v + 1) / v * math.log((v + 1) / (alpha * alpha)))
    return math.sqrt(2 * (v + 1) / v * math.log1p(math.sqrt(v + 1) / (2 * alpha)))


def always_valid_pvalue(
    statistic: float, units: float, rho: float, alternative: Alternative = "two-sided"
) -> float:
    """Always-valid p-value: the smallest α whose confidence sequence excludes zero.

    Args:
        statistic: ``estimate / se``.
        units: Number of units observed so far, ``t``.
        rho: Tuning parameter used for the sequence.
        alternative: Direction of the test.

    Returns:
        ``min(1, sqrt(tρ²+1)·exp(−z²tρ²/(2(tρ²+1))))`` for two-sided tests (the
        reciprocal of the normal-mixture martingale), and
        ``min(1, sqrt(tρ²+1) / (2·(exp(z²tρ²/(2(tρ²+1))) − 1)))`` for one-sided tests
        when the estimate lies in the alternative's direction (1 otherwise).
        NaN if the statistic is NaN or ``units`` is not positive.

    References:
        - Waudby-Smith et al. (2021); Howard et al. (2021).
    """
    if math.isnan(statistic) or not units > 0:
        return math.nan
    v = units * rho * rho
    exponent = statistic * statistic * v / (2 * (v + 1))
    if alternative == "two-sided":
        return min(1.0, math.sqrt(v + 1) * math.exp(-exponent))
    directed = statistic if alternative == "greater" else -statistic
    if directed <= 0:
        return 1.0
    return min(1.0, math.sqrt(v + 1) / (2 * math.expm1(exponent)))


@dataclass(frozen=True)
class ConfidenceSequence:
    """One look at an asymptotic confidence sequence.

    Attributes:
        estimate: Point estimate.
        lower: Lower bound (−inf for ``alternative="less"``).
        upper: Upper bound (+inf for ``alternative="greater"``).
        pvalue: Always-valid p-value against zero.
        multiplier: Half-width divided by the standard error.
        rho: Tuning parameter used.
        units: Units observed at this look.
    """

    estimate: float
    lower: float
    upper: float
    pvalue: float
    multiplier: float
    rho: float
    units: float


def confidence_sequence(
    estimate: float,
    se: float,
    units: float,
    *,
    target_units: float,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> ConfidenceSequence:
    """Asymptotic confidence sequence for an asymptotically normal estimator.

    Args:
        estimate: Point estimate at this look (e.g. a difference in means).
        se: Its standard error at this look (e.g. Welch's
            ``sqrt(var_c/n_c + var_t/n_t)``).
        units: Units observed at this look, both arms together.
        target_units: Planned number of units at which to be tightest; fixes ρ and
            must not depend on the data.
        alpha: Significance level (time-uniform miscoverage).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        The sequence's bounds and always-valid p-value at this look.

    References:
        - Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A. (2021).
          Time-uniform central limit theory and asymptotic confidence sequences.
          arXiv:2103.06476.
        - Howard, S. R., Ramdas, A., McAuliffe, J., & Sekhon, J. (2021). Time-uniform,
          nonparametric, nonasymptotic confidence sequences. Ann. Statist. 49(2).
    """
    rho = optimal_rho(target_units, alpha, alternative)
    multiplier = boundary_multiplier(units, rho, alpha, alternative)
    half_width = multiplier * se
    lower = -math.inf if alternative == "less" else estimate - half_width
    upper = math.inf if alternative == "greater" else estimate + half_width
    statistic = estimate / se if se > 0 else math.nan
    return ConfidenceSequence(
        estimate=estimate,
        lower=lower,
        upper=upper,
        pvalue=always_valid_pvalue(statistic, units, rho, alternative),
        multiplier=multiplier,
        rho=rho,
        units=units,
    )
