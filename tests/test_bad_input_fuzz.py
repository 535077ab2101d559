"""Bad input through the CLI: never a bug (exit 1), and nothing already loaded is lost.

Generated cases (seeded, so every run is the same) feed ``load`` corrupted encodings,
sizes, nestings, headers and types in CSV, gzip, JSON lines and Parquet, ``ingest``
corrupted webhook files, and ``report`` / ``assign`` mutated experiment TOML. Each case
runs against one workspace holding a baseline of rows; after each, every baseline row is
still there, and a load that failed (exit 2) changed no row count at all.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from threadlift.cli import main
from threadlift.workspace import Workspace

pytestmark = pytest.mark.slow

SEED = 20261207
AS_OF = "2026-03-12T00:00:00Z"

BASE_ROWS: dict[str, list[dict[str, str]]] = {
    "contacts": [{"contact_id": f"c{i}", "market": "BR", "created_at": "2026-01-01T00:00:00Z"}
                 for i in range(40)],
    "actions": [{"action_id": f"o{i}", "contact_id": f"c{i}", "action": "order",
                 "ts": "2026-03-03T10:00:00Z", "value": str(i + 0.5)} for i in range(0, 40, 2)],
    "consents": [{"contact_id": f"c{i}", "channel": "whatsapp", "sender_id": "s1",
                  "scope": "marketing", "status": "granted", "ts": "2026-02-01T00:00:00Z",
                  "source": "crm"} for i in range(40)],
    "rate_card": [{"channel": "whatsapp", "market": "BR", "category": "marketing",
                   "price": "0.0625", "currency": "USD", "valid_from": "2026-01-01T00:00:00Z"}],
    "message_events": [{"message_id": f"m{i}", "status": "delivered", "ts": "2026-03-02T09:00:00Z",
                        "error_code": "", "pricing_category": "marketing", "billable": "true"}
                       for i in range(10)],
    "assignments": [{"experiment_id": "fz", "contact_id": f"c{i}",
                     "arm": "control" if i % 2 else "message",
                     "assigned_at": "2026-03-02T08:00:00Z"} for i in range(40)],
}
"""Valid rows of each table the cases mutate; all of them are loaded first (the baseline)."""

EXPERIMENT = """id = "fz"
channel = "whatsapp"
assignment = "external"
assigned_at = 2026-03-02T08:00:00Z
window_days = 7
[[arms]]
name = "control"
weight = 50
holdout = true
[[arms]]
name = "message"
weight = 50
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"
[[metrics]]
name = "revenue"
type = "mean"
action = "order"
cuped_days = 14
[[guardrails]]
name = "blocks"
kind = "block"
max_rel_increase = 0.5
"""

ASSIGNED = """id = "fz-assign"
channel = "whatsapp"
sender_id = "s1"
assigned_at = 2026-03-02T08:00:00Z
window_days = 7
salt = "fz"
audience_sql = "select contact_id from contacts where market = 'BR'"
[[arms]]
name = "holdout"
weight = 10
holdout = true
[[arms]]
name = "treat"
weight = 90
[eligibility]
require_consent = true
exclude_feedback_days = 90
"""


@dataclass(frozen=True)
class Case:
    """One CLI call: ``args`` with ``{file}`` / ``{experiment}`` replaced by written files."""

    name: str
    args: tuple[str, ...]
    file_name: str = ""
    content: bytes = b""
    valid: bool = False
    """Input that must succeed (exit 0, or 3 for a report whose alerts fire)."""

    def __str__(self) -> str:
        return self.name


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _table_rows(table: str) -> list[list[str]]:
    rows = BASE_ROWS[table]
    header = list(rows[0])
    return [header] + [[row[c] for c in header] for row in rows[:4]]


def _flip(data: bytes, rng: random.Random, count: int) -> bytes:
    mutable = bytearray(data)
    for _ in range(count):
        mutable[rng.randrange(len(mutable))] = rng.randrange(256)
    return bytes(mutable)


def _csv_mutations(table: str, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    rows = _table_rows(table)
    header, body = rows[0], rows[1:]
    good = _csv(rows)
    text = good.decode()
    first = header[0]
    # encodings
    yield "latin1-header", text.replace(first, first + "\xe9", 1).encode("latin-1")
    yield "latin1-row", (text + f"x\xe9{len(body)},{','.join(body[0][1:])}\n").encode("latin-1")
    yield "utf16-bom", text.encode("utf-16")
    yield "utf16le-no-bom", text.encode("utf-16-le")
    yield "utf8-bom", b"\xef\xbb\xbf" + good
    yield "binary-prefix", bytes(rng.randrange(256) for _ in range(200)) + good
    yield "binary", bytes(rng.randrange(256) for _ in range(5000))
    yield "nul-in-header", good.replace(first.encode(), first.encode() + b"\x00", 1)
    yield "nul-in-row", good.replace(body[1][0].encode(), body[1][0].encode() + b"\x00x", 1)
    yield "cr-only", text.replace("\n", "\r").encode()
    yield "crlf", text.replace("\n", "\r\n").encode()
    yield "mixed-newlines", text.replace("\n", "\r", 2).encode()
    for index in range(6):
        yield f"flips-{index}", _flip(good, rng, 1 + index)
    for index in range(3):
        yield f"truncated-{index}", good[: rng.randrange(1, len(good))]
    # sizes
    yield "empty", b""
    yield "header-only", _csv([header])
    yield "only-newlines", b"\n" * 1000
    yield "line-over-2MiB", good + _csv([[body[0][0] + "x" * 2_200_000, *body[0][1:]]])
    yield "thousand-columns", _csv([header + [f"extra{i}" for i in range(1000)]]
                                   + [row + ["1"] * 1000 for row in body])
    yield "long-column-name", _csv([[*header, "n" * 100_000]] + [[*row, "1"] for row in body])
    # headers
    yield "duplicate-column", _csv([[*header, first]] + [[*row, row[0]] for row in body])
    yield "case-duplicate-column", _csv([[*header, first.upper()]] + [[*row, "x"] for row in body])
    yield "empty-column-name", _csv([[*header, ""]] + [[*row, "x"] for row in body])
    yield "blank-column-names", _csv([[" ", *header]] + [["x", *row] for row in body])
    yield "quote-in-name", _csv([[*header, 'a"b,c']] + [[*row, "x"] for row in body])
    yield "missing-required", _csv([header[1:]] + [row[1:] for row in body])
    yield "unicode-names", _csv([[*header, "välüe ✓"]] + [[*row, "ü"] for row in body])
    yield "only-commas", b",,,,\n,,,,\n"
    yield "semicolons", text.replace(",", ";").encode()
    yield "unbalanced-quote", good + b'"unterminated,' + b",".join(c.encode() for c in body[0][1:]) + b"\n"
    # types
    for value in ("nan", "-inf", "Infinity", "1e400", "-0", "99999999999999999999999", "0x10",
                  "99999-01-01", "1e30", "-99999999999", "true", "\u0661\u0662"):
        yield f"value-{value}", _csv([header] + [[value if i else row[0] for i in range(len(row))]
                                                 for row in body])
    yield "newline-in-quoted", _csv([header] + [[row[0] + "\nline", *row[1:]] for row in body])
    yield "long-id", _csv([header, ["i" * 1_000_000, *body[0][1:]]])
    yield "emoji-ids", _csv([header] + [[row[0] + "👍", *row[1:]] for row in body])
    yield "gzip", gzip.compress(good)
    yield "gzip-latin1", gzip.compress(text.replace(first, first + "\xe9").encode("latin-1"))
    yield "gzip-truncated", gzip.compress(good * 200)[:300]


def _jsonl_mutations(table: str, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    rows = BASE_ROWS[table][:4]
    good = "".join(json.dumps(row) + "\n" for row in rows)
    row = dict(rows[0])
    key = next(iter(row))

    def line(**changes: object) -> str:
        return json.dumps({**row, **changes}) + "\n"

    yield "deep-value", (good + json.dumps({**row, "x": None})[:-1].replace(
        "null", "[" * 10_000 + "]" * 10_000) + "\n").encode()
    yield "deep-line", (good + "[" * 100_000 + "]" * 100_000 + "\n").encode()
    yield "deep-object", (good + '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n").encode()
    for name, text in (("array", "[1, 2]"), ("string", '"text"'), ("null", "null"), ("number", "42"),
                       ("trailing-garbage", line().strip() + " xyz"), ("two-objects", line().strip() * 2),
                       ("nan-literal", line().replace('"' + str(row.get("value", "1")) + '"', "NaN")),
                       ("surrogate", line().replace(f'"{row[key]}"', '"\\ud800"', 1)),
                       ("escaped-nul", line().replace(f'"{row[key]}"', '"a\\u0000b"', 1)),
                       ("control-char", line().replace(f'"{row[key]}"', '"a\x01b"', 1))):
        yield f"line-{name}", (good + text.rstrip("\n") + "\n").encode()
    yield "duplicate-keys", (good + line().replace("{", '{"' + key + '": "dup", ', 1)).encode()
    yield "key-case", (good + json.dumps({**row, key.upper(): "x"}) + "\n").encode()
    for name, odd in (("empty", ""), ("quote", 'a"b'), ("dollar", "$x"), ("backslash", "a\\b"),
                      ("slash", "a/b"), ("nul", "a\x00b"), ("dot", "a.b"), ("space", " ")):
        yield f"key-{name}", (good + json.dumps({**row, odd: 1}) + "\n").encode()
    for name, value in (("object", {"x": 1}), ("array", [1, 2]), ("bool", True), ("number", 12),
                        ("float", 1e308), ("null", None)):
        yield f"id-{name}", (good + json.dumps({**row, key: value}) + "\n").encode()
    yield "latin1-line", good.encode() + line().replace(str(row[key]), str(row[key]) + "\xe9").encode("latin-1")
    yield "binary", bytes(rng.randrange(256) for _ in range(5000))
    yield "binary-line", good.encode() + bytes(rng.randrange(1, 256) for _ in range(300)) + b"\n"
    yield "line-over-2MiB", (good + line(note="x" * 2_200_000)).encode()
    yield "bom", b"\xef\xbb\xbf" + good.encode()
    yield "utf16", good.encode("utf-16")
    yield "cr-only", good.replace("\n", "\r").encode()
    for index in range(4):
        yield f"flips-{index}", _flip(good.encode(), rng, 1 + 2 * index)
    yield "truncated", good.encode()[: len(good) // 2]
    yield "gzip", gzip.compress(good.encode())
    yield "not-gzip", good.encode()


def _parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _parquet_mutations(table: str, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    rows = BASE_ROWS[table][:4]
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    good = _parquet_bytes(pa.table(columns))
    first = next(iter(columns))
    yield "empty", b""
    yield "garbage", bytes(rng.randrange(256) for _ in range(2000))
    yield "magic-only", b"PAR1PAR1"
    yield "truncated", good[: len(good) // 2]
    yield "flipped", _flip(good, rng, 20)
    yield "zero-rows", _parquet_bytes(pa.table({k: pa.array([], pa.string()) for k in columns}))
    yield "case-duplicate", _parquet_bytes(pa.Table.from_arrays(
        [pa.array(v) for v in columns.values()] + [pa.array(columns[first])],
        names=[*columns, first.upper()]))
    yield "exact-duplicate", _parquet_bytes(pa.Table.from_arrays(
        [pa.array(v) for v in columns.values()] + [pa.array(columns[first])], names=[*columns, first]))
    yield "non-utf8-binary", _parquet_bytes(pa.table(
        {**columns, first: pa.array([b"\xff\xfe" + v.encode() for v in columns[first]], pa.binary())}))
    yield "nul-in-id", _parquet_bytes(pa.table({**columns, first: [v + "\x00" for v in columns[first]]}))
    yield "struct-and-list", _parquet_bytes(pa.table(
        {**columns, "nested": [{"a": [1, 2], "b": {"c": "x"}}] * len(rows)}))
    yield "file-row-number-column", _parquet_bytes(pa.table({**columns, "file_row_number": [1] * len(rows)}))
    yield "typed-columns", _parquet_bytes(pa.table({
        **columns, first: pa.array(range(len(rows)), pa.int64()),
        "when": pa.array([1] * len(rows), pa.timestamp("ns", tz="UTC"))}))
    yield "non-finite", _parquet_bytes(pa.table(
        {**columns, "value": pa.array([float("nan"), float("inf"), -float("inf"), 1.0][: len(rows)])}))


def _toml_mutations(base: str, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    values = ('""', "0", "-1", "inf", "nan", "99999999999999999999", "1000000000", "[1, 2]",
              "{ a = 1 }", "1979-05-27", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
              '"' + "x" * 10_000 + '"', "true", '"\\u0000"')
    keys = ("id", "channel", "assigned_at", "window_days", "salt", "sender_id", "category",
            "version", "alpha", "srm_alpha", "sequential", "assignment", "audience_sql")
    pairs = [(key, value) for key in keys for value in values]
    for key, value in rng.sample(pairs, 60):
        lines = [ln for ln in base.splitlines() if not ln.startswith(f"{key} =")]
        yield f"{key}={value[:20]}", (f"{key} = {value}\n" + "\n".join(lines) + "\n").encode()
    for value in ("1e-300", "1e308", "1e12", "0.0001", "-0.0", '"1"', "[1]"):
        for arm in (0, 1):  # the holdout's weight, then the other arm's
            arms = base.split("weight = ")
            arms[arm + 1] = value + arms[arm + 1][arms[arm + 1].index("\n"):]
            yield f"weight{arm}={value}", "weight = ".join(arms).encode()
    for extra in ("[layer]\nname = \"l\"\nbuckets = [0, 99999999999]",
                  "[layer]\nname = \"l\"\nbuckets = [5000, 5000]",
                  "[eligibility]\nexclude_feedback_days = 99999999999",
                  '[[metrics]]\nname = "big"\ntype = "mean"\naction = "order"\ncuped_days = 1000000000',
                  '[[metrics]]\nname = "r"\ntype = "ratio"\naction = "\\u0000"',
                  '[[guardrails]]\nname = "g"\nkind = "block"\nmax_increase = inf',
                  "x = " + "[" * 3000 + "]" * 3000,
                  "x = " + "{ a = " * 3000 + "1" + " }" * 3000):
        yield f"extra-{len(extra)}-{extra[:25]}", (base + extra + "\n").encode()
    yield "latin1", ("# caf\xe9\n" + base).encode("latin-1")
    yield "utf16", base.encode("utf-16")
    yield "bom", b"\xef\xbb\xbf" + base.encode()
    yield "nul", base.encode().replace(b"\n", b"\x00", 1)
    yield "empty", b""
    yield "duplicate-key", (base + 'id = "again"\n').encode()
    for index in range(4):
        yield f"truncated-{index}", base.encode()[: rng.randrange(1, len(base))]
    for index in range(4):
        yield f"flips-{index}", _flip(base.encode(), rng, 1 + index)


def _ingest_mutations(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    body = {"object": "whatsapp_business_account", "entry": []}
    good = json.dumps(body) + "\n"
    yield "deep-line", (good + "[" * 100_000 + "]" * 100_000 + "\n").encode()
    yield "deep-pretty", b"[\n" * 50_000 + b"]" * 50_000
    yield "latin1-line", good.encode() + b'{"object": "caf\xe9"}\n'
    yield "binary", bytes(rng.randrange(256) for _ in range(5000))
    yield "utf16", good.encode("utf-16")
    yield "empty", b""
    yield "huge-line", (good + json.dumps({**body, "x": "y" * 3_000_000}) + "\n").encode()
    yield "truncated", (good * 3)[:40].encode()


VALID = {"csv-crlf", "csv-utf8-bom", "csv-gzip", "jsonl-gzip", "report-unchanged", "assign-unchanged"}
"""Cases whose input is well-formed: they check that the cases can succeed at all."""


def _cases() -> list[Case]:
    rng = random.Random(SEED)
    cases: list[Case] = [
        Case("report-unchanged", ("report", "{file}", "--out", "{out}", "--as-of", AS_OF, "--core"),
             "fz.toml", EXPERIMENT.encode(), valid=True),
        Case("assign-unchanged", ("assign", "{file}"), "assign.toml", ASSIGNED.encode(), valid=True),
    ]
    for table in ("actions", "contacts", "consents"):
        for name, content in _csv_mutations(table, rng):
            suffix = ".csv.gz" if name.startswith("gzip") else ".csv"
            cases.append(Case(f"load-{table}-csv-{name}", ("load", table, "{file}"), f"{table}{suffix}",
                              content, valid=f"csv-{name}" in VALID))
    for table in ("actions", "message_events", "rate_card"):
        for name, content in _jsonl_mutations(table, rng):
            suffix = ".jsonl.gz" if "gzip" in name else ".jsonl"
            cases.append(Case(f"load-{table}-jsonl-{name}", ("load", table, "{file}"), f"{table}{suffix}",
                              content, valid=f"jsonl-{name}" in VALID))
    for table in ("actions", "assignments"):
        extra = ("--experiment", "{experiment}") if table == "assignments" else ()
        for name, content in _parquet_mutations(table, rng):
            cases.append(Case(f"load-{table}-parquet-{name}", ("load", table, "{file}", *extra),
                              f"{table}.parquet", content))
    for name, content in _toml_mutations(EXPERIMENT, rng):
        cases.append(Case(f"report-{name}", ("report", "{file}", "--out", "{out}", "--as-of", AS_OF, "--core"),
                          "fz.toml", content))
    for name, content in _toml_mutations(ASSIGNED, rng):
        cases.append(Case(f"assign-{name}", ("assign", "{file}"), "assign.toml", content))
    for name, content in _ingest_mutations(rng):
        cases.append(Case(f"ingest-{name}", ("ingest", "--platform", "whatsapp", "{file}"), "bodies.jsonl", content))
    return cases


CASES = _cases()


def _rows(path: Path) -> dict[str, set[tuple[object, ...]]]:
    """Every row of the tables the cases touch, read through threadlift (so it still opens)."""
    with Workspace.open(path, read_only=True) as ws:
        return {table: {tuple(row) for row in ws.con.execute(f'SELECT * FROM "{table}"').fetchall()}
                for table in (*BASE_ROWS, "quarantine")}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, set[tuple[object, ...]]]]:
    """A workspace holding every table's baseline rows, the experiment file, and those rows."""
    directory = tmp_path_factory.mktemp("fuzz")
    workspace = directory / "ws.duckdb"
    experiment = directory / "fz-base.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    runner = CliRunner()
    for table, rows in BASE_ROWS.items():
        path = directory / f"base-{table}.csv"
        path.write_bytes(_csv([list(rows[0])] + [list(row.values()) for row in rows]))
        extra = ["--experiment", str(experiment)] if table == "assignments" else []
        done = runner.invoke(main, ["load", table, str(path), *extra, "-w", str(workspace)])
        assert done.exit_code == 0, done.output
    return workspace, experiment, _rows(workspace)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 150
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_never_a_bug_and_loses_nothing(
    case: Case, loaded: tuple[Path, Path, dict[str, set[tuple[object, ...]]]], tmp_path: Path
) -> None:
    workspace, experiment, baseline = loaded
    file = tmp_path / case.file_name
    file.write_bytes(case.content)
    paths = {"{file}": str(file), "{experiment}": str(experiment), "{out}": str(tmp_path / "out")}
    args = [paths.get(arg, arg) for arg in case.args]
    before = _rows(workspace)
    done = CliRunner().invoke(main, [*args, "-w", str(workspace)])
    output = done.output
    assert done.exit_code != 1, f"{case.name}: {output}"
    assert "bug in threadlift" not in output, output
    if case.valid:
        assert done.exit_code in (0, 3), f"{case.name}: {output}"
    if done.exit_code == 2:
        lines = [line for line in output.splitlines() if line.startswith("Error: ")]
        assert len(lines) == 1, output
    after = _rows(workspace)
    for table, rows in baseline.items():
        assert rows <= after[table], f"{case.name} lost {table} rows"
    if case.args[0] == "load" and done.exit_code == 2:
        assert after == before, f"{case.name}: a failed load changed the workspace"
