"""``threadlift load``: canonical rows from CSV, Parquet or JSON lines.

Every file is staged as text, then validated in DuckDB: required columns present,
values castable to the column's type, timestamps normalised to UTC (ISO 8601 with an
offset or ``Z``, naive values taken as UTC, or Unix seconds), numbers finite, no NUL
bytes in text, domain values checked. Each bad row (also a line longer than 2 MiB) goes
to ``quarantine`` with the file, its line (or Parquet row) and the reason; good rows are
inserted unless a row with the same natural key exists, so loading a file twice adds
nothing. All files of one call load in one transaction: an error or a kill leaves the
workspace as it was.

Text files are read as people export them: a UTF-8 byte-order mark (Excel's "CSV UTF-8")
is skipped, and a CSV's delimiter (comma, semicolon, tab or pipe) is detected from its
header and first lines unless given. A file that is not UTF-8 is refused as a whole,
naming the first offending byte and line and the encoding it most likely is: its rows
that fail are the ones with accented names, so keeping the rest would drop contacts of
some markets and not others.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from threadlift.assign.eligibility import LoadSync
from threadlift.errors import InputError
from threadlift.experiment import Experiment
from threadlift.privacy.pseudonyms import Pseudonymiser, for_workspace, is_pseudonymised
from threadlift.workspace import NATURAL_KEYS, Column, Workspace, count_rows, first_row

LOADABLE_TABLES = tuple(NATURAL_KEYS)

DOMAINS: dict[tuple[str, str], tuple[str, ...]] = {
    ("consents", "status"): ("granted", "revoked"),
    ("consents", "scope"): ("marketing", "utility", "authentication", "all"),
    ("feedback", "kind"): ("block", "report", "opt_out"),
    ("sender_quality", "quality_rating"): ("GREEN", "YELLOW", "RED", "UNKNOWN", "NA"),
    ("pricing_rules", "applies"): ("always", "in_service_window"),
    ("pricing_rules", "effect"): ("free", "blocked"),
}
"""Allowed values of columns with a closed vocabulary (docs/architecture.md, "Canonical tables")."""

_MAX_LINE_BYTES = 2 * 1024 * 1024
"""The longest line of a CSV or JSON-lines file (DuckDB's default); a longer one is quarantined."""

_MAX_RAW_CHARS = 64 * 1024
"""How much of a rejected line the quarantine keeps."""

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
"""The delimiters a CSV's header is tried with, and their names."""

_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", **{name: d for d, name in DELIMITERS.items()}}

_SNIFF_LINES = 100
"""Lines after the header that delimiter detection looks at (at most ``_SNIFF_BYTES``)."""

_SNIFF_BYTES = 1024 * 1024

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class FileLoad:
    """What loading one file did."""

    path: str
    rows: int
    inserted: int
    duplicates: int
    quarantined: int
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadResult:
    """What one ``load`` call did, per file."""

    table: str
    files: list[FileLoad] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name (``.gz`` allowed for text)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            f"{path}: unknown file type; use .csv, .parquet or .jsonl/.ndjson (optionally .gz)"
        )
    return fmt


