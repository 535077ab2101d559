"""Cost: billed messages priced by the dated rate card, cost per incremental conversion, and
the comparison of that cost between arms.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from threadlift.analysis.lift import MetricResult, first_against_control
from threadlift.core.cost import (
    ArmCost,
    compare_cost_per_incremental,
    cost_per_incremental,
)
from threadlift.core.markets import calling_code_markets
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


def arm_costs(
    con: Engine,
    experiment: Experiment,
    metrics: list[MetricResult],
    units: dict[str, int],
    referrals: bool,
    warnings: list[str],
) -> list[dict[str, Any]]:
    """Billed messages and cost per arm, with cost per incremental conversion and return."""
    mark_free_entry_points(con)
    if not referrals and experiment.channel == "whatsapp":
        warnings.append(
            f"cost on the {con.name} engine applies no free-entry-point rule: message_referrals "
            "(from WhatsApp ingest) is not in its lake; messages without a billable status "
            "inside a free-entry-point window are priced as charged"
        )
    codes, regions = calling_code_markets()
    rows = con.run(
        "analysis/cost/cost",
        {"calling_codes": codes, "calling_regions": regions},
    ).dicts()
    control = experiment.control_arm
    conversion = first_against_control(metrics, control, "proportion")
    revenue = first_against_control(metrics, control, "mean")
    totals: dict[tuple[str, str | None], float] = {}
    for row in rows:
        key = (row["arm"], row["currency"])
        totals[key] = totals.get(key, 0.0) + float(row["cost"])
        if row["unpriced"]:
            warnings.append(
                f"{row['unpriced']} billed {row['channel']} {row['category']} messages in arm "
                f"{row['arm']} have no rate-card price for their market; load a rate_card row"
            )
    result: list[dict[str, Any]] = []
    for row in rows:
        arm = str(row["arm"])
        n = units.get(arm, 0)
        total = totals[(arm, row["currency"])]
        conv = conversion.get(arm)
        per = cost_per_incremental(total, conv.comparison, n) if conv is not None else None
        rev = revenue.get(arm)
        incremental_revenue = rev.comparison.effect_size * n if rev is not None else math.nan
        result.append(
            {
                "arm": arm,
                "channel": row["channel"],
                "category": row["category"],
                "currency": row["currency"],
                "messages": int(row["messages"]),
                "messages_billed": int(row["messages_billed"]),
                "messages_free_entry_point": int(row["messages_free_entry_point"]),
                "cost": float(row["cost"]),
                "unpriced": int(row["unpriced"]),
                "arm_total_cost": total,
                "incremental_conversions": per.incremental if per else math.nan,
                "cost_per_incremental_conversion": per.estimate if per else math.nan,
                "cost_per_incremental_conversion_ci_lower": per.ci_lower if per else math.nan,
                "cost_per_incremental_conversion_ci_upper": per.ci_upper if per else math.nan,
                "incremental_revenue": incremental_revenue,
                "return_on_spend": (incremental_revenue - total) / total if total > 0 else math.nan,
            }
        )
    return result

def cost_comparison(
    experiment: Experiment,
    metrics: list[MetricResult],
    cost: list[dict[str, Any]],
    units: dict[str, int],
) -> list[dict[str, Any]]:
    """Cost per incremental conversion of each pair of treatment arms (channels), compared.

    Only arms whose spending is in one currency, the same for both, are compared; the
    shared holdout's conversion variance enters as the covariance of the two effects.
    """
    control = experiment.control_arm
    conversion = first_against_control(metrics, control, "proportion")
    currencies: dict[str, set[str | None]] = {}
    totals: dict[str, float] = {}
    for row in cost:
        currencies.setdefault(row["arm"], set()).add(row["currency"])
        totals[row["arm"]] = float(row["arm_total_cost"])
    channels = {arm.name: arm.channel or experiment.channel for arm in experiment.arms}
    arms = [
        arm.name
        for arm in experiment.arms
        if arm.name != control and arm.name in conversion and len(currencies.get(arm.name, ())) == 1
    ]
    result: list[dict[str, Any]] = []
    for i, first in enumerate(arms):
        for second in arms[i + 1 :]:
            if currencies[first] != currencies[second]:
                continue
            ca, cb = conversion[first].comparison, conversion[second].comparison
            n0 = ca.control_units
            control_variance = ca.control * (1 - ca.control) / (n0 - 1) if n0 > 1 else math.nan
            compared = compare_cost_per_incremental(
                ArmCost(first, totals[first], units.get(first, 0), ca.effect_size, ca.se),
                ArmCost(second, totals[second], units.get(second, 0), cb.effect_size, cb.se),
                control_variance,
                alpha=experiment.alpha,
            )
            result.append(
                {
                    "arm": first,
                    "channel": channels.get(first),
                    "other_arm": second,
                    "other_channel": channels.get(second),
                    "currency": next(iter(currencies[first])),
                    "metric": conversion[first].metric,
                    **{k: v for k, v in asdict(compared).items() if k not in ("arm", "other_arm")},
                }
            )
    return result

def mark_free_entry_points(engine: Engine) -> None:
    """Create ``_free_entry``: the sends inside a free-entry-point window (for ``analysis/cost/cost``).

    Needs ``_sends``. A lake without ``message_referrals`` reads it as empty, so no send
    is marked there (the analysis warns that no free-entry-point rule was applied).
    """
    engine.run("analysis/cost/free_entry_points")
