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


def test_a_line_that_is_not_utf8_is_quarantined_and_the_rest_of_a_json_lines_file_loads(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "actions.jsonl"
    good = '{"action_id": "a%d", "contact_id": "c1", "action": "order", "ts": "2026-11-02"}\n'
    path.write_bytes((good % 1).encode() + (good % 2).replace("c1", "caf\xe9").encode("latin-1")
                     + b"\n" + (good % 3).encode())
    result = load_files(workspace, "actions", [path])
    assert (result.inserted, result.quarantined) == (2, 1)
    assert _action_ids(workspace) == ["a1", "a3"]
    assert _quarantine(workspace) == {"line 2": "not UTF-8 text (save the file as UTF-8)"}


def test_a_json_line_over_the_size_limit_is_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    big = "x" * 2_200_000
    path = _write(tmp_path / "actions.jsonl",
                  f'{{"action_id": "a1", "contact_id": "c1", "action": "order", "ts": "2026-11-02", "note": "{big}"}}\n'
                  '{"action_id": "a2", "contact_id": "c1", "action": "order", "ts": "2026-11-02"}\n')
    result = load_files(workspace, "actions", [path])
    assert (result.inserted, result.quarantined) == (1, 1)
    assert _quarantine(workspace)["line 1"].startswith("line longer than")


def test_a_latin1_byte_in_a_csv_row_quarantines_that_row(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "actions.csv"
    path.write_bytes((ACTIONS_HEADER + "a1,c1,order,2026-11-02,1\na2,caf\xe9,order,2026-11-02,1\n"
                      "a3,c3,order,2026-11-02,1\n").encode("latin-1"))
    result = load_files(workspace, "actions", [path])
    assert (result.inserted, result.quarantined) == (2, 1)
    assert _quarantine(workspace) == {"line 3": "not UTF-8 text (save the file as UTF-8)"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("latin1.csv", "action_id,contact_id,action,ts,valu\xe9\n".encode("latin-1"),
         "the header row is not UTF-8 text"),
        ("utf16.csv", ACTIONS_HEADER.encode("utf-16"), "looks like UTF-16"),
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
