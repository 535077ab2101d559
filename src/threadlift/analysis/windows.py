"""24-hour window: the share of sends inside a customer-service window, and the lift split by
whether a window was open at assignment (a pre-treatment state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from threadlift.analysis.lift import _metric_specs, _stats_by_metric, compare_metric
from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment

WINDOW_STATE_DEFINITION = (
    "open: the contact wrote to the business on the experiment's channel (and sender) in the "
    "24 hours up to its assignment, so a free-form session message could be sent at once; "
    "closed: otherwise. Decided before treatment and alike in every arm."
)

WindowState = Literal["open", "closed"]

WINDOW_STATES: tuple[WindowState, ...] = ("open", "closed")
"""Customer-service-window state of a unit at assignment (``analysis/windows/state_units``)."""


@dataclass(frozen=True)
class WindowShareRow:
    """How one arm's messages went out: templates or session messages, inside a window or not."""

    arm: str
    messages: int
    template_messages: int
    session_messages: int
    """Free-form messages (no template, or a ``service`` template)."""
    in_window_messages: int
    """Messages sent while the contact's 24-hour customer-service window was open."""


@dataclass(frozen=True)
class WindowStratumRow:
    """Units and sends of one arm in one window state."""

    window_state: WindowState
    arm: str
    holdout: bool
    units: int
    units_sent: int
    """Units that were sent at least one message."""
    messages: int
    session_messages: int
    template_messages: int
    session_share: float
    """``session_messages / messages`` (NaN without messages)."""


@dataclass(frozen=True)
class WindowSplitMetricRow:
    """One metric's comparison of one arm with the control arm within one window state."""

    window_state: WindowState
    metric: str
    type: str
    arm: str
    control_arm: str
    control_units: int
    treatment_units: int
    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    """Not adjusted for multiplicity."""
    method: str
    error: str | None
    """Named error code of a degenerate comparison (``None`` when it is sound)."""
    effect_difference_open_minus_closed: float
    """The open stratum's effect minus the closed stratum's (the same on both rows)."""
    effect_difference_pvalue: float
    """Two-sided normal p-value of that difference."""


@dataclass(frozen=True)
class WindowSplit:
    """The lift split by whether a customer-service window was open at assignment."""

    reported: bool
    """Whether the split was computed (only when both session messages and templates went out)."""
    stratum: Literal["window_state"]
    definition: str
    """What ``open`` and ``closed`` mean."""
    session_messages: int
    """Session messages the treatment arms sent."""
    template_messages: int
    """Templates the treatment arms sent."""
    strata: list[WindowStratumRow]
    metrics: list[WindowSplitMetricRow]
    note: str | None
    """Why the split is not reported (``None`` when it is)."""


