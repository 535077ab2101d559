"""Benchmark: ``assign_experiment`` on N contacts vs a bare DuckDB MD5-bucket query.

Builds a workspace of N contacts (default 10 million) with a realistic eligibility
history: a marketing consent grant for 90 % of them, a later revoke for 2 %, a block in
the last 90 days for 1 % and a 131050 failure for 0.5 %. Then, in the same run and on
the same ids:

1. floor — ``CREATE TABLE AS SELECT contact_id, <public bucket expression> FROM
   contacts``: only the MD5 bucket, stored in the workspace file like the assignments
   (no eligibility, no arms); also timed as a TEMP (in-memory) table, the lower floor;
2. threadlift — ``assign_experiment``: audience, consent / marketing-stop / feedback
   eligibility, bucket, arm, insert into ``assignments``, counts per reason and per arm,
   in one transaction with the design registry.

``assign`` reads the per-contact ``eligibility_state`` that ``threadlift load`` keeps
current. The data here are inserted with SQL, so the state is built once after them
(``eligibility_state.rebuild``, the work a load of the same rows does) and that time is
reported as ``state_build_seconds``, apart from the comparison; each ``assign`` run still
verifies the state against its sources (checksums) and would rebuild it if stale.

Each is run ``--repeat`` times (threadlift on a fresh copy of the experiment id each
time, so every run assigns all N contacts); the best time of each is compared, and so is
the CPU time of the process (``cpu_ratio_*``), which other work on a shared machine
disturbs less than wall time.

``--log-path`` (default on) also times, interleaved, the evaluation ``assign`` used before
the state existed (``sql/assign/evaluate.sql`` over the event logs, into a temp table,
then counts and insert), so the gain is measured in the same run.

``--load-contacts M`` (default 1,000,000; 0 skips it) measures what keeping the state
costs ``threadlift load``: the same kind of data for M contacts is written to CSV files
and loaded into new workspaces (contacts, consents, feedback, messages, message_events),
alternately with the state maintained and with it switched off, ``--repeat`` times each.
Usage::

    .venv/bin/python bench/assign_bench.py [--contacts 10000000] [--repeat 3] [--threads N]
        [--load-contacts 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from threadlift.assign import eligibility as eligibility_state
from threadlift.assign.assignment import _evaluate, assign_experiment
from threadlift.assign.eligibility import LoadSync
from threadlift.engines.sqlfiles import sql_text
from threadlift.experiment import Experiment
from threadlift.loading import load_files
from threadlift.workspace import Workspace

ASSIGNED_AT = datetime(2026, 11, 2, 9, 0, 0)
FLOOR_QUERY = """
CREATE OR REPLACE {kind} bench_floor AS
SELECT contact_id,
       CAST(('0x' || substr(md5($salt || ':' || contact_id), 1, 15)) AS BIGINT) % 10000 AS bucket