def load_files(
    ws: Workspace,
    table: str,
    paths: Sequence[str | Path],
    *,
    on_file: Callable[[FileLoad], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    experiments: Sequence[Experiment] = (),
    delimiter: str | None = None,
    key_file: Path | None = None,
) -> LoadResult:
    """Load files into a canonical table in one transaction.

    Args:
        ws: The open workspace.
        table: A canonical table name (``contacts``, ``actions``…).
        paths: CSV, Parquet or JSON-lines files.
        on_file: Called after each file (progress reporting).
        on_stage: Called with a short description as each file's reading and checking
            starts (progress reporting).
        experiments: For ``assignments`` (experiments assigned elsewhere): the experiment
            files whose arm names the rows must use.
        delimiter: The CSV delimiter (one character, or ``tab``); detected when None.
        key_file: For ``identities`` in a pseudonymised workspace: the key file (else
            ``$THREADLIFT_KEY_FILE``, ``$THREADLIFT_KEY`` or the file recorded at init);
            addresses are stored as tokens (:mod:`threadlift.privacy.pseudonyms`).

    In a pseudonymised workspace a quarantined row keeps only the table's own columns (an
    ignored column may hold a number), its address as a token, and a line that cannot be
    split into fields keeps no text.

    Raises:
        InputError: unknown table, unreadable file, a file that is not UTF-8, a CSV
            delimiter that cannot be told, or a required column missing.
        WorkspaceError: identities for a pseudonymised workspace whose key is missing or
            another one.
    """
    if table not in LOADABLE_TABLES:
        raise InputError(
            f"cannot load table {table!r}; loadable tables: {', '.join(LOADABLE_TABLES)}"
        )
    if table == "assignments" and not experiments:
        raise InputError(
            "loading assignments needs the experiment file(s) they belong to, so arm names "
            "can be checked: add --experiment EXPERIMENT.toml"
        )
    columns = ws.columns(table)
    pseudonymised = is_pseudonymised(ws.con)
    pseudonyms = (
        for_workspace(ws.con, key_file, what="loading identities")
        if table == "identities" or key_file is not None else None
    )
    files = [Path(p) for p in paths]
    given = parse_delimiter(delimiter) if delimiter is not None else None
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if file_format(path) != "csv" and given is not None:
            raise InputError(
                f"{path}: --delimiter applies to CSV files only; this is a "
                f"{file_format(path)} file (load it in a separate call without --delimiter)"
            )
    result = LoadResult(table=table)
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        for path in files:
            loaded = _load_one(
                con, table, columns, path, experiments, given, on_stage,
                pseudonymised=pseudonymised, pseudonyms=pseudonyms,
            )
            result.files.append(loaded)
            if on_file is not None:
                on_file(loaded)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _load_one(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[Column],
    path: Path,
    experiments: Sequence[Experiment],
    delimiter: str | None,
    on_stage: Callable[[str], None] | None,
    *,
    pseudonymised: bool = False,
    pseudonyms: Pseudonymiser | None = None,
) -> FileLoad:
    fmt = file_format(path)
    source = str(path.resolve())
    if on_stage is not None:
        on_stage(f"reading {path.name}")
    delimiter_note = ""
    if fmt == "csv":
        staged = stage_csv_text(con, path, "_staged", delimiter)
        present, rejects = staged.header, staged.rejects
        delimiter_note = staged.missing_columns_hint()
    else:
        present, rejects = _stage(con, path, fmt)
    wanted = {c.name for c in columns}
    missing = [c.name for c in columns if c.required and c.name not in present]
    if missing:
        raise InputError(
            f"{path}: missing required column {', '.join(repr(m) for m in missing)} for table "
            f"{table} (columns expected: {', '.join(c.name for c in columns)}){delimiter_note}"
        )
    ignored = tuple(sorted(c for c in present if c not in wanted))
    if on_stage is not None:
        on_stage(f"checking {path.name}")
    kept: Sequence[tuple[int, str, str | None]] = (
        [(line, reason, None) for line, reason, _raw in rejects] if pseudonymised else rejects
    )
    _write_rejects(con, table, source, fmt, kept)
    kept_raw = [c for c in present if c in wanted] if pseudonymised else present
    con.execute(_typed_sql(table, columns, present, kept_raw))
    if pseudonyms is not None and table == "identities":
        _pseudonymise_addresses(con, pseudonyms)
    if table == "assignments":
        _check_assignments(con, experiments)
    location_unit = "row" if fmt == "parquet" else "line"
    con.execute(
        """
        INSERT INTO quarantine (source, location, reason, raw, ingested_at, target_table)
        SELECT $source, $unit || ' ' || _line, _reason, _raw, now()::TIMESTAMP, $table
        FROM _typed t
        WHERE _reason IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM quarantine q
            WHERE q.source = $source AND q.location = $unit || ' ' || t._line
              AND q.reason = t._reason AND q.target_table = $table)
        """,
        {"source": source, "unit": location_unit, "table": table},
    )
    counts = first_row(
        con, "SELECT count(*), count(*) FILTER (WHERE _reason IS NOT NULL) FROM _typed"
    )
    assert counts is not None
    rows, bad = int(counts[0]), int(counts[1])
    key = NATURAL_KEYS[table]
    names = ", ".join(f'"{c.name}"' for c in columns)
    key_match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in key)
    key_cols = ", ".join(f'"{k}"' for k in key)
    before = count_rows(con, table)
    eligibility = LoadSync.start(con, table)
    con.execute(
        f"""
        INSERT INTO "{table}" ({names})
        SELECT {names} FROM (
            SELECT * FROM _typed WHERE _reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY {key_cols} ORDER BY _line) = 1
        ) s
        WHERE NOT EXISTS (SELECT 1 FROM "{table}" t WHERE {key_match})
        """
    )
    inserted = count_rows(con, table) - before
    eligibility.finish(con)
    con.execute("DROP TABLE IF EXISTS _staged")
    con.execute("DROP TABLE IF EXISTS _typed")
    return FileLoad(
        path=str(path),
        rows=rows + len(rejects),
        inserted=inserted,
        duplicates=rows - bad - inserted,
        quarantined=bad + len(rejects),
        ignored_columns=ignored,
    )


