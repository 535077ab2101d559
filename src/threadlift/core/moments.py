"""Per-arm sufficient statistics: the fixed contract between SQL and statistics.

SQL (``sql/analysis/``) returns, per arm, the count of units and the sums and
cross-products of up to four per-unit variables:

- ``main``: the metric's numerator (0/1 for proportions, the value for means),
- ``denominator``: the ratio metric's denominator (1 for proportion and mean metrics),
- ``covariate``: the pre-period value of ``main`` (CUPED),
- ``covariate_denominator``: the pre-period value of ``denominator`` (ratio CUPED).

Statistics objects add together, so slices computed separately (days, shards, engines)
merge without revisiting rows. Field names follow GrowthBook's stats-engine contract.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

VARIABLES = ("main", "denominator", "covariate", "covariate_denominator")
"""The per-unit variables whose moments a :class:`SufficientStats` holds."""


@dataclass(frozen=True)
class SufficientStats:
    """Units, sums, sums of squares and cross-products of one arm for one metric."""

    units: int
    main_sum: float = 0.0
    main_sum_squares: float = 0.0
    denominator_sum: float = 0.0
    denominator_sum_squares: float = 0.0
    main_denominator_sum_product: float = 0.0
    covariate_sum: float = 0.0
    covariate_sum_squares: float = 0.0
    main_covariate_sum_product: float = 0.0
    denominator_covariate_sum_product: float = 0.0
    covariate_denominator_sum: float = 0.0
    covariate_denominator_sum_squares: float = 0.0
    main_covariate_denominator_sum_product: float = 0.0
    denominator_covariate_denominator_sum_product: float = 0.0
    covariate_covariate_denominator_sum_product: float = 0.0

    def __add__(self, other: Self) -> Self:
        return type(self)(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def sum(self, variable: str) -> float:
        """Sum of one variable over the arm's units."""
        return float(getattr(self, f"{variable}_sum"))

    def product_sum(self, left: str, right: str) -> float:
        """Sum over units of ``left * right`` (a sum of squares when they are equal)."""
        if left == right:
            return float(getattr(self, f"{left}_sum_squares"))
        a, b = sorted((left, right), key=VARIABLES.index)
        return float(getattr(self, f"{a}_{b}_sum_product"))

    def mean(self, variable: str) -> float:
        """Mean of one variable per unit (NaN for an empty arm)."""
        return self.sum(variable) / self.units if self.units else float("nan")


def proportion_stats(units: int, positives: float) -> SufficientStats:
    """Sufficient statistics of a 0/1 variable (denominator 1 per unit)."""
    return SufficientStats(
        units=units,
        main_sum=positives,
        main_sum_squares=positives,
        denominator_sum=float(units),
        denominator_sum_squares=float(units),
        main_denominator_sum_product=positives,
    )
