"""Funnel: units of each arm sent, delivered, read, replied, failed and converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from threadlift.engines.base import Engine
from threadlift.experiment import Experiment


@dataclass(frozen=True)
class FunnelRow:
    """Units of one arm reaching each stage."""

    arm: str
    units: int
    sent: int
    delivered: int
    read: int
    replied: int
    failed: int
    converted: int

def funnel(
    engine: Engine, experiment: Experiment, as_of: datetime, action: str
) -> list[FunnelRow]:
    """The funnel by arm (units reaching each stage)."""
    rows = engine.run(
        "analysis/funnel/funnel",
        {"as_of": as_of, "action": action},
    ).rows
    found = {str(r[0]): FunnelRow(str(r[0]), *(int(v) for v in r[1:])) for r in rows}
    return [
        found.get(arm.name, FunnelRow(arm.name, 0, 0, 0, 0, 0, 0, 0)) for arm in experiment.arms
    ]