def _pseudonymise_addresses(con: duckdb.DuckDBPyConnection, pseudonyms: Pseudonymiser) -> None:
    """Addresses of the staged identities (and of their quarantine text) → tokens."""
    pairs = con.execute(
        "SELECT DISTINCT channel, address FROM _typed WHERE address IS NOT NULL"
    ).fetchall()
    if not pairs:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _tokens AS SELECT unnest($channel::VARCHAR[]) AS channel, "
        "unnest($address::VARCHAR[]) AS address, unnest($token::VARCHAR[]) AS token",
        {"channel": [c for c, _a in pairs], "address": [a for _c, a in pairs],
         "token": [pseudonyms.address(a, c) for c, a in pairs]},
    )
    con.execute(
        "UPDATE _typed SET address = t.token, "
        "_raw = json_merge_patch(_raw, json_object('address', t.token))::VARCHAR "
        "FROM _tokens AS t WHERE t.address = _typed.address "
        "AND t.channel IS NOT DISTINCT FROM _typed.channel"
    )
    con.execute("DROP TABLE _tokens")


def _check_assignments(con: duckdb.DuckDBPyConnection, experiments: Sequence[Experiment]) -> None:
    """Quarantine assignment rows with unknown experiments, arms or contacts, or duplicates.

    A contact listed more than once for an experiment in one file is ambiguous, so every
    one of its rows is quarantined; a contact already assigned to another arm is too.
    """
    pairs = [(e.id, arm.name) for e in experiments for arm in e.arms]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _known_arms AS "
        "SELECT unnest($ids) AS experiment_id, unnest($arms) AS arm",
        {"ids": [p[0] for p in pairs], "arms": [p[1] for p in pairs]},
    )
    con.execute(
        """
        UPDATE _typed SET _reason = concat_ws('; ', _reason, problem)
        FROM (
            SELECT t._line AS line, concat_ws('; ',
                CASE WHEN t.experiment_id NOT IN (SELECT experiment_id FROM _known_arms)
                     THEN 'unknown experiment ' || t.experiment_id
                          || ' (give its file with --experiment)' END,
                CASE WHEN t.experiment_id IN (SELECT experiment_id FROM _known_arms)
                      AND NOT EXISTS (SELECT 1 FROM _known_arms k
                                      WHERE k.experiment_id = t.experiment_id AND k.arm = t.arm)
                     THEN 'unknown arm ' || t.arm || ' for experiment ' || t.experiment_id
                          || ' (arms: ' || (SELECT string_agg(arm, ', ') FROM _known_arms k
                                            WHERE k.experiment_id = t.experiment_id) || ')' END,
                CASE WHEN NOT EXISTS (SELECT 1 FROM contacts c WHERE c.contact_id = t.contact_id)
                     THEN 'unknown contact ' || t.contact_id || ' (load it into contacts first)' END,
                CASE WHEN count(*) OVER (PARTITION BY t.experiment_id, t.contact_id) > 1
                     THEN 'duplicate contact ' || t.contact_id || ': listed '
                          || count(*) OVER (PARTITION BY t.experiment_id, t.contact_id)
                          || ' times in this file' END,
                CASE WHEN EXISTS (SELECT 1 FROM assignments a
                                  WHERE a.experiment_id = t.experiment_id
                                    AND a.contact_id = t.contact_id AND a.arm <> t.arm)
                     THEN 'contact ' || t.contact_id || ' is already assigned to another arm' END
            ) AS problem
            FROM _typed t
            WHERE t.experiment_id IS NOT NULL AND t.contact_id IS NOT NULL AND t.arm IS NOT NULL
        ) p
        WHERE _typed._line = p.line AND p.problem <> ''
        """
    )
    con.execute("DROP TABLE _known_arms")


def _stage(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str
) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Stage ``path`` as ``_staged`` (all VARCHAR, plus ``_line``); return columns and rejects.

    Rejects are structurally malformed rows (CSV with the wrong number of fields, JSON that
    does not parse): ``(line, reason, raw)``.
    """
    con.execute("DROP TABLE IF EXISTS _staged")
    if fmt == "jsonl":
        return _stage_jsonl(con, path)
    return _stage_parquet(con, path)


@dataclass(frozen=True)
class StagedCsv:
    """A CSV file staged as text by :func:`stage_csv_text`.

    Attributes:
        header: The column names, in file order.
        delimiter: The delimiter the file was read with.
        detected: Whether ``delimiter`` was detected (not given).
        rejects: Rows the reader could not split into the header's fields, or longer than
            2 MiB: ``(line, reason, raw)``, in line order.
    """

    header: list[str]
    delimiter: str
    detected: bool
    rejects: list[tuple[int, str, str]]

    def missing_columns_hint(self) -> str:
        """What to add to a "missing required column" error about this file's header."""
        if len(self.header) != 1:
            if self.detected and self.delimiter != ",":
                return f"; read with the delimiter {_delimiter_name(self.delimiter)}"
            return ""
        separator = _separator_guess(self.header[0])
        if separator is None:
            return f"; the header reads as one column, {self.header[0]!r}"
        return (
            f"; the header reads as one column, {self.header[0]!r}: if its fields are "
            f"separated by {separator!r}, give --delimiter {_shell_quote(separator)}"
        )


