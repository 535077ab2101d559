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
3. The results and the experiment files' text are written to a new DuckDB file, which
   replaces ``<state_dir>/snapshot.duckdb`` by an atomic rename.

Every worker (:class:`SnapshotService`) checks the file every ``refresh_seconds``, opens a
new one read-only, loads it into memory and swaps it in: a request sees one whole
snapshot, old or new, never a mixture. The builder rebuilds when the workspace (or its
WAL) or the experiment files change and have then stayed unchanged for one tick, and at
least every ``max_snapshot_age_seconds`` so time-dependent rules (feedback windows) move on.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
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
FORMAT_VERSION = "3"

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


_SENTINEL_ID = "\x00contact"
_SENTINEL_BUCKET = 987_654_321


def answer_text(status: ContactStatus, holdout_arms: frozenset[str], snapshot_at: str) -> str:
    """The JSON text of the API's answer for ``status`` (:class:`threadlift.api.models.Assignment`)."""
    return json.dumps(
        assignment_body(status, holdout_arms, snapshot_at), ensure_ascii=False, separators=(",", ":")
    )


def _parse_utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.removesuffix("Z"))


class ServedExperiment:
    """An experiment as one snapshot serves it, with every known contact's answer pre-serialised.

    Answers are kept as JSON text, so a lookup is a dictionary access and a batch is a
    join: no per-request object building or serialisation of known contacts.
    """

    __slots__ = ("_unknown", "answers", "counts", "evaluated_at", "experiment", "holdout_arms", "problem", "snapshot_at", "source", "state")

    def __init__(
        self,
        experiment: Experiment,
        source: str,
        state: ExperimentState,
        problem: str | None,
        answers: Mapping[str, str],
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
        self.answers = answers
        """JSON answer (:func:`answer_text`) of every candidate contact the snapshot evaluated."""
        template = answer_text(self._not_in_audience(_SENTINEL_ID, _SENTINEL_BUCKET), self.holdout_arms, self.snapshot_at)
        head, rest = template.split(json.dumps(_SENTINEL_ID), 1)
        middle, tail = rest.split(str(_SENTINEL_BUCKET), 1)
        self._unknown = (head, middle, tail)

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

    def answer(self, contact_id: str) -> str:
        """JSON answer for ``contact_id``; an id the snapshot does not know is ``not_in_audience``.

        (``sql/assign/evaluate.sql`` tests audience membership first, and every id the
        audience returns is a candidate, so an unknown id fails that rule whatever else
        is true of it; its bucket is still given.)
        """
        found = self.answers.get(contact_id)
        if found is not None:
            return found
        head, middle, tail = self._unknown
        salt = self.experiment.effective_salt
        return f"{head}{json.dumps(contact_id, ensure_ascii=False)}{middle}{bucket(salt, contact_id)}{tail}"

    def status_of(self, contact_id: str) -> ContactStatus:
        """The contact's status as a domain object (parsed back from its answer)."""
        body = json.loads(self.answer(contact_id))
        assigned_at = body["assigned_at"]
        return ContactStatus(
            experiment_id=body["experiment_id"],
            contact_id=body["contact_id"],
            bucket=body["bucket"],
            assigned=body["assigned"],
            eligible=body["eligible"],
            reason=body["reason"],
            arm=body["arm"],
            holdout=body["holdout"],
            assigned_at=_parse_utc(assigned_at),
            evaluated_at=_parse_utc(body["evaluated_at"]),
        )


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
    snapshot_at = utc_text(at)
    files = read_experiment_files(settings.experiments_dir)
    experiments = [f.experiment for f in files if f.experiment is not None]
    memory = copy_workspace(settings.workspace, _audience_tables(experiments))
    lock_down(memory.con)  # the experiment files' SQL reads the copy, and nothing else
    rows: dict[str, list[object]] = {
        name: []
        for name in (
            "experiment_id", "contact_id", "bucket", "assigned", "eligible", "reason", "arm",
            "holdout", "assigned_at", "evaluated_at", "answer",
        )
    }
    catalogue: list[tuple[str | None, str, str, str, str | None, datetime | None]] = []
    try:
        for entry in files:
            if entry.experiment is None:
                catalogue.append((None, entry.path.name, "", "error", entry.problem, None))
                continue
            state, problem, evaluated_at, statuses = _evaluate(memory, entry, entry.experiment, at)
            catalogue.append((entry.experiment.id, entry.path.name, entry.text, state, problem, evaluated_at))
            holdouts = frozenset(arm.name for arm in entry.experiment.arms if arm.holdout)
            for status in statuses:
                rows["answer"].append(answer_text(status, holdouts, snapshot_at))
                rows["experiment_id"].append(status.experiment_id)
                rows["contact_id"].append(status.contact_id)
                rows["bucket"].append(status.bucket)
                rows["assigned"].append(status.assigned)
                rows["eligible"].append(status.eligible)
                rows["reason"].append(status.reason)
                rows["arm"].append(status.arm)
                rows["holdout"].append(status.holdout)
                rows["assigned_at"].append(status.assigned_at)
                rows["evaluated_at"].append(status.evaluated_at)
    finally:
        memory.close()
    schema = pa.schema(
        [
            ("experiment_id", pa.string()), ("contact_id", pa.string()), ("bucket", pa.int32()),
            ("assigned", pa.bool_()), ("eligible", pa.bool_()), ("reason", pa.string()),
            ("arm", pa.string()), ("holdout", pa.bool_()), ("assigned_at", pa.timestamp("us")),
            ("evaluated_at", pa.timestamp("us")), ("answer", pa.string()),
        ]
    )
    table = pa.table(rows, schema=schema)
    return _write(settings, table, catalogue, fingerprint, at)


def _write(
    settings: ApiSettings,
    eligibility: pa.Table,
    catalogue: list[tuple[str | None, str, str, str, str | None, datetime | None]],
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
                "state VARCHAR, problem VARCHAR, evaluated_at TIMESTAMP)"
            )
            if catalogue:
                con.executemany("INSERT INTO experiments VALUES ($1, $2, $3, $4, $5, $6)", catalogue)
            con.register("eligibility_rows", eligibility)
            con.execute("CREATE TABLE eligibility AS SELECT * FROM eligibility_rows")
            con.unregister("eligibility_rows")
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
        served: dict[str, ServedExperiment] = {}
        problems: list[str] = []
        for experiment_id, source, text, state, problem, evaluated_at in con.execute(
            "SELECT experiment_id, source, toml, state, problem, evaluated_at FROM experiments "
            "ORDER BY source"
        ).fetchall():
            if problem:
                problems.append(str(problem))
            if experiment_id is None:
                continue
            experiment = parse_experiment(str(text), source=str(source))
            params = {"experiment_id": experiment.id}
            answers = dict(con.execute(sql_text("api/snapshot#answers"), params).fetchall())
            counts = dict(con.execute(sql_text("api/snapshot#arm_counts"), params).fetchall())
            served[experiment.id] = ServedExperiment(
                experiment, str(source), state, problem, answers, counts, built_at, evaluated_at
            )
        return Snapshot(
            built_at=built_at,
            fingerprint=meta["fingerprint"],
            experiments=served,
            problems=tuple(problems),
            file_id=(info.st_ino, info.st_mtime_ns),
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
