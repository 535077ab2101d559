"""``threadlift load``: idempotence, quarantine, atomicity, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from threadlift.errors import InputError
from threadlift.loading import load_files
from threadlift.workspace import Workspace

GOOD_AND_BAD = """action_id,contact_id,action,ts,value
a1,c1,order,2026-11-02T10:00:00Z,10.5
a2,c2,order,2026-11-02 12:00:00+02:00,
a3,c3,order,not a time,3
a4,,order,2026-11-03,4
a5,c5
a6,c6,order,1762077600,abc
a7,c7,order,2026-11-04T00:00:00-05:00,7
a8,c8,order,1762077600,8
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_good_rows_load_and_each_bad_row_is_quarantined_with_line_and_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    file = _write(tmp_path / "actions.csv", GOOD_AND_BAD)
    result = load_files(workspace, "actions", [file])
    assert (result.inserted, result.quarantined) == (4, 4)
    rows = workspace.con.execute("SELECT action_id, ts, value FROM actions ORDER BY action_id").fetchall()
    assert rows == [
        ("a1", datetime(2026, 11, 2, 10, 0), 10.5),
        ("a2", datetime(2026, 11, 2, 10, 0), None),  # +02:00 normalised to UTC
        ("a7", datetime(2026, 11, 4, 5, 0), 7.0),
        ("a8", datetime(2025, 11, 2, 10, 0), 8.0),  # Unix seconds
    ]
    quarantined = dict(
        workspace.con.execute(
            "SELECT location, reason FROM quarantine WHERE target_table = 'actions'"
        ).fetchall()
    )
    assert set(quarantined) == {"line 4", "line 5", "line 6", "line 7"}
    assert quarantined["line 4"] == "bad TIMESTAMP in column ts: not a time"
    assert quarantined["line 5"] == "missing value for required column contact_id"
    assert quarantined["line 6"].startswith("malformed CSV row")
    assert quarantined["line 7"] == "bad DOUBLE in column value: abc"
    sources = {s for (s,) in workspace.con.execute("SELECT source FROM quarantine").fetchall()}
    assert sources == {str(file.resolve())}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_loading_the_same_file_twice_changes_no_counts(
    workspace: Workspace, tmp_path: Path, fmt: str
) -> None:
    frame = pd.DataFrame(
        {
            "contact_id": ["c1", "c1", "c2", "c3"],
            "channel": ["whatsapp"] * 4,
            "sender_id": ["s1", "s1", None, "s1"],
            "scope": ["marketing", "marketing", "all", "bogus"],
            "status": ["granted", "granted", "revoked", "granted"],
            "ts": pd.to_datetime(["2026-11-01 10:00"] * 4),
            "source": ["crm"] * 4,
        }
    )
    path = tmp_path / f"consents.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    first = load_files(workspace, "consents", [path])
    counts = workspace.counts()
    second = load_files(workspace, "consents", [path])
    assert workspace.counts() == counts
    assert (first.inserted, first.duplicates, first.quarantined) == (2, 1, 1)
    assert (second.inserted, second.duplicates) == (0, 3)


def test_missing_required_column_is_one_line_error_naming_column_and_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    file = _write(tmp_path / "orders.csv", "action_id,contact_id,ts\na1,c1,2026-11-02\n")
    with pytest.raises(InputError) as info:
        load_files(workspace, "actions", [file])
    message = str(info.value)
    assert "\n" not in message
    assert "'action'" in message
    assert str(file) in message
    assert workspace.counts()["actions"] == 0


def test_a_failure_midway_rolls_back_every_file(workspace: Workspace, tmp_path: Path) -> None:
    good = _write(tmp_path / "a.csv", GOOD_AND_BAD)
    broken = _write(tmp_path / "b.csv", "action_id,contact_id\nx,y\n")
    with pytest.raises(InputError):
        load_files(workspace, "actions", [good, broken])
    counts = workspace.counts()
    assert counts["actions"] == 0
    assert counts["quarantine"] == 0