def parse_delimiter(text: str) -> str:
    """The delimiter given by the user: one character, or ``tab`` / ``\\t`` for a tab."""
    value = _DELIMITER_ALIASES.get(text.lower(), text)
    if len(value) != 1 or value in {'"', "\r", "\n", "\x00"}:
        raise InputError(
            f"--delimiter {text!r}: give the one character between fields, e.g. "
            "--delimiter ';' or --delimiter tab (not a quote or a line break)"
        )
    return value


def stage_csv_text(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, delimiter: str | None = None
) -> StagedCsv:
    """Stage the CSV ``path`` as the temp table ``table`` (all VARCHAR, plus ``_line``).

    The header is read and checked first (UTF-8, a UTF-8 byte-order mark skipped; names
    DuckDB can stage); the delimiter is ``delimiter`` or detected; every other line is read
    by DuckDB, whose rejects are returned. ``table`` must be a trusted name.

    Raises:
        InputError: the file is not UTF-8 (named by its first bad byte and line), the
            delimiter cannot be told, or the header is unusable.
    """
    header_bytes, sample, complete = _csv_head(path)
    header_text = _decode_header(path, header_bytes)
    chosen = delimiter if delimiter is not None else _detect_delimiter(
        path, header_text, sample, complete
    )
    header = _header_fields(header_text, chosen)
    _check_names(path, header, "column names in the header")
    for reserved in ("_row", "_line"):
        if reserved in header:
            raise InputError(
                f"{path}: the header names a column {reserved!r}, a name threadlift uses for "
                "the line numbers of the rows; rename that column"
            )
    column_types = dict.fromkeys(header, "VARCHAR")
    con.execute(f"DROP TABLE IF EXISTS {table}")
    # parallel = false: read in parallel, a line longer than the reader's buffer (32 MiB)
    # is dropped without a reject row (DuckDB 2.0); read in one pass it is rejected. The
    # read takes about 15 % longer (2 M rows: 2.4 s against 2.1 s).
    _read_text(
        con,
        path,
        "CSV",
        f"""
        CREATE TEMP TABLE {table} AS
        SELECT *, row_number() OVER () AS _row
        FROM read_csv($path, header = true, delim = $delim, quote = '"', escape = '"',
                      auto_detect = false, columns = $columns, store_rejects = true,
                      rejects_table = 'reject_errors', rejects_scan = 'reject_scans',
                      max_line_size = $max_line, parallel = false)
        """,
        {"columns": column_types, "delim": chosen},
    )
    rejects = _text_rejects(con, path, "malformed CSV row")
    # Good rows keep file order; map the k-th good row to its physical line by skipping
    # the header (line 1) and every rejected line before it.
    _assign_lines(con, table, [line for line, _, _ in rejects], first_line=2)
    return StagedCsv(header, chosen, delimiter is None, rejects)


