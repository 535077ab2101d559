"""The workspace: one DuckDB file holding the canonical tables (docs/architecture.md, "Canonical tables").

Schema changes are numbered SQL files in ``sql/workspace/`` (``NNN_name.sql``). Opening a
workspace applies the ones above its recorded ``schema_version`` in order, each in its
own transaction, so later versions migrate a workspace without losing data. A read-only
open cannot migrate: it refuses an older workspace unless every pending file declares
``-- readers: unaffected`` (it only adds or changes tables that commands opening the
workspace read-only never read), so a scheduled ``report`` keeps working after an upgrade.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb

from threadlift.engines.sqlfiles import sql_dir
from threadlift.errors import WorkspaceError

DEFAULT_WORKSPACE = "threadlift.duckdb"
ENV_WORKSPACE = "THREADLIFT_WORKSPACE"
ENV_LOCK_WAIT = "THREADLIFT_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 10.0
ENV_MEMORY_LIMIT = "THREADLIFT_MEMORY_LIMIT"
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*$", re.IGNORECASE)

CANONICAL_TABLES = (
    "contacts",
    "identities",
    "consents",
    "messages",
    "message_events",
    "inbound",
    "actions",
    "feedback",
    "sender_quality",
    "rate_card",
    "assignments",
    "exposures",
    "quarantine",
)

NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id",),
    "identities": ("contact_id", "channel", "address", "sender_id"),
    "consents": ("contact_id", "channel", "sender_id", "scope", "status", "ts"),
    "messages": ("message_id",),
    "message_events": ("message_id", "status", "ts", "error_code"),
    "inbound": ("message_id",),
    "actions": ("action_id",),
    "feedback": ("contact_id", "channel", "sender_id", "kind", "ts"),
    "sender_quality": ("sender_id", "ts", "event", "quality_rating", "messaging_limit_tier"),
    "rate_card": ("channel", "market", "category", "valid_from", "tier_lower"),
    "assignments": ("experiment_id", "contact_id"),
    "exposures": ("experiment_id", "contact_id", "ts", "source"),
    "pricing_rules": ("rule", "valid_from"),
}
"""Per table, the columns that identify a row: loading a row whose key exists adds nothing."""

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Column:
    """A column of a canonical table as the workspace declares it."""

    name: str
    type: str
    required: bool


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> tuple[Any, ...] | None:
    """The first row of a query, reading the result to its end.

    DuckDB 2.0 refuses further relation work on a connection whose last result was not
    read to the end, so a bare ``fetchone()`` on the shared workspace connection would
    break the next ``register()`` or ``sql()`` call.
    """
    rows = con.execute(sql, params or {}).fetchall()
    return rows[0] if rows else None


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in a canonical (or temporary) table; ``table`` must be a trusted name."""
    row = first_row(con, f'SELECT count(*) FROM "{table}"')
    return int(row[0]) if row else 0


def default_workspace_path() -> Path:
    """``$THREADLIFT_WORKSPACE`` or ``./threadlift.duckdb``."""
    return Path(os.environ.get(ENV_WORKSPACE, DEFAULT_WORKSPACE))


def migrations() -> list[tuple[int, Path]]:
    """Schema files in the order they apply."""
    found = []
    for path in sorted((sql_dir() / "workspace").iterdir()):
        match = _MIGRATION.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return found


_READERS_UNAFFECTED = re.compile(r"^-- readers: unaffected\b", re.M)


def readers_unaffected(path: Path) -> bool:
    """Whether the schema file declares that read-only commands do not depend on it."""
    return bool(_READERS_UNAFFECTED.search(path.read_text(encoding="utf-8")))


def latest_schema_version() -> int:
    """The schema version this threadlift writes."""
    return max(version for version, _ in migrations())


