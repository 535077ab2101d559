"""Start-up benchmark: what a ``threadlift`` process costs before and around its work.

Whole processes, timed from the parent (wall time from start to exit), interleaved
(every command once per round, the order rotated each round) and summarised by the
median over rounds, each against the median of ``python -c "import duckdb"``, the least
any process that reads a workspace pays:

* ``python -c "import duckdb"``;
* ``python -c "import threadlift"``;
* ``threadlift --help``;
* ``threadlift report --core`` on a tiny workspace (the seeded demo, 2,000 contacts,
  built once into a temporary folder): everything a scheduled check pays besides its
  queries.

The 1-minute load average is recorded before every run: the machine is shared, and a
run on a loaded machine is slower for reasons of its own. The children may write
bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped from their environment) and one round
runs untimed first, so every process loads compiled modules, as from an installed wheel
(pip compiles at install), instead of compiling threadlift's sources each time.

Usage::

    python bench/startup_bench.py --rounds 7 [--json bench/startup_results.json]
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
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "threadlift.cli"]
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], ok: tuple[int, ...] = (0,)) -> dict[str, float]:
    """Run ``command`` to its end: its wall time, its CPU time (user + system, from
    ``os.wait4``) and the load average before it.

    On a loaded machine a process waits for a core, so its wall time grows while its CPU
    time does not: the CPU time is the steadier measure of the work, the wall time the
    one a user waits for.
    """
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=CHILD_ENV)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {errors[-2000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "load": load}


def interleaved(commands: dict[str, tuple[list[str], tuple[int, ...]]],
                rounds: int) -> dict[str, list[dict[str, float]]]:
    """Every command once per round, the order rotated each round, after an untimed round."""
    names = list(commands)
    for command, ok in commands.values():
        timed(command, ok)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            command, ok = commands[name]
            runs[name].append(timed(command, ok))
    return runs


def summary(runs: dict[str, list[dict[str, float]]], reference: str) -> dict[str, Any]:
    """Median wall and CPU seconds per command and their ratios to the reference's medians."""
    medians = {name: statistics.median(r["seconds"] for r in rows) for name, rows in runs.items()}
    cpu = {name: statistics.median(r["cpu_seconds"] for r in rows) for name, rows in runs.items()}
    return {
        name: {
            "median_seconds": round(medians[name], 4),
            "ratio_to_" + reference: round(medians[name] / medians[reference], 3),
            "median_cpu_seconds": round(cpu[name], 4),
            "cpu_ratio_to_" + reference: round(cpu[name] / cpu[reference], 3),
            "runs": [round(r["seconds"], 4) for r in rows],
            "load_average": [round(r["load"], 2) for r in rows],
        }
        for name, rows in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()
    from threadlift.datasets.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="tl-startup-") as tmp:
        demo = Path(tmp) / "demo"
        run_demo(demo, n_contacts=2_000, seed=1)
        commands = {
            "import duckdb": ([sys.executable, "-c", "import duckdb"], (0,)),
            "import threadlift": ([sys.executable, "-c", "import threadlift"], (0,)),
            "threadlift --help": ([*CLI, "--help"], (0,)),
            "threadlift report --core": (
                [*CLI, "report", str(demo / "experiment.toml"), "-w", str(demo / "demo.duckdb"),
                 "--out", str(Path(tmp) / "core"), "--core"],
                (0, 3),
            ),
        }
        results = summary(interleaved(commands, args.rounds), "import duckdb")
    for name, row in results.items():
        print(f"{name:26s} median {row['median_seconds']:6.3f} s  "
              f"{row['ratio_to_import duckdb']:5.2f}x import duckdb; CPU {row['median_cpu_seconds']:6.3f} s "
              f"{row['cpu_ratio_to_import duckdb']:5.2f}x  "
              f"(load {min(row['load_average']):.1f}-{max(row['load_average']):.1f})")
    if args.json:
        args.json.write_text(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count(),
                                         "results": results}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
