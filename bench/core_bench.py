"""``threadlift report --core`` against its hand-written floor, as whole processes.

For each size (200k and 2M contacts by default) on the scale benchmark's data
(``bench/scale_data.py``, generated once under ``<root>/<size>``, see
``bench/scale_bench.py``), this runs, interleaved (the order swapped every repeat):

* ``threadlift report EXPERIMENT -w WORKSPACE --out DIR --core --as-of T``, the command a
  scheduler runs: report.json, report.md and report.html (without charts);
* ``bench/core_floor.py``: one Python process, one hand-written DuckDB query for the
  per-arm sums, the same statistics, a JSON file of them.

Each is timed from the parent, start to exit (wall time), with its CPU time (user +
system) and the 1-minute load average before it. The floor's numbers are checked against the report's report.json (arms, the
sample-ratio check, every metric's effect, interval and adjusted p-value, the balance
and guardrail tests) to 1e-9 relative. Prints the medians and the ratio core / floor
(the median over repeats of the same-repeat ratio), in wall and in CPU time.

As in ``bench/startup_bench.py``, the children may write bytecode and one untimed run of
each comes first, so both load compiled modules.

Usage::

    python bench/core_bench.py --sizes 200k,2M --repeats 5 --root /tmp/tl-bench \
        [--json bench/core_results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from scale_bench import parse_size, prepare
from startup_bench import CLI, timed

HERE = Path(__file__).resolve().parent


def commands(data: Path, out: Path) -> tuple[dict[str, list[str]], str]:
    """The two commands for one data set, and the as-of time both use."""
    experiment_file = data / "lake" / "experiment.toml"
    experiment = tomllib.loads(experiment_file.read_text(encoding="utf-8"))
    assigned_at = experiment["assigned_at"]
    as_of = (assigned_at + timedelta(days=experiment["window_days"] + 1)).replace(tzinfo=None)
    as_of_text = as_of.isoformat()
    workspace = str(data / "workspace.duckdb")
    return {
        "core": [*CLI, "report", str(experiment_file), "-w", workspace, "--out", str(out / "core"),
                 "--core", "--as-of", as_of_text],
        "floor": [sys.executable, str(HERE / "core_floor.py"), workspace, str(experiment_file),
                  as_of_text, str(out / "floor.json")],
    }, as_of_text


def disagreements(report: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Where the floor's numbers differ from the report's beyond 1e-9 relative."""
    problems: list[str] = []

    def check(label: str, mine: Any, theirs: Any) -> None:
        if isinstance(mine, float) or isinstance(theirs, float):
            a = math.nan if mine is None else float(mine)
            b = math.nan if theirs is None else float(theirs)
            if math.isnan(a) and math.isnan(b):
                return
            if not abs(a - b) <= 1e-9 * max(1.0, abs(b)):
                problems.append(f"{label}: report {mine} vs floor {theirs}")
        elif mine != theirs:
            problems.append(f"{label}: report {mine} vs floor {theirs}")

    for arm in report["arms"]:
        check(f"arm {arm['arm']} units", arm["units"], floor["arms"][arm["arm"]])
    check("srm pvalue", report["srm"]["pvalue"], floor["srm"]["pvalue"])
    check("assignments_quarantined", report["assignments_quarantined"],
          floor["assignments_quarantined"])
    keyed = {(m["metric"], m["arm"]): m for m in floor["metrics"]}
    check("metric rows", len(report["metrics"]), len(floor["metrics"]))
    for row in report["metrics"]:
        theirs = keyed[(row["metric"], row["arm"])]
        for key in ("effect_size", "effect_size_ci_lower", "effect_size_ci_upper",
                    "rel_effect_size", "pvalue", "pvalue_adjusted"):
            check(f"{row['metric']}:{row['arm']} {key}", row[key], theirs[key])
    balance = {(b["metric"], b["arm"]): b for b in floor["balance"]}
    for row in report["balance"]:
        for key in ("standardized_mean_difference", "pvalue"):
            check(f"balance {row['metric']} {key}", row[key], balance[(row["metric"], row["arm"])][key])
    guardrails = {(g["guardrail"], g["arm"]): g for g in floor["guardrails"]}
    check("guardrail rows", len(report["guardrails"]), len(floor["guardrails"]))
    for row in report["guardrails"]:
        theirs = guardrails[(row["guardrail"], row["arm"])]
        for key, floor_key in (("effect_size", "effect_size"), ("effect_size_ci_upper", "ci_upper"),
                               ("pvalue", "pvalue"), ("breached", "breached")):
            check(f"guardrail {row['guardrail']} {key}", row[key], theirs[floor_key])
    return problems


def bench_size(data: Path, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tl-core-bench-") as tmp:
        out = Path(tmp)
        cmds, as_of = commands(data, out)
        for command in cmds.values():
            timed(command, ok=(0, 3))
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in cmds}
        for repeat in range(repeats):
            order = list(cmds) if repeat % 2 == 0 else list(reversed(cmds))
            for name in order:
                runs[name].append(timed(cmds[name], ok=(0, 3)))
                run = runs[name][-1]
                print(f"  {name:5s} repeat {repeat}: {run['seconds']:6.2f} s, CPU "
                      f"{run['cpu_seconds']:6.2f} s (load {run['load']:.1f})", flush=True)
        report = json.loads((out / "core" / "report.json").read_text(encoding="utf-8"))
        floor = json.loads((out / "floor.json").read_text(encoding="utf-8"))
    pairs = list(zip(runs["core"], runs["floor"], strict=True))
    ratios = [c["seconds"] / f["seconds"] for c, f in pairs]
    cpu_ratios = [c["cpu_seconds"] / f["cpu_seconds"] for c, f in pairs]
    return {
        "as_of": as_of,
        "median_seconds": {name: round(statistics.median(r["seconds"] for r in rows), 3)
                           for name, rows in runs.items()},
        "median_cpu_seconds": {name: round(statistics.median(r["cpu_seconds"] for r in rows), 3)
                               for name, rows in runs.items()},
        "core_vs_floor": round(statistics.median(ratios), 3),
        "core_vs_floor_cpu": round(statistics.median(cpu_ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "cpu_ratios": [round(r, 3) for r in cpu_ratios],
        "runs": {name: [{k: round(v, 3) for k, v in r.items()} for r in rows]
                 for name, rows in runs.items()},
        "disagreements": disagreements(report, floor),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200k,2M")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--root", type=Path, default=Path("/tmp/tl-bench"))
    parser.add_argument("--json", type=Path, help="write all measurements here")
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0]}
    for label in args.sizes.split(","):
        data = prepare(args.root, label, parse_size(label))
        print(f"[{label}] core report vs floor", flush=True)
        results[label] = bench_size(data, args.repeats)
        summary = {k: results[label][k] for k in ("median_seconds", "median_cpu_seconds", "core_vs_floor",
                                                  "core_vs_floor_cpu", "disagreements")}
        print(json.dumps({label: summary}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
