"""Lift by segment: every metric's comparison within each segment of each segment dimension,
and a test of whether the effects differ across a dimension's segments (heterogeneity).

A segment is fixed before treatment, alike in every arm, so within a segment assignment is
still random and the comparison is an intent-to-treat effect for that segment. The
dimensions (:meth:`threadlift.experiment.Experiment.segment_dimensions`) are the contact's
market, its pre-period activity (the metrics' actions over the CUPED lookback), a column
of ``contacts`` or the experiment's own query of ``(contact_id, segment)``. A query reads
the canonical tables as they stood before ``assigned_at`` (``sql/analysis/segments/as_of.sql``)
in the sandbox of ``audience_sql`` (:mod:`threadlift.assign.audience`).

The SQL (``sql/analysis/segments/``) returns the per-arm sufficient statistics of
``analysis/lift`` grouped by two more keys (dimension, segment); each segment is compared
with :func:`threadlift.analysis.lift.compare_metric`, the whole experiment's comparison
(same test, CUPED included). A segment with fewer than ``min_units`` units in some arm is
pooled into ``other`` (statistics add up), which names them. Python never sees per-unit
rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from threadlift.analysis.lift import (
    Correction,
    _metric_specs,
    _stats_by_metric,
    compare_metric,
    comparison_pairs,
)
from threadlift.assign.audience import audience_tables, check_tables_exist
from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.engines.base import Engine
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.engines.sqlfiles import quote_identifier, sql_dir, sql_text, statement_names
from threadlift.errors import ConfigError
from threadlift.experiment import Experiment, Segment

OTHER = "other"
"""The segment that pools every segment below its dimension's ``min_units``."""

UNKNOWN = "unknown"
"""The segment of a unit its dimension gives no label (no market, not in the query)."""

SEGMENT_SQL_FIELD = "a segment's sql"

ACTIVITY_LEVELS = ("none", "some", "frequent")
"""The segments of ``pre_period_activity``, in the order the report lists them."""


@dataclass(frozen=True)
class SegmentRow:
    """One metric's comparison of one arm with its control arm within one segment."""

    dimension: str
    """The segment dimension's name (``market``, ``pre_period_activity``, a declared one)."""
    segment: str
    """The segment: a value of the dimension, ``unknown`` (no label) or ``other`` (pooled)."""
    metric: str
    type: str
    arm: str
    control_arm: str
    units_control: int
    units_treatment: int
    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    pvalue_adjusted: float
    """Adjusted within the dimension (every segment, metric and arm pair of it)."""
    method: str
    error: str | None
    """Named error code of a degenerate comparison (``None`` when it is sound)."""
    pooled_segments: list[str] = field(default_factory=list)
    """For ``other``: the segments pooled into it, each below ``min_units`` in some arm."""


@dataclass(frozen=True)
class HeterogeneityRow:
    """Whether one metric's effect of one arm differs across one dimension's segments."""

    dimension: str
    metric: str
    arm: str
    control_arm: str
    segments: int
    """The segments whose effect entered the test (finite effect and standard error)."""
    statistic: float
    """Cochran's Q."""
    df: int
    pvalue: float
    """``P(χ²_df ≥ Q)``: small when the segments' effects differ more than chance allows."""
    method: str
    error: str | None


@dataclass(frozen=True)
class SegmentLifts:
    """The lift of every segment, and the heterogeneity test of every dimension."""

    segments: list[SegmentRow]
    heterogeneity: list[HeterogeneityRow]


