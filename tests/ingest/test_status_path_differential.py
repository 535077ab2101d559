"""The status-only path writes what the general path writes (differential property test).

Status-only WhatsApp bodies (one entry, one ``messages`` change holding one status and
nothing else the mapper reads) take a dedicated path (``sql/ingest/wa_status_only.sql``).
Hypothesis draws batches of status bodies covering what real traffic holds (group
recipients, BSUIDs and parent BSUIDs, retries, conversation-based and per-message pricing,
error arrays, out-of-order and duplicated deliveries, malformed fields), mixes in bodies the
general path maps (inbound messages with ``contacts[]`` linking a phone to a BSUID, bodies
with several statuses naming the same message ids, value-level errors, an empty
``contacts`` list beside a status), and ingests every batch twice, in the same calls: once
as shipped and once with the dedicated path switched off. Every table of the two workspaces
must hold the same rows, and every call must report the same numbers.

Columns left out of the comparison, because they hold the wall-clock time of the call and
nothing derived from the bodies: ``raw_bodies.ingested_at`` and ``quarantine.ingested_at``
(``now()`` when the row was written). ``raw_bodies.received_at`` is compared: the calls pass
the same ``received_at``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlift.ingest import IngestResult, ingest_files, raw, whatsapp
from threadlift.workspace import Workspace
from webhooks import whatsapp_body

WALL_CLOCK_COLUMNS = {("raw_bodies", "ingested_at"), ("quarantine", "ingested_at")}
"""(table, column) pairs holding the time a row was written: not compared."""

RECEIVED_AT = datetime(2026, 7, 1, 12, 0, 0)

MESSAGE_IDS = [f"wamid.S{i}" for i in range(5)]
# digits (possible and impossible numbers), formatted, empty
PHONES = ["16505550100", "16505550101", "447700900123", "12", "+1 650-555-0102", ""]
BSUIDS = ["US.13491208655302741918", "US.13491208655302741919", "GB.99887766", ""]
PARENTS = ["US.ENT.11815799212886844830", "US.ENT.11815799212886844831"]
GROUP_ID = "120363040000000000"
CBP_CATEGORIES = ["marketing", "utility", "authentication", "authentication_international",
                  "service", "referral_conversion", "business_initiated", "marketing_lite"]
PMP_CATEGORIES = ["marketing", "utility", "authentication", "authentication-international",
                  "AUTHENTICATION_INTERNATIONAL", "service", "marketing_lite", "referral_conversion"]
MISSING = object()
"""A field drawn as MISSING is left out of the status."""


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(MISSING), strategy)


def _mostly(valid: st.SearchStrategy[Any], *malformed: object) -> st.SearchStrategy[Any]:
    """``valid`` about nine times in ten, else one of the ``malformed`` values: most statuses
    must be usable for sends and identities to occur. (``one_of`` and small integers lean
    towards their first choices, which would make most statuses malformed.)"""
    return st.sampled_from([True] * 9 + [False]).flatmap(
        lambda usable: valid if usable else st.sampled_from(malformed))


_pricing = st.one_of(
    st.just(MISSING),
    # conversation-based pricing (before 2025-07-01): the conversation object beside it
    st.builds(
        lambda category, billable: {
            "pricing": {"billable": billable, "pricing_model": "CBP", "category": category},
            "conversation": {"id": "c0ffee", "expiration_timestamp": "1750116480",
                             "origin": {"type": category}},
        },
        st.sampled_from(CBP_CATEGORIES), st.booleans(),
    ),
    # per-message pricing: a type, billable slated for deprecation (sometimes left out)
    st.builds(
        lambda category, kind, billable: {
            "pricing": {"pricing_model": "PMP", "type": kind, "category": category,
                        **({} if billable is MISSING else {"billable": billable})},
        },
        st.sampled_from(PMP_CATEGORIES),
        st.sampled_from(["regular", "free_customer_service", "free_entry_point"]),
        _optional(st.sampled_from([True, False, "true", "yes"])),
    ),
)

_status = st.fixed_dictionaries(
    {
        "id": _mostly(st.sampled_from(MESSAGE_IDS), MISSING, "", 17),
        "status": _mostly(st.sampled_from(["sent", "delivered", "read", "failed", "played"]),
                          "deleted", "", 3, MISSING),
        # out of order (drawn independently of arrival); as a JSON number; not a number; missing
        "timestamp": _mostly(
            st.one_of(st.integers(1750000000, 1750000040).map(str),
                      st.integers(1750000000, 1750000040)),
            "soon", "1.75e9", "", MISSING,
        ),
        "recipient_id": _mostly(st.sampled_from(PHONES[:3]), *PHONES[3:], MISSING),
        "recipient_user_id": _optional(st.sampled_from(BSUIDS)),
        "recipient_parent_user_id": _optional(st.sampled_from(PARENTS)),
        "group": st.sampled_from([False] * 7 + [True]),
        "pricing": _pricing,
        "errors": _optional(st.one_of(
            st.lists(st.fixed_dictionaries({"code": st.sampled_from([131049, 131026, 470])}),
                     min_size=1, max_size=2),
            st.just([{"code": "131000", "title": "Something went wrong"}]),
            st.just([]),
        )),
        "biz_opaque_callback_data": _optional(st.sampled_from([
            "experiment_id=e1&arm=treatment", "experiment=e2&arm=holdout&campaign=c9",
            '{"experiment_id": "e3", "arm": "control", "template": "t1"}', "",
        ])),
    }
)


def _status_item(drawn: dict[str, Any]) -> dict[str, Any]:
    """The status element a drawn dictionary describes (MISSING fields left out)."""
    item = {k: v for k, v in drawn.items()
            if v is not MISSING and k not in ("group", "pricing")}
    if drawn["group"]:
        item["recipient_type"] = "group"
        item["recipient_id"] = GROUP_ID
        item["recipient_participant_id"] = item.pop("recipient_user_id", "16505550100")
    if drawn["pricing"] is not MISSING:
        item.update(drawn["pricing"])
    return item


def _inbound(message: int, phone: str, bsuid: str) -> dict[str, Any]:
    """An inbound text whose contacts[] links the phone to the BSUID."""
    return whatsapp_body({
        "contacts": [{"profile": {"name": "Kerry"}, "wa_id": phone, "user_id": bsuid}],
        "messages": [{"from": phone, "from_user_id": bsuid, "id": f"wamid.IN{message}",
                      "timestamp": "1750000020", "type": "text", "text": {"body": "hi"}}],
    })


_general_body = st.one_of(
    st.builds(_inbound, st.integers(0, 3), st.sampled_from(PHONES[:3]),
              st.sampled_from(BSUIDS[:3])),
    # several statuses in one body: its message ids stay on the general path
    st.lists(_status, min_size=2, max_size=3).map(
        lambda drawn: whatsapp_body({"statuses": [_status_item(d) for d in drawn]})),
    # a status beside an empty contacts list, or beside value-level errors
    _status.map(lambda d: whatsapp_body({"statuses": [_status_item(d)], "contacts": []})),
    _status.map(lambda d: whatsapp_body({"statuses": [_status_item(d)],
                                         "errors": [{"code": 131000, "title": "x"}]})),
)

_status_only_body = st.tuples(
    _status, st.sampled_from(["15550783881", "+1 555-078-3881", "15550783882"])
).map(lambda drawn: whatsapp_body({"statuses": [_status_item(drawn[0])]}, display=drawn[1]))


@st.composite
def _batches(draw: st.DrawFn) -> tuple[list[str], int, str]:
    """(lines of the batch, where it is cut into two calls, unknown_identity)."""
    bodies = draw(st.lists(_status_only_body, min_size=3, max_size=16))
    bodies += draw(st.lists(_general_body, max_size=3))
    lines = [json.dumps(b) for b in bodies]
    # duplicated deliveries: the same body written differently (another hash, same facts)
    for index in draw(st.lists(st.integers(0, len(bodies) - 1), max_size=3)):
        lines.append(json.dumps(bodies[index], indent=1).replace("\n", " "))
    # retries: the same bytes again
    lines += [lines[i] for i in draw(st.lists(st.integers(0, len(lines) - 1), max_size=4))]
    lines = draw(st.permutations(lines))
    # one call, or two (the second then meets the rows of the first)
    cut = draw(st.one_of(st.just(len(lines)), st.integers(0, len(lines))))
    unknown = draw(st.sampled_from(["create", "create", "quarantine"]))
    return lines, cut, unknown


def _tables(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the workspace, rows sorted, wall-clock columns left out."""
    tables = [str(t) for (t,) in ws.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "AND database_name = current_database() ORDER BY table_name").fetchall()]
    snapshot = {}
    for table in tables:
        columns = [str(c) for (c,) in ws.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
            "AND database_name = current_database() ORDER BY column_index", {"t": table}
        ).fetchall() if (table, str(c)) not in WALL_CLOCK_COLUMNS]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = ws.con.execute(f'SELECT {select} FROM "{table}"').fetchall()
        snapshot[table] = sorted(rows, key=lambda row: [str(v) for v in row])
    return snapshot


