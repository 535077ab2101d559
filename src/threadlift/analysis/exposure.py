"""Exposures: who the sending system actually acted on, whether it followed the assignment,
and the triggered analysis.

An exposure (``exposures`` table: from the API's log by ``threadlift exposures import``, or
loaded from a file) says the sending system acted on a contact in an arm. A real send has
any ``source`` but ``counterfactual``; a *counterfactual* exposure (``source =
"counterfactual"``) is the would-be send the system logged for a holdout contact instead of
sending. ``sql/analysis/exposure/exposures.sql`` checks each one against the assignment:
valid is a real send in a treatment arm or a counterfactual one in the holdout arm, of the
unit's own arm; anything else is a mismatch (``not_assigned``, ``wrong_arm``,
``counterfactual_in_treatment``, ``sent_to_holdout``) and raises one ``exposure_mismatch``
alert.

The triggered analysis compares only the units with a valid exposure inside their outcome
window, in every arm, by the same comparison as the intent-to-treat lift (the same
:func:`~threadlift.analysis.lift.compare_metrics`, CUPED where the metric has it): it is
unbiased only when the holdout's would-be exposures are logged as the treatment's real ones
are, so it is shown only when the holdout arm has counterfactual exposures.

References:
    Deng, A. and Hu, V. (2015). Diluted treatment effect estimation for trigger analysis in
    online controlled experiments. WSDM '15, 349-358. Kohavi, R., Tang, D. and Xu, Y.
    (2020). Trustworthy Online Controlled Experiments, ch. 20.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from threadlift.analysis.alerts import Alert
from threadlift.analysis.lift import (
    Correction,
    _metric_specs,
    _stats_by_metric,
    compare_metrics,
)
from threadlift.api.exposures import Mismatch
from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment

MISMATCH_WORDS: dict[str, str] = {
    "not_assigned": "for contacts not assigned to the experiment",
    "wrong_arm": "naming another arm than the contact's",
    "counterfactual_in_treatment": "counterfactual for treatment contacts",
    "sent_to_holdout": "real sends to holdout contacts",
}
"""What each mismatch kind means, as the alert words it."""


@dataclass(frozen=True)
class ExposureArmRow:
    """How the sending system acted on one arm's units."""

    arm: str
    holdout: bool
    units: int
    """Units assigned to the arm (as in ``arms``)."""
    exposures: int
    """Exposures logged for the arm's units up to as_of (valid or not)."""
    exposed_units: int
    """Units with a valid real exposure inside their outcome window (0 in the holdout)."""
    exposed_share: float
    """``exposed_units / units`` (NaN without units)."""
    counterfactual_units: int
    """Holdout units with a valid counterfactual exposure inside their window (0 in treatment arms)."""
    counterfactual_share: float
    """``counterfactual_units / units`` (NaN without units)."""
    triggered_units: int
    """Units with a valid exposure, real or counterfactual, inside their window."""
    mismatched_exposures: int
    """Exposures of the arm's units that do not match their assignment."""
    mismatched_share: float
    """``mismatched_exposures / exposures`` (NaN without exposures)."""


@dataclass(frozen=True)
class ExposureMismatchRow:
    """Exposures that do not match the assignment, counted by what is wrong with them."""

    mismatch: Mismatch
    """``not_assigned`` (the contact is not a unit of the experiment), ``wrong_arm`` (the
    exposure names another arm), ``counterfactual_in_treatment`` (a counterfactual
    exposure of a treatment unit) or ``sent_to_holdout`` (a real send to a holdout unit)."""
    assigned_arm: str | None
    """The contact's arm (``None`` when not assigned)."""
    exposure_arm: str | None
    """The arm the exposure names (``None`` when it names none)."""
    source: str
    """The exposure's ``source`` (empty when not given)."""
    exposures: int
    contacts: int
    first_ts: datetime
    """The first such exposure (UTC)."""
    last_ts: datetime


@dataclass(frozen=True)
class TriggeredMetricRow:
    """One metric's comparison of one arm with its control arm among triggered units only."""

    metric: str
    type: str
    arm: str
    control_arm: str
    control_units: int
    """Triggered units of the control arm."""
    treatment_units: int
    """Triggered units of the arm."""
    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    pvalue_adjusted: float
    """Adjusted across the triggered rows (all metrics and arm pairs), as ``metrics`` is."""
    method: str
    error: str | None


