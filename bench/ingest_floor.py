"""Benchmark: how close can any DuckDB ingest of WhatsApp statuses come to ``read_json``?

Runs three things on the same file of N status webhooks (bench/ingest_bench.py writes it),
alternating, each into a new database:

1. ``read_json`` — ``CREATE TABLE t AS SELECT * FROM read_json(file)`` (the issue's baseline);
2. threadlift — ``ingest_files(ws, "whatsapp", [file])``;
3. a hand-written *floor* — the least work that gives the same canonical rows for this
   particular input, written directly in SQL against a new workspace's tables: the lines
   read, md5 and parsed once, new bodies appended to the raw store (zstd), one
   observation per message, phone numbers checked against their calling code, contacts
   and identities for the new numbers, messages, status events, and the provenance keys
   of every row. It leaves out what this input does not need but real traffic does: the
   quarantine checks, group recipients, business-scoped ids and identity merging,
   contacts[] profiles, inbound messages, existing rows, and the order-independent
   resolution of values that differ between statuses of one message. It is a lower bound
   for threadlift's ingest, not a replacement for it.

The floor's step times show where the minimum goes. Usage::

    .venv/bin/python bench/ingest_floor.py [--events 1000000] [--repeat 3] [--out bench/out]
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import duckdb
import phonenumbers
from ingest_bench import arguments, time_ingest, time_read_json, write_statuses

from threadlift.workspace import Workspace

_STATUS = """{"id": "VARCHAR", "status": "VARCHAR", "timestamp": "VARCHAR",
    "recipient_id": "VARCHAR", "biz_opaque_callback_data": "VARCHAR",
    "errors": [{"code": "VARCHAR"}],
    "pricing": {"billable": "VARCHAR", "type": "VARCHAR", "category": "VARCHAR"}}"""
_BODY = ('{"object": "VARCHAR", "entry": [{"id": "VARCHAR", "changes": [{"field": "VARCHAR", '
         '"value": {"metadata": {"display_phone_number": "VARCHAR"}, "statuses": ['
         + _STATUS + "]}}]}]}")

_STEPS: list[tuple[str, str]] = [
    ("read lines", """
        CREATE TEMP TABLE _lines AS SELECT line FROM read_csv($path, columns = {'line': 'VARCHAR'},
            header = false, delim = chr(31), quote = '', escape = '', auto_detect = false,
            max_line_size = 16777216, buffer_size = 16777216, strict_mode = false)"""),
    ("md5 + parse", f"""
        CREATE TEMP TABLE _st AS
        WITH p AS (SELECT rowid AS r, line, from_json(line, '{_BODY}') AS j FROM _lines),
        v AS (SELECT r, line, j.entry[1].changes[1].value AS v FROM p),
        s AS (SELECT r, line, v.metadata.display_phone_number AS sender, v.statuses[1] AS s FROM v)
        SELECT r, line AS body, md5_number(line) AS body_hash, sender AS sender_id,
               s.id AS message_id, s.status AS status,
               make_timestamp(TRY_CAST(s.timestamp AS BIGINT) * 1000000) AS ts,
               s.recipient_id AS phone, s.biz_opaque_callback_data AS callback,
               s.errors[1].code AS error_code, lower(s.pricing.category) AS category,
               s.pricing.billable::BOOLEAN AS billable
        FROM s"""),
    ("all new?", """
        SELECT count(*) = count(DISTINCT body_hash) FROM _st"""),
    ("raw insert", """
        INSERT INTO raw_bodies SELECT 'whatsapp', body_hash, now()::TIMESTAMP, $path,
               'line ' || (r + 1), body, now()::TIMESTAMP, r + 1 FROM _st"""),
    ("observations", """
        CREATE TEMP TABLE _obs AS
        SELECT message_id, phone, min(ts) AS ts FROM _st WHERE phone IS NOT NULL GROUP BY ALL"""),
    ("phones", """
        CREATE TEMP TABLE _phones AS
        WITH d AS (SELECT phone, min(ts) AS ts FROM _obs GROUP BY phone),
        m AS (SELECT d.phone, c.* FROM d JOIN _cc AS c ON c.code = left(d.phone, 1)
              UNION ALL SELECT d.phone, c.* FROM d JOIN _cc AS c ON c.code = left(d.phone, 2)
              UNION ALL SELECT d.phone, c.* FROM d JOIN _cc AS c ON c.code = left(d.phone, 3))
        SELECT d.phone, d.ts, '+' || d.phone AS e164, m.region,
               'whatsapp:+' || d.phone AS contact_id
        FROM d JOIN m USING (phone)
        WHERE list_contains(m.lengths, length(d.phone) - length(m.code))"""),
    ("contacts", """
        INSERT INTO contacts SELECT contact_id, region, ts FROM _phones"""),
    ("identities", """
        INSERT INTO identities SELECT contact_id, 'whatsapp', e164, NULL FROM _phones"""),
    ("their provenance", """
        INSERT INTO ingest_provenance
        SELECT 'contacts', md5_number(contact_id) FROM _phones
        UNION ALL
        SELECT 'identities', md5_number(concat_ws(chr(31), contact_id, 'whatsapp', e164, chr(0)))
        FROM _phones"""),
    ("messages", """
        CREATE TEMP TABLE _msg AS
        SELECT message_id, any_value(phone) AS phone, min(sender_id) AS sender_id,
               min(callback) AS callback,
               arg_min(category, (status <> 'sent', ts, category))
                   FILTER (WHERE category IS NOT NULL) AS category,
               coalesce(min(ts) FILTER (WHERE status = 'sent'), min(ts)) AS sent_at
        FROM _st GROUP BY message_id"""),
    ("messages insert", """
        INSERT INTO messages
        SELECT m.message_id, p.contact_id, 'whatsapp', m.sender_id,
               m.callback ->> 'experiment_id', m.callback ->> 'arm', m.callback ->> 'campaign_id',
               m.callback ->> 'template', m.category, m.sent_at
        FROM _msg AS m JOIN _phones AS p USING (phone)"""),
    ("messages provenance", """
        INSERT INTO ingest_provenance SELECT 'messages', md5_number(message_id) FROM _msg"""),
    ("events", """
        CREATE TEMP TABLE _ev AS
        SELECT message_id, status, ts, error_code, max(category) AS pricing_category,
               bool_or(billable) AS billable
        FROM _st GROUP BY message_id, status, ts, error_code"""),
    ("events insert", """
        INSERT INTO message_events SELECT * FROM _ev"""),
    ("events provenance", """
        INSERT INTO ingest_provenance
        SELECT 'message_events', md5_number(concat_ws(chr(31), message_id, status, ts::VARCHAR,
                                                      coalesce(error_code, chr(0))))
        FROM _ev"""),
]


def _calling_codes(con: duckdb.DuckDBPyConnection) -> None:
    """The calling-code table the phone check joins, built here from phonenumbers rather
    than by threadlift's identity module: the floor uses none of the code it is compared with."""
    codes: list[str] = []
    regions: list[str] = []
    lengths: list[list[int]] = []
    for code, region_codes in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region_codes[0])
        if metadata is None or metadata.general_desc is None:
            continue
        codes.append(str(code))
        regions.append(region_codes[0])
        lengths.append([int(n) for n in metadata.general_desc.possible_length])
    con.execute(
        "CREATE TEMP TABLE _cc AS SELECT unnest($c::VARCHAR[]) AS code, "
        "unnest($r::VARCHAR[]) AS region, unnest($l::INTEGER[][]) AS lengths",
        {"c": codes, "r": regions, "l": lengths},
    )


