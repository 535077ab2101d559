"""Effects on those reached: complier (instrumental-variable) estimates of the lift among
units delivered to (or who read) the message, from the intent-to-treat effect and take-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


@dataclass(frozen=True)
class ComplierRow:
    """The effect of one arm on one metric among the units that reached a stage (Wald IV)."""

    metric: str
    arm: str
    control_arm: str
    stage: Literal["delivered", "read"]
    """Delivered to, or read by, the unit."""
    share: float
    """The arm's units that reached the stage over all its units (the take-up)."""
    effect_size: float
    """The intent-to-treat effect divided by the take-up."""
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    pvalue: float
    method: str
    error: str | None
    """Named error code of a degenerate estimate (``None`` when it is sound)."""


def complier_effects(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    all_stats: dict[str, dict[str, SufficientStats]],
) -> list[ComplierRow]:
    """Effects on those delivered / read: Wald IV estimates against the holdout."""
    control = experiment.control_arm
    if not any(arm.holdout for arm in experiment.arms):
        return []
    moments = takeup_moments(con, experiment, as_of)
    rows: list[ComplierRow] = []
    stages: tuple[Literal["delivered", "read"], ...] = ("delivered", "read")
    for metric in experiment.metrics:
        if metric.type == "ratio":
            continue
        per_arm = all_stats.get(metric.name, {})
        for arm in experiment.arms:
            if arm.name == control:
                continue
            for stage in stages:
                treated = moments.get((arm.name, metric.action, stage))
                if treated is None or treated.units == 0:
                    continue
                estimate = stats.complier_effect(
                    with_takeup(
                        per_arm.get(control, SufficientStats(0)),
                        moments.get((control, metric.action, stage)),
                        metric.type,
                    ),
                    with_takeup(per_arm.get(arm.name, SufficientStats(0)), treated, metric.type),
                    alpha=experiment.alpha,
                )
                units = per_arm.get(arm.name, SufficientStats(0)).units
                rows.append(
                    ComplierRow(
                        metric=metric.name,
                        arm=arm.name,
                        control_arm=control,
                        stage=stage,
                        share=treated.units / units if units else math.nan,
                        effect_size=estimate.effect_size,
                        effect_size_ci_lower=estimate.effect_size_ci_lower,
                        effect_size_ci_upper=estimate.effect_size_ci_upper,
                        pvalue=estimate.pvalue,
                        method=estimate.method,
                        error=estimate.error,
                    )
                )
    return rows

@dataclass(frozen=True)
class Takeup:
    """One arm's take-up of a stage and the outcome summed over the units that took up."""

    units: float
    indicator_product: float
    value_product: float

def takeup_moments(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> dict[tuple[str, str, str], Takeup]:
    """Take-up moments keyed by (arm, action, stage), stage ``delivered`` or ``read``."""
    actions = sorted({m.action for m in experiment.metrics})
    if not actions:
        return {}
    rows = engine.run(
        "analysis/complier/takeup_moments",
        {"as_of": as_of, "actions": actions},
    ).rows
    result: dict[tuple[str, str, str], Takeup] = {}
    for arm, action, delivered, read, ind_d, val_d, ind_r, val_r in rows:
        result[(str(arm), str(action), "delivered")] = Takeup(
            float(delivered), float(ind_d), float(val_d)
        )
        result[(str(arm), str(action), "read")] = Takeup(float(read), float(ind_r), float(val_r))
    return result

def with_takeup(
    outcome: SufficientStats, takeup: Takeup | None, metric_type: str
) -> SufficientStats:
    """Outcome statistics whose denominator is the 0/1 take-up indicator (complier input)."""
    units_taken = takeup.units if takeup else 0.0
    product = 0.0
    if takeup is not None:
        product = takeup.indicator_product if metric_type == "proportion" else takeup.value_product
    return SufficientStats(
        units=outcome.units,
        main_sum=outcome.main_sum,
        main_sum_squares=outcome.main_sum_squares,
        denominator_sum=units_taken,
        denominator_sum_squares=units_taken,
        main_denominator_sum_product=product,
    )
