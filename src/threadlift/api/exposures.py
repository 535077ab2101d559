"""The durable exposure log and its path into the workspace's ``exposures`` table.

``POST /v1/exposures`` writes to ``<state_dir>/exposures.sqlite3``, a SQLite database in
WAL mode with ``synchronous = FULL``: a commit returns only after the log is fsynced, and
the API answers 2xx only after the commit. So an acknowledged exposure survives a
``kill -9`` of the server (and a power cut). SQLite serialises the writers of all worker
processes and its primary key makes the log idempotent by ``exposure_id``: sending the
same exposure again is a ``duplicate``; reusing an id for a different exposure is a
conflict and nothing of that request is written.

The workspace cannot be written by the server (``threadlift load`` may hold it), so
exposures reach it by :func:`import_exposures` (``threadlift exposures import``), which
adds the log's rows whose ``exposure_id`` the ``exposures`` table does not hold yet;
running it again adds nothing.

An exposure that contradicts the contact's assignment (:func:`mismatch`) is recorded all
the same, since the send it reports has happened and the report must see it, and its
answer names the mismatch; the report raises an ``exposure_mismatch`` alert
(``threadlift.analysis.exposure``, which applies the same rules to every exposure,
imported or loaded from a file).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import pyarrow as pa

from threadlift.engines.sqlfiles import sql_text
from threadlift.errors import InputError, WorkspaceError
from threadlift.workspace import Workspace

if TYPE_CHECKING:
    from threadlift.assign.assignment import ContactStatus

LOG_NAME = "exposures.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exposures (
    exposure_id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    arm TEXT,
    ts TEXT NOT NULL,           -- ISO 8601, UTC, no offset
    source TEXT NOT NULL,
    digest TEXT NOT NULL,       -- sha256 of the fields above but exposure_id
    received_at TEXT NOT NULL
)
"""


COUNTERFACTUAL = "counterfactual"
"""The ``source`` of a would-be send logged for a holdout contact instead of sending it."""

Mismatch = Literal["not_assigned", "wrong_arm", "counterfactual_in_treatment", "sent_to_holdout"]
"""How an exposure contradicts the assignment, in the order the rules are tested (the same
kinds and order as ``sql/analysis/exposure/exposures.sql``)."""

MISMATCHES: tuple[str, ...] = get_args(Mismatch)


def mismatch(status: ContactStatus, arm: str | None, source: str) -> tuple[Mismatch, str] | None:
    """How an exposure of ``arm`` from ``source`` contradicts the contact's ``status``, and
    what to do about it; ``None`` when it matches.

    Examples:
        >>> from threadlift.assign.assignment import ContactStatus
        >>> held = ContactStatus("e", "c1", 7, True, True, None, "holdout", True, None)
        >>> mismatch(held, "holdout", "counterfactual") is None
        True
        >>> mismatch(held, "holdout", "crm")[0]
        'sent_to_holdout'
    """
    where = f"contact {status.contact_id!r} of {status.experiment_id}"
    if status.arm is None:
        return "not_assigned", (
            f"{where} is not in the experiment ({status.reason or 'not eligible'}); send only "
            "to contacts the assignment API puts in a treatment arm"
        )
    if arm is not None and arm != status.arm:
        return "wrong_arm", (
            f"{where} is in arm {status.arm!r}, not {arm!r}; act on the arm the assignment "
            "API answers"
        )
    counterfactual = source == COUNTERFACTUAL
    if counterfactual and not status.holdout:
        return "counterfactual_in_treatment", (
            f"{where} is in treatment arm {status.arm!r}: a counterfactual (would-be) "
            "exposure is for holdout contacts only; log its real send instead"
        )
    if not counterfactual and status.holdout:
        return "sent_to_holdout", (
            f"{where} is in the holdout {status.arm!r}, which is never sent to; log its "
            f'would-be send with source "{COUNTERFACTUAL}" instead of sending'
        )
    return None


class ExposureConflictError(InputError):
    """An exposure id was sent before with different content."""