def _open_bytes(path: Path) -> io.BufferedIOBase:
    """``path`` opened for reading bytes, decompressed when its name ends in ``.gz``."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def _csv_head(path: Path) -> tuple[bytes, bytes, bool]:
    """The header row of a CSV file, the lines after it that delimiter detection reads,
    and whether those reach the end of the file (all as bytes).

    Only these are read here; DuckDB reads every line, checking its encoding.
    """
    try:
        with _open_bytes(path) as handle:
            raw = handle.readline(_MAX_LINE_BYTES)
            while raw.count(b'"') % 2 and len(raw) < _MAX_LINE_BYTES:  # a quoted line break
                more = handle.readline(_MAX_LINE_BYTES)
                if not more:
                    break
                raw += more
            sample: list[bytes] = []
            size = 0
            complete = False
            while len(sample) < _SNIFF_LINES and size < _SNIFF_BYTES:
                line = handle.readline(_SNIFF_BYTES)
                if not line:
                    complete = True
                    break
                sample.append(line)
                size += len(line)
    except (OSError, EOFError, zlib.error) as exc:
        if path.suffix.lower() == ".gz":
            raise InputError(
                f"{path} is not a gzip file that can be read ({exc}); recompress it with gzip, "
                "or drop the .gz from its name if it is plain text"
            ) from exc
        raise InputError(f"{path}: cannot be read ({exc})") from exc
    return raw, b"".join(sample), complete


def _decode_header(path: Path, raw: bytes) -> str:
    """The header line as text: UTF-8, with a UTF-8 byte-order mark skipped."""
    if raw.startswith(_UTF16_BOMS):
        raise InputError(
            f"{path}: not UTF-8 (it starts with a UTF-16 byte-order mark, so it is UTF-16 "
            "text): re-save it as UTF-8 (in Excel: Save As > CSV UTF-8)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_utf8_error(path, 1, raw.removeprefix(b"\xef\xbb\xbf")) from None
    if "\x00" in text:
        raise InputError(
            f"{path}: not UTF-8 text: the header row holds NUL bytes (a binary file, or UTF-16 "
            "without a byte-order mark); re-save it as UTF-8 CSV"
        )
    if not text.strip("\r\n"):
        if not text:
            raise InputError(f"{path}: empty file; a CSV needs a header row")
        raise InputError(
            f"{path}: the first line is empty; a CSV starts with its header row (remove the "
            "blank lines before it)"
        )
    return text


def _header_fields(text: str, delimiter: str) -> list[str]:
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [name.strip() for name in header]


def _detect_delimiter(path: Path, header: str, sample: bytes, complete: bool) -> str:
    """The delimiter of a CSV file, from its header and first lines.

    A candidate (comma, semicolon, tab, pipe) must split the header into several names;
    when more than one does, the one that splits every sampled line into as many fields
    as the header wins. A header no candidate splits is one column (read with commas).
    """
    widths = {d: len(_header_fields(header, d)) for d in DELIMITERS}
    splitting = {d: width for d, width in widths.items() if width > 1}
    if len(splitting) <= 1:
        return next(iter(splitting), ",")
    text = sample.decode("utf-8", errors="replace")
    consistent = [d for d, width in splitting.items() if _splits_evenly(text, d, width, complete)]
    if len(consistent) == 1:
        return consistent[0]
    names = [_delimiter_name(d) for d in (consistent or splitting)]
    named = ", ".join(names[:-1]) + " and " + names[-1]
    example = _shell_quote(next(iter(consistent or splitting)))
    raise InputError(
        f"{path}: cannot tell the delimiter: the header splits on {named}"
        + (", and each splits the first lines evenly" if consistent else
           ", and none splits the first lines into as many fields as the header")
        + f"; give it, e.g. --delimiter {example}"
    )


def _splits_evenly(text: str, delimiter: str, width: int, complete: bool) -> bool:
    """Whether every record of ``text`` has ``width`` fields (blank lines aside)."""
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not complete and records:
        records.pop()  # the sample may end inside the last record
    return all(len(r) == width for r in records if r)


def _delimiter_name(delimiter: str) -> str:
    name = DELIMITERS.get(delimiter)
    return f"{name} ({delimiter!r})" if name else repr(delimiter)


def _shell_quote(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else "'" + delimiter.replace("'", "'\\''") + "'"


def _separator_guess(name: str) -> str | None:
    """The punctuation that most likely separates fields in a header read as one name."""
    counts = Counter(c for c in name if not c.isalnum() and c not in "_- \"'")
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def not_utf8_error(path: Path, line: int, raw: bytes, *, more_lines: int = 0) -> InputError:
    """The error for a file that is not UTF-8, from its first offending line ``raw``.

    Names the byte and line, and the encoding the line most likely is: Latin-1 or
    Windows-1252 when it decodes as such into letters and common symbols, UTF-16 when it
    holds NUL bytes; otherwise it says the encoding is not recognised.
    """
    try:
        raw.decode("utf-8")
        at = ""
    except UnicodeDecodeError as exc:
        at = f"byte 0x{raw[exc.start]:02X} at line {line}"
    if more_lines:
        at += f", and {more_lines:,} more line{'s' if more_lines > 1 else ''}"
    guess = _encoding_guess(raw)
    fix = "re-save it as UTF-8" + (
        " (in Excel: Save As > CSV UTF-8)" if ".csv" in map(str.lower, path.suffixes) else ""
    )
    if guess is None:
        found = "encoding not recognised"
    elif guess[0] == "UTF-16":
        found = "found UTF-16?"
    else:
        name, text = guess
        found = f"found {name}? line {line} would read {text!r}"
        stem, dot, suffixes = path.name.partition(".")
        converted = f"{stem}-utf8{dot}{suffixes}"
        if path.suffix.lower() == ".gz":
            fix += f", or convert it: gunzip -c {path.name} | iconv -f CP1252 -t UTF-8 | gzip > {converted}"
        else:
            fix += f", or convert it: iconv -f CP1252 -t UTF-8 {path.name} > {converted}"
    return InputError(f"{path}: not UTF-8 ({at}; {found}): {fix}")


def _encoding_guess(raw: bytes) -> tuple[str, str] | None:
    """(name, the line decoded) of the encoding ``raw`` most likely is.

    Windows-1252 decodes every Latin-1 text the same way but for the bytes 0x80-0x9F
    (control characters in Latin-1, letters and quotes in Windows-1252), so it converts
    both; the name says which one the bytes point to.
    """
    if b"\x00" in raw:
        return ("UTF-16", "")
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        return None
    foreign = [c for c in text if ord(c) > 127]
    if not all(c.isalpha() or c in _LATIN_SYMBOLS for c in foreign):
        return None
    shown = text.strip("\r\n")
    if len(shown) > 60:
        first = next(i for i, c in enumerate(shown) if ord(c) > 127)
        shown = shown[max(0, first - 30):first + 30]
    if any(0x80 <= b <= 0x9F for b in raw):
        return ("Windows-1252", shown)
    return ("Latin-1", shown)


_LATIN_SYMBOLS = frozenset("€£¥¢§°ºª«»“”‘’‚„–—…·•×÷¿¡©®™±²³µ¶¹¼½¾\xa0")
"""Non-letters a Latin-1 / Windows-1252 text commonly holds (names, prices, quotes)."""


def _line_bytes(path: Path, line: int) -> bytes:
    """Physical line ``line`` (from 1) of ``path``, as bytes; read only on an error."""
    with _open_bytes(path) as handle:
        return next(itertools.islice(handle, line - 1, line), b"")


def _check_names(path: Path, names: Sequence[str], what: str) -> None:
    """Refuse column names DuckDB cannot stage: empty, holding NUL, or equal but for case."""
    for position, name in enumerate(names, start=1):
        if not name:
            raise InputError(
                f"{path}: column {position} of the header has no name; name it or remove it"
                if what.endswith("header") else f"{path}: {what} include an empty name; name it or remove it"
            )
        if "\x00" in name:
            raise InputError(f"{path}: {what}: {name!r} holds a NUL byte; rename it")
    if len(set(names)) != len(names):
        raise InputError(f"{path}: repeated {what}: {list(names)}")
    by_folded: dict[str, str] = {}
    for name in names:
        other = by_folded.setdefault(name.casefold(), name)
        if other != name:
            raise InputError(
                f"{path}: {what} {other!r} and {name!r} differ only by case, which DuckDB "
                "cannot tell apart; rename or remove one"
            )


def _read_text(
    con: duckdb.DuckDBPyConnection, path: Path, what: str, sql: str, params: dict[str, Any]
) -> None:
    """Run a ``read_csv`` of ``path`` (``what`` it should hold) that stores its rejects.

    Rows the reader can delimit but not read go to ``reject_errors``; a file it cannot
    split into lines, or a .gz that does not decompress, is an :class:`InputError`.
    """
    con.execute("DROP TABLE IF EXISTS reject_errors")
    con.execute("DROP TABLE IF EXISTS reject_scans")
    try:
        con.execute(sql, {"path": str(path), "max_line": _MAX_LINE_BYTES, **params})
    except duckdb.IOException as exc:
        raise InputError(
            f"{path}: cannot be read ({str(exc).splitlines()[0]}); if it is compressed, check "
            "that it is a complete gzip file"
        ) from exc
    except duckdb.InvalidInputException as exc:
        # what the reader cannot split into lines at all (binary data, stray carriage returns)
        raise InputError(
            f"{path}: cannot be read as lines of {what} ({str(exc).splitlines()[0]}); "
            "save it as UTF-8 text with one kind of line ending (\\n or \\r\\n)"
        ) from exc


def _text_rejects(
    con: duckdb.DuckDBPyConnection, path: Path, malformed: str
) -> list[tuple[int, str, str]]:
    """The lines DuckDB's reader rejected, one ``(line, reason, raw)`` per line, in order.

    Raises:
        InputError: a line is not UTF-8 (see :func:`refuse_not_utf8`).
    """
    refuse_not_utf8(con, path)
    rejects: list[tuple[int, str, str]] = []
    for reject in reader_rejects(con):
        if reject.kind == "LINE SIZE OVER MAXIMUM":
            reason = f"line longer than {_MAX_LINE_BYTES // 2**20} MiB: {reject.message}"
        else:
            reason = f"{malformed} ({reject.kind.lower()}): {reject.message}"
        rejects.append((reject.line, reason, reject.raw))
    return rejects


@dataclass(frozen=True)
class Reject:
    """A line DuckDB's CSV reader rejected (its first error), from ``reject_errors``."""

    line: int
    kind: str
    message: str
    raw: str


