"""Cost: priced by billed category, market from E.164, dated rate card, free windows."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.analysis.cost import shipped_pricing_rules
from threadlift.cli import main
from threadlift.core.cost import cost_per_incremental
from threadlift.experiment import parse_experiment
from threadlift.loading import load_files
from threadlift.workspace import Workspace

T0 = datetime(2025, 9, 1, 9, 0, 0)
EXPERIMENT = two_arm_toml(
    "cost-test", keys='sender_id = "S1"\n', assigned_at="2025-09-01T09:00:00Z", window_days=14,
    weights=(50, 50), tables=CONVERSION,
)


@pytest.fixture
def priced(workspace: Workspace) -> Workspace:
    # Contact c1's own market says US, but her WhatsApp number is Brazilian: BR prices apply.
    insert_rows(workspace, "contacts", [("c1", "US", T0), ("c2", "IN", T0), ("c3", "BR", T0), ("h1", "BR", T0)])
    insert_rows(workspace, "identities", [
        ("c1", "whatsapp", "+5511987654321", "S1"),
        ("c2", "whatsapp", "+919876543210", "S1"),
        # c3 has no E.164 address: her contacts.market (BR) is used
    ])
    insert_rows(workspace, "assignments", [
        ("cost-test", c, "whatsapp", 5000, T0) for c in ("c1", "c2", "c3")
    ] + [("cost-test", "h1", "holdout", 10, T0)])
    change = T0 + timedelta(days=5)  # the marketing price in BR changes mid-experiment
    insert_rows(workspace, "rate_card", [
        ("whatsapp", "BR", "marketing", 0.0625, "USD", datetime(2025, 7, 1)),
        ("whatsapp", "BR", "marketing", 0.0700, "USD", change),
        ("whatsapp", "BR", "utility", 0.0068, "USD", datetime(2025, 7, 1)),
        ("whatsapp", "IN", "marketing", 0.0107, "USD", datetime(2025, 7, 1)),
        ("whatsapp", "IN", "authentication", 0.0014, "USD", datetime(2025, 7, 1)),
        ("whatsapp", "IN", "utility", 0.0014, "USD", datetime(2025, 7, 1)),
    ])
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    messages = [
        # id, contact, category, sent_at
        ("m1", "c1", "marketing", T0 + day),            # BR marketing, old price 0.0625
        ("m2", "c1", "marketing", T0 + 6 * day),        # BR marketing, new price 0.0700
        ("m3", "c1", "utility", T0 + 7 * day),          # BR utility outside a window: 0.0068
        ("m4", "c1", "utility", T0 + 8 * day),          # BR utility inside a window: free
        ("m5", "c2", "marketing", T0 + day),            # IN marketing 0.0107
        ("m6", "c2", "authentication", T0 + 2 * day),   # IN authentication 0.0014
        ("m7", "c2", "marketing", T0 + 3 * day),        # never delivered: not billed
        ("m8", "c3", "marketing", T0 + 2 * day),        # webhook: billable=false (free entry point)
        ("m9", "c3", "marketing", T0 + 7 * day),        # BR marketing via contacts.market, 0.0700
        ("m10", "c2", "utility", T0 + 20 * day),        # after the window: not counted
        # c2 wrote in from a click-to-WhatsApp ad at day 9: the answer within 24 hours opens
        # a 72-hour free-entry-point window at m11
        ("m11", "c2", "marketing", T0 + 9 * day + 2 * hour),   # first answer: free (FEP)
        ("m12", "c2", "marketing", T0 + 12 * day),             # 70 h later: free (FEP)
        ("m13", "c2", "marketing", T0 + 12 * day + 3 * hour),  # 73 h later: IN marketing 0.0107
        ("m14", "c2", "marketing", T0 + 10 * day),             # in the FEP window, but the webhook
                                                               # says billable: 0.0107
        # c1 came from an ad at day 10 but the business answered 25 hours later: no FEP
        ("m15", "c1", "marketing", T0 + 11 * day + hour),      # BR marketing 0.0700
    ]
    insert_rows(workspace, "messages", [
        (mid, c, "whatsapp", "S1", "cost-test", "whatsapp", "camp", "tpl", cat, ts)
        for mid, c, cat, ts in messages
    ])
    events = [
        (mid, "delivered", ts + timedelta(minutes=1), None, None, None)
        for mid, _, _, ts in messages if mid not in ("m7", "m8")
    ]
    events.append(("m7", "failed", T0 + 3 * day, "131026", None, None))
    events.append(("m8", "delivered", T0 + 2 * day, None, "marketing", False))
    events = [e for e in events if e[0] != "m14"]
    events.append(("m14", "delivered", T0 + 10 * day, None, "marketing", True))
    insert_rows(workspace, "message_events", events)
    # the ingest table of ad / page-button entry points (message_referrals)
    insert_rows(workspace, "message_referrals", [
        ("whatsapp", "ref1", "c2", "S1", T0 + 9 * day, "ad", "ad-1", "clid-1"),
        ("whatsapp", "ref2", "c1", "S1", T0 + 10 * day, "ad", "ad-2", "clid-2"),
    ])
    # c1 wrote to the business 3 hours before m4: the customer-service window was open
    insert_rows(workspace, "inbound", [("in1", "c1", "whatsapp", "S1", T0 + 8 * day - timedelta(hours=3), "text", None)])
    return workspace


def test_cost_matches_a_hand_computation_to_the_cent(priced: Workspace) -> None:
    experiment = parse_experiment(EXPERIMENT)
    result = analyze(priced, experiment, as_of=T0 + timedelta(days=30))
    rows = {(r.arm, r.category): r for r in result.cost}
    # m1, m2, m5, m9, m13, m14, m15; m11 and m12 free in the free-entry-point window
    assert rows[("whatsapp", "marketing")].messages_billed == 7
    assert rows[("whatsapp", "marketing")].messages_free_entry_point == 2
    assert rows[("whatsapp", "marketing")].cost == pytest.approx(
        0.0625 + 0.0700 + 0.0107 + 0.0700 + 0.0107 + 0.0107 + 0.0700
    )
    assert rows[("whatsapp", "utility")].messages_billed == 1  # m3; m4 free in window
    assert rows[("whatsapp", "utility")].cost == pytest.approx(0.0068)
    assert rows[("whatsapp", "authentication")].cost == pytest.approx(0.0014)
    total = 0.0625 + 0.0700 + 0.0068 + 0.0107 + 0.0014 + 0.0700 + 0.0107 + 0.0107 + 0.0700
    assert round(rows[("whatsapp", "marketing")].arm_total_cost, 2) == round(total, 2) == 0.31
    assert rows[("whatsapp", "marketing")].arm_total_cost == pytest.approx(total, abs=1e-12)
    assert all(r.currency == "USD" for r in result.cost)
    assert not any(r.unpriced for r in result.cost)


class _Effect:
    def __init__(self, effect: float, low: float, high: float) -> None:
        self.effect_size, self.effect_size_ci_lower, self.effect_size_ci_upper = effect, low, high


def test_cost_per_incremental_conversion_interval_maps_the_effect_interval() -> None:
    result = cost_per_incremental(250.0, _Effect(0.01, 0.004, 0.016), 10_000)
    assert result.incremental == pytest.approx(100.0)
    assert result.estimate == pytest.approx(2.5)
    assert result.ci_lower == pytest.approx(250.0 / 160.0)
    assert result.ci_upper == pytest.approx(250.0 / 40.0)
    assert (result.interval, result.method) == ("bounded", "fieller")
    # the effect's interval includes zero: no finite interval (two rays), both bounds NaN
    open_ended = cost_per_incremental(250.0, _Effect(0.01, -0.002, 0.022), 10_000)
    assert open_ended.estimate == pytest.approx(2.5)
    assert open_ended.interval == "complement"
    assert math.isnan(open_ended.ci_lower)
    assert math.isnan(open_ended.ci_upper)
    none = cost_per_incremental(250.0, _Effect(-0.01, -0.02, 0.0), 10_000)
    assert none.error == "no_incremental_conversions"


# Each status order of one message, and whether WhatsApp charges it. A failure is never
# charged, whatever the `sent` status said; only a delivery (read implies it) is.
STATUS_ORDERS: list[tuple[str, list[tuple[str, int, str | None, bool | None]], bool]] = [
    # name, [(status, minutes after the send, error code, billable)], billed
    ("sent_billable_then_failed_131049",
     [("sent", 0, None, True), ("failed", 1, "131049", None)], False),
    ("sent_billable_then_failed_130472",
     [("sent", 0, None, True), ("failed", 1, "130472", None)], False),
    ("sent_billable_then_failed_131026",
     [("sent", 0, None, True), ("failed", 2, "131026", True)], False),
    ("failed_only", [("failed", 1, "131049", None)], False),
    ("sent_billable_never_delivered", [("sent", 0, None, True)], False),
    ("sent_delivered_read",
     [("sent", 0, None, True), ("delivered", 1, None, True), ("read", 5, None, None)], True),
    ("read_without_delivered", [("sent", 0, None, True), ("read", 3, None, True)], True),
    ("duplicate_statuses",
     [("sent", 0, None, True), ("sent", 0, None, True), ("delivered", 1, None, True),
      ("delivered", 2, None, True), ("read", 4, None, None), ("read", 6, None, None)], True),
    ("failure_after_delivery",
     [("sent", 0, None, True), ("delivered", 1, None, True), ("failed", 30, "131026", None)],
     True),
    ("delivered_free_customer_service",
     [("sent", 0, None, False), ("delivered", 1, None, False)], False),
    ("delivered_without_pricing", [("delivered", 1, None, None)], True),
]


def test_each_status_order_is_billed_as_whatsapp_bills_it(workspace: Workspace) -> None:
    # One contact and one marketing message per status order, each in its own market whose
    # price is a distinct power of two: the arm's cost spells out which messages were billed.
    contacts, assignments, messages, events, rates = [], [], [], [], []
    for i, (name, statuses, _) in enumerate(STATUS_ORDERS):
        market, sent_at = f"M{i}", T0 + timedelta(days=1)
        contacts.append((name, market, T0))
        assignments.append(("cost-test", name, "whatsapp", 5000, T0))
        messages.append((f"m-{name}", name, "whatsapp", "S1", "cost-test", "whatsapp", "camp",
                         "tpl", "marketing", sent_at))
        events += [(f"m-{name}", status, sent_at + timedelta(minutes=minutes), code,
                    "marketing" if billable is not None else None, billable)
                   for status, minutes, code, billable in statuses]
        rates.append(("whatsapp", market, "marketing", float(2**i), "USD", datetime(2025, 7, 1)))
    contacts.append(("h1", "M0", T0))
    assignments.append(("cost-test", "h1", "holdout", 10, T0))
    insert_rows(workspace, "contacts", contacts)
    insert_rows(workspace, "assignments", assignments)
    insert_rows(workspace, "messages", messages)
    insert_rows(workspace, "message_events", events)
    insert_rows(workspace, "rate_card", rates)
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=30))
    [row] = result.cost
    billed = {name for i, (name, _, _) in enumerate(STATUS_ORDERS) if int(row.cost) >> i & 1}
    assert billed == {name for name, _, charged in STATUS_ORDERS if charged}
    assert row.messages_billed == len(billed)
    assert row.messages == len(STATUS_ORDERS)


def test_cost_with_failed_billable_sends_counts_delivered_messages_only(
    workspace: Workspace,
) -> None:
    # 500 marketing messages in two markets; 4 % fail after a `sent` status that said
    # billable, as 131049 / 130472 / 131026 do. An SMS cell's failed messages are not
    # charged either.
    rng = np.random.default_rng(19)
    prices = {("whatsapp", "BR"): 0.0625, ("whatsapp", "IN"): 0.0107, ("sms", "BR"): 0.02,
              ("sms", "IN"): 0.003}
    contacts, assignments, messages, events, truth = [], [], [], [], []
    for i in range(500):
        contact, market = f"c{i}", ("BR", "IN")[i % 2]
        channel = "whatsapp" if i < 400 else "sms"
        arm = channel
        sent_at = T0 + timedelta(hours=int(rng.integers(1, 300)))
        contacts.append((contact, market, T0))
        assignments.append(("cost-test", contact, arm, 5000, T0))
        messages.append((f"m{i}", contact, channel, "S1", "cost-test", arm, "camp", "tpl",
                         "marketing", sent_at))
        failed = rng.random() < 0.04
        billable = True if channel == "whatsapp" else None
        events.append((f"m{i}", "sent", sent_at, None, "marketing" if billable else None,
                       billable))
        if failed:
            code = str(rng.choice(["131049", "130472", "131026"]))
            events.append((f"m{i}", "failed", sent_at + timedelta(seconds=5), code, None, None))
        else:
            status = "read" if rng.random() < 0.3 else "delivered"
            events.append((f"m{i}", status, sent_at + timedelta(seconds=5), None,
                           "marketing" if billable else None, billable))
        truth.append((arm, channel, market, not failed))
    contacts.append(("h1", "BR", T0))
    assignments.append(("cost-test", "h1", "holdout", 10, T0))
    insert_rows(workspace, "contacts", contacts)
    insert_rows(workspace, "assignments", assignments)
    insert_rows(workspace, "messages", messages)
    insert_rows(workspace, "message_events", events)
    insert_rows(workspace, "rate_card", [
        (channel, market, "marketing", price, "USD", datetime(2025, 7, 1))
        for (channel, market), price in prices.items()
    ])
    experiment = parse_experiment(
        EXPERIMENT + '[[arms]]\nname = "sms"\nweight = 50\nchannel = "sms"\n'
    )
    result = analyze(workspace, experiment, as_of=T0 + timedelta(days=30))
    rows = {r.arm: r for r in result.cost}
    for arm in ("whatsapp", "sms"):
        delivered = [(channel, market) for a, channel, market, ok in truth if a == arm and ok]
        assert sum(1 for a, _, _, ok in truth if a == arm and not ok) > 0
        assert rows[arm].messages_billed == len(delivered)
        assert rows[arm].cost == pytest.approx(sum(prices[key] for key in delivered), abs=1e-9)


def test_the_shipped_pricing_rules_name_a_source_for_every_row() -> None:
    rules = shipped_pricing_rules()
    assert {r.rule for r in rules} >= {
        "whatsapp_service_free", "whatsapp_utility_in_window_free", "whatsapp_marketing_us_paused"
    }
    for rule in rules:
        assert "https://developers.facebook.com/" in rule.source
        assert rule.version
        assert rule.valid_to is None or rule.valid_to > rule.valid_from
    service = next(r for r in rules if r.rule == "whatsapp_service_free")
    assert (service.valid_from, service.valid_to) == (datetime(2024, 11, 1), datetime(2026, 10, 1))


SERVICE = two_arm_toml(
    "service-test", keys='sender_id = "S1"\n', assigned_at="2026-08-03T09:00:00Z", window_days=14,
    weights=(50, 50), tables=CONVERSION,
)


def test_a_changed_rule_date_changes_the_cost(workspace: Workspace, tmp_path: Path) -> None:
    # Four free-form service messages in August 2026, no pricing in their statuses: free
    # under the shipped rule (until 2026-10-01), charged once a loaded rule ends it sooner.
    start = datetime(2026, 8, 3, 9)
    insert_rows(workspace, "contacts", [("c1", "BR", start), ("h1", "BR", start)])
    insert_rows(workspace, "assignments", [("service-test", "c1", "whatsapp", 5000, start),
                                           ("service-test", "h1", "holdout", 10, start)])
    sends = [start + timedelta(days=d) for d in (1, 2, 5, 9)]
    insert_rows(workspace, "messages", [
        (f"s{i}", "c1", "whatsapp", "S1", "service-test", "whatsapp", None, None, "service", ts)
        for i, ts in enumerate(sends)
    ])
    insert_rows(workspace, "message_events", [
        (f"s{i}", "delivered", ts + timedelta(minutes=1), None, None, None)
        for i, ts in enumerate(sends)
    ])
    insert_rows(workspace, "rate_card", [("whatsapp", "BR", "service", 0.0068, "USD", datetime(2026, 7, 1))])
    experiment = parse_experiment(SERVICE)
    as_of = start + timedelta(days=20)
    [before] = analyze(workspace, experiment, as_of=as_of).cost
    assert (before.messages, before.messages_billed, before.cost) == (4, 0, 0.0)
    rules = tmp_path / "rules.csv"
    rules.write_text(
        "rule,channel,category,market,applies,effect,valid_from,valid_to,source,version\n"
        "whatsapp_service_free,whatsapp,service,,always,free,2024-11-01T00:00:00Z,"
        "2026-08-07T00:00:00Z,our reading of Meta's notice,ours-1\n"
    )
    path = workspace.path
    workspace.close()
    done = CliRunner().invoke(main, ["load", "pricing_rules", str(rules), "-w", str(path)])
    assert done.exit_code == 0, done.output
    assert "1 rows added" in done.output
    with Workspace.open(path) as ws:
        [after] = analyze(ws, experiment, as_of=as_of).cost
    # the messages of 2026-08-08 and 2026-08-12 fall after the loaded rule's end
    assert after.messages_billed == 2
    assert after.cost == pytest.approx(2 * 0.0068)


def test_a_bad_pricing_rule_is_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    rules = tmp_path / "rules.csv"
    rules.write_text(
        "rule,channel,category,market,applies,effect,valid_from,valid_to,source,version\n"
        "r1,whatsapp,utility,,sometimes,free,2025-07-01,,s,v\n"
        "r2,whatsapp,utility,,always,free,2025-07-01,,s,v\n"
    )
    result = load_files(workspace, "pricing_rules", [rules])
    assert (result.inserted, result.quarantined) == (1, 1)


TIERS = two_arm_toml(
    "tier-test", keys='sender_id = "S1"\n', assigned_at="2025-09-25T09:00:00Z", window_days=14,
    weights=(50, 50), tables=CONVERSION,
)


def test_volume_tiers_follow_the_senders_billed_messages_in_the_calendar_month(
    workspace: Workspace,
) -> None:
    start = datetime(2025, 9, 25, 9)
    insert_rows(workspace, "contacts", [("c1", "IN", start), ("c2", "IN", start),
                                        ("h1", "IN", start)])
    insert_rows(workspace, "assignments", [("tier-test", "c1", "whatsapp", 5000, start),
                                           ("tier-test", "c2", "whatsapp", 5001, start),
                                           ("tier-test", "h1", "holdout", 10, start)])
    # the rate card: the first 3 utility messages of a month at 0.0014, the next at 0.0010
    insert_rows(workspace, "rate_card", [
        ("whatsapp", "IN", "utility", 0.0014, "USD", datetime(2025, 7, 1), 1, 3),
        ("whatsapp", "IN", "utility", 0.0010, "USD", datetime(2025, 7, 1), 4, None),
    ])
    day = timedelta(days=1)
    messages = [
        # id, contact, experiment, sent_at, delivered
        ("o1", "c2", None, datetime(2025, 9, 2), True),         # rank 1 of September
        ("o2", "c2", None, datetime(2025, 9, 20), False),       # failed: not in the volume
        ("o3", "c2", None, datetime(2025, 8, 30), True),        # August: another month
        ("e1", "c1", "tier-test", start + day, True),           # rank 2: 0.0014
        ("e2", "c1", "tier-test", start + 2 * day, True),       # rank 3: 0.0014
        ("o4", "c2", None, start + 2 * day + timedelta(hours=1), True),  # rank 4
        ("e3", "c1", "tier-test", start + 3 * day, True),       # rank 5: 0.0010
        ("e4", "c1", "tier-test", start + 4 * day, False),      # failed: not billed
        ("e5", "c1", "tier-test", start + 7 * day, True),       # October, rank 1: 0.0014
        ("e6", "c1", "tier-test", start + 8 * day, True),       # October, rank 2: 0.0014
    ]
    insert_rows(workspace, "messages", [
        (mid, c, "whatsapp", "S1", exp, "whatsapp" if exp else None, None, "tpl", "utility", ts)
        for mid, c, exp, ts, _ in messages
    ])
    insert_rows(workspace, "message_events", [
        (mid, "delivered" if ok else "failed", ts + timedelta(minutes=1),
         None if ok else "131026", "utility" if ok else None, True if ok else None)
        for mid, _, _, ts, ok in messages
    ])
    [row] = analyze(workspace, parse_experiment(TIERS), as_of=start + 30 * day).cost
    assert (row.messages, row.messages_billed, row.unpriced) == (6, 5, 0)
    assert row.cost == pytest.approx(0.0014 + 0.0014 + 0.0010 + 0.0014 + 0.0014)
