"""Guardrails: block, report, opt-out and delivery-failure rates tested for non-inferiority.

The block-rate guardrail (and every other kind in :data:`GUARDRAIL_KINDS`) is counted by
``sql/analysis/guardrails/signals.sql`` and ``moments.sql`` and tested with
:func:`threadlift.core.stats.noninferiority`.
"""

from __future__ import annotations

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
    """One-sided p-value of the non-inferiority test."""
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
    """Each guardrail of each treatment arm tested for non-inferiority (an alert per breach)."""
    if not experiment.guardrails:
        return []
    counts = guardrail_counts(con, experiment)
    control = experiment.control_arm
    rows: list[GuardrailResult] = []
    for guardrail in experiment.guardrails:
        control_stats = proportion_stats(units[control], counts.get((control, guardrail.kind), 0.0))
        for arm in experiment.arms:
            if arm.name == control:
                continue
            treatment_stats = proportion_stats(
                units[arm.name], counts.get((arm.name, guardrail.kind), 0.0)
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
                    pvalue=test.pvalue,
                    breached=bool(test.breached),
                )
            )
            if test.breached:
                margin = (
                    f"{guardrail.max_increase:g} absolute"
                    if guardrail.max_increase is not None
                    else f"{guardrail.max_rel_increase:.0%} relative"
                )
                alerts.append(
                    Alert(
                        "guardrail",
                        f"guardrail {guardrail.name} breached in arm {arm.name}: "
                        f"{guardrail.kind} rate {test.treatment:.3%} vs {test.control:.3%} in "
                        f"{control}; the increase cannot be shown to stay within {margin} "
                        f"(one-sided p = {test.pvalue:.3g})",
                    )
                )
    return rows

def guardrail_counts(
    engine: Engine, experiment: Experiment
) -> dict[tuple[str, str], float]:
    """Units showing each guardrail signal, keyed by (arm, kind).

    Leaves the temp table ``_signals`` for :func:`guardrail_breakdown`.
    """
    engine.run("analysis/guardrails/signals", {"channel": experiment.channel})
    rows = engine.run("analysis/guardrails/moments").rows
    return {(str(arm), str(kind)): float(n) for arm, kind, n in rows}

def guardrail_breakdown(
    engine: Engine, experiment: Experiment, kinds: list[str]
) -> list[GuardrailBreakdownRow]:
    """Guardrail events among units reached by each sender and template (after guardrail_counts)."""
    rows: list[dict[str, Any]] = engine.run("analysis/guardrails/breakdown", {"kinds": kinds}).dicts()
    return [GuardrailBreakdownRow(**row) for row in rows]
