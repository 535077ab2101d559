"""Schema versions: a read-only open of an older workspace, and what the schema files declare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from threadlift.errors import WorkspaceError
from threadlift.workspace import Workspace, latest_schema_version, migrations, readers_unaffected

# Tables that read-only commands (report, quarantine, the API snapshot) never read.
DERIVED_FOR_WRITERS = {"eligibility_state", "eligibility_state_sources"}


def _workspace_at(path: Path, version: int) -> None:
    """A workspace that says it is at ``version`` (tables of later versions are left in place,
    except the column 006 adds, so that a writer can migrate it)."""
    with Workspace.create(path) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('c1', 'BR', NULL)")
        ws.con.execute("ALTER TABLE eligibility_state DROP COLUMN eventful")
        ws.con.execute("UPDATE threadlift_meta SET value = $v WHERE key = 'schema_version'",
                       {"v": str(version)})


def test_read_only_open_of_a_workspace_behind_only_reader_neutral_files(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    _workspace_at(path, 5)  # 006 only touches eligibility_state
    with Workspace.open(path, read_only=True) as ws:
        assert ws.schema_version() == 5
        assert ws.con.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]
    with Workspace.open(path) as ws:  # a writer migrates it
        assert ws.schema_version() == latest_schema_version()


def test_read_only_open_is_refused_when_a_pending_file_matters_to_readers(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    _workspace_at(path, 3)  # 004 adds exposures, which reports read
    with pytest.raises(WorkspaceError, match="schema version 3; open it once read-write"):
        Workspace.open(path, read_only=True)


def test_reader_neutral_files_only_touch_tables_readers_never_read() -> None:
    marked = [path for _, path in migrations() if readers_unaffected(path)]
    assert [path.name for path in marked] == ["005_eligibility_state.sql", "006_eligibility_eventful.sql"]
    for path in marked:
        sql = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                        if not line.lstrip().startswith("--"))
        targets = set(re.findall(
            r"(?:CREATE TABLE(?: IF NOT EXISTS)?|ALTER TABLE|DROP TABLE(?: IF EXISTS)?|DELETE FROM"
            r"|INSERT INTO|UPDATE)\s+(\w+)", sql, re.I))
        assert targets, path.name
        assert targets <= DERIVED_FOR_WRITERS, (path.name, targets)