FROM contacts
"""


def build_workspace(path: Path, contacts: int) -> Workspace:
    """A workspace with ``contacts`` contacts and their eligibility history."""
    ws = Workspace.create(path)
    con = ws.con
    params = {"n": contacts, "at": ASSIGNED_AT}
    con.execute(
        "INSERT INTO contacts SELECT 'C' || lpad(CAST(i AS VARCHAR), 10, '0'), "
        "CASE WHEN i % 3 = 0 THEN 'MX' ELSE 'BR' END, $at - INTERVAL 400 DAY FROM range($n) AS r(i)",
        params,
    )
    con.execute(
        "INSERT INTO consents SELECT 'C' || lpad(CAST(i AS VARCHAR), 10, '0'), 'whatsapp', NULL, "
        "'marketing', 'granted', $at - to_days(CAST(1 + i % 300 AS INTEGER)), 'opt_in_form' "
        "FROM range($n) AS r(i) WHERE i % 10 <> 0",
        params,
    )
    con.execute(
        "INSERT INTO consents SELECT 'C' || lpad(CAST(i AS VARCHAR), 10, '0'), 'whatsapp', NULL, "
        "'marketing', 'revoked', $at - INTERVAL 1 HOUR, 'user_preferences' "
        "FROM range($n) AS r(i) WHERE i % 50 = 1",
        params,
    )
    con.execute(
        "INSERT INTO feedback SELECT 'C' || lpad(CAST(i AS VARCHAR), 10, '0'), 'whatsapp', NULL, "
        "'block', $at - to_days(CAST(i % 120 AS INTEGER)), NULL FROM range($n) AS r(i) WHERE i % 100 = 2",
        params,
    )
    con.execute(
        "INSERT INTO messages SELECT 'm' || i, 'C' || lpad(CAST(i AS VARCHAR), 10, '0'), 'whatsapp', "
        "NULL, NULL, NULL, NULL, 'promo', 'marketing', $at - INTERVAL 2 DAY "
        "FROM range($n) AS r(i) WHERE i % 200 = 3",
        params,
    )
    con.execute(
        "INSERT INTO message_events SELECT 'm' || i, 'failed', $at - INTERVAL 2 DAY, '131050', NULL, "
        "false FROM range($n) AS r(i) WHERE i % 200 = 3",
        params,
    )
    con.execute("CHECKPOINT")
    return ws


def log_path_assign(ws: Workspace, exp: Experiment) -> int:
    """What ``assign`` did before ``eligibility_state``, for comparison in the same run.

    ``sql/assign/evaluate.sql`` over the event logs into the temp table ``_tl_evaluation``,
    exclusion counts from it, insert of its eligible rows, in one transaction (the design
    registry steps, a few milliseconds, are left out). Returns the rows inserted.
    """
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    _evaluate(ws, exp, ASSIGNED_AT, None, None)
    con.execute(sql_text("assign/exclusions")).fetchall()
    inserted = con.execute(
        sql_text("assign/insert_new"), {"experiment_id": exp.id, "assigned_at": ASSIGNED_AT}
    ).fetchall()
    con.execute("COMMIT")
    return int(inserted[0][0])


LOADED_TABLES = ("contacts", "consents", "feedback", "messages", "message_events")


def measure_load(directory: Path, contacts: int, repeat: int) -> dict[str, object]:
    """Seconds to load ``contacts`` contacts' data with and without the eligibility state."""
    source = build_workspace(directory / "source.duckdb", contacts)
    files: dict[str, Path] = {}
    for table in LOADED_TABLES:
        files[table] = directory / f"{table}.csv"
        source.con.execute(f"COPY {table} TO '{files[table]}' (HEADER)")
    source.close()
    (directory / "source.duckdb").unlink()

    def load(maintained: bool, run: int) -> float:
        path = directory / f"load-{maintained}-{run}.duckdb"
        ws = Workspace.create(path)
        original = (LoadSync.start, LoadSync.finish)
        if not maintained:
            LoadSync.start = classmethod(lambda cls, con, table: cls(table, False))  # type: ignore[method-assign, assignment]
        started = time.perf_counter()
        try:
            for table in LOADED_TABLES:
                load_files(ws, table, [files[table]])
        finally:
            LoadSync.start, LoadSync.finish = original  # type: ignore[method-assign]
        seconds = time.perf_counter() - started
        ws.close()
        path.unlink()
        return seconds

    with_state: list[float] = []
    without_state: list[float] = []
    for run in range(repeat):
        without_state.append(load(False, run))
        with_state.append(load(True, run))
    return {
        "load_contacts": contacts,
        "load_seconds_with_state": [round(t, 3) for t in with_state],
        "load_seconds_without_state": [round(t, 3) for t in without_state],
        "load_ratio_best": round(min(with_state) / min(without_state), 3),
        "load_ratio_median": round(_median(with_state) / _median(without_state), 3),
    }


