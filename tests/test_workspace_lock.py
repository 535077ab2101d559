"""A workspace held by another process: wait briefly, then fail with an actionable error."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from threadlift.errors import WorkspaceError
from threadlift.workspace import ENV_LOCK_WAIT, Workspace, lock_wait_seconds


@contextmanager
def held_by_other_process(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another Python process opens ``path`` for writing and keeps it for ``seconds``."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "print('locked', flush=True)\n"
        f"time.sleep({seconds})\n"
        "con.close()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_waits_for_a_short_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace.create(path).close()
    monkeypatch.setenv(ENV_LOCK_WAIT, "20")
    with held_by_other_process(path, 1.5):
        started = time.monotonic()
        with Workspace.open(path) as ws:
            waited = time.monotonic() - started
            assert ws.counts()["contacts"] == 0
    assert waited >= 0.5, "the open returned before the other process released its lock"


def test_fails_with_advice_when_lock_outlasts_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace.create(path).close()
    monkeypatch.setenv(ENV_LOCK_WAIT, "0.3")
    with held_by_other_process(path, 30):
        started = time.monotonic()
        with pytest.raises(WorkspaceError, match=ENV_LOCK_WAIT):
            Workspace.open(path)
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("raw", ["soon", "-1"])
def test_bad_lock_wait_setting_is_named(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LOCK_WAIT, raw)
    with pytest.raises(WorkspaceError, match=ENV_LOCK_WAIT):
        lock_wait_seconds()


def test_default_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_LOCK_WAIT, raising=False)
    assert lock_wait_seconds() == 10.0
