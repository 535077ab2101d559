"""SMS and e-mail CSV logs: read as ``threadlift load`` reads a CSV (byte-order mark,
delimiter, encoding), and a file that cannot be read is one line saying why and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from threadlift.cli import main
from threadlift.ingest import ingest_files
from threadlift.workspace import Workspace

FIXTURE = Path(__file__).parents[1] / "fixtures" / "webhooks" / "synthetic" / "sms_log.csv"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("latin-1", "not UTF-8 (byte 0xE9 at line 2; found Latin-1? line 2 would read "),
        ("cp1252", "not UTF-8 (byte 0xE9 at line 2; found Latin-1? line 2 would read "),
        ("utf-16", "not UTF-8 (it starts with a UTF-16 byte-order mark, so it is UTF-16 text)"),
    ],
)
def test_a_csv_in_another_encoding_is_a_one_line_error(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace("spring", "primavera-\u00e9t\u00e9", 1)
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode(encoding))
    done = CliRunner().invoke(main, ["ingest", "--platform", "sms", str(path), "-w", str(tmp_path / "w.duckdb")])
    assert done.exit_code == 2, done.output
    errors = [line for line in done.output.splitlines() if line.strip()]
    assert len(errors) == 1, done.output
    assert errors[0].startswith(f"Error: {path}: {expected}")
    assert "re-save it as UTF-8" in errors[0]


def _rows(ws: Workspace) -> list[tuple[object, ...]]:
    events = ws.con.execute(
        "SELECT message_id, status, ts FROM message_events ORDER BY message_id, ts, status"
    ).fetchall()
    bodies = ws.con.execute("SELECT body FROM raw_bodies ORDER BY seq").fetchall()
    return events + bodies


def test_a_semicolon_csv_with_a_byte_order_mark_ingests_as_the_comma_one(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert ";" not in text
    semicolon = tmp_path / "excel.csv"
    semicolon.write_bytes(b"\xef\xbb\xbf" + text.replace(",", ";").encode())
    with Workspace.create(tmp_path / "a.duckdb") as ws:
        expected = ingest_files(ws, "sms", [FIXTURE])
        expected_rows = _rows(ws)
        assert expected_rows
    with Workspace.create(tmp_path / "b.duckdb") as ws:
        result = ingest_files(ws, "sms", [semicolon])
        assert _rows(ws) == expected_rows
    assert (result.bodies, result.quarantined, result.rows) == (
        expected.bodies, expected.quarantined, expected.rows)
    assert result.bodies == len(text.splitlines()) - 1


def test_a_row_with_too_many_fields_is_quarantined_and_the_rest_ingested(
    workspace: Workspace, tmp_path: Path
) -> None:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "log.csv"
    path.write_text("\n".join([*lines[:2], lines[2] + ",extra,fields", *lines[3:]]) + "\n",
                    encoding="utf-8")
    result = ingest_files(workspace, "sms", [path])
    assert result.bodies == len(lines) - 2
    rejected = workspace.con.execute(
        "SELECT source, location, reason FROM quarantine WHERE target_table = 'raw_bodies'"
    ).fetchall()
    assert len(rejected) == 1
    source, location, reason = rejected[0]
    assert (source, location) == (str(path), "line 3")
    assert reason.startswith("malformed CSV row (too many columns)")


def test_ingest_reads_a_delimiter_it_cannot_detect_when_given(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert "^" not in text
    path = tmp_path / "log.csv"
    path.write_text(text.replace(",", "^"), encoding="utf-8")
    workspace = str(tmp_path / "w.duckdb")
    done = CliRunner().invoke(main, ["ingest", "--platform", "sms", str(path), "-w", workspace])
    assert done.exit_code == 2, done.output
    header = text.splitlines()[0].replace(",", "^")
    assert done.output.strip() == (
        f"Error: {path}: missing column(s) message_id, event, ts; the header must name at least "
        f"message_id, event, ts (see docs/ingest.md); the header reads as one column, {header!r}: "
        "if its fields are separated by '^', give --delimiter '^'"
    )
    done = CliRunner().invoke(main, ["ingest", "--platform", "sms", str(path), "--delimiter", "^",
                                     "-w", workspace])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"sms: 1 files, {len(text.splitlines()) - 1} new bodies")


def test_a_delimiter_for_json_webhooks_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "bodies.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["ingest", "--platform", "whatsapp", str(path), "--delimiter", ";",
                                     "-w", str(tmp_path / "w.duckdb")])
    assert done.exit_code == 2, done.output
    assert done.output.strip() == (
        "Error: a delimiter applies to the CSV logs of sms and email; whatsapp files are JSON "
        "(drop --delimiter)"
    )
