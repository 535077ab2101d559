"""Units and arms: who is in the experiment, the sample-ratio check and pre-period balance.

:func:`prepare_units` builds the ``_units`` table every other section reads (each unit's
window starts at its own ``assigned_at``); :func:`prepare_sends` the experiment's sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from threadlift.analysis.alerts import Alert
from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


@dataclass(frozen=True)
class ArmRow:
    """One arm's size against its configured weight."""

    arm: str
    holdout: bool
    """Whether the arm is a holdout (receives no treatment)."""
    units: int
    weight: float
    """The arm's configured weight (any scale)."""
    expected_share: float
    """The arm's weight over the sum of all weights."""
    observed_share: float
    """The arm's units over all units (NaN when there are none)."""


@dataclass(frozen=True)
class SRMCheck:
    """The sample-ratio check: a chi-square test of arm sizes against the configured weights."""

    pvalue: float
    passed: bool
    """``pvalue >= alpha``: the arm sizes are compatible with the weights."""
    statistic: float
    """The chi-square statistic."""
    alpha: float
    """The experiment's ``srm_alpha``."""


@dataclass(frozen=True)
class BalanceRow:
    """Pre-period balance of one CUPED covariate between one arm and the control arm."""

    metric: str
    covariate: str
    """What the covariate measures, in words."""
    arm: str
    control_arm: str
    control_mean: float
    treatment_mean: float
    standardized_mean_difference: float
    """Difference of the means over the pooled standard deviation."""
    pvalue: float
    """Welch's t-test of the difference of the means."""
    error: str | None
    """Named error code of a degenerate comparison (``None`` when it is sound)."""


def rejected_assignments(con: Engine, experiment: Experiment) -> int:
    rows = con.run("analysis/units/quarantined_assignments", {"experiment_id": experiment.id}).rows
    return int(rows[0][0]) if rows else 0

def arms_and_srm(
    experiment: Experiment, units: dict[str, int], alerts: list[Alert]
) -> tuple[list[ArmRow], SRMCheck]:
    """Each arm's size and share, and the sample-ratio check (an ``srm`` alert when it fails)."""
    names = [arm.name for arm in experiment.arms]
    weights = [arm.weight for arm in experiment.arms]
    observed = [units.get(name, 0) for name in names]
    total_units = sum(observed)
    total_weight = math.fsum(weights)
    arm_rows = [
        ArmRow(
            arm=arm.name,
            holdout=arm.holdout,
            units=units.get(arm.name, 0),
            weight=arm.weight,
            expected_share=arm.weight / total_weight,
            observed_share=units.get(arm.name, 0) / total_units if total_units else math.nan,
        )
        for arm in experiment.arms
    ]
    result = stats.srm_test(observed, weights, alpha=experiment.srm_alpha)
    srm = SRMCheck(
        pvalue=result.pvalue,
        passed=bool(result.passed),
        statistic=result.statistic,
        alpha=experiment.srm_alpha,
    )
    if not result.passed:
        shares = ", ".join(
            f"{r.arm} {r.observed_share:.2%} (expected {r.expected_share:.2%})" for r in arm_rows
        )
        alerts.append(
            Alert(
                "srm",
                f"sample-ratio mismatch: arm sizes differ from the configured weights "
                f"(p = {result.pvalue:.2g} < {experiment.srm_alpha}); {shares}. "
                "Do not trust the lift until the cause (eligibility, logging, assignment) is found.",
            )
        )
    return arm_rows, srm

def empty_arm_warnings(experiment: Experiment, units: dict[str, int]) -> list[str]:
    """``no units`` warnings: the whole experiment, or each arm, without an assigned unit.

    An experiment nobody was assigned to yet is reported as that, not as a set of
    degenerate lifts and guardrails.
    """
    if not any(units.values()):
        return [
            f"no units: nobody is assigned to experiment {experiment.id} yet, so nothing can "
            "be measured; run `threadlift assign` (or `threadlift load assignments`) first"
        ]
    return [
        f"no units in arm {arm.name}: its lifts and guardrails against the other arms "
        "cannot be estimated"
        for arm in experiment.arms
        if not units.get(arm.name)
    ]

