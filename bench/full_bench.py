"""The default full report against its floor: ``threadlift report`` and ``bench/full_floor.py``.

For each size directory made by ``bench/scale_bench.py`` (``<root>/<size>/lake`` and
``workspace.duckdb``) this runs, interleaved and ``--repeats`` times, two whole processes
on the same workspace:

* ``report``: ``threadlift report <experiment> --out <tmp>`` with its default outputs
  (report.json, report.md, report.html) and sections;
* ``floor``: ``bench/full_floor.py``, hand-written SQL for every section's numbers;

measuring each process's wall time and peak resident memory (``ru_maxrss`` of the child,
from ``os.wait4``), and checks after every pair that the floor's numbers are the report's
(:func:`full_floor.compare`). It prints the medians and the same-repeat ratios
report / floor.

Usage::

    python bench/full_bench.py --root /tmp/tl-bench --sizes 1M,10M --repeats 3 \
        [--memory-limit 16GB] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from full_floor import compare  # noqa: E402


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run one whole process; return its wall seconds and peak RSS in MB."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):  # 3: the report has an alert or warning, still written
        raise RuntimeError(f"{command[:3]} failed with exit code {code}: {errors.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def bench_size(data: Path, repeats: int, memory_limit: str | None) -> dict[str, Any]:
    """Interleave report and floor ``repeats`` times; medians, ratios and agreement."""
    from threadlift.experiment import load_experiment

    experiment = load_experiment(data / "lake" / "experiment.toml")
    as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
    env = dict(os.environ)
    if memory_limit:
        env["THREADLIFT_MEMORY_LIMIT"] = memory_limit
    threadlift = str(Path(sys.executable).with_name("threadlift"))
    runs: list[dict[str, Any]] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="full-bench-") as tmp:
        for repeat in range(repeats):
            out = Path(tmp) / f"report-{repeat}"
            numbers = Path(tmp) / f"floor-{repeat}.json"
            commands = {
                "report": [threadlift, "report", str(data / "lake" / "experiment.toml"),
                           "--workspace", str(data / "workspace.duckdb"), "--out", str(out),
                           "--as-of", as_of.isoformat() + "Z"],
                "floor": [sys.executable, str(HERE / "full_floor.py"), str(data), "--out", str(numbers)],
            }
            for method, command in commands.items():
                wall, peak = _run(command, env)
                runs.append({"method": method, "repeat": repeat, "wall_seconds": wall, "peak_rss_mb": peak})
                print(f"  {method:7s} repeat {repeat}: wall {wall:7.2f} s, peak {peak:8.0f} MB", flush=True)
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            problems += compare(json.loads(numbers.read_text(encoding="utf-8")), report)
    median = {
        method: {key: statistics.median(r[key] for r in runs if r["method"] == method)
                 for key in ("wall_seconds", "peak_rss_mb")}
        for method in ("report", "floor")
    }

    def ratio(key: str) -> float:
        pairs = [
            next(r[key] for r in runs if r["method"] == "report" and r["repeat"] == i)
            / next(r[key] for r in runs if r["method"] == "floor" and r["repeat"] == i)
            for i in range(repeats)
        ]
        return float(statistics.median(pairs))

    return {
        "median": median,
        "ratios": {"time": ratio("wall_seconds"), "peak_rss": ratio("peak_rss_mb")},
        "disagreements": problems,
        "load_average": os.getloadavg(),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/tl-bench"))
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-limit", help="THREADLIFT_MEMORY_LIMIT for the report (e.g. 16GB)")
    parser.add_argument("--json", type=Path, help="write all measurements here")
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    for label in args.sizes.split(","):
        data = args.root / label
        if not (data / "workspace.duckdb").exists():
            raise SystemExit(f"{data}/workspace.duckdb is missing: run bench/scale_bench.py --sizes {label} first")
        print(f"[{label}] report vs floor", flush=True)
        results[label] = bench_size(data, args.repeats, args.memory_limit)
        summary = {k: results[label][k] for k in ("median", "ratios", "disagreements", "load_average")}
        print(json.dumps({label: summary}, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
