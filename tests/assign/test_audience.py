"""The audience sandbox: what an experiment file's SQL may read, and DuckDB's own lock."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from threadlift.assign.audience import audience_tables, check_tables_exist, lock_down
from threadlift.errors import ConfigError


def test_the_tables_read_are_the_base_tables_less_the_ctes() -> None:
    sql = (
        "WITH br AS (SELECT contact_id FROM contacts WHERE market = 'BR') "
        "SELECT contact_id FROM br JOIN main.vip_list USING (contact_id) "
        "WHERE contact_id NOT IN (SELECT contact_id FROM feedback)"
    )
    assert audience_tables(sql) == {"contacts", "vip_list", "feedback"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM \"secrets.parquet\"",
        "SELECT * FROM other.main.contacts",
        "SELECT * FROM contacts, glob('/*')",
        "SELECT getenv('HOME') AS contact_id FROM contacts",
        "SELECT current_setting('home_directory') AS contact_id FROM contacts",
    ],
)
def test_anything_beyond_plain_workspace_tables_is_refused(sql: str) -> None:
    with pytest.raises(ValueError, match=r"table function|plain workspace|may not use"):
        audience_tables(sql)


def test_tables_must_exist_on_the_connection(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "ws.duckdb")) as con:
        con.execute("CREATE TABLE contacts (contact_id VARCHAR)")
        con.execute("CREATE TEMP TABLE picked AS SELECT 'a' AS contact_id")
        check_tables_exist(con, "SELECT contact_id FROM contacts JOIN picked USING (contact_id)", "x")
        with pytest.raises(ConfigError, match="x: audience_sql reads nowhere"):
            check_tables_exist(con, "SELECT contact_id FROM nowhere", "x")


def test_a_locked_connection_reads_no_file_and_writes_only_the_exports(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("contact_id\nz\n", encoding="utf-8")
    export = tmp_path / "out" / "assignments.csv"
    export.parent.mkdir()
    with duckdb.connect(str(tmp_path / "ws.duckdb")) as con:
        con.execute("CREATE TABLE contacts AS SELECT 'a' AS contact_id")
        lock_down(con, [export])
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM read_csv($p)", {"p": str(secret)}).fetchall()
        with pytest.raises(duckdb.PermissionException):
            con.execute("COPY contacts TO $p", {"p": str(tmp_path / "elsewhere.csv")})
        con.execute("COPY contacts TO $p (HEADER)", {"p": str(export)})
        con.execute("INSERT INTO contacts VALUES ('b')")
        assert con.execute("SELECT count(*) FROM contacts").fetchone() == (2,)
    assert export.read_text(encoding="utf-8").splitlines() == ["contact_id", "a"]
    assert not (tmp_path / "elsewhere.csv").exists()


def test_the_assign_command_still_writes_its_exports_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from threadlift.cli import main
    from threadlift.datasets.demo import run_demo

    demo = run_demo(tmp_path / "demo", n_contacts=400, seed=2)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(
        main,
        ["assign", str(demo.experiment_file), "-w", str(demo.workspace),
         "--out", "exports/assignments.csv", "--send-list", "exports/send.csv"],
    )
    assert done.exit_code == 0, done.output
    assignments = (tmp_path / "exports" / "assignments.csv").read_text(encoding="utf-8").splitlines()
    assert assignments[0].startswith("experiment_id,contact_id,arm")
    assert len(assignments) > 1
    assert (tmp_path / "exports" / "send.csv").is_file()