def experiment(experiment_id: str) -> Experiment:
    """The README's example experiment (10 % holdout), every contact in the audience."""
    return Experiment.model_validate(
        {
            "id": experiment_id,
            "channel": "whatsapp",
            "category": "marketing",
            "assigned_at": ASSIGNED_AT,
            "salt": "br-winback-2026-11",
            "arms": [
                {"name": "holdout", "weight": 10, "holdout": True},
                {"name": "whatsapp", "weight": 90},
            ],
        }
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    """Run the benchmark and print the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the workspace")
    parser.add_argument("--log-path", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the event-log evaluation assign used before eligibility_state")
    parser.add_argument("--load-contacts", type=int, default=1_000_000,
                        help="contacts for the load-cost measurement (0: skip it)")
    args = parser.parse_args()

    if args.dir is not None:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="tl-assign-bench-", dir=args.dir))
    try:
        started = time.perf_counter()
        ws = build_workspace(directory / "bench.duckdb", args.contacts)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ws.con.execute("BEGIN TRANSACTION")
        eligibility_state.rebuild(ws.con)
        ws.con.execute("COMMIT")
        ws.con.execute("CHECKPOINT")
        state_build_seconds = time.perf_counter() - started
        if args.threads:
            ws.con.execute(f"SET threads = {int(args.threads)}")
        floor_times: list[float] = []
        memory_floor_times: list[float] = []
        threadlift_times: list[float] = []
        log_path_times: list[float] = []
        result = None
        floor_cpu: list[float] = []
        threadlift_cpu: list[float] = []
        for run in range(args.repeat):
            for kind, times in (("TABLE", floor_times), ("TEMP TABLE", memory_floor_times)):
                started, cpu = time.perf_counter(), time.process_time()
                ws.con.execute(FLOOR_QUERY.format(kind=kind), {"salt": "br-winback-2026-11"})
                times.append(time.perf_counter() - started)
                if kind == "TABLE":
                    floor_cpu.append(time.process_time() - cpu)
                ws.con.execute("DROP TABLE bench_floor")

            started, cpu = time.perf_counter(), time.process_time()
            result = assign_experiment(ws, experiment(f"bench-{run}"))
            threadlift_times.append(time.perf_counter() - started)
            threadlift_cpu.append(time.process_time() - cpu)

            if args.log_path:
                started = time.perf_counter()
                log_path_assign(ws, experiment(f"log-{run}"))
                log_path_times.append(time.perf_counter() - started)
        assert result is not None
        threads = ws.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        report = {
            "contacts": args.contacts,
            "threads": threads,
            "cpus": os.cpu_count(),
            "build_seconds": round(build_seconds, 2),
            "state_build_seconds": round(state_build_seconds, 2),
            "floor_seconds": [round(t, 3) for t in floor_times],
            "memory_floor_seconds": [round(t, 3) for t in memory_floor_times],
            "threadlift_seconds": [round(t, 3) for t in threadlift_times],
            "ratio_best": round(min(threadlift_times) / min(floor_times), 3),
            "ratio_median": round(_median(threadlift_times) / _median(floor_times), 3),
            "ratio_best_vs_memory_floor": round(min(threadlift_times) / min(memory_floor_times), 3),
            # each run's assign against the floor timed just before it (robust to load swings)
            "paired_ratios": [round(t / f, 3) for t, f in zip(threadlift_times, floor_times, strict=True)],
            # CPU seconds of this process (every DuckDB thread): steadier than wall time when
            # other work shares the machine
            "floor_cpu_seconds": [round(t, 3) for t in floor_cpu],
            "threadlift_cpu_seconds": [round(t, 3) for t in threadlift_cpu],
            "cpu_ratio_best": round(min(threadlift_cpu) / min(floor_cpu), 3),
            "cpu_ratio_median": round(_median(threadlift_cpu) / _median(floor_cpu), 3),
            "assigned": result.assigned,
            "by_arm": result.by_arm,
            "excluded": result.excluded,
            "state_rebuilt_by_assign": result.state_rebuilt,
            "log_path_seconds": [round(t, 3) for t in log_path_times],
            "log_path_ratio_best": round(min(log_path_times) / min(floor_times), 3) if log_path_times else None,
            "log_path_ratio_median": round(_median(log_path_times) / _median(floor_times), 3)
            if log_path_times else None,
        }
        ws.close()
        (directory / "bench.duckdb").unlink()
        if args.load_contacts:
            report.update(measure_load(directory, args.load_contacts, args.repeat))
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
