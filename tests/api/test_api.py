"""The assignment API in process: one contract with ``threadlift assign``, errors, keys, exposures, refresh."""

from __future__ import annotations

import json
import logging
import random
import string
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api_world import ApiWorld, make_world
from tables import state_verdicts
from threadlift.api.app import create_app
from threadlift.api.exposures import ExposureLog, import_exposures
from threadlift.api.models import assignment_body
from threadlift.api.security import KeyRing, hash_secret, load_keys, new_api_key, parse_keys
from threadlift.api.snapshot import SnapshotService, build_snapshot, load_snapshot
from threadlift.assign.assignment import assign_experiment, eligibility_snapshot
from threadlift.core.bucketing import bucket
from threadlift.errors import ConfigError
from threadlift.experiment import load_experiment
from threadlift.workspace import Workspace

MAIN = "wa-reactivation-2026-09"
UTILITY = "br-utility"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    return make_world(tmp_path_factory.mktemp("api"), n_contacts=5_000)


@pytest.fixture(scope="module")
def client(world: ApiWorld) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings())) as test_client:
        yield test_client


def _contacts(world: ApiWorld) -> list[str]:
    return [str(c) for c in world.data.tables["contacts"]["contact_id"]]


def _random_ids(rng: random.Random, n: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "-_.:+@ éü日本"
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(n)
    ]


def _assert_error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"ok", "error", "status"}
    assert body["ok"] is False
    assert body["status"] == status
    assert isinstance(body["error"], str)
    assert body["error"]
    return dict(body)


def test_single_lookup_answers_arm_holdout_eligibility_and_bucket(client: TestClient, world: ApiWorld) -> None:
    expected = world.data.expected_arms.set_index("contact_id")
    holdout_seen = treatment_seen = ineligible_seen = False
    for contact_id in _contacts(world)[:300]:
        response = client.get(f"/v1/experiments/{MAIN}/assignments/{contact_id}", headers=world.headers(world.read_key))
        assert response.status_code == 200
        body = response.json()
        assert body["bucket"] == bucket(MAIN, contact_id) == expected.loc[contact_id, "bucket"]
        if body["eligible"]:
            assert body["reason"] is None
            assert body["arm"] == expected.loc[contact_id, "arm"]
            assert body["holdout"] == (body["arm"] == "holdout")
            assert body["send"] == (not body["holdout"])
            holdout_seen |= body["holdout"]
            treatment_seen |= not body["holdout"]
        else:
            assert body["arm"] is None
            assert body["holdout"] is None
            assert body["send"] is False
            assert body["reason"] is not None
            ineligible_seen = True
    assert holdout_seen
    assert treatment_seen
    assert ineligible_seen


def test_unknown_contact_is_not_in_audience_with_its_bucket(client: TestClient, world: ApiWorld) -> None:
    body = client.get(f"/v1/experiments/{MAIN}/assignments/nobody%20here", headers=world.headers()).json()
    assert body["contact_id"] == "nobody here"
    assert body["eligible"] is False
    assert body["reason"] == "not_in_audience"
    assert body["bucket"] == bucket(MAIN, "nobody here")


def test_batch_answers_each_distinct_id_in_order_like_single_lookups(client: TestClient, world: ApiWorld) -> None:
    ids = [*_contacts(world)[:50], "ghost", _contacts(world)[0], "ghost-2"]
    response = client.post(
        f"/v1/experiments/{UTILITY}/assignments:batch", json={"contact_ids": ids}, headers=world.headers()
    )
    assert response.status_code == 200
    batch = response.json()
    assert batch["experiment_id"] == UTILITY
    assert [a["contact_id"] for a in batch["assignments"]] == list(dict.fromkeys(ids))
    for answer in batch["assignments"]:
        single = client.get(
            f"/v1/experiments/{UTILITY}/assignments/{answer['contact_id']}", headers=world.headers()
        ).json()
        assert single == answer


