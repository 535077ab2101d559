"""Cumulative lift: the primary conversion by day since each unit's assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from threadlift.core import stats
from threadlift.core.moments import SufficientStats, proportion_stats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


@dataclass(frozen=True)
class CumulativeRow:
    """The first proportion metric's lift of one arm ``day`` days after each unit's assignment."""

    metric: str
    arm: str
    control_arm: str
    day: int
    """Days since each unit's assignment (1 to ``window_days``)."""
    units: int
    """Units of the arm and the control arm together."""
    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float


def cumulative_lift(con: Engine, experiment: Experiment, as_of: datetime) -> list[CumulativeRow]:
    """The lift by day since assignment of the first proportion metric, per treatment arm."""
    metric = next((m for m in experiment.metrics if m.type == "proportion"), None)
    if metric is None:
        return []
    rows = cumulative_conversion(con, experiment, as_of, metric.action)
    by_key = {(row.arm, row.day): row.stats for row in rows}
    control = experiment.control_arm
    result: list[CumulativeRow] = []
    for arm in experiment.arms:
        if arm.name == control:
            continue
        for day in range(1, experiment.window_days + 1):
            control_stats = by_key.get((control, day))
            treatment_stats = by_key.get((arm.name, day))
            if control_stats is None or treatment_stats is None:
                continue
            comparison = stats.compare(
                "proportion", control_stats, treatment_stats, alpha=experiment.alpha
            )
            result.append(
                CumulativeRow(
                    metric=metric.name,
                    arm=arm.name,
                    control_arm=control,
                    day=day,
                    units=control_stats.units + treatment_stats.units,
                    control=comparison.control,
                    treatment=comparison.treatment,
                    effect_size=comparison.effect_size,
                    effect_size_ci_lower=comparison.effect_size_ci_lower,
                    effect_size_ci_upper=comparison.effect_size_ci_upper,
                )
            )
    return result

@dataclass(frozen=True)
class DailyConversion:
    """Cumulative conversion of one arm ``day`` days after each unit's assignment."""

    arm: str
    day: int
    stats: SufficientStats

def cumulative_conversion(
    engine: Engine, experiment: Experiment, as_of: datetime, action: str
) -> list[DailyConversion]:
    """Cumulative conversion by day since each unit's assignment, per arm."""
    rows = engine.run(
        "analysis/cumulative/cumulative_conversion",
        {"action": action, "days": experiment.window_days, "as_of": as_of},
    ).rows
    return [
        DailyConversion(str(arm), int(day), proportion_stats(int(units), float(ind)))
        for arm, day, units, ind in rows
    ]
