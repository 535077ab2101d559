"""Lift: every metric of every arm against its control arm (intent to treat).

The SQL (``sql/analysis/lift/``) returns per-arm sufficient statistics; this module maps
them to :class:`~threadlift.core.moments.SufficientStats` and compares them with
:func:`threadlift.core.stats.compare`. Python never sees per-unit rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment, Metric

Correction = Literal["holm", "fdr_bh"]

@dataclass(frozen=True)
class MetricRow:
    """One metric's comparison of one arm with its control arm, as report.json shows it."""

    metric: str
    type: str
    """``proportion``, ``mean`` or ``ratio``."""
    arm: str
    control_arm: str
    control: float
    """The control arm's proportion, mean or ratio."""
    treatment: float
    """The arm's proportion, mean or ratio."""
    effect_size: float
    """``treatment - control``."""
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    """``treatment / control - 1``."""
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    pvalue_adjusted: float
    """The p-value adjusted for multiple testing across all metrics and arm pairs."""
    method: str
    """The test that gave the interval and p-value (``welch_t``, ``prop_test``, …)."""
    error: str | None
    """Named error code of a degenerate comparison (``None`` when it is sound)."""


@dataclass(frozen=True)
class MetricResult:
    """One metric's comparison of one arm with its control arm."""

    metric: str
    type: str
    arm: str
    control_arm: str
    comparison: stats.Comparison
    pvalue_adjusted: float = math.nan

    def row(self) -> MetricRow:
        """The result as report.json shows it (the comparison's statistics inlined)."""
        c = self.comparison
        return MetricRow(
            metric=self.metric,
            type=self.type,
            arm=self.arm,
            control_arm=self.control_arm,
            control=c.control,
            treatment=c.treatment,
            effect_size=c.effect_size,
            effect_size_ci_lower=c.effect_size_ci_lower,
            effect_size_ci_upper=c.effect_size_ci_upper,
            rel_effect_size=c.rel_effect_size,
            rel_effect_size_ci_lower=c.rel_effect_size_ci_lower,
            rel_effect_size_ci_upper=c.rel_effect_size_ci_upper,
            pvalue=c.pvalue,
            pvalue_adjusted=self.pvalue_adjusted,
            method=c.method,
            error=c.error,
        )


def comparison_pairs(experiment: Experiment) -> list[tuple[str, str]]:
    """(arm, control_arm): each treatment against the holdout, then treatment against treatment."""
    control = experiment.control_arm
    treatments = [arm.name for arm in experiment.arms if arm.name != control]
    pairs = [(arm, control) for arm in treatments]
    for i, first in enumerate(treatments):
        for second in treatments[i + 1 :]:
            pairs.append((second, first))
    return pairs

def compare_metrics(
    all_stats: dict[str, dict[str, SufficientStats]],
    experiment: Experiment,
    correction: Correction,
    warnings: list[str],
) -> list[MetricResult]:
    results: list[MetricResult] = []
    for metric in experiment.metrics:
        per_arm = all_stats.get(metric.name, {})
        allowed = set(metric.arms) if metric.arms else None
        for arm, control_arm in comparison_pairs(experiment):
            if allowed is not None and not {arm, control_arm} <= allowed:
                continue
            comparison = compare_metric(experiment, metric, per_arm, control_arm, arm)
            if comparison.error:
                warnings.append(
                    f"metric {metric.name} ({arm} vs {control_arm}): {comparison.error}"
                )
            results.append(MetricResult(metric.name, metric.type, arm, control_arm, comparison))
    adjusted = stats.adjust_pvalues([r.comparison.pvalue for r in results], method=correction)
    return [
        MetricResult(r.metric, r.type, r.arm, r.control_arm, r.comparison, p)
        for r, p in zip(results, adjusted, strict=True)
    ]

def compare_metric(
    experiment: Experiment,
    metric: Metric,
    per_arm: dict[str, SufficientStats],
    control_arm: str,
    arm: str,
) -> stats.Comparison:
    """``arm`` against ``control_arm`` on ``metric``, with the experiment's test settings."""
    return stats.compare(
        metric.type,
        per_arm.get(control_arm, SufficientStats(units=0)),
        per_arm.get(arm, SufficientStats(units=0)),
        alpha=experiment.alpha,
        cuped=metric.cuped_days is not None,
        sequential=experiment.sequential,
        proportion_test=metric.proportion_test,
    )

def first_against_control(
    metrics: list[MetricResult], control: str, metric_type: str
) -> dict[str, MetricResult]:
    """Per arm, the first metric of ``metric_type`` compared with the control arm."""
    name = next((m.metric for m in metrics if m.type == metric_type), None)
    return {
        m.arm: m for m in metrics if m.metric == name and m.control_arm == control
    }

