"""Lift by segment: each segment's comparison against tea-tasting on that segment's units,
pooling into ``other``, the heterogeneity test, and the segment query's sandbox (as of
``assigned_at``, workspace tables only)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tea_tasting as tt

from experiments import two_arm_toml
from threadlift.analysis import analyze
from threadlift.analysis.segments import SegmentLifts, label_units, segment_lifts
from threadlift.analysis.units import prepare_units
from threadlift.assign.assignment import assign_experiment
from threadlift.datasets.synthetic import (
    HOLDOUT_ARM,
    MARKETS,
    TREATMENT_ARM,
    generate_whatsapp_experiment,
)
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.errors import ConfigError
from threadlift.experiment import Experiment, parse_experiment
from threadlift.workspace import Workspace

MARKET_LIFT = {"BR": 0.9, "IN": 0.0, "MX": 0.0, "ID": 0.9, "ES": 0.0, "DE": 0.0}
"""A world whose effect differs by market (US: no delivery, so no effect either)."""

SEGMENTS = """
[[segments]]
name = "market"
by = "market"
min_units = 20

[[segments]]
name = "market_sql"
sql = "SELECT contact_id, market AS segment FROM contacts"
min_units = 20

[[segments]]
name = "market_pooled"
by = "market"
min_units = 150

[[segments]]
name = "activity"
builtin = "pre_period_activity"
min_units = 20
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Experiment, Any]]:
    data = generate_whatsapp_experiment(n_contacts=16_000, seed=11, market_lift=MARKET_LIFT)
    ws = Workspace.create(tmp_path_factory.mktemp("segments") / "ws.duckdb")
    for table, frame in data.tables.items():
        ws.con.register("_frame", frame)
        ws.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _frame')
        ws.con.unregister("_frame")
    experiment = parse_experiment(data.experiment_toml + SEGMENTS)
    assign_experiment(ws, experiment)
    try:
        yield ws, experiment, data
    finally:
        ws.close()


def _as_of(experiment: Experiment) -> datetime:
    return experiment.assigned_at + timedelta(days=experiment.window_days + 1)


@pytest.fixture(scope="module")
def lifts(world: tuple[Workspace, Experiment, Any]) -> SegmentLifts:
    ws, experiment, _ = world
    engine = DuckDBEngine(ws.con)
    prepare_units(engine, experiment, _as_of(experiment))
    return segment_lifts(engine, experiment, "holm")


def _per_unit(data: Any, experiment: Experiment) -> pd.DataFrame:
    """Each eligible contact's outcomes, from the generator's tables with pandas alone."""
    start = experiment.assigned_at
    end = start + timedelta(days=experiment.window_days)
    units = data.expected_arms[data.expected_arms["eligible"]][["contact_id", "arm"]]
    units = units.merge(data.tables["contacts"][["contact_id", "market"]], on="contact_id")
    orders = data.tables["actions"]
    orders = orders[orders["action"] == "order"]
    post = orders[(orders["ts"] >= start) & (orders["ts"] < end)]
    pre = orders[(orders["ts"] >= start - timedelta(days=28)) & (orders["ts"] < start)]
    post_sum = post.groupby("contact_id")["value"].agg(["sum", "count"])
    pre_sum = pre.groupby("contact_id")["value"].agg(["sum", "count"])
    frame = units.set_index("contact_id")
    frame["revenue"] = post_sum["sum"].reindex(frame.index).fillna(0.0)
    frame["orders"] = post_sum["count"].reindex(frame.index).fillna(0.0)
    frame["converted"] = (frame["orders"] > 0).astype(float)
    frame["pre_revenue"] = pre_sum["sum"].reindex(frame.index).fillna(0.0)
    frame["pre_orders"] = pre_sum["count"].reindex(frame.index).fillna(0.0)
    return frame.reset_index()


TEA_METRICS = {
    "conversion": tt.Mean("converted"),
    "revenue": tt.Mean("revenue", "pre_revenue"),
    "revenue_per_order": tt.RatioOfMeans("revenue", "orders"),
}

FIELDS = (
    "control",
    "treatment",
    "effect_size",
    "effect_size_ci_lower",
    "effect_size_ci_upper",
    "rel_effect_size",
    "rel_effect_size_ci_lower",
    "rel_effect_size_ci_upper",
    "pvalue",
)


def _assert_matches_tea_tasting(row: Any, units: pd.DataFrame) -> None:
    expected = TEA_METRICS[row.metric].analyze(
        units, control=HOLDOUT_ARM, treatment=TREATMENT_ARM, variant="arm"
    )
    assert row.units_control == int((units["arm"] == HOLDOUT_ARM).sum())
    assert row.units_treatment == int((units["arm"] == TREATMENT_ARM).sum())
    assert row.error is None, (row.segment, row.metric, row.error)
    for name in FIELDS:
        got, want = getattr(row, name), float(getattr(expected, name))
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12), (
            row.dimension, row.segment, row.metric, name, got, want)