def test_experiments_are_listed_with_their_arms(client: TestClient, world: ApiWorld) -> None:
    listed = client.get("/v1/experiments", headers=world.headers()).json()
    states = {e["id"]: e["state"] for e in listed["experiments"]}
    assert states == {MAIN: "ok", UTILITY: "ok", "vendor-split": "external"}
    detail = client.get(f"/v1/experiments/{UTILITY}", headers=world.headers()).json()
    assert [(a["name"], a["bucket_start"], a["bucket_stop"]) for a in detail["arms"]] == [
        ("holdout", 0, 2000),
        ("reminder", 2000, 6000),
        ("reminder_short", 6000, 10000),
    ]
    assert detail["layer"] == {"name": "utility-layer", "salt": "utility-layer", "bucket_start": 0, "bucket_stop": 6000}
    assert detail["known_contacts"] == len(_contacts(world))


@pytest.mark.parametrize(
    ("method", "path", "payload", "key", "status"),
    [
        ("get", f"/v1/experiments/{MAIN}", None, None, 401),
        ("get", f"/v1/experiments/{MAIN}", None, "not-a-key", 401),
        ("get", f"/v1/experiments/{MAIN}/assignments/x", None, "write", 403),
        ("post", "/v1/exposures", {"exposures": []}, "read", 403),
        ("get", "/v1/experiments/missing", None, "read", 404),
        ("get", "/v1/experiments/missing/assignments/x", None, "read", 404),
        ("get", "/v1/nothing-here", None, "read", 404),
        ("get", "/v1/experiments/vendor-split/assignments/x", None, "read", 409),
        ("post", f"/v1/experiments/{MAIN}/assignments:batch", {"contact_ids": []}, "read", 422),
        ("post", f"/v1/experiments/{MAIN}/assignments:batch", {"ids": ["a"]}, "read", 422),
        ("post", f"/v1/experiments/{MAIN}/assignments:batch", {"contact_ids": ["x" * 257]}, "read", 422),
        ("post", f"/v1/experiments/{MAIN}/assignments:batch", {"contact_ids": ["a"] * 10_001}, "read", 413),
        ("get", f"/v1/experiments/{MAIN}/assignments/{'x' * 257}", None, "read", 422),
        ("post", "/v1/exposures", {"exposures": [{"exposure_id": "e"}]}, "write", 422),
        (
            "post",
            "/v1/exposures",
            {"exposures": [
                {"exposure_id": f"e{i}", "experiment_id": MAIN, "contact_id": "c", "ts": "2026-10-01T00:00:00Z"}
                for i in range(1_001)
            ]},
            "write",
            413,
        ),
    ],
)
def test_errors_have_one_canonical_body(
    client: TestClient, world: ApiWorld, method: str, path: str, payload: object, key: str | None, status: int
) -> None:
    keys = {"read": world.read_key, "write": world.write_key}
    headers = {} if key is None else world.headers(keys.get(key, key))
    response = client.request(method.upper(), path, json=payload, headers=headers)
    body = _assert_error(response, status)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert world.read_key not in str(body)
    assert world.write_key not in str(body)


def test_the_single_lookup_accepts_exactly_what_its_openapi_parameters_accept(client: TestClient, world: ApiWorld) -> None:
    """The lookup route's own handler (app.LookupRoute) and FastAPI's validation agree at the limits."""
    spec = client.get("/openapi.json").json()
    parameters = spec["paths"]["/v1/experiments/{experiment_id}/assignments/{contact_id}"]["get"]["parameters"]
    assert {p["name"]: (p["schema"]["minLength"], p["schema"]["maxLength"]) for p in parameters} == {
        "experiment_id": (1, 256),
        "contact_id": (1, 256),
    }
    longest = "é" * 256
    ok = client.get(f"/v1/experiments/{MAIN}/assignments/{quote(longest)}", headers=world.headers())
    assert ok.status_code == 200
    assert (ok.json()["contact_id"], ok.json()["bucket"]) == (longest, bucket(MAIN, longest))
    too_long = client.get(f"/v1/experiments/{MAIN}/assignments/{quote(longest + 'é')}", headers=world.headers())
    assert "contact_id" in _assert_error(too_long, 422)["error"]
    experiment = client.get(f"/v1/experiments/{'x' * 257}/assignments/c", headers=world.headers())
    assert "experiment_id" in _assert_error(experiment, 422)["error"]
    _assert_error(client.post(f"/v1/experiments/{MAIN}/assignments/c", headers=world.headers()), 405)
    _assert_error(client.get(f"/v1/experiments/{MAIN}/assignments/c"), 401)


