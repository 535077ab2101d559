"""Rendering sql/ for other engines: every query parses back, parameters stay literals,
the bucketing expression matches the golden vectors, and the portable rewrites keep
DuckDB's results (checked by running them on DuckDB)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp

from portable import PortableDuckDB
from threadlift.analysis import analyze
from threadlift.assign.assignment import assign_experiment
from threadlift.cli import main
from threadlift.datasets.synthetic import generate_whatsapp_experiment, write_tables
from threadlift.engines import dialects, sqlfiles
from threadlift.engines.sqlfiles import query_names, sql_text
from threadlift.errors import ConfigError, WorkspaceError
from threadlift.experiment import Experiment, parse_experiment
from threadlift.loading import LOADABLE_TABLES, load_files
from threadlift.workspace import Workspace

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "assignment_cases.json").read_text())
CASES = GOLDEN["cases"]
QUERIES = query_names("analysis/*/*.sql") + query_names("assign/*.sql")
SAMPLE_PARAMS: dict[str, Any] = {
    "experiment_id": "it's \"quoted\"; DROP TABLE assignments; --",
    "as_of": datetime(2026, 10, 10, 12, 30),
    "at": datetime(2026, 9, 28, 9),
    "since": datetime(2026, 9, 21),
    "assigned_at": datetime(2026, 9, 28, 9),
    "archived_at": datetime(2026, 10, 1),
    "registered_at": datetime(2026, 10, 1),
    "retired_at": datetime(2026, 10, 1),
    "set_at": datetime(2026, 10, 1),
    "window_days": 7,
    "days": 7,
    "cuped_days": [0, 28],
    "actions": ["order", "order"],
    "action_list": ["order"],
    "lookback": 28,
    "action": "order",
    "kinds": ["block", "report"],
    "channel": "whatsapp",
    "sender_id": None,
    "calling_codes": ["55", "1", "91"],
    "calling_regions": ["BR", "US", "IN"],
    "salt": "s",
    "arm_names": ["holdout", "whatsapp"],
    "arm_starts": [0, 1000],
    "arm_stops": [1000, 10000],
    "arm_channels": ["whatsapp"],
    "other_channels": ["sms", "email"],
    "position": 1,
    "read_arms": ["whatsapp", "holdout"],
    "read_channels": ["whatsapp", "whatsapp"],
    "rule_channels": ["whatsapp", "whatsapp"],
    "rule_categories": ["service", "marketing"],
    "rule_markets": [None, "US"],
    "rule_applies": ["always", "always"],
    "rule_effects": ["free", "blocked"],
    "rule_valid_from": [datetime(2024, 11, 1), datetime(2025, 4, 1)],
    "rule_valid_to": [datetime(2026, 10, 1), None],
    "category": "marketing",
    "require_consent": True,
    "marketing": True,
    "feedback_days": 90,
    "global_salt": None,
    "global_stop": 0,
    "layer_salt": None,
    "layer_start": 0,
    "layer_stop": 10000,
    "contact_ids": ["a", "b"],
    "layer_name": None,
    "version": 1,
    "fingerprint": "f",
    "design": "{}",
    "basis_points": 100,
    "dimension": "market",
    "market_dimensions": ["market"],
    "activity_dimensions": ["pre_period_activity"],
    "holdout_arm": "holdout",
    "horizons": [7, 30],
    "experiment_ids": ["welcome-offer", "winback"],
    "programme_start": datetime(2026, 9, 28, 9),
    "programme_id": "programme",
    "months": [0, 1],
    "step": 0,
    "last": 2,
}


@pytest.mark.parametrize("dialect", dialects.DIALECTS)
@pytest.mark.parametrize("query", QUERIES)
def test_every_query_renders_and_parses_back(query: str, dialect: str) -> None:
    params = {name: SAMPLE_PARAMS[name] for name in dialects.query_parameters(query)}
    rendered = dialects.render(query, dialect, params)
    statements = sqlglot.parse(rendered, read=dialect)
    assert len(statements) == 1
    assert statements[0] is not None
    assert not list(statements[0].find_all(exp.Placeholder))


@pytest.mark.parametrize("dialect", dialects.DIALECTS)
def test_a_hostile_value_stays_one_string_literal(dialect: str) -> None:
    value = SAMPLE_PARAMS["experiment_id"]
    rendered = dialects.render("analysis/units/quarantined_assignments", dialect, {"experiment_id": value})
    statement = sqlglot.parse_one(rendered, read=dialect)
    assert isinstance(statement, exp.Select)
    strings = [lit.this for lit in statement.find_all(exp.Literal) if lit.is_string]
    assert value in strings
    assert len(sqlglot.parse(rendered, read=dialect)) == 1
    assert not list(statement.find_all(exp.Drop))


def test_placeholders_are_kept_without_parameters() -> None:
    rendered = dialects.render("analysis/units/units", "bigquery")
    assert "@experiment_id" in rendered
    assert ":experiment_id" in dialects.render("analysis/units/units", "snowflake")


def test_a_missing_parameter_and_an_unknown_dialect_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"\$as_of"):
        dialects.render("analysis/units/units", "spark", {"experiment_id": "e", "window_days": 7})
    with pytest.raises(ConfigError, match="unknown SQL dialect"):
        dialects.render("analysis/units/units", "oracle")
    with pytest.raises(ConfigError, match="naive UTC"):
        dialects.literal(datetime(2026, 1, 1).astimezone())


def test_duckdb_bucketing_expression_matches_the_golden_vectors() -> None:
    con = duckdb.connect()
    rows = [(c["salt"], c["unit_id"], c["bucket"]) for c in CASES]
    con.execute("CREATE TABLE cases (salt VARCHAR, unit_id VARCHAR, expected INTEGER)")
    con.executemany("INSERT INTO cases VALUES (?, ?, ?)", rows)
    expression = dialects.bucket_sql("duckdb", "salt", "unit_id")
    wrong = con.execute(
        f"SELECT salt, unit_id, expected, {expression} AS got FROM cases WHERE got <> expected"
    ).fetchall()
    assert wrong == []
    assert len(rows) > 300


@pytest.mark.parametrize("dialect", dialects.DIALECTS)
def test_every_bucketing_expression_parses_in_its_dialect(dialect: str) -> None:
    case = CASES[0]
    salt = exp.Literal.string(case["salt"]).sql(dialect=dialect)
    unit = exp.Literal.string(case["unit_id"]).sql(dialect=dialect)
    text = dialects.bucket_sql(dialect, salt, unit)
    parsed = sqlglot.parse_one(f"SELECT {text}", read=dialect)
    assert parsed.find(exp.MD5) is not None or "md5" in text.lower()


def test_the_bucket_macro_becomes_the_dialect_expression() -> None:
    rendered = dialects.render(
        "assign/global_holdout#units", "spark", {"salt": "g", "basis_points": 100}
    )
    assert "threadlift_bucket" not in rendered.lower()
    assert "CONV(SUBSTRING(MD5(CONCAT(" in rendered


def test_parallel_list_parameters_become_a_values_table() -> None:
    rendered = dialects.render(
        "analysis/lift/action_moments", "spark", {"actions": ["order", "signup"], "cuped_days": [0, 28]}
    )
    assert "VALUES ('order', 0), ('signup', 28)" in rendered
    assert "EXPLODE" not in rendered
    assert "EXCEPT" not in rendered



MOMENT_QUERIES = (
    "analysis/lift/_action_moments_over_units",
    "analysis/lift/action_moments_one_lookback",
    "analysis/windows/state_moments",
)
"""The files that include the per-unit variables and the 27 sums themselves."""

OVER_UNITS_QUERIES = ("analysis/lift/action_moments", "analysis/exposure/triggered_moments")
"""Every unit's and the triggered units' moments: one body over a `moment_units` CTE."""


def runnable(query: str) -> list[str]:
    """The queries that run ``query``'s text: itself, or those that include a body fragment."""
    return list(OVER_UNITS_QUERIES) if query.endswith("/_action_moments_over_units") else [query]


