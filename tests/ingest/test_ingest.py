"""Platform ingest: real webhook fixtures → raw store → canonical tables."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlift.errors import InputError
from threadlift.ingest import IngestResult, ingest_files, rebuild
from threadlift.workspace import Workspace
from webhooks import whatsapp_body

FIXTURES = Path(__file__).parents[1] / "fixtures" / "webhooks"
META = FIXTURES / "meta_docs_examples"
PYWA = FIXTURES / "whatsapp" / "pywa"
JAVA = FIXTURES / "whatsapp" / "whatsapp-business-java-api"
SYNTHETIC = FIXTURES / "synthetic"

CANONICAL = (
    "contacts", "identities", "consents", "messages", "message_events", "inbound",
    "sender_quality",
)


def _platform_of(path: Path) -> str:
    name = path.name
    if name.startswith("fb_"):
        return "messenger"
    if name.startswith("ig_"):
        return "instagram"
    if path.suffix == ".csv":
        return "sms"
    if name.startswith("apple"):
        return "apple"
    if name.startswith("messenger"):
        return "messenger"
    return "whatsapp"


def _rows(ws: Workspace, table: str) -> list[tuple[object, ...]]:
    return sorted(
        ws.con.execute(f'SELECT * FROM "{table}"').fetchall(),
        key=lambda row: [str(v) for v in row],
    )


def _snapshot(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    return {table: _rows(ws, table) for table in CANONICAL}


def _bodies(path: Path) -> list[str]:
    """The bodies of a fixture file as JSON lines (named collections expanded)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(document, dict) and "object" not in document:
        return [json.dumps(v) for v in document.values()]
    return [json.dumps(document)]


def test_every_fixture_ingests_without_an_uncaught_error(workspace: Workspace) -> None:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in {".json", ".jsonl", ".csv"})
    assert len(files) > 140
    by_platform: dict[str, list[Path]] = {}
    for path in files:
        by_platform.setdefault(_platform_of(path), []).append(path)
    for platform, paths in by_platform.items():
        result = ingest_files(workspace, platform, paths)
        assert result.files == len(paths)
        assert result.bodies + result.duplicates + result.quarantined >= len(paths)
    seen = {
        str(source)
        for (source,) in workspace.con.execute(
            "SELECT source FROM raw_bodies UNION SELECT source FROM quarantine"
        ).fetchall()
    }
    for path in files:
        if str(path) not in seen:
            # every body of this file repeats one stored from another file
            again = ingest_files(workspace, _platform_of(path), [path])
            assert again.duplicates > 0
            assert again.bodies == 0


def test_pmp_sent_status(workspace: Workspace) -> None:
    result = ingest_files(workspace, "whatsapp", [META / "wa_status__01.json"])
    assert result.bodies == 1
    assert result.rows["messages"] == 1
    assert _rows(workspace, "message_events") == [
        (
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
            "sent",
            __import__("datetime").datetime(2025, 6, 15, 23, 27, 53),
            None,
            "marketing",
            True,
        )
    ]
    (message,) = _rows(workspace, "messages")
    assert message[1:4] == ("whatsapp:+16505551234", "whatsapp", "15550783881")
    assert message[8] == "marketing"
    assert _rows(workspace, "identities") == [
        ("whatsapp:+16505551234", "whatsapp", "+16505551234", None)
    ]
    assert _rows(workspace, "contacts")[0][:2] == ("whatsapp:+16505551234", "US")


