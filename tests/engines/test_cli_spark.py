"""``threadlift assign --engine spark``: the CLI's Spark assignment equals DuckDB's.

Spark runs in local mode over a lake exported from the workspace (see tests/test_spark.py);
starting the JVM takes tens of seconds on a small machine, so the module is ``slow``.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

pytest.importorskip("pyspark")

from threadlift.assign.assignment import set_global_holdout
from threadlift.cli import main
from threadlift.datasets.synthetic import generate_whatsapp_experiment, write_tables
from threadlift.engines.lake import export_lake
from threadlift.loading import LOADABLE_TABLES, load_files
from threadlift.workspace import Workspace

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def test_cli_spark_assignment_equals_duckdb(tmp_path: Path) -> None:
    data = generate_whatsapp_experiment(n_contacts=3_000, seed=11)
    files = write_tables(data, tmp_path / "data")
    workspace = tmp_path / "ws.duckdb"
    with Workspace.create(workspace) as ws:
        for table, path in files.items():
            if table in LOADABLE_TABLES:
                load_files(ws, table, [path])
        set_global_holdout(ws, salt="program", percent=7)
        export_lake(ws, tmp_path / "lake")
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(data.experiment_toml)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    runner = CliRunner()
    spark = runner.invoke(main, ["assign", str(experiment), "--engine", "spark", "--lake",
                                 str(tmp_path / "lake"), "--master", "local[2]", "-w", str(workspace)])
    assert spark.exit_code == 0, spark.output
    assert "global holdout: 7 % of contacts (salt 'program'" in spark.output
    duck = runner.invoke(main, ["assign", str(experiment), "-w", str(workspace)])
    assert duck.exit_code == 0, duck.output
    # the same counts printed: newly assigned, per arm, per exclusion reason
    assert spark.output.splitlines()[1:-1] == duck.output.splitlines()
    con = duckdb.connect()
    from_spark = con.execute(
        "SELECT experiment_id, contact_id, arm, bucket, assigned_at "
        "FROM read_parquet($p) ORDER BY contact_id",
        {"p": str(tmp_path / "lake" / "assignments" / "*.parquet")},
    ).fetchall()
    with Workspace.open(workspace, read_only=True) as ws:
        from_duckdb = ws.con.execute(
            "SELECT experiment_id, contact_id, arm, bucket, assigned_at FROM assignments ORDER BY contact_id"
        ).fetchall()
        held_out = ws.con.execute(
            "SELECT count(*) FROM contacts WHERE threadlift_bucket('program', contact_id) < 700"
        ).fetchall()[0][0]
    assert len(from_duckdb) > 1_500
    assert held_out > 100
    assert from_spark == from_duckdb
    # a second Spark run adds nothing
    again = runner.invoke(main, ["assign", str(experiment), "--engine", "spark", "--lake",
                                 str(tmp_path / "lake"), "-w", str(workspace)])
    assert again.exit_code == 0, again.output
    assert ": 0 newly assigned" in again.output