def _ingest(ws: Workspace, files: list[Path], unknown: str) -> list[IngestResult]:
    return [
        ingest_files(ws, "whatsapp", [f], unknown_identity=unknown,  # type: ignore[arg-type]
                     received_at=RECEIVED_AT)
        for f in files
    ]


def _ingest_both(root: Path, lines: list[str], cut: int, unknown: str) -> tuple[
    tuple[list[IngestResult], dict[str, list[tuple[object, ...]]]],
    tuple[list[IngestResult], dict[str, list[tuple[object, ...]]]],
]:
    files = [root / "first.jsonl", root / "second.jsonl"]
    files[0].write_text("".join(line + "\n" for line in lines[:cut]))
    files[1].write_text("".join(line + "\n" for line in lines[cut:]))
    files = [f for f in files if f.stat().st_size]
    with Workspace.create(root / "dedicated.duckdb") as ws:
        dedicated = _ingest(ws, files, unknown), _tables(ws)
    whatsapp._STATUS_ONLY_PATH = False
    try:
        with Workspace.create(root / "general.duckdb") as ws:
            general = _ingest(ws, files, unknown), _tables(ws)
    finally:
        whatsapp._STATUS_ONLY_PATH = True
    return dedicated, general


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=_batches())
def test_status_only_path_writes_what_the_general_path_writes(
    tmp_path_factory: pytest.TempPathFactory, batch: tuple[list[str], int, str]
) -> None:
    lines, cut, unknown = batch
    (results, tables), (general_results, general_tables) = _ingest_both(
        tmp_path_factory.mktemp("differential"), lines, cut, unknown)
    assert [asdict(r) for r in results] == [asdict(r) for r in general_results]
    assert tables.keys() == general_tables.keys()
    for table, rows in tables.items():
        assert rows == general_tables[table], table


