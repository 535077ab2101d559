"""The snapshot the API serves: eligibility of every known contact, precomputed by ``assign``'s SQL.

Why a snapshot: DuckDB lets one process write a file, and a file opened for writing by
one process cannot be opened by another at all. ``threadlift load`` and ``ingest`` hold
the workspace while they run, so the API cannot read it per request; it serves a snapshot
and refreshes it without downtime.

How it is built (:func:`build_snapshot`, by one worker, the *builder*, chosen by an
exclusive ``flock`` on ``<state_dir>/builder.lock``):

1. The workspace is attached read-only just long enough to copy the tables eligibility
   reads (and those the experiments' ``audience_sql`` names) into an in-memory database
   with the workspace schema. When a writer holds it, the copy is skipped and the
   previous snapshot keeps being served; the builder tries again on its next tick.
2. For each experiment file, :func:`threadlift.assign.eligibility_snapshot` (the same SQL
   ``threadlift assign`` runs) evaluates every candidate contact: all workspace contacts,
   the experiment's assigned contacts and its audience (:func:`threadlift.assign.assignment.candidate_ids`).
   Any other id is ``not_in_audience`` by the first rule of that SQL, so it is answered
   from its bucket alone.
3. The results are written as small codes (reason, arm, assigned, bucket, assigned_at)
   with every contact id stored once, and the experiment files' text, to a new DuckDB
   file, which replaces ``<state_dir>/snapshot.duckdb`` by an atomic rename.

Every worker (:class:`SnapshotService`) checks the file every ``refresh_seconds``, opens a
new one read-only, loads it into memory and swaps it in: a request sees one whole
snapshot, old or new, never a mixture. In memory a snapshot is a :class:`ContactIndex`
(every id once, sorted by a 60-bit hash, searched by bisection) and per experiment one
numpy column per field (:class:`EligibilityColumns`): 13 bytes per (contact, experiment)
plus 16 bytes and the id per contact. Answers are built per request from templates cut
out of :func:`answer_text`. The builder rebuilds when the workspace (or its WAL) or the
experiment files change and have then stayed unchanged for one tick, and at least every
``max_snapshot_age_seconds`` so time-dependent rules (feedback windows) move on.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring  # what json.dumps(text, ensure_ascii=False) calls
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from threadlift.assign.assignment import ContactStatus, candidate_ids, eligibility_snapshot
from threadlift.assign.audience import audience_tables, lock_down
from threadlift.core.bucketing import bucket
from threadlift.engines.sqlfiles import quote_identifier, sql_text
from threadlift.errors import ThreadliftError, WorkspaceError
from threadlift.experiment import Experiment, parse_experiment
from threadlift.workspace import Workspace

from .models import assignment_body, utc_text
from .settings import ApiSettings

logger = logging.getLogger("threadlift.api")

SNAPSHOT_NAME = "snapshot.duckdb"
LOCK_NAME = "builder.lock"
FORMAT_VERSION = "4"

EVALUATION_TABLES = (
    "contacts",
    "assignments",
    "consents",
    "messages",
    "message_events",
    "feedback",
    "assignment_registry",
    "global_holdout",
)
"""Tables ``sql/assign/evaluate.sql`` and ``eligibility_snapshot`` read."""

ExperimentState = Literal["ok", "external", "error"]


class WorkspaceBusyError(WorkspaceError):
    """Another process holds the workspace for writing; the previous snapshot stays served."""


@dataclass(frozen=True)
class ExperimentFile:
    """One ``*.toml`` file of the experiments directory, parsed or with its problem."""

    path: Path
    text: str
    experiment: Experiment | None
    problem: str | None


NO_TIME = -(2**63)
"""``assigned_at`` of a contact that has none, in the int64 microsecond column."""

NOT_CANDIDATE = 255
"""Reason code of a contact row the experiment did not evaluate (another experiment's
candidate): it is answered as an id the snapshot does not know."""

_MAX_CODES = 254
"""Distinct arms (or reasons) one experiment may have: codes 1–254 (0 is none)."""


def index_key(encoded_id: bytes) -> int:
    """The contact index's key of a UTF-8 contact id: the first 15 hex digits of its md5.

    ``sql/api/snapshot.sql#contacts`` orders the snapshot's contacts by the same value
    computed in DuckDB; a test checks the two equal.

    Examples:
        >>> index_key("cus_1".encode())
        142480238492167984
    """
    return int.from_bytes(hashlib.md5(encoded_id, usedforsecurity=False).digest()[:8], "big") >> 4


class ContactIndex:
    """The contact ids of one snapshot, stored once for all its experiments.

    Rows are sorted by :func:`index_key`; ids are one UTF-8 ``bytes`` with their offsets.
    So a contact costs 16 bytes plus its id, however many experiments evaluate it, and
    finding its row is a binary search of the keys and a comparison of the ids that share
    the key (distinct ids with one 60-bit key are possible, only improbable).
    """

    __slots__ = ("_blob", "_key_at", "_keys", "_offset_at", "_offsets")

    def __init__(self, keys: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64], blob: bytes) -> None:
        if len(offsets) != len(keys) + 1 or int(offsets[-1]) != len(blob):
            raise WorkspaceError("API snapshot: contact index offsets do not match its ids")
        self._keys = keys
        self._offsets = offsets
        self._blob = blob
        # Views of the same memory: an element of a memoryview is a Python int, read
        # several times faster than a numpy scalar (the lookup reads a few per request).
        self._key_at = keys.data
        self._offset_at = offsets.data

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        """Bytes held by the keys, offsets and ids."""
        return int(self._keys.nbytes + self._offsets.nbytes) + len(self._blob)

    def row(self, contact_id: str) -> int:
        """The row of ``contact_id``, or -1 when the snapshot does not know it."""
        encoded = contact_id.encode()
        key = index_key(encoded)
        return self._row(encoded, key, int(self._keys.searchsorted(key)))

    def _row(self, encoded: bytes, key: int, position: int) -> int:
        keys, offsets, blob = self._key_at, self._offset_at, self._blob
        while position < len(keys) and keys[position] == key:
            if blob[offsets[position] : offsets[position + 1]] == encoded:
                return position
            position += 1
        return -1

    def rows(self, contact_ids: Sequence[str]) -> list[int]:
        """:meth:`row` of each id (one vectorised search for all)."""
        encoded = [contact_id.encode() for contact_id in contact_ids]
        keys = [index_key(e) for e in encoded]
        positions = self._keys.searchsorted(np.array(keys, dtype=np.int64)).tolist()
        return [self._row(e, k, p) for e, k, p in zip(encoded, keys, positions, strict=True)]

    def contact_id(self, row: int) -> str:
        """The id of ``row``."""
        return self._blob[self._offsets[row] : self._offsets[row + 1]].decode()


@dataclass(frozen=True)
class EligibilityColumns:
    """One experiment's evaluated contacts, one small column per field, aligned with the
    snapshot's :class:`ContactIndex` (row i of each column is row i of the index).

    ``reason`` and ``arm`` are codes into :attr:`ServedExperiment.reason_names` and
    :attr:`ServedExperiment.arm_names`, shifted by one (0 is none); ``reason`` is
    :data:`NOT_CANDIDATE` on rows the experiment did not evaluate. ``assigned_at_us`` is
    microseconds since 1970 (UTC), :data:`NO_TIME` when there is none.
    """

    reason: npt.NDArray[np.uint8]
    arm: npt.NDArray[np.uint8]
    assigned: npt.NDArray[np.bool_]
    bucket: npt.NDArray[np.uint16]
    assigned_at_us: npt.NDArray[np.int64]

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns."""
        return sum(int(column.nbytes) for column in (self.reason, self.arm, self.assigned, self.bucket, self.assigned_at_us))


