"""Platform ingest: raw webhook bodies → raw store → canonical tables.

Modules:

* ``raw`` — reading files of bodies, the append-only raw store deduplicated by hash;
* ``redaction`` — the content no fact needs, taken out of bodies before they are stored;
* ``whatsapp``, ``messenger`` (Messenger and Instagram), ``apple``, ``sms_email`` — one
  mapper per platform, filling candidate rows in SQL;
* ``identity`` — identifiers (E.164 phones, BSUIDs, PSIDs, IGSIDs, Apple opaque ids,
  e-mail addresses) → contacts;
* ``writer`` — candidate rows → canonical rows, idempotent, with provenance for rebuilds.
* ``watermarks`` — Messenger / Instagram delivery and read watermarks → the events they
  imply, recomputed for every thread a call touches, so they do not depend on the calls.

Example:
    >>> from threadlift.workspace import Workspace
    >>> from threadlift.ingest import ingest_files
    >>> ws = Workspace.create("threadlift.duckdb")            # doctest: +SKIP
    >>> ingest_files(ws, "whatsapp", ["webhooks.jsonl"])      # doctest: +SKIP
    IngestResult(platform='whatsapp', files=1, bodies=…, …)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb

from threadlift.engines.sqlfiles import sql_text
from threadlift.errors import InputError
from threadlift.ingest import (
    apple,
    identity,
    messenger,
    raw,
    sms_email,
    watermarks,
    whatsapp,
    writer,
)
from threadlift.loading import parse_delimiter
from threadlift.privacy.pseudonyms import for_workspace
from threadlift.workspace import Workspace

PLATFORMS = ("whatsapp", "messenger", "instagram", "apple", "sms", "email")
"""Platforms ``ingest_files`` understands, in the order a rebuild replays them."""

UnknownIdentity = Literal["create", "quarantine"]

_MAPPERS: dict[str, Callable[[duckdb.DuckDBPyConnection, str], None]] = {
    "whatsapp": lambda con, _platform: whatsapp.derive(con),
    "messenger": messenger.derive,
    "instagram": messenger.derive,
    "apple": lambda con, _platform: apple.derive(con),
    "sms": sms_email.derive,
    "email": sms_email.derive,
}


@dataclass(frozen=True)
class IngestResult:
    """What one ingest (or rebuild) call did.

    Attributes:
        platform: the platform ingested (``"all"`` for a rebuild).
        files: input files read.
        bodies: new bodies appended to the raw store (for a rebuild: bodies replayed).
        duplicates: bodies already in the raw store, or repeated within the call.
        quarantined: rows sent to ``quarantine`` (bad lines, bad items, unknown identities).
        rows: canonical table → rows added.
    """

    platform: str
    files: int
    bodies: int
    duplicates: int
    quarantined: int
    rows: dict[str, int] = field(default_factory=dict)


def ingest_files(
    ws: Workspace,
    platform: str,
    files: Sequence[str | Path],
    *,
    unknown_identity: UnknownIdentity = "create",
    received_at: datetime | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    delimiter: str | None = None,
    keep_content: bool = False,
    key_file: Path | None = None,
) -> IngestResult:
    """Ingest files of raw bodies of one platform into the workspace.

    All files of one call are ingested in one transaction: an error leaves the workspace
    as it was. Bad lines and items go to ``quarantine``; the rest is ingested.

    Args:
        ws: the open workspace.
        platform: one of :data:`PLATFORMS`.
        files: JSON-lines (or JSON) files of webhook bodies; CSV for ``sms`` / ``email``.
        unknown_identity: ``"create"`` a contact for an identifier no contact has, or
            ``"quarantine"`` the rows that need one.
        received_at: when the endpoint received the bodies (default: now), kept in the raw
            store; a timezone-aware value is converted to UTC.
        on_stage: called with a short description as each stage starts (reading a file,
            storing the bodies, mapping them), for progress reporting.
        on_file: called with each file once it is read.
        delimiter: for ``sms`` / ``email``: the CSV delimiter (one character, or
            ``tab``); detected when None.
        keep_content: store bodies as received; by default the content no fact needs
            (message texts, media, profile names…) is redacted first
            (:mod:`threadlift.ingest.redaction`, docs/privacy.md).
        key_file: in a pseudonymised workspace, the key file (else ``$THREADLIFT_KEY_FILE``,
            ``$THREADLIFT_KEY`` or the file recorded at init): addresses are stored as
            tokens (:mod:`threadlift.privacy.pseudonyms`).

    Returns:
        What was read, stored, quarantined and added per canonical table.

    Raises:
        InputError: unknown platform or option, a file that does not exist, a CSV
            (``sms`` / ``email``) that is not UTF-8 or whose delimiter cannot be told, or
            ``keep_content`` in a pseudonymised workspace.
        WorkspaceError: a pseudonymised workspace whose key is missing or another one.
    """
    _check_options(platform, unknown_identity)
    pseudonyms = for_workspace(ws.con, key_file, what="ingest")
    if pseudonyms is not None and keep_content:
        raise InputError(
            "--keep-content stores message texts, which may hold phone numbers and addresses "
            "in clear; a pseudonymised workspace keeps none: drop --keep-content"
        )
    if delimiter is not None and platform not in sms_email.PLATFORMS:
        raise InputError(
            f"a delimiter applies to the CSV logs of {' and '.join(sms_email.PLATFORMS)}; "
            f"{platform} files are JSON (drop --delimiter)"
        )
    given = parse_delimiter(delimiter) if delimiter is not None else None
    stage = on_stage or _quiet
    paths = [Path(f) for f in files]
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file; pass files of {platform} webhook bodies")
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        scratch_before = raw.scratch_objects(con)
        raw.create_staging(con)
        for index, path in enumerate(paths):
            stage(f"reading {path.name}")
            if platform in sms_email.PLATFORMS:
                sms_email.stage_csv(con, path, index, given)
            else:
                raw.stage_json_file(con, path, index, platform)
            if on_file is not None:
                on_file(path)
        stage("storing new bodies")
        bodies, duplicates = raw.store_bodies(
            con, platform, _utc(received_at), keep_content=keep_content, pseudonyms=pseudonyms
        )
        rejected = writer.insert_quarantine(
            con,
            "SELECT source, location, reason, raw, 'raw_bodies' AS target_table "
            "FROM _stage_rejects",
            derived=False,
        )
        stage(f"mapping {platform} bodies to canonical rows")
        rows, quarantined = _derive(con, platform, unknown_identity)
        stage("committing")
        raw.drop_scratch(con, scratch_before)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return IngestResult(platform, len(paths), bodies, duplicates, rejected + quarantined, rows)


def rebuild(
    ws: Workspace,
    *,
    unknown_identity: UnknownIdentity = "create",
    on_stage: Callable[[str], None] | None = None,
) -> IngestResult:
    """Rebuild every row ingest derived from the raw store, replaying it in arrival order.

    Rows ingest added before (tracked in ``ingest_provenance``) are removed first, so rows
    loaded by other means stay untouched and mapping improvements apply to old bodies.
    ``on_stage`` is called with a short description as each platform's replay starts.
    """
    _check_options("whatsapp", unknown_identity)
    stage = on_stage or _quiet
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        scratch_before = raw.scratch_objects(con)
        raw.create_staging(con)
        writer.forget_ingested(con)
        total_rows = dict.fromkeys(writer.TABLES, 0)
        bodies = 0
        quarantined = 0
        platforms = [
            str(p)
            for (p,) in con.execute(
                "SELECT platform FROM raw_bodies GROUP BY platform ORDER BY min(seq)"
            ).fetchall()
        ]
        for platform in platforms:
            stage(f"replaying {platform} bodies")
            raw.select_all_bodies(con, platform)
            count = con.execute("SELECT count(*) FROM _bodies").fetchone()
            bodies += int(count[0]) if count else 0
            rows, q = _derive(con, platform, unknown_identity)
            quarantined += q
            for table, n in rows.items():
                total_rows[table] = total_rows.get(table, 0) + n
        raw.drop_scratch(con, scratch_before)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return IngestResult("all", 0, bodies, 0, quarantined, total_rows)


def _derive(
    con: duckdb.DuckDBPyConnection, platform: str, unknown_identity: str
) -> tuple[dict[str, int], int]:
    con.execute(sql_text("ingest/candidates"))
    _MAPPERS[platform](con, platform)
    identity.resolve(con, unknown_identity)
    rows, quarantined = writer.write(con)
    rows["message_events"] += watermarks.write(con, platform)
    return rows, quarantined


def _quiet(_description: str) -> None:
    """The ``on_stage`` of a caller that shows no progress."""


def _check_options(platform: str, unknown_identity: str) -> None:
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    if unknown_identity not in ("create", "quarantine"):
        raise InputError(
            f"unknown_identity must be 'create' or 'quarantine', not {unknown_identity!r}"
        )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


__all__ = ["PLATFORMS", "IngestResult", "UnknownIdentity", "ingest_files", "rebuild"]
