"""Guardrails: block, report, opt-out and delivery-failure rates tested for non-inferiority.

The block-rate guardrail (and every other kind in :data:`GUARDRAIL_KINDS`) is counted by
``sql/analysis/guardrails/signals.sql`` and ``moments.sql`` and tested with
:func:`threadlift.core.stats.noninferiority`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from threadlift.analysis.alerts import Alert
from threadlift.core import stats
from threadlift.core.moments import proportion_stats
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment

GUARDRAIL_KINDS = (
    "block",
    "report",
    "opt_out",
    "marketing_stop",
    "spam_rate_limited",
    "marketing_cap",
    "undeliverable",
)

@dataclass(frozen=True)
class GuardrailResult:
    """One guardrail's non-inferiority test of one arm against the control arm."""

    guardrail: str
    kind: str
    """The signal counted (one of :data:`GUARDRAIL_KINDS`)."""
    channel: str
    """The channel both arms' signals are read on: the treatment arm's own channel."""
    arm: str
    control_arm: str
    control: float
    """The control arm's rate: units with the signal over its units."""
    treatment: float
    """The arm's rate."""
    effect_size: float
    """``treatment - control``, or ``treatment / control - 1`` for a relative margin."""
    effect_size_ci_upper: float
    """One-sided upper ``1 - alpha`` confidence bound of ``effect_size``."""
    threshold: float
    """The largest tolerated increase (on the scale of ``effect_size``)."""
    margin_type: Literal["relative", "absolute"]
    method: str
    error: str | None
    """Named error code of a degenerate test (``None`` when it is sound)."""
    pvalue: float
    """One-sided p-value of the non-inferiority test (null when ``error`` is set)."""
    breached: bool
    """Whether the increase cannot be shown to stay within the margin (an alert)."""


@dataclass(frozen=True)
class GuardrailBreakdownRow:
    """A guardrail signal among the units of one arm reached by one sender or template."""

    arm: str
    dimension: Literal["sender", "template"]
    value: str
    """The sender id (``(none)``) or template name (``(free-form)``)."""
    kind: str
    units: int
    """Units of the arm that received at least one message from that sender or template."""
    events: int
    """Those units that showed the signal."""


def guardrail_tests(
    con: Engine, experiment: Experiment, units: dict[str, int], alerts: list[Alert]
) -> list[GuardrailResult]:
    """Each guardrail of each treatment arm tested for non-inferiority (an alert per breach).

    A treatment arm's signals are read on its own channel and compared with the holdout's
    signals on that same channel (an SMS cell's STOPs against the holdout's SMS STOPs).
    """
    if not experiment.guardrails:
        return []
    counts = guardrail_counts(con, experiment)
    control = experiment.control_arm
    rows: list[GuardrailResult] = []
    for guardrail in experiment.guardrails:
        for arm in experiment.arms:
            if arm.name == control:
                continue
            channel = arm_channel(experiment, arm.name)
            control_stats = proportion_stats(
                units[control], counts.get((control, channel, guardrail.kind), 0.0)
            )
            treatment_stats = proportion_stats(
                units[arm.name], counts.get((arm.name, channel, guardrail.kind), 0.0)
            )
            test = stats.noninferiority(
                "proportion",
                control_stats,
                treatment_stats,
                max_increase=guardrail.max_increase,
                max_rel_increase=guardrail.max_rel_increase,
                alpha=experiment.alpha,
            )
            rows.append(
                GuardrailResult(
                    guardrail=guardrail.name,
                    kind=guardrail.kind,
                    channel=channel,
                    arm=arm.name,
                    control_arm=control,
                    control=test.control,
                    treatment=test.treatment,
                    effect_size=test.effect_size,
                    effect_size_ci_upper=test.ci_upper,
                    threshold=test.threshold,
                    margin_type="relative" if test.relative else "absolute",
                    method=test.method,
                    error=test.error,
                    # a degenerate comparison has no p-value to report (null, not 0 or 1)
                    pvalue=test.pvalue if test.error is None else math.nan,
                    breached=bool(test.breached),
                )
            )
            if test.breached:
                margin = (
                    f"{guardrail.max_increase:g} absolute"
                    if guardrail.max_increase is not None
                    else f"{guardrail.max_rel_increase:.0%} relative"
                )
                pvalue = f"one-sided p = {test.pvalue:.3g}" if test.error is None else test.error
                alerts.append(
                    Alert(
                        "guardrail",
                        f"guardrail {guardrail.name} breached in arm {arm.name}: "
                        f"{guardrail.kind} rate on {channel} {test.treatment:.3%} vs "
                        f"{test.control:.3%} in {control}; the increase cannot be shown to "
                        f"stay within {margin} ({pvalue})",
                    )
                )
    return rows


def arm_channel(experiment: Experiment, arm: str) -> str:
    """The channel an arm sends on: its own ``channel``, else the experiment's."""
    for declared in experiment.arms:
        if declared.name == arm and declared.channel is not None:
            return declared.channel
    return experiment.channel


def guardrail_counts(
    engine: Engine, experiment: Experiment
) -> dict[tuple[str, str, str], float]:
    """Units showing each guardrail signal, keyed by (arm, channel, kind).

    A treatment arm is counted on its own channel; the holdout on every channel a treatment
    arm sends on. Leaves the temp table ``_signals`` for :func:`guardrail_breakdown`.
    """
    control = experiment.control_arm
    treatment = [arm.name for arm in experiment.arms if arm.name != control]
    read_on = [(arm, arm_channel(experiment, arm)) for arm in treatment]
    read_on += [(control, channel) for channel in sorted({channel for _, channel in read_on})]
    engine.run(
        "analysis/guardrails/signals",
        {
            "read_arms": [arm for arm, _ in read_on],
            "read_channels": [channel for _, channel in read_on],
        },
    )
    rows = engine.run("analysis/guardrails/moments").rows
    return {(str(arm), str(channel), str(kind)): float(n) for arm, channel, kind, n in rows}

def guardrail_breakdown(
    engine: Engine, experiment: Experiment, kinds: list[str]
) -> list[GuardrailBreakdownRow]:
    """Guardrail events among units reached by each sender and template (after guardrail_counts)."""
    rows: list[dict[str, Any]] = engine.run("analysis/guardrails/breakdown", {"kinds": kinds}).dicts()
    return [GuardrailBreakdownRow(**row) for row in rows]
