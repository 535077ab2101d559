"""Erasure: `threadlift forget` after a WhatsApp stream leaves no trace of the person."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from threadlift.api.exposures import Exposure, ExposureLog
from threadlift.api.settings import ApiSettings
from threadlift.api.snapshot import build_snapshot
from threadlift.cli import main
from threadlift.workspace import Workspace
from webhooks import meta_body, meta_echo, whatsapp_body

GONE = "16505551234"
"""The person erased: +1 650-555-1234 (international digits, as wa_id carries them)."""
GONE_NATIONAL = "6505551234"
OTHERS = [f"1650555{1000 + i}" for i in range(30)]


def _unix(day: int, hour: int) -> str:
    return str(int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp()))


def _inbound(digits: str, n: int, *, timestamp: str | None = None) -> dict[str, object]:
    message: dict[str, object] = {
        "from": digits, "id": f"wamid.in.{digits}.{n}", "type": "text",
        "text": {"body": f"call me back on +{digits}"},
    }
    if timestamp is not None:
        message["timestamp"] = timestamp
    return whatsapp_body({"contacts": [{"profile": {"name": f"Person {digits[-4:]}"}, "wa_id": digits}],
                          "messages": [message]})


def _status(digits: str, n: int, status: str, timestamp: str) -> dict[str, object]:
    return {"id": f"wamid.out.{digits}.{n}", "status": status, "timestamp": timestamp,
            "recipient_id": digits, "pricing": {"billable": True, "category": "marketing"}}


def _stream() -> list[dict[str, object]]:
    bodies: list[dict[str, object]] = []
    for digits in [GONE, *OTHERS]:
        bodies.append(_inbound(digits, 1, timestamp=_unix(1, 10)))
        bodies.append(whatsapp_body({"statuses": [_status(digits, 1, "sent", _unix(3, 9))]}))
        bodies.append(whatsapp_body({"statuses": [_status(digits, 1, "delivered", _unix(3, 10))]}))
    # one body about two people: rewritten without the person, kept for the other
    bodies.append(whatsapp_body({"statuses": [_status(GONE, 1, "read", _unix(3, 11)),
                                              _status(OTHERS[0], 1, "read", _unix(3, 11))]}))
    # a message without a timestamp: quarantined with its JSON, which names the person
    bodies.append(_inbound(GONE, 2))
    return bodies


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    stream = tmp_path / "webhooks.jsonl"
    stream.write_text("\n".join(json.dumps(b) for b in _stream()) + "\n", encoding="utf-8")
    sms = tmp_path / "sms.csv"
    sms.write_text(
        "message_id,event,ts,to,sender_id,category\n"
        "s1,send,2026-11-03T09:00:00Z,+1 650-555-1234,BRAND,marketing\n"
        f"s2,send,2026-11-03T09:00:00Z,+{OTHERS[1]},BRAND,marketing\n",
        encoding="utf-8",
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "action_id,contact_id,action,ts,value\n"
        + "".join(f"o{i},whatsapp:+{d},order,2026-11-04T10:00:00Z,{10 + i}\n"
                  for i, d in enumerate([GONE, *OTHERS[:12]])),
        encoding="utf-8",
    )
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    experiment = experiments / "spring.toml"
    experiment.write_text(
        two_arm_toml("spring", keys="[eligibility]\nrequire_consent = false\n",
                     tables=CONVERSION, weights=(50, 50)),
        encoding="utf-8",
    )
    ws = tmp_path / "ws.duckdb"
    runner = CliRunner()
    for args in (
        ["ingest", "--platform", "whatsapp", str(stream)],
        ["ingest", "--platform", "sms", str(sms)],
        ["load", "actions", str(orders)],
        ["assign", str(experiment)],
    ):
        done = runner.invoke(main, [*args, "-w", str(ws)])
        assert done.exit_code == 0, (args, done.output)
    state = tmp_path / "ws.duckdb.api"
    ExposureLog(state).record([
        Exposure(f"x-{d}", "spring", f"whatsapp:+{d}", None, datetime(2026, 11, 3, 9), "crm")
        for d in (GONE, OTHERS[0])
    ])
    build_snapshot(ApiSettings(experiments_dir=experiments, workspace=ws, state_dir=state))
    return {"ws": ws, "stream": stream, "sms": sms, "experiment": experiment, "state": state,
            "out": tmp_path / "reports"}


def _text_values_mentioning(ws: Path, needle: str) -> list[tuple[str, str]]:
    """(table, column) of every text value of every table that contains ``needle``."""
    found = []
    with Workspace.open(ws, read_only=True) as w:
        columns = w.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND data_type = 'VARCHAR' AND table_name IN "
            "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
        ).fetchall()
        for table, column in columns:
            hits = w.con.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains(regexp_replace("{column}", '
                f"'[^0-9]', '', 'g'), $n)", {"n": needle},
            ).fetchall()[0][0]
            if hits:
                found.append((str(table), str(column)))
    return found


def _units(out: Path) -> int:
    """Units of every arm of the report written to ``out``."""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return sum(int(arm["units"]) for arm in report["arms"])


def _files_holding(paths: list[Path], needle: bytes) -> list[Path]:
    files = [p for path in paths for p in ([path] if path.is_file() else sorted(path.rglob("*")))]
    return [p for p in files if p.is_file() and needle in p.read_bytes()]


def test_forget_an_address_leaves_no_copy_and_reports_still_run(world: dict[str, Path]) -> None:
    ws, state = world["ws"], world["state"]
    assert _text_values_mentioning(ws, GONE_NATIONAL)  # the test can see the person at all
    assert _files_holding([state], GONE.encode())
    runner = CliRunner()
    report = ["report", str(world["experiment"]), "--out", str(world["out"]), "-w", str(ws)]
    before = runner.invoke(main, report)
    assert before.exit_code in (0, 3), before.output
    units_before = _units(world["out"])

    done = runner.invoke(main, ["forget", "--address", "+16505551234", "--reason", "request 118",
                                "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert "erased 2 contact(s)" in done.output  # on WhatsApp and by SMS

    # no text column of any table holds the number, however written
    assert _text_values_mentioning(ws, GONE_NATIONAL) == []
    # no byte of the workspace or the API's state holds it
    assert _files_holding([ws, *ws.parent.glob("ws.duckdb*"), state], GONE.encode()) == []
    assert _files_holding([ws, state], GONE_NATIONAL.encode()) == []
    # the other people are all still there, the shared body kept for the one it also held
    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute("SELECT count(*) FROM identities WHERE channel = 'whatsapp'").fetchall() == [(30,)]
        assert w.con.execute("SELECT count(*) FROM message_events WHERE status = 'read'").fetchall() == [(1,)]
        record = w.con.execute("SELECT subject_hash, reason, removed FROM erasures").fetchall()
        salt = w.con.execute("SELECT value FROM threadlift_meta WHERE key = 'erasure_salt'").fetchall()[0][0]
        raw = w.con.execute("SELECT count(*) FROM raw_bodies").fetchall()[0][0]
        erased_bodies = w.con.execute("SELECT count(*) FROM erased_bodies").fetchall()[0][0]
    ((subject_hash, reason, removed),) = record
    assert subject_hash == hashlib.sha256(f"{salt}:+16505551234".encode()).hexdigest()
    assert reason == "request 118"
    counts = json.loads(removed)
    assert counts["contacts"] == 2  # the WhatsApp contact and the SMS one
    assert counts["assignments"] == 2
    assert counts["raw_bodies (rewritten)"] == 1
    assert counts["raw_bodies (dropped)"] == 4 + 1  # 3 of theirs + the quarantined one + SMS row
    assert erased_bodies == counts["raw_bodies (dropped)"]
    with sqlite3.connect(state / "exposures.sqlite3") as log:
        assert log.execute("SELECT contact_id FROM exposures").fetchall() == [(f"whatsapp:+{OTHERS[0]}",)]
    assert not (state / "snapshot.duckdb").exists()

    # the report still runs, without their two contacts
    after = runner.invoke(main, report)
    assert after.exit_code in (0, 3), after.output
    assert _units(world["out"]) == units_before - 2

    # neither a rebuild from the raw store nor ingesting the same files again brings them back
    for args in (["ingest", "--rebuild"],
                 ["ingest", "--platform", "whatsapp", str(world["stream"])],
                 ["ingest", "--platform", "sms", str(world["sms"])]):
        again = runner.invoke(main, [*args, "-w", str(ws)])
        assert again.exit_code == 0, again.output
    assert _text_values_mentioning(ws, GONE_NATIONAL) == []
    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(raw,)]
        assert w.con.execute("SELECT count(*) FROM identities WHERE channel = 'whatsapp'").fetchall() == [(30,)]


def test_forget_refuses_bad_requests(world: dict[str, Path]) -> None:
    runner = CliRunner()
    ws = str(world["ws"])
    for args, message in (
        (["forget"], "give --address"),
        (["forget", "--address", "+1650", "--contact", "c"], "give --address"),
        (["forget", "--address", "+abc"], "is not a phone number"),
        (["forget", "--address", "+16505551234", "--reason", "asked by 650 555 1234"], "names the person"),
    ):
        done = runner.invoke(main, [*args, "-w", ws])
        assert done.exit_code == 2, (args, done.output)
        assert message in done.output
    with Workspace.open(world["ws"], read_only=True) as w:
        assert w.con.execute("SELECT count(*) FROM erasures").fetchall() == [(0,)]
        assert w.con.execute(
            "SELECT count(*) FROM identities WHERE address = '+16505551234'").fetchall() == [(2,)]


def test_forget_a_contact_id(world: dict[str, Path]) -> None:
    done = CliRunner().invoke(main, ["forget", "--contact", f"whatsapp:+{OTHERS[3]}",
                                     "-w", str(world["ws"])])
    assert done.exit_code == 0, done.output
    assert _text_values_mentioning(world["ws"], OTHERS[3][1:]) == []
    assert _text_values_mentioning(world["ws"], GONE_NATIONAL) != []


def test_forget_a_messenger_user_by_psid(tmp_path: Path) -> None:
    """A page-scoped id, short as in the fixture, is matched as a whole value only: the page's
    own id and other users stay."""
    thread = Path(__file__).parents[1] / "fixtures" / "webhooks" / "synthetic" / "messenger_thread.jsonl"
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(meta_body([meta_echo("m_other", 1700000000000, user="3333")])) + "\n",
                     encoding="utf-8")
    ws = tmp_path / "ws.duckdb"
    runner = CliRunner()
    for path in (thread, other):
        done = runner.invoke(main, ["ingest", "--platform", "messenger", str(path), "-w", str(ws)])
        assert done.exit_code == 0, done.output
    done = runner.invoke(main, ["forget", "--address", "2222", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    for _ in range(2):  # as erased, then after a rebuild from the raw store
        with Workspace.open(ws, read_only=True) as w:
            assert w.con.execute("SELECT address FROM identities").fetchall() == [("3333",)]
            assert w.con.execute("SELECT message_id FROM messages").fetchall() == [("m_other",)]
            bodies = [str(b) for (b,) in w.con.execute("SELECT body FROM raw_bodies").fetchall()]
        (body,) = bodies
        assert '"2222"' not in body
        assert '"1111"' in body
        assert runner.invoke(main, ["ingest", "--rebuild", "-w", str(ws)]).exit_code == 0


def test_forget_an_e_mail_address_whatever_its_case(tmp_path: Path) -> None:
    sends = tmp_path / "email.csv"
    sends.write_text(
        "message_id,event,ts,to,sender_id,category\n"
        "e1,send,2026-11-03T09:00:00Z,ana.lima@example.com,news,marketing\n"
        "e1,delivered,2026-11-03T09:01:00Z,,,\n"
        "e2,send,2026-11-03T09:00:00Z,bo@example.com,news,marketing\n",
        encoding="utf-8",
    )
    ws = tmp_path / "ws.duckdb"
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--platform", "email", str(sends), "-w", str(ws)]).exit_code == 0
    done = runner.invoke(main, ["forget", "--address", "Ana.Lima@Example.com", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert "erased 1 contact(s)" in done.output
    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute("SELECT address FROM identities").fetchall() == [("bo@example.com",)]
        assert w.con.execute("SELECT message_id FROM messages").fetchall() == [("e2",)]
        assert w.con.execute("SELECT count(*) FROM message_events WHERE message_id = 'e1'").fetchall() == [(0,)]
        bodies = [str(b) for (b,) in w.con.execute("SELECT body FROM raw_bodies").fetchall()]
    # the delivered row names only the message sent to them: it goes too
    assert [json.loads(b)["message_id"] for b in bodies] == ["e2"]
    assert _files_holding([ws], b"ana.lima") == []
    assert runner.invoke(main, ["ingest", "--rebuild", "-w", str(ws)]).exit_code == 0
    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute("SELECT message_id FROM message_events").fetchall() == [("e2",)]
