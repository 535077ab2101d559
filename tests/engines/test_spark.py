"""DuckDB and Spark on the same generated data: identical assignments, sufficient
statistics (1e-9 relative) and report.json numbers; Spark's bucketing expression against
the golden vectors.

Spark runs in local mode (``local[2]``, loopback only, no UI) over a lake exported from
the DuckDB workspace; one session serves the module and is stopped at its end. Starting
the JVM alone takes tens of seconds on a small machine, so the module is ``slow``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("pyspark")

from threadlift.analysis import analyze
from threadlift.analysis.guardrails import guardrail_counts
from threadlift.analysis.lift import metric_stats
from threadlift.analysis.units import prepare_units
from threadlift.assign.assignment import assign_experiment
from threadlift.cli import main
from threadlift.datasets.synthetic import generate_whatsapp_experiment, write_tables
from threadlift.engines import dialects
from threadlift.engines.base import Engine
from threadlift.engines.duckdb import DuckDBEngine, Rows
from threadlift.engines.lake import export_lake
from threadlift.engines.spark import SparkEngine, assign_spark
from threadlift.experiment import Experiment, parse_experiment
from threadlift.loading import LOADABLE_TABLES, load_files
from threadlift.workspace import Workspace

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "assignment_cases.json").read_text())
EXTRA_METRICS = """
[[metrics]]
name = "revenue_per_order_cuped"
type = "ratio"
action = "order"
cuped_days = 14

[[metrics]]
name = "carts"
type = "proportion"
action = "add_to_cart"
cuped_days = 28
"""


class Setup:
    """The workspace, the lake engine and the experiment shared by the module's tests."""

    def __init__(
        self, ws: Workspace, spark: SparkEngine, experiment: Experiment, experiment_toml: str
    ) -> None:
        self.ws = ws
        self.spark = spark
        self.experiment = experiment
        self.experiment_toml = experiment_toml
        self.as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
        self.spark_assigned: Any = None


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    directory = tmp_path_factory.mktemp("spark")
    data = generate_whatsapp_experiment(n_contacts=3_000, seed=5)
    files = write_tables(data, directory / "data")
    ws = Workspace.create(directory / "ws.duckdb")
    for table, path in files.items():
        if table in LOADABLE_TABLES:
            load_files(ws, table, [path])
    experiment_toml = data.experiment_toml + EXTRA_METRICS
    experiment = parse_experiment(experiment_toml)
    export_lake(ws, directory / "lake")  # before assignment: Spark assigns on its own
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    engine = SparkEngine.local(directory / "lake", master="local[2]")
    shared = Setup(ws, engine, experiment, experiment_toml)
    try:
        shared.spark_assigned = assign_spark(engine, experiment)
        assign_experiment(ws, experiment)
        yield shared
    finally:
        engine.stop()
        ws.close()


def _relative_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON-like values differ (floats beyond 1e-9 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in sorted(set(a) | set(b)) for d in _relative_differences(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _relative_differences(x, y, f"{path}[{i}]")
        ]
    numbers = isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)
    if numbers and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12):
        return []
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_assignments_are_identical(setup: Setup) -> None:
    duck = sorted(
        setup.ws.con.execute(
            "SELECT contact_id, arm, bucket, assigned_at FROM assignments ORDER BY contact_id"
        ).fetchall()
    )
    spark = sorted(
        tuple(row)
        for row in setup.spark.spark.sql(
            "SELECT contact_id, arm, bucket, assigned_at FROM assignments"
        ).collect()
    )
    assert len(duck) > 2_000
    assert spark == duck
    assert setup.spark_assigned.assigned == len(duck)


def test_sufficient_statistics_are_identical(setup: Setup) -> None:
    results = []
    engines: list[Engine] = [DuckDBEngine(setup.ws.con), setup.spark]
    for engine in engines:
        units = prepare_units(engine, setup.experiment, setup.as_of)
        moments = {
            metric: {arm: asdict(s) for arm, s in per_arm.items()}
            for metric, per_arm in metric_stats(engine, setup.experiment).items()
        }
        guardrails = {
            f"{arm}:{channel}:{kind}": n
            for (arm, channel, kind), n in guardrail_counts(engine, setup.experiment).items()
        }
        results.append({"units": units, "moments": moments, "guardrails": guardrails})
    duck, spark = results
    assert duck["moments"]["revenue_per_order_cuped"]["whatsapp"]["covariate_sum"] > 0
    assert _relative_differences(duck, spark) == []


def test_report_numbers_are_identical(setup: Setup) -> None:
    duck = analyze(setup.ws, setup.experiment, as_of=setup.as_of).to_dict()
    spark = analyze(setup.ws, setup.experiment, as_of=setup.as_of, engine=setup.spark).to_dict()
    for key in ("metrics", "guardrails", "funnel", "arms", "srm", "cost", "complier", "cumulative"):
        assert _relative_differences(duck[key], spark[key], key) == []
    assert _relative_differences(duck, spark) == []