def segment_lifts(
    engine: Engine, experiment: Experiment, correction: Correction
) -> SegmentLifts:
    """Every metric's comparison per segment of each segment dimension, with heterogeneity.

    Needs ``_units`` (:func:`threadlift.analysis.units.prepare_units`).

    Args:
        engine: Where the SQL runs. A ``by`` column other than ``market`` and a ``sql``
            segment need DuckDB (they run the experiment's own query).
        experiment: The experiment (its declared segments or the defaults).
        correction: The p-value adjustment applied within each dimension.

    Raises:
        ConfigError: a segment's query or column does not run on the workspace, reads a
            table outside its sandbox, or gives a unit more than one segment.
    """
    dimensions = experiment.segment_dimensions()
    specs = _metric_specs(experiment)
    if not dimensions or not specs:
        return SegmentLifts([], [])
    label_units(engine, experiment, dimensions)
    moments = engine.run(
        "analysis/segments/moments",
        {"actions": [a for a, _ in specs], "cuped_days": [c for _, c in specs]},
    ).dicts()
    rows: list[SegmentRow] = []
    tests: list[HeterogeneityRow] = []
    for dimension in dimensions:
        found = [r for r in moments if str(r["dimension"]) == dimension.name]
        dimension_rows, dimension_tests = _dimension_lifts(experiment, dimension, found)
        adjusted = stats.adjust_pvalues([r.pvalue for r in dimension_rows], method=correction)
        rows += [_with_adjusted(r, p) for r, p in zip(dimension_rows, adjusted, strict=True)]
        tests += dimension_tests
    return SegmentLifts(rows, tests)


def _dimension_lifts(
    experiment: Experiment, dimension: Segment, moments: list[dict[str, Any]]
) -> tuple[list[SegmentRow], list[HeterogeneityRow]]:
    arms = [arm.name for arm in experiment.arms]
    units: dict[str, dict[str, int]] = {}
    for row in moments:
        units.setdefault(str(row["segment"]), {})[str(row["arm"])] = int(row["units"])
    small = sorted(
        s for s, per_arm in units.items()
        if s == OTHER or min(per_arm.get(arm, 0) for arm in arms) < dimension.min_units
    )
    by_segment: dict[str, dict[str, dict[str, SufficientStats]]] = {}
    for segment in units:
        per_metric = _stats_by_metric(
            experiment, [r for r in moments if str(r["segment"]) == segment]
        )
        target = OTHER if segment in small else segment
        if target in by_segment:
            pooled = by_segment[target]
            by_segment[target] = {
                metric: {arm: pooled[metric][arm] + per_arm[arm] for arm in per_arm}
                for metric, per_arm in per_metric.items()
            }
        else:
            by_segment[target] = per_metric
    pooled_names = [s for s in small if s != OTHER]
    levels = ACTIVITY_LEVELS if dimension.builtin == "pre_period_activity" else ()
    order = sorted(
        by_segment,
        key=lambda s: (s == OTHER, s == UNKNOWN, levels.index(s) if s in levels else 0, s),
    )
    rows: list[SegmentRow] = []
    tests: list[HeterogeneityRow] = []
    for metric in experiment.metrics:
        allowed = set(metric.arms) if metric.arms else None
        for arm, control_arm in comparison_pairs(experiment):
            if allowed is not None and not {arm, control_arm} <= allowed:
                continue
            comparisons = []
            for segment in order:
                per_arm = by_segment[segment][metric.name]
                comparison = compare_metric(experiment, metric, per_arm, control_arm, arm)
                comparisons.append(comparison)
                rows.append(
                    _row(
                        dimension.name,
                        segment,
                        metric.name,
                        metric.type,
                        arm,
                        control_arm,
                        comparison,
                        pooled_names if segment == OTHER else [],
                    )
                )
            sound = [c for c in comparisons if c.error is None]
            test = stats.heterogeneity([c.effect_size for c in sound], [c.se for c in sound])
            tests.append(
                HeterogeneityRow(
                    dimension=dimension.name,
                    metric=metric.name,
                    arm=arm,
                    control_arm=control_arm,
                    segments=test.estimates,
                    statistic=test.statistic,
                    df=test.df,
                    pvalue=test.pvalue,
                    method=test.method,
                    error=test.error,
                )
            )
    return rows, tests


