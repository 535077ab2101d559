"""Messaging-limit reach: unique contacts messaged outside a service window per moving
24 hours, against the sender's tier (:mod:`threadlift.core.reach`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadlift.core.reach import tier_limit
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


@dataclass(frozen=True)
class MessagingLimitRow:
    """One sender's peak messaging-limit usage against its tier."""

    sender_id: str
    peak_unique_contacts: int
    """The most unique contacts delivered to outside a service window in any moving 24 hours."""
    peak_at: datetime
    """The send at which that peak was reached."""
    messaging_limit_tier: str | None
    """The sender's tier at the peak (``None`` when no tier is known)."""
    tier_limit: float
    """Unique contacts per 24 hours the tier allows (inf for unlimited, NaN if unknown)."""
    usage_share: float
    """``peak_unique_contacts / tier_limit``."""


def messaging_limits(
    con: Engine, experiment: Experiment, as_of: datetime, warnings: list[str]
) -> list[MessagingLimitRow]:
    """Peak unique out-of-window contacts per moving 24 hours per sender, against its tier."""
    rows = con.run(
        "analysis/reach/messaging_limit_usage",
        {
            "experiment_id": experiment.id,
            "since": experiment.assigned_at - timedelta(days=1),
            "as_of": as_of,
        },
    ).dicts()
    result: list[MessagingLimitRow] = []
    for row in rows:
        limit = tier_limit(row["messaging_limit_tier"])
        peak = row["peak_unique_contacts"]
        result.append(
            MessagingLimitRow(
                **row,
                tier_limit=limit,
                usage_share=peak / limit if limit > 0 else math.nan,
            )
        )
        if peak > limit:
            warnings.append(
                f"sender {row['sender_id']} reached {peak:,} unique "
                f"contacts outside a service window in 24 hours, above its "
                f"{row['messaging_limit_tier']} limit ({limit:,.0f})"
            )
    return result