def test_each_markets_comparison_equals_tea_tasting_on_its_units(
    world: tuple[Workspace, Experiment, Any], lifts: SegmentLifts
) -> None:
    _, experiment, data = world
    units = _per_unit(data, experiment)
    rows = [r for r in lifts.segments if r.dimension == "market"]
    assert {r.segment for r in rows} == {m.code for m in MARKETS}
    assert len(rows) == len(MARKETS) * len(experiment.metrics)
    for row in rows:
        assert row.pooled_segments == []
        _assert_matches_tea_tasting(row, units[units["market"] == row.segment])
    assert {r.method for r in rows} == {"welch_t", "welch_t+cuped", "delta_ratio"}


def test_a_segment_query_gives_the_same_comparisons_as_the_column(lifts: SegmentLifts) -> None:
    def key(row: Any) -> tuple[str, str]:
        return row.segment, row.metric

    by_column = {key(r): r for r in lifts.segments if r.dimension == "market"}
    by_query = {key(r): r for r in lifts.segments if r.dimension == "market_sql"}
    assert by_column.keys() == by_query.keys()
    for k, row in by_column.items():
        assert row.effect_size == by_query[k].effect_size
        assert row.pvalue == by_query[k].pvalue


def test_small_segments_are_pooled_into_other_and_named(
    world: tuple[Workspace, Experiment, Any], lifts: SegmentLifts
) -> None:
    _, experiment, data = world
    units = _per_unit(data, experiment)
    holdout = units[units["arm"] == HOLDOUT_ARM].groupby("market").size()
    treated = units[units["arm"] == TREATMENT_ARM].groupby("market").size()
    small = sorted(m for m in holdout.index if min(holdout[m], treated.get(m, 0)) < 150)
    assert small, "the world must have markets below 150 holdout units"
    rows = [r for r in lifts.segments if r.dimension == "market_pooled"]
    assert {r.segment for r in rows} == (set(holdout.index) - set(small)) | {"other"}
    for row in rows:
        if row.segment == "other":
            assert row.pooled_segments == small
            _assert_matches_tea_tasting(row, units[units["market"].isin(small)])
        else:
            assert row.pooled_segments == []


def test_pvalues_are_adjusted_by_holm_within_each_dimension(lifts: SegmentLifts) -> None:
    from statsmodels.stats.multitest import multipletests

    for dimension in ("market", "activity"):
        rows = [r for r in lifts.segments if r.dimension == dimension]
        expected = multipletests([r.pvalue for r in rows], method="holm")[1]
        assert [r.pvalue_adjusted for r in rows] == pytest.approx(list(expected), rel=1e-12)


def test_pre_period_activity_counts_orders_over_the_cuped_lookback(
    world: tuple[Workspace, Experiment, Any], lifts: SegmentLifts
) -> None:
    _, experiment, data = world
    units = _per_unit(data, experiment)
    label = np.select(
        [units["pre_orders"] == 0, units["pre_orders"] == 1], ["none", "some"], "frequent"
    )
    rows = [r for r in lifts.segments if r.dimension == "activity" and r.metric == "conversion"]
    assert {r.segment for r in rows} == {"none", "some", "frequent"}
    for row in rows:
        _assert_matches_tea_tasting(row, units[label == row.segment])


def test_heterogeneity_rejects_when_market_effects_differ(
    world: tuple[Workspace, Experiment, Any], lifts: SegmentLifts
) -> None:
    from scipy.stats import chi2
    from statsmodels.stats.meta_analysis import combine_effects

    _, experiment, data = world
    units = _per_unit(data, experiment)
    test = next(
        h for h in lifts.heterogeneity if h.dimension == "market" and h.metric == "conversion"
    )
    effects, variances = [], []
    for market in sorted(units["market"].unique()):
        mine = units[units["market"] == market]
        treated = mine.loc[mine["arm"] == TREATMENT_ARM, "converted"]
        held = mine.loc[mine["arm"] == HOLDOUT_ARM, "converted"]
        effects.append(treated.mean() - held.mean())
        variances.append(treated.var() / len(treated) + held.var() / len(held))
    reference = combine_effects(np.array(effects), np.array(variances))
    assert test.method == "cochran_q"
    assert test.error is None
    assert test.segments == len(effects)
    assert test.df == len(effects) - 1
    assert test.statistic == pytest.approx(float(reference.q), rel=1e-9)
    assert test.pvalue == pytest.approx(float(chi2.sf(reference.q, reference.df)), rel=1e-9)
    assert test.pvalue < 0.05