def test_spark_bucketing_expression_matches_the_golden_vectors(setup: Setup) -> None:
    spark = setup.spark.spark
    rows = [(c["salt"], c["unit_id"], int(c["bucket"])) for c in GOLDEN["cases"]]
    frame = spark.createDataFrame(rows, schema="salt STRING, unit_id STRING, expected INT")
    frame.createOrReplaceTempView("golden_cases")
    expression = dialects.bucket_sql("spark", "salt", "unit_id")
    wrong = spark.sql(
        f"SELECT salt, unit_id, expected, {expression} AS got FROM golden_cases "
        f"WHERE {expression} <> expected"
    ).collect()
    assert wrong == []


def test_report_all_runs_every_experiment_on_spark(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``report --all --engine spark`` reports each experiment on the lake, like DuckDB does."""
    setup.ws.con.execute("CHECKPOINT")
    workspace = tmp_path / "copy.duckdb"
    shutil.copy(setup.ws.path, workspace)  # the fixture holds the original open for writing
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    (experiments / "winback.toml").write_text(setup.experiment_toml)
    started: list[str] = []
    queries: list[str] = []
    stopped: list[bool] = []
    run = setup.spark.run

    def local(lake: str | Path, **_: object) -> SparkEngine:
        started.append(str(lake))
        return setup.spark

    def counted(query: str, params: Mapping[str, Any] | None = None) -> Rows:
        queries.append(query)
        return run(query, params)

    monkeypatch.setattr(SparkEngine, "local", staticmethod(local))  # reuse the module's session
    monkeypatch.setattr(setup.spark, "run", counted)
    monkeypatch.setattr(setup.spark, "stop", lambda: stopped.append(True))
    as_of = setup.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    common = ["report", "--all", str(experiments), "--as-of", as_of, "-w", str(workspace)]
    spark = CliRunner().invoke(
        main, [*common, "--out", str(tmp_path / "spark"), "--engine", "spark", "--lake", setup.spark.lake]
    )
    assert spark.exit_code in (0, 3), spark.output
    assert started == [setup.spark.lake]
    assert stopped == [True]
    assert "analysis/lift/action_moments" in queries
    duck = CliRunner().invoke(main, [*common, "--out", str(tmp_path / "duck")])
    assert duck.exit_code == spark.exit_code, duck.output
    date = setup.as_of.date().isoformat()
    reports = [
        json.loads((tmp_path / engine / setup.experiment.id / date / "report.json").read_text())
        for engine in ("duck", "spark")
    ]
    assert reports[0]["metrics"]
    assert set(reports[0]) == set(reports[1])
    for key in ("metrics", "guardrails", "funnel", "arms", "srm", "cost", "complier", "cumulative"):
        assert _relative_differences(reports[0][key], reports[1][key], key) == []


def test_report_all_on_spark_needs_a_lake(tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    done = CliRunner().invoke(
        main, ["report", "--all", str(experiments), "--out", str(tmp_path / "out"), "--engine", "spark",
               "-w", str(tmp_path / "ws.duckdb")]
    )
    assert done.exit_code == 2
    assert "--engine spark needs --lake DIR" in done.output


def test_a_multi_channel_experiment_assigns_the_same_population_on_spark(
    setup: Setup, tmp_path: Path
) -> None:
    """1,000 WhatsApp-only, 1,000 SMS-only, 1,000 all-three contacts: only the last
    1,000 enter the four cells, on Spark as in DuckDB, with the same exclusions."""
    from assign.test_assignment import make_experiment
    from assign.test_channels import FOUR_CELLS, _world

    ws = Workspace.create(tmp_path / "channels.duckdb")
    try:
        _world(ws)
        ws.con.execute("CHECKPOINT")
        export_lake(ws, tmp_path / "lake")
        experiment = make_experiment(arms=FOUR_CELLS)
        engine = SparkEngine(setup.spark.spark, tmp_path / "lake")
        try:
            on_spark = assign_spark(engine, experiment)
            spark_rows = sorted(
                tuple(row) for row in engine.spark.sql("SELECT contact_id, arm FROM assignments").collect()
            )
        finally:
            setup.spark.refresh()  # the module's other tests read the shared session's views
        in_duckdb = assign_experiment(ws, experiment)
        duck_rows = sorted(ws.con.execute("SELECT contact_id, arm FROM assignments").fetchall())
    finally:
        ws.close()
    assert len(duck_rows) == 1000
    assert {c.split("-")[0] for c, _ in duck_rows} == {"all"}
    assert spark_rows == duck_rows
    assert on_spark.excluded == in_duckdb.excluded == {"no_consent on sms": 1000, "no_consent on whatsapp": 1000}