def window_split(
    con: Engine,
    experiment: Experiment,
    window_share: list[WindowShareRow],
    warnings: list[str],
) -> WindowSplit:
    """Lift split by the unit's customer-service-window state at assignment.

    Splitting by the kind of message a unit actually received would compare treated units
    selected after treatment with a holdout that received nothing; the window state at
    assignment is known for every unit in every arm, so each stratum's comparison keeps
    the randomisation. Computed only when the experiment sent both session messages and
    templates.
    """
    control = experiment.control_arm
    treated = [row for row in window_share if row.arm != control]
    session = sum(int(row.session_messages) for row in treated)
    template = sum(int(row.template_messages) for row in treated)
    if session == 0 or template == 0:
        sent = session + template
        note = (
            "not split: the treatment arms sent no messages"
            if sent == 0
            else f"not split: all {sent:,} treatment messages were "
            + ("free-form session messages" if template == 0 else "templates")
            + "; the split is reported only when both kinds of sends occur"
        )
        return WindowSplit(
            False, "window_state", WINDOW_STATE_DEFINITION, session, template, [], [], note
        )
    all_stats = window_state_stats(con, experiment)
    sends = window_state_sends(con)
    strata: list[WindowStratumRow] = []
    for state in WINDOW_STATES:
        for arm in experiment.arms:
            counts = sends.get((state, arm.name), {})
            messages = counts.get("messages", 0)
            strata.append(
                WindowStratumRow(
                    window_state=state,
                    arm=arm.name,
                    holdout=arm.holdout,
                    units=counts.get("units", 0),
                    units_sent=counts.get("units_sent", 0),
                    messages=messages,
                    session_messages=counts.get("session_messages", 0),
                    template_messages=counts.get("template_messages", 0),
                    session_share=counts.get("session_messages", 0) / messages
                    if messages
                    else math.nan,
                )
            )
    rows: list[WindowSplitMetricRow] = []
    for metric in experiment.metrics:
        for arm in experiment.arms:
            if arm.name == control:
                continue
            by_state = {
                state: compare_metric(
                    experiment, metric, all_stats[state][metric.name], control, arm.name
                )
                for state in WINDOW_STATES
            }
            difference, difference_pvalue = _effect_difference(by_state["open"], by_state["closed"])
            for state, comparison in by_state.items():
                per_arm = all_stats[state][metric.name]
                rows.append(
                    WindowSplitMetricRow(
                        window_state=state,
                        metric=metric.name,
                        type=metric.type,
                        arm=arm.name,
                        control_arm=control,
                        control_units=per_arm.get(control, SufficientStats(0)).units,
                        treatment_units=per_arm.get(arm.name, SufficientStats(0)).units,
                        control=comparison.control,
                        treatment=comparison.treatment,
                        effect_size=comparison.effect_size,
                        effect_size_ci_lower=comparison.effect_size_ci_lower,
                        effect_size_ci_upper=comparison.effect_size_ci_upper,
                        rel_effect_size=comparison.rel_effect_size,
                        rel_effect_size_ci_lower=comparison.rel_effect_size_ci_lower,
                        rel_effect_size_ci_upper=comparison.rel_effect_size_ci_upper,
                        pvalue=comparison.pvalue,
                        method=comparison.method,
                        error=comparison.error,
                        effect_difference_open_minus_closed=difference,
                        effect_difference_pvalue=difference_pvalue,
                    )
                )
            errors = {c.error for c in by_state.values() if c.error}
            if errors:
                warnings.append(
                    f"window split of {metric.name} ({arm.name} vs {control}): "
                    + ", ".join(sorted(errors))
                )
    return WindowSplit(
        True, "window_state", WINDOW_STATE_DEFINITION, session, template, strata, rows, None
    )


def _effect_difference(open_: stats.Comparison, closed: stats.Comparison) -> tuple[float, float]:
    """Difference of two independent strata's effects and its two-sided normal p-value."""
    if open_.error or closed.error:
        return math.nan, math.nan
    difference = open_.effect_size - closed.effect_size
    se = math.hypot(open_.se, closed.se)
    if not math.isfinite(se) or se <= 0:
        return difference, math.nan
    from scipy.stats import norm

    return difference, float(2 * norm.sf(abs(difference / se)))

def window_state_stats(
    engine: Engine, experiment: Experiment
) -> dict[str, dict[str, dict[str, SufficientStats]]]:
    """Sufficient statistics per window state, metric name and arm.

    Leaves the temp table ``_window_state`` for :func:`window_state_sends`. A unit's state
    is ``open`` when its contact wrote in on the experiment's channel (and sender) in the
    24 hours up to its assignment: a pre-treatment state, so both arms split alike.
    """
    engine.run(
        "analysis/windows/state_units",
        {"channel": experiment.channel, "sender_id": experiment.sender_id},
    )
    specs = _metric_specs(experiment)
    if not specs:
        return {state: {} for state in WINDOW_STATES}
    rows = engine.run(
        "analysis/windows/state_moments",
        {"actions": [a for a, _ in specs], "cuped_days": [c for _, c in specs]},
    ).dicts()
    return {
        state: _stats_by_metric(
            experiment, [row for row in rows if str(row["window_state"]) == state]
        )
        for state in WINDOW_STATES
    }

def window_state_sends(engine: Engine) -> dict[tuple[str, str], dict[str, int]]:
    """Units and sends (session vs template) keyed by (window state, arm).

    Needs ``_window_state`` (from :func:`window_state_stats`) and ``_sends``.
    """
    rows = engine.run("analysis/windows/state_sends").dicts()
    return {
        (str(row["window_state"]), str(row["arm"])): {
            key: int(row[key])
            for key in ("units", "units_sent", "messages", "session_messages", "template_messages")
        }
        for row in rows
    }


def window_shares(engine: Engine) -> list[WindowShareRow]:
    """Per arm, the share of sends inside a customer-service window (``window_share``)."""
    return [WindowShareRow(**row) for row in engine.run("analysis/windows/share").dicts()]
