"""The API as deployed: uvicorn with two worker processes on loopback, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api_world import ApiWorld, free_port, live_server, make_world, stop, wait_healthy
from threadlift.api.app import create_app
from threadlift.api.exposures import ExposureLog, import_exposures
from threadlift.api.settings import SETTINGS_ENV
from threadlift.workspace import Workspace

MAIN = "wa-reactivation-2026-09"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    return make_world(tmp_path_factory.mktemp("server"), n_contacts=2_000)


def _exposures(world: ApiWorld, start: int, n: int) -> list[dict[str, object]]:
    contacts = [str(c) for c in world.data.tables["contacts"]["contact_id"]]
    return [
        {
            "exposure_id": f"send-{i}",
            "experiment_id": MAIN,
            "contact_id": contacts[i % len(contacts)],
            "arm": "whatsapp" if i % 3 else "holdout",
            "ts": f"2026-09-28T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "source": "crm",
        }
        for i in range(start, start + n)
    ]


@pytest.mark.slow
def test_two_workers_answer_like_the_in_process_app(world: ApiWorld) -> None:
    contacts = [*[str(c) for c in world.data.tables["contacts"]["contact_id"]][:200], "unknown-a", "unknown-b"]
    with TestClient(create_app(world.settings(state_dir=world.root / "in-process"))) as local:
        expected = {c: local.get(f"/v1/experiments/{MAIN}/assignments/{c}", headers=world.headers()).json() for c in contacts}
    with live_server(world.settings(), workers=2) as base, httpx.Client(base_url=base, headers=world.headers()) as client:

        def ask(contact_id: str) -> dict[str, object]:
            response = client.get(f"/v1/experiments/{MAIN}/assignments/{contact_id}")
            assert response.status_code == 200
            return dict(response.json())

        with ThreadPoolExecutor(8) as pool:
            answers = dict(zip(contacts * 3, pool.map(ask, contacts * 3), strict=True))
        builders = {client.get("/v1/status").json()["builder"] for _ in range(40)}
    for contact_id, answer in answers.items():
        assert {k: v for k, v in answer.items() if k != "snapshot_at"} == {
            k: v for k, v in expected[contact_id].items() if k != "snapshot_at"
        }
    assert builders <= {True, False}


def test_acknowledged_exposures_survive_sigkill(world: ApiWorld, tmp_path: Path) -> None:
    settings = world.settings(state_dir=tmp_path / "state")
    port = free_port()
    env = {**os.environ, SETTINGS_ENV: settings.model_dump_json()}
    command = [
        sys.executable, "-m", "uvicorn", "threadlift.api.app:app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "warning",
    ]
    server = subprocess.Popen(command, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    try:
        wait_healthy(base, server)
        batches = [_exposures(world, start, 25) for start in range(0, 500, 25)]
        with httpx.Client(base_url=base, headers=world.headers(world.write_key), timeout=30) as client:

            def post(batch: list[dict[str, object]]) -> list[str]:
                response = client.post("/v1/exposures", json={"exposures": batch})
                assert response.status_code == 200
                return [r["exposure_id"] for r in response.json()["results"] if r["status"] == "recorded"]

            with ThreadPoolExecutor(8) as pool:
                for recorded in pool.map(post, batches):
                    acknowledged.extend(recorded)
        # SIGKILL the whole process group (uvicorn and both workers) the moment the last ack arrives.
        stop(server, signal.SIGKILL)
    finally:
        stop(server, signal.SIGKILL)
    assert len(acknowledged) == 500
    assert sorted(e.exposure_id for e in ExposureLog(settings.resolved_state_dir).read_all()) == sorted(acknowledged)
    with live_server(settings, workers=2) as base, httpx.Client(base_url=base, headers=world.headers(world.write_key)) as client:
        again = client.post("/v1/exposures", json={"exposures": _exposures(world, 0, 500)})
        assert again.status_code == 200
        assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    with Workspace.open(world.workspace) as ws:
        result = import_exposures(ws, settings.resolved_state_dir)
        assert result.inserted == 500
        found = {row[0] for row in ws.con.execute("SELECT exposure_id FROM exposures").fetchall()}
    assert set(acknowledged) <= found


def _serve(world: ApiWorld, port: int) -> subprocess.Popen[bytes]:
    """``threadlift serve --workers 2`` as an operator starts it (its own process group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "threadlift.cli", "serve", "--experiments", str(world.experiments_dir),
         "--keys-file", str(world.keys_file), "-w", str(world.workspace), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_workers_die_with_a_sigkilled_serve_and_the_port_is_free_again(world: ApiWorld) -> None:
    import time

    port = free_port()
    first = _serve(world, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", first)
        workers = [pid for pid in _children(first.pid) if _alive(pid)]
        assert workers, "serve --workers 2 started no worker processes"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their SIGKILLed parent"
            time.sleep(0.1)
    finally:
        stop(first, signal.SIGKILL)
    second = _serve(world, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", second, timeout=30)
    finally:
        stop(second)


def test_a_port_in_use_is_a_bad_setting_not_an_alert(world: ApiWorld) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = _serve(world, port)
        try:
            _, err = process.communicate(timeout=60)
        finally:
            stop(process)
    assert process.returncode == 2, err.decode()
    assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
