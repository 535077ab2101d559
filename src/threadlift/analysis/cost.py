"""Cost: billed messages priced by the dated rate card, cost per incremental conversion, and
the comparison of that cost between arms.

The rules that make a message free or undeliverable are data (:func:`pricing_rules`): the
versioned table threadlift ships, ``sql/analysis/cost/pricing_rules.csv`` (one source per
row), overridden rule by rule by the workspace's ``pricing_rules`` table
(``threadlift load pricing_rules FILE``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from threadlift.analysis.lift import MetricResult, first_against_control
from threadlift.core.cost import (
    ArmCost,
    compare_cost_per_incremental,
    cost_per_incremental,
)
from threadlift.core.fieller import FIELLER
from threadlift.core.markets import calling_code_markets
from threadlift.engines.base import Engine
from threadlift.engines.sqlfiles import sql_dir
from threadlift.errors import InputError
from threadlift.experiment import Experiment

SHIPPED_PRICING_RULES = "analysis/cost/pricing_rules.csv"
"""The pricing rules threadlift ships, relative to ``sql/``."""


@dataclass(frozen=True)
class PricingRule:
    """A rule that makes a channel's messages of a category free or undeliverable.

    Attributes:
        rule: Its name; workspace rows of a name replace the shipped rows of that name.
        channel: The channel (``whatsapp``).
        category: The billed pricing category it covers (``service``, ``utility``…).
        market: The market it covers (``None``: every market).
        applies: ``always``, or ``in_service_window``: only to sends with an inbound from
            the contact to the sender in the 24 hours before.
        effect: ``free`` (not charged) or ``blocked`` (not delivered, so not charged).
        valid_from: First send time (UTC) it covers.
        valid_to: First send time it no longer covers (``None``: open).
        source: Where the rule is stated.
        version: The version of the table the row belongs to.
    """

    rule: str
    channel: str
    category: str
    market: str | None
    applies: str
    effect: str
    valid_from: datetime
    valid_to: datetime | None
    source: str
    version: str | None


@dataclass(frozen=True)
class CostRow:
    """What one arm's messages of one channel, billed category and currency cost."""

    arm: str
    channel: str
    category: str | None
    """The pricing category billed (the webhook's, else the send's)."""
    currency: str | None
    """The rate card's currency (``None`` when no rate applies)."""
    messages: int
    messages_billed: int
    messages_free_entry_point: int
    """Messages made free by a free-entry-point window."""
    cost: float
    unpriced: int
    """Billed messages without a rate-card price for their market."""
    arm_total_cost: float
    """The arm's cost over every row in this currency."""
    incremental_conversions: float
    """The arm's conversion effect (first proportion metric) times its units."""
    cost_per_incremental_conversion: float
    cost_per_incremental_conversion_ci_lower: float
    """Null when the conversion effect's interval includes zero (no finite interval)."""
    cost_per_incremental_conversion_ci_upper: float
    """Null when the conversion effect's interval includes zero (no finite interval)."""
    method: str
    """How the interval was computed: ``fieller`` (Fieller's, with the known cost as the
    numerator: the conversion effect's interval mapped through ``cost / (units × ·)``)."""
    incremental_revenue: float
    """The arm's revenue effect (first mean metric) times its units."""
    return_on_spend: float
    """``(incremental_revenue - arm_total_cost) / arm_total_cost``."""


@dataclass(frozen=True)
class CostComparisonRow:
    """Cost per incremental conversion of two treatment arms (channels), compared."""

    arm: str
    channel: str
    other_arm: str
    other_channel: str
    currency: str | None
    metric: str
    """The conversion metric (the first proportion metric)."""
    cost_per_incremental: float
    other_cost_per_incremental: float
    ratio: float
    """``cost_per_incremental / other_cost_per_incremental``."""
    ratio_ci_lower: float
    """Null when ``arm``'s conversion effect interval includes zero (no finite interval)."""
    ratio_ci_upper: float
    """Null when ``arm``'s conversion effect interval includes zero (no finite interval)."""
    method: str
    """How the interval was computed: ``fieller`` (Fieller's interval for the ratio of the
    two conversion effects, with the covariance of the shared holdout)."""
    pvalue: float
    """Two-sided p-value of ``ratio = 1``."""
    error: str | None
    """Named error code of a degenerate comparison (``None`` when it is sound)."""


def shipped_pricing_rules() -> list[PricingRule]:
    """The pricing rules threadlift ships (``sql/analysis/cost/pricing_rules.csv``)."""
    path = sql_dir() / SHIPPED_PRICING_RULES
    with path.open(encoding="utf-8", newline="") as file:
        return [
            PricingRule(
                rule=row["rule"],
                channel=row["channel"],
                category=row["category"],
                market=row["market"] or None,
                applies=row["applies"],
                effect=row["effect"],
                valid_from=_utc(row["valid_from"]),
                valid_to=_utc(row["valid_to"]) if row["valid_to"] else None,
                source=row["source"],
                version=row["version"] or None,
            )
            for row in csv.DictReader(file)
        ]


