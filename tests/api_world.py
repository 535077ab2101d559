"""Shared set-up of the API tests: a seeded workspace, experiment files, keys, a live server.

Not a test module of its own (it holds no tests); the ``test_api*`` modules import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from threadlift.api.security import new_api_key
from threadlift.api.settings import SETTINGS_ENV, ApiSettings
from threadlift.assign.assignment import set_global_holdout
from threadlift.datasets.synthetic import DemoData, generate_whatsapp_experiment
from threadlift.workspace import Workspace

LOADED_TABLES = ("contacts", "identities", "consents", "messages", "message_events", "feedback")

SECOND_EXPERIMENT = """
id = "br-utility"
channel = "whatsapp"
category = "utility"
assigned_at = 2026-11-03T12:00:00Z
audience_sql = "select contact_id from contacts where market = 'BR'"

[layer]
name = "utility-layer"
buckets = [0, 6000]

[[arms]]
name = "holdout"
weight = 20
holdout = true

[[arms]]
name = "reminder"
weight = 40

[[arms]]
name = "reminder_short"
weight = 40

[eligibility]
require_consent = false
exclude_feedback_days = 30
"""

EXTERNAL_EXPERIMENT = """
id = "vendor-split"
channel = "sms"
assignment = "external"
assigned_at = 2026-11-01T00:00:00Z

[[arms]]
name = "holdout"
weight = 50
holdout = true

[[arms]]
name = "sms"
weight = 50
"""


@dataclass(frozen=True)
class ApiWorld:
    """Everything a test of the API needs."""

    root: Path
    workspace: Path
    experiments_dir: Path
    keys_file: Path
    data: DemoData
    read_key: str
    write_key: str
    both_key: str

    def settings(self, **overrides: object) -> ApiSettings:
        """Settings over this world (fast refresh for tests)."""
        fields: dict[str, object] = {
            "experiments_dir": self.experiments_dir,
            "workspace": self.workspace,
            "keys_file": self.keys_file,
            "refresh_seconds": 0.1,
            "startup_timeout_seconds": 20.0,
        }
        fields.update(overrides)
        return ApiSettings.model_validate(fields)

    def headers(self, key: str | None = None) -> dict[str, str]:
        """Authorization header with ``key`` (default: the read and write key)."""
        return {"Authorization": f"Bearer {key or self.both_key}"}


def make_world(root: Path, n_contacts: int = 5_000, seed: int = 7, global_holdout: float = 5) -> ApiWorld:
    """A workspace with the seeded WhatsApp experiment's tables, three experiment files and keys."""
    data = generate_whatsapp_experiment(n_contacts=n_contacts, seed=seed)
    workspace = root / "ws.duckdb"
    with Workspace.create(workspace) as ws:
        for table in LOADED_TABLES:
            frame = data.tables[table]
            ws.con.register("_frame", frame)
            ws.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _frame')
            ws.con.unregister("_frame")
        if global_holdout:
            set_global_holdout(ws, salt="global-2026", percent=global_holdout)
    experiments = root / "experiments"
    experiments.mkdir()
    (experiments / "main.toml").write_text(data.experiment_toml, encoding="utf-8")
    (experiments / "utility.toml").write_text(SECOND_EXPERIMENT, encoding="utf-8")
    (experiments / "external.toml").write_text(EXTERNAL_EXPERIMENT, encoding="utf-8")
    read_key, read_line = new_api_key("dashboard", ["read"])
    write_key, write_line = new_api_key("sender", ["write"])
    both_key, both_line = new_api_key("crm", ["read", "write"])
    keys_file = root / "keys.txt"
    keys_file.write_text(f"# test keys\n{read_line}\n{write_line}\n{both_line}\n", encoding="utf-8")
    return ApiWorld(root, workspace, experiments, keys_file, data, read_key, write_key, both_key)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(settings: ApiSettings, *, workers: int = 1, port: int | None = None) -> Iterator[str]:
    """``uvicorn --factory threadlift.api.app:app_from_env`` on 127.0.0.1; killed on exit.

    Yields the base URL once ``/healthz`` answers 200.
    """
    port = port or free_port()
    env = {**os.environ, SETTINGS_ENV: settings.model_dump_json()}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "threadlift.api.app:app_from_env", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        stop(process)


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``/healthz`` is 200 (the process must stay alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base} did not become healthy in {timeout}s")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the server's process group (uvicorn and its workers) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
