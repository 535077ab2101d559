"""The scale benchmark's DuckDB generator (``bench/scale_data.py``) and its workspace load."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import duckdb
import pytest

from threadlift.experiment import load_experiment
from threadlift.loading import load_files
from threadlift.workspace import NATURAL_KEYS, Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from scale_data import TABLES, generate_lake, load_workspace


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("scale") / "lake"
    generate_lake(4_000, directory, seed=3, chunk=1_500)
    return directory


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)


def test_fast_load_gives_the_tables_threadlift_load_gives(lake: Path, tmp_path: Path) -> None:
    fast = tmp_path / "fast.duckdb"
    load_workspace(lake, fast)
    experiment = load_experiment(lake / "experiment.toml")
    with Workspace.create(tmp_path / "loader.duckdb") as loaded, Workspace.open(fast) as ws:
        for table in TABLES:
            parts = sorted((lake / table).glob("*.parquet"))
            result = load_files(loaded, table, parts, experiments=[experiment])
            assert result.quarantined == 0, table
            assert _rows(ws.con, table) == _rows(loaded.con, table), table
        assert loaded.counts()["message_events"] < sum(
            len(duckdb.read_parquet(str(p)).fetchall())
            for p in (lake / "message_events").glob("*.parquet")
        ), "the lake repeats some webhooks, as platform logs do"


def test_natural_keys_stay_inside_one_part(lake: Path) -> None:
    con = duckdb.connect()
    for table in TABLES:
        glob = str(lake / table / "*.parquet")
        # a key column the lake leaves out (rate_card's tier bounds) is NULL in every row
        present = set(con.read_parquet(glob).columns)
        key = ", ".join(k for k in NATURAL_KEYS[table] if k in present)
        across = con.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM read_parquet($g, filename = true) "
            f"GROUP BY {key} HAVING count(DISTINCT filename) > 1)",
            {"g": glob},
        ).fetchall()[0][0]
        assert across == 0, table


def test_same_seed_same_lake_other_seed_other_lake(lake: Path, tmp_path: Path) -> None:
    generate_lake(4_000, tmp_path / "again", seed=3, chunk=1_500)
    generate_lake(4_000, tmp_path / "other", seed=4, chunk=1_500)
    con = duckdb.connect()
    for table in ("actions", "message_events", "assignments"):
        def rows(root: Path, name: str = table) -> list[tuple[object, ...]]:
            query = f"SELECT * FROM read_parquet('{root / name}/*.parquet')"
            return sorted(con.execute(query).fetchall(), key=repr)

        assert rows(lake) == rows(tmp_path / "again")
        assert rows(lake) != rows(tmp_path / "other")


def test_generated_conversion_recovers_the_datasets_truth(tmp_path: Path) -> None:
    summary = generate_lake(200_000, tmp_path / "lake", seed=11, chunk=100_000)
    truth = summary["truth"]
    glob = str(tmp_path / "lake")
    per_arm = duckdb.connect().execute(
        f"""
        WITH orders AS (
            SELECT DISTINCT contact_id FROM read_parquet('{glob}/actions/*.parquet')
            WHERE action = 'order' AND ts >= TIMESTAMP '2026-09-28 09:00:00'
              AND ts < TIMESTAMP '2026-10-05 09:00:00')
        SELECT arm, count(*), avg(CAST(o.contact_id IS NOT NULL AS INTEGER))
        FROM read_parquet('{glob}/assignments/*.parquet') LEFT JOIN orders AS o USING (contact_id)
        GROUP BY arm
        """
    ).fetchall()
    expected = {"holdout": truth["conversion_holdout"], "whatsapp": truth["conversion_treatment"]}
    for arm, units, conversion in per_arm:
        p = expected[arm]
        assert abs(conversion - p) < 4 * math.sqrt(p * (1 - p) / units), arm
