"""The raw store: every webhook body kept append-only, deduplicated by content hash.

Platforms retry deliveries for days and offer no history API, so what the endpoint
logged is the system of record. Files are read into the staging table ``_checked``
(source, location, order, body, md5, why it cannot be stored) and the new bodies are then
appended to ``raw_bodies``; bodies already stored (same platform, same md5 of the body
text) or repeated within the call are counted as duplicates and dropped. The bodies are
copied once, from the file into ``_checked``: the first occurrences are picked on the
narrow (md5, order) pairs and joined back in the ``_bodies`` view.

Accepted file layouts (checked in this order):

* JSON lines: one document per line (the fast path, read and validated by DuckDB); a
  line holding a JSON array contributes each element.
* one JSON document spread over several lines: an array of bodies, a single body, or an
  object mapping scenario names to bodies (the layout of SDK test fixtures);
  concatenated documents are read one after the other.

A line that is not UTF-8 text (read with DuckDB's rejects, as ``threadlift load`` reads a
file), a line that is not JSON, a document that is not an object, a body that still holds
``<PLACEHOLDER>`` values or that is not a webhook of the platform goes to
``quarantine`` with its file, line and reason; the rest of the file is ingested.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from threadlift.engines.sqlfiles import quote_identifier, sql_text
from threadlift.errors import InputError
from threadlift.ingest import redaction
from threadlift.loading import reader_rejects
from threadlift.privacy.pseudonyms import Pseudonymiser, pseudonymise_staged

_PYTHON_FALLBACK_MAX_BYTES = 256 * 1024 * 1024
"""Files read document by document in Python (not JSON lines) must fit in memory."""

_MAX_LINE = 16 * 1024 * 1024
"""The longest line a JSON-lines file may have (bytes), and the reader's buffer size.
Webhook bodies are kilobytes; 16 MiB buffers read a 400 MB file in 0.3 s on two threads,
where 64 MiB ones took 0.45 s (fewer buffers to share out)."""


def scratch_objects(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[str, str]]:
    """The temporary tables and views of the connection, as (kind, name) pairs."""
    rows = con.execute(
        "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    return frozenset((str(kind), str(name)) for kind, name in rows)


def drop_scratch(con: duckdb.DuckDBPyConnection, before: frozenset[tuple[str, str]]) -> None:
    """Drop the temporary tables and views made since ``before``, inside the transaction.

    Scratch tables created in a transaction are copied into the temporary database when it
    commits (about 0.7 s for the staging tables of a million bodies); dropped first, they
    are simply discarded.
    """
    for kind, name in sorted(scratch_objects(con) - before, reverse=True):
        con.execute(f"DROP {kind} IF EXISTS {quote_identifier(name, {name})}")


def create_staging(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the empty staging tables, the body checks and the WhatsApp parse."""
    con.execute(sql_text("ingest/wa_macros"))
    con.execute(sql_text("ingest/staging"))


def stage_json_file(
    con: duckdb.DuckDBPyConnection, path: Path, file_index: int, platform: str
) -> None:
    """Stage the JSON documents of ``path``.

    JSON lines are read into ``_lines``, then hashed and checked into ``_checked``; other layouts
    are read in Python into ``_staged`` (checked by :func:`store_bodies`), with documents
    that do not parse in ``_stage_rejects``.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass files of webhook bodies (JSON lines)")
    first = _first_line(path)
    if first is None:
        return
    if not _is_json(first):
        _stage_documents_in_python(con, path, file_index)
        return
    if _is_utf8(path):
        _read_lines(con, path)
    else:
        _read_lines_quarantining_bad_encoding(con, path)
    first, last, count = con.execute("SELECT min(rowid), max(rowid), count(*) FROM _lines").fetchall()[0]
    if count and last - first + 1 != count:
        raise RuntimeError(
            f"{path}: DuckDB numbered the {count} lines it read from {first} to {last}, not densely; "
            "the line numbers of this file cannot be derived from row ids (a threadlift bug to report)"
        )
    con.execute(
        sql_text("ingest/stage_json_lines"),
        {"path": str(path), "file": file_index, "platform": platform},
    )
    con.execute("DROP TABLE _lines")


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Read ``path``, known to be UTF-8, into the temp table ``_lines``, one row per line,
    in file order, on every thread."""
    try:
        con.execute(
            sql_text("ingest/read_lines"),
            {"path": str(path), "max_line_size": _MAX_LINE, "with_rejects": False},
        )
    except duckdb.InvalidInputException as exc:
        message = str(exc)
        too_long = re.search(r"Line: (\d+).*Maximum line size .*Actual Size: ?(\d+)", message, re.S)
        if too_long is not None:
            raise _line_too_long(path, int(too_long.group(1)), int(too_long.group(2))) from exc
        raise InputError(
            f"{path}: cannot be read as lines of UTF-8 text ({message.splitlines()[0]}); "
            "webhook bodies are JSON, one document per line"
        ) from exc