def time_floor(data: Path, database: Path) -> tuple[float, float, dict[str, float], list[int]]:
    """Wall and CPU seconds of the hand-written floor, its steps' wall seconds, row counts."""
    ws = Workspace.create(database)
    con = ws.con
    _calling_codes(con)
    steps: dict[str, float] = {}
    start, cpu = time.perf_counter(), time.process_time()
    con.execute("BEGIN TRANSACTION")
    for name, sql in _STEPS:
        step = time.perf_counter()
        con.execute(sql, {"path": str(data)} if "$path" in sql else None)
        steps[name] = time.perf_counter() - step
    step = time.perf_counter()
    con.execute("COMMIT")
    steps["commit"] = time.perf_counter() - step
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = [int(n) for n in con.execute(
        "SELECT (SELECT count(*) FROM raw_bodies), (SELECT count(*) FROM contacts), "
        "(SELECT count(*) FROM messages), (SELECT count(*) FROM message_events)").fetchall()[0]]
    ws.close()
    return elapsed, cpu, steps, counts


def differing_tables(ingested: Path, floor: Path) -> list[str]:
    """The canonical tables whose rows differ between threadlift's workspace and the floor's."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{ingested}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{floor}' AS b (READ_ONLY)")
    differ = []
    for table in ("contacts", "identities", "messages", "message_events"):
        rows = con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM a.{table} EXCEPT ALL SELECT * FROM b.{table}) "
            f"UNION ALL (SELECT * FROM b.{table} EXCEPT ALL SELECT * FROM a.{table}))"
        ).fetchall()[0][0]
        if rows:
            differ.append(table)
    con.close()
    return differ


def main() -> None:
    """Run the three, alternating, and print the comparison."""
    args = arguments(__doc__, traffic=False)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    data = out / "statuses.jsonl"
    expected_size = None
    if data.exists():
        with data.open("rb") as lines:
            expected_size = sum(1 for _ in lines)
    if expected_size != args.events:
        write_statuses(data, args.events)

    wall: dict[str, list[float]] = {"read_json": [], "threadlift": [], "floor": []}
    cpu: dict[str, list[float]] = {"read_json": [], "threadlift": [], "floor": []}
    steps: list[dict[str, float]] = []
    counts: list[int] = []
    for run in range(args.repeat):
        seconds, used = time_read_json(data, out / f"baseline{run}.duckdb")
        wall["read_json"].append(seconds)
        cpu["read_json"].append(used)
        seconds, used, _ = time_ingest(data, out / f"ws{run}.duckdb")
        wall["threadlift"].append(seconds)
        cpu["threadlift"].append(used)
        seconds, used, floor_steps, counts = time_floor(data, out / f"floor{run}.duckdb")
        wall["floor"].append(seconds)
        cpu["floor"].append(used)
        steps.append(floor_steps)
        differ = differing_tables(out / f"ws{run}.duckdb", out / f"floor{run}.duckdb")
        if differ:
            raise SystemExit(f"the floor's rows differ from threadlift's in {', '.join(differ)}")
        for path in out.glob("*.duckdb*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    base = statistics.median(wall["read_json"])
    base_cpu = statistics.median(cpu["read_json"])
    print(f"file: {args.events} status webhooks; {args.repeat} runs each, alternating")
    print(f"floor wrote raw bodies, contacts, messages, events: {counts}; "
          "the same contacts, identities, messages and events as threadlift")
    for name in wall:
        median, best = statistics.median(wall[name]), min(wall[name])
        print(f"{name:11s} median {median:5.2f} s (ratio {median / base:.2f}x), best {best:5.2f} s, "
              f"CPU {statistics.median(cpu[name]):5.2f} s (ratio "
              f"{statistics.median(cpu[name]) / base_cpu:.2f}x)")
    print("floor steps, median wall s:")
    for name in steps[0]:
        print(f"  {statistics.median(s[name] for s in steps):5.2f}  {name}")


if __name__ == "__main__":
    main()
