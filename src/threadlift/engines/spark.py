"""The ``sql/`` queries on Spark, over Parquet tables in the lake layout.

:class:`SparkEngine` implements the :class:`~threadlift.engines.base.Engine` protocol: it
renders each named DuckDB query for Spark with :mod:`threadlift.engines.dialects` (parameters as
literals built by sqlglot) and runs it with ``spark.sql``. The canonical tables are the
lake's Parquet directories (:mod:`threadlift.engines.lake`), registered as temporary
views; a ``CREATE TEMP TABLE … AS`` query (``analysis/units/units``) becomes a checkpointed
temporary view that later queries read, as in DuckDB. So the whole analysis runs
unchanged::

    engine = SparkEngine.local("lake/")            # or SparkEngine(spark_session, "s3://…")
    analysis = analyze(ws, experiment, engine=engine)

:func:`assign_spark` assigns an experiment with ``sql/assign/evaluate.sql`` on Spark and
appends the new assignments to the lake, so the arms are the ones DuckDB gives.

Spark settings the results depend on (set by :meth:`SparkEngine.local`; set them on your
own session too): ``spark.sql.session.timeZone=UTC`` and
``spark.sql.timestampType=TIMESTAMP_NTZ`` (workspace times are naive UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from threadlift.assign.assignment import (
    GlobalHoldout,
    enrolment_closed,
    evaluation_params,
    evaluation_time,
    exclusion_key,
    nobody_eligible,
)
from threadlift.assign.audience import audience_tables
from threadlift.engines import dialects
from threadlift.engines.base import Rows
from threadlift.engines.lake import LAKE_TABLES, lake_tables
from threadlift.engines.sqlfiles import sql_dir, sql_text
from threadlift.errors import ConfigError, WorkspaceError
from threadlift.experiment import Experiment

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
"""Session settings threadlift's results depend on (naive UTC times)."""

_LOCAL_CONF: dict[str, str] = {
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
}

_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "TEXT": "STRING",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "INT": "INT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
}


_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \(.*?\n\);", re.DOTALL)
_ADD_COLUMN = re.compile(
    r"^ALTER TABLE (\w+) ADD COLUMN (?:IF NOT EXISTS )?(\w+) (\w+);", re.MULTILINE
)


@cache
def canonical_schemas() -> dict[str, str]:
    """Spark DDL schema (``"col TYPE, …"``) of every lake table, from the schema SQL."""
    # Only the lake tables' CREATE statements are parsed: the raw store's other tables use
    # DuckDB storage options sqlglot does not read.
    chunks = [
        found.group(0)
        for name in ("001_canonical_tables.sql", "003_raw_store.sql")
        for found in _CREATE_TABLE.finditer(
            (sql_dir() / "workspace" / name).read_text(encoding="utf-8")
        )
        if found.group(1) in LAKE_TABLES
    ]
    schemas: dict[str, str] = {}
    for statement in sqlglot.parse(";".join(chunks), read="duckdb"):
        if not isinstance(statement, exp.Create) or not isinstance(statement.this, exp.Schema):
            continue
        name = statement.this.this.name
        if name not in LAKE_TABLES:
            continue
        columns = []
        for column in statement.this.expressions:
            if isinstance(column, exp.ColumnDef):
                kind = column.args["kind"].sql(dialect="duckdb").upper()
                columns.append(f"`{column.name}` {_SPARK_TYPES.get(kind, 'STRING')}")
        schemas[name] = ", ".join(columns)
    # columns later migrations added to lake tables (rate_card's tier bounds)
    for path in sorted((sql_dir() / "workspace").glob("*.sql")):
        for table, column, kind in _ADD_COLUMN.findall(path.read_text(encoding="utf-8")):
            if table in schemas:
                schemas[table] += f", `{column}` {_SPARK_TYPES.get(kind.upper(), 'STRING')}"
    return schemas