def _line_too_long(path: Path, line: int, size: int) -> InputError:
    return InputError(
        f"{path}: line {line} is {size:,} bytes, longer than the {_MAX_LINE // 2**20} MiB a "
        "line may have; write one webhook body per line"
    )


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8 text.

    Checked before DuckDB reads it, to choose how: a reader error aborts the ingest's
    transaction, so a file with a bad byte must be read with rejects stored, and that
    read runs on one thread (the parallel one drops a line longer than its buffer without
    a reject row). ASCII chunks (most webhook traffic) skip the decoder; 400 MB take
    about 0.1 s.
    """
    chunk = bytearray(_MAX_LINE)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb", buffering=0) as handle:
            while size := handle.readinto(chunk):
                data = memoryview(chunk)[:size]
                if not decoder.getstate()[0] and (chunk if size == len(chunk) else chunk[:size]).isascii():
                    continue
                decoder.decode(data)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_lines_quarantining_bad_encoding(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Read ``path`` into ``_lines`` with DuckDB's rejects, as ``threadlift load`` reads a
    file (:func:`threadlift.loading.reader_rejects`): a line that is not UTF-8 goes to
    ``_stage_rejects`` and stays in ``_lines`` as NULL, so every other line keeps its number.

    Webhook logs are written by a program, one body per line, so a bad line is a damaged
    body and the rest of the file is good (a CSV people export is refused whole instead:
    see :mod:`threadlift.loading`).
    """
    con.execute("DROP TABLE IF EXISTS reject_errors")
    con.execute("DROP TABLE IF EXISTS reject_scans")
    con.execute(
        sql_text("ingest/read_lines"),
        {"path": str(path), "max_line_size": _MAX_LINE, "with_rejects": True},
    )
    rejects = reader_rejects(con)
    for reject in rejects:
        if reject.kind == "LINE SIZE OVER MAXIMUM":
            size = re.search(r"Actual Size: ?(\d+)", reject.message)
            raise _line_too_long(path, reject.line, int(size.group(1)) if size else len(reject.raw))
        if reject.kind != "INVALID ENCODING":
            raise RuntimeError(
                f"{path}: line {reject.line}: DuckDB's line reader rejected it ({reject.kind}: "
                f"{reject.message}), which it should not for lines of text (a threadlift bug "
                "to report)"
            )
    con.execute(sql_text("ingest/lines_with_gaps"), {"rejected": [r.line for r in rejects]})
    con.executemany(
        "INSERT INTO _stage_rejects VALUES (?, ?, ?, ?)",
        [(str(path), f"line {r.line}", "not UTF-8 text (save the file as UTF-8)", r.raw)
         for r in rejects],
    )


def _first_line(path: Path) -> str | None:
    """The first non-blank line of the file (None for an empty file)."""
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.strip():
                return line
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    except RecursionError:
        return True  # JSON nested deeper than Python parses; DuckDB checks each line
    return True


