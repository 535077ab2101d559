"""The API's snapshot in memory: the contact index, answers built from the columns, bytes per (contact, experiment)."""

from __future__ import annotations

import doctest
import gc
import random
import string
import tracemalloc
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from api_world import ApiWorld, make_world
from experiments import two_arm_toml
from threadlift.api import snapshot as snapshot_module
from threadlift.api.security import new_api_key
from threadlift.api.settings import ApiSettings
from threadlift.api.snapshot import (
    ContactIndex,
    Snapshot,
    answer_text,
    build_snapshot,
    index_key,
    load_snapshot,
)
from threadlift.core.bucketing import bucket
from threadlift.engines.sqlfiles import sql_text
from threadlift.workspace import Workspace

MAIN = "wa-reactivation-2026-09"
THIRD = "wa-reactivation-copy"
BYTES_PER_CONTACT_EXPERIMENT = 64
"""The budget of issue 21: snapshot bytes per (contact, experiment) in one worker."""


def _random_ids(rng: random.Random, n: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "-_.:+@ éü日本\x00\\\""
    return list(dict.fromkeys("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(n)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    """100,000 contacts, three evaluated experiments (and one external, not evaluated)."""
    world = make_world(tmp_path_factory.mktemp("snapshot"), n_contacts=100_000, seed=5)
    main = (world.experiments_dir / "main.toml").read_text(encoding="utf-8")
    assert f'id = "{MAIN}"' in main
    (world.experiments_dir / "copy.toml").write_text(main.replace(f'id = "{MAIN}"', f'id = "{THIRD}"'), encoding="utf-8")
    return world


@pytest.fixture(scope="module")
def snapshot_file(world: ApiWorld) -> Path:
    return build_snapshot(world.settings(state_dir=world.root / "state"))


def test_the_index_key_is_the_one_duckdb_orders_the_contacts_by() -> None:
    ids = _random_ids(random.Random(4), 5_000)
    con = duckdb.connect()
    con.register("candidates", pa.table({"contact_id": ids}))
    con.execute(sql_text("api/snapshot#contacts"))
    rows = con.execute("SELECT row, index_key, contact_id FROM contacts ORDER BY row").fetchall()
    assert [r[0] for r in rows] == list(range(len(ids)))
    assert sorted(r[2] for r in rows) == sorted(ids)
    keys = [r[1] for r in rows]
    assert keys == sorted(keys)
    assert all(key == index_key(contact_id.encode()) for _, key, contact_id in rows)
    assert all(0 <= key < 2**60 for key in keys)


def test_the_docstring_examples_hold() -> None:
    failures, tried = doctest.testmod(snapshot_module)
    assert (failures, tried > 0) == (0, True)


def test_ids_sharing_a_key_are_told_apart_by_their_text() -> None:
    # Real 60-bit collisions are too rare to find, so the index is given one: "b" and "c"
    # are filed under the key of "a", before it.
    shared = index_key(b"a")
    entries = sorted([(shared, "b"), (shared, "c"), (shared, "a"), (index_key(b"z"), "z")], key=lambda e: e[0])
    blob = "".join(text for _, text in entries).encode()
    offsets = np.cumsum([0, *(len(text.encode()) for _, text in entries)]).astype(np.int64)
    index = ContactIndex(np.array([k for k, _ in entries], dtype=np.int64), offsets, blob)
    where = {text: position for position, (_, text) in enumerate(entries)}
    assert where["a"] > min(where["b"], where["c"])  # "a" is not simply the first row of its key
    assert index.row("a") == where["a"]
    assert index.row("z") == where["z"]
    assert index.row("y") == -1
    assert index.rows(["z", "a", "y", "a"]) == [where["z"], where["a"], -1, where["a"]]
    assert index.contact_id(where["a"]) == "a"


def test_offsets_that_do_not_match_the_ids_are_refused() -> None:
    with pytest.raises(Exception, match="offsets"):
        ContactIndex(np.array([1], dtype=np.int64), np.array([0, 3], dtype=np.int64), b"ab")


def test_every_answer_is_answer_text_of_its_status(snapshot_file: Path, world: ApiWorld) -> None:
    snapshot = load_snapshot(snapshot_file)
    contacts = [snapshot.contacts.contact_id(row) for row in range(0, len(snapshot.contacts), 7)]
    ids = contacts + _random_ids(random.Random(9), 2_000)
    seen: set[tuple[object, ...]] = set()
    for experiment_id in (MAIN, THIRD, "br-utility"):
        served = snapshot.experiments[experiment_id]
        batch = served.answers(ids)
        for contact_id, answer in zip(ids, batch, strict=True):
            status = served.status_of(contact_id)
            assert answer == served.answer(contact_id) == answer_text(status, served.holdout_arms, served.snapshot_at)
            seen.add((experiment_id, status.reason, status.arm, status.assigned))
    # The answers cover the shapes that matter: eligible in every arm, several reasons.
    assert {(r, a) for e, r, a, _ in seen if e == MAIN and r is None} == {(None, "holdout"), (None, "whatsapp")}
    assert len({r for _, r, _, _ in seen if r is not None}) >= 3


def _traced_load(path: Path) -> tuple[Snapshot, int]:
    gc.collect()
    tracemalloc.start()
    try:
        snapshot = load_snapshot(path)
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return snapshot, traced


def test_a_worker_holds_at_most_64_bytes_per_contact_and_experiment(snapshot_file: Path) -> None:
    snapshot, traced = _traced_load(snapshot_file)
    evaluated = [e for e in snapshot.experiments.values() if e.state == "ok"]
    assert len(evaluated) == 3
    contacts = len(snapshot.contacts)
    assert contacts >= 100_000
    assert all(e.known_contacts >= 100_000 for e in evaluated)
    # tracemalloc sees the numpy columns and the ids (what the snapshot says it holds) …
    assert snapshot.nbytes <= traced
    # … and everything else the load kept is small beside them.
    assert traced - snapshot.nbytes < 0.05 * traced
    per_pair = traced / (contacts * len(evaluated))
    assert per_pair <= BYTES_PER_CONTACT_EXPERIMENT, f"{per_pair:.1f} bytes per (contact, experiment)"


def test_a_workspace_without_contacts_is_served_from_buckets_alone(tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    (experiments / "empty.toml").write_text(two_arm_toml("empty"), encoding="utf-8")
    Workspace.create(tmp_path / "ws.duckdb").close()
    _, line = new_api_key("crm", ["read"])
    settings = ApiSettings(experiments_dir=experiments, workspace=tmp_path / "ws.duckdb", keys=line)
    snapshot = load_snapshot(build_snapshot(settings))
    served = snapshot.experiments["empty"]
    assert (len(snapshot.contacts), served.known_contacts, served.state) == (0, 0, "ok")
    status = served.status_of("anyone")
    assert (status.reason, status.bucket, status.evaluated_at) == ("not_in_audience", bucket("empty", "anyone"), served.evaluated_at)
    assert served.evaluated_at is not None
    assert served.answers(["anyone"]) == [answer_text(status, served.holdout_arms, served.snapshot_at)]
