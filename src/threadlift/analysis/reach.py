"""Messaging-limit reach: unique contacts messaged outside a service window per moving
24 hours, against the sender's tier (:mod:`threadlift.core.reach`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from threadlift.core.reach import tier_limit
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


def messaging_limits(
    con: Engine, experiment: Experiment, as_of: datetime, warnings: list[str]
) -> list[dict[str, Any]]:
    """Peak unique out-of-window contacts per moving 24 hours per sender, against its tier."""
    rows = con.run(
        "analysis/reach/messaging_limit_usage",
        {
            "experiment_id": experiment.id,
            "since": experiment.assigned_at - timedelta(days=1),
            "as_of": as_of,
        },
    ).dicts()
    for row in rows:
        limit = tier_limit(row["messaging_limit_tier"])
        row["tier_limit"] = limit
        row["usage_share"] = row["peak_unique_contacts"] / limit if limit > 0 else math.nan
        if row["peak_unique_contacts"] > limit:
            warnings.append(
                f"sender {row['sender_id']} reached {row['peak_unique_contacts']:,} unique "
                f"contacts outside a service window in 24 hours, above its "
                f"{row['messaging_limit_tier']} limit ({limit:,.0f})"
            )
    return rows
