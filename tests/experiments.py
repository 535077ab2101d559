"""Test support: the experiment file most tests start from.

A WhatsApp experiment assigned at 2026-11-02 09:00 UTC with a 7-day window and two arms,
a 10 % ``holdout`` and a 90 % ``whatsapp``; each test adds its own keys (sender, metrics,
guardrails) instead of restating the rest.
"""

from __future__ import annotations


def two_arm_toml(experiment_id: str, *, keys: str = "", tables: str = "") -> str:
    """TOML text of the two-arm experiment ``experiment_id``.

    Args:
        experiment_id: its ``id``.
        keys: more top-level ``key = value`` lines (before the arms).
        tables: ``[[metrics]]``, ``[[guardrails]]`` … sections (after the arms).
    """
    return (
        f'id = "{experiment_id}"\n'
        'channel = "whatsapp"\n'
        "assigned_at = 2026-11-02T09:00:00Z\n"
        "window_days = 7\n"
        f"{keys}"
        "[[arms]]\n"
        'name = "holdout"\n'
        "weight = 10\n"
        "holdout = true\n"
        "[[arms]]\n"
        'name = "whatsapp"\n'
        "weight = 90\n"
        f"{tables}"
    )
