"""Messenger / Instagram ingest: watermark facts are a function of the stored bodies, not of
how they were split across ``ingest`` calls or in which order they arrived."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadlift.ingest import ingest_files, rebuild
from threadlift.workspace import Workspace
from webhooks import meta_body, meta_echo, meta_receipt

T0 = 1_700_000_000_000
"""Epoch milliseconds of the first send in these tests."""

TABLES = (
    "contacts", "identities", "consents", "messages", "message_events", "inbound",
    "sender_quality", "platform_events", "message_referrals", "read_watermarks",
    "message_facts",
)
"""Everything ingest writes that does not name the file a body came from."""


def _at(seconds: int) -> datetime:
    return datetime(2023, 11, 14, 22, 13, 20) + timedelta(seconds=seconds)


def _tables(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Every table ingest writes, rows sorted; provenance as a multiset of keys, quarantine
    and the raw store without the file and line a row came from."""
    queries = {table: f'SELECT * FROM "{table}"' for table in TABLES}
    queries["ingest_provenance"] = "SELECT table_name, row_key FROM ingest_provenance"
    queries["quarantine"] = "SELECT reason, raw, target_table FROM quarantine"
    queries["raw_bodies"] = "SELECT platform, body_hash, body FROM raw_bodies"
    return {
        name: sorted(ws.con.execute(sql).fetchall(), key=lambda row: [str(v) for v in row])
        for name, sql in queries.items()
    }


def _write(path: Path, bodies: list[dict[str, object]] | list[str]) -> Path:
    lines = [b if isinstance(b, str) else json.dumps(b) for b in bodies]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _events(ws: Workspace) -> list[tuple[object, ...]]:
    return ws.con.execute(
        "SELECT message_id, status, ts FROM message_events WHERE status <> 'sent' ORDER BY ALL"
    ).fetchall()


def test_an_earlier_read_watermark_in_a_later_call_moves_the_read_time(tmp_path: Path) -> None:
    """The tester's repro: a holds an echo and a read watermark 900 s later, b a watermark
    (a retry that arrived late) 60 s after the send. Whatever the calls, m_1 was first read
    at t0 + 60 s, as one call of both files says."""
    a = _write(tmp_path / "a.jsonl", [
        meta_body([meta_echo("m_1", T0, user="2222")]),
        meta_body([meta_receipt("read", T0 + 900_000, user="2222", watermark=T0 + 900_000)]),
    ])
    b = _write(tmp_path / "b.jsonl", [
        meta_body([meta_receipt("read", T0 + 60_000, user="2222", watermark=T0 + 60_000)]),
    ])
    expected = [("m_1", "read", _at(60))]
    with Workspace.create(tmp_path / "one.duckdb") as one, Workspace.create(
        tmp_path / "split.duckdb"
    ) as split, Workspace.create(tmp_path / "reversed.duckdb") as backwards:
        ingest_files(one, "messenger", [a, b])
        ingest_files(split, "messenger", [a])
        ingest_files(split, "messenger", [b])
        ingest_files(backwards, "messenger", [b])
        ingest_files(backwards, "messenger", [a])
        for ws in (one, split, backwards):
            assert _events(ws) == expected
            assert ws.con.execute("SELECT first_read_at FROM message_facts").fetchall() == [
                (_at(60),)]
        assert _tables(split) == _tables(one) == _tables(backwards)
        rebuild(split)
        assert _tables(split) == _tables(one)


def test_a_delivery_by_mid_after_a_delivery_watermark_replaces_its_event(tmp_path: Path) -> None:
    """A delivery watermark marks m_1 delivered only while no delivery names m_1: when one
    arrives in a later call, its event replaces the watermark's instead of adding a second."""
    a = _write(tmp_path / "a.jsonl", [
        meta_body([meta_echo("m_1", T0, user="2222")]),
        meta_body([meta_receipt("delivery", T0 + 30_000, user="2222", watermark=T0 + 30_000)]),
    ])
    b = _write(tmp_path / "b.jsonl", [
        meta_body([meta_receipt("delivery", T0 + 5_000, user="2222", mids=["m_1"])]),
    ])
    with Workspace.create(tmp_path / "one.duckdb") as one, Workspace.create(
        tmp_path / "split.duckdb"
    ) as split:
        ingest_files(one, "messenger", [a, b])
        ingest_files(split, "messenger", [a])
        assert _events(split) == [("m_1", "delivered", _at(30))]
        ingest_files(split, "messenger", [b])
        assert _events(one) == _events(split) == [("m_1", "delivered", _at(5))]
        assert _tables(split) == _tables(one)


def test_a_delivery_naming_the_watermark_event_makes_it_a_body_fact(tmp_path: Path) -> None:
    """A later delivery naming m_1 at the very time of m_1's watermark event: the row is the
    same, now named by a body, and stays when a later watermark no longer implies it."""
    a = _write(tmp_path / "a.jsonl", [
        meta_body([meta_echo("m_1", T0, user="2222")]),
        meta_body([meta_receipt("delivery", T0 + 30_000, user="2222", watermark=T0 + 30_000)]),
    ])
    b = _write(tmp_path / "b.jsonl", [
        meta_body([meta_receipt("delivery", T0 + 30_000, user="2222", mids=["m_1"])]),
    ])
    c = _write(tmp_path / "c.jsonl", [
        meta_body([meta_receipt("delivery", T0 + 10_000, user="2222", watermark=T0 + 10_000)]),
    ])
    with Workspace.create(tmp_path / "one.duckdb") as one, Workspace.create(
        tmp_path / "split.duckdb"
    ) as split:
        ingest_files(one, "messenger", [a, b, c])
        for path in (a, b, c):
            ingest_files(split, "messenger", [path])
        assert _events(one) == _events(split) == [("m_1", "delivered", _at(30))]
        assert _tables(split) == _tables(one)
        rebuild(split)
        assert _tables(split) == _tables(one)