@dataclass(frozen=True)
class Exposure:
    """One exposure: the sending system acted on a contact's arm."""

    exposure_id: str
    experiment_id: str
    contact_id: str
    arm: str | None
    ts: datetime
    """Naive UTC."""
    source: str

    @property
    def digest(self) -> str:
        """Fingerprint of the content (everything but the id)."""
        text = json.dumps(
            [self.experiment_id, self.contact_id, self.arm, self.ts.isoformat(), self.source]
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """The outcome for one exposure of a request."""

    exposure_id: str
    status: Literal["recorded", "duplicate"]


@dataclass(frozen=True)
class ExposureImport:
    """What :func:`import_exposures` did."""

    in_log: int
    """Exposures in the log."""
    inserted: int
    """Added to the workspace by this run (the rest were there already)."""


def naive_utc(value: datetime) -> datetime:
    """``value`` as naive UTC (a naive value is taken as UTC already)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def log_path(directory: Path) -> Path:
    """The log file in ``directory`` (a path to the file itself is returned as is)."""
    return directory if directory.suffix == ".sqlite3" else directory / LOG_NAME


class ExposureLog:
    """The exposure log of one state directory; safe to use from several processes and threads."""

    def __init__(self, directory: Path) -> None:
        self.path = log_path(directory)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # Readable by the server's user only, whatever the umask (SQLite gives its
            # -wal and -shm files the database file's permissions).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._connect() as con:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA synchronous = FULL")
            yield con
        finally:
            con.close()

    def record(self, exposures: Sequence[Exposure], received_at: datetime | None = None) -> list[Recorded]:
        """Append ``exposures`` durably, all or nothing; return each one's outcome.

        Raises:
            ExposureConflictError: an id is already in the log (or earlier in ``exposures``)
                with different content; nothing is written.
        """
        received = naive_utc(received_at or datetime.now(UTC)).isoformat()
        results: list[Recorded] = []
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for exposure in exposures:
                    digest = exposure.digest
                    cursor = con.execute(
                        "INSERT OR IGNORE INTO exposures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            exposure.exposure_id,
                            exposure.experiment_id,
                            exposure.contact_id,
                            exposure.arm,
                            exposure.ts.isoformat(),
                            exposure.source,
                            digest,
                            received,
                        ),
                    )
                    if cursor.rowcount == 1:
                        results.append(Recorded(exposure.exposure_id, "recorded"))
                        continue
                    row = con.execute(
                        "SELECT digest FROM exposures WHERE exposure_id = ?", (exposure.exposure_id,)
                    ).fetchone()
                    if row is None or row[0] != digest:
                        raise ExposureConflictError(
                            f"exposure_id {exposure.exposure_id!r} was recorded before with a "
                            "different experiment, contact, arm, ts or source; use a new id "
                            "for a different exposure"
                        )
                    results.append(Recorded(exposure.exposure_id, "duplicate"))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return results

    def read_all(self) -> list[Exposure]:
        """Every exposure in the log, in the order received."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT exposure_id, experiment_id, contact_id, arm, ts, source "
                "FROM exposures ORDER BY rowid"
            ).fetchall()
        return [
            Exposure(str(r[0]), str(r[1]), str(r[2]), r[3], datetime.fromisoformat(r[4]), str(r[5]))
            for r in rows
        ]


def import_exposures(ws: Workspace, log_dir: str | Path) -> ExposureImport:
    """Add the exposures of the API's log to the workspace's ``exposures`` table.

    Idempotent: a row whose ``exposure_id`` is already in the table is skipped, so the
    command can run on a schedule while the server keeps appending.

    Args:
        ws: An open, writable workspace.
        log_dir: The server's state directory (``<workspace>.api`` by default) or the
            ``exposures.sqlite3`` file itself.

    Raises:
        WorkspaceError: no log at ``log_dir``.
    """
    path = log_path(Path(log_dir))
    if not path.is_file():
        raise WorkspaceError(
            f"no exposure log at {path}; give the API's state directory "
            "(default: the workspace path with .api appended)"
        )
    exposures = ExposureLog(path).read_all()
    staged = pa.table(
        {
            "exposure_id": [e.exposure_id for e in exposures],
            "experiment_id": [e.experiment_id for e in exposures],
            "contact_id": [e.contact_id for e in exposures],
            "arm": [e.arm for e in exposures],
            "ts": pa.array([e.ts for e in exposures], type=pa.timestamp("us")),
            "source": [e.source for e in exposures],
        },
        schema=pa.schema(
            [
                ("exposure_id", pa.string()), ("experiment_id", pa.string()),
                ("contact_id", pa.string()), ("arm", pa.string()),
                ("ts", pa.timestamp("us")), ("source", pa.string()),
            ]
        ),
    )
    # A cursor of its own: the workspace connection may hold an unfinished result.
    con = ws.con.cursor()
    try:
        con.register("_tl_exposure_log", staged)
        con.execute("BEGIN TRANSACTION")
        try:
            rows = con.execute(sql_text("api/import_exposures")).fetchall()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return ExposureImport(in_log=len(exposures), inserted=int(rows[0][0]) if rows else 0)