def reader_rejects(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    """The lines the last ``read_csv(..., store_rejects = true)`` rejected, in line order.

    One per line (its first error); ``raw`` is the line as DuckDB shows it (bytes that are
    not UTF-8 replaced), cut to 64 KiB. ``kind`` is DuckDB's error type: ``INVALID
    ENCODING``, ``LINE SIZE OVER MAXIMUM``, ``TOO MANY COLUMNS``…
    """
    seen: dict[int, Reject] = {}
    for line, error_type, message, raw in con.execute(
        "SELECT line, error_type, error_message, csv_line FROM reject_errors ORDER BY line"
    ).fetchall():
        if int(line) not in seen:
            seen[int(line)] = Reject(
                int(line), str(error_type), str(message), str(raw).strip("\r\n")[:_MAX_RAW_CHARS]
            )
    return sorted(seen.values(), key=lambda r: r.line)


def refuse_not_utf8(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise :func:`not_utf8_error` if DuckDB's last read of ``path`` (its ``reject_errors``
    table) met a line that is not UTF-8; the whole file is refused, not those lines.

    Raises:
        InputError: naming the first such line, its first bad byte and the likely encoding.
    """
    found = first_row(
        con,
        "SELECT min(line), count(DISTINCT line) FROM reject_errors "
        "WHERE error_type = 'INVALID ENCODING'",
    )
    if found is None or found[0] is None:
        return
    line, count = int(found[0]), int(found[1])
    raise not_utf8_error(path, line, _line_bytes(path, line), more_lines=count - 1)


def _assign_lines(
    con: duckdb.DuckDBPyConnection, table: str, rejected_lines: list[int], *, first_line: int
) -> None:
    """Physical line (``_line``) of each good row of ``table``, numbered ``_row`` in file order.

    Good rows keep file order, so the k-th good row sits on the k-th line (from
    ``first_line``) that is not a rejected line. ``table`` must be a trusted name.
    """
    con.execute(f"ALTER TABLE {table} ADD COLUMN _line BIGINT")
    if not rejected_lines:
        con.execute(f"UPDATE {table} SET _line = _row + $offset", {"offset": first_line - 1})
        return
    con.execute(
        f"""
        UPDATE {table} SET _line = m.line FROM (
            SELECT line, row_number() OVER (ORDER BY line) AS r
            FROM (SELECT unnest(generate_series($first,
                                                (SELECT count(*) FROM {table}) + $n + $first - 1)) AS line)
            WHERE NOT list_contains($lines, line)
        ) m WHERE {table}._row = m.r
        """,
        {"lines": rejected_lines, "n": len(rejected_lines), "first": first_line},
    )


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path
) -> tuple[list[str], list[tuple[int, str, str]]]:
    # parallel = false for the reason given in stage_csv_text
    _read_text(
        con,
        path,
        "JSON",
        """
        CREATE TEMP TABLE _lines AS
        SELECT row_number() OVER () AS _row, line AS _text
        FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '',
                      escape = '', header = false, auto_detect = false, store_rejects = true,
                      rejects_table = 'reject_errors', rejects_scan = 'reject_scans',
                      max_line_size = $max_line, parallel = false)
        """,
        {},
    )
    unread = _text_rejects(con, path, "malformed JSON line")
    _assign_lines(con, "_lines", [line for line, _, _ in unread], first_line=1)
    rejects = unread + [
        (int(line), "malformed JSON line: not a JSON object", str(text)[:_MAX_RAW_CHARS])
        for line, text in con.execute(
            """
            SELECT _line, _text FROM _lines
            WHERE _text IS NOT NULL AND trim(_text) <> ''
              AND NOT (json_valid(_text) AND starts_with(ltrim(_text), '{'))
            ORDER BY _line
            """
        ).fetchall()
    ]
    keys_row = first_row(
        con,
        """
        SELECT list_sort(list_distinct(flatten(list(json_keys(_text::JSON))))) FROM _lines
        WHERE _text IS NOT NULL AND json_valid(_text) AND starts_with(ltrim(_text), '{')
        """,
    )
    keys: list[str] = list(keys_row[0]) if keys_row and keys_row[0] else []
    if not keys and rejects:
        line, reason, _ = min(rejects)
        raise InputError(
            f"{path}: no line is a JSON object (line {line}: {reason}); a JSON-lines file holds "
            'one object per line, e.g. {"contact_id": "c1", "market": "BR"}'
        )
    _check_names(path, keys, "keys")
    selects = ", ".join(
        f"json_extract_string(_text::JSON, {_sql_string('$.' + json.dumps(k))}) AS {_ident(k)}"
        for k in keys
    )
    con.execute(
        f"""
        CREATE TEMP TABLE _staged AS
        SELECT {selects + "," if selects else ""} _line FROM _lines
        WHERE _text IS NOT NULL AND json_valid(_text) AND starts_with(ltrim(_text), '{{')
        """
    )
    con.execute("DROP TABLE _lines")
    return keys, sorted(rejects)


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path
) -> tuple[list[str], list[tuple[int, str, str]]]:
    described = _read_parquet(
        con, path, "DESCRIBE SELECT * FROM read_parquet($path)"
    )
    names = [str(row[0]) for row in described]
    _check_names(path, names, "column names")
    if "file_row_number" in names:
        raise InputError(
            f"{path}: 'file_row_number' is a name DuckDB reserves for the row number it adds; "
            "rename that column"
        )
    casts = ", ".join(f"CAST({_ident(n)} AS VARCHAR) AS {_ident(n)}" for n in names)
    _read_parquet(
        con,
        path,
        f"""
        CREATE TEMP TABLE _staged AS
        SELECT {casts}, file_row_number + 1 AS _line
        FROM read_parquet($path, file_row_number = true)
        """,
    )
    return names, []


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` over ``read_parquet($path)``; a file DuckDB cannot read is an InputError.

    A corrupt file fails with InvalidInputException or IOException, or, from the Thrift
    decoder of its metadata and page headers, with DuckDB's base ``Error`` class; other
    DuckDB errors are not the file's fault and pass through.
    """
    try:
        return con.execute(sql, {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        if type(exc) not in (duckdb.Error, duckdb.InvalidInputException, duckdb.IOException):
            raise
        raise InputError(
            f"{path}: not a Parquet file DuckDB can read ({str(exc).splitlines()[0]}); write it "
            "again (pandas to_parquet, pyarrow), or give the rows as CSV or JSON lines"
        ) from exc


def _write_rejects(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    fmt: str,
    rejects: Sequence[tuple[int, str, str | None]],
) -> None:
    if not rejects:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE _rejects (line BIGINT, reason VARCHAR, raw VARCHAR)")
    con.executemany("INSERT INTO _rejects VALUES (?, ?, ?)", rejects)
    con.execute(
        """
        INSERT INTO quarantine (source, location, reason, raw, ingested_at, target_table)
        SELECT $source, 'line ' || line, reason, raw, now()::TIMESTAMP, $table FROM _rejects r
        WHERE NOT EXISTS (
            SELECT 1 FROM quarantine q WHERE q.source = $source
              AND q.location = 'line ' || r.line AND q.reason = r.reason
              AND q.target_table = $table)
        """,
        {"source": source, "table": table},
    )
    con.execute("DROP TABLE _rejects")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed_sql(
    table: str, columns: list[Column], present: list[str], raw_columns: list[str]
) -> str:
    """SQL creating ``_typed``: each column cast to its type, plus ``_reason`` and ``_raw``
    (the row's ``raw_columns`` as JSON)."""
    selects: list[str] = []
    reasons: list[str] = []
    for column in columns:
        if column.name in present:
            text = f"NULLIF(trim({_ident(column.name)}), '')"
        else:
            text = "CAST(NULL AS VARCHAR)"
        typed = _cast(text, column.type)
        selects.append(f"{typed} AS {_ident(column.name)}")
        label = _sql_string(column.name)
        reasons.append(
            f"CASE WHEN strpos({text}, chr(0)) > 0 THEN 'NUL byte in column ' || {label} "
            "|| ' (a text value may not hold one; remove it)' END"
        )
        if column.required:
            reasons.append(
                f"CASE WHEN {text} IS NULL THEN 'missing value for required column ' || {label} END"
            )
        if column.type != "VARCHAR":
            reasons.append(
                f"CASE WHEN {text} IS NOT NULL AND {typed} IS NULL THEN "
                f"'bad {column.type} in column ' || {label} || ': ' || {text} END"
            )
        if column.type == "DOUBLE":
            reasons.append(
                f"CASE WHEN NOT isfinite({typed}) THEN 'non-finite DOUBLE in column ' || {label} "
                f"|| ': ' || {text} || ' (give a finite number, or leave it empty)' END"
            )
        allowed = DOMAINS.get((table, column.name))
        if allowed:
            values = ", ".join(_sql_string(v) for v in allowed)
            reasons.append(
                f"CASE WHEN {text} IS NOT NULL AND {text} NOT IN ({values}) THEN "
                f"'unknown value in column ' || {label} || ': ' || {text} || "
                f"' (allowed: {', '.join(allowed)})' END"
            )
    raw_fields = ", ".join(f"{_sql_string(n)}: {_ident(n)}" for n in raw_columns) or "'empty': NULL"
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    return f"""
        CREATE TEMP TABLE _typed AS
        SELECT {", ".join(selects)}, {reason} AS _reason,
               to_json({{{raw_fields}}})::VARCHAR AS _raw, _line
        FROM _staged
    """


def _cast(text: str, dtype: str) -> str:
    if dtype.startswith("TIMESTAMP"):
        return (
            f"CASE WHEN regexp_full_match({text}, '-?[0-9]{{9,11}}(\\.[0-9]+)?') "
            f"THEN make_timestamp(CAST(TRY_CAST({text} AS DOUBLE) * 1000000 AS BIGINT)) "
            f"ELSE CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP) END"
        )
    return f"TRY_CAST({text} AS {dtype})"
