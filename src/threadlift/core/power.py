"""Planning a holdout: sample size, power or minimum detectable effect, and what it costs.

Exactly one of the effect, the control arm's units and the power is left out of
:func:`plan`; it is solved from the others. Allocation may be unequal:
``ratio = n_treatment / n_control`` (a 10 % holdout with one treatment arm is
``ratio=9``). Every formula is statsmodels':

- proportions, ``method="prop_test"`` (default): the pooled-null / unpooled-alternative
  normal approximation of ``statsmodels.stats.proportion.power_proportions_2indep``;
  with ``ratio=1`` it is R's ``power.prop.test``;
- proportions, ``method="cohen_h"``: Cohen's arcsine effect size h
  (``proportion_effectsize``) with ``NormalIndPower``; R's ``pwr.2p2n.test``;
- means, ``method="t_test"``: Cohen's d = effect / sd with ``TTestIndPower``
  (noncentral t, pooled df); R's ``pwr.t2n.test`` (``power.t.test`` when ``ratio=1``).

The analysis itself uses Welch's t (:mod:`threadlift.core.stats`); with the same variance in
both arms, as planning assumes, Welch's test and these approximations agree closely.

Cost: give ``cost_per_treated_unit`` (price of a delivered message × messages per
treated unit) and the plan also says what the experiment's sends cost, how many actions
the holdout forgoes, and what one incremental action costs at the planned effect;
:func:`incremental_cost` turns a measured effect and its interval into a cost per
incremental action with an interval, so channels with different prices (WhatsApp
against SMS or email) can be compared on what a result costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import scipy.optimize
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    proportion_effectsize,
    samplesize_proportions_2indep_onetail,
)

from threadlift.errors import InputError

Alternative = Literal["two-sided", "greater", "less"]
PowerMethod = Literal["prop_test", "cohen_h", "t_test"]

_STATSMODELS_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
_EDGE = 1e-9


@dataclass(frozen=True)
class Plan:
    """A solved holdout design.

    Attributes:
        metric_type: ``"proportion"`` or ``"mean"``.
        method: ``"prop_test"``, ``"cohen_h"`` or ``"t_test"``.
        solved_for: ``"units"``, ``"power"`` or ``"effect"``.
        alpha: Significance level.
        power: Power at ``effect_size``.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        ratio: ``n_treatment / n_control``.
        baseline: Control share (proportions) or mean (means).
        sd: Per-unit standard deviation (means only).
        effect_size: Absolute effect ``treatment − control``.
        rel_effect_size: ``effect_size / baseline``.
        standardized_effect: Cohen's h or d (NaN for ``prop_test``).
        control_units_exact: Control units before rounding up.
        treatment_units_exact: Treatment units before rounding up.
        control_units: Control units, rounded up.
        treatment_units: Treatment units, rounded up.
        total_units: Both arms together.
        cost_per_treated_unit: Cost of the sends to one treated unit, if given.
        experiment_cost: ``treatment_units × cost_per_treated_unit``.
        forgone_actions: Incremental actions the holdout gives up,
            ``control_units × effect_size``.
        cost_per_incremental_action: ``cost_per_treated_unit / effect_size`` when the
            effect is positive.
    """

    metric_type: Literal["proportion", "mean"]
    method: PowerMethod
    solved_for: Literal["units", "power", "effect"]
    alpha: float
    power: float
    alternative: Alternative
    ratio: float
    baseline: float
    sd: float | None
    effect_size: float
    rel_effect_size: float
    standardized_effect: float
    control_units_exact: float
    treatment_units_exact: float
    control_units: int
    treatment_units: int
    total_units: int
    cost_per_treated_unit: float | None = None
    experiment_cost: float | None = None
    forgone_actions: float | None = None
    cost_per_incremental_action: float | None = None

    def to_dict(self) -> dict[str, object]:
        """All fields as a flat dictionary (for the CLI and JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class IncrementalCost:
    """Cost of one incremental action, with an interval.

    Attributes:
        cost_per_treated_unit: What the sends to one treated unit cost.
        effect_size: Incremental actions per treated unit (intent to treat).
        cost_per_incremental_action: ``cost_per_treated_unit / effect_size``; +inf when
            the effect is not positive.
        ci_lower: Lower bound (the cost at the effect's upper bound).
        ci_upper: Upper bound (the cost at the effect's lower bound; +inf when the
            effect's interval reaches zero).
    """

    cost_per_treated_unit: float
    effect_size: float
    cost_per_incremental_action: float
    ci_lower: float
    ci_upper: float


def _cost_at(cost_per_treated_unit: float, effect: float) -> float:
    if math.isnan(effect):
        return math.nan
    return cost_per_treated_unit / effect if effect > 0 else math.inf


def incremental_cost(
    cost_per_treated_unit: float,
    effect_size: float,
    effect_size_ci_lower: float = math.nan,
    effect_size_ci_upper: float = math.nan,
) -> IncrementalCost:
    """Cost per incremental action from a measured effect and the price of the sends.

    The price is known, so the interval is the effect's interval mapped through the
    decreasing function ``cost / effect`` (an exact transformation, no approximation):
    ``[cost / upper, cost / lower]``, with +inf where the effect bound is not positive.

    Args:
        cost_per_treated_unit: Cost of the sends to one treated unit (price of a
            delivered message × messages per treated unit).
        effect_size: Incremental actions per treated unit, e.g. a conversion lift.
        effect_size_ci_lower: Lower bound of the effect's interval.
        effect_size_ci_upper: Upper bound of the effect's interval.

    Returns:
        The cost per incremental action and its interval.

    Raises:
        InputError: if the cost is negative.

    Examples:
        >>> incremental_cost(0.05, 0.01, 0.005, 0.015).cost_per_incremental_action
        5.0
        >>> incremental_cost(0.05, 0.01, -0.001, 0.02).ci_upper
        inf
    """
    if not cost_per_treated_unit >= 0:
        raise InputError(
            f"cost_per_treated_unit must be zero or more, got {cost_per_treated_unit!r}"
        )
    return IncrementalCost(
        cost_per_treated_unit=cost_per_treated_unit,
        effect_size=effect_size,
        cost_per_incremental_action=_cost_at(cost_per_treated_unit, effect_size),
        ci_lower=_cost_at(cost_per_treated_unit, effect_size_ci_upper),
        ci_upper=_cost_at(cost_per_treated_unit, effect_size_ci_lower),
    )


def _proportion_power(
    p_control: float, effect: float, n_control: float, ratio: float, alpha: float,
    alternative: Alternative,
) -> float:
    """Power of the pooled two-proportion z-test (statsmodels)."""
    result = power_proportions_2indep(
        effect, p_control, n_control * ratio, ratio=1 / ratio, alpha=alpha,
        alternative=_STATSMODELS_ALTERNATIVE[alternative],
    )
    return float(result.power)


def _solve_effect(
    power_at: Callable[[float], float], target: float, low: float, high: float
) -> float:
    """The effect between ``low`` and ``high`` (``|low| < |high|``) with power ``target``."""
    if power_at(high) < target:
        raise InputError(
            f"power {target} cannot be reached at any effect with these units; "
            "add units or lower the power"
        )
    return float(scipy.optimize.brentq(lambda x: power_at(x) - target, low, high,
                                       xtol=1e-14, rtol=1e-12))


def _solve_prop_test(
    baseline: float, effect: float | None, control_units: float | None,
    power: float | None, ratio: float, alpha: float, alternative: Alternative,
) -> tuple[float, float, float]:
    """Effect, control units and power for the pooled two-proportion z-test."""
    if effect is not None and power is not None:
        treatment_n = samplesize_proportions_2indep_onetail(
            effect, baseline, power, ratio=1 / ratio, alpha=alpha,
            alternative=_STATSMODELS_ALTERNATIVE[alternative],
        )
        control_units = float(treatment_n) / ratio
    elif effect is None and control_units is not None and power is not None:
        sign = -1.0 if alternative == "less" else 1.0
        n_c = control_units
        limit = (1 - baseline if sign > 0 else baseline) - _EDGE
        effect = sign * _solve_effect(
            lambda x: _proportion_power(baseline, sign * x, n_c, ratio, alpha, alternative),
            power, _EDGE, limit,
        )
    if effect is None or control_units is None:
        raise InputError("leave out exactly one of the effect, control_units and power")
    return effect, control_units, _proportion_power(
        baseline, effect, control_units, ratio, alpha, alternative
    )


def _solve_standardized(
    method: PowerMethod, baseline: float, sd: float | None, effect: float | None,
    control_units: float | None, power: float | None, ratio: float, alpha: float,
    alternative: Alternative,
) -> tuple[float, float, float, float]:
    """Effect, control units, power and Cohen's h or d for the standardised-effect tests."""
    engine = NormalIndPower() if method == "cohen_h" else TTestIndPower()
    sm_alternative = _STATSMODELS_ALTERNATIVE[alternative]
    scale = sd if sd is not None else 1.0
    if effect is None:
        standardized = float(engine.solve_power(
            effect_size=None, nobs1=control_units, alpha=alpha, power=power, ratio=ratio,
            alternative=sm_alternative,
        ))
        if alternative == "two-sided":
            standardized = abs(standardized)
        if method == "cohen_h":
            angle = math.asin(math.sqrt(baseline)) + standardized / 2
            if not 0 < angle < math.pi / 2:
                raise InputError("no share reaches this power with these units; add units")
            effect = math.sin(angle) ** 2 - baseline
        else:
            effect = standardized * scale
    elif method == "cohen_h":
        standardized = float(proportion_effectsize(baseline + effect, baseline))
    else:
        standardized = effect / scale
    if control_units is None:
        control_units = float(engine.solve_power(
            effect_size=standardized, nobs1=None, alpha=alpha, power=power, ratio=ratio,
            alternative=sm_alternative,
        ))
    power = float(engine.power(standardized, control_units, alpha, ratio=ratio,
                               alternative=sm_alternative))
    return effect, control_units, power, standardized


def _check_inputs(
    metric_type: str, method: str, baseline: float, sd: float | None, alpha: float,
    ratio: float, alternative: str, power: float | None, control_units: float | None,
) -> None:
    if metric_type not in ("proportion", "mean"):
        raise InputError(f"plan supports 'proportion' and 'mean' metrics, got {metric_type!r}")
    allowed = ("prop_test", "cohen_h") if metric_type == "proportion" else ("t_test",)
    if method not in allowed:
        raise InputError(f"method {method!r} does not apply to {metric_type}; use {allowed}")
    if metric_type == "proportion" and not 0 < baseline < 1:
        raise InputError(f"a proportion's baseline must be in (0, 1), got {baseline!r}")
    if metric_type == "mean" and (sd is None or not sd > 0):
        raise InputError("a mean metric needs its per-unit standard deviation: pass sd > 0")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")
    if not ratio > 0:
        raise InputError(f"ratio (n_treatment / n_control) must be positive, got {ratio!r}")
    if alternative not in _STATSMODELS_ALTERNATIVE:
        raise InputError(f"alternative {alternative!r} is not known")
    if power is not None and not alpha < power < 1:
        raise InputError(f"power must be between alpha and 1, got {power!r}")
    if control_units is not None and not control_units > 1:
        raise InputError(f"control_units must be more than 1, got {control_units!r}")


def plan(
    metric_type: Literal["proportion", "mean"],
    *,
    baseline: float,
    sd: float | None = None,
    effect_size: float | None = None,
    rel_effect_size: float | None = None,
    control_units: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    method: PowerMethod | None = None,
    cost_per_treated_unit: float | None = None,
) -> Plan:
    """Solve a holdout design for units, power or the minimum detectable effect.

    Leave out exactly one of: the effect (``effect_size`` / ``rel_effect_size``),
    ``control_units``, ``power``.

    Args:
        metric_type: ``"proportion"`` or ``"mean"``.
        baseline: Control share (proportion) or control mean (mean).
        sd: Per-unit standard deviation, for means.
        effect_size: Absolute effect to detect, ``treatment − control``.
        rel_effect_size: Relative effect to detect (``effect_size / baseline``).
        control_units: Units in the control arm (holdout).
        power: Desired power.
        alpha: Significance level.
        ratio: ``n_treatment / n_control`` (9 for a 10 % holdout).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        method: ``"prop_test"`` (default for proportions), ``"cohen_h"`` or
            ``"t_test"`` (means).
        cost_per_treated_unit: Cost of the sends to one treated unit, for the cost
            fields.

    Returns:
        The solved design.

    Raises:
        InputError: when the inputs do not determine one unknown, are out of range,
            or ask for a power no effect can reach.

    References:
        - Fleiss, J. L., Levin, B., & Paik, M. C. (2003). Statistical Methods for Rates
          and Proportions (3rd ed.), ch. 4; R ``power.prop.test``.
        - Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences
          (2nd ed.); R package ``pwr`` (``pwr.2p2n.test``, ``pwr.t2n.test``).
        - statsmodels: ``power_proportions_2indep``, ``NormalIndPower``,
          ``TTestIndPower``.

    Examples:
        >>> p = plan("proportion", baseline=0.5, effect_size=0.25, power=0.9)
        >>> round(p.control_units_exact, 4)  # R: power.prop.test(p1=.5, p2=.75, power=.9)
        76.7069
    """
    method = method or ("prop_test" if metric_type == "proportion" else "t_test")
    _check_inputs(metric_type, method, baseline, sd, alpha, ratio, alternative, power,
                  control_units)
    if effect_size is not None and rel_effect_size is not None:
        raise InputError("give effect_size or rel_effect_size, not both")
    effect = effect_size if rel_effect_size is None else rel_effect_size * baseline
    unknowns = [name for name, value in
                (("effect", effect), ("units", control_units), ("power", power))
                if value is None]
    if len(unknowns) != 1:
        raise InputError(
            "leave out exactly one of the effect, control_units and power; "
            f"missing: {unknowns or 'none'}"
        )
    solved_for: Literal["units", "power", "effect"] = unknowns[0]  # type: ignore[assignment]
    if effect is not None and effect == 0:
        raise InputError("the effect to detect must not be 0")
    if metric_type == "proportion" and effect is not None and not 0 < baseline + effect < 1:
        raise InputError(
            f"baseline + effect must be a share in (0, 1), got {baseline + effect!r}"
        )
    if method == "prop_test":
        effect, control_units, power = _solve_prop_test(
            baseline, effect, control_units, power, ratio, alpha, alternative
        )
        standardized = math.nan
    else:
        effect, control_units, power, standardized = _solve_standardized(
            method, baseline, sd, effect, control_units, power, ratio, alpha, alternative
        )
    treatment_exact = control_units * ratio
    control_int = math.ceil(control_units - 1e-9)
    treatment_int = math.ceil(treatment_exact - 1e-9)
    experiment_cost = forgone = cost_per_action = None
    if cost_per_treated_unit is not None:
        if not cost_per_treated_unit >= 0:
            raise InputError("cost_per_treated_unit must be zero or more")
        experiment_cost = treatment_int * cost_per_treated_unit
        forgone = control_int * effect
        cost_per_action = _cost_at(cost_per_treated_unit, effect)
    return Plan(
        metric_type=metric_type,
        method=method,
        solved_for=solved_for,
        alpha=alpha,
        power=power,
        alternative=alternative,
        ratio=ratio,
        baseline=baseline,
        sd=sd,
        effect_size=effect,
        rel_effect_size=effect / baseline if baseline else math.nan,
        standardized_effect=standardized,
        control_units_exact=control_units,
        treatment_units_exact=treatment_exact,
        control_units=control_int,
        treatment_units=treatment_int,
        total_units=control_int + treatment_int,
        cost_per_treated_unit=cost_per_treated_unit,
        experiment_cost=experiment_cost,
        forgone_actions=forgone,
        cost_per_incremental_action=cost_per_action,
    )
