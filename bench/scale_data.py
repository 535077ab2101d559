"""Generate the benchmark data set: the seeded WhatsApp experiment at any size, as a Parquet lake.

The one generator (:func:`threadlift.datasets.generate_whatsapp_experiment`) builds every
table in memory, so large sizes are generated in chunks of at most ``chunk`` contacts,
each with its own seed, and written as ``<directory>/<table>/part-<chunk>.parquet`` (the
lake layout of ``docs/engines.md``). Contact ids are random 10-digit numbers, so two
chunks can draw the same id: a contact whose id an earlier chunk already used is dropped
with all its rows (about 0.05 % of contacts at 10M). Action ids are sequence numbers per
chunk and get the chunk number as a prefix. ``assignments`` holds the eligible contacts
with the arms ``threadlift assign`` gives them (the generator's ``expected_arms``).

Usage::

    python bench/scale_data.py --contacts 10000000 --out /tmp/tl-bench/10M [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from threadlift.datasets import generate_whatsapp_experiment

GLOBAL_TABLES = ("sender_quality", "rate_card")
"""Tables that do not depend on the contacts: written once, from chunk 0."""


def _contact_numbers(ids: pd.Series) -> np.ndarray:
    numbers: np.ndarray = ids.str.slice(4).astype("int64").to_numpy()
    return numbers


def _generate_chunk(args: tuple[int, int, int, str]) -> dict[str, int]:
    """Generate one chunk and write its Parquet parts; return its row counts per table."""
    index, size, seed, directory = args
    data = generate_whatsapp_experiment(n_contacts=size, seed=seed * 1000 + index)
    out = Path(directory)
    tables = dict(data.tables)
    expected = data.expected_arms
    assignments = expected.loc[expected["eligible"], ["contact_id", "arm", "bucket"]].copy()
    assignments.insert(0, "experiment_id", data.experiment_id)
    assignments["bucket"] = assignments["bucket"].astype("int32")
    assignments["assigned_at"] = pd.Timestamp(data.assigned_at).as_unit("us")
    tables["assignments"] = assignments
    tables["actions"] = tables["actions"].assign(
        action_id=f"{index:04d}-" + tables["actions"]["action_id"].astype(str)
    )
    numbers = _contact_numbers(tables["contacts"]["contact_id"])
    np.save(out / f".numbers-{index:04d}.npy", numbers)
    for name, frame in tables.items():
        if name in GLOBAL_TABLES and index > 0:
            continue
        (out / name).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / name / f"part-{index:04d}.parquet", index=False)
    if index == 0:
        (out / "experiment.toml").write_text(data.experiment_toml, encoding="utf-8")
    return {name: len(frame) for name, frame in tables.items()}


def _drop_duplicate_contacts(directory: Path, chunks: int) -> int:
    """Drop, from each chunk, the contacts whose id an earlier chunk already drew."""
    seen = np.empty(0, dtype=np.int64)
    dropped = 0
    for index in range(chunks):
        numbers = np.load(directory / f".numbers-{index:04d}.npy")
        (directory / f".numbers-{index:04d}.npy").unlink()
        duplicate = numbers[np.isin(numbers, seen)]
        seen = np.union1d(seen, numbers)
        if duplicate.size == 0:
            continue
        dropped += int(duplicate.size)
        ids = set("cus_" + pd.Series(duplicate).astype(str).str.zfill(10))
        part = f"part-{index:04d}.parquet"
        messages = pd.read_parquet(directory / "messages" / part)
        gone = set(messages.loc[messages["contact_id"].isin(ids), "message_id"])
        for table in sorted(p.name for p in directory.iterdir() if p.is_dir()):
            path = directory / table / part
            if not path.exists():
                continue
            frame = pd.read_parquet(path)
            if "contact_id" in frame.columns:
                frame = frame[~frame["contact_id"].isin(ids)]
            elif table == "message_events":
                frame = frame[~frame["message_id"].isin(gone)]
            frame.to_parquet(path, index=False)
    return dropped


def generate_lake(
    n_contacts: int, directory: str | Path, *, seed: int = 0, chunk: int = 1_000_000,
    workers: int = 1,
) -> dict[str, object]:
    """Write the experiment with ``n_contacts`` contacts as a Parquet lake; return a summary.

    The summary's row counts are as generated, before duplicate contacts are dropped.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [min(chunk, n_contacts - start) for start in range(0, n_contacts, chunk)]
    jobs = [(i, size, seed, str(out)) for i, size in enumerate(sizes)]
    started = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_generate_chunk, jobs))
    else:
        results = [_generate_chunk(job) for job in jobs]
    dropped = _drop_duplicate_contacts(out, len(sizes))
    summary = {
        "contacts": n_contacts - dropped,
        "duplicate_contacts_dropped": dropped,
        "chunks": len(sizes),
        "seed": seed,
        "rows": {
            table: sum(r[table] for r in results[: 1 if table in GLOBAL_TABLES else None])
            for table in results[0]
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(generate_lake(args.contacts, args.out, seed=args.seed, chunk=args.chunk,
                                   workers=args.workers), indent=1))


if __name__ == "__main__":
    main()
