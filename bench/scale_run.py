"""One timed run of the scale benchmark, in its own process (see ``bench/scale_bench.py``).

Methods, all computing the report's per-arm sufficient statistics (units; the sums,
squares and cross-products of the metrics; the guardrail counts) and from them the
lifts, guardrail tests and sample-ratio check with :mod:`threadlift.core.stats`:

* ``threadlift``: threadlift's own path through the DuckDB engine
  (:func:`threadlift.analysis.units.prepare_units`: ``analysis/units/units`` and
  ``analysis/units/unit_counts``; ``analysis/lift/action_moments``; ``analysis/guardrails/signals`` +
  ``analysis/guardrails/moments``);
* ``threadlift-core``: ``analyze(sections="core")``, the same sums and tests through the
  public API (``threadlift report --core``): adds the report object and the
  quarantined-assignments count;
* ``threadlift-full``: :func:`threadlift.analysis.analyze`, everything in report.json
  (adds funnel, take-up, cumulative conversion, cost, sender quality, …);
* ``handwritten``: one hand-written DuckDB query over the same workspace;
* ``pandas``: the same computation in pandas over the lake's Parquet files.

Prints one JSON line: ``seconds`` (the computation, timed inside the process) and
``result`` (the per-arm numbers, to check that the methods agree).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

GUARDRAIL_KINDS = (
    "block", "report", "opt_out", "marketing_stop", "spam_rate_limited", "marketing_cap",
    "undeliverable",
)
"""Every guardrail signal threadlift counts per arm (``analysis/guardrails/signals.sql``)."""
ERROR_KINDS = {
    "131050": "marketing_stop", "131048": "spam_rate_limited", "131049": "marketing_cap",
    "131026": "undeliverable",
}

HANDWRITTEN = """
WITH u AS (
    SELECT contact_id, arm, assigned_at,
           least(assigned_at + INTERVAL (CAST($window_days AS INTEGER)) DAY, $as_of) AS window_end
    FROM assignments
    WHERE experiment_id = $experiment_id AND assigned_at <= $as_of
),
per_unit AS (
    SELECT u.arm,
           count(*) FILTER (WHERE a.ts >= u.assigned_at) AS cnt,
           coalesce(sum(a.value) FILTER (WHERE a.ts >= u.assigned_at), 0) AS val,
           coalesce(sum(a.value) FILTER (WHERE a.ts < u.assigned_at), 0) AS pre_val
    FROM u JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE a.action = $action
      AND a.ts >= u.assigned_at - INTERVAL (CAST($cuped_days AS INTEGER)) DAY
      AND a.ts < u.window_end
    GROUP BY u.contact_id, u.arm
),
moments AS (
    SELECT arm,
           count(*) FILTER (WHERE cnt > 0) AS ind_sum,
           sum(val) AS val_sum, sum(val * val) AS val_sq,
           sum(cnt) AS cnt_sum, sum(cnt * cnt) AS cnt_sq, sum(val * cnt) AS val_cnt,
           sum(pre_val) AS pre_val_sum, sum(pre_val * pre_val) AS pre_val_sq,
           sum(val * pre_val) AS val_pre_val
    FROM per_unit GROUP BY arm
),
signals AS (
    SELECT u.contact_id, u.arm, f.kind
    FROM u JOIN feedback AS f ON f.contact_id = u.contact_id
    WHERE f.channel = $channel AND f.ts >= u.assigned_at AND f.ts < u.window_end
    UNION
    SELECT u.contact_id, u.arm, 'marketing_stop'
    FROM u JOIN consents AS c ON c.contact_id = u.contact_id
    WHERE c.channel = $channel AND c.status = 'revoked' AND c.scope IN ('marketing', 'all')
      AND c.ts >= u.assigned_at AND c.ts < u.window_end
    UNION
    SELECT u.contact_id, u.arm,
           CASE e.error_code WHEN '131050' THEN 'marketing_stop' WHEN '131048' THEN 'spam_rate_limited'
                             WHEN '131049' THEN 'marketing_cap' ELSE 'undeliverable' END
    FROM message_events AS e
    JOIN messages AS m ON m.message_id = e.message_id
    JOIN u ON u.contact_id = m.contact_id
    WHERE e.status = 'failed' AND e.error_code IN ('131050', '131048', '131049', '131026')
      AND m.channel = $channel AND e.ts >= u.assigned_at AND e.ts < u.window_end
),
signal_counts AS (
    SELECT arm,
           count(*) FILTER (WHERE kind = 'block') AS block,
           count(*) FILTER (WHERE kind = 'report') AS report,
           count(*) FILTER (WHERE kind = 'opt_out') AS opt_out,
           count(*) FILTER (WHERE kind = 'marketing_stop') AS marketing_stop,
           count(*) FILTER (WHERE kind = 'spam_rate_limited') AS spam_rate_limited,
           count(*) FILTER (WHERE kind = 'marketing_cap') AS marketing_cap,
           count(*) FILTER (WHERE kind = 'undeliverable') AS undeliverable
    FROM signals GROUP BY arm
),
arms AS (SELECT arm, count(*) AS units FROM u GROUP BY arm)
SELECT arms.arm, arms.units, m.* EXCLUDE (arm), s.* EXCLUDE (arm)
FROM arms LEFT JOIN moments AS m USING (arm) LEFT JOIN signal_counts AS s USING (arm)
ORDER BY arms.arm
"""

COLUMNS = (
    "units", "ind_sum", "val_sum", "val_sq", "cnt_sum", "cnt_sq", "val_cnt",
    "pre_val_sum", "pre_val_sq", "val_pre_val", *GUARDRAIL_KINDS,
)


def metric_stats(kind: str, r: dict[str, float]) -> Any:
    """One arm's sufficient statistics of a metric of the bench's experiment (orders), from
    the per-arm sums of :data:`COLUMNS`."""
    from threadlift.core.moments import SufficientStats, proportion_stats

    n = int(r["units"])
    if kind == "proportion":
        return proportion_stats(n, r["ind_sum"])
    if kind == "mean":
        return SufficientStats(
            units=n, main_sum=r["val_sum"], main_sum_squares=r["val_sq"],
            denominator_sum=n, denominator_sum_squares=n, main_denominator_sum_product=r["val_sum"],
            covariate_sum=r["pre_val_sum"], covariate_sum_squares=r["pre_val_sq"],
            main_covariate_sum_product=r["val_pre_val"],
            denominator_covariate_sum_product=r["pre_val_sum"],
            covariate_denominator_sum=n, covariate_denominator_sum_squares=n,
            main_covariate_denominator_sum_product=r["val_sum"],
            denominator_covariate_denominator_sum_product=n,
            covariate_covariate_denominator_sum_product=r["pre_val_sum"],
        )
    return SufficientStats(
        units=n, main_sum=r["val_sum"], main_sum_squares=r["val_sq"],
        denominator_sum=r["cnt_sum"], denominator_sum_squares=r["cnt_sq"],
        main_denominator_sum_product=r["val_cnt"],
    )


def _stats_from_sums(experiment: Any, per_arm: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Lifts, guardrails and SRM from per-arm sums (the part every method shares)."""
    from threadlift.core import stats
    from threadlift.core.moments import SufficientStats, proportion_stats

    def metric(arm: str, kind: str) -> SufficientStats:
        return metric_stats(kind, per_arm[arm])

    control = experiment.control_arm
    out: dict[str, Any] = {"metrics": {}, "guardrails": {}}
    for arm in (a.name for a in experiment.arms if a.name != control):
        for m in experiment.metrics:
            c = stats.compare(m.type, metric(control, m.type), metric(arm, m.type),
                              alpha=experiment.alpha, cuped=m.cuped_days is not None)
            out["metrics"][f"{m.name}:{arm}"] = [c.effect_size, c.pvalue]
        for g in experiment.guardrails:
            t = stats.noninferiority(
                "proportion",
                proportion_stats(int(per_arm[control]["units"]), per_arm[control][g.kind]),
                proportion_stats(int(per_arm[arm]["units"]), per_arm[arm][g.kind]),
                max_increase=g.max_increase, max_rel_increase=g.max_rel_increase,
                alpha=experiment.alpha,
            )
            out["guardrails"][f"{g.name}:{arm}"] = [t.effect_size, t.pvalue]
    srm = stats.srm_test(
        [int(per_arm.get(a.name, {"units": 0})["units"]) for a in experiment.arms],
        [a.weight for a in experiment.arms], alpha=experiment.srm_alpha,
    )
    out["srm_pvalue"] = srm.pvalue
    return out