@dataclass(frozen=True)
class ExposureAnalysis:
    """The ``exposure`` section of report.json: empty lists and 0 exposures when none is logged."""

    exposures: int
    """Exposures of the experiment logged up to as_of (0: nothing else is reported)."""
    arms: list[ExposureArmRow]
    mismatches: list[ExposureMismatchRow]
    triggered: list[TriggeredMetricRow]
    """The triggered analysis (empty when it is not shown; ``triggered_note`` says why)."""
    triggered_shown: bool
    triggered_note: str | None
    """What the triggered analysis is, or why it is not shown (``None`` without exposures)."""


NO_EXPOSURES = ExposureAnalysis(0, [], [], [], False, None)


def exposure_analysis(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    correction: Correction,
    alerts: list[Alert],
    warnings: list[str],
    no_data: list[str],
) -> ExposureAnalysis:
    """Exposure shares per arm, mismatches (one ``exposure_mismatch`` alert) and the
    triggered analysis of ``experiment``.

    Args:
        con: The engine; the ``_units`` temp table must exist (``prepare_units``).
        experiment: The experiment.
        as_of: Exposures are counted up to this UTC time.
        correction: Multiple-testing correction across the triggered rows.
        alerts: Receives the mismatch alert.
        warnings: Receives the warning when triggered units are unbalanced across arms.
        no_data: Receives a warning per degenerate triggered comparison.
    """
    holdout = next((arm.name for arm in experiment.arms if arm.holdout), None)
    con.run(
        "analysis/exposure/exposures",
        {"experiment_id": experiment.id, "as_of": as_of, "holdout_arm": holdout},
    )
    per_arm = {str(row["arm"]): row for row in con.run("analysis/exposure/arms").dicts()}
    mismatches = [_mismatch_row(row) for row in con.run("analysis/exposure/mismatches").dicts()]
    unassigned = sum(m.exposures for m in mismatches if m.mismatch == "not_assigned")
    total = sum(int(row["exposures"]) for row in per_arm.values()) + unassigned
    if total == 0:
        return NO_EXPOSURES
    arms = [_arm_row(arm.name, arm.holdout, per_arm.get(arm.name)) for arm in experiment.arms]
    if mismatches:
        alerts.append(_mismatch_alert(experiment, mismatches, total))
    uncovered = [row.arm for row in arms if row.holdout and row.counterfactual_units == 0]
    if uncovered:
        note = (
            f"not shown: the holdout arm {uncovered[0]} has no counterfactual exposures. "
            "Comparing the treatment's exposed units with the whole holdout would compare a "
            "selected group with everyone (biased); log the would-be send of each holdout "
            'contact as an exposure with source = "counterfactual" to get it'
        )
        return ExposureAnalysis(total, arms, mismatches, [], False, note)
    triggered = sum(row.triggered_units for row in arms)
    units = sum(row.units for row in arms)
    balance = stats.srm_test(
        [row.triggered_units for row in arms],
        [max(row.units, 1) for row in arms],
        alpha=experiment.srm_alpha,
    )
    if not balance.passed:
        rates = ", ".join(
            f"{row.arm} {row.triggered_units / row.units:.2%}" for row in arms if row.units
        )
        warnings.append(
            f"triggered analysis: the arms' shares of triggered units differ (p = "
            f"{balance.pvalue:.2g} < {experiment.srm_alpha}; {rates}); exposures or "
            "counterfactual exposures are missing from one arm, or the treatment changed who "
            "is triggered: do not trust the triggered lift until it is explained"
        )
    rows = _triggered_rows(con, experiment, correction, no_data)
    note = (
        f"{triggered:,} of {units:,} units triggered: a valid exposure (a real send in a "
        "treatment arm, a counterfactual one in the holdout) inside the unit's outcome "
        "window; outcomes counted from assigned_at as in the intent-to-treat analysis"
    )
    return ExposureAnalysis(total, arms, mismatches, rows, True, note)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _arm_row(arm: str, holdout: bool, row: dict[str, Any] | None) -> ExposureArmRow:
    counts = {
        key: int(row[key]) if row is not None else 0
        for key in (
            "units", "exposures", "exposed_units", "counterfactual_units", "triggered_units",
            "mismatched_exposures",
        )
    }
    return ExposureArmRow(
        arm=arm,
        holdout=holdout,
        units=counts["units"],
        exposures=counts["exposures"],
        exposed_units=counts["exposed_units"],
        exposed_share=_share(counts["exposed_units"], counts["units"]),
        counterfactual_units=counts["counterfactual_units"],
        counterfactual_share=_share(counts["counterfactual_units"], counts["units"]),
        triggered_units=counts["triggered_units"],
        mismatched_exposures=counts["mismatched_exposures"],
        mismatched_share=_share(counts["mismatched_exposures"], counts["exposures"]),
    )