def test_failed_statuses_keep_their_error_codes(workspace: Workspace) -> None:
    ingest_files(
        workspace,
        "whatsapp",
        [META / "wa_status__03.json", JAVA / "reEngagementMessageError.json",
         JAVA / "mediaUploadError.json"],
    )
    failed = workspace.con.execute(
        "SELECT error_code, count(*) FROM message_events WHERE status = 'failed' "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert failed == [("131047", 1), ("131049", 1), ("131053", 1)]
    # 1111111111111 is not a possible phone number: the send is quarantined, the event kept.
    reasons = [r[0] for r in workspace.con.execute("SELECT reason FROM quarantine").fetchall()]
    assert any("no usable identity: phone 1111111111111" in r for r in reasons)


def test_pywa_message_status_scenarios(workspace: Workspace) -> None:
    result = ingest_files(workspace, "whatsapp", [PYWA / "message_status.json"])
    # 7 scenarios; "group" holds placeholders and is quarantined.
    assert result.bodies == 6
    assert result.quarantined == 1
    events = workspace.con.execute(
        "SELECT status, error_code, pricing_category, billable FROM message_events "
        "ORDER BY status"
    ).fetchall()
    assert events == [
        ("delivered", None, "service", True),
        ("failed", "130472", None, None),
        ("played", None, "service", True),
        ("read", None, "service", True),
        ("sent", None, "service", True),
    ]
    # wa_id, BSUID and parent BSUID of the contacts[] profile are one contact.
    assert _rows(workspace, "identities") == [
        ("whatsapp:+972987654321", "whatsapp", "+972987654321", None),
        ("whatsapp:+972987654321", "whatsapp", "US.13491208655302741918", None),
        ("whatsapp:+972987654321", "whatsapp", "US.ENT.11815799212886844830", None),
    ]
    fact = workspace.con.execute(
        "SELECT final_state, error_code FROM message_facts"
    ).fetchall()
    assert fact == [("read", "130472")]


def test_tracking_data_and_authentication_international(
    workspace: Workspace, tmp_path: Path
) -> None:
    def body(status: str, ts: int, pricing: dict[str, object] | None) -> str:
        item: dict[str, object] = {
            "id": "wamid.T1", "status": status, "timestamp": str(ts),
            "recipient_id": "16505551234",
            "biz_opaque_callback_data": '{"experiment_id": "otp-test", "arm": "whatsapp"}',
        }
        if pricing:
            item["pricing"] = pricing
        return json.dumps(whatsapp_body({"statuses": [item]}))

    pricing = {"pricing_model": "PMP", "type": "regular",
               "category": "authentication-international"}
    path = tmp_path / "auth.jsonl"
    path.write_text(
        "\n".join([body("sent", 1750000000, pricing), body("read", 1750000100, None)]) + "\n"
    )
    ingest_files(workspace, "whatsapp", [path])
    assert workspace.con.execute(
        "SELECT experiment_id, arm, category FROM messages"
    ).fetchall() == [("otp-test", "whatsapp", "authentication")]
    assert workspace.con.execute(
        "SELECT final_state, first_delivered_at = first_read_at, billed_category "
        "FROM message_facts"
    ).fetchall() == [("read", True, "authentication")]


def test_inbound_context_referral_and_windows(workspace: Workspace, tmp_path: Path) -> None:
    ingest_files(workspace, "whatsapp", [META / "wa_text__04.json", META / "wa_text__03.json"])
    inbound = workspace.con.execute(
        "SELECT type, context_message_id FROM inbound ORDER BY ts"
    ).fetchall()
    assert inbound == [
        ("text", "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"),
        ("text", None),
    ]
    assert workspace.con.execute(
        "SELECT source_type, source_id FROM message_referrals"
    ).fetchall() == [("ad", "120226305854810726")]
    # a reply 1 hour after the ad click: the window is open and a free entry point applies.
    reply = whatsapp_body({"statuses": [{
        "id": "wamid.R", "status": "sent", "timestamp": str(1750275992 + 3600),
        "recipient_id": "16505551234",
        "pricing": {"billable": False, "pricing_model": "PMP", "type": "free_entry_point",
                    "category": "referral_conversion"}}]})
    path = tmp_path / "reply.jsonl"
    path.write_text(json.dumps(reply) + "\n")
    ingest_files(workspace, "whatsapp", [path])
    assert workspace.con.execute(
        "SELECT service_window_open, free_entry_point, billable FROM message_facts"
    ).fetchall() == [(True, True, False)]


def test_every_element_of_messages_and_contacts_arrays_is_read(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Several messages and contacts in one change, elements that are not messages, and the
    same items in a body of two changes (the split path): each element is one row, and a
    quarantined element keeps its own JSON text (compact, as Python writes it here). A
    "referral": null is no referral."""
    def message(mid: str | None, sender: str, **extra: object) -> dict[str, object]:
        item: dict[str, object] = {"from": sender, "timestamp": "1750000000", "type": "text",
                                   "text": {"body": "hi"}, **extra}
        if mid is not None:
            item["id"] = mid
        return item

    reply = message("m1", "16505550001", context={"from": "15550783881", "id": "wamid.S1"})
    ad = message("m2", "16505550002", referral={"source_type": "ad", "source_id": "ad-9",
                                                 "ctwa_clid": "clid-9"})
    no_id = message(None, "16505550003")
    fast = whatsapp_body({
        "contacts": [{"wa_id": "16505550001"}, {"wa_id": "16505550002", "user_id": "US.200"}],
        "messages": [reply, ad, None, 5, no_id]})
    split = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"metadata": {"display_phone_number": "15550783881"},
                                        "messages": [message("m4", "16505550004")]}},
        {"field": "messages", "value": {"metadata": {"display_phone_number": "15550783881"},
                                        "contacts": [{"wa_id": "16505550005", "user_id": "US.500"}],
                                        "messages": [message("m5", "16505550005"),
                                                     message("m6", "16505550006",
                                                             referral=None)]}}]}]}
    path = tmp_path / "arrays.jsonl"
    path.write_text(json.dumps(fast) + "\n" + json.dumps(split) + "\n")
    ingest_files(workspace, "whatsapp", [path])
    assert workspace.con.execute(
        "SELECT message_id, contact_id, context_message_id FROM inbound ORDER BY 1"
    ).fetchall() == [
        ("m1", "whatsapp:+16505550001", "wamid.S1"),
        ("m2", "whatsapp:+16505550002", None),
        ("m4", "whatsapp:+16505550004", None),
        ("m5", "whatsapp:+16505550005", None),
        ("m6", "whatsapp:+16505550006", None),
    ]
    assert workspace.con.execute(
        "SELECT message_id, source_type, source_id, ctwa_clid FROM message_referrals"
    ).fetchall() == [("m2", "ad", "ad-9", "clid-9")]
    # contacts[] linked the BSUIDs to the phones of the same change
    assert workspace.con.execute(
        "SELECT address, contact_id FROM identities WHERE address LIKE 'US.%' ORDER BY 1"
    ).fetchall() == [("US.200", "whatsapp:+16505550002"), ("US.500", "whatsapp:+16505550005")]
    # the message text is redacted (docs/privacy.md) before anything reads the body
    compact = json.dumps({**no_id, "text": ""}, separators=(",", ":"))
    assert sorted(workspace.con.execute(
        "SELECT location, reason, raw FROM quarantine WHERE target_table = 'inbound'"
    ).fetchall()) == [
        ("line 1 message ?", "message without an id", raw)
        for raw in sorted(["null", "5", compact])
    ]


def test_preferences_quality_and_platform_events(workspace: Workspace) -> None:
    ingest_files(
        workspace,
        "whatsapp",
        [META / "wa_user_preferences__01.json", JAVA / "qualityUpdate.json",
         META / "wa_phone_number_quality_update__01.json",
         META / "wa_message_template_status_update__02.json",
         META / "wa_message_template_quality_update__01.json", PYWA / "account_update.json"],
    )
    assert workspace.con.execute(
        "SELECT contact_id, scope, status, source FROM consents"
    ).fetchall() == [("whatsapp:+16505551234", "marketing", "granted", "user_preferences")]
    assert workspace.con.execute(
        "SELECT sender_id, quality_rating, messaging_limit_tier, event FROM sender_quality "
        "ORDER BY ts"
    ).fetchall() == [
        ("16505551111", None, "TIER_10K", "FLAGGED"),
        ("15550783881", None, "TIER_UNLIMITED", "THROUGHPUT_UPGRADE"),
    ]
    events = workspace.con.execute(
        "SELECT field, event, template_name FROM platform_events "
        "WHERE field LIKE 'message_template%' ORDER BY field"
    ).fetchall()
    assert events == [
        ("message_template_quality_update", "YELLOW", "welcome_template"),
        ("message_template_status_update", "REJECTED", "abandoned_cart"),
    ]
    account = workspace.con.execute(
        "SELECT count(*) FROM platform_events WHERE field = 'account_update'"
    ).fetchone()
    assert account == (17,)


def test_stop_revokes_marketing_consent(workspace: Workspace, tmp_path: Path) -> None:
    body = json.loads((META / "wa_user_preferences__01.json").read_text())
    pref = body["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    pref.update(value="stop", timestamp=1731800000)
    path = tmp_path / "stop.jsonl"
    path.write_text(json.dumps(body) + "\n")
    ingest_files(workspace, "whatsapp", [path])
    assert workspace.con.execute("SELECT status, scope FROM consents").fetchall() == [
        ("revoked", "marketing")
    ]


def test_bsuid_only_recipient_is_an_identity(workspace: Workspace) -> None:
    ingest_files(workspace, "whatsapp", [META / "wa_bsuid__15.json"])
    assert _rows(workspace, "identities") == [
        ("whatsapp:US.13491208655302741918", "whatsapp", "US.13491208655302741918", None),
        ("whatsapp:US.13491208655302741918", "whatsapp", "US.ENT.11815799212886844830", None),
    ]
    assert _rows(workspace, "contacts")[0][:2] == ("whatsapp:US.13491208655302741918", "US")


def test_an_impossible_phone_beside_two_identifiers_links_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Statuses of one message naming a phone, a BSUID and a phone that is not possible
    ("12"): the first two are one contact, the third is no identity (it once stopped the
    ingest: the unusable identifier reached the merge of components)."""
    path = tmp_path / "statuses.jsonl"
    path.write_text("".join(json.dumps(whatsapp_body({"statuses": [{
        "id": "wamid.X", "status": status, "timestamp": ts, **recipient}]})) + "\n"
        for status, ts, recipient in (
            ("sent", "1750000000", {"recipient_id": "16505550100",
                                    "recipient_user_id": "US.13491208655302741918"}),
            ("delivered", "1750000001", {"recipient_id": "12"}))))
    ingest_files(workspace, "whatsapp", [path])
    assert _rows(workspace, "identities") == [
        ("whatsapp:+16505550100", "whatsapp", "+16505550100", None),
        ("whatsapp:+16505550100", "whatsapp", "US.13491208655302741918", None),
    ]
    assert _rows(workspace, "messages")[0][:2] == ("wamid.X", "whatsapp:+16505550100")


def test_a_line_over_the_limit_is_refused_with_its_number_and_nothing_is_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    good = _bodies(META / "wa_status__01.json")[0]
    path = tmp_path / "long.jsonl"
    huge = json.dumps({"object": "whatsapp_business_account", "pad": "y" * (16 * 2**20)})
    path.write_text(f"{good}\n{good}\n{huge}\n")
    with pytest.raises(InputError, match=r"line 3 is 16,777,2\d\d bytes, longer than the 16 MiB"):
        ingest_files(workspace, "whatsapp", [path])
    assert workspace.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(0,)]
    assert workspace.con.execute("SELECT count(*) FROM message_events").fetchall() == [(0,)]


def test_a_line_just_under_the_limit_is_read(workspace: Workspace, tmp_path: Path) -> None:
    good = _bodies(META / "wa_status__01.json")[0]
    path = tmp_path / "long.jsonl"
    large = json.dumps({"object": "whatsapp_business_account", "pad": "y" * (16 * 2**20 - 100)})
    path.write_text(f"{large}\n{good}\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert result.bodies == 2
    assert workspace.con.execute(
        "SELECT location, length(body) FROM raw_bodies ORDER BY seq"
    ).fetchall() == [("line 1", len(large)), ("line 2", len(good))]


def test_malformed_line_is_quarantined_and_the_rest_ingested(
    workspace: Workspace, tmp_path: Path
) -> None:
    good = _bodies(META / "wa_status__01.json")[0]
    path = tmp_path / "mixed.jsonl"
    path.write_text(f"{good}\n{{not json\n\n{json.dumps({'object': 'page'})}\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert result.bodies == 1
    rows = workspace.con.execute(
        "SELECT location, reason FROM quarantine ORDER BY location"
    ).fetchall()
    assert rows[0] == ("line 2", "malformed JSON")
    assert rows[1][0] == "line 4"
    assert rows[1][1].startswith("not a WhatsApp webhook body")


def test_pretty_printed_file_with_trailing_garbage(workspace: Workspace) -> None:
    result = ingest_files(workspace, "whatsapp", [JAVA / "textMessageStatusRead.json"])
    assert result.bodies == 1
    assert result.rows["message_events"] == 1
    (location,) = workspace.con.execute("SELECT location FROM quarantine").fetchone() or ("",)
    assert location == "line 29"


def test_ingesting_twice_changes_nothing(workspace: Workspace) -> None:
    files = [PYWA / "message_status.json", PYWA / "message.json", META / "wa_status__01.json"]
    ingest_files(workspace, "whatsapp", files)
    before = _snapshot(workspace)
    quarantine = workspace.con.execute("SELECT count(*) FROM quarantine").fetchone()
    again = ingest_files(workspace, "whatsapp", files)
    assert again.bodies == 0
    assert again.duplicates > 0
    assert sum(again.rows.values()) == 0
    assert _snapshot(workspace) == before
    assert workspace.con.execute("SELECT count(*) FROM quarantine").fetchone() == quarantine


def _fixture_stream() -> list[str]:
    lines: list[str] = []
    for path in [*sorted(PYWA.glob("*.json")), *sorted(META.glob("wa_*.json"))]:
        lines.extend(_bodies(path))
    return lines


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_duplicated_deliveries_give_the_same_tables(
    tmp_path: Path, seed: int
) -> None:
    lines = _fixture_stream()
    ordered = tmp_path / "ordered.jsonl"
    ordered.write_text("\n".join(lines) + "\n")
    rng = random.Random(seed)
    noisy = lines + rng.sample(lines, k=len(lines) // 2)
    rng.shuffle(noisy)
    half = len(noisy) // 2
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(noisy[:half]) + "\n")
    second.write_text("\n".join(noisy[half:]) + "\n")
    with Workspace.create(tmp_path / "ordered.duckdb") as ws_ordered, Workspace.create(
        tmp_path / "noisy.duckdb"
    ) as ws_noisy:
        ordered_result = ingest_files(ws_ordered, "whatsapp", [ordered])
        noisy_result = ingest_files(ws_noisy, "whatsapp", [first, second])
        assert _snapshot(ws_noisy) == _snapshot(ws_ordered)
        assert _rows(ws_noisy, "message_facts") == _rows(ws_ordered, "message_facts")
        # the raw store keeps each (storable) body once, whatever the repeats
        stored = "SELECT count(*), count(DISTINCT body_hash) FROM raw_bodies"
        good = ordered_result.bodies
        assert ws_ordered.con.execute(stored).fetchall() == [(good, good)]
        assert ws_noisy.con.execute(stored).fetchall() == [(good, good)]
        assert noisy_result.bodies == good
        assert noisy_result.duplicates > 0


def test_a_json_lines_file_ingested_again_stores_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    lines = _bodies(META / "wa_status__01.json") + _bodies(PYWA / "message.json")
    assert len(set(lines)) == len(lines) >= 2
    path = tmp_path / "lines.jsonl"
    # a retry within the file: the second copy of the first body is a duplicate
    path.write_text("\n".join([*lines, lines[0]]) + "\n")
    first = ingest_files(workspace, "whatsapp", [path])
    assert (first.bodies, first.duplicates) == (len(lines), 1)
    before = _snapshot(workspace)
    again = ingest_files(workspace, "whatsapp", [path])
    assert (again.bodies, again.duplicates) == (0, len(lines) + 1)
    assert workspace.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(len(lines),)]
    assert _snapshot(workspace) == before


def test_messenger_read_watermark_marks_exactly_earlier_sends(workspace: Workspace) -> None:
    ingest_files(workspace, "messenger", [SYNTHETIC / "messenger_thread.jsonl"])
    read = workspace.con.execute(
        "SELECT message_id FROM message_events WHERE status = 'read' ORDER BY 1"
    ).fetchall()
    # the watermark equals m_2's send time: m_1 and m_2 are read, m_3 (later) is not.
    assert read == [("m_1",), ("m_2",)]
    assert workspace.con.execute(
        "SELECT message_id, final_state FROM message_facts ORDER BY 1"
    ).fetchall() == [("m_1", "read"), ("m_2", "read"), ("m_3", "delivered")]
    assert workspace.con.execute(
        "SELECT experiment_id, arm FROM messages WHERE message_id = 'm_1'"
    ).fetchall() == [("exp1", "treatment")]
    assert workspace.con.execute(
        "SELECT message_id, context_message_id FROM inbound"
    ).fetchall() == [("m_in1", "m_1")]
    assert workspace.con.execute(
        "SELECT status, source FROM consents"
    ).fetchall() == [("revoked", "messaging_optins")]


def test_watermark_before_the_echo_still_marks_it(workspace: Workspace, tmp_path: Path) -> None:
    lines = (SYNTHETIC / "messenger_thread.jsonl").read_text().splitlines()
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(reversed(lines)) + "\n")
    ingest_files(workspace, "messenger", [path])
    read = workspace.con.execute(
        "SELECT message_id FROM message_events WHERE status = 'read' ORDER BY 1"
    ).fetchall()
    assert read == [("m_1",), ("m_2",)]


def test_messenger_event_kinds_types_and_bad_events(workspace: Workspace, tmp_path: Path) -> None:
    page, user = "1111", "2222"

    def event(**fields: object) -> dict[str, object]:
        return {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": 1700000000000,
                **fields}

    echo = {"sender": {"id": page}, "recipient": {"id": user}, "timestamp": 1700000000000}
    events: list[object] = [
        {**echo, "message": {"mid": "e2", "is_echo": True,
                             "metadata": {"experiment_id": "x2", "arm": "b"},
                             "attachments": [{"type": "image", "payload": {}}]}},
        event(message={"mid": "i1", "text": "hi", "quick_reply": {"payload": "Q"}}),
        event(message={"mid": "i2", "attachments": [{"payload": {}}]}),
        event(message={"mid": "i3", "reply_to": {"mid": "e2"},
                       "referral": {"source": "ADS", "ad_id": "ad1"}}),
        event(message={"mid": "i4", "text": '"message": {"mid": "fake"}'}),
        event(read={}),
        event(optin={"type": "notification_messages", "notification_messages_status": "WEIRD"}),
        event(message={"text": "no mid"}),
        event(timestamp="soon", message={"mid": "late"}),
        {"recipient": {"id": page}, "timestamp": 1700000000000, "message": {"mid": "anon"}},
        5,
    ]
    path = tmp_path / "messenger.jsonl"
    # the first four and the last in one body (one entry, several events), the rest one per body
    bodies = [{"object": "page", "entry": [{"id": page, "messaging": [*events[:4], events[10]]}]}] + [
        {"object": "page", "entry": [{"id": page, "messaging": [e]}]} for e in events[4:10]]
    path.write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    ingest_files(workspace, "messenger", [path])
    assert workspace.con.execute(
        "SELECT message_id, type, context_message_id FROM inbound ORDER BY 1").fetchall() == [
        ("i1", "quick_reply", None), ("i2", "attachment", None), ("i3", "message", "e2"),
        ("i4", "text", None)]
    assert workspace.con.execute(
        "SELECT message_id, experiment_id, arm FROM messages").fetchall() == [("e2", "x2", "b")]
    assert workspace.con.execute(
        "SELECT message_id, source_type, source_id FROM message_referrals").fetchall() == [
        ("i3", "ADS", "ad1")]
    compact = [json.dumps(e, separators=(",", ":")) for e in events]
    # message texts are redacted (docs/privacy.md) before anything reads the body
    compact[7] = compact[7].replace('"no mid"', '""')
    assert sorted(workspace.con.execute(
        "SELECT location, reason, raw FROM quarantine").fetchall()) == [
        ("line 1 other", "event without sender.id / recipient.id", "5"),
        ("line 3 read", "read without a watermark or mid", compact[5]),
        ("line 4 optin", 'unknown notification_messages_status "WEIRD"', compact[6]),
        ("line 5 message", "message without a mid", compact[7]),
        ("line 6 message", "timestamp is not milliseconds since the epoch", compact[8]),
        ("line 7 message", "event without sender.id / recipient.id", compact[9]),
    ]


def test_instagram_seen_marks_one_message(workspace: Workspace) -> None:
    ingest_files(workspace, "instagram", [META / "ig_webhooks__02.json"])
    assert workspace.con.execute(
        "SELECT message_id, status FROM message_events"
    ).fetchall() == [("MESSAGE-ID", "read")]


def test_apple_reports_submitted_never_delivered(workspace: Workspace) -> None:
    result = ingest_files(workspace, "apple", [SYNTHETIC / "apple_msp_log.jsonl"])
    assert result.quarantined == 1  # an outbound "delivered" record: Apple has no receipts
    assert workspace.con.execute(
        "SELECT message_id, final_state, first_delivered_at FROM message_facts ORDER BY 1"
    ).fetchall() == [("a-out-1", "submitted", None), ("a-out-2", "failed", None)]
    assert workspace.con.execute("SELECT message_id FROM inbound").fetchall() == [("a-in-1",)]


def test_apple_records_with_hyphenated_ids_and_numbers(workspace: Workspace, tmp_path: Path) -> None:
    records = [
        {"direction": "outbound", "id": "o1", "source-id": "biz", "destination-id": "u1",
         "timestamp": 1750000000, "status": "FAILED", "error_code": 403, "category": "MARKETING"},
        {"direction": "inbound", "id": "i1", "source-id": "u1", "destination-id": "biz",
         "timestamp": " 2025-06-15T15:10:00+02:00 ", "type": "image", "context_message_id": "o1"},
        {"direction": "inbound", "id": "i2", "source_id": "u1", "destination_id": "biz",
         "timestamp": "yesterday"},
    ]
    path = tmp_path / "apple.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    ingest_files(workspace, "apple", [path])
    assert workspace.con.execute(
        "SELECT message_id, contact_id, category, sent_at FROM messages").fetchall() == [
        ("o1", "apple:biz:u1", "marketing", datetime(2025, 6, 15, 15, 6, 40))]
    assert workspace.con.execute(
        "SELECT message_id, final_state, error_code FROM message_facts").fetchall() == [
        ("o1", "failed", "403")]
    assert workspace.con.execute(
        "SELECT message_id, type, context_message_id, ts FROM inbound").fetchall() == [
        ("i1", "image", "o1", datetime(2025, 6, 15, 13, 10))]
    assert workspace.con.execute("SELECT location, reason FROM quarantine").fetchall() == [
        ("line 3", 'timestamp "yesterday" is not ISO 8601 or Unix seconds')]


def test_sms_csv(workspace: Workspace) -> None:
    result = ingest_files(workspace, "sms", [SYNTHETIC / "sms_log.csv"])
    assert result.quarantined == 2
    assert _rows(workspace, "identities") == [
        ("sms:+16505550000", "sms", "+16505550000", None),
        ("sms:+16505551234", "sms", "+16505551234", None),
    ]
    assert workspace.con.execute(
        "SELECT message_id, final_state, error_code FROM message_facts ORDER BY 1"
    ).fetchall() == [("s1", "delivered", None), ("s2", "failed", "30007")]


def test_unknown_identity_quarantine_mode(workspace: Workspace) -> None:
    result = ingest_files(
        workspace, "whatsapp", [META / "wa_status__01.json"], unknown_identity="quarantine"
    )
    assert result.rows["messages"] == 0
    assert result.rows["contacts"] == 0
    (reason,) = workspace.con.execute("SELECT reason FROM quarantine").fetchone() or ("",)
    assert reason.startswith("unknown identity phone +16505551234")
    # once the identity is known, a rebuild maps the stored bodies to it.
    workspace.con.execute("INSERT INTO contacts VALUES ('crm-42', 'US', NULL)")
    workspace.con.execute(
        "INSERT INTO identities VALUES ('crm-42', 'whatsapp', '+16505551234', NULL)"
    )
    rebuild(workspace, unknown_identity="quarantine")
    assert workspace.con.execute("SELECT contact_id FROM messages").fetchall() == [("crm-42",)]
    assert workspace.con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_rebuild_reproduces_the_tables(workspace: Workspace) -> None:
    ingest_files(workspace, "whatsapp", [PYWA / "message_status.json", PYWA / "message.json",
                                         META / "wa_user_preferences__01.json"])
    ingest_files(workspace, "messenger", [SYNTHETIC / "messenger_thread.jsonl"])
    workspace.con.execute("INSERT INTO contacts VALUES ('loaded-by-user', 'BR', NULL)")
    before = _snapshot(workspace)
    extras = {t: _rows(workspace, t) for t in ("platform_events", "read_watermarks")}
    result = rebuild(workspace)
    assert isinstance(result, IngestResult)
    assert _snapshot(workspace) == before
    assert {t: _rows(workspace, t) for t in extras} == extras
    # rows the ingest did not add survive; deleted derived rows come back.
    workspace.con.execute("DELETE FROM message_events")
    rebuild(workspace)
    assert _snapshot(workspace) == before


def test_bad_arguments(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        ingest_files(workspace, "telegram", [])
    with pytest.raises(InputError):
        ingest_files(workspace, "whatsapp", [tmp_path / "missing.jsonl"])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,when\n1,2\n")
    with pytest.raises(InputError):
        ingest_files(workspace, "sms", [bad])


def _status_body(message: int, status: str, ts: int, recipient: str) -> str:
    item: dict[str, object] = {
        "id": f"wamid.P{message}", "status": status, "timestamp": str(ts),
        "recipient_id": recipient,
    }
    if status != "read":
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular",
                           "category": "utility"}
    return json.dumps(whatsapp_body({"statuses": [item]}))


_PROPERTY_BODIES = [
    _status_body(m, status, 1750000000 + 60 * m + offset, f"1650555{m % 3:04d}")
    for m in range(6)
    for offset, status in enumerate(("sent", "delivered", "read"))
] + _bodies(META / "wa_text__04.json") + _bodies(META / "wa_user_preferences__01.json")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.permutations(range(len(_PROPERTY_BODIES))),
    repeats=st.lists(st.integers(0, len(_PROPERTY_BODIES) - 1), max_size=12),
    split=st.integers(0, len(_PROPERTY_BODIES)),
)
def test_property_arrival_order_and_retries_do_not_matter(
    tmp_path_factory: pytest.TempPathFactory, order: list[int], repeats: list[int], split: int
) -> None:
    root = tmp_path_factory.mktemp("property")
    reference = root / "reference.jsonl"
    reference.write_text("\n".join(_PROPERTY_BODIES) + "\n")
    stream = [_PROPERTY_BODIES[i] for i in [*order, *repeats]]
    first, second = root / "first.jsonl", root / "second.jsonl"
    first.write_text("\n".join(stream[:split]) + "\n")
    second.write_text("\n".join(stream[split:]) + "\n")
    with Workspace.create(root / "a.duckdb") as ordered, Workspace.create(
        root / "b.duckdb"
    ) as shuffled:
        ingest_files(ordered, "whatsapp", [reference])
        ingest_files(shuffled, "whatsapp", [first])
        ingest_files(shuffled, "whatsapp", [second])
        ingest_files(shuffled, "whatsapp", [second])
        assert _snapshot(shuffled) == _snapshot(ordered)
        assert _rows(shuffled, "message_facts") == _rows(ordered, "message_facts")