def test_the_switch_changes_the_path_and_the_tables_hold_each_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison means something: on a hand-made batch of the cases the generator
    draws, the dedicated path maps the status-only sends (with the switch off, none), and
    the tables are the same and hold what each case should give."""
    sends: list[tuple[int, int]] = []
    drop_scratch = raw.drop_scratch

    def counting(con: Any, before: Any) -> None:
        sends.append(con.execute(
            "SELECT (SELECT count(*) FROM _c_sends), "
            "(SELECT count(*) FROM _c_obs WHERE starts_with(obs_id, 'whatsapp:recipient:'))"
        ).fetchall()[0])
        drop_scratch(con, before)

    monkeypatch.setattr(raw, "drop_scratch", counting)

    def status(**fields: object) -> str:
        return json.dumps(whatsapp_body({"statuses": [fields]}))

    lines = [
        status(id="wamid.S0", status="sent", timestamp="1750000010", recipient_id="16505550100",
               recipient_user_id="US.13491208655302741918",
               pricing={"billable": True, "pricing_model": "PMP", "type": "regular",
                        "category": "AUTHENTICATION-INTERNATIONAL"}),
        status(id="wamid.S0", status="delivered", timestamp="1750000005",
               recipient_id="16505550100"),
        status(id="wamid.S1", status="sent", timestamp="1750000001", recipient_id="12"),
        status(id="wamid.S2", status="failed", timestamp="1750000002", recipient_id="447700900123",
               errors=[{"code": 131049}]),
        status(id="wamid.S3", status="sent", timestamp="1750000003", recipient_type="group",
               recipient_id=GROUP_ID),
        status(id="wamid.S4", status="sent", timestamp="soon", recipient_id="16505550101"),
        status(id="wamid.S5", status="read", timestamp="1750000009",
               recipient_user_id="US.13491208655302741919"),
        json.dumps(_inbound(1, "16505550101", "US.13491208655302741919")),
    ]
    lines.append(lines[0])
    (results, tables), (general_results, general_tables) = _ingest_both(tmp_path, lines, 3, "create")
    # (sends, observations) the status-only path made: first file S0 (its phone and BSUID
    # under one observation) and S1; second file S2 and S5 (S3 went to a group, S4 has no
    # usable time); with the switch off, none
    assert sends == [(2, 3), (2, 2), (0, 0), (0, 0)]
    assert results == general_results
    assert tables == general_tables
    messages = {row[0]: row for row in tables["messages"]}
    # S1's only phone is not possible: no contact, the send is quarantined (with its body)
    assert set(messages) == {"wamid.S0", "wamid.S2", "wamid.S5"}
    assert messages["wamid.S0"][1] == "whatsapp:+16505550100"
    assert messages["wamid.S0"][8] == "authentication"
    # the inbound message linked the BSUID of S5 to the phone +16505550101
    assert messages["wamid.S5"][1] == "whatsapp:+16505550101"
    events = {(row[0], row[1]) for row in tables["message_events"]}
    assert ("wamid.S3", "sent") in events  # a group status keeps its event, not a send
    assert ("wamid.S2", "failed", "131049") in {(r[0], r[1], r[3]) for r in tables["message_events"]}
    reasons = {row[2] for row in tables["quarantine"]}
    assert any("not Unix seconds" in r for r in reasons)
    assert any(r.startswith("no usable identity: phone 12") for r in reasons)
    assert results[1].duplicates == 1