_EPOCH = datetime(1970, 1, 1)
_SENTINEL_ID = "\x00contact"
_SENTINEL_BUCKET = 987_654_321


def _view(column: npt.NDArray[Any] | None) -> memoryview:
    return (np.zeros(0, dtype=np.uint8) if column is None else column).data


def _time_of(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


@functools.lru_cache(maxsize=4096)
def _time_text(microseconds: int) -> str:
    # A snapshot holds few distinct assignment times (one per assign run), so they are cached.
    return json.dumps(utc_text(_time_of(microseconds)))


def _split_once(text: str, marker: str) -> tuple[str, str]:
    if text.count(marker) != 1:
        raise ThreadliftError(f"answer template {text!r} does not hold {marker!r} exactly once")
    head, tail = text.split(marker)
    return head, tail


def answer_text(status: ContactStatus, holdout_arms: frozenset[str], snapshot_at: str) -> str:
    """The JSON text of the API's answer for ``status`` (:class:`threadlift.api.models.Assignment`)."""
    return json.dumps(
        assignment_body(status, holdout_arms, snapshot_at), ensure_ascii=False, separators=(",", ":")
    )


class ServedExperiment:
    """An experiment as one snapshot serves it: compact columns, answers built per request.

    An answer is :func:`answer_text` of the contact's :class:`ContactStatus`, built from a
    template per (reason, arm, assigned) combination, itself cut out of
    :func:`answer_text`'s output, so the two cannot drift apart; only the id, the bucket
    and ``assigned_at`` are filled in per request.
    """

    __slots__ = (
        "_arm_at", "_assigned_at", "_at_us_at", "_bucket_at", "_columns", "_index", "_reason_at", "_templates",
        "_unknown", "arm_names", "counts", "evaluated_at", "experiment",
        "holdout_arms", "known_contacts", "problem", "reason_names", "snapshot_at", "source", "state",
    )

    def __init__(
        self,
        experiment: Experiment,
        source: str,
        state: ExperimentState,
        problem: str | None,
        index: ContactIndex,
        columns: EligibilityColumns | None,
        arm_names: tuple[str, ...],
        reason_names: tuple[str, ...],
        counts: Mapping[str, int],
        built_at: datetime,
        evaluated_at: datetime | None,
    ) -> None:
        self.experiment = experiment
        self.source = source
        """File name the experiment came from."""
        self.state: ExperimentState = state
        """``ok``; ``external`` (arms loaded from a file, nothing to evaluate); ``error``."""
        self.problem = problem
        self.evaluated_at = evaluated_at
        """The time eligibility was evaluated at (``assign``'s rule: ``assigned_at`` before the first run)."""
        self.holdout_arms = frozenset(arm.name for arm in experiment.arms if arm.holdout)
        self.snapshot_at = utc_text(built_at)
        self.counts = {arm.name: 0 for arm in experiment.arms} | dict(counts)
        """Eligible (assigned or assignable) known contacts per arm."""
        self.arm_names = arm_names
        """Arm of code ``i + 1``."""
        self.reason_names = reason_names
        """Reason of code ``i + 1``."""
        self._index = index
        self._columns = columns
        # Views of the columns' memory, read one element per answer (a Python int or bool
        # per element, faster than numpy scalars).
        self._reason_at = _view(None if columns is None else columns.reason)
        self._arm_at = _view(None if columns is None else columns.arm)
        self._assigned_at = _view(None if columns is None else columns.assigned)
        self._bucket_at = _view(None if columns is None else columns.bucket)
        self._at_us_at = _view(None if columns is None else columns.assigned_at_us)
        self.known_contacts = 0 if columns is None else int(np.count_nonzero(columns.reason != NOT_CANDIDATE))
        """Contacts the snapshot evaluated for this experiment."""
        self._templates: dict[tuple[int, int, int], tuple[str, str, str, str]] = {}
        """Answer templates per (reason code, arm code, assigned), made when first needed."""
        self._unknown = self._template(self._not_in_audience(_SENTINEL_ID, _SENTINEL_BUCKET))

    @property
    def nbytes(self) -> int:
        """Bytes of this experiment's columns (the contact index is shared, not counted)."""
        return 0 if self._columns is None else self._columns.nbytes

    def _not_in_audience(self, contact_id: str, bucket_value: int) -> ContactStatus:
        return ContactStatus(
            experiment_id=self.experiment.id,
            contact_id=contact_id,
            bucket=bucket_value,
            assigned=False,
            eligible=False,
            reason="not_in_audience",
            arm=None,
            holdout=None,
            assigned_at=None,
            evaluated_at=self.evaluated_at,
        )

    def _template(self, status: ContactStatus) -> tuple[str, str, str, str]:
        """``answer_text(status)`` cut around its id, bucket and ``assigned_at`` (which must be null)."""
        text = answer_text(status, self.holdout_arms, self.snapshot_at)
        head, rest = _split_once(text, json.dumps(_SENTINEL_ID))
        middle, rest = _split_once(rest, str(_SENTINEL_BUCKET))
        at_marker = '"assigned_at":null'
        before_at, tail = _split_once(rest, at_marker)
        return head, middle, before_at + at_marker.removesuffix("null"), tail

    def _status(self, contact_id: str, row: int) -> ContactStatus | None:
        """The status of ``row`` (``None`` when the experiment did not evaluate it)."""
        columns = self._columns
        if row < 0 or columns is None:
            return None
        reason_code = int(columns.reason[row])
        if reason_code == NOT_CANDIDATE:
            return None
        arm_code = int(columns.arm[row])
        reason = self.reason_names[reason_code - 1] if reason_code else None
        arm = self.arm_names[arm_code - 1] if arm_code else None
        at = int(columns.assigned_at_us[row])
        return ContactStatus(
            experiment_id=self.experiment.id,
            contact_id=contact_id,
            bucket=int(columns.bucket[row]),
            assigned=bool(columns.assigned[row]),
            eligible=reason is None,
            reason=reason,
            arm=arm,
            holdout=(arm in self.holdout_arms) if arm is not None else None,
            assigned_at=None if at == NO_TIME else _time_of(at),
            evaluated_at=self.evaluated_at,
        )

    def _answer(self, contact_id: str, row: int) -> str:
        reason_code = NOT_CANDIDATE if row < 0 or self._columns is None else self._reason_at[row]
        if reason_code == NOT_CANDIDATE:
            head, middle, at, tail = self._unknown
            bucket_value = bucket(self.experiment.effective_salt, contact_id)
            return f"{head}{encode_basestring(contact_id)}{middle}{bucket_value}{at}null{tail}"
        key = (reason_code, self._arm_at[row], self._assigned_at[row])
        template = self._templates.get(key)
        if template is None:
            status = self._status(_SENTINEL_ID, row)
            assert status is not None
            template = self._templates[key] = self._template(
                replace(status, bucket=_SENTINEL_BUCKET, assigned_at=None)
            )
        head, middle, at, tail = template
        at_us = self._at_us_at[row]
        at_text = "null" if at_us == NO_TIME else _time_text(at_us)
        return f"{head}{encode_basestring(contact_id)}{middle}{self._bucket_at[row]}{at}{at_text}{tail}"

    def answer(self, contact_id: str) -> str:
        """JSON answer for ``contact_id``; an id the snapshot does not know is ``not_in_audience``.

        (``sql/assign/evaluate.sql`` tests audience membership first, and every id the
        audience returns is a candidate, so an unknown id fails that rule whatever else
        is true of it; its bucket is still given.)
        """
        return self._answer(contact_id, self._index.row(contact_id))

    def answers(self, contact_ids: Sequence[str]) -> list[str]:
        """:meth:`answer` of each id, the index searched once for all."""
        return [self._answer(c, row) for c, row in zip(contact_ids, self._index.rows(contact_ids), strict=True)]

    def status_of(self, contact_id: str) -> ContactStatus:
        """The contact's status as a domain object (read from the columns)."""
        status = self._status(contact_id, self._index.row(contact_id))
        if status is None:
            return self._not_in_audience(contact_id, bucket(self.experiment.effective_salt, contact_id))
        return status


@dataclass(frozen=True)
class Snapshot:
    """One loaded snapshot file."""

    built_at: datetime
    """When eligibility was evaluated (UTC, naive)."""
    fingerprint: str
    """Fingerprint of the inputs it was built from (:func:`source_fingerprint`)."""
    experiments: Mapping[str, ServedExperiment]
    problems: tuple[str, ...]
    """Experiment files that could not be served, and why."""
    file_id: tuple[int, int]
    """``(inode, mtime_ns)`` of the file it was loaded from."""
    contacts: ContactIndex
    """Every contact id some experiment evaluated, shared by all experiments' columns."""

    @property
    def nbytes(self) -> int:
        """Bytes of the contact index and every experiment's columns."""
        return self.contacts.nbytes + sum(served.nbytes for served in self.experiments.values())


def snapshot_path(settings: ApiSettings) -> Path:
    """Where the current snapshot file lives."""
    return settings.resolved_state_dir / SNAPSHOT_NAME


def read_experiment_files(directory: Path) -> list[ExperimentFile]:
    """Every ``*.toml`` in ``directory`` (sorted by name), parsed, or with its problem."""
    files: list[ExperimentFile] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
            experiment = parse_experiment(text, source=path.name)
        except (OSError, ThreadliftError) as exc:
            files.append(ExperimentFile(path, "", None, str(exc)))
            continue
        if experiment.id in seen:
            problem = f"{path.name}: experiment id {experiment.id} is also in {seen[experiment.id]}; ignored"
            files.append(ExperimentFile(path, text, None, problem))
            continue
        seen[experiment.id] = path.name
        files.append(ExperimentFile(path, text, experiment, None))
    return files


def _stat(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return [info.st_ino, info.st_mtime_ns, info.st_size]


def source_fingerprint(settings: ApiSettings) -> str:
    """A digest of what a snapshot depends on: the workspace file and WAL, the experiment files."""
    workspace = settings.workspace.resolve()
    parts: dict[str, object] = {
        "workspace": str(workspace),
        "db": _stat(workspace),
        "wal": _stat(workspace.with_name(workspace.name + ".wal")),
        "experiments": [
            [path.name, _stat(path)] for path in sorted(settings.experiments_dir.glob("*.toml"))
        ],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _audience_tables(experiments: list[Experiment]) -> set[str]:
    """Table names the experiments' ``audience_sql`` reads (the sandbox's own reading)."""
    return {
        table
        for experiment in experiments
        if experiment.audience_sql is not None
        for table in audience_tables(experiment.audience_sql)
    }


def copy_workspace(workspace: Path, extra_tables: set[str]) -> Workspace:
    """An in-memory workspace holding the evaluation tables (and ``extra_tables``) of ``workspace``.

    The workspace is attached read-only only for the copy.

    Raises:
        WorkspaceError: the workspace does not exist.
        WorkspaceBusyError: another process holds it for writing.
    """
    if not workspace.exists():
        raise WorkspaceError(
            f"workspace {workspace} does not exist; create it with "
            f"`threadlift init --workspace {workspace}` and load contacts"
        )
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    memory = Workspace(Path(":memory:"), con)
    memory.migrate()
    try:
        con.execute(f"ATTACH {_sql_literal(str(workspace))} AS src (READ_ONLY)")
    except duckdb.IOException as exc:
        con.close()
        raise WorkspaceBusyError(f"workspace {workspace} is held by another process: {exc}") from exc
    try:
        src_columns: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = 'src' AND schema_name = 'main' ORDER BY table_name, column_index"
        ).fetchall():
            src_columns.setdefault(str(table), []).append(str(column))
        mine: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = 'memory' AND schema_name = 'main' ORDER BY table_name, column_index"
        ).fetchall():
            mine.setdefault(str(table), []).append(str(column))
        allowed = set(src_columns)
        for table in sorted((set(EVALUATION_TABLES) | extra_tables) & allowed):
            name = quote_identifier(table, allowed)
            if table in mine:
                shared = [c for c in mine[table] if c in src_columns[table]]
                cols = ", ".join(quote_identifier(c, set(shared)) for c in shared)
                con.execute(f"INSERT INTO main.{name} ({cols}) SELECT {cols} FROM src.main.{name}")
            else:
                con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM src.main.{name}")
    finally:
        con.execute("DETACH src")
    return memory


_PROBE_ID = "\x00threadlift-probe"


def _evaluate(
    memory: Workspace, entry: ExperimentFile, experiment: Experiment, now: datetime
) -> tuple[ExperimentState, str | None, datetime | None, list[ContactStatus]]:
    if experiment.assignment == "external":
        return "external", None, None, []
    try:
        # A lookup of one unknown id gives the evaluation time even when no id is known.
        probe = eligibility_snapshot(memory, experiment, [_PROBE_ID], now=now)
        ids = candidate_ids(memory, experiment)
        statuses = eligibility_snapshot(memory, experiment, ids, now=now)
        return "ok", None, probe[0].evaluated_at, statuses
    except ThreadliftError as exc:
        return "error", f"{entry.path.name}: {exc}", None, []


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encode(
    experiment: Experiment, statuses: list[ContactStatus], evaluated_at: datetime | None
) -> tuple[dict[str, list[object]], tuple[str, ...], tuple[str, ...]]:
    """``statuses`` as the snapshot file's candidate rows (codes), with the arm and reason names.

    The columns keep every field of a status but those :class:`ServedExperiment`
    recomputes the way :func:`~threadlift.assign.eligibility_snapshot` computes them
    (``eligible``, ``holdout``) or holds once (``evaluated_at``); a status where they
    disagree would not come back whole, so it stops the build.
    """
    holdouts = {arm.name for arm in experiment.arms if arm.holdout}
    arms: dict[str, int] = {}
    reasons: dict[str, int] = {}
    rows: dict[str, list[object]] = {
        name: [] for name in ("experiment_id", "contact_id", "reason", "arm", "assigned", "bucket", "assigned_at")
    }
    for status in statuses:
        if (
            status.eligible != (status.reason is None)
            or status.holdout != ((status.arm in holdouts) if status.arm is not None else None)
            or status.evaluated_at != evaluated_at
        ):
            raise ThreadliftError(f"API snapshot: the status of {status.contact_id!r} in {experiment.id} is not consistent: {status}")
        reason = 0 if status.reason is None else reasons.setdefault(status.reason, len(reasons) + 1)
        arm = 0 if status.arm is None else arms.setdefault(status.arm, len(arms) + 1)
        rows["experiment_id"].append(experiment.id)
        rows["contact_id"].append(status.contact_id)
        rows["reason"].append(reason)
        rows["arm"].append(arm)
        rows["assigned"].append(status.assigned)
        rows["bucket"].append(status.bucket)
        rows["assigned_at"].append(status.assigned_at)
    if len(arms) > _MAX_CODES or len(reasons) > _MAX_CODES:
        raise ThreadliftError(f"API snapshot: {experiment.id} has more than {_MAX_CODES} arms or reasons")
    return rows, tuple(arms), tuple(reasons)


_CANDIDATE_SCHEMA = pa.schema(
    [
        ("experiment_id", pa.string()), ("contact_id", pa.string()), ("reason", pa.uint8()),
        ("arm", pa.uint8()), ("assigned", pa.bool_()), ("bucket", pa.uint16()),
        ("assigned_at", pa.timestamp("us")),
    ]
)

Catalogue = list[tuple[str | None, str, str, str, str | None, datetime | None, list[str], list[str]]]
"""The snapshot file's experiments rows: id, source, TOML text, state, problem,
evaluated_at, arm names, reason names."""


def build_snapshot(settings: ApiSettings, *, now: datetime | None = None) -> Path:
    """Build a snapshot from the workspace and experiment files; replace the current one atomically.

    Args:
        settings: Where the workspace, experiments and state directory are.
        now: Evaluation time (default: the current UTC time), passed to
            :func:`~threadlift.assign.eligibility_snapshot`.

    Returns:
        The path of the (new) current snapshot.

    Raises:
        WorkspaceBusyError: a writer holds the workspace; nothing changed.
        WorkspaceError: the workspace is missing.
    """
    fingerprint = source_fingerprint(settings)
    at = (now.astimezone(UTC).replace(tzinfo=None) if now and now.tzinfo else now) or datetime.now(
        UTC
    ).replace(tzinfo=None)
    files = read_experiment_files(settings.experiments_dir)
    experiments = [f.experiment for f in files if f.experiment is not None]
    memory = copy_workspace(settings.workspace, _audience_tables(experiments))
    lock_down(memory.con)  # the experiment files' SQL reads the copy, and nothing else
    batches: list[pa.RecordBatch] = []
    catalogue: Catalogue = []
    try:
        for entry in files:
            if entry.experiment is None:
                catalogue.append((None, entry.path.name, "", "error", entry.problem, None, [], []))
                continue
            state, problem, evaluated_at, statuses = _evaluate(memory, entry, entry.experiment, at)
            rows, arm_names, reason_names = _encode(entry.experiment, statuses, evaluated_at)
            del statuses
            batches.append(pa.RecordBatch.from_pydict(rows, schema=_CANDIDATE_SCHEMA))
            catalogue.append(
                (entry.experiment.id, entry.path.name, entry.text, state, problem, evaluated_at,
                 list(arm_names), list(reason_names))
            )
    finally:
        memory.close()
    candidates = pa.Table.from_batches(batches, schema=_CANDIDATE_SCHEMA)
    return _write(settings, candidates, catalogue, fingerprint, at)


def _write(
    settings: ApiSettings,
    candidates: pa.Table,
    catalogue: Catalogue,
    fingerprint: str,
    built_at: datetime,
) -> Path:
    state_dir = settings.resolved_state_dir
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = state_dir / SNAPSHOT_NAME
    temporary = state_dir / f".{SNAPSHOT_NAME}.{os.getpid()}.{time.monotonic_ns()}"
    # The snapshot lists contacts: its file and DuckDB's WAL beside it are readable by the
    # server's user only, whatever the umask (a process-wide setting, so only ever narrowed).
    previous_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(temporary))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            con.executemany(
                "INSERT INTO meta VALUES ($1, $2)",
                [
                    ["format", FORMAT_VERSION],
                    ["fingerprint", fingerprint],
                    ["built_at", built_at.isoformat()],
                ],
            )
            con.execute(
                "CREATE TABLE experiments (experiment_id VARCHAR, source VARCHAR, toml VARCHAR, "
                "state VARCHAR, problem VARCHAR, evaluated_at TIMESTAMP, arm_names VARCHAR[], "
                "reason_names VARCHAR[])"
            )
            if catalogue:
                con.executemany("INSERT INTO experiments VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", catalogue)
            con.register("candidates", candidates)
            con.execute(sql_text("api/snapshot#contacts"))
            con.execute(sql_text("api/snapshot#eligibility"))
            con.unregister("candidates")
        finally:
            con.close()
        os.chmod(temporary, 0o600)
        _fsync(temporary)
        os.replace(temporary, target)
        _fsync(state_dir)
    finally:
        os.umask(previous_umask)
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return target