# --- property: any split, any order, any retries -------------------------------------------

_THREADS = (("u1", "p1"), ("u1", "p2"))
"""(user, page) pairs the generated streams talk about."""

_moment = st.integers(0, 20).map(lambda s: T0 + 1000 * s)


@st.composite
def _meta_streams(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A Messenger or Instagram stream: echoes of two to six sends on two threads (one user,
    two pages), four to twelve receipts (deliveries naming mids, delivery and read
    watermarks, both at once, reads naming a mid), maybe a reply, some bodies batching two
    events of one page; times on a 1 s grid of 20 s, so that watermarks often equal send
    times and receipts of different bodies share a time."""
    platform = draw(st.sampled_from(["messenger", "instagram"]))
    sends = draw(st.lists(st.tuples(st.sampled_from(range(len(_THREADS))), _moment),
                          min_size=2, max_size=6))
    events: list[tuple[str, dict[str, object]]] = []
    for number, (thread, ms) in enumerate(sends):
        user, page = _THREADS[thread]
        events.append((page, meta_echo(f"m_{number}", ms, user=user, page=page)))
    mids = [f"m_{n}" for n in range(len(sends))] + ["m_unknown"]
    receipt = st.tuples(
        st.sampled_from(range(len(_THREADS))),
        st.sampled_from(["delivery", "read"]),
        st.sampled_from(["watermark", "watermark", "named", "both"]),
        _moment,                                                        # reported at
        _moment,                                                        # watermark
        st.lists(st.sampled_from(mids), min_size=1, max_size=2, unique=True),
    )
    for thread, kind, form, ms, watermark, named in draw(
        st.lists(receipt, min_size=4, max_size=12)
    ):
        user, page = _THREADS[thread]
        mark = None if form == "named" else watermark
        if kind == "delivery":
            named_mids = None if form == "watermark" else named
            events.append((page, meta_receipt(kind, ms, user=user, page=page, mids=named_mids,
                                              watermark=mark)))
        else:
            named_mid = None if form == "watermark" else named[0]
            events.append((page, meta_receipt(kind, ms, user=user, page=page, mid=named_mid,
                                              watermark=mark)))
    if draw(st.booleans()):
        events.append(("p1", {"sender": {"id": "u1"}, "recipient": {"id": "p1"},
                              "timestamp": T0 + 5000, "message": {"mid": "in_1", "text": "hi"}}))
    bodies: list[str] = []
    pending = list(events)
    while pending:
        page, event = pending.pop(0)
        batch = [event]
        if pending and pending[0][0] == page and draw(st.booleans()):
            batch.append(pending.pop(0)[1])
        bodies.append(json.dumps(meta_body(batch, platform=platform, page=page)))
    return platform, bodies


def _check_any_split_equals_one_call(
    root: Path, stream: tuple[str, list[str]], seed: int
) -> None:
    """Ingest ``stream`` in order in one call, then shuffled with up to four retries in one
    to four calls (cut at random points, which may coincide: an empty call), and compare."""
    platform, bodies = stream
    rng = random.Random(seed)
    arrivals = [*bodies, *(rng.choice(bodies) for _ in range(rng.randint(0, 4)))]
    rng.shuffle(arrivals)
    cuts = sorted(rng.randint(1, len(arrivals) - 1) for _ in range(rng.randint(0, 3)))
    calls = [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)], strict=True)]
    with Workspace.create(root / "one.duckdb") as one, Workspace.create(
        root / "split.duckdb"
    ) as split:
        ingest_files(one, platform, [_write(root / "ordered.jsonl", bodies)])
        expected = _tables(one)
        for number, call in enumerate(calls):
            ingest_files(split, platform, [_write(root / f"call{number}.jsonl", call)])
        assert _tables(split) == expected
        rebuild(split)
        assert _tables(split) == expected


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=_meta_streams(), seed=st.integers(0, 2**32 - 1))
def test_property_any_split_and_order_gives_the_tables_of_one_call(
    tmp_path_factory: pytest.TempPathFactory, stream: tuple[str, list[str]], seed: int
) -> None:
    """A stream shuffled, with retries, split into one to four calls, gives exactly the
    tables of one call of the stream in order, and so does ``ingest --rebuild``."""
    _check_any_split_equals_one_call(tmp_path_factory.mktemp("split"), stream, seed)


@pytest.mark.slow
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=_meta_streams(), seed=st.integers(0, 2**32 - 1))
def test_property_any_split_and_order_many_streams(
    tmp_path_factory: pytest.TempPathFactory, stream: tuple[str, list[str]], seed: int
) -> None:
    """The property above over many more streams."""
    _check_any_split_equals_one_call(tmp_path_factory.mktemp("split"), stream, seed)
