"""Benchmark of the assignment API: single lookups against a minimal FastAPI endpoint, and snapshot memory.

Throughput (skipped with ``--no-throughput``). In one run it:

1. builds a workspace from the seeded WhatsApp experiment (``--contacts`` contacts) and
   an API key, and starts two uvicorn servers with the same options (``--workers``,
   no access log): the threadlift API and a minimal FastAPI app whose one endpoint,
   ``GET /v1/constant/{contact_id}``, answers the same pre-encoded constant JSON
   whatever the id (no auth, no lookup, no serialisation: the floor of a FastAPI
   endpoint with a path parameter), an answer of threadlift's shape and size;
2. drives ``GET /v1/experiments/{id}/assignments/{contact_id}`` and the baseline with wrk
   for ``--duration`` seconds each (same threads, connections and id mix: half workspace
   contacts, half unknown ids), alternating for ``--rounds`` rounds (which goes first
   alternates too), and reports requests/s, p50/p99 latency and the servers' CPU time per
   request of each, and the ratios (of the medians, and per round: both servers driven
   back to back share the machine's background load);
3. times ``POST …/assignments:batch`` with 10,000 ids (half known, half unknown) from a
   keep-alive client, ``--batches`` times.

Memory (with ``--memory-contacts N``): a workspace of N contacts and
``--memory-experiments`` evaluated experiments (copies of the seeded one under other ids),
a snapshot built from it, then loaded by a fresh process, which reports what the load
kept: tracemalloc's traced bytes and the growth of its resident set (VmRSS), each per
(contact, experiment), N being the workspace's contacts.

Usage::

    python bench/api_bench.py [--contacts 50000] [--duration 10] [--rounds 3] [--json out.json]
    python bench/api_bench.py --no-throughput --memory-contacts 1000000 --memory-experiments 3

Needs ``wrk`` on the PATH for the throughput part (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Response

from threadlift.api.security import new_api_key
from threadlift.api.settings import SETTINGS_ENV, ApiSettings
from threadlift.api.snapshot import build_snapshot
from threadlift.datasets.synthetic import generate_whatsapp_experiment
from threadlift.workspace import Workspace

TABLES = ("contacts", "identities", "consents", "messages", "message_events", "feedback")

baseline = FastAPI()


CONSTANT = (
    b'{"experiment_id":"wa-reactivation-2026-09","contact_id":"cus_9087458350","arm":"whatsapp",'
    b'"holdout":false,"eligible":true,"reason":null,"bucket":2054,"assigned":false,'
    b'"assigned_at":"2026-09-28T09:00:00Z","send":true,"evaluated_at":"2026-09-28T09:00:00Z",'
    b'"snapshot_at":"2026-12-08T01:20:00.123456Z"}'
)
"""An answer of threadlift's shape and size, so both servers send the same bytes per request."""


@baseline.get("/v1/constant/{contact_id}")
async def constant(contact_id: str) -> Response:
    """The baseline: no auth, no lookup; the same pre-encoded JSON whatever the id."""
    return Response(CONSTANT, media_type="application/json")