def test_every_units_and_the_triggered_units_moments_are_one_body() -> None:
    body = sqlfiles.strip_header(sql_text("analysis/lift/_action_moments_over_units")).strip()
    for query in OVER_UNITS_QUERIES:
        raw = sqlfiles.strip_header(
            (sqlfiles.sql_dir() / f"{query}.sql").read_text(encoding="utf-8")
        ).strip().splitlines()
        assert len(raw) == 2, raw  # the units CTE, then the body
        assert raw[0].startswith("WITH moment_units AS (SELECT ")
        assert raw[1] == "-- include: analysis/lift/_action_moments_over_units"
        assert body in sql_text(query)


def test_the_moment_sums_are_written_once_and_included_by_each_moments_query() -> None:
    fragment = sqlfiles.strip_header(sql_text("analysis/lift/_moment_sums")).strip()
    assert fragment.count("fsum(") == 27
    for query in MOMENT_QUERIES:
        raw = (sqlfiles.sql_dir() / f"{query}.sql").read_text(encoding="utf-8")
        assert "fsum(ind * ind)" not in raw
        assert raw.count("-- include: analysis/lift/_moment_sums") == 1
        expanded = sql_text(query)
        assert "-- include:" not in expanded
        # the fragment, indented like the include line, once
        assert expanded.count("    fsum(pre_cnt * pre_cnt) AS pre_cnt_sum_squares") == 1
        assert [line.strip() for line in expanded.splitlines() if "fsum(" in line][-27:] == fragment.splitlines()
        for whole in runnable(query):
            for dialect in dialects.DIALECTS:
                rendered = dialects.render(whole, dialect)
                assert "pre_val_pre_cnt_sum_product" in rendered
                assert "pre_cnt_sum_squares" in rendered