_ONE = "1"

_ZERO = "0"

_SQL_VARIABLES = ("ind", "val", "cnt", "pre_ind", "pre_val", "pre_cnt")

_STATS_VARIABLES = ("main", "denominator", "covariate", "covariate_denominator")

def _variables(metric: Metric) -> dict[str, str]:
    """Which SQL variable (or constant 1 / 0) plays each SufficientStats variable."""
    cuped = metric.cuped_days is not None
    if metric.type == "ratio":
        return {
            "main": "val",
            "denominator": "cnt",
            "covariate": "pre_val" if cuped else _ZERO,
            "covariate_denominator": "pre_cnt" if cuped else _ZERO,
        }
    main = "ind" if metric.type == "proportion" else "val"
    return {
        "main": main,
        "denominator": _ONE,
        "covariate": f"pre_{main}" if cuped else _ZERO,
        "covariate_denominator": _ONE if cuped else _ZERO,
    }

def metric_stats(
    engine: Engine, experiment: Experiment
) -> dict[str, dict[str, SufficientStats]]:
    """Sufficient statistics per metric name and arm, from one pass over ``actions``."""
    specs = _metric_specs(experiment)
    if not specs:
        return {}
    return _stats_by_metric(experiment, action_moments(engine, specs))

def _metric_specs(experiment: Experiment) -> list[tuple[str, int]]:
    """The distinct ``(action, cuped_days)`` pairs the metrics need (0: no CUPED)."""
    return sorted({(m.action, m.cuped_days or 0) for m in experiment.metrics})

def _stats_by_metric(
    experiment: Experiment, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, SufficientStats]]:
    """Per metric name and arm, the sufficient statistics in moment ``rows`` (one per spec
    and arm, as ``analysis/lift/action_moments`` returns them); arms without a row get none."""
    by_spec: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_spec.setdefault((str(row["action"]), int(row["cuped_days"])), {})[str(row["arm"])] = row
    result: dict[str, dict[str, SufficientStats]] = {}
    for metric in experiment.metrics:
        per_arm = by_spec.get((metric.action, metric.cuped_days or 0), {})
        result[metric.name] = {
            arm.name: moments_to_stats(metric, per_arm.get(arm.name)) for arm in experiment.arms
        }
    return result

def action_moments(engine: Engine, specs: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """Per-arm moments of each ``(action, cuped_days)`` spec (``analysis/lift/action_moments``).

    When the specs use at most one pre-period length, the equivalent single-pass query
    ``analysis/lift/action_moments_one_lookback`` runs instead; both return the same rows
    (``tests/test_outcomes.py`` checks each against pandas).
    """
    params: dict[str, Any] = {
        "actions": [a for a, _ in specs],
        "cuped_days": [c for _, c in specs],
    }
    lookbacks = {c for _, c in specs if c > 0}
    if len(lookbacks) > 1:
        return engine.run("analysis/lift/action_moments", params).dicts()
    params["action_list"] = sorted({a for a, _ in specs})
    params["lookback"] = lookbacks.pop() if lookbacks else 0
    return engine.run("analysis/lift/action_moments_one_lookback", params).dicts()

def moments_to_stats(metric: Metric, row: dict[str, Any] | None) -> SufficientStats:
    """The sufficient statistics of ``metric`` in one arm's moment ``row`` (the columns of
    ``analysis/lift/action_moments``); no units when ``row`` is None."""
    if row is None:
        return SufficientStats(units=0)
    units = int(row["units"])
    variables = _variables(metric)

    def moment(left: str, right: str) -> float:
        """Sum over units of left * right, where either may be the constant 1 or 0."""
        if _ZERO in (left, right):
            return 0.0
        if left == _ONE and right == _ONE:
            return float(units)
        if _ONE in (left, right):
            return _value(row, f"{right if left == _ONE else left}_sum")
        if left == right:
            return _value(row, f"{left}_sum_squares")
        a, b = sorted((left, right), key=_SQL_VARIABLES.index)
        return _value(row, f"{a}_{b}_sum_product")

    fields: dict[str, float] = {}
    for i, left in enumerate(_STATS_VARIABLES):
        fields[f"{left}_sum"] = moment(variables[left], _ONE)
        for right in _STATS_VARIABLES[i:]:
            name = f"{left}_sum_squares" if left == right else f"{left}_{right}_sum_product"
            fields[name] = moment(variables[left], variables[right])
    return SufficientStats(units=units, **fields)

def _value(row: dict[str, Any], name: str) -> float:
    value = row.get(name)
    return float(value) if value is not None else 0.0
