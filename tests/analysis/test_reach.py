"""Messaging-limit usage, the 24-hour window share, and guardrail breakdowns."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from experiments import two_arm_toml
from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.core.reach import send_list_warning, tier_limit
from threadlift.engines.sqlfiles import sql_text
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)
EXPERIMENT = two_arm_toml(
    "reach",
    keys='sender_id = "S1"\n',
    tables='[[guardrails]]\nname = "blocks"\nkind = "block"\nmax_increase = 0.5\n',
)


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

    usage = {row.sender_id: row for row in result.messaging_limits}
    # S1 outside a window: a, b, c (m4 is inside d's window; m5 repeats a) → 3 in 24 hours
    assert usage["S1"].peak_unique_contacts == 3
    assert usage["S1"].messaging_limit_tier == "TIER_250"
    assert usage["S1"].tier_limit == 250
    assert usage["S2"].peak_unique_contacts == 1

    share = {row.arm: row for row in result.window_share}["whatsapp"]
    assert (share.messages, share.template_messages, share.session_messages,
            share.in_window_messages) == (7, 6, 1, 1)

    breakdown = {(r.dimension, r.value): (r.units, r.events) for r in result.guardrail_breakdown}
    # c (the only blocker) received promo_b from S1
    assert breakdown[("template", "promo_b")] == (3, 1)
    assert breakdown[("template", "promo_a")] == (3, 0)
    assert breakdown[("sender", "S1")] == (4, 1)
    assert breakdown[("sender", "S2")] == (1, 0)


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


def _peak_by_hand(sends: list[tuple[str, datetime]]) -> int:
    """Most distinct contacts with a send in [t - 24h, t], over the send times t."""
    day = timedelta(hours=24)
    return max(len({c for c, s in sends if t - day <= s <= t}) for _, t in sends)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# a's sends exactly 24 hours apart form one island: at 30h both a and b count
@example([("a", 0), ("a", 24), ("b", 30)])
# two sends of a at the same moment, and b exactly 24 hours after a
@example([("a", 5), ("a", 5), ("b", 29), ("c", 53)])
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                  # whole hours over three days, so sends 24 hours apart (the boundary) are common
                  st.integers(min_value=0, max_value=72)),
        min_size=1, max_size=25,
    )
)
def test_messaging_limit_peak_matches_a_brute_force_count(
    tmp_path_factory: pytest.TempPathFactory, raw_sends: list[tuple[str, int]]
) -> None:
    ws = Workspace.create(tmp_path_factory.mktemp("reach") / "ws.duckdb")
    try:
        sends = [(c, T0 + timedelta(hours=h)) for c, h in raw_sends]
        insert_rows(ws, "messages", [
            (f"m{i}", c, "whatsapp", "S1", "reach", "whatsapp", None, "promo", "marketing", ts)
            for i, (c, ts) in enumerate(sends)
        ])
        insert_rows(ws, "message_events", [
            (f"m{i}", "delivered", ts + timedelta(minutes=1), None, None, None)
            for i, (_, ts) in enumerate(sends)
        ])
        rows = ws.con.execute(
            sql_text("analysis/reach/messaging_limit_usage"),
            {"experiment_id": "reach", "since": T0 - timedelta(days=1), "as_of": T0 + timedelta(days=10)},
        ).fetchall()
        assert [(r[0], r[1]) for r in rows] == [("S1", _peak_by_hand(sends))]
        peak_at = rows[0][2]
        window = {c for c, s in sends if peak_at - timedelta(hours=24) <= s <= peak_at}
        assert len(window) == rows[0][1]  # the reported moment holds the peak
    finally:
        ws.close()
