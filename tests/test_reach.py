"""Messaging-limit usage, the 24-hour window share, and guardrail breakdowns."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.experiment import parse_experiment
from threadlift.guardrails import send_list_warning, tier_limit
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)
EXPERIMENT = """
id = "reach"
channel = "whatsapp"
sender_id = "S1"
assigned_at = 2026-11-02T09:00:00Z
window_days = 7
[[arms]]
name = "holdout"
weight = 10
holdout = true
[[arms]]
name = "whatsapp"
weight = 90
[[guardrails]]
name = "blocks"
kind = "block"
max_increase = 0.5
"""


def test_usage_window_share_and_breakdown_are_counted_by_hand(workspace: Workspace) -> None:
    contacts = ["a", "b", "c", "d", "e"]
    insert_rows(workspace, "assignments", [("reach", c, "whatsapp", 5000, T0) for c in contacts]
            + [("reach", "h", "holdout", 1, T0)])
    hour = timedelta(hours=1)
    sends = [
        # id, contact, sender, template, category, sent_at
        ("m1", "a", "S1", "promo_a", "marketing", T0 + hour),
        ("m2", "b", "S1", "promo_a", "marketing", T0 + 2 * hour),
        ("m3", "c", "S1", "promo_b", "marketing", T0 + 3 * hour),
        ("m4", "d", "S1", None, "service", T0 + 4 * hour),      # reply inside d's window
        ("m5", "a", "S1", "promo_b", "marketing", T0 + 5 * hour),  # a again: still one contact
        ("m6", "e", "S2", "promo_a", "marketing", T0 + 30 * hour),
        ("m7", "b", "S1", "promo_b", "marketing", T0 + 40 * hour),  # 24h later: a new window
    ]
    insert_rows(workspace, "messages", [
        (mid, c, "whatsapp", s, "reach", "whatsapp", None, tpl, cat, ts)
        for mid, c, s, tpl, cat, ts in sends
    ])
    insert_rows(workspace, "message_events", [
        (mid, "delivered", ts + timedelta(minutes=1), None, None, None) for mid, *_, ts in sends
    ])
    insert_rows(workspace, "inbound", [("i1", "d", "whatsapp", "S1", T0 + 3 * hour, "text", None)])
    insert_rows(workspace, "sender_quality", [
        ("S1", T0 - timedelta(days=30), "GREEN", "TIER_250", "onboarded"),
        ("S1", T0 + 20 * hour, "GREEN", "TIER_2K", "upgrade"),
    ])
    insert_rows(workspace, "feedback", [("c", "whatsapp", "S1", "block", T0 + 6 * hour, None)])
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=8))

    usage = {row["sender_id"]: row for row in result.messaging_limits}
    # S1 outside a window: a, b, c (m4 is inside d's window; m5 repeats a) → 3 in 24 hours
    assert usage["S1"]["peak_unique_contacts"] == 3
    assert usage["S1"]["messaging_limit_tier"] == "TIER_250"
    assert usage["S1"]["tier_limit"] == 250
    assert usage["S2"]["peak_unique_contacts"] == 1

    share = {row["arm"]: row for row in result.window_share}["whatsapp"]
    assert (share["messages"], share["template_messages"], share["session_messages"],
            share["in_window_messages"]) == (7, 6, 1, 1)

    breakdown = {(r["dimension"], r["value"]): r for r in result.guardrail_breakdown}
    # c (the only blocker) received promo_b from S1
    assert (breakdown[("template", "promo_b")]["units"], breakdown[("template", "promo_b")]["events"]) == (3, 1)
    assert (breakdown[("template", "promo_a")]["units"], breakdown[("template", "promo_a")]["events"]) == (3, 0)
    assert (breakdown[("sender", "S1")]["units"], breakdown[("sender", "S1")]["events"]) == (4, 1)
    assert (breakdown[("sender", "S2")]["units"], breakdown[("sender", "S2")]["events"]) == (1, 0)


def test_tiers_and_send_list_warning() -> None:
    assert tier_limit("TIER_10K") == 10_000
    assert tier_limit("TIER_100K") == 100_000
    assert math.isinf(tier_limit("TIER_UNLIMITED"))
    assert math.isnan(tier_limit("something new"))
    warning = send_list_warning("S1", "TIER_2K", 4_500)
    assert warning is not None
    assert "at least 3 days" in warning
    assert send_list_warning("S1", "TIER_2K", 2_000) is None
    assert send_list_warning("S1", None, 10**9) is None