def _mismatch_row(row: dict[str, Any]) -> ExposureMismatchRow:
    return ExposureMismatchRow(
        mismatch=row["mismatch"],
        assigned_arm=row["assigned_arm"],
        exposure_arm=row["exposure_arm"],
        source=str(row["source"]),
        exposures=int(row["exposures"]),
        contacts=int(row["contacts"]),
        first_ts=row["first_ts"],
        last_ts=row["last_ts"],
    )


def _mismatch_alert(
    experiment: Experiment, mismatches: list[ExposureMismatchRow], total: int
) -> Alert:
    by_kind: dict[str, int] = {}
    for row in mismatches:
        by_kind[row.mismatch] = by_kind.get(row.mismatch, 0) + row.exposures
    count = sum(by_kind.values())
    parts = "; ".join(f"{n:,} {MISMATCH_WORDS[kind]}" for kind, n in by_kind.items())
    return Alert(
        "exposure_mismatch",
        f"{count:,} of {total:,} exposures of {experiment.id} do not match the assignment "
        f"({parts}): the sending system is not following the assignment API; find the cause "
        "before trusting the exposure shares or the triggered lift",
    )


def _triggered_rows(
    con: Engine, experiment: Experiment, correction: Correction, no_data: list[str]
) -> list[TriggeredMetricRow]:
    """Every metric and arm pair compared among triggered units, as ``metrics`` is for all."""
    con.run("analysis/exposure/triggered_units")
    specs = _metric_specs(experiment)
    if not specs:
        return []
    moments = con.run(
        "analysis/exposure/triggered_moments",
        {"actions": [a for a, _ in specs], "cuped_days": [c for _, c in specs]},
    ).dicts()
    all_stats = _stats_by_metric(experiment, moments)
    errors: list[str] = []
    results = compare_metrics(all_stats, experiment, correction, errors)
    no_data.extend(f"triggered analysis: {message}" for message in errors)
    empty = SufficientStats(units=0)
    return [
        TriggeredMetricRow(
            control_units=all_stats[r.metric].get(r.control_arm, empty).units,
            treatment_units=all_stats[r.metric].get(r.arm, empty).units,
            **asdict(r.row()),
        )
        for r in results
    ]



def exposure_methods(exposure: ExposureAnalysis) -> list[str]:
    """The methods lines of the exposure section (none when no exposure is logged)."""
    if exposure.exposures == 0:
        return []
    lines = [
        "Exposures: each logged exposure is checked against the contact's assignment; a "
        "real send (any source but counterfactual) is valid in a treatment arm, a "
        "counterfactual one in the holdout, of the contact's own arm; any other is a "
        "mismatch (an exposure_mismatch alert). Shares count units with a valid exposure "
        "inside their outcome window.",
    ]
    if exposure.triggered_shown:
        lines.append(
            "Triggered analysis: only units with a valid exposure (real or counterfactual) "
            "inside their outcome window, in every arm; outcomes counted from assigned_at "
            "over the same window as the intent-to-treat analysis, compared by the same "
            "test (CUPED where the metric has it), p-values adjusted across the triggered "
            "rows. Unbiased when the holdout's would-be sends are logged as the treatment's "
            "real ones are and the treatment does not change who is triggered (checked: "
            "triggered shares per arm, chi-square)."
        )
    return lines