def _row(
    dimension: str,
    segment: str,
    metric: str,
    metric_type: str,
    arm: str,
    control_arm: str,
    c: stats.Comparison,
    pooled: list[str],
) -> SegmentRow:
    return SegmentRow(
        dimension=dimension,
        segment=segment,
        metric=metric,
        type=metric_type,
        arm=arm,
        control_arm=control_arm,
        units_control=c.control_units,
        units_treatment=c.treatment_units,
        control=c.control,
        treatment=c.treatment,
        effect_size=c.effect_size,
        effect_size_ci_lower=c.effect_size_ci_lower,
        effect_size_ci_upper=c.effect_size_ci_upper,
        rel_effect_size=c.rel_effect_size,
        rel_effect_size_ci_lower=c.rel_effect_size_ci_lower,
        rel_effect_size_ci_upper=c.rel_effect_size_ci_upper,
        pvalue=c.pvalue,
        pvalue_adjusted=float("nan"),
        method=c.method,
        error=c.error,
        pooled_segments=list(pooled),
    )


def _with_adjusted(row: SegmentRow, adjusted: float) -> SegmentRow:
    return replace(row, pvalue_adjusted=adjusted)


def label_units(engine: Engine, experiment: Experiment, dimensions: Sequence[Segment]) -> None:
    """Create ``_segment_units``: every analysed unit's segment in each dimension."""
    activity = [d.name for d in dimensions if d.builtin == "pre_period_activity"]
    engine.run(
        "analysis/segments/units#create",
        {
            "market_dimensions": [d.name for d in dimensions if d.by == "market"],
            "activity_dimensions": activity,
            "action_list": sorted({m.action for m in experiment.metrics}),
            "lookback": experiment.activity_lookback,
        },
    )
    for dimension in dimensions:
        if dimension.builtin is not None or dimension.by == "market":
            continue
        _user_labels(engine, experiment, dimension)
        conflicts = int(engine.run("analysis/segments/units#conflicts").rows[0][0])
        if conflicts:
            raise ConfigError(
                f"experiment {experiment.id}: segment {dimension.name!r} gives {conflicts:,} "
                "units more than one segment; a unit must be in one segment of a dimension "
                "(return one row per contact_id)"
            )
        engine.run("analysis/segments/units#labelled", {"dimension": dimension.name})


def _user_labels(engine: Engine, experiment: Experiment, dimension: Segment) -> None:
    """Create ``_segment_labels(contact_id, segment)`` from a contacts column or a query."""
    where = f"experiment {experiment.id}: segment {dimension.name!r}"
    if not isinstance(engine, DuckDBEngine):
        raise ConfigError(
            f"{where}: a segment by a contacts column other than market, or by sql, runs on "
            f"DuckDB only (this analysis runs on {engine.name}); use by = \"market\", the "
            "pre_period_activity built-in, or analyse on the workspace"
        )
    con = engine.con
    params: dict[str, Any] = {}
    import duckdb

    if dimension.by is not None:
        columns = {
            str(name)
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = 'contacts'"
            ).fetchall()
        } - {"contact_id"}
        if dimension.by not in columns:
            raise ConfigError(
                f"{where}: contacts has no column {dimension.by!r}; its columns are "
                f"{', '.join(sorted(columns))}"
            )
        query = (
            f"SELECT contact_id, {quote_identifier(dimension.by, columns)} AS segment "
            "FROM contacts"
        )
    else:
        assert dimension.sql is not None
        text = dimension.sql.strip().rstrip(";").strip()
        try:
            query, read = as_of_query(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: sql {exc}") from exc
        check_tables_exist(con, text, where, SEGMENT_SQL_FIELD)
        views = {
            str(name).lower()
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
            ).fetchall()
        }
        through_views = sorted((audience_tables(text, SEGMENT_SQL_FIELD) - read) & views)
        if through_views:
            raise ConfigError(
                f"{where}: sql reads the view(s) {', '.join(through_views)}; a view is read as "
                "it is, so one over a canonical table would reach past assigned_at. Read the "
                "canonical tables directly (they are cut at assigned_at) or a table of your own"
            )
        if read:
            params["assigned_at"] = experiment.assigned_at
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _segment_labels AS "
            "SELECT CAST(contact_id AS VARCHAR) AS contact_id, CAST(segment AS VARCHAR) AS segment "
            f"FROM (\n{query}\n) AS segments WHERE contact_id IS NOT NULL",
            params,
        )
    except duckdb.Error as exc:
        raise ConfigError(
            f"{where}: its query fails on this workspace: {str(exc).splitlines()[0]}. It must "
            "be one SELECT over the workspace's tables returning contact_id and segment"
        ) from exc


