"""Schema versions: a read-only open of an older workspace, and what the schema files declare."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest

from threadlift.errors import WorkspaceError
from threadlift.ingest import ingest_files, rebuild
from threadlift.workspace import Workspace, latest_schema_version, migrations, readers_unaffected

# Tables that read-only commands (report, quarantine, the API snapshot) never read.
WRITER_ONLY_TABLES = {
    "eligibility_state", "eligibility_state_sources", "ingest_provenance", "raw_bodies",
    "erasures", "erased_bodies", "retention_policy", "retention_log"}


def _workspace_at(path: Path, version: int) -> None:
    """A workspace that says it is at ``version`` (tables of later versions are left in place,
    except the column 006 adds and the key types 007 and 008 change, so that a writer can
    migrate it)."""
    with Workspace.create(path) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('c1', 'BR', NULL)")
        ws.con.execute("ALTER TABLE eligibility_state DROP COLUMN eventful")
        ws.con.execute("ALTER TABLE ingest_provenance ALTER COLUMN row_key SET DATA TYPE VARCHAR")
        ws.con.execute("ALTER TABLE raw_bodies ALTER COLUMN body_hash SET DATA TYPE VARCHAR")
        ws.con.execute("UPDATE threadlift_meta SET value = $v WHERE key = 'schema_version'",
                       {"v": str(version)})


def test_read_only_open_of_a_workspace_behind_only_reader_neutral_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the schema as it was up to 009 (010 adds what reports read: rate_card tiers, pricing
    # rules), so that 005 is behind reader-neutral files only
    import threadlift.workspace

    up_to_009 = [(n, p) for n, p in migrations() if n <= 9]
    monkeypatch.setattr(threadlift.workspace, "migrations", lambda: up_to_009)
    path = tmp_path / "ws.duckdb"
    _workspace_at(path, 5)  # 006: eligibility_state, 007: ingest_provenance, 008: raw_bodies
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
    assert [path.name for path in marked] == [
        "005_eligibility_state.sql", "006_eligibility_eventful.sql", "007_provenance_numbers.sql",
        "008_body_hash_numbers.sql", "009_privacy.sql"]
    for path in marked:
        sql = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                        if not line.lstrip().startswith("--"))
        targets = set(re.findall(
            r"(?:CREATE TABLE(?: IF NOT EXISTS)?|ALTER TABLE|DROP TABLE(?: IF EXISTS)?|DELETE FROM"
            r"|INSERT INTO|UPDATE)\s+(\w+)", sql, re.I))
        assert targets, path.name
        assert targets <= WRITER_ONLY_TABLES, (path.name, targets)


def test_provenance_keys_in_hex_are_converted_to_the_numbers_ingest_writes(tmp_path: Path) -> None:
    """007: a key stored as the md5's hex digits becomes md5_number of the same natural key."""
    path = tmp_path / "ws.duckdb"
    fixture = Path(__file__).parent / "fixtures" / "webhooks" / "meta_docs_examples" / "wa_status__01.json"
    with Workspace.create(path) as ws:
        ingest_files(ws, "whatsapp", [fixture])
        message_ids = [str(m) for (m,) in ws.con.execute("SELECT message_id FROM messages").fetchall()]
        assert message_ids
        others = ws.con.execute(
            "SELECT table_name, row_key FROM ingest_provenance WHERE table_name <> 'messages'").fetchall()
        # back to schema 6: the keys as 32 hex digits (hashlib, not DuckDB, computes the
        # messages' ones; the other keys are written out byte by byte)
        ws.con.execute("DROP TABLE ingest_provenance")
        ws.con.execute("CREATE TABLE ingest_provenance (table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL)")
        for message_id in message_ids:
            ws.con.execute("INSERT INTO ingest_provenance VALUES ('messages', $k)",
                           {"k": hashlib.md5(message_id.encode()).hexdigest()})
        for table, key in others:
            ws.con.execute("INSERT INTO ingest_provenance VALUES ($t, $k)",
                           {"t": table, "k": int(key).to_bytes(16, "little").hex()})
        # (and the raw store as schema 6 kept it, for 008)
        ws.con.execute("ALTER TABLE raw_bodies ALTER COLUMN body_hash SET DATA TYPE VARCHAR USING md5(body)")
        ws.con.execute("UPDATE threadlift_meta SET value = '6' WHERE key = 'schema_version'")
    with Workspace.open(path) as ws:
        assert ws.schema_version() == latest_schema_version()
        stored = {int(k) for (k,) in ws.con.execute(
            "SELECT row_key FROM ingest_provenance WHERE table_name = 'messages'").fetchall()}
        # md5_number: the 16 digest bytes read as a little-endian number
        assert stored == {int.from_bytes(hashlib.md5(m.encode()).digest(), "little") for m in message_ids}
        assert sorted(ws.con.execute(
            "SELECT table_name, row_key FROM ingest_provenance WHERE table_name <> 'messages'"
        ).fetchall()) == sorted(others)
        # and a rebuild finds the rows they name: the messages are replaced, not doubled
        rebuild(ws)
        assert ws.con.execute("SELECT count(*), count(DISTINCT message_id) FROM messages").fetchall() == [
            (len(message_ids), len(message_ids))]