def _owned(values: npt.NDArray[Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A copy of ``values`` as ``dtype`` in memory numpy owns (not an Arrow or DuckDB buffer)."""
    return np.array(values, dtype=dtype, copy=True)


def _load_index(con: duckdb.DuckDBPyConnection) -> ContactIndex:
    table = con.sql(sql_text("api/snapshot#contact_index")).to_arrow_table()
    keys = _owned(table.column("index_key").to_numpy(), np.int64)
    ids = table.column("contact_id").combine_chunks().cast(pa.large_string())
    del table
    _, offsets_buffer, data_buffer = ids.buffers()
    assert offsets_buffer is not None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=len(ids) + 1, offset=ids.offset * 8)
    start, stop = int(offsets[0]), int(offsets[-1])
    blob = b"" if data_buffer is None else data_buffer.to_pybytes()[start:stop]
    return ContactIndex(keys, _owned(offsets - start, np.int64), blob)


def _load_columns(con: duckdb.DuckDBPyConnection, experiment_id: str, rows: int) -> EligibilityColumns:
    found = con.execute(
        sql_text("api/snapshot#columns"), {"experiment_id": experiment_id, "no_time": NO_TIME}
    ).fetchnumpy()
    at = np.asarray(found["row"], dtype=np.int64)
    columns = EligibilityColumns(
        reason=np.full(rows, NOT_CANDIDATE, dtype=np.uint8),
        arm=np.zeros(rows, dtype=np.uint8),
        assigned=np.zeros(rows, dtype=np.bool_),
        bucket=np.zeros(rows, dtype=np.uint16),
        assigned_at_us=np.full(rows, NO_TIME, dtype=np.int64),
    )
    columns.reason[at] = found["reason"]
    columns.arm[at] = found["arm"]
    columns.assigned[at] = found["assigned"]
    columns.bucket[at] = found["bucket"]
    columns.assigned_at_us[at] = found["assigned_at_us"]
    return columns


def load_snapshot(path: Path) -> Snapshot:
    """Load a snapshot file into memory (opened read-only, closed before returning).

    Raises:
        WorkspaceError: the file is missing or not a snapshot of this format.
    """
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WorkspaceError(f"cannot open API snapshot {path}: {exc}") from exc
    try:
        info = path.stat()
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT_VERSION:
            raise WorkspaceError(f"API snapshot {path} has format {meta.get('format')}, expected {FORMAT_VERSION}")
        built_at = datetime.fromisoformat(meta["built_at"])
        index = _load_index(con)
        served: dict[str, ServedExperiment] = {}
        problems: list[str] = []
        for experiment_id, source, text, state, problem, evaluated_at, arm_names, reason_names in con.execute(
            "SELECT experiment_id, source, toml, state, problem, evaluated_at, arm_names, reason_names "
            "FROM experiments ORDER BY source"
        ).fetchall():
            if problem:
                problems.append(str(problem))
            if experiment_id is None:
                continue
            experiment = parse_experiment(str(text), source=str(source))
            arms = tuple(str(name) for name in arm_names)
            columns = _load_columns(con, experiment.id, len(index)) if state == "ok" else None
            counts = {
                arms[int(code) - 1]: int(contacts)
                for code, contacts in con.execute(sql_text("api/snapshot#arm_counts"), {"experiment_id": experiment.id}).fetchall()
            }
            served[experiment.id] = ServedExperiment(
                experiment, str(source), state, problem, index, columns, arms,
                tuple(str(name) for name in reason_names), counts, built_at, evaluated_at,
            )
        return Snapshot(
            built_at=built_at,
            fingerprint=meta["fingerprint"],
            experiments=served,
            problems=tuple(problems),
            file_id=(info.st_ino, info.st_mtime_ns),
            contacts=index,
        )
    finally:
        con.close()


class SnapshotService:
    """Keeps the current snapshot of one worker process fresh; the builder also rebuilds it.

    Requests read :attr:`current` (swapped whole, never mutated). A daemon thread ticks
    every ``refresh_seconds``; :meth:`stop` ends it.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.current: Snapshot | None = None
        self.last_error: str | None = None
        self._lock_fd: int | None = None
        self._seen_fingerprint: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_builder(self) -> bool:
        """Whether this process holds the builder lock."""
        return self._lock_fd is not None

    def _try_lead(self) -> bool:
        if self._lock_fd is not None:
            return True
        state_dir = self.settings.resolved_state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _file_id(self) -> tuple[int, int] | None:
        stat = _stat(snapshot_path(self.settings))
        return None if stat is None else (stat[0], stat[1])

    def _needs_build(self, startup: bool) -> bool:
        existing = self._file_id()
        if existing is None:
            return True
        current = self.current
        if current is None:
            return True
        fingerprint = source_fingerprint(self.settings)
        if fingerprint != current.fingerprint:
            settled = startup or fingerprint == self._seen_fingerprint
            self._seen_fingerprint = fingerprint
            return settled
        age = (datetime.now(UTC).replace(tzinfo=None) - current.built_at).total_seconds()
        return age >= self.settings.max_snapshot_age_seconds

    def _reload(self) -> None:
        file_id = self._file_id()
        current = self.current
        if file_id is None or (current is not None and current.file_id == file_id):
            return
        self.current = load_snapshot(snapshot_path(self.settings))
        logger.info(
            "serving snapshot built at %s (%d experiments)",
            self.current.built_at.isoformat(),
            len(self.current.experiments),
        )

    def tick(self, *, startup: bool = False) -> None:
        """Rebuild when this process is the builder and the inputs changed; load a newer file."""
        try:
            if startup:
                # An unreadable file (older format, damaged) is replaced by the builder below.
                with contextlib.suppress(WorkspaceError, duckdb.Error):
                    self._reload()
            if self._try_lead() and self._needs_build(startup):
                started = time.perf_counter()
                build_snapshot(self.settings)
                logger.info("snapshot built in %.2fs", time.perf_counter() - started)
            self._reload()
            self.last_error = None
        except WorkspaceBusyError:
            logger.info("workspace is being written; serving the previous snapshot")
        except (ThreadliftError, duckdb.Error, OSError) as exc:
            self.last_error = str(exc)
            logger.warning("snapshot refresh failed: %s", exc)

    def start(self) -> None:
        """Load (building if needed) the first snapshot, waiting up to the startup timeout; start ticking."""
        deadline = time.monotonic() + self.settings.startup_timeout_seconds
        self.tick(startup=True)
        while self.current is None and time.monotonic() < deadline:
            time.sleep(min(0.1, self.settings.refresh_seconds))
            self.tick(startup=True)
        self._thread = threading.Thread(target=self._run, name="threadlift-snapshot", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.refresh_seconds):
            self.tick()

    def stop(self) -> None:
        """Stop ticking and give up the builder lock."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@contextlib.contextmanager
def running(settings: ApiSettings) -> Iterator[SnapshotService]:
    """A started :class:`SnapshotService`, stopped on exit."""
    service = SnapshotService(settings)
    service.start()
    try:
        yield service
    finally:
        service.stop()
