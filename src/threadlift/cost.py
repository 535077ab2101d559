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


def calling_code_markets() -> tuple[list[str], list[str]]:
    """E.164 country calling codes and the market (ISO region) each stands for.

    The main region of a shared code is used (``1`` → ``US``, ``7`` → ``RU``, ``44`` →
    ``GB``), as in phonenumbers' metadata. Returned as parallel lists for a SQL parameter.
    """
    import phonenumbers

    codes: list[str] = []
    regions: list[str] = []
    for code, region_codes in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        main = next((r for r in region_codes if r != "001"), None)
        if main is not None:
            codes.append(str(code))
            regions.append(main)
    return codes, regions