def test_body_hashes_in_hex_are_converted_and_still_find_the_duplicates(tmp_path: Path) -> None:
    """008: a raw-store hash stored as the md5's hex digits becomes md5_number of the body,
    so that ingesting the same bodies again after the migration adds nothing."""
    path = tmp_path / "ws.duckdb"
    fixtures = Path(__file__).parent / "fixtures" / "webhooks" / "meta_docs_examples"
    files = [fixtures / "wa_status__01.json", fixtures / "wa_message_template_status_update__01.json"]
    with Workspace.create(path) as ws:
        first = ingest_files(ws, "whatsapp", files)
        assert first.bodies >= 2
        bodies = [str(b) for (b,) in ws.con.execute("SELECT body FROM raw_bodies ORDER BY seq").fetchall()]
        # platform_events keeps the md5's hex digits, as hashlib writes them
        events = {str(h) for (h,) in ws.con.execute("SELECT body_hash FROM platform_events").fetchall()}
        assert events
        assert events <= {hashlib.md5(b.encode()).hexdigest() for b in bodies}
        # back to schema 7: the hashes as 32 hex digits, computed by hashlib
        ws.con.execute("ALTER TABLE raw_bodies ALTER COLUMN body_hash SET DATA TYPE VARCHAR")
        for seq, body in ws.con.execute("SELECT seq, body FROM raw_bodies").fetchall():
            ws.con.execute("UPDATE raw_bodies SET body_hash = $h WHERE seq = $s",
                           {"h": hashlib.md5(str(body).encode()).hexdigest(), "s": seq})
        ws.con.execute("UPDATE threadlift_meta SET value = '7' WHERE key = 'schema_version'")
    with Workspace.open(path) as ws:
        assert ws.schema_version() == latest_schema_version()
        stored = [int(h) for (h,) in ws.con.execute("SELECT body_hash FROM raw_bodies ORDER BY seq").fetchall()]
        # md5_number: the 16 digest bytes read as a little-endian number
        assert stored == [int.from_bytes(hashlib.md5(b.encode()).digest(), "little") for b in bodies]
        again = ingest_files(ws, "whatsapp", files)
        assert (again.bodies, again.duplicates) == (0, first.bodies)


NEWER = "this workspace was written by a newer threadlift (schema 999; this one knows up to {n}): upgrade threadlift"


def test_a_workspace_of_a_newer_schema_is_refused_by_every_open(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace.create(path) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('c1', 'BR', NULL)")
        ws.con.execute("UPDATE threadlift_meta SET value = '999' WHERE key = 'schema_version'")
    expected = NEWER.format(n=latest_schema_version())
    for opener in (Workspace.create, Workspace.open, lambda p: Workspace.open(p, read_only=True)):
        with pytest.raises(WorkspaceError) as info:
            opener(path)
        assert str(info.value) == f"workspace {path}: {expected}"
    with duckdb.connect(str(path), read_only=True) as con:  # nothing was written
        assert con.execute("SELECT value FROM threadlift_meta WHERE key = 'schema_version'").fetchall() == [("999",)]
        assert con.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]


def test_a_file_that_is_not_a_duckdb_database_is_refused_before_connecting(tmp_path: Path) -> None:
    import sqlite3

    lite = tmp_path / "crm.sqlite"
    with sqlite3.connect(lite) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    before = lite.read_bytes()
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    noise = tmp_path / "noise.duckdb"
    noise.write_bytes(bytes(range(256)) * 100)
    for path, expected in ((lite, "is a SQLite database"), (empty, "is an empty file"),
                           (noise, "is not a DuckDB database")):
        for opener in (Workspace.create, Workspace.open):
            with pytest.raises(WorkspaceError, match=expected) as info:
                opener(path)
            assert "not a threadlift workspace" in str(info.value)
    assert lite.read_bytes() == before


def test_a_truncated_workspace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace.create(path) as ws:
        ws.con.execute("INSERT INTO contacts SELECT 'c' || i, 'BR', NULL FROM range(100000) t(i)")
    data = path.read_bytes()
    for size in (len(data) // 2, 5000):
        cut = tmp_path / f"cut{size}.duckdb"
        cut.write_bytes(data[:size])
        with pytest.raises(WorkspaceError, match="is truncated"):
            Workspace.open(cut, read_only=True)
    with Workspace.open(path) as ws:
        # the whole file opens, also once DuckDB cut free blocks off its end (its header then
        # still counts them until the next checkpoint)
        ws.con.execute("CREATE TABLE scratch AS SELECT i, i::VARCHAR AS s FROM range(1000000) t(i)")
        ws.con.execute("CHECKPOINT")
        ws.con.execute("DROP TABLE scratch")
        ws.con.execute("CHECKPOINT")
    with Workspace.open(path, read_only=True) as ws:
        assert ws.counts()["contacts"] == 100000