# -- the segment query's sandbox ----------------------------------------------------------

T0 = datetime(2026, 11, 2, 9, 0, 0)


def _small_workspace(ws: Workspace, segment_sql: str) -> Experiment:
    """Four contacts, two per arm: c1 and c3 ordered before assignment, c2 and c4 only after."""
    ws.con.execute(
        "INSERT INTO contacts VALUES ('c1', 'BR', NULL), ('c2', 'BR', NULL), "
        "('c3', 'IN', NULL), ('c4', 'IN', NULL)"
    )
    ws.con.execute(
        "INSERT INTO assignments VALUES ('exp', 'c1', 'holdout', 0, $t), "
        "('exp', 'c2', 'holdout', 0, $t), ('exp', 'c3', 'whatsapp', 0, $t), "
        "('exp', 'c4', 'whatsapp', 0, $t)",
        {"t": T0},
    )
    ws.con.execute(
        "INSERT INTO actions VALUES "
        "('a1', 'c1', 'order', $before, 10), ('a2', 'c2', 'order', $after, 10), "
        "('a3', 'c3', 'order', $before, 10), ('a4', 'c4', 'order', $after, 10)",
        {"before": T0 - timedelta(days=3), "after": T0 + timedelta(hours=2)},
    )
    return _small_workspace_experiment(segment_sql)


def _small_workspace_experiment(segment_sql: str) -> Experiment:
    quoted = segment_sql.replace('"', '\\"')
    return parse_experiment(
        two_arm_toml("exp", tables=f"""
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"

[[segments]]
name = "buyer"
sql = "{quoted}"
min_units = 1
""")
    )


def _labels(ws: Workspace, experiment: Experiment) -> dict[str, str]:
    engine = DuckDBEngine(ws.con)
    prepare_units(engine, experiment, T0 + timedelta(days=8))
    label_units(engine, experiment, experiment.segment_dimensions())
    return dict(ws.con.execute("SELECT contact_id, segment FROM _segment_units").fetchall())


def test_a_segment_query_reads_the_data_as_of_assigned_at(workspace: Workspace) -> None:
    experiment = _small_workspace(
        workspace,
        "SELECT contact_id, CASE WHEN count(*) > 0 THEN 'buyer' END AS segment "
        "FROM main.actions GROUP BY contact_id",
    )
    # c2 and c4 ordered only after assignment: the query cannot see those orders
    assert _labels(workspace, experiment) == {
        "c1": "buyer", "c2": "unknown", "c3": "buyer", "c4": "unknown"
    }
    # the tables themselves are untouched: the analysis still counts the later orders
    assert workspace.con.execute("SELECT count(*) FROM actions").fetchall()[0][0] == 4


def test_a_segment_query_through_a_subquery_and_a_join_is_read_as_of_assigned_at(
    workspace: Workspace,
) -> None:
    experiment = _small_workspace(
        workspace,
        "WITH recent AS (SELECT contact_id, max(ts) AS last FROM actions GROUP BY contact_id) "
        "SELECT c.contact_id, CASE WHEN r.last IS NULL THEN 'never' ELSE 'recent' END AS segment "
        "FROM contacts AS c LEFT JOIN recent AS r ON r.contact_id = c.contact_id",
    )
    assert _labels(workspace, experiment) == {
        "c1": "recent", "c2": "never", "c3": "recent", "c4": "never"
    }


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT contact_id, 'x' AS segment FROM read_csv('/etc/passwd')", "table function"),
        ("SELECT contact_id, getenv('HOME') AS segment FROM contacts", "getenv"),
        ("SELECT contact_id, 'x' AS segment FROM other_db.main.contacts", "not a plain"),
        ("SELECT contact_id, 'x' AS segment FROM '/tmp/file.parquet'", "not a plain"),
        ("SELECT contact_id FROM contacts", "segment"),
        ("DELETE FROM contacts", "SELECT"),
    ],
)
def test_a_segment_query_outside_the_sandbox_is_refused_when_the_file_is_read(
    sql: str, message: str
) -> None:
    quoted = sql.replace('"', '\\"')
    text = two_arm_toml("exp", tables=f"""
[[segments]]
name = "bad"
sql = "{quoted}"
""")
    with pytest.raises(ConfigError, match=message):
        parse_experiment(text)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        # threadlift's own tables hold post-assignment data without a date to cut it at
        ("SELECT contact_id, 'x' AS segment FROM assignment_registry", "threadlift's own"),
        ("SELECT contact_id, 'x' AS segment FROM nowhere", "does not have"),
        (
            "WITH actions AS (SELECT * FROM main.actions) "
            "SELECT contact_id, 'x' AS segment FROM actions",
            "like a canonical table",
        ),
    ],
)
def test_a_segment_query_outside_the_sandbox_is_refused_when_it_runs(
    workspace: Workspace, sql: str, message: str
) -> None:
    experiment = _small_workspace(workspace, sql)
    with pytest.raises(ConfigError, match=message):
        _labels(workspace, experiment)