class SparkEngine:
    """Runs threadlift's named SQL files on Spark over a Parquet lake.

    Args:
        spark: An active ``SparkSession`` (local or attached to a cluster); see
            :data:`SPARK_CONF` for the settings it needs.
        lake: The lake's root directory (any path Spark reads: local, ``s3a://``, …).
    """

    name = "spark"

    def __init__(self, spark: SparkSession, lake: str | Path) -> None:
        for key, value in SPARK_CONF.items():
            spark.conf.set(key, value)
        self.spark = spark
        self.lake = str(lake)
        self._owned = False
        self.present: set[str] = set()
        self.refresh()

    @classmethod
    def local(
        cls,
        lake: str | Path,
        *,
        master: str = "local[2]",
        driver_memory: str = "2g",
        conf: Mapping[str, str] | None = None,
    ) -> SparkEngine:
        """Start a Spark session (loopback only, no UI) and an engine over ``lake``.

        The engine owns the session: :meth:`stop` stops it.
        """
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.master(master).appName("threadlift")
        settings = {**_LOCAL_CONF, **SPARK_CONF, "spark.driver.memory": driver_memory}
        settings.update(conf or {})
        for key, value in settings.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        engine = cls(spark, lake)
        engine._owned = True
        return engine

    def refresh(self, table: str | None = None) -> None:
        """(Re-)register the lake's tables (or one of them) as temporary views."""
        # A remote lake (s3a://, abfss://, hdfs://…) is not listed: every table must exist.
        from pyspark.sql.functions import lit

        present = set(lake_tables(self.lake)) if "://" not in self.lake else set(LAKE_TABLES)
        self.present = present
        schemas = canonical_schemas()
        for name in LAKE_TABLES if table is None else (table,):
            if name in present:
                frame = self.spark.read.parquet(f"{self.lake.rstrip('/')}/{name}")
                # a lake written before a migration added columns: they read as NULL
                for column in self.spark.createDataFrame([], schema=schemas[name]).schema:
                    if column.name not in frame.columns:
                        frame = frame.withColumn(column.name, lit(None).cast(column.dataType))
            else:
                frame = self.spark.createDataFrame([], schema=schemas[name])
            frame.createOrReplaceTempView(name)

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> str:
        """The Spark SQL that :meth:`run` executes for ``sql/<query>.sql``."""
        return self._statement(query, params).sql(dialect="spark")

    def _statement(self, query: str, params: Mapping[str, Any] | None) -> exp.Expr:
        text = sql_text(query)
        tree = dialects.bind(dialects.parse(text), dict(params or {}))
        return dialects.portable(tree, "spark")

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        """Run ``sql/<query>.sql`` with ``params`` bound; return its rows (none for DDL)."""
        return self.execute(self._statement(query, params))

    def execute(self, statement: exp.Expr) -> Rows:
        """Run one statement already rendered portable (see :func:`threadlift.engines.dialects.portable`)."""
        if isinstance(statement, exp.Create):
            kind = str(statement.args.get("kind") or "").upper()
            body = statement.expression
            if kind not in ("TABLE", "VIEW") or not isinstance(body, exp.Query):
                raise WorkspaceError(f"the Spark engine cannot run {statement.sql('spark')[:80]}…")
            frame = self.spark.sql(body.sql(dialect="spark"))
            if kind == "TABLE":
                frame = frame.localCheckpoint(eager=True)
            frame.createOrReplaceTempView(statement.this.name)
            return Rows([], [])
        if not isinstance(statement, exp.Query):
            raise WorkspaceError(
                "the Spark engine reads the lake but does not write it with SQL "
                f"({type(statement).__name__}); use the DuckDB workspace for that"
            )
        frame = self.spark.sql(statement.sql(dialect="spark"))
        return Rows(list(frame.columns), [tuple(row) for row in frame.collect()])

    def frame(self, query: str, params: Mapping[str, Any] | None = None) -> DataFrame:
        """The Spark DataFrame of a SELECT query (lazy; nothing is collected)."""
        return self.spark.sql(self.sql(query, params))

    def stop(self) -> None:
        """Stop the Spark session when this engine started it (:meth:`local`)."""
        if self._owned:
            self.spark.stop()
            self._owned = False


@dataclass(frozen=True)
class SparkAssignResult:
    """What :func:`assign_spark` did."""

    experiment_id: str
    assigned: int
    """Contacts newly assigned (appended to the lake's ``assignments``)."""
    excluded: dict[str, int]
    """Unassigned candidates per failing eligibility rule."""
    by_arm: dict[str, int]
    """Contacts per arm after the run."""
    evaluated_at: datetime


def _audience(engine: SparkEngine, experiment: Experiment) -> None:
    """Register ``_tl_audience`` from ``audience_sql`` (DuckDB dialect, transpiled)."""
    if experiment.audience_sql is None:
        body: exp.Expr = exp.select("contact_id").distinct().from_("contacts")
    else:
        user = dialects.parse(experiment.audience_sql.strip().rstrip(";"))
        if not isinstance(user, exp.Query):
            raise ConfigError(
                f"experiment {experiment.id}: audience_sql must be exactly one SELECT statement"
            )
        missing = sorted(audience_tables(experiment.audience_sql) - set(LAKE_TABLES))
        if missing:
            raise ConfigError(
                f"experiment {experiment.id}: audience_sql reads {', '.join(missing)}; on Spark "
                f"it may read the lake's tables only ({', '.join(LAKE_TABLES)})"
            )
        body = (
            exp.select(exp.alias_(exp.cast(exp.column("contact_id"), "VARCHAR"), "contact_id"))
            .distinct()
            .from_(user.subquery("audience"))
            .where(exp.column("contact_id").is_(exp.null()).not_())
        )
    view = exp.Create(
        this=exp.to_table("_tl_audience"), kind="VIEW", expression=dialects.portable(body, "spark")
    )
    engine.execute(view)