class Workspace:
    """An open workspace. Use :meth:`open` (existing) or :meth:`create` (new or existing)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con
        # an in-memory copy (the API's snapshot builder) writes no file
        self._private = str(path) != ":memory:" and not _is_read_only(con)
        if self._private:
            _OwnerOnly.enter()

    @classmethod
    def create(cls, path: str | Path | None = None) -> Self:
        """Open ``path``, creating the file and its schema when needed, and migrate it."""
        resolved = Path(path) if path is not None else default_workspace_path()
        if resolved.parent and not resolved.parent.exists():
            resolved.parent.mkdir(parents=True, exist_ok=True)
        new = not resolved.exists()
        workspace = cls(resolved, _connect(resolved, read_only=False))
        if new and resolved.is_file():
            # personal data: readable by its owner only, before any row is written
            os.chmod(resolved, 0o600)
        try:
            apply_memory_limit(workspace.con, None)
            workspace.migrate()
        except BaseException:
            workspace.close()
            raise
        return workspace

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> Self:
        """Open an existing workspace (``threadlift init`` creates one).

        Args:
            path: The workspace file (default :func:`default_workspace_path`).
            read_only: Open without the write lock (reports, exports).
            memory_limit: DuckDB's memory limit for this connection (``8GB``, ``512MiB``,
                ``50%`` of the machine's memory); default ``$THREADLIFT_MEMORY_LIMIT``, else
                DuckDB's own (80 % of the machine's memory). Past it DuckDB spills to its
                temp directory, ``<workspace>.tmp`` beside the file, removed when the
                connection closes (:func:`memory_limit_setting`).
        """
        resolved = Path(path) if path is not None else default_workspace_path()
        if not resolved.exists():
            raise WorkspaceError(
                f"workspace {resolved} does not exist; create it with "
                f"`threadlift init --workspace {resolved}` (or `threadlift demo`)"
            )
        workspace = cls(resolved, _connect(resolved, read_only=read_only))
        try:
            apply_memory_limit(workspace.con, memory_limit)
        except BaseException:
            workspace.close()
            raise
        try:
            workspace._check_schema(read_only=read_only)
        except BaseException:
            workspace.close()
            raise
        return workspace

    def _check_schema(self, *, read_only: bool) -> None:
        """Migrate an older workspace (or check a read-only one needs no migration)."""
        version = self.schema_version()
        if version < latest_schema_version():
            pending = [path for number, path in migrations() if number > version]
            if read_only and all(readers_unaffected(path) for path in pending):
                return
            if read_only:
                raise WorkspaceError(
                    f"workspace {self.path} has schema version {version}; open it once "
                    f"read-write (any threadlift command that writes) to migrate it to "
                    f"{latest_schema_version()}"
                )
            self.migrate()
        self._refuse_newer(version)

    def _refuse_newer(self, version: int) -> None:
        if version > latest_schema_version():
            raise WorkspaceError(
                f"workspace {self.path}: this workspace was written by a newer threadlift "
                f"(schema {version}; this one knows up to {latest_schema_version()}): "
                "upgrade threadlift"
            )

    def schema_version(self) -> int:
        """The schema version recorded in the workspace (0 for an empty database)."""
        exists = first_row(
            self.con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'threadlift_meta'",
        )
        if not exists or not exists[0]:
            return 0
        row = first_row(self.con, "SELECT value FROM threadlift_meta WHERE key = 'schema_version'")
        if not row:
            return 0
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise WorkspaceError(
                f"workspace {self.path}: schema_version {row[0]!r} in threadlift_meta is not a "
                "number; restore the workspace from a backup"
            ) from None

    def migrate(self) -> int:
        """Apply every schema file above the recorded version; return the new version."""
        current = self.schema_version()
        self._refuse_newer(current)
        for version, path in migrations():
            if version <= current:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(path.read_text(encoding="utf-8"))
                self.con.execute(
                    "INSERT OR REPLACE INTO threadlift_meta VALUES ('schema_version', $v)",
                    {"v": str(version)},
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            current = version
        return current

    def columns(self, table: str) -> list[Column]:
        """Columns of a canonical table (or the loadable ``pricing_rules``), in order."""
        if table not in CANONICAL_TABLES and table not in NATURAL_KEYS:
            raise WorkspaceError(f"unknown table {table!r}; tables: {', '.join(CANONICAL_TABLES)}")
        rows = self.con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = $t ORDER BY ordinal_position",
            {"t": table},
        ).fetchall()
        return [Column(name, dtype, nullable == "NO") for name, dtype, nullable in rows]

    def counts(self) -> dict[str, int]:
        """Row count of every canonical table."""
        return {table: count_rows(self.con, table) for table in CANONICAL_TABLES}

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
        if self._private:
            self._private = False
            _OwnerOnly.leave()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _OwnerOnly:
    """The process's umask narrowed to 0077 while any workspace is open for writing.

    DuckDB creates the WAL beside the workspace on the first write after each checkpoint,
    with the process's umask (0644 under the usual 0022): the rows it holds would be
    readable by every user of the machine. The first writable workspace narrows the umask,
    the last one closed restores it, so files created meanwhile (the WAL, a send list) are
    owner-only (docs/privacy.md).
    """

    _lock = threading.Lock()
    _open = 0
    _previous = 0

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            if cls._open == 0:
                cls._previous = os.umask(0o077)
            cls._open += 1

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            cls._open -= 1
            if cls._open == 0:
                os.umask(cls._previous)


def _is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    row = first_row(con, "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()")
    return bool(row and row[0])


def lock_wait_seconds() -> float:
    """How long to wait for another process's write lock (``$THREADLIFT_LOCK_WAIT``, default 10 s)."""
    raw = os.environ.get(ENV_LOCK_WAIT, "")
    if not raw.strip():
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(raw)
    except ValueError:
        raise WorkspaceError(
            f"{ENV_LOCK_WAIT}={raw!r} is not a number of seconds; set it to e.g. 10, or 0 to fail at once"
        ) from None
    if seconds < 0:
        raise WorkspaceError(f"{ENV_LOCK_WAIT}={raw!r} is negative; use 0 to fail at once")
    return seconds