def test_request_body_size_is_limited(world: ApiWorld) -> None:
    app = create_app(world.settings(max_body_bytes=10_000))
    with TestClient(app) as small:
        ids = [f"contact-{i}" for i in range(2_000)]
        declared = small.post(f"/v1/experiments/{MAIN}/assignments:batch", json={"contact_ids": ids}, headers=world.headers())
        _assert_error(declared, 413)

        def chunks() -> Iterator[bytes]:
            yield b'{"contact_ids": ['
            for i in range(2_000):
                yield f'"c{i}",'.encode()
            yield b'"end"]}'

        streamed = small.post(
            f"/v1/experiments/{MAIN}/assignments:batch",
            content=chunks(),
            headers={**world.headers(), "content-type": "application/json"},
        )
        _assert_error(streamed, 413)


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/healthz",
        "/v1/status",
        "/v1/experiments",
        "/v1/experiments/{experiment_id}",
        "/v1/experiments/{experiment_id}/assignments/{contact_id}",
        "/v1/experiments/{experiment_id}/assignments:batch",
        "/v1/exposures",
    } <= set(spec["paths"])
    error = spec["paths"]["/v1/experiments/{experiment_id}/assignments:batch"]["post"]["responses"]["422"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    assert client.get("/healthz").json()["ok"] is True


def test_api_and_threadlift_assign_agree_on_100k_random_ids(tmp_path: Path) -> None:
    """100,000 ids (20,000 workspace contacts, 80,000 others) through the API and through assign."""
    world = make_world(tmp_path, n_contacts=20_000, seed=11)
    rng = random.Random(2026)
    known = _contacts(world)
    ids = known + [f"x-{s}" for s in _random_ids(rng, 80_000)]
    rng.shuffle(ids)
    ids = list(dict.fromkeys(ids))
    experiments = {e: load_experiment(world.experiments_dir / f) for e, f in ((MAIN, "main.toml"), (UTILITY, "utility.toml"))}
    settings = world.settings(refresh_seconds=0.05)
    with TestClient(create_app(settings)) as api:

        def through_api(experiment_id: str) -> dict[str, dict[str, object]]:
            answers: dict[str, dict[str, object]] = {}
            for start in range(0, len(ids), 10_000):
                response = api.post(
                    f"/v1/experiments/{experiment_id}/assignments:batch",
                    json={"contact_ids": ids[start : start + 10_000]},
                    headers=world.headers(),
                )
                assert response.status_code == 200
                answers.update({a["contact_id"]: a for a in response.json()["assignments"]})
            assert len(answers) == len(ids)
            return answers

        def assert_answers_are_eligibility_snapshot(answers: dict[str, dict[str, dict[str, object]]]) -> None:
            """Every field of every answer is what eligibility_snapshot gives at the snapshot's time."""
            for experiment_id, experiment in experiments.items():
                (snapshot_at,) = {str(a["snapshot_at"]) for a in answers[experiment_id].values()}
                holdouts = frozenset(arm.name for arm in experiment.arms if arm.holdout)
                at = datetime.fromisoformat(snapshot_at.removesuffix("Z"))
                with Workspace.open(world.workspace, read_only=True) as ws:
                    direct = eligibility_snapshot(ws, experiment, ids, now=at)
                assert len(direct) == len(ids)
                for status in direct:
                    assert answers[experiment_id][status.contact_id] == assignment_body(status, holdouts, snapshot_at)

        before = {experiment_id: through_api(experiment_id) for experiment_id in experiments}
        assert_answers_are_eligibility_snapshot(before)
        for contact_id in rng.sample(ids, 1_000):  # the single-contact face gives the same answers
            single = api.get(f"/v1/experiments/{MAIN}/assignments/{quote(contact_id, safe='')}", headers=world.headers())
            assert single.json() == before[MAIN][contact_id]
        with Workspace.open(world.workspace) as ws:
            for experiment_id, experiment in experiments.items():
                result = assign_experiment(ws, experiment)
                # The run's own per-contact verdicts: the state path's macro as the run
                # evaluated it (everyone it found eligible is assigned now).
                reasons = {
                    c: reason
                    for c, _, reason in state_verdicts(ws, experiment, result.evaluated_at)
                    if reason is not None
                }
                recorded = {
                    c: (arm, b)
                    for c, arm, b in ws.con.execute(
                        "SELECT contact_id, arm, bucket FROM assignments WHERE experiment_id = $e",
                        {"e": experiment_id},
                    ).fetchall()
                }
                answers = before[experiment_id]
                assert result.assigned == len(recorded) > 1_000
                assert {c for c, a in answers.items() if a["eligible"]} == set(recorded)
                for contact_id, answer in answers.items():
                    assert answer["bucket"] == bucket(experiment.effective_salt, contact_id)
                    if contact_id in recorded:
                        assert (answer["arm"], answer["bucket"]) == recorded[contact_id]
                        assert answer["reason"] is None
                    elif contact_id in reasons:
                        assert answer["reason"] == reasons[contact_id]
                    else:
                        assert answer["reason"] == "not_in_audience"
                excluded = Counter(a["reason"] for c, a in answers.items() if c in reasons and a["reason"])
                assert dict(excluded) == result.excluded
                assert len(set(excluded)) >= 3
        # After the run the server refreshes and reports the same contacts as assigned.
        closed_at = datetime.now(UTC).replace(tzinfo=None)
        deadline = time.monotonic() + 30
        while datetime.fromisoformat(
            api.get("/v1/status", headers=world.headers()).json()["snapshot_at"].removesuffix("Z")
        ) < closed_at:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        after = {experiment_id: through_api(experiment_id) for experiment_id in experiments}
        assert_answers_are_eligibility_snapshot(after)
        for experiment_id in experiments:
            for contact_id, answer in after[experiment_id].items():
                previous = before[experiment_id][contact_id]
                # Assigned exactly when the run assigned it, in the same arm and bucket.
                assert answer["assigned"] == previous["eligible"]
                if answer["assigned"]:
                    assert (answer["arm"], answer["bucket"]) == (previous["arm"], previous["bucket"])
                    assert answer["eligible"]
                    assert answer["reason"] is None


def test_snapshot_statuses_are_eligibility_snapshot_rows(world: ApiWorld) -> None:
    """Spot check of the precomputation against a direct call on the workspace itself."""
    snapshot = load_snapshot(build_snapshot(world.settings(state_dir=world.root / "direct")))
    served = snapshot.experiments[UTILITY]
    sample = [*_contacts(world)[:200], "unknown-1"]
    with Workspace.open(world.workspace, read_only=True) as ws:
        direct = eligibility_snapshot(ws, load_experiment(world.experiments_dir / "utility.toml"), sample, now=snapshot.built_at)
    assert [served.status_of(c) for c in sample] == direct


def test_exposures_are_idempotent_conflicts_write_nothing_and_import_once(client: TestClient, world: ApiWorld) -> None:
    answers = client.post(
        f"/v1/experiments/{MAIN}/assignments:batch", json={"contact_ids": _contacts(world)[:200]}, headers=world.headers()
    ).json()["assignments"]
    # a contact in the arm the exposures name (a mismatched one is tested in test_exposures.py)
    contact = next(a["contact_id"] for a in answers if a["eligible"] and a["arm"] == "whatsapp")
    item = {"exposure_id": "exp-1", "experiment_id": MAIN, "contact_id": contact, "arm": "whatsapp", "ts": "2026-09-28T10:00:00Z"}
    second = {**item, "exposure_id": "exp-2", "arm": None, "source": "crm"}
    first = client.post("/v1/exposures", json={"exposures": [item, second]}, headers=world.headers(world.write_key))
    assert first.status_code == 200
    assert first.json() == {"ok": True, "results": [{"exposure_id": "exp-1", "status": "recorded"}, {"exposure_id": "exp-2", "status": "recorded"}]}
    again = client.post("/v1/exposures", json={"exposures": [item]}, headers=world.headers(world.write_key))
    assert again.json()["results"] == [{"exposure_id": "exp-1", "status": "duplicate"}]
    changed = {**item, "arm": "holdout"}
    fresh = {**item, "exposure_id": "exp-3"}
    _assert_error(client.post("/v1/exposures", json={"exposures": [fresh, changed]}, headers=world.headers()), 409)
    _assert_error(client.post("/v1/exposures", json={"exposures": [{**item, "experiment_id": "nope"}]}, headers=world.headers()), 422)
    _assert_error(client.post("/v1/exposures", json={"exposures": [{**item, "arm": "sms"}]}, headers=world.headers()), 422)
    logged = ExposureLog(world.settings().resolved_state_dir).read_all()
    assert [e.exposure_id for e in logged] == ["exp-1", "exp-2"]
    assert logged[0].ts == datetime(2026, 9, 28, 10, 0, 0)
    with Workspace.open(world.workspace) as ws:
        imported = import_exposures(ws, world.settings().resolved_state_dir)
        assert (imported.in_log, imported.inserted) == (2, 2)
        assert import_exposures(ws, world.settings().resolved_state_dir).inserted == 0
        rows = ws.con.execute(
            "SELECT exposure_id, experiment_id, contact_id, arm, ts, source FROM exposures ORDER BY exposure_id"
        ).fetchall()
    assert rows == [
        ("exp-1", MAIN, contact, "whatsapp", datetime(2026, 9, 28, 10), "api"),
        ("exp-2", MAIN, contact, None, datetime(2026, 9, 28, 10), "crm"),
    ]


_HOLD_WORKSPACE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("INSERT INTO contacts VALUES ('late-joiner', 'BR', TIMESTAMP '2025-01-01')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_keeps_serving_while_a_writer_holds_the_workspace_then_refreshes(tmp_path: Path) -> None:
    world = make_world(tmp_path, n_contacts=500, global_holdout=0)
    with TestClient(create_app(world.settings(refresh_seconds=0.05))) as api:
        url = f"/v1/experiments/{UTILITY}/assignments/late-joiner"
        assert api.get(url, headers=world.headers()).json()["reason"] == "not_in_audience"
        writer = subprocess.Popen(
            [sys.executable, "-c", _HOLD_WORKSPACE, str(world.workspace), "1.5"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "locked"
            held_until = time.monotonic() + 1.0
            while time.monotonic() < held_until:
                response = api.get(url, headers=world.headers())
                assert response.status_code == 200
                assert response.json()["reason"] == "not_in_audience"
                time.sleep(0.02)
        finally:
            assert writer.wait(timeout=30) == 0
        deadline = time.monotonic() + 20
        answer: dict[str, object] = {}
        while time.monotonic() < deadline:
            answer = api.get(url, headers=world.headers()).json()
            if answer["reason"] != "not_in_audience":
                break
            time.sleep(0.05)
        # In the BR audience now; utility requires no consent, so the layer decides.
        in_layer = bucket("utility-layer", "late-joiner") < 6000
        assert answer["eligible"] is in_layer
        assert answer["reason"] == (None if in_layer else "layer")


def test_new_experiment_file_is_served_after_refresh(tmp_path: Path) -> None:
    world = make_world(tmp_path, n_contacts=300, global_holdout=0)
    with TestClient(create_app(world.settings(refresh_seconds=0.05))) as api:
        assert api.get("/v1/experiments/copy", headers=world.headers()).status_code == 404
        text = (world.experiments_dir / "utility.toml").read_text().replace('id = "br-utility"', 'id = "copy"')
        (world.experiments_dir / "copy.toml").write_text(text)
        (world.experiments_dir / "broken.toml").write_text("id = ")
        deadline = time.monotonic() + 20
        while api.get("/v1/experiments/copy", headers=world.headers()).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        status = api.get("/v1/status", headers=world.headers()).json()
        assert any("broken.toml" in problem for problem in status["problems"])
        health = api.get("/healthz")
        assert health.json() == {"ok": True, "status": "ok"}
        assert "broken" not in health.text
        assert api.get("/v1/status").status_code == 401


def test_builder_lock_makes_one_builder(world: ApiWorld, tmp_path: Path) -> None:
    settings = world.settings(state_dir=tmp_path / "state")
    first, second = SnapshotService(settings), SnapshotService(settings)
    first.start()
    second.start()
    try:
        assert first.is_builder
        assert not second.is_builder
        assert second.current is not None
        assert first.current is not None
        assert second.current.fingerprint == first.current.fingerprint
    finally:
        first.stop()
        second.stop()


def test_an_unreadable_snapshot_is_rebuilt_at_start(world: ApiWorld, tmp_path: Path) -> None:
    settings = world.settings(state_dir=tmp_path / "state")
    settings.resolved_state_dir.mkdir()
    (settings.resolved_state_dir / "snapshot.duckdb").write_bytes(b"not a database")
    service = SnapshotService(settings)
    service.start()
    try:
        assert service.current is not None
        assert set(service.current.experiments) == {MAIN, UTILITY, "vendor-split"}
    finally:
        service.stop()


def test_keys_are_stored_hashed_and_checked_by_scope(tmp_path: Path) -> None:
    secret, line = new_api_key("crm", ["write", "read"])
    name, scopes, digest = line.split()
    assert (name, scopes, digest) == ("crm", "read,write", hash_secret(secret))
    assert secret not in line
    ring = KeyRing(parse_keys(f"{line}\n# comment\n", "test"))
    key = ring.identify(secret)
    assert key is not None
    assert key.allows("read")
    assert key.allows("write")
    assert ring.identify(secret + "x") is None
    assert ring.identify("") is None
    with pytest.raises(ConfigError) as raised:
        parse_keys(f"crm read {secret}", "keys.txt")
    assert secret not in str(raised.value)
    with pytest.raises(ConfigError, match="scopes"):
        parse_keys(f"crm admin {hash_secret(secret)}", "keys.txt")
    with pytest.raises(ConfigError, match="no API keys"):
        load_keys(None, None)
    env_keys = load_keys(None, f"a read {hash_secret('one')};b write {hash_secret('two')}")
    assert [k.name for k in env_keys] == ["a", "b"]


def test_keys_never_reach_the_logs(client: TestClient, world: ApiWorld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.get(f"/v1/experiments/{MAIN}/assignments/a", headers=world.headers())
    client.get(f"/v1/experiments/{MAIN}/assignments/a", headers=world.headers(world.write_key))
    client.get(f"/v1/experiments/{MAIN}/assignments/a", headers=world.headers("tl_guessed-key"))
    text = caplog.text + json.dumps([r.__dict__ for r in caplog.records], default=str)
    for secret in (world.both_key, world.write_key, "tl_guessed-key"):
        assert secret not in text


def test_the_exposure_log_is_private_to_the_servers_user(tmp_path: Path) -> None:
    """Exposures name contacts: the log and its WAL are 0600 even under a permissive umask."""
    import os
    import stat

    from threadlift.api.exposures import ExposureLog

    old = os.umask(0o002)
    try:
        log = ExposureLog(tmp_path / "logs")
    finally:
        os.umask(old)
    for path in (log.path, *log.path.parent.glob(log.path.name + "-*")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_the_snapshot_is_private_to_the_servers_user(world: ApiWorld, tmp_path: Path) -> None:
    """The snapshot lists contacts and their arms: 0600 in a 0700 folder, under any umask."""
    import os
    import stat

    old = os.umask(0o002)
    try:
        path = build_snapshot(world.settings(state_dir=tmp_path / "state"))
        after = os.umask(0o002)
    finally:
        os.umask(old)
    assert after == 0o002, "building a snapshot must restore the process umask"
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, oct(path.stat().st_mode)
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0, oct(path.parent.stat().st_mode)