def assign_spark(
    engine: SparkEngine,
    experiment: Experiment,
    *,
    at: datetime | None = None,
    global_holdout: GlobalHoldout | None = None,
    now: datetime | None = None,
) -> SparkAssignResult:
    """Assign the eligible audience of ``experiment`` on Spark; append it to the lake.

    The same statement as DuckDB's ``assign`` (``sql/assign/evaluate.sql``) decides each
    contact's bucket, eligibility and arm, so the arms are identical. Contacts already in
    the lake's ``assignments`` stay where they are; the eligible others are appended to
    ``<lake>/assignments/`` with ``assigned_at = at``. The runs follow DuckDB's rules: a
    first run (no assignment of the experiment in the lake) evaluates at ``assigned_at``
    and is refused when nobody is eligible; a later run of an ``enrolment = "once"``
    experiment evaluates at ``assigned_at`` and is refused when it would add anyone; a
    later run of a ``rolling`` one adds the contacts eligible at ``max(now, assigned_at)``,
    dated then.

    Unlike the workspace, a lake has no design registry: the caller keeps salt, weights
    and ``assigned_at`` fixed between runs (use the workspace's ``assign`` to get the
    fingerprint check and versions).

    Args:
        engine: The Spark engine over the lake.
        experiment: The validated experiment.
        at: Eligibility time and the recorded ``assigned_at`` (default: by the rules above).
        global_holdout: The program-level holdout to apply, if any.
        now: The time of this run (default: the current UTC time).

    Raises:
        NoEligibleContactsError: a first run found nobody eligible (nothing appended).
        EnrolmentClosedError: a later run of a ``once`` experiment would add contacts
            (nothing appended).
    """
    if experiment.assignment != "threadlift":
        raise ConfigError(
            f"experiment {experiment.id} declares assignment = \"{experiment.assignment}\": "
            "its arms do not come from `assign` (external: a loaded assignments file; "
            "global_holdout: the workspace's global holdout)"
        )
    before = engine.run("assign/arm_counts", {"experiment_id": experiment.id}).rows
    first_run = not any(int(n) for _arm, n in before)
    run_time = now or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    when = at or evaluation_time(experiment, first_run, run_time)
    _audience(engine, experiment)
    engine.run("assign/candidates#all")
    engine.run("assign/evaluate", evaluation_params(experiment, when, global_holdout))
    from pyspark.sql import functions

    new = engine.spark.table("_tl_evaluation").where("NOT assigned AND reason IS NULL")
    rows = new.select(
        functions.expr(dialects.literal(experiment.id).sql(dialect="spark")).alias("experiment_id"),
        functions.col("contact_id"),
        functions.col("arm"),
        functions.col("bucket").cast("int").alias("bucket"),
        functions.expr(dialects.literal(when).sql(dialect="spark")).alias("assigned_at"),
    )
    assigned = rows.count()
    params = evaluation_params(experiment, when, global_holdout)
    excluded: dict[str, int] = {}
    for reason, channel, count in engine.run("assign/exclusions").rows:
        key = exclusion_key(str(reason), channel, params)
        excluded[key] = excluded.get(key, 0) + int(count)
    target = f"{engine.lake.rstrip('/')}/assignments"
    if first_run and not assigned:
        raise nobody_eligible(
            experiment, when, excluded, unchanged=f"nothing was appended to {target}", source="lake"
        )
    if not first_run and experiment.enrolment == "once" and assigned:
        raise enrolment_closed(
            experiment,
            assigned,
            restart="assign it afresh in a workspace (`threadlift assign --new-version`): the "
            f"lake keeps no versions, so a fresh Spark run needs the experiment's rows in {target} removed",
        )
    if assigned:
        rows.write.mode("append").parquet(target)
    engine.refresh("assignments")
    by_arm = {arm.name: 0 for arm in experiment.arms}
    counts = engine.run("assign/arm_counts", {"experiment_id": experiment.id}).rows
    by_arm.update({str(arm): int(n) for arm, n in counts})
    return SparkAssignResult(experiment.id, assigned, excluded, by_arm, when)