WRK_SCRIPT = """
local ids = {}
for line in io.lines(os.getenv("TL_IDS")) do ids[#ids + 1] = line end
local prefix = os.getenv("TL_PREFIX")
local headers = {["Authorization"] = os.getenv("TL_AUTH")}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)], headers)
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of process group ``group``."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields[0] is the state (field 3 of proc(5)): pgrp is field 5, utime 14, stime 15.
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _server(app: str, port: int, workers: int, env: dict[str, str], factory: bool) -> Iterator[tuple[str, int]]:
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(command, env=env, start_new_session=True, cwd=Path(__file__).parent)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz" if factory else f"{base}/v1/constant/x", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{app} did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _to_ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _wrk(
    url_prefix: str, group: int, ids_file: Path, script: Path, auth: str, duration: int, threads: int, connections: int
) -> dict[str, float]:
    parts = urlsplit(url_prefix)
    env = {**os.environ, "TL_IDS": str(ids_file), "TL_PREFIX": parts.path, "TL_AUTH": auth}
    base = f"{parts.scheme}://{parts.netloc}"
    cpu_before = _group_cpu_seconds(group)
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", str(script), base],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    cpu = _group_cpu_seconds(group) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {p: _to_ms(re.search(rf"^\s+{p}%\s+(\S+)", output, re.M).group(1)) for p in ("50", "99")}  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rps,
        "server_cpu_us_per_request": round(cpu / requests * 1e6, 1),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def _build(root: Path, contacts: int, experiments: int = 1) -> tuple[ApiSettings, str, list[str], str]:
    """A workspace of ``contacts`` seeded contacts and ``experiments`` experiment files
    (the seeded one, then copies of it under other ids, so other salts)."""
    root.mkdir(parents=True)
    data = generate_whatsapp_experiment(n_contacts=contacts, seed=3)
    workspace = root / "bench.duckdb"
    with Workspace.create(workspace) as ws:
        for table in TABLES:
            ws.con.register("_frame", data.tables[table])
            ws.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _frame')
            ws.con.unregister("_frame")
    directory = root / "experiments"
    directory.mkdir()
    seeded_id = f'id = "{data.experiment_id}"'
    assert seeded_id in data.experiment_toml
    for number in range(experiments):
        text = data.experiment_toml if number == 0 else data.experiment_toml.replace(seeded_id, f'id = "{data.experiment_id}-{number}"')
        (directory / f"experiment-{number}.toml").write_text(text, encoding="utf-8")
    secret, line = new_api_key("bench", ["read"])
    settings = ApiSettings(experiments_dir=directory, workspace=workspace, keys=line)
    known = [str(c) for c in data.tables["contacts"]["contact_id"]]
    return settings, secret, known, data.experiment_id


def _resident_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _measure_load(path: Path) -> dict[str, float]:
    """What loading the snapshot at ``path`` keeps in this (fresh) process."""
    import gc
    import tracemalloc

    import duckdb

    from threadlift.api.snapshot import load_snapshot

    # Imports and DuckDB's start are paid before the measure; the snapshot is loaded once,
    # so the resident set's growth also holds what DuckDB and the allocators keep of the load.
    duckdb.connect().execute("SELECT 1").fetchall()
    gc.collect()
    resident_before = _resident_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    snapshot = load_snapshot(path)
    seconds = time.perf_counter() - started
    gc.collect()
    traced, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    resident_after = _resident_bytes()
    return {
        "experiments_served": sum(1 for e in snapshot.experiments.values() if e.state == "ok"),
        "load_s": round(seconds, 2),
        "traced_bytes": traced,
        "traced_peak_bytes": peak,
        "resident_growth_bytes": resident_after - resident_before,
    }


def _memory(root: Path, contacts: int, experiments: int) -> dict[str, object]:
    started = time.perf_counter()
    settings, _, _, _ = _build(root, contacts, experiments)
    built = time.perf_counter()
    print(f"workspace of {contacts} contacts built in {built - started:.1f}s", file=sys.stderr)
    path = build_snapshot(settings)
    snapshot_s = time.perf_counter() - built
    print(f"snapshot of {experiments} experiments built in {snapshot_s:.1f}s", file=sys.stderr)
    output = subprocess.run(
        [sys.executable, __file__, "--measure-load", str(path)], capture_output=True, text=True, check=True
    ).stdout
    loaded: dict[str, float] = json.loads(output)
    assert loaded["experiments_served"] == experiments, loaded
    pairs = contacts * experiments
    return {
        "contacts": contacts,
        "experiments": experiments,
        "snapshot_build_s": round(snapshot_s, 1),
        "snapshot_file_bytes": path.stat().st_size,
        **loaded,
        "traced_bytes_per_contact_experiment": round(loaded["traced_bytes"] / pairs, 1),
        "resident_bytes_per_contact_experiment": round(loaded["resident_growth_bytes"] / pairs, 1),
    }


def _throughput(root: Path, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    settings, secret, known, experiment_id = _build(root, args.contacts)
    rng = random.Random(1)
    ids = [rng.choice(known) for _ in range(5_000)] + [f"u-{rng.getrandbits(48):012x}" for _ in range(5_000)]
    rng.shuffle(ids)
    ids_file = root / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    script = root / "ids.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    print(f"workspace of {args.contacts} contacts built in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    env = {**os.environ, SETTINGS_ENV: settings.model_dump_json()}
    auth = f"Bearer {secret}"
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "threadlift": []}
    with (
        _server("threadlift.api.app:app_from_env", _free_port(), args.workers, env, True) as (api, api_group),
        _server("api_bench:baseline", _free_port(), args.workers, dict(os.environ), False) as (base, base_group),
    ):
        targets = {
            "baseline": (f"{base}/v1/constant/", base_group),
            "threadlift": (f"{api}/v1/experiments/{experiment_id}/assignments/", api_group),
        }
        for prefix, group in targets.values():  # warm-up
            _wrk(prefix, group, ids_file, script, auth, 2, args.threads, args.connections)
        for round_number in range(args.rounds):
            for name in sorted(targets, reverse=round_number % 2 == 1):
                prefix, group = targets[name]
                runs[name].append(_wrk(prefix, group, ids_file, script, auth, args.duration, args.threads, args.connections))
                print(name, runs[name][-1], file=sys.stderr)
        batch_ids = ids[:10_000]
        body = json.dumps({"contact_ids": batch_ids}).encode()
        timings = []
        with httpx.Client(base_url=api, headers={"Authorization": auth, "content-type": "application/json"}) as client:
            for _ in range(args.batches + 3):
                t0 = time.perf_counter()
                response = client.post(f"/v1/experiments/{experiment_id}/assignments:batch", content=body)
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
                assert len(response.json()["assignments"]) == len(dict.fromkeys(batch_ids))
        timings = timings[3:]
    summary: dict[str, object] = {
        "contacts": args.contacts,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "wrk": {"threads": args.threads, "connections": args.connections},
        "workers": args.workers,
    }
    for name, results in runs.items():
        summary[name] = {
            "requests_per_s": statistics.median(r["requests_per_s"] for r in results),
            "server_cpu_us_per_request": statistics.median(r["server_cpu_us_per_request"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "runs": results,
        }
    ratio = summary["threadlift"]["requests_per_s"] / summary["baseline"]["requests_per_s"]  # type: ignore[index]
    summary["throughput_ratio"] = round(ratio, 3)
    # Each round drives both servers back to back, so a round's ratio shares its
    # background load; the median over rounds is the robust figure on a shared machine.
    paired = [t["requests_per_s"] / b["requests_per_s"] for b, t in zip(runs["baseline"], runs["threadlift"], strict=True)]
    summary["throughput_ratio_per_round"] = [round(r, 3) for r in paired]
    summary["throughput_ratio_median_of_rounds"] = round(statistics.median(paired), 3)
    # CPU per request is the servers' own cost, which the background load does not change
    # (it only delays it): its inverse ratio is the throughput ratio on a quiet machine.
    cpu_paired = [
        b["server_cpu_us_per_request"] / t["server_cpu_us_per_request"]
        for b, t in zip(runs["baseline"], runs["threadlift"], strict=True)
    ]
    summary["cpu_per_request_ratio_per_round"] = [round(r, 3) for r in cpu_paired]
    summary["cpu_per_request_ratio_median_of_rounds"] = round(statistics.median(cpu_paired), 3)
    summary["batch_10k_ms"] = {
        "median": round(statistics.median(timings), 1),
        "p95": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 1),
        "max": round(max(timings), 1),
        "n": len(timings),
    }
    return summary


def main() -> None:
    """Run the benchmark and print (and optionally write) the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--no-throughput", action="store_true", help="skip the wrk part")
    parser.add_argument("--memory-contacts", type=int, default=0, help="contacts of the memory part (0: skip it)")
    parser.add_argument("--memory-experiments", type=int, default=3)
    parser.add_argument("--measure-load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.measure_load:
        print(json.dumps(_measure_load(args.measure_load)))
        return
    if not args.no_throughput and shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    root = Path(tempfile.mkdtemp(prefix="threadlift-api-bench-"))
    try:
        summary: dict[str, object] = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
        if not args.no_throughput:
            summary["throughput"] = _throughput(root / "throughput", args)
        if args.memory_contacts:
            summary["memory"] = _memory(root / "memory", args.memory_contacts, args.memory_experiments)
        summary["load_average_after"] = os.getloadavg()
        text = json.dumps(summary, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