def run_threadlift(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """threadlift's own outcome and statistics path (the report minus its extra sections)."""
    from threadlift.analysis.guardrails import guardrail_counts
    from threadlift.analysis.lift import metric_stats
    from threadlift.analysis.units import prepare_units
    from threadlift.engines.duckdb import DuckDBEngine
    from threadlift.workspace import Workspace

    with Workspace.open(data / "workspace.duckdb", read_only=True) as ws:
        engine = DuckDBEngine(ws.con)
        units = prepare_units(engine, experiment, as_of)
        all_stats = metric_stats(engine, experiment)
        counts = guardrail_counts(engine, experiment)
    per_arm: dict[str, dict[str, float]] = {}
    for arm, n in units.items():
        conv = all_stats["conversion"][arm]
        rev = all_stats["revenue"][arm]
        ratio = all_stats["revenue_per_order"][arm]
        per_arm[arm] = {
            "units": n, "ind_sum": conv.main_sum, "val_sum": rev.main_sum,
            "val_sq": rev.main_sum_squares, "cnt_sum": ratio.denominator_sum,
            "cnt_sq": ratio.denominator_sum_squares, "val_cnt": ratio.main_denominator_sum_product,
            "pre_val_sum": rev.covariate_sum, "pre_val_sq": rev.covariate_sum_squares,
            "val_pre_val": rev.main_covariate_sum_product,
            **{k: counts.get((arm, experiment.channel, k), 0.0) for k in GUARDRAIL_KINDS},
        }
    return {"per_arm": per_arm, **_stats_from_sums(experiment, per_arm)}


def run_threadlift_core(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """The core report through the public API (``analyze(sections="core")``)."""
    from threadlift.analysis import analyze
    from threadlift.workspace import Workspace

    with Workspace.open(data / "workspace.duckdb", read_only=True) as ws:
        report = analyze(ws, experiment, as_of=as_of, sections="core").to_dict()
    return {"arms": report["arms"], "metrics": len(report["metrics"])}


def run_threadlift_full(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """The whole report (:func:`threadlift.analysis.analyze`)."""
    from threadlift.analysis import analyze
    from threadlift.workspace import Workspace

    with Workspace.open(data / "workspace.duckdb", read_only=True) as ws:
        report = analyze(ws, experiment, as_of=as_of).to_dict()
    return {"arms": report["arms"], "metrics": len(report["metrics"])}


def run_handwritten(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """One hand-written DuckDB query, then the same statistics."""
    import duckdb

    con = duckdb.connect(str(data / "workspace.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    params = {
        "experiment_id": experiment.id, "as_of": as_of, "window_days": experiment.window_days,
        "action": "order", "cuped_days": 28, "channel": experiment.channel,
    }
    cursor = con.execute(HANDWRITTEN, params)
    names = [d[0] for d in cursor.description]
    per_arm = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        per_arm[str(record["arm"])] = {c: float(record[c] or 0) for c in COLUMNS}
    con.close()
    return {"per_arm": per_arm, **_stats_from_sums(experiment, per_arm)}


def run_pandas(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """The same sums in pandas, reading the lake's Parquet files."""
    import pandas as pd

    lake = data / "lake"
    units = pd.read_parquet(lake / "assignments", columns=["experiment_id", "contact_id", "arm", "assigned_at"])
    units = units[(units["experiment_id"] == experiment.id) & (units["assigned_at"] <= as_of)]
    units = units.drop(columns="experiment_id")
    units["window_end"] = (units["assigned_at"] + pd.Timedelta(days=experiment.window_days)).clip(upper=as_of)
    actions = pd.read_parquet(lake / "actions", columns=["contact_id", "action", "ts", "value"],
                              filters=[("action", "==", "order")])
    joined = actions.merge(units, on="contact_id")
    joined = joined[(joined["ts"] >= joined["assigned_at"] - pd.Timedelta(days=28))
                    & (joined["ts"] < joined["window_end"])]
    after = joined["ts"] >= joined["assigned_at"]
    joined = joined.assign(
        cnt=after.astype("int64"),
        val=joined["value"].fillna(0.0).where(after, 0.0),
        pre_val=joined["value"].fillna(0.0).where(~after, 0.0),
    )
    per_unit = joined.groupby(["contact_id", "arm"], sort=False)[["cnt", "val", "pre_val"]].sum()
    per_unit = per_unit.reset_index()
    per_unit["ind"] = (per_unit["cnt"] > 0).astype("float64")
    per_unit["cnt"] = per_unit["cnt"].astype("float64")
    per_unit = per_unit.assign(
        val_sq=per_unit["val"] ** 2, cnt_sq=per_unit["cnt"] ** 2,
        val_cnt=per_unit["val"] * per_unit["cnt"], pre_val_sq=per_unit["pre_val"] ** 2,
        val_pre_val=per_unit["val"] * per_unit["pre_val"],
    )
    moments = per_unit.groupby("arm").agg(
        ind_sum=("ind", "sum"), val_sum=("val", "sum"), val_sq=("val_sq", "sum"),
        cnt_sum=("cnt", "sum"), cnt_sq=("cnt_sq", "sum"), val_cnt=("val_cnt", "sum"),
        pre_val_sum=("pre_val", "sum"), pre_val_sq=("pre_val_sq", "sum"),
        val_pre_val=("val_pre_val", "sum"),
    )
    def in_window(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["ts"] >= frame["assigned_at"]) & (frame["ts"] < frame["window_end"])]

    channel = experiment.channel
    feedback = pd.read_parquet(lake / "feedback", columns=["contact_id", "channel", "kind", "ts"],
                               filters=[("channel", "==", channel)])
    consents = pd.read_parquet(
        lake / "consents", columns=["contact_id", "channel", "scope", "status", "ts"],
        filters=[("channel", "==", channel), ("status", "==", "revoked"),
                 ("scope", "in", ["marketing", "all"])],
    )
    events = pd.read_parquet(
        lake / "message_events", columns=["message_id", "status", "ts", "error_code"],
        filters=[("status", "==", "failed"), ("error_code", "in", list(ERROR_KINDS))],
    )
    messages = pd.read_parquet(lake / "messages", columns=["message_id", "contact_id", "channel"],
                               filters=[("channel", "==", channel)])
    failures = events.merge(messages[["message_id", "contact_id"]], on="message_id")
    failures["kind"] = failures["error_code"].map(ERROR_KINDS)
    signals = pd.concat(
        [
            in_window(feedback.merge(units, on="contact_id"))[["contact_id", "arm", "kind"]],
            in_window(consents.merge(units, on="contact_id")).assign(kind="marketing_stop")[
                ["contact_id", "arm", "kind"]
            ],
            in_window(failures.merge(units, on="contact_id"))[["contact_id", "arm", "kind"]],
        ],
        ignore_index=True,
    )
    kinds = signals.drop_duplicates(["contact_id", "kind"]).groupby(["arm", "kind"]).size()
    per_arm: dict[str, dict[str, float]] = {}
    for arm, n in units.groupby("arm").size().items():
        row = {"units": float(n)}
        row.update({c: float(moments.loc[arm, c]) if arm in moments.index else 0.0
                    for c in moments.columns})
        row.update({k: float(kinds.get((arm, k), 0)) for k in GUARDRAIL_KINDS})
        per_arm[str(arm)] = row
    return {"per_arm": per_arm, **_stats_from_sums(experiment, per_arm)}


METHODS = {
    "threadlift": run_threadlift,
    "threadlift-core": run_threadlift_core,
    "threadlift-full": run_threadlift_full,
    "handwritten": run_handwritten,
    "pandas": run_pandas,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="one timed run of the scale benchmark")
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    from threadlift.experiment import load_experiment

    experiment = load_experiment(args.data / "lake" / "experiment.toml")
    as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
    started = time.perf_counter()
    result = METHODS[args.method](args.data, experiment, as_of)
    seconds = time.perf_counter() - started
    json.dump({"method": args.method, "seconds": seconds, "result": result}, sys.stdout,
              default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else str(v))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
