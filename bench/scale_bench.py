"""Scale benchmark: threadlift's report against a hand-written DuckDB query and pandas.

For each size (1M and 10M contacts by default; 100M on request) this

1. generates the seeded WhatsApp experiment as a Parquet lake (``bench/scale_data.py``,
   in DuckDB) under ``<root>/<size>/lake`` unless it is there already,
2. loads it into a DuckDB workspace ``<root>/<size>/workspace.duckdb`` (not timed; the
   same tables ``threadlift load`` would store, see ``scale_data.load_workspace``),
3. runs each method of ``bench/scale_run.py`` in its own process, ``--repeats`` times,
   interleaved (threadlift, handwritten, pandas, threadlift-full, then again), measuring
   the process's wall time, the computation's time inside it and its peak resident
   memory (``ru_maxrss`` of that child, from ``os.wait4``),
4. checks that the methods' per-arm sums agree, and prints medians and the ratios of
   the targets (threadlift / handwritten time and memory, pandas / threadlift time).

Usage::

    python bench/scale_bench.py --sizes 1M,10M --repeats 3 --root /tmp/tl-bench \
        --json bench/scale_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
METHODS = ("threadlift", "handwritten", "pandas", "threadlift-core", "threadlift-full")


def parse_size(text: str) -> int:
    """``1M`` → 1_000_000, ``250k`` → 250_000, ``5000`` → 5000."""
    units = {"k": 1_000, "m": 1_000_000}
    suffix = text[-1].lower()
    return int(float(text[:-1]) * units[suffix]) if suffix in units else int(text)


def prepare(root: Path, label: str, contacts: int) -> Path:
    """Generate the lake and load the workspace for one size; return its directory.

    Both run in a child process: Linux carries a process's peak RSS across ``fork`` and
    ``exec`` into its children's ``ru_maxrss``, so a parent that had loaded 20 GB would
    report at least that for every method it then measures.
    """
    data = root / label
    lake = data / "lake"
    workspace = data / "workspace.duckdb"
    script = [sys.executable, str(HERE / "scale_data.py"), "--out", str(lake)]
    if not (lake / "summary.json").exists():
        print(f"[{label}] generating {contacts:,} contacts into {lake}", flush=True)
        subprocess.run([*script, "--contacts", str(contacts)], check=True)
    if not workspace.exists():
        print(f"[{label}] loading {workspace}", flush=True)
        started = time.perf_counter()
        subprocess.run([*script, "--workspace", str(workspace)], check=True)
        print(f"[{label}] loaded in {time.perf_counter() - started:.0f} s", flush=True)
    from threadlift.workspace import Workspace

    with Workspace.open(workspace):
        pass  # migrates a workspace built by an older threadlift, so runs can open it read-only
    return data


def measure(method: str, data: Path) -> dict[str, Any]:
    """Run one method in a child process; return its times, peak memory and result."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(HERE / "scale_run.py"), method, str(data)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{method} failed with exit code {child.returncode}")
    payload = json.loads(output.strip().splitlines()[-1])
    return {
        "method": method,
        "wall_seconds": wall,
        "compute_seconds": payload["seconds"],
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "result": payload["result"],
    }


def _agree(runs: list[dict[str, Any]]) -> list[str]:
    """Differences beyond 1e-9 relative between the per-arm sums of the methods."""
    problems: list[str] = []
    reference = next(r for r in runs if r["method"] == "handwritten")["result"]["per_arm"]
    for run in runs:
        per_arm = run["result"].get("per_arm")
        if per_arm is None:
            continue
        for arm, sums in reference.items():
            for key, value in sums.items():
                other = per_arm.get(arm, {}).get(key)
                if other is None or abs(other - value) > 1e-9 * max(1.0, abs(value)):
                    problems.append(f"{run['method']} {arm} {key}: {other} vs {value}")
    return problems


def bench_size(data: Path, repeats: int, methods: tuple[str, ...] = METHODS) -> dict[str, Any]:
    """Repeat every method, interleaved; summarise medians and ratios."""
    runs: list[dict[str, Any]] = []
    for repeat in range(repeats):
        for method in methods:
            run = measure(method, data)
            run["repeat"] = repeat
            runs.append(run)
            print(
                f"  {method:16s} repeat {repeat}: wall {run['wall_seconds']:7.2f} s, compute "
                f"{run['compute_seconds']:7.2f} s, peak {run['peak_rss_mb']:8.0f} MB",
                flush=True,
            )
    problems = _agree(runs)
    median: dict[str, dict[str, float]] = {}
    for method in methods:
        mine = [r for r in runs if r["method"] == method]
        median[method] = {
            key: statistics.median(r[key] for r in mine)
            for key in ("wall_seconds", "compute_seconds", "peak_rss_mb")
        }

    def ratio(numerator: str, denominator: str, key: str) -> float:
        """Median over repeats of the per-repeat ratio (same-run ratios)."""
        if numerator not in methods or denominator not in methods:
            return float("nan")
        values = []
        for repeat in range(repeats):
            a = next(r for r in runs if r["method"] == numerator and r["repeat"] == repeat)
            b = next(r for r in runs if r["method"] == denominator and r["repeat"] == repeat)
            values.append(float(a[key]) / float(b[key]))
        return float(statistics.median(values))

    ratios = {
        "threadlift_vs_handwritten_compute": ratio("threadlift", "handwritten", "compute_seconds"),
        "threadlift_vs_handwritten_wall": ratio("threadlift", "handwritten", "wall_seconds"),
        "pandas_vs_threadlift_compute": ratio("pandas", "threadlift", "compute_seconds"),
        "pandas_vs_threadlift_wall": ratio("pandas", "threadlift", "wall_seconds"),
        "threadlift_vs_handwritten_peak_rss": ratio("threadlift", "handwritten", "peak_rss_mb"),
        "core_report_vs_handwritten_compute": ratio("threadlift-core", "handwritten", "compute_seconds"),
        "core_report_vs_handwritten_peak_rss": ratio("threadlift-core", "handwritten", "peak_rss_mb"),
        "full_report_vs_handwritten_compute": ratio("threadlift-full", "handwritten", "compute_seconds"),
        "full_report_vs_handwritten_peak_rss": ratio("threadlift-full", "handwritten", "peak_rss_mb"),
    }
    for run in runs:
        run.pop("result")
    return {"median": median, "ratios": ratios, "disagreements": problems, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated, e.g. 1M,10M,100M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path("/tmp/tl-bench"))
    parser.add_argument("--json", type=Path, help="write all measurements here")
    parser.add_argument(
        "--methods", default=",".join(METHODS),
        help="comma-separated subset of " + ",".join(METHODS) + " (handwritten is required)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    for label in args.sizes.split(","):
        data = prepare(args.root, label, parse_size(label))
        print(f"[{label}] benchmarking", flush=True)
        results[label] = bench_size(data, args.repeats, tuple(args.methods.split(",")))
        print(json.dumps({label: {k: results[label][k] for k in ("median", "ratios", "disagreements")}},
                         indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