def _utc(text: str) -> datetime:
    """An ISO 8601 time as naive UTC."""
    value = datetime.fromisoformat(text)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def pricing_rules(workspace: Engine) -> list[PricingRule]:
    """The pricing rules in force: the shipped ones, each name overridden by the workspace's.

    Args:
        workspace: The workspace's own engine (its ``pricing_rules`` table, loaded with
            ``threadlift load pricing_rules FILE``; not a lake table).

    Returns:
        Every shipped rule whose name the workspace does not use, then the workspace's
        rules. A shipped rule is switched off by loading a row of its name with
        ``valid_to = valid_from``.
    """
    loaded = [PricingRule(*row) for row in workspace.run("analysis/cost/pricing_rules").rows]
    names = {rule.rule for rule in loaded}
    return [rule for rule in shipped_pricing_rules() if rule.rule not in names] + loaded


def _rule_params(rules: list[PricingRule]) -> dict[str, list[Any]]:
    """The rules as the parallel lists ``analysis/cost/cost.sql`` binds."""
    if not rules:
        raise InputError(
            "no pricing rules: threadlift's shipped sql/analysis/cost/pricing_rules.csv is "
            "empty or missing; reinstall threadlift"
        )
    return {
        "rule_channels": [r.channel for r in rules],
        "rule_categories": [r.category for r in rules],
        "rule_markets": [r.market for r in rules],
        "rule_applies": [r.applies for r in rules],
        "rule_effects": [r.effect for r in rules],
        "rule_valid_from": [r.valid_from for r in rules],
        "rule_valid_to": [r.valid_to for r in rules],
    }


def arm_costs(
    con: Engine,
    experiment: Experiment,
    metrics: list[MetricResult],
    units: dict[str, int],
    referrals: bool,
    warnings: list[str],
    rules: list[PricingRule],
) -> list[CostRow]:
    """Billed messages and cost per arm, with cost per incremental conversion and return.

    ``rules`` are the pricing rules in force (:func:`pricing_rules`).
    """
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
        {"calling_codes": codes, "calling_regions": regions, **_rule_params(rules)},
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
                f"{row['arm']} have no rate-card price for their market (or volume tier); "
                "load a rate_card row"
            )
        if row["blocked_delivered"]:
            warnings.append(
                f"{row['blocked_delivered']} {row['channel']} {row['category']} messages in arm "
                f"{row['arm']} were delivered although a pricing rule says the platform does "
                "not deliver them (e.g. marketing templates to US numbers since 2025-04-01); "
                "check the contacts' markets and the status data"
            )
    result: list[CostRow] = []
    for row in rows:
        arm = str(row["arm"])
        n = units.get(arm, 0)
        total = totals[(arm, row["currency"])]
        conv = conversion.get(arm)
        per = cost_per_incremental(total, conv.comparison, n) if conv is not None else None
        rev = revenue.get(arm)
        incremental_revenue = rev.comparison.effect_size * n if rev is not None else math.nan
        result.append(
            CostRow(
                arm=arm,
                channel=row["channel"],
                category=row["category"],
                currency=row["currency"],
                messages=int(row["messages"]),
                messages_billed=int(row["messages_billed"]),
                messages_free_entry_point=int(row["messages_free_entry_point"]),
                cost=float(row["cost"]),
                unpriced=int(row["unpriced"]),
                arm_total_cost=total,
                incremental_conversions=per.incremental if per else math.nan,
                cost_per_incremental_conversion=per.estimate if per else math.nan,
                cost_per_incremental_conversion_ci_lower=per.ci_lower if per else math.nan,
                cost_per_incremental_conversion_ci_upper=per.ci_upper if per else math.nan,
                method=per.method if per else FIELLER,
                incremental_revenue=incremental_revenue,
                return_on_spend=(incremental_revenue - total) / total if total > 0 else math.nan,
            )
        )
    return result

def cost_comparison(
    experiment: Experiment,
    metrics: list[MetricResult],
    cost: list[CostRow],
    units: dict[str, int],
) -> list[CostComparisonRow]:
    """Cost per incremental conversion of each pair of treatment arms (channels), compared.

    Only arms whose spending is in one currency, the same for both, are compared; the
    shared holdout's conversion variance enters as the covariance of the two effects.
    """
    control = experiment.control_arm
    conversion = first_against_control(metrics, control, "proportion")
    currencies: dict[str, set[str | None]] = {}
    totals: dict[str, float] = {}
    for row in cost:
        currencies.setdefault(row.arm, set()).add(row.currency)
        totals[row.arm] = float(row.arm_total_cost)
    channels = {arm.name: arm.channel or experiment.channel for arm in experiment.arms}
    arms = [
        arm.name
        for arm in experiment.arms
        if arm.name != control and arm.name in conversion and len(currencies.get(arm.name, ())) == 1
    ]
    result: list[CostComparisonRow] = []
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
                CostComparisonRow(
                    arm=first,
                    channel=channels[first],
                    other_arm=second,
                    other_channel=channels[second],
                    currency=next(iter(currencies[first])),
                    metric=conversion[first].metric,
                    cost_per_incremental=compared.cost_per_incremental,
                    other_cost_per_incremental=compared.other_cost_per_incremental,
                    ratio=compared.ratio,
                    ratio_ci_lower=compared.ratio_ci_lower,
                    ratio_ci_upper=compared.ratio_ci_upper,
                    method=compared.method,
                    pvalue=compared.pvalue,
                    error=compared.error,
                )
            )
    return result

def mark_free_entry_points(engine: Engine) -> None:
    """Create ``_free_entry``: the sends inside a free-entry-point window (for ``analysis/cost/cost``).

    Needs ``_sends``. A lake without ``message_referrals`` reads it as empty, so no send
    is marked there (the analysis warns that no free-entry-point rule was applied).
    """
    engine.run("analysis/cost/free_entry_points")
