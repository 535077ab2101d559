"""The raw store's reading of webhook files: lines that are not UTF-8, and lines too long."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threadlift.errors import InputError
from threadlift.ingest import ingest_files
from threadlift.workspace import Workspace

FIXTURE = Path(__file__).parents[1] / "fixtures" / "webhooks" / "meta_docs_examples" / "wa_status__01.json"
STATUS = json.loads(FIXTURE.read_text(encoding="utf-8"))


def _status(message: int) -> bytes:
    body = json.loads(json.dumps(STATUS))
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = f"wamid.R{message}"
    return json.dumps(body).encode()


def _latin1(message: int) -> bytes:
    return _status(message).replace(b"whatsapp_business_account", "caf\xe9".encode("latin-1"))


def test_each_line_that_is_not_utf8_is_quarantined_at_its_own_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    lines = [_latin1(1), _status(2), b"", _latin1(4), b"", _status(6), _latin1(7), _status(8), _latin1(9)]
    path = tmp_path / "bodies.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert (result.bodies, result.quarantined) == (3, 4)
    rejected = workspace.con.execute(
        "SELECT location, reason FROM quarantine ORDER BY CAST(split_part(location, ' ', 2) AS INT)"
    ).fetchall()
    assert rejected == [(f"line {n}", "not UTF-8 text (save the file as UTF-8)") for n in (1, 4, 7, 9)]
    stored = workspace.con.execute("SELECT location FROM raw_bodies ORDER BY seq").fetchall()
    assert stored == [("line 2",), ("line 6",), ("line 8",)]
    ids = workspace.con.execute("SELECT message_id FROM message_events ORDER BY 1").fetchall()
    assert {i for (i,) in ids} == {"wamid.R2", "wamid.R6", "wamid.R8"}


def test_a_file_of_bad_lines_only_stores_nothing_and_quarantines_every_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "bodies.jsonl"
    path.write_bytes(_latin1(1) + b"\r\n" + _latin1(2) + b"\r\n")
    result = ingest_files(workspace, "whatsapp", [path])
    assert (result.bodies, result.quarantined) == (0, 2)


def test_a_line_too_long_in_a_file_that_is_not_utf8_is_the_same_error(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadlift.ingest import raw

    monkeypatch.setattr(raw, "_MAX_LINE", 4096)
    long = b'{"object": "' + b"x" * 5000 + b'"}'
    path = tmp_path / "bodies.jsonl"
    path.write_bytes(_latin1(1) + b"\n" + _status(2) + b"\n" + long + b"\n")
    with pytest.raises(InputError, match=r"bodies.jsonl: line 3 is 5,0\d\d bytes, longer than the 0 MiB"):
        ingest_files(workspace, "whatsapp", [path])
    path.write_bytes(_status(1) + b"\n" + _status(2) + b"\n" + long + b"\n")
    with pytest.raises(InputError, match=r"bodies.jsonl: line 3 is 5,0\d\d bytes, longer than the 0 MiB"):
        ingest_files(workspace, "whatsapp", [path])