def test_unknown_status_value_is_quarantined_with_its_location(
    workspace: Workspace, tmp_path: Path
) -> None:
    body = json.loads(_status_body(1, "deleted", 1750000000, "16505551234"))
    good = _status_body(2, "sent", 1750000000, "16505551234")
    path = tmp_path / "statuses.jsonl"
    path.write_text(good + "\n" + json.dumps(body) + "\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert result.bodies == 2
    assert result.rows["message_events"] == 1
    assert workspace.con.execute(
        "SELECT source, location, reason, target_table FROM quarantine"
    ).fetchall() == [
        (
            str(path),
            "line 2 status wamid.P1",
            'unknown status "deleted"; expected sent, delivered, read, failed or played',
            "message_events",
        )
    ]


def test_email_csv(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "email.csv"
    path.write_text(
        "message_id,event,ts,to,category\n"
        "e1,send,2026-05-01 10:00:00,Ann@Example.com,marketing\n"
        "e1,opened,2026-05-01 11:00:00,,\n"
        "e2,send,2026-05-01 10:00:00,not-an-address,marketing\n"
    )
    result = ingest_files(workspace, "email", [path])
    assert result.rows["messages"] == 1
    assert _rows(workspace, "identities") == [
        ("email:ann@example.com", "email", "ann@example.com", None)
    ]
    assert workspace.con.execute(
        "SELECT message_id, final_state FROM message_facts"
    ).fetchall() == [("e1", "read")]
    (reason,) = workspace.con.execute("SELECT reason FROM quarantine").fetchone() or ("",)
    assert reason.startswith("no usable identity: email not-an-address")


def test_quarantined_single_status_keeps_its_own_json(
    workspace: Workspace, tmp_path: Path
) -> None:
    body = json.loads(_status_body(1, "deleted", 1750000000, "16505551234"))
    path = tmp_path / "statuses.jsonl"
    path.write_text(json.dumps(body) + "\n")
    ingest_files(workspace, "whatsapp", [path])
    row = workspace.con.execute("SELECT raw FROM quarantine").fetchone()
    assert row is not None
    assert json.loads(str(row[0])) == body["entry"][0]["changes"][0]["value"]["statuses"][0]


def test_send_without_a_usable_recipient_quarantines_its_body(
    workspace: Workspace, tmp_path: Path
) -> None:
    line = _status_body(1, "sent", 1750000000, "123")
    path = tmp_path / "statuses.jsonl"
    path.write_text(line + "\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert result.rows["messages"] == 0
    assert result.rows["message_events"] == 1
    row = workspace.con.execute(
        "SELECT location, reason, raw, target_table FROM quarantine"
    ).fetchone()
    assert row is not None
    assert row[0] == "line 1 message wamid.P1"
    assert str(row[1]).startswith("no usable identity: phone 123")
    assert json.loads(str(row[2])) == json.loads(line)
    assert row[3] == "messages"


def test_array_lines_and_several_statuses_in_one_body(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = json.loads(_status_body(1, "sent", 1750000000, "16505551234"))
    second = json.loads(_status_body(2, "sent", 1750000001, "16505551234"))
    statuses = first["entry"][0]["changes"][0]["value"]["statuses"]
    statuses.append(second["entry"][0]["changes"][0]["value"]["statuses"][0])
    statuses.append({"status": "read", "timestamp": "1750000002"})
    array_line = json.dumps([json.loads(_status_body(3, "sent", 1750000003, "16505551234")),
                             json.loads(_status_body(4, "sent", 1750000004, "16505551234"))])
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(first) + "\n" + array_line + "\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert result.bodies == 3
    assert sorted(r[0] for r in _rows(workspace, "messages")) == [
        "wamid.P1", "wamid.P2", "wamid.P3", "wamid.P4"]
    assert workspace.con.execute(
        "SELECT location FROM raw_bodies ORDER BY seq").fetchall() == [
        ("line 1",), ("line 2 [0]",), ("line 2 [1]",)]
    assert workspace.con.execute(
        "SELECT location, reason FROM quarantine").fetchall() == [
        ("line 1 status ?", "status without an id")]


def test_ingest_leaves_no_scratch_tables(workspace: Workspace) -> None:
    def temporary() -> list[tuple[object, ...]]:
        return workspace.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()

    before = temporary()
    ingest_files(workspace, "whatsapp", [META / "wa_status__01.json"])
    rebuild(workspace)
    assert temporary() == before


def _without_the_status_only_shape(line: str) -> str:
    """The same body with an empty contacts list beside its statuses: it adds nothing, but
    the body is no longer status-only, so ingest maps it on the general path (wa_heads)."""
    body = json.loads(line)
    if not isinstance(body, dict):
        return line
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value")
            if isinstance(value, dict) and "statuses" in value and "contacts" not in value:
                value["contacts"] = []
    return json.dumps(body)


def test_status_only_bodies_map_as_the_general_path_does(tmp_path: Path) -> None:
    """Status-only bodies are read from the fields parsed while staging; the same statuses
    read by the general path must give the same canonical rows and facts."""
    odd = [  # the edge cases of a single status: group, failed, free, tracking, bad values
        json.dumps(whatsapp_body({"statuses": [status]}, display="+1 555-078-3881"))
        for status in (
            {"id": "wamid.G1", "status": "sent", "timestamp": "1750000100",
             "recipient_id": "120363040000000000", "recipient_type": "group"},
            {"id": "wamid.F1", "status": "failed", "timestamp": "1750000200",
             "recipient_id": "16505550100", "errors": [{"code": 131049, "title": "x"}]},
            {"id": "wamid.T1", "status": "sent", "timestamp": "1750000300",
             "recipient_id": "16505550101", "biz_opaque_callback_data": "experiment=e1&arm=holdout",
             "pricing": {"billable": False, "type": "free_customer_service",
                         "category": "AUTHENTICATION-INTERNATIONAL"}},
            {"id": "wamid.B1", "status": "unknown", "timestamp": "1750000400",
             "recipient_id": "16505550102"},
            {"id": "wamid.B2", "status": "sent", "timestamp": "soon", "recipient_id": "16505550103"},
            {"status": "sent", "timestamp": "1750000500", "recipient_id": "16505550104"},
            {"id": "wamid.U1", "status": "sent", "timestamp": "1750000600",
             "recipient_user_id": "US.13491208655302741918"},
            {"id": "wamid.N1", "status": "delivered", "timestamp": "1750000700", "recipient_id": "12"},
        )
    ]
    two = json.loads(odd[1])  # two statuses in one body: not status-only either way
    two["entry"][0]["changes"][0]["value"]["statuses"].append(
        {"id": "wamid.F2", "status": "sent", "timestamp": "1750000250", "recipient_id": "16505550100"})
    lines = [*_fixture_stream(), *(b for b in _PROPERTY_BODIES if '"statuses"' in b), *odd,
             json.dumps(two)]
    general = [_without_the_status_only_shape(line) for line in lines]
    assert general != lines
    fast_file, general_file = tmp_path / "fast.jsonl", tmp_path / "general.jsonl"
    fast_file.write_text("\n".join(lines) + "\n")
    general_file.write_text("\n".join(general) + "\n")
    with Workspace.create(tmp_path / "fast.duckdb") as fast, Workspace.create(
        tmp_path / "general.duckdb"
    ) as slow:
        ingest_files(fast, "whatsapp", [fast_file])
        ingest_files(slow, "whatsapp", [general_file])
        assert fast.con.execute(
            "SELECT count(*) FROM raw_bodies WHERE NOT contains(body, '\"contacts\"')"
        ).fetchall()[0][0] > 20
        assert _snapshot(fast) == _snapshot(slow)
        assert _rows(fast, "message_facts") == _rows(slow, "message_facts")
        quarantined = "SELECT location, reason, target_table FROM quarantine ORDER BY ALL"
        assert fast.con.execute(quarantined).fetchall() == slow.con.execute(quarantined).fetchall()
        assert len(fast.con.execute(quarantined).fetchall()) >= 4


def test_bodies_of_several_files_are_stored_in_arrival_order(tmp_path: Path) -> None:
    """Every body new: the raw store numbers them from the staging table's order."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(_status_body(m, "sent", 1750000000 + m, "16505551234")
                               for m in range(5)) + "\nnot json\n")
    second.write_text("\n\n".join(_status_body(m, "read", 1750000100 + m, "16505551234")
                                  for m in range(3)) + "\n")
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        assert ingest_files(ws, "whatsapp", [first, second]).bodies == 8
        assert ws.con.execute(
            "SELECT source, location FROM raw_bodies ORDER BY seq").fetchall() == [
            *((str(first), f"line {n}") for n in range(1, 6)),
            *((str(second), f"line {n}") for n in (1, 3, 5)),
        ]
        seqs = [s for (s,) in ws.con.execute("SELECT seq FROM raw_bodies ORDER BY seq").fetchall()]
        assert len(set(seqs)) == 8