def test_a_segment_query_may_not_reach_past_assigned_at_through_a_view(
    workspace: Workspace,
) -> None:
    experiment = _small_workspace(
        workspace, "SELECT contact_id, 'buyer' AS segment FROM every_order"
    )
    workspace.con.execute("CREATE VIEW every_order AS SELECT * FROM actions")
    with pytest.raises(ConfigError, match="view"):
        _labels(workspace, experiment)
    # a table of the user's own is read as it is
    workspace.con.execute("CREATE TABLE tiers AS SELECT 'c1' AS contact_id, 'gold' AS tier")
    experiment = _small_workspace_experiment(
        "SELECT contact_id, tier AS segment FROM tiers"
    )
    assert _labels(workspace, experiment)["c1"] == "gold"


def test_a_query_giving_a_unit_two_segments_is_refused(workspace: Workspace) -> None:
    experiment = _small_workspace(
        workspace, "SELECT contact_id, action_id AS segment FROM actions"
    )
    workspace.con.execute(
        "INSERT INTO actions VALUES ('a5', 'c1', 'order', $t, 1)", {"t": T0 - timedelta(days=1)}
    )
    with pytest.raises(ConfigError, match="more than one segment"):
        _labels(workspace, experiment)


def test_a_contacts_column_that_does_not_exist_is_refused(workspace: Workspace) -> None:
    experiment = _small_workspace(workspace, "SELECT contact_id, market AS segment FROM contacts")
    experiment = experiment.model_copy(
        update={"segments": [experiment.segments[0].model_copy(update={"sql": None, "by": "tier"})]}  # type: ignore[index]
    )
    with pytest.raises(ConfigError, match="no column 'tier'"):
        _labels(workspace, experiment)


def test_segments_are_declared_once_and_from_one_source() -> None:
    base = two_arm_toml("exp", tables="")
    with pytest.raises(ConfigError, match="exactly one of by"):
        parse_experiment(
            base + '\n[[segments]]\nname = "m"\nby = "market"\nbuiltin = "pre_period_activity"\n'
        )
    with pytest.raises(ConfigError, match="exactly one of by"):
        parse_experiment(base + '\n[[segments]]\nname = "m"\n')
    with pytest.raises(ConfigError, match="unique"):
        parse_experiment(base + '\n[[segments]]\nname = "m"\nby = "market"\n' * 2)
    with pytest.raises(ConfigError, match="no metric has cuped_days"):
        parse_experiment(
            base + '\n[[segments]]\nname = "a"\nbuiltin = "pre_period_activity"\n'
        )
    with pytest.raises(ConfigError, match="other than contact_id"):
        parse_experiment(base + '\n[[segments]]\nname = "m"\nby = "contact_id"\n')


def test_default_segments_are_market_and_pre_period_activity_with_cuped() -> None:
    base = two_arm_toml("exp", tables="")
    assert [s.name for s in parse_experiment(base).segment_dimensions()] == ["market"]
    with_cuped = parse_experiment(
        base + '\n[[metrics]]\nname = "r"\ntype = "mean"\naction = "order"\ncuped_days = 14\n'
    )
    assert [s.name for s in with_cuped.segment_dimensions()] == ["market", "pre_period_activity"]
    no_segments = two_arm_toml("exp", keys="segments = []\n")
    assert parse_experiment(no_segments).segment_dimensions() == []


def test_the_report_and_the_notebook_show_segments(
    world: tuple[Workspace, Experiment, Any], tmp_path: Path
) -> None:
    from threadlift.report.html import render_html
    from threadlift.report.markdown import render_markdown

    ws, experiment, _ = world
    analysis = analyze(ws, experiment, as_of=_as_of(experiment))
    report = analysis.to_dict()
    frame = analysis.to_pandas("segments")
    assert len(frame) == len(report["segments"]) > 0
    assert list(frame.columns[:3]) == ["dimension", "segment", "metric"]
    assert frame.equals(analysis.segments_frame())
    assert len(analysis.to_pandas("heterogeneity")) == len(report["heterogeneity"])
    markdown = render_markdown(report)
    html = render_html(report)
    for text in (markdown, html):
        assert "Lift by segment" in text
        assert "cochran_q" in text or "Cochran" in text
        assert "pooled into" in text
    # one forest plot per dimension
    assert html.count('aria-label="Relative effect by segment:') == len(
        {r["dimension"] for r in report["segments"]}
    )
