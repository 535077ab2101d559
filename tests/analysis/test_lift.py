"""Outcome SQL against an independent pandas computation over per-unit windows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from experiments import two_arm_toml
from threadlift.analysis.lift import metric_stats
from threadlift.analysis.units import prepare_units
from threadlift.engines.duckdb import DuckDBEngine, Rows
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)

EXPERIMENT = two_arm_toml("exp", tables="""
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"
[[metrics]]
name = "revenue"
type = "mean"
action = "order"
cuped_days = 28
[[metrics]]
name = "revenue_per_order"
type = "ratio"
action = "order"
cuped_days = 14
[[metrics]]
name = "signup"
type = "proportion"
action = "signup"
cuped_days = 28
""")


def _fill(ws: Workspace, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 600
    units = pd.DataFrame(
        {
            "experiment_id": "exp",
            "contact_id": [f"c{i}" for i in range(n)],
            "arm": np.where(rng.random(n) < 0.1, "holdout", "whatsapp"),
            "bucket": 0,
            # rolling enrolment: each unit has its own clock, some after as_of
            "assigned_at": [T0 + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 12, n)],
        }
    )
    m = 4000
    actions = pd.DataFrame(
        {
            "action_id": [f"a{i}" for i in range(m)],
            "contact_id": [f"c{i}" for i in rng.integers(0, n + 50, m)],
            "action": rng.choice(["order", "signup", "visit"], m, p=[0.6, 0.2, 0.2]),
            "ts": [T0 + timedelta(minutes=int(x)) for x in rng.integers(-40 * 1440, 20 * 1440, m)],
            "value": np.round(rng.gamma(2.0, 20.0, m), 2),
        }
    )
    ws.con.register("u_df", units)
    ws.con.register("a_df", actions)
    ws.con.execute("INSERT INTO assignments SELECT * FROM u_df")
    ws.con.execute("INSERT INTO actions SELECT * FROM a_df")
    return units, actions


def _per_unit(units: pd.DataFrame, actions: pd.DataFrame, as_of: datetime, action: str,
              window_days: int, cuped_days: int | None) -> pd.DataFrame:
    units = units[units.assigned_at <= as_of].copy()
    rows = []
    for unit in units.itertuples():
        end = min(unit.assigned_at + timedelta(days=window_days), as_of)
        mine = actions[(actions.contact_id == unit.contact_id) & (actions.action == action)]
        post = mine[(mine.ts >= unit.assigned_at) & (mine.ts < end)]
        if cuped_days:
            pre = mine[(mine.ts >= unit.assigned_at - timedelta(days=cuped_days))
                       & (mine.ts < unit.assigned_at)]
        else:
            pre = mine.iloc[0:0]
        rows.append({"arm": unit.arm, "ind": float(len(post) > 0), "val": post.value.sum(),
                     "cnt": float(len(post)), "pre_ind": float(len(pre) > 0),
                     "pre_val": pre.value.sum(), "pre_cnt": float(len(pre))})
    return pd.DataFrame(rows)


class _Recording(DuckDBEngine):
    """The DuckDB engine, noting which SQL files ran."""

    def __init__(self, con: Any) -> None:
        super().__init__(con)
        self.queries: list[str] = []

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        self.queries.append(query)
        return super().run(query, params)


@pytest.mark.parametrize(
    ("seed", "lookbacks", "query"),
    [
        (1, (28, 14), "analysis/lift/action_moments"),
        (2, (28, 14), "analysis/lift/action_moments"),
        # one pre-period length: the single-pass query
        (1, (28, 28), "analysis/lift/action_moments_one_lookback"),
        (3, (28, 28), "analysis/lift/action_moments_one_lookback"),
    ],
)
def test_metric_stats_match_per_unit_windows(
    workspace: Workspace, seed: int, lookbacks: tuple[int, int], query: str
) -> None:
    text = EXPERIMENT.replace("cuped_days = 14", f"cuped_days = {lookbacks[1]}")
    experiment = parse_experiment(text)
    units, actions = _fill(workspace, seed)
    as_of = T0 + timedelta(days=9)
    engine = _Recording(workspace.con)
    counts = prepare_units(engine, experiment, as_of)
    stats = metric_stats(engine, experiment)
    assert query in engine.queries
    variables = {
        "conversion": ("ind", None, None, None),
        "revenue": ("val", None, "pre_val", None),
        "revenue_per_order": ("val", "cnt", "pre_val", "pre_cnt"),
        "signup": ("ind", None, "pre_ind", None),
    }
    for metric in experiment.metrics:
        frame = _per_unit(units, actions, as_of, metric.action, 7, metric.cuped_days)
        main, den, cov, cov_den = variables[metric.name]
        for arm, group in frame.groupby("arm"):
            got = stats[metric.name][str(arm)]
            assert got.units == len(group) == counts[str(arm)]
            y = group[main].to_numpy()
            d = group[den].to_numpy() if den else np.ones(len(group))
            x = group[cov].to_numpy() if cov else np.zeros(len(group))
            xd = group[cov_den].to_numpy() if cov_den else (np.ones(len(group)) if cov else np.zeros(len(group)))
            expected = {
                "main_sum": y.sum(), "main_sum_squares": (y * y).sum(),
                "denominator_sum": d.sum(), "denominator_sum_squares": (d * d).sum(),
                "main_denominator_sum_product": (y * d).sum(),
                "covariate_sum": x.sum(), "covariate_sum_squares": (x * x).sum(),
                "main_covariate_sum_product": (y * x).sum(),
                "denominator_covariate_sum_product": (d * x).sum(),
                "covariate_denominator_sum": xd.sum(),
                "covariate_denominator_sum_squares": (xd * xd).sum(),
                "main_covariate_denominator_sum_product": (y * xd).sum(),
                "denominator_covariate_denominator_sum_product": (d * xd).sum(),
                "covariate_covariate_denominator_sum_product": (x * xd).sum(),
            }
            for name, value in expected.items():
                assert math.isclose(getattr(got, name), value, rel_tol=1e-9, abs_tol=1e-9), (
                    metric.name, arm, name)
