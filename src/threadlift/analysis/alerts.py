"""Alerts: what makes a report untrustworthy or the experiment harmful (exit code 3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    """Something that makes the report untrustworthy or the experiment harmful (exit code 3)."""

    kind: str
    """``srm`` (sample-ratio mismatch) or ``guardrail`` (a breached guardrail)."""
    message: str
