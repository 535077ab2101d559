"""File hygiene: workspace files are created owner-only; `info` warns about readable ones."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from threadlift.api.exposures import ExposureLog
from threadlift.cli import main
from threadlift.privacy.files import readable_by_others
from threadlift.workspace import Workspace


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_workspace_and_its_wal_are_owner_only(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace.create(path) as ws:
        ws.con.execute("CHECKPOINT")
        ws.con.execute("INSERT INTO contacts VALUES ('whatsapp:+16505551234', 'US', NULL)")
        wal = path.with_name(path.name + ".wal")
        assert wal.is_file()
        assert _mode(wal) == 0o600
        assert _mode(path) == 0o600
        # a file the caller writes meanwhile (a send list) is owner-only too
        (tmp_path / "send-list.csv").write_text("contact_id\n")
        assert _mode(tmp_path / "send-list.csv") == 0o600
    # the umask is the caller's again once the workspace is closed
    (tmp_path / "later.txt").write_text("x")
    assert _mode(tmp_path / "later.txt") == 0o644
    with Workspace.open(path, read_only=True):
        (tmp_path / "read-only.txt").write_text("x")
    assert _mode(tmp_path / "read-only.txt") == 0o644


def test_info_warns_about_files_others_can_read(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "ws.duckdb"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "-w", str(path)]).exit_code == 0
    ExposureLog(tmp_path / "ws.duckdb.api")
    assert readable_by_others(path) == []
    quiet = runner.invoke(main, ["info", "-w", str(path)])
    assert quiet.exit_code == 0
    assert "Warning" not in quiet.output

    os.chmod(path, 0o644)
    os.chmod(tmp_path / "ws.duckdb.api", 0o755)
    assert readable_by_others(path) == [(path, 0o644), (tmp_path / "ws.duckdb.api", 0o755)]
    loud = runner.invoke(main, ["info", "-w", str(path)])
    assert loud.exit_code == 0
    assert f"Warning: {path} is readable by others (mode 0644)" in loud.output
    assert f"`chmod 600 {path}`" in loud.output
    assert f"`chmod 700 {tmp_path / 'ws.duckdb.api'}`" in loud.output
    assert "contacts" in loud.output