def _stage_documents_in_python(con: duckdb.DuckDBPyConnection, path: Path, file_index: int) -> None:
    """Read a pretty-printed (or concatenated) JSON file document by document."""
    if path.stat().st_size > _PYTHON_FALLBACK_MAX_BYTES:
        raise InputError(
            f"{path}: larger than {_PYTHON_FALLBACK_MAX_BYTES // 2**20} MiB and not JSON lines; "
            "write one JSON document per line"
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    staged: list[tuple[str, str, int, int, str]] = []
    rejects: list[tuple[str, str, str, str]] = []
    source = str(path)
    for ordinal, (line, document, error) in enumerate(_documents(text)):
        if error is not None:
            rejects.append((source, f"line {line}", error, document))
            continue
        for sub, (suffix, body) in enumerate(_bodies_of(json.loads(document))):
            staged.append((source, f"line {line}{suffix}", file_index * 10**9 + ordinal, sub, body))
    if staged:
        con.executemany("INSERT INTO _staged VALUES (?, ?, ?, ?, ?)", staged)
    if rejects:
        con.executemany("INSERT INTO _stage_rejects VALUES (?, ?, ?, ?)", rejects)


def _documents(text: str) -> Iterator[tuple[int, str, str | None]]:
    """Yield (first line, document text, error) for each JSON document in ``text``."""
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        line = text.count("\n", 0, position) + 1
        try:
            _, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            rest = text[position:]
            yield line, rest[:10000], f"malformed JSON: {exc.msg} (line {exc.lineno} of the file)"
            return
        except RecursionError:
            yield line, text[position:position + 10000], "malformed JSON: nested too deeply to read"
            return
        yield line, text[position:end], None
        position = end


def _bodies_of(document: object) -> Iterator[tuple[str, str]]:
    """Split one parsed document into (location suffix, body JSON) pairs."""
    if isinstance(document, list):
        for index, element in enumerate(document):
            yield f" [{index}]", _compact(element)
    elif isinstance(document, dict) and _is_named_collection(document):
        for name, element in document.items():
            yield f" #{name}", _compact(element)
    else:
        yield "", _compact(document)


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_named_collection(document: dict[str, object]) -> bool:
    """An object mapping scenario names to webhook bodies (SDK fixture files)."""
    return (
        bool(document)
        and not {"object", "entry", "direction", "headers"} & document.keys()
        and all(isinstance(v, dict) and "object" in v for v in document.values())
    )


def store_bodies(
    con: duckdb.DuckDBPyConnection, platform: str, received_at: datetime | None,
    *, keep_content: bool = False, pseudonyms: Pseudonymiser | None = None,
) -> tuple[int, int]:
    """Check what is still unchecked and append the new bodies to ``raw_bodies``.

    Returns (new bodies, duplicates). Leaves the new bodies in the temp view ``_bodies`` and
    adds the rejected ones to ``_stage_rejects``. Unless ``keep_content``, good bodies are
    redacted (:mod:`threadlift.ingest.redaction`) after hashing, before they are stored;
    with ``pseudonyms`` (a pseudonymised workspace) their addresses become tokens too, and
    rejected bodies and lines keep no text (:func:`threadlift.privacy.pseudonyms.pseudonymise_staged`).
    """
    in_order = con.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM _staged) AND NOT EXISTS (SELECT 1 FROM _checked WHERE split)"
    ).fetchall()[0][0]
    con.execute(sql_text("ingest/check_staged"), {"platform": platform})
    con.execute("DELETE FROM _checked WHERE split")
    if not keep_content:
        redaction.redact_staged(con, platform)
    if pseudonyms is not None:
        pseudonymise_staged(con, platform, pseudonyms)
    con.execute(
        "INSERT INTO _stage_rejects SELECT source, location, reason, body "
        "FROM _checked WHERE reason IS NOT NULL"
    )
    params = {"platform": platform, "received_at": received_at}
    if in_order:
        con.execute(sql_text("ingest/all_new"), params)
        good, all_new = con.execute("SELECT good, all_new FROM _all_new").fetchall()[0]
        if all_new:
            # every good body new and in arrival order: the bodies are _checked itself, with
            # no first-occurrence table to build and no join
            con.execute(sql_text("ingest/bodies_in_order"))
            con.execute(sql_text("ingest/insert_raw_bodies"))
            return int(good), 0
    con.execute(sql_text("ingest/new_bodies"), params)
    new, good = con.execute(
        "SELECT (SELECT count(*) FROM _keep), (SELECT count(*) FROM _checked WHERE reason IS NULL)"
    ).fetchall()[0]
    con.execute(sql_text("ingest/bodies"))
    con.execute(sql_text("ingest/insert_raw_bodies"))
    return int(new), int(good) - int(new)


def select_all_bodies(con: duckdb.DuckDBPyConnection, platform: str) -> None:
    """Put every stored body of ``platform`` into ``_bodies`` (for a rebuild).

    ``wa`` is NULL: the mapper parses every body (its general path), which the ingest
    of status-only bodies skips; a rebuild thus also checks that both paths agree.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bodies AS SELECT platform, body_hash, received_at, "
        "source, location, body, seq, (SELECT wa FROM _checked LIMIT 0) AS wa "
        "FROM raw_bodies WHERE platform = $platform ORDER BY seq",
        {"platform": platform},
    )
