"""Benchmark: ingest N WhatsApp status webhooks vs DuckDB's own ``read_json`` of the file.

Writes a JSON-lines file of N status webhook bodies (sent / delivered / read for N/3
messages to N/10 recipients, PMP pricing on sent and delivered), then in the same run:

1. baseline — ``CREATE TABLE t AS SELECT * FROM read_json(file)`` into a new DuckDB file;
2. threadlift — ``ingest_files(ws, "whatsapp", [file])`` into a new workspace: raw store
   with hashes and dedupe, statuses → message_events and messages, identities, contacts.

Each side runs ``--repeat`` times on a fresh database (alternating, so both see the same
machine load, and both read the file from a warm page cache: it was just written); the
best and the median wall time of each are compared, and the process CPU time of each side
is printed too (less sensitive to other load on a shared machine).

``--traffic`` picks other bodies for the same comparison (the issue's target is about
statuses): ``inbound`` writes WhatsApp user text messages with their ``contacts[]``
profile (one message per body, N/3 senders); ``messenger`` writes Messenger events (an
echo, a delivery with its mid and watermark, a read watermark per message; N/3 messages
to N/30 users); ``apple`` writes Apple Messages for Business provider log records
(alternately outbound and inbound, N/30 users). Usage::

    .venv/bin/python bench/ingest_bench.py [--events 1000000] [--repeat 3] [--out bench/out]
        [--traffic statuses|inbound|messenger|apple]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import duckdb

from threadlift.ingest import ingest_files
from threadlift.workspace import Workspace


def write_statuses(path: Path, events: int) -> None:
    """Write ``events`` WhatsApp status webhook bodies, one per line."""
    recipients = max(events // 10, 1)
    statuses = ("sent", "delivered", "read")
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            message = i // 3
            status: dict[str, object] = {
                "id": f"wamid.BENCH{message:012d}",
                "status": statuses[i % 3],
                "timestamp": str(1750000000 + i),
                "recipient_id": f"1650{2000000 + message % recipients:07d}",
            }
            if i % 3 < 2:
                status["pricing"] = {
                    "billable": True, "pricing_model": "PMP", "type": "regular",
                    "category": "marketing",
                }
            body = {
                "object": "whatsapp_business_account",
                "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881",
                                 "phone_number_id": "106540352242922"},
                    "statuses": [status]}}]}],
            }
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def write_inbound(path: Path, events: int) -> None:
    """Write ``events`` WhatsApp bodies of one inbound text message each, with the sender's
    contacts[] profile."""
    senders = max(events // 3, 1)
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            wa_id = f"1650{2000000 + i % senders:07d}"
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881",
                             "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": f"wamid.IN{i:012d}",
                              "timestamp": str(1750000000 + i), "type": "text",
                              "text": {"body": "Hi, is this still available?"}}],
            }
            body = {"object": "whatsapp_business_account", "entry": [{
                "id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def write_messenger(path: Path, events: int) -> None:
    """Write ``events`` Messenger bodies: per message an echo (the send, with tracking
    metadata), a delivery naming it and a read watermark."""
    users = max(events // 30, 1)
    page = "1111"
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            message, kind = divmod(i, 3)
            user = str(5000000 + message % users)
            ts = 1700000000000 + i * 1000
            item: dict[str, object]
            if kind == 0:
                item = {"sender": {"id": page}, "recipient": {"id": user}, "timestamp": ts,
                        "message": {"mid": f"m_{message}", "is_echo": True, "app_id": 42,
                                    "metadata": "experiment_id=exp1&arm=treatment",
                                    "text": "Your order has shipped"}}
            elif kind == 1:
                item = {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": ts,
                        "delivery": {"mids": [f"m_{message}"], "watermark": ts - 1000}}
            else:
                item = {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": ts,
                        "read": {"watermark": ts - 2000}}
            body = {"object": "page", "entry": [{"id": page, "time": ts + 500, "messaging": [item]}]}
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def write_apple(path: Path, events: int) -> None:
    """Write ``events`` Apple Messages for Business provider log records: alternately an
    outbound (submitted) and an inbound message, to and from N/30 users."""
    users = max(events // 30, 1)
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            user = f"urn:mbid:{i % users:08d}"
            record: dict[str, str] = {"id": f"a{i}", "timestamp": str(1750000000 + i),
                                      "type": "text"}
            if i % 2 == 0:
                record |= {"direction": "outbound", "source_id": "biz-1", "destination_id": user,
                           "status": "submitted", "experiment_id": "exp1", "arm": "treatment",
                           "category": "marketing"}
            else:
                record |= {"direction": "inbound", "source_id": user, "destination_id": "biz-1"}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


TRAFFIC = {
    "statuses": (write_statuses, "whatsapp", "WhatsApp status webhooks"),
    "inbound": (write_inbound, "whatsapp", "WhatsApp inbound messages"),
    "messenger": (write_messenger, "messenger", "Messenger events"),
    "apple": (write_apple, "apple", "Apple Messages for Business records"),
}
"""--traffic: the generator, the platform ingested, and how the output names the bodies."""


def time_read_json(data: Path, database: Path) -> tuple[float, float]:
    """Wall and CPU seconds for DuckDB to load the file with ``read_json`` into a new file."""
    con = duckdb.connect(str(database))
    start, cpu = time.perf_counter(), time.process_time()
    con.execute("CREATE TABLE t AS SELECT * FROM read_json($f)", {"f": str(data)})
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    con.close()
    return elapsed, cpu


def time_ingest(
    data: Path, database: Path, platform: str = "whatsapp"
) -> tuple[float, float, str]:
    """Wall and CPU seconds for ``ingest_files`` of the file into a new workspace, and its result."""
    ws = Workspace.create(database)
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_files(ws, platform, [data])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    ws.close()
    return elapsed, cpu, str(result)


def arguments(doc: str | None, *, traffic: bool = True) -> argparse.Namespace:
    """The command line shared by the ingest benchmarks: --events, --repeat, --out, and
    --traffic when the benchmark offers a choice of bodies."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    if traffic:
        parser.add_argument("--traffic", choices=sorted(TRAFFIC), default="statuses")
    return parser.parse_args()


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
    size_mb = data.stat().st_size / 2**20

    baseline: list[float] = []
    ingest: list[float] = []
    baseline_cpu: list[float] = []
    ingest_cpu: list[float] = []
    result = ""
    for run in range(args.repeat):
        seconds, cpu = time_read_json(data, out / f"baseline{run}.duckdb")
        baseline.append(seconds)
        baseline_cpu.append(cpu)
        seconds, cpu, result = time_ingest(data, out / f"ws{run}.duckdb", platform)
        ingest.append(seconds)
        ingest_cpu.append(cpu)
        for path in out.glob("*.duckdb*"):
            path.unlink()

    best_base, best_ingest = min(baseline), min(ingest)
    print(f"file: {args.events} {what}, {size_mb:.0f} MiB; {args.repeat} runs each")
    print(f"read_json baseline: best {best_base:.2f} s ({args.events / best_base:,.0f} events/s), "
          f"median {statistics.median(baseline):.2f} s")
    print(f"threadlift ingest:  best {best_ingest:.2f} s ({args.events / best_ingest:,.0f} "
          f"events/s), median {statistics.median(ingest):.2f} s")
    print(f"ratio ingest / read_json: best {best_ingest / best_base:.2f}x, "
          f"median {statistics.median(ingest) / statistics.median(baseline):.2f}x")
    print(f"per run (wall s, read_json / ingest): "
          f"{', '.join(f'{b:.2f} / {i:.2f}' for b, i in zip(baseline, ingest, strict=True))}")
    print(f"process CPU s, median: read_json {statistics.median(baseline_cpu):.2f}, "
          f"ingest {statistics.median(ingest_cpu):.2f} "
          f"(ratio {statistics.median(ingest_cpu) / statistics.median(baseline_cpu):.2f}x)")
    print(f"result: {result}")


if __name__ == "__main__":
    main()
