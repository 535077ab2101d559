"""Benchmark: ingest N webhooks into a pseudonymised workspace vs a plain one.

Writes the bodies of ``ingest_bench.py`` (``--traffic``, default WhatsApp statuses), then
ingests the same file into a new plain workspace and a new pseudonymised one (``threadlift
init --pseudonymise``: every address hashed with HMAC-SHA256 before the body is stored),
alternating ``--repeat`` times so both see the same machine load; prints the best and
median wall time and the process CPU time of each and their ratio. Usage::

    .venv/bin/python bench/pseudonymise_bench.py [--events 200000] [--repeat 3] [--out bench/out]
        [--traffic statuses|inbound|messenger|apple]
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from ingest_bench import TRAFFIC, arguments

from threadlift.ingest import ingest_files
from threadlift.privacy.pseudonyms import enable, new_key
from threadlift.workspace import Workspace


def time_ingest(data: Path, database: Path, platform: str, key_file: Path | None) -> tuple[float, float, str]:
    """Wall and CPU seconds of ``ingest_files`` into a new workspace (pseudonymised with the
    key in ``key_file`` when given), and its result."""
    ws = Workspace.create(database)
    if key_file is not None:
        enable(ws.con, bytes.fromhex(key_file.read_text().strip()), key_file)
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_files(ws, platform, [data], key_file=key_file)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    ws.close()
    return elapsed, cpu, str(result)


def main() -> None:
    """Run the benchmark and print the comparison."""
    args = arguments(__doc__)
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write, platform, what = TRAFFIC[args.traffic]
    data = out / f"{args.traffic}.jsonl"
    write(data, args.events)
    key_file = out / "bench.key"
    key_file.write_text(new_key() + "\n")
    key_file.chmod(0o600)
    wall: dict[str, list[float]] = {"plain": [], "pseudonymised": []}
    cpu: dict[str, list[float]] = {"plain": [], "pseudonymised": []}
    results = {}
    for run in range(args.repeat):
        for kind, key in (("plain", None), ("pseudonymised", key_file)):
            seconds, used, results[kind] = time_ingest(data, out / f"{kind}{run}.duckdb", platform, key)
            wall[kind].append(seconds)
            cpu[kind].append(used)
        for path in out.glob("*.duckdb*"):
            path.unlink()
    print(f"file: {args.events} {what}, {data.stat().st_size / 2**20:.0f} MiB; {args.repeat} runs each")
    for kind in wall:
        print(f"{kind:>13}: best {min(wall[kind]):.2f} s ({args.events / min(wall[kind]):,.0f} "
              f"events/s), median {statistics.median(wall[kind]):.2f} s, "
              f"CPU median {statistics.median(cpu[kind]):.2f} s")
    print(f"ratio pseudonymised / plain: best {min(wall['pseudonymised']) / min(wall['plain']):.2f}x, "
          f"median {statistics.median(wall['pseudonymised']) / statistics.median(wall['plain']):.2f}x, "
          f"CPU {statistics.median(cpu['pseudonymised']) / statistics.median(cpu['plain']):.2f}x")
    for kind, result in results.items():
        print(f"{kind}: {result}")


if __name__ == "__main__":
    main()