def memory_limit_setting(raw: str, source: str) -> str:
    """``raw`` checked as a DuckDB memory limit: a positive number with a unit (KB, MB, GB,
    TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024) or a percentage of the
    machine's memory up to 100 %.

    Raises:
        WorkspaceError: naming ``source`` (where the value came from) and the accepted forms.
    """
    match = _MEMORY.match(raw)
    amount = float(match.group(1)) if match else 0.0
    percent = match is not None and match.group(2) == "%"
    if match is None or amount <= 0 or (percent and amount > 100):
        raise WorkspaceError(
            f"{source}={raw!r} is not a memory limit; give a positive size with its unit, "
            "e.g. 16GB, 512MB, 8GiB, or a share of the machine's memory such as 50%"
        )
    return f"{match.group(1)}{match.group(2)}"


def apply_memory_limit(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> None:
    """``SET memory_limit`` on ``con`` from ``memory_limit`` or ``$THREADLIFT_MEMORY_LIMIT``.

    Neither given: DuckDB's default stays (80 % of the machine's memory). Queries that need
    more spill to DuckDB's temp directory (``<workspace>.tmp`` for a workspace file).
    """
    source = "memory_limit"
    if memory_limit is None:
        memory_limit = os.environ.get(ENV_MEMORY_LIMIT, "").strip() or None
        source = ENV_MEMORY_LIMIT
    if memory_limit is None:
        return
    # checked against a closed pattern above, so the literal is safe to write in
    con.execute(f"SET memory_limit = '{memory_limit_setting(memory_limit, source)}'")


def _is_lock_conflict(exc: duckdb.IOException) -> bool:
    return "lock" in str(exc).lower()


_HEADERS_BYTES = 3 * 4096
"""A DuckDB file: a main header (8-byte checksum, then ``DUCK``), two database headers."""


def check_database_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB opens it.

    DuckDB opens any existing file: a SQLite one makes it install the sqlite extension
    (from the network), and other files fail with errors that do not say what is wrong.

    Raises:
        WorkspaceError: naming the file and what it is instead.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("rb") as handle:
        head = handle.read(16)
    what = None
    if size == 0:
        what = "is an empty file"
    elif head.startswith(b"SQLite format 3\x00"):
        what = "is a SQLite database"
    elif head[8:12] != b"DUCK":
        what = "is not a DuckDB database"
    if what is not None:
        raise WorkspaceError(
            f"{path} {what}, so it is not a threadlift workspace (a DuckDB file); give the "
            "workspace's path, or a new file name to create one with `threadlift init`"
        )
    if size < _HEADERS_BYTES:
        raise WorkspaceError(
            f"workspace {path} is truncated: {size:,} bytes, shorter than DuckDB's headers "
            f"({_HEADERS_BYTES:,} bytes); restore it from a backup"
        )


def check_complete(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a DuckDB file cut short, which fails later on the first query reaching a lost block.

    DuckDB writes whole blocks after the headers, and every block in use lies in the file
    (free blocks at the end are truncated away), so the file holds a whole number of blocks,
    at least as many as are in use.

    Raises:
        WorkspaceError: naming the file, the sizes and the fix.
    """
    row = first_row(
        con,
        "SELECT used_blocks, block_size FROM pragma_database_size() "
        "WHERE database_name = current_database()",
    )
    if row is None or not row[1]:
        return
    used, block_size = int(row[0]), int(row[1])
    size = path.stat().st_size
    if size < _HEADERS_BYTES + used * block_size or (size - _HEADERS_BYTES) % block_size:
        raise WorkspaceError(
            f"workspace {path} is truncated: {used} blocks of {block_size:,} bytes are in use "
            f"but the file has {size:,} bytes; restore it from a backup (a copy taken while "
            "threadlift was writing, or cut short, cannot be read)"
        )


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to :func:`lock_wait_seconds` while another process holds the file.

    DuckDB allows one writing process per file. A ``load`` that starts while the API copies
    its snapshot, or two scheduled jobs that overlap by a second, should wait briefly rather
    than fail; a lock held for longer still fails with an error that says what to do.
    """
    check_database_file(path)
    deadline = time.monotonic() + lock_wait_seconds()
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if _is_lock_conflict(exc) and time.monotonic() + delay <= deadline:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if not _is_lock_conflict(exc):
                raise WorkspaceError(
                    f"cannot open workspace {path}: {str(exc).splitlines()[0]}; if the file was "
                    "copied while threadlift was writing, or cut short, restore it from a backup"
                ) from exc
            raise WorkspaceError(
                f"cannot open workspace {path}: {exc}. Another process may hold it for writing; "
                f"wait for it to finish, open read-only, or raise {ENV_LOCK_WAIT} (seconds to wait, "
                f"now {lock_wait_seconds():g})"
            ) from exc
    try:
        check_complete(path, con)
    except BaseException:
        con.close()
        raise
    con.execute("SET TimeZone = 'UTC'")
    return con