@cache
def as_of_tables() -> frozenset[str]:
    """The canonical tables a segment query reads as of ``assigned_at`` (the statements of
    ``sql/analysis/segments/as_of.sql``)."""
    return frozenset(statement_names("analysis/segments/as_of"))


_CREATED = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)",
    re.IGNORECASE,
)


@cache
def internal_tables() -> frozenset[str]:
    """threadlift's own workspace tables (registry, raw store, state), from the migrations:
    a segment query may not read them (the raw store holds post-assignment data undated)."""
    names = {
        match.lower()
        for path in sorted((sql_dir() / "workspace").glob("*.sql"))
        for match in _CREATED.findall(path.read_text(encoding="utf-8"))
    }
    return frozenset(names - as_of_tables() - {"identities"})


def as_of_query(text: str) -> tuple[str, frozenset[str]]:
    """``text`` with every canonical table it reads replaced by that table as of
    ``$assigned_at`` (the statement of ``sql/analysis/segments/as_of.sql``, as a subquery
    under the table's alias or name).

    Returns:
        The rewritten query (DuckDB's own serialisation; bind ``$assigned_at`` when it
        reads a canonical table) and the canonical tables it reads.

    Raises:
        ValueError: the query leaves the audience sandbox (a file, a table function, a
            denied function, a qualified name), reads one of threadlift's own tables, or
            names a CTE after a canonical table (the rewrite could not tell them apart).
    """
    tables = audience_tables(text, SEGMENT_SQL_FIELD)
    internal = sorted(tables & internal_tables())
    if internal:
        raise ValueError(
            f"reads {', '.join(internal)}, threadlift's own table(s); a segment may read "
            "the canonical tables (as of assigned_at) and tables of your own"
        )
    import duckdb

    canonical = as_of_tables()
    with duckdb.connect() as con:

        def serialize(query: str) -> dict[str, Any]:
            row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
            tree: dict[str, Any] = json.loads(row[0]) if row else {}
            if tree.get("error"):
                raise ValueError(f"DuckDB cannot parse it: {tree.get('error_message')}")
            return tree

        tree = serialize(text)
        read: set[str] = set()
        for node in _nodes(tree["statements"]):
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                clash = sorted(
                    str(entry["key"]).lower() for entry in cte_map.get("map", [])
                    if str(entry["key"]).lower() in canonical | {"identities"}
                )
                if clash:
                    raise ValueError(
                        f"names a CTE {', '.join(clash)} like a canonical table; rename it"
                    )
            if node.get("type") != "BASE_TABLE":
                continue
            name = str(node.get("table_name", "")).lower()
            if name not in canonical:
                continue
            as_of = serialize(sql_text(f"analysis/segments/as_of#{name}"))["statements"][0]
            replacement = {
                "type": "SUBQUERY",
                "alias": node.get("alias") or str(node.get("table_name")),
                "sample": node.get("sample"),
                "query_location": node.get("query_location"),
                "query_location_length": node.get("query_location_length"),
                "subquery": as_of,
                "column_name_alias": node.get("column_name_alias", []),
            }
            node.clear()
            node.update(replacement)
            read.add(name)
        rewritten = con.execute("SELECT json_deserialize_sql(?)", [json.dumps(tree)]).fetchone()
    if rewritten is None:
        raise ValueError("DuckDB cannot rewrite it")
    return str(rewritten[0]), frozenset(read)


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every JSON object of a serialized statement, depth first."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
