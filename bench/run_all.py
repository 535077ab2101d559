"""Run every benchmark of ``bench/`` at a modest size (``make bench``).

The sizes here are small enough for a laptop (about 10 minutes on 2 cores), so the
figures show the ratios' direction, not the targets: ``docs/benchmarks.md`` gives the
commands and sizes behind its published figures (``--preset full`` runs those).

| benchmark | small (default) | full |
|---|---|---|
| ``scale_bench.py`` (report vs hand-written query vs pandas) | 1M contacts, 3 repeats | 10M, 3 repeats |
| ``assign_bench.py`` (assignment vs bare MD5 query) | 1M contacts, 3 repeats | 10M, 3 repeats |
| ``ingest_bench.py`` (webhook ingest vs ``read_json``) | 200k events, 3 repeats | 1M, 3 repeats |
| ``ingest_floor.py`` (ingest and a minimal SQL ingest vs ``read_json``) | 200k events, 3 repeats | 1M, 3 repeats |
| ``api_bench.py`` (assignment API vs hash-only endpoint; needs ``wrk``) | 5 s × 2 rounds | 10 s × 3 rounds |
| ``aa_simulation.py`` (A/A calibration) | 2,000 / 500 / 200 experiments | 10,000 / 2,000 / 1,000 |
| ``heterogeneity_size.py`` (lift-by-segment heterogeneity: size and power) | 500 experiments per cell | 2,000 |

Each benchmark runs in its own process, one after the other, with its output shown as it
comes; data and JSON results go under ``--root``. A benchmark that fails (or is skipped
because a tool is missing) is reported at the end and makes the exit code 1.

Usage::

    .venv/bin/python bench/run_all.py [--preset small|full] [--only scale,assign] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def commands(preset: str, root: Path) -> dict[str, list[str]]:
    """The command line of each benchmark for a preset."""
    full = preset == "full"
    results = root / "results"
    return {
        "scale": [
            "scale_bench.py", "--sizes", "10M" if full else "1M", "--repeats", "3",
            "--methods", "threadlift,handwritten,pandas", "--root", str(root / "scale"),
            "--json", str(results / "scale.json"),
        ],
        "assign": [
            "assign_bench.py", "--contacts", "10000000" if full else "1000000", "--repeat", "3",
            "--dir", str(root / "assign"),
        ],
        "ingest": [
            "ingest_bench.py", "--events", "1000000" if full else "200000", "--repeat", "3",
            "--out", str(root / "ingest"),
        ],
        "ingest-floor": [
            "ingest_floor.py", "--events", "1000000" if full else "200000", "--repeat", "3",
            "--out", str(root / "ingest-floor"),
        ],
        "api": [
            "api_bench.py", "--duration", "10" if full else "5", "--rounds", "3" if full else "2",
            "--json", str(results / "api.json"),
        ],
        "aa": [
            "aa_simulation.py",
            "--experiments", "10000" if full else "2000",
            "--peeking-experiments", "2000" if full else "500",
            "--frozen-experiments", "1000" if full else "200",
            "--json", str(results / "aa.json"),
        ],
        "heterogeneity": [
            "heterogeneity_size.py",
            "--experiments", "2000" if full else "500",
            "--json", str(results / "heterogeneity.json"),
        ],
    }


NEEDS = {"api": "wrk"}
"""Benchmarks that need a program on the PATH."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("small", "full"), default="small")
    parser.add_argument("--only", help="comma-separated subset of scale,assign,ingest,ingest-floor,api,aa,heterogeneity")
    parser.add_argument("--root", type=Path, default=Path("/tmp/threadlift-bench"),
                        help="data and results (the scale data is reused when present)")
    args = parser.parse_args()
    every = commands(args.preset, args.root)
    chosen = args.only.split(",") if args.only else list(every)
    unknown = sorted(set(chosen) - set(every))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(every)}")
    (args.root / "results").mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, object]] = {}
    for name in chosen:
        tool = NEEDS.get(name)
        if tool and shutil.which(tool) is None:
            summary[name] = {"status": f"skipped: {tool} is not on the PATH"}
            print(f"== {name}: skipped ({tool} is not on the PATH)", flush=True)
            continue
        command = [sys.executable, str(HERE / every[name][0]), *every[name][1:]]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command)
        seconds = round(time.perf_counter() - started, 1)
        summary[name] = {"status": "ok" if code == 0 else f"failed (exit {code})",
                         "seconds": seconds, "command": command[1:]}
        print(f"== {name}: {summary[name]['status']} in {seconds} s", flush=True)
    (args.root / "results" / "run_all.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps({name: s["status"] for name, s in summary.items()}, indent=1))
    sys.exit(0 if all(s["status"] == "ok" for s in summary.values()) else 1)


if __name__ == "__main__":
    main()
