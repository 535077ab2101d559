"""Retention: old raw bodies and events go, logged; reports of kept windows do not change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from threadlift.cli import main
from threadlift.ingest import ingest_files, rebuild
from threadlift.privacy import apply_retention, set_retention
from threadlift.workspace import CANONICAL_TABLES, Workspace
from webhooks import whatsapp_body

PEOPLE = [f"4477009{i:05d}" for i in range(40)]
OLD = datetime(2026, 1, 10, 12)
"""When the old traffic happened and was received; the experiment runs in November."""
AS_OF = "2026-11-20T00:00:00Z"


def _unix(moment: datetime) -> str:
    return str(int(moment.replace(tzinfo=UTC).timestamp()))


def _status(message_id: str, digits: str, status: str, moment: datetime) -> dict[str, object]:
    return whatsapp_body({"statuses": [{
        "id": message_id, "status": status, "timestamp": _unix(moment), "recipient_id": digits,
        "pricing": {"billable": True, "category": "marketing"}}]})


def _write(path: Path, bodies: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(b) for b in bodies) + "\n", encoding="utf-8")
    return path


def _workspace(tmp_path: Path) -> tuple[Path, Path]:
    old = _write(tmp_path / "old.jsonl", [
        body for i, d in enumerate(PEOPLE) for body in (
            whatsapp_body({"contacts": [{"wa_id": d}], "messages": [{
                "from": d, "id": f"in.old.{i}", "timestamp": _unix(OLD), "type": "text",
                "text": {"body": "hello"}}]}),
            _status(f"out.old.{i}", d, "sent", OLD),
            _status(f"out.old.{i}", d, "delivered", OLD.replace(minute=5)),
        )])
    recent = _write(tmp_path / "recent.jsonl", [
        body for i, d in enumerate(PEOPLE) for body in (
            _status(f"out.new.{i}", d, "sent", datetime(2026, 11, 3, 9)),
            _status(f"out.new.{i}", d, "delivered", datetime(2026, 11, 3, 9, 1)),
            *([_status(f"out.new.{i}", d, "read", datetime(2026, 11, 3, 10))] if i % 3 else []),
        )])
    ws = tmp_path / "ws.duckdb"
    with Workspace.create(ws) as w:
        ingest_files(w, "whatsapp", [old], received_at=OLD)
        ingest_files(w, "whatsapp", [recent], received_at=datetime(2026, 11, 3, 12))
    orders = tmp_path / "orders.csv"
    orders.write_text("action_id,contact_id,action,ts,value\n" + "".join(
        f"o{i},whatsapp:+{d},order,2026-11-05T10:00:00Z,{i}\n" for i, d in enumerate(PEOPLE) if i % 4 == 0),
        encoding="utf-8")
    experiment = tmp_path / "spring.toml"
    experiment.write_text(two_arm_toml("spring", keys="[eligibility]\nrequire_consent = false\n",
                                       tables=CONVERSION, weights=(50, 50)), encoding="utf-8")
    runner = CliRunner()
    for args in (["load", "actions", str(orders)], ["assign", str(experiment)]):
        done = runner.invoke(main, [*args, "-w", str(ws)])
        assert done.exit_code == 0, done.output
    return ws, experiment


def _report(ws: Path, experiment: Path, out: Path) -> dict[str, object]:
    done = CliRunner().invoke(main, ["report", str(experiment), "--out", str(out), "--as-of", AS_OF,
                                     "-w", str(ws)])
    assert done.exit_code in (0, 3), done.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert isinstance(report, dict)
    return report


def _tables(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(ws.con.execute(f'SELECT * EXCLUDE (ingested_at) FROM "{t}"').fetchall()
                      if t == "quarantine" else ws.con.execute(f'SELECT * FROM "{t}"').fetchall(),
                      key=lambda row: [str(v) for v in row])
            for t in CANONICAL_TABLES}


def test_apply_removes_old_bodies_and_events_logs_them_and_keeps_the_report(tmp_path: Path) -> None:
    ws, experiment = _workspace(tmp_path)
    before = _report(ws, experiment, tmp_path / "before")
    assert before["funnel"]
    runner = CliRunner()
    done = runner.invoke(main, ["retention", "set", "--raw-days", "30", "--events-days", "60",
                                "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert "raw bodies 30 days, message events 60 days" in done.output
    done = runner.invoke(main, ["retention", "apply", "--as-of", AS_OF, "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert "raw_bodies: 120 removed older than 2026-10-21T00:00:00 (2026-01-10T12:00:00 to 2026-01-10T12:00:00)" \
        in done.output
    assert "message_events: 80 removed older than 2026-09-21T00:00:00" in done.output

    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute(
            "SELECT table_name, cutoff, removed, oldest, newest FROM retention_log ORDER BY 1"
        ).fetchall() == [
            ("message_events", datetime(2026, 9, 21), 80, OLD, OLD.replace(minute=5)),
            ("raw_bodies", datetime(2026, 10, 21), 120, OLD, OLD),
        ]
        assert w.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(40 * 2 + 26,)]
        assert w.con.execute(
            "SELECT count(*) FROM message_events WHERE ts < '2026-09-21'").fetchall() == [(0,)]
        # the old sends and inbound messages are facts, and stay
        assert w.con.execute(
            "SELECT count(*) FROM messages WHERE message_id LIKE 'out.old.%'").fetchall() == [(40,)]
        assert w.con.execute("SELECT count(*) FROM inbound").fetchall() == [(40,)]

    assert _report(ws, experiment, tmp_path / "after") == before

    # a rebuild replays what is kept and keeps the rows of the bodies removed
    with Workspace.open(ws) as w:
        kept = _tables(w)
        rebuild(w)
        assert _tables(w) == kept
    again = runner.invoke(main, ["retention", "apply", "--as-of", AS_OF, "-w", str(ws)])
    assert again.exit_code == 0
    assert "raw_bodies: 0 removed" in again.output


def test_retention_refuses_what_cannot_be_kept(tmp_path: Path) -> None:
    ws = tmp_path / "ws.duckdb"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "-w", str(ws)]).exit_code == 0
    done = runner.invoke(main, ["retention", "apply", "-w", str(ws)])
    assert done.exit_code == 2
    assert "no retention policy; set one with `threadlift retention set" in done.output
    for args, message in (
        ([], "give --raw-days, --events-days or both"),
        (["--raw-days", "0"], "give 1 or more"),
        (["--raw-days", "90", "--events-days", "30"], "cannot be kept longer than they are"),
        (["--events-days", "30"], "give --raw-days of at most 30 too"),
    ):
        done = runner.invoke(main, ["retention", "set", *args, "-w", str(ws)])
        assert done.exit_code == 2, (args, done.output)
        assert message in done.output


def test_a_rebuild_after_retention_keeps_the_rows_of_removed_messenger_bodies(tmp_path: Path) -> None:
    """Messenger read watermarks imply events (recorded twice in provenance); once their
    bodies are removed, a rebuild keeps those events and every other row of the thread."""
    thread = Path(__file__).parents[1] / "fixtures" / "webhooks" / "synthetic" / "messenger_thread.jsonl"
    recent = _write(tmp_path / "recent.jsonl", [_status("out.new.0", PEOPLE[0], "sent", datetime(2026, 11, 3, 9))])
    with Workspace.create(tmp_path / "ws.duckdb") as w:
        ingest_files(w, "messenger", [thread], received_at=datetime(2023, 11, 15))
        ingest_files(w, "whatsapp", [recent], received_at=datetime(2026, 11, 3, 12))
        implied = w.con.execute(
            "SELECT count(*) FROM ingest_provenance WHERE table_name = 'watermark_events'").fetchall()[0][0]
        assert implied > 0
        before = _tables(w)
        set_retention(w, raw_days=30, events_days=30 * 365)
        run = apply_retention(w, now=datetime(2026, 11, 20))
        assert [(r.table, r.rows) for r in run.removed] == [("raw_bodies", 7), ("message_events", 0)]
        assert w.con.execute("SELECT count(*) FROM raw_bodies").fetchall() == [(1,)]
        rebuild(w)
        assert _tables(w) == before
