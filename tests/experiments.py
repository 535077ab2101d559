"""Test support: the experiment file most tests start from.

A WhatsApp experiment with two arms, ``holdout`` and ``whatsapp`` (10 % / 90 % unless
``weights`` say otherwise), assigned at 2026-11-02 09:00 UTC with a 7-day window unless
told otherwise; each test adds its own keys (sender, metrics, guardrails) instead of
restating the rest.
"""

from __future__ import annotations

CONVERSION = '[[metrics]]\nname = "conversion"\ntype = "proportion"\naction = "order"\n'
"""The conversion metric (orders, a proportion) most tests measure."""


def two_arm_toml(
    experiment_id: str,
    *,
    keys: str = "",
    tables: str = "",
    assigned_at: str = "2026-11-02T09:00:00Z",
    window_days: int = 7,
    weights: tuple[float, float] = (10, 90),
) -> str:
    """TOML text of the two-arm experiment ``experiment_id``.

    Args:
        experiment_id: its ``id``.
        keys: more top-level ``key = value`` lines (before the arms).
        tables: ``[[metrics]]``, ``[[guardrails]]`` … sections (after the arms).
        assigned_at: the TOML datetime of ``assigned_at``.
        window_days: the outcome window.
        weights: the holdout's and the ``whatsapp`` arm's weights.
    """
    holdout, treatment = weights
    return (
        f'id = "{experiment_id}"\n'
        'channel = "whatsapp"\n'
        f"assigned_at = {assigned_at}\n"
        f"window_days = {window_days}\n"
        f"{keys}"
        "[[arms]]\n"
        'name = "holdout"\n'
        f"weight = {holdout:g}\n"
        "holdout = true\n"
        "[[arms]]\n"
        'name = "whatsapp"\n'
        f"weight = {treatment:g}\n"
        f"{tables}"
    )
