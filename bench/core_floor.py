"""The floor of ``threadlift report --core``: what a hand-written script would do instead.

One Python process that connects to the workspace file, runs one hand-written DuckDB
query for the per-arm sums (:data:`scale_run.HANDWRITTEN`: units, the metrics' sums,
squares and cross-products, the guardrail counts) and a count of the quarantined
assignments, computes the core report's statistics from them (arms and sample-ratio
check, every metric's lift with the Holm-adjusted p-values, the CUPED covariate's
balance, the guardrail tests) and writes them as JSON. It reads the experiment file
with ``tomllib`` and validates nothing.

Its statistics are :mod:`threadlift.core.stats`, the pure functions the report uses: they
call scipy and statsmodels (the libraries a careful script would call for the same tests
and the Holm adjustment) and run in microseconds, so the floor's time is its interpreter,
its imports and its query. ``bench/core_bench.py`` checks that its numbers are the core
report's.

Usage::

    python bench/core_floor.py WORKSPACE EXPERIMENT_TOML AS_OF OUT_JSON
"""

from __future__ import annotations

import json
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from scale_run import COLUMNS, HANDWRITTEN, metric_stats

from threadlift.core import stats
from threadlift.core.moments import proportion_stats

QUARANTINED = """
SELECT count(*) FROM quarantine
WHERE target_table = 'assignments' AND json_extract_string(raw, '$.experiment_id') = $experiment_id
"""


def core_numbers(experiment: dict[str, Any], per_arm: dict[str, dict[str, float]],
                 quarantined: int) -> dict[str, Any]:
    """The core report's numbers from the per-arm sums."""
    arms = experiment["arms"]
    alpha = float(experiment.get("alpha", 0.05))
    control = next(a["name"] for a in arms if a.get("holdout"))
    empty = dict.fromkeys(COLUMNS, 0.0)
    treatments = [a["name"] for a in arms if a["name"] != control]
    metrics: list[dict[str, Any]] = []
    for arm in treatments:
        for m in experiment["metrics"]:
            c = stats.compare(m["type"], metric_stats(m["type"], per_arm.get(control, empty)),
                              metric_stats(m["type"], per_arm.get(arm, empty)), alpha=alpha,
                              cuped="cuped_days" in m)
            metrics.append({"metric": m["name"], "arm": arm, **c.to_dict()})
    adjusted = stats.adjust_pvalues([m["pvalue"] for m in metrics], "holm")
    for row, p in zip(metrics, adjusted, strict=True):
        row["pvalue_adjusted"] = p
    balance = [
        {"metric": m["name"], "arm": arm, **vars(stats.balance(
            metric_stats("mean", per_arm.get(control, empty)),
            metric_stats("mean", per_arm.get(arm, empty))))}
        for m in experiment["metrics"] if "cuped_days" in m for arm in treatments
    ]
    guardrails = []
    for g in experiment.get("guardrails", []):
        for arm in treatments:
            t = stats.noninferiority(
                "proportion",
                proportion_stats(int(per_arm.get(control, empty)["units"]),
                                 per_arm.get(control, empty)[g["kind"]]),
                proportion_stats(int(per_arm.get(arm, empty)["units"]), per_arm.get(arm, empty)[g["kind"]]),
                max_increase=g.get("max_increase"), max_rel_increase=g.get("max_rel_increase"),
                alpha=alpha,
            )
            guardrails.append({"guardrail": g["name"], "arm": arm, **vars(t)})
    srm = stats.srm_test([int(per_arm.get(a["name"], empty)["units"]) for a in arms],
                         [float(a["weight"]) for a in arms],
                         alpha=float(experiment.get("srm_alpha", 0.001)))
    return {
        "arms": {a["name"]: int(per_arm.get(a["name"], empty)["units"]) for a in arms},
        "srm": {"statistic": srm.statistic, "pvalue": srm.pvalue, "passed": srm.passed},
        "metrics": metrics, "balance": balance, "guardrails": guardrails,
        "assignments_quarantined": quarantined,
    }


def main() -> None:
    workspace, experiment_file, as_of_text, out = sys.argv[1:5]
    experiment = tomllib.loads(Path(experiment_file).read_text(encoding="utf-8"))
    as_of = datetime.fromisoformat(as_of_text.replace("Z", "+00:00")).replace(tzinfo=None)
    cuped_days = next((m["cuped_days"] for m in experiment["metrics"] if "cuped_days" in m), 0)
    con = duckdb.connect(workspace, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    cursor = con.execute(HANDWRITTEN, {
        "experiment_id": experiment["id"], "as_of": as_of, "window_days": experiment["window_days"],
        "action": experiment["metrics"][0]["action"], "cuped_days": cuped_days,
        "channel": experiment["channel"],
    })
    names = [d[0] for d in cursor.description]
    per_arm = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        per_arm[str(record["arm"])] = {c: float(record[c] or 0) for c in COLUMNS}
    quarantined_row = con.execute(QUARANTINED, {"experiment_id": experiment["id"]}).fetchone()
    con.close()
    numbers = core_numbers(experiment, per_arm, int(quarantined_row[0]) if quarantined_row else 0)
    Path(out).write_text(json.dumps(numbers) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