def test_a_units_outcome_variables_are_written_once_and_included_by_each_moments_query() -> None:
    fragment = sqlfiles.strip_header(sql_text("analysis/lift/_unit_variables")).strip().splitlines()
    assert [line.rsplit(" AS ", 1)[1].rstrip(",") for line in fragment] == [
        "ind", "val", "cnt", "pre_ind", "pre_val", "pre_cnt",
    ]
    for query in MOMENT_QUERIES:
        raw = (sqlfiles.sql_dir() / f"{query}.sql").read_text(encoding="utf-8")
        assert "FILTER (WHERE w.ts" not in raw
        assert raw.count("-- include: analysis/lift/_unit_variables") == 1
        expanded = [line.strip() for line in sql_text(query).splitlines()]
        start = expanded.index(fragment[0])
        assert expanded[start : start + len(fragment)] == fragment
        for whole in runnable(query):
            for dialect in dialects.DIALECTS:
                assert "pre_cnt" in dialects.render(whole, dialect)


def test_fragments_are_not_queries() -> None:
    listed = CliRunner().invoke(main, ["sql", "--list"])
    assert listed.exit_code == 0
    assert "analysis/lift/action_moments" in listed.output.splitlines()
    assert "_moment_sums" not in listed.output
    assert not [q for q in QUERIES if "/_" in q]
    assert sqlfiles.is_fragment("analysis/lift/_moment_sums")
    assert not sqlfiles.is_fragment("analysis/lift/action_moments")


