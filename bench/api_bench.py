"""Benchmark of the assignment API on loopback: single lookups against a hash-only FastAPI baseline.

In one run it:

1. builds a workspace from the seeded WhatsApp experiment (``--contacts`` contacts) and
   an API key, and starts two uvicorn servers with the same options (``--workers``,
   no access log): the threadlift API and a minimal FastAPI app whose one endpoint only
   computes ``threadlift.bucket`` of the id;
2. drives ``GET /v1/experiments/{id}/assignments/{contact_id}`` and the baseline's
   ``GET /v1/hash/{contact_id}`` with wrk for ``--duration`` seconds each (same threads,
   connections and id mix: half workspace contacts, half unknown ids), alternating for
   ``--rounds`` rounds, and reports requests/s and p50/p99 latency of each and the ratio
   (of the medians, and per round: both servers driven back to back share the machine's
   background load);
3. times ``POST …/assignments:batch`` with 10,000 ids (half known, half unknown) from a
   keep-alive client, ``--batches`` times.

Usage::

    python bench/api_bench.py [--contacts 50000] [--duration 10] [--rounds 3] [--json out.json]

Needs ``wrk`` on the PATH (``apt-get install wrk``).
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
from fastapi import FastAPI

from threadlift.api.security import new_api_key
from threadlift.api.settings import SETTINGS_ENV, ApiSettings
from threadlift.core.bucketing import bucket
from threadlift.datasets.synthetic import generate_whatsapp_experiment
from threadlift.workspace import Workspace

BASELINE_SALT = "wa-reactivation-2026-09"
TABLES = ("contacts", "identities", "consents", "messages", "message_events", "feedback")

baseline = FastAPI()


@baseline.get("/v1/hash/{contact_id}")
async def hash_only(contact_id: str) -> dict[str, object]:
    """The baseline: no auth, no lookup, only the bucket of the id."""
    return {"contact_id": contact_id, "bucket": bucket(BASELINE_SALT, contact_id)}


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


@contextlib.contextmanager
def _server(app: str, port: int, workers: int, env: dict[str, str], factory: bool) -> Iterator[str]:
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
                if httpx.get(f"{base}/healthz" if factory else f"{base}/v1/hash/x", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{app} did not start")
            time.sleep(0.1)
        yield base
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


def _wrk(url_prefix: str, ids_file: Path, script: Path, auth: str, duration: int, threads: int, connections: int) -> dict[str, float]:
    parts = urlsplit(url_prefix)
    env = {**os.environ, "TL_IDS": str(ids_file), "TL_PREFIX": parts.path, "TL_AUTH": auth}
    base = f"{parts.scheme}://{parts.netloc}"
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", str(script), base],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {p: _to_ms(re.search(rf"^\s+{p}%\s+(\S+)", output, re.M).group(1)) for p in ("50", "99")}  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rps,
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def _build(root: Path, contacts: int) -> tuple[ApiSettings, str, list[str], str]:
    data = generate_whatsapp_experiment(n_contacts=contacts, seed=3)
    workspace = root / "bench.duckdb"
    with Workspace.create(workspace) as ws:
        for table in TABLES:
            ws.con.register("_frame", data.tables[table])
            ws.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _frame')
            ws.con.unregister("_frame")
    experiments = root / "experiments"
    experiments.mkdir()
    (experiments / "main.toml").write_text(data.experiment_toml, encoding="utf-8")
    secret, line = new_api_key("bench", ["read"])
    settings = ApiSettings(experiments_dir=experiments, workspace=workspace, keys=line)
    known = [str(c) for c in data.tables["contacts"]["contact_id"]]
    return settings, secret, known, data.experiment_id


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
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    root = Path(tempfile.mkdtemp(prefix="threadlift-api-bench-"))
    try:
        load_before = os.getloadavg()
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
            _server("threadlift.api.app:app_from_env", _free_port(), args.workers, env, True) as api,
            _server("api_bench:baseline", _free_port(), args.workers, dict(os.environ), False) as base,
        ):
            targets = {
                "baseline": f"{base}/v1/hash/",
                "threadlift": f"{api}/v1/experiments/{experiment_id}/assignments/",
            }
            for prefix in targets.values():  # warm-up
                _wrk(prefix, ids_file, script, auth, 2, args.threads, args.connections)
            for _ in range(args.rounds):
                for name, prefix in targets.items():
                    runs[name].append(_wrk(prefix, ids_file, script, auth, args.duration, args.threads, args.connections))
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
            "load_average_before": load_before,
            "contacts": args.contacts,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "wrk": {"threads": args.threads, "connections": args.connections},
            "workers": args.workers,
            "cpus": os.cpu_count(),
        }
        for name, results in runs.items():
            summary[name] = {
                "requests_per_s": statistics.median(r["requests_per_s"] for r in results),
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
        summary["load_average_after"] = os.getloadavg()
        summary["batch_10k_ms"] = {
            "median": round(statistics.median(timings), 1),
            "p95": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 1),
            "max": round(max(timings), 1),
            "n": len(timings),
        }
        text = json.dumps(summary, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