def covariate_balance(
    all_stats: dict[str, dict[str, SufficientStats]], experiment: Experiment
) -> list[BalanceRow]:
    """Pre-period balance of each CUPED covariate: standardised difference and Welch test."""
    control = experiment.control_arm
    rows: list[BalanceRow] = []
    for metric in experiment.metrics:
        if metric.cuped_days is None:
            continue
        per_arm = all_stats.get(metric.name, {})
        for arm in experiment.arms:
            if arm.name == control:
                continue
            result = stats.balance(
                per_arm.get(control, SufficientStats(0)), per_arm.get(arm.name, SufficientStats(0))
            )
            rows.append(
                BalanceRow(
                    metric=metric.name,
                    covariate=f"{metric.name} over the {metric.cuped_days} days before assignment",
                    arm=arm.name,
                    control_arm=control,
                    control_mean=result.control_mean,
                    treatment_mean=result.treatment_mean,
                    standardized_mean_difference=result.standardized_mean_difference,
                    pvalue=result.pvalue,
                    error=result.error,
                )
            )
    return rows

def prepare_units(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> dict[str, int]:
    """Create the ``_units`` temp table for ``experiment``; return units per arm.

    The units are the experiment's assignments, or, for ``assignment = "global_holdout"``,
    every contact known at ``assigned_at`` labelled by the workspace's global holdout
    (``sql/analysis/units/units_global_holdout.sql``), so the program-level holdout is reported
    like any experiment.

    Raises:
        ConfigError: for a global-holdout experiment, when the workspace has no global
            holdout, its arm weights do not match the setting, or the engine is not DuckDB
            (the setting lives in the workspace).
    """
    if experiment.assignment == "global_holdout":
        from fractions import Fraction

        from threadlift.assign.assignment import global_holdout_of
        from threadlift.core.bucketing import BUCKETS, exact_weight
        from threadlift.errors import ConfigError

        if engine.name != "duckdb":
            raise ConfigError(
                f'experiment {experiment.id}: assignment = "global_holdout" reads the '
                f"workspace's global holdout setting; report it with the DuckDB engine"
            )
        setting = global_holdout_of(engine.run("assign/global_holdout_get").rows)
        if setting is None:
            raise ConfigError(
                f'experiment {experiment.id}: assignment = "global_holdout" but the workspace '
                "has no global holdout; set one with `threadlift holdout set --salt S --percent P`"
            )
        salt, points = setting.salt, setting.basis_points
        weights = {arm.name: arm.weight for arm in experiment.arms}
        held = exact_weight(weights["global_holdout"])
        if held / (held + exact_weight(weights["everyone_else"])) != Fraction(points, BUCKETS):
            raise ConfigError(
                f"experiment {experiment.id}: the global holdout holds out {points / 100:g} % "
                f"(salt {salt!r}), so the arms must be weighted {points / 100:g} (global_holdout) "
                f"and {100 - points / 100:g} (everyone_else) for the sample-ratio check; "
                f"found {weights['global_holdout']} and {weights['everyone_else']}"
            )
        engine.run(
            "analysis/units/units_global_holdout",
            {
                "salt": salt,
                "basis_points": points,
                "assigned_at": experiment.assigned_at,
                "as_of": as_of,
                "window_days": experiment.window_days,
            },
        )
    else:
        engine.run(
            "analysis/units/units",
            {"experiment_id": experiment.id, "as_of": as_of, "window_days": experiment.window_days},
        )
    rows = engine.run("analysis/units/unit_counts").rows
    counts = {arm.name: 0 for arm in experiment.arms}
    counts.update({str(arm): int(n) for arm, n in rows})
    return counts

def prepare_sends(engine: Engine, experiment: Experiment) -> None:
    """Create the ``_sends`` temp table: the experiment's sends inside each unit's window.

    Needs ``_units`` (:func:`prepare_units`). Funnel, take-up, cost, window share and the
    guardrail breakdown read it; lift and guardrail tests do not, so a core report skips it.
    """
    engine.run("analysis/units/sends", {"experiment_id": experiment.id})


def untagged_sends_warning(engine: Engine, experiment: Experiment) -> str | None:
    """A warning when the experiment's contacts got messages in their windows, none of
    them tagged with its id: the send-based sections (funnel, take-up, cost, 24-hour
    window) would otherwise read as if nothing had been sent. Needs ``_sends``
    (:func:`prepare_sends`); messages are scanned again only when it is empty."""
    if engine.run("analysis/units/untagged_sends#any_tagged").rows[0][0]:
        return None
    untagged = int(engine.run("analysis/units/untagged_sends#untagged").rows[0][0] or 0)
    if not untagged:
        return None
    return (
        f"{untagged:,} messages to this experiment's contacts inside their windows carry no "
        f"experiment_id, and none carries {experiment.id!r}: the funnel, take-up, cost and "
        "24-hour-window sections count only tagged messages, so they show no sends. Load "
        f"messages with experiment_id = {experiment.id!r} (a column of the messages file)"
    )