@pytest.fixture
def sql_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway sql/ directory for the loader (its caches emptied before and after)."""
    monkeypatch.setattr(sqlfiles, "sql_dir", lambda: tmp_path)
    sqlfiles.sql_text.cache_clear()
    (tmp_path / "q").mkdir()
    yield tmp_path / "q"
    sqlfiles.sql_text.cache_clear()


def test_an_include_is_expanded_indented_and_a_missing_one_names_the_file(sql_tree: Path) -> None:
    (sql_tree / "_part.sql").write_text("-- purpose: a part\n-- grain: x\n-- params: none\na,\nb\n")
    (sql_tree / "_nested.sql").write_text("-- purpose: nested\n-- include: q/_part\n")
    (sql_tree / "whole.sql").write_text("-- purpose: whole\nSELECT\n    -- include: q/_nested\nFROM t\n")
    assert sqlfiles.sql_text("q/whole") == "-- purpose: whole\nSELECT\n    a,\n    b\nFROM t\n"
    (sql_tree / "broken.sql").write_text("-- purpose: broken\nSELECT\n    -- include: q/_gone\nFROM t\n")
    with pytest.raises(WorkspaceError, match=r"sql/q/broken\.sql includes 'q/_gone', but there is no such SQL file"):
        sqlfiles.sql_text("q/broken")
    (sql_tree / "_loop.sql").write_text("-- include: q/_loop\n")
    (sql_tree / "loops.sql").write_text("-- include: q/_loop\n")
    with pytest.raises(WorkspaceError, match="cycle: q/loops -> q/_loop -> q/_loop"):
        sqlfiles.sql_text("q/loops")
    (sql_tree / "takes_a_query.sql").write_text("-- include: q/whole\n")
    with pytest.raises(WorkspaceError, match="is a query, not a fragment"):
        sqlfiles.sql_text("q/takes_a_query")


def test_an_inline_nests_select_lists_into_one_expression(sql_tree: Path) -> None:
    (sql_tree / "_rule.sql").write_text("-- purpose: rule\nCASE WHEN hit THEN 'hit' END -- a comment\n")
    (sql_tree / "_facts.sql").write_text("-- purpose: facts\nkind = 'a' AND x.kind > ts AS hit,\nf(ts, 2) AS unused\n")
    (sql_tree / "_row.sql").write_text("-- purpose: row\n'a' AS kind,\ncoalesce(t1,\n  t2) AS ts\n")
    (sql_tree / "whole.sql").write_text(
        "SELECT\n    -- inline: q/_rule over q/_facts, q/_row\n    AS r\nFROM t\n"
    )
    # each name replaced by its item, innermost last; quoted text and x.kind left alone
    assert sqlfiles.sql_text("q/whole") == (
        "SELECT\n    CASE WHEN (('a') = 'a' AND x.kind > (coalesce(t1, t2))) THEN 'hit' END\n    AS r\nFROM t\n"
    )
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        sqlfiles.sql_text("q/whole").replace("FROM t", "FROM (SELECT {'kind': 5} AS x, 1 AS t1, 2 AS t2) AS t")
    ).fetchall()
    assert rows == [("hit",)]
    (sql_tree / "_not_a_list.sql").write_text("-- purpose: bad\nkind = 'a'\n")
    (sql_tree / "bad.sql").write_text("SELECT\n    -- inline: q/_rule over q/_not_a_list\nFROM t\n")
    with pytest.raises(WorkspaceError, match="is not '<expression> AS <name>'"):
        sqlfiles.sql_text("q/bad")
    (sql_tree / "query.sql").write_text("SELECT\n    -- inline: q/whole over q/_row\nFROM t\n")
    with pytest.raises(WorkspaceError, match="is a query, not a fragment"):
        sqlfiles.sql_text("q/query")


def test_named_statements_are_loaded_one_at_a_time(sql_tree: Path) -> None:
    (sql_tree / "pair.sql").write_text(
        "-- purpose: two\n\n-- statement: first\n-- one\nSELECT 1;\n\n-- statement: second\nSELECT 2;\n"
    )
    assert sqlfiles.sql_text("q/pair#first") == "-- one\nSELECT 1"
    assert sqlfiles.sql_text("q/pair#second") == "SELECT 2"
    assert sqlfiles.statement_names("q/pair") == ["first", "second"]
    assert sqlfiles.query_names("q/*.sql") == ["q/pair#first", "q/pair#second"]
    with pytest.raises(WorkspaceError, match="holds named statements"):
        sqlfiles.sql_text("q/pair")
    with pytest.raises(WorkspaceError, match="no statement 'third'"):
        sqlfiles.sql_text("q/pair#third")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Experiment]]:
    directory = tmp_path_factory.mktemp("dialects")
    data = generate_whatsapp_experiment(n_contacts=4_000, seed=11)
    files = write_tables(data, directory / "data")
    ws = Workspace.create(directory / "ws.duckdb")
    for table, path in files.items():
        if table in LOADABLE_TABLES:
            load_files(ws, table, [path])
    experiment = parse_experiment(data.experiment_toml)
    assign_experiment(ws, experiment)
    try:
        yield ws, experiment
    finally:
        ws.close()


def _close(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return [d for k in sorted(keys) for d in _close(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _close(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return []
        return [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_portable_rewrites_give_the_reference_report_on_duckdb(
    demo: tuple[Workspace, Experiment],
) -> None:
    ws, experiment = demo
    as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
    reference = analyze(ws, experiment, as_of=as_of).to_dict()
    engine = PortableDuckDB(ws.con)
    rewritten = analyze(ws, experiment, as_of=as_of, engine=engine).to_dict()
    assert any("_asof_next" in text for text in engine.rendered)
    for key in ("generated_by",):
        reference.pop(key, None)
        rewritten.pop(key, None)
    assert _close(reference, rewritten) == []
