"""24-hour window: the share of sends inside a customer-service window, and the lift split by
whether a window was open at assignment (a pre-treatment state).
"""

from __future__ import annotations

import math
from typing import Any

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

def window_split(
    con: Engine,
    experiment: Experiment,
    window_share: list[dict[str, Any]],
    warnings: list[str],
) -> dict[str, Any]:
    """Lift split by the unit's customer-service-window state at assignment.

    Splitting by the kind of message a unit actually received would compare treated units
    selected after treatment with a holdout that received nothing; the window state at
    assignment is known for every unit in every arm, so each stratum's comparison keeps
    the randomisation. Computed only when the experiment sent both session messages and
    templates.
    """
    control = experiment.control_arm
    treated = [row for row in window_share if row["arm"] != control]
    session = sum(int(row["session_messages"]) for row in treated)
    template = sum(int(row["template_messages"]) for row in treated)
    result: dict[str, Any] = {
        "reported": False,
        "stratum": "window_state",
        "definition": WINDOW_STATE_DEFINITION,
        "session_messages": session,
        "template_messages": template,
        "strata": [],
        "metrics": [],
    }
    if session == 0 or template == 0:
        sent = session + template
        result["note"] = (
            "not split: the treatment arms sent no messages"
            if sent == 0
            else f"not split: all {sent:,} treatment messages were "
            + ("free-form session messages" if template == 0 else "templates")
            + "; the split is reported only when both kinds of sends occur"
        )
        return result
    all_stats = window_state_stats(con, experiment)
    sends = window_state_sends(con)
    strata: list[dict[str, Any]] = []
    for state in WINDOW_STATES:
        for arm in experiment.arms:
            counts = sends.get((state, arm.name), {})
            messages = counts.get("messages", 0)
            strata.append(
                {
                    "window_state": state,
                    "arm": arm.name,
                    "holdout": arm.holdout,
                    "units": counts.get("units", 0),
                    "units_sent": counts.get("units_sent", 0),
                    "messages": messages,
                    "session_messages": counts.get("session_messages", 0),
                    "template_messages": counts.get("template_messages", 0),
                    "session_share": counts.get("session_messages", 0) / messages
                    if messages
                    else math.nan,
                }
            )
    rows: list[dict[str, Any]] = []
    for metric in experiment.metrics:
        for arm in experiment.arms:
            if arm.name == control:
                continue
            by_state: dict[str, stats.Comparison] = {}
            for state in WINDOW_STATES:
                per_arm = all_stats[state][metric.name]
                comparison = compare_metric(experiment, metric, per_arm, control, arm.name)
                by_state[state] = comparison
                rows.append(
                    {
                        "window_state": state,
                        "metric": metric.name,
                        "type": metric.type,
                        "arm": arm.name,
                        "control_arm": control,
                        "control_units": per_arm.get(control, SufficientStats(0)).units,
                        "treatment_units": per_arm.get(arm.name, SufficientStats(0)).units,
                        "control": comparison.control,
                        "treatment": comparison.treatment,
                        "effect_size": comparison.effect_size,
                        "effect_size_ci_lower": comparison.effect_size_ci_lower,
                        "effect_size_ci_upper": comparison.effect_size_ci_upper,
                        "rel_effect_size": comparison.rel_effect_size,
                        "rel_effect_size_ci_lower": comparison.rel_effect_size_ci_lower,
                        "rel_effect_size_ci_upper": comparison.rel_effect_size_ci_upper,
                        "pvalue": comparison.pvalue,
                        "method": comparison.method,
                        "error": comparison.error,
                    }
                )
            difference = _effect_difference(by_state["open"], by_state["closed"])
            for row in rows[-len(WINDOW_STATES) :]:
                row["effect_difference_open_minus_closed"] = difference[0]
                row["effect_difference_pvalue"] = difference[1]
            errors = {c.error for c in by_state.values() if c.error}
            if errors:
                warnings.append(
                    f"window split of {metric.name} ({arm.name} vs {control}): "
                    + ", ".join(sorted(errors))
                )
    result.update(reported=True, strata=strata, metrics=rows, note=None)
    return result

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

WINDOW_STATES = ("open", "closed")
"""Customer-service-window state of a unit at assignment (``analysis/windows/state_units``)."""

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


def window_shares(engine: Engine) -> list[dict[str, Any]]:
    """Per arm, the share of sends inside a customer-service window (``window_share``)."""
    return engine.run("analysis/windows/share").dicts()