def test_a_killed_load_leaves_no_partial_rows(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace.create(path).close()
    big = tmp_path / "big.csv"
    with big.open("w") as handle:
        handle.write("action_id,contact_id,action,ts,value\n")
        for i in range(3_000_000):
            handle.write(f"a{i},c{i % 1000},order,2026-11-02T10:00:00Z,{i % 97}\n")
    script = (
        "import sys; from threadlift.workspace import Workspace; "
        "from threadlift.loading import load_files; "
        "ws = Workspace.open(sys.argv[1]); print('ready', flush=True); "
        "load_files(ws, 'actions', [sys.argv[2]] * 50)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(big)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(2.5)
    assert process.poll() is None, "the load finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with Workspace.open(path) as ws:
        assert ws.counts()["actions"] == 0
        assert ws.counts()["quarantine"] == 0


def test_unknown_table_and_file_type_are_input_errors(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="loadable tables"):
        load_files(workspace, "orders", [tmp_path / "x.csv"])
    odd = _write(tmp_path / "x.xlsx", "")
    with pytest.raises(InputError, match="unknown file type"):
        load_files(workspace, "actions", [odd])


ACTIONS_HEADER = "action_id,contact_id,action,ts,value\n"


def _quarantine(workspace: Workspace) -> dict[str, str]:
    return dict(workspace.con.execute(
        "SELECT location, reason FROM quarantine WHERE target_table = 'actions'").fetchall())


def _action_ids(workspace: Workspace) -> list[str]:
    return [str(a) for (a,) in workspace.con.execute(
        "SELECT action_id FROM actions ORDER BY action_id").fetchall()]


def test_non_finite_values_are_quarantined_in_csv_and_json_lines(
    workspace: Workspace, tmp_path: Path
) -> None:
    spellings = ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity"]
    csv_file = _write(tmp_path / "actions.csv", ACTIONS_HEADER + "".join(
        f"a{i},c1,order,2026-11-02T10:00:00Z,{text}\n" for i, text in enumerate(spellings))
        + "ok,c1,order,2026-11-02T10:00:00Z,2.5\n")
    json_file = _write(tmp_path / "actions.jsonl", "".join(
        f'{{"action_id": "j{i}", "contact_id": "c1", "action": "order", '
        f'"ts": "2026-11-02T10:00:00Z", "value": {value}}}\n'
        for i, value in enumerate(['"nan"', "NaN", "Infinity", "-Infinity", "1e999", "3"])))
    result = load_files(workspace, "actions", [csv_file, json_file])
    assert (result.inserted, result.quarantined) == (2, 11)
    assert _action_ids(workspace) == ["j5", "ok"]
    reasons = set(_quarantine(workspace).values())
    assert "non-finite DOUBLE in column value: nan (give a finite number, or leave it empty)" in reasons
    assert all(r.startswith("non-finite DOUBLE in column value: ") for r in reasons)


def test_non_finite_values_are_quarantined_in_parquet(workspace: Workspace, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "actions.parquet"
    pq.write_table(pa.table({
        "action_id": ["p1", "p2", "p3", "p4"], "contact_id": ["c1"] * 4, "action": ["order"] * 4,
        "ts": ["2026-11-02T10:00:00Z"] * 4,
        "value": pa.array([float("nan"), float("inf"), float("-inf"), 4.0], pa.float64()),
    }), path)
    result = load_files(workspace, "actions", [path])
    assert (result.inserted, result.quarantined) == (1, 3)
    assert _action_ids(workspace) == ["p4"]
    assert set(_quarantine(workspace)) == {"row 1", "row 2", "row 3"}


def test_nul_bytes_in_ids_are_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    file = _write(tmp_path / "actions.csv", ACTIONS_HEADER
                  + "a1,c\x001,order,2026-11-02,1\na\x002,c2,order,2026-11-02,1\na3,c3,order,2026-11-02,1\n")
    result = load_files(workspace, "actions", [file])
    assert (result.inserted, result.quarantined) == (1, 2)
    assert _quarantine(workspace) == {
        "line 2": "NUL byte in column contact_id (a text value may not hold one; remove it)",
        "line 3": "NUL byte in column action_id (a text value may not hold one; remove it)",
    }


def test_a_json_lines_file_that_is_not_utf8_is_refused_whole(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "actions.jsonl"
    good = '{"action_id": "a%d", "contact_id": "c1", "action": "order", "ts": "2026-11-02"}\n'
    path.write_bytes((good % 1).encode() + (good % 2).replace("c1", "caf\xe9").encode("latin-1")
                     + b"\n" + (good % 3).encode())
    with pytest.raises(InputError) as info:
        load_files(workspace, "actions", [path])
    assert str(info.value).startswith(f"{path}: not UTF-8 (byte 0xE9 at line 2; found Latin-1? ")
    assert "café" in str(info.value)
    assert "Excel" not in str(info.value)  # the Excel advice is for CSV files
    assert _action_ids(workspace) == []
    assert _quarantine(workspace) == {}


def test_a_json_line_over_the_size_limit_is_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    big = "x" * 2_200_000
    path = _write(tmp_path / "actions.jsonl",
                  f'{{"action_id": "a1", "contact_id": "c1", "action": "order", "ts": "2026-11-02", "note": "{big}"}}\n'
                  '{"action_id": "a2", "contact_id": "c1", "action": "order", "ts": "2026-11-02"}\n')
    result = load_files(workspace, "actions", [path])
    assert (result.inserted, result.quarantined) == (1, 1)
    assert _quarantine(workspace)["line 1"].startswith("line longer than")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_line_longer_than_the_readers_buffer_is_quarantined_not_dropped(
    workspace: Workspace, tmp_path: Path, fmt: str
) -> None:
    # DuckDB's parallel reader skips a line over its 32 MiB buffer without a reject row
    big = "x" * 40_000_000
    path = tmp_path / f"actions.{fmt}"
    if fmt == "csv":
        path.write_text(ACTIONS_HEADER + "a1,c1,order,2026-11-02,1\n"
                        f"a2,c2,order,2026-11-02,{big}\na3,c3,order,2026-11-02,1\n")
        long_line = 3
    else:
        row = '{"action_id": "a%d", "contact_id": "c1", "action": "order", "ts": "2026-11-02"%s}\n'
        path.write_text(row % (1, "") + row % (2, f', "x": "{big}"') + row % (3, ""))
        long_line = 2
    result = load_files(workspace, "actions", [path])
    assert (result.files[0].rows, result.inserted, result.quarantined) == (3, 2, 1)
    assert _action_ids(workspace) == ["a1", "a3"]
    reasons = _quarantine(workspace)
    assert list(reasons) == [f"line {long_line}"]
    assert reasons[f"line {long_line}"].startswith("line longer than 2 MiB")


def test_a_csv_that_is_not_utf8_is_refused_whole_naming_every_bad_line_count(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "actions.csv"
    path.write_bytes((ACTIONS_HEADER + "a1,c1,order,2026-11-02,1\na2,caf\xe9,order,2026-11-02,1\n"
                      "a3,c3,order,2026-11-02,1\na4,na\xefve,order,2026-11-02,1\n"
                      "a5,\xc5se,order,2026-11-02,1\n").encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_files(workspace, "actions", [path])
    assert str(info.value) == (
        f"{path}: not UTF-8 (byte 0xE9 at line 3, and 2 more lines; found Latin-1? line 3 "
        "would read 'a2,café,order,2026-11-02,1'): re-save it as UTF-8 (in Excel: Save As > "
        "CSV UTF-8), or convert it: iconv -f CP1252 -t UTF-8 actions.csv > actions-utf8.csv"
    )
    assert _action_ids(workspace) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # 0x93 / 0x94 are curly quotes in Windows-1252 and control characters in Latin-1
        ("a2,c2,\u201corder\u201d,2026-11-02,1".encode("cp1252"), "found Windows-1252?"),
        ("a2,Jos\xe9,order,2026-11-02,1".encode("latin-1"), "found Latin-1?"),
        # 0x81 has no character in Windows-1252; 0xA6 0xA4 read as symbols names never hold
        (b"a2,c\x81,order,2026-11-02,1", "encoding not recognised"),
        (b"a2,c\xa6\xa4,order,2026-11-02,1", "encoding not recognised"),
    ],
)
def test_the_encoding_a_file_most_likely_is_is_named_only_when_the_bytes_say_so(
    workspace: Workspace, tmp_path: Path, line: bytes, expected: str
) -> None:
    path = tmp_path / "actions.csv"
    path.write_bytes(ACTIONS_HEADER.encode() + b"a1,c1,order,2026-11-02,1\n" + line + b"\n")
    with pytest.raises(InputError) as info:
        load_files(workspace, "actions", [path])
    message = str(info.value)
    assert message.startswith(f"{path}: not UTF-8 (byte 0x")
    assert " at line 3; " in message
    assert expected in message
    assert ("iconv -f CP1252" in message) == expected.startswith("found ")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("latin1.csv", "action_id,contact_id,action,ts,valu\xe9\n".encode("latin-1"),
         "not UTF-8 (byte 0xE9 at line 1; found Latin-1?"),
        ("utf16.csv", ACTIONS_HEADER.encode("utf-16"), "not UTF-8 (it starts with a UTF-16 byte-order mark"),
        ("reserved.csv", b"action_id,contact_id,action,ts,_line\n", "a name threadlift uses"),
        ("binary.csv", bytes(range(256)) * 40, "not UTF-8 text"),
        ("notgzip.csv.gz", ACTIONS_HEADER.encode(), "is not a gzip file"),
        ("case.csv", b"action_id,contact_id,action,ts,value,Value\n", "differ only by case"),
        ("unnamed.csv", b"action_id,contact_id,action,ts,value,\n", "column 6 of the header has no name"),
        ("keys.jsonl", b'{"action_id": "a", "contact_id": "c", "action": "o", "ts": "2026-11-02", "value": 1, "Value": 2}\n',
         "differ only by case"),
        ("binary.jsonl", bytes(range(256)) * 40, "cannot be read as lines of JSON"),
        ("garbage.jsonl", b"\x00\x01binary\nnot json\n", "no line is a JSON object"),
        ("blank-first-line.csv", b"\n\naction_id\n", "the first line is empty"),
        ("empty.parquet", b"", "not a Parquet file"),
        ("garbage.parquet", b"PAR1" + bytes(range(256)) * 4, "not a Parquet file"),
    ],
)
def test_unreadable_files_are_input_errors_naming_the_file_and_the_fix(
    workspace: Workspace, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_files(workspace, "actions", [path])
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_a_corrupt_parquet_file_is_an_input_error(workspace: Workspace, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "actions.parquet"
    pq.write_table(pa.table({"action_id": [f"a{i}" for i in range(50)], "contact_id": ["c1"] * 50,
                             "action": ["order"] * 50, "ts": ["2026-11-02"] * 50}), path)
    data = bytearray(path.read_bytes())
    data[4:44] = b"\xff" * 40  # the first page header: the footer (schema) still reads
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not a Parquet file DuckDB can read"):
        load_files(workspace, "actions", [path])


def test_a_parquet_column_named_file_row_number_is_an_input_error(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "actions.parquet"
    pd.DataFrame({"action_id": ["a1"], "file_row_number": [1]}).to_parquet(path)
    with pytest.raises(InputError, match="'file_row_number' is a name DuckDB reserves"):
        load_files(workspace, "actions", [path])


# What CRMs and spreadsheets export, through the command line: the message and exit code.

CONTACTS = [("c1", "BR"), ("c2", "FR"), ("c3", "US")]


def _contacts_csv(delimiter: str, names: tuple[str, ...] = ("Ana", "José", "Zoë")) -> str:
    rows = [delimiter.join(("contact_id", "market", "name"))]
    rows += [delimiter.join((cid, market, name)) for (cid, market), name in zip(CONTACTS, names, strict=True)]
    return "\r\n".join(rows) + "\r\n"


def _load(tmp_path: Path, path: Path, *options: str) -> tuple[int, str, list[tuple[str, str]]]:
    from click.testing import CliRunner

    from threadlift.cli import main

    workspace = tmp_path / "ws.duckdb"
    done = CliRunner().invoke(main, ["load", "contacts", str(path), *options, "-w", str(workspace)])
    with Workspace.create(workspace) as ws:
        rows = ws.con.execute("SELECT contact_id, market FROM contacts ORDER BY contact_id").fetchall()
    return done.exit_code, done.output, [(str(c), str(m)) for c, m in rows]


def _one_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    return lines[0].removeprefix("Error: ")


def test_cli_loads_an_excel_csv_utf8_file_with_its_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _contacts_csv(",").encode("utf-8"))
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (0, CONTACTS)
    assert f"{path}: 3 rows, 3 added, 0 already present, 0 quarantined; ignored columns: name" in output


def test_cli_refuses_a_utf16_file_by_its_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(_contacts_csv(",").encode("utf-16"))
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (2, [])
    assert _one_error(output) == (
        f"{path}: not UTF-8 (it starts with a UTF-16 byte-order mark, so it is UTF-16 text): "
        "re-save it as UTF-8 (in Excel: Save As > CSV UTF-8)"
    )


def test_cli_refuses_a_windows_1252_file_naming_byte_line_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(_contacts_csv(",").encode("cp1252"))
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (2, [])
    # "José" is line 3; 0xE9 is é in Latin-1 and Windows-1252 alike, and line 4 ("Zoë") too
    assert _one_error(output) == (
        f"{path}: not UTF-8 (byte 0xE9 at line 3, and 1 more line; found Latin-1? line 3 would "
        "read 'c2,FR,José'): re-save it as UTF-8 (in Excel: Save As > CSV UTF-8), or convert "
        "it: iconv -f CP1252 -t UTF-8 contacts.csv > contacts-utf8.csv"
    )


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_cli_detects_the_delimiter(tmp_path: Path, delimiter: str, name: str) -> None:
    path = tmp_path / f"contacts-{name}.csv"
    path.write_text(_contacts_csv(delimiter), encoding="utf-8")
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (0, CONTACTS), output
    assert "contacts: 3 rows added, 0 already present, 0 quarantined" in output


@pytest.mark.parametrize(("given", "delimiter"), [(":", ":"), ("tab", "\t"), ("\\t", "\t")])
def test_cli_reads_an_explicit_delimiter(tmp_path: Path, given: str, delimiter: str) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(_contacts_csv(delimiter), encoding="utf-8")
    code, output, rows = _load(tmp_path, path, "--delimiter", given)
    assert (code, rows) == (0, CONTACTS), output


def test_cli_names_the_fix_when_the_delimiter_cannot_be_detected(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(_contacts_csv(":"), encoding="utf-8")
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (2, [])
    assert _one_error(output) == (
        f"{path}: missing required column 'contact_id' for table contacts (columns "
        "expected: contact_id, market, created_at); the header reads as one column, "
        "'contact_id:market:name': if its fields are separated by ':', give --delimiter ':'"
    )


def test_cli_names_the_candidates_when_two_delimiters_fit_alike(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("contact_id;market;note,x\nc1;BR;a,b\nc2;FR;c,d\n", encoding="utf-8")
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (2, [])
    assert _one_error(output) == (
        f"{path}: cannot tell the delimiter: the header splits on comma (',') and semicolon "
        "(';'), and each splits the first lines evenly; give it, e.g. --delimiter ','"
    )
    code, output, rows = _load(tmp_path, path, "--delimiter", ";")
    assert (code, rows) == (0, [("c1", "BR"), ("c2", "FR")]), output


def test_cli_prefers_the_delimiter_that_splits_every_line_like_the_header(tmp_path: Path) -> None:
    # the header also splits on ";" but the rows do not: commas it is
    path = tmp_path / "contacts.csv"
    path.write_text('contact_id,market,"note;x"\nc1,BR,a\nc2,FR,"b;c"\n', encoding="utf-8")
    code, output, rows = _load(tmp_path, path)
    assert (code, rows) == (0, [("c1", "BR"), ("c2", "FR")]), output


@pytest.mark.parametrize("given", ["", ";;", '"', "\n"])
def test_cli_refuses_a_delimiter_that_is_not_one_character(tmp_path: Path, given: str) -> None:
    path = _write(tmp_path / "contacts.csv", _contacts_csv(","))
    code, output, rows = _load(tmp_path, path, "--delimiter", given)
    assert (code, rows) == (2, [])
    assert _one_error(output).startswith(f"--delimiter {given!r}: give the one character")


def test_cli_refuses_a_delimiter_for_a_file_that_is_not_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "contacts.jsonl", '{"contact_id": "c1", "market": "BR"}\n')
    code, output, rows = _load(tmp_path, path, "--delimiter", ";")
    assert (code, rows) == (2, [])
    assert "--delimiter applies to CSV files only" in _one_error(output)
