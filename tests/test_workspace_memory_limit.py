"""DuckDB's memory limit, from ``memory_limit``, ``$THREADLIFT_MEMORY_LIMIT`` or ``report --memory-limit``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from threadlift.cli import main
from threadlift.errors import WorkspaceError
from threadlift.workspace import ENV_MEMORY_LIMIT, Workspace


def _duckdb_shows(value: str) -> str:
    """How a plain DuckDB connection shows ``SET memory_limit = value`` (the reference)."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{value}'")
    shown = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    con.close()
    return shown


def _limit(ws: Workspace) -> str:
    return str(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ENV_MEMORY_LIMIT, raising=False)
    target = tmp_path / "ws.duckdb"
    Workspace.create(target).close()
    return target


def test_the_argument_reaches_duckdb(path: Path) -> None:
    default = _duckdb_shows("80%")
    with Workspace.open(path, read_only=True) as ws:
        assert _limit(ws) == default, "without a setting DuckDB's own default stays"
    with Workspace.open(path, read_only=True, memory_limit="1GB") as ws:
        assert _limit(ws) == _duckdb_shows("1GB") != default


def test_the_environment_variable_reaches_duckdb_and_the_argument_wins(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_MEMORY_LIMIT, "512MiB")
    with Workspace.open(path, read_only=True) as ws:
        assert _limit(ws) == "512.0 MiB"
    with Workspace.open(path, read_only=True, memory_limit="2GiB") as ws:
        assert _limit(ws) == "2.0 GiB"
    with Workspace.create(path) as ws:
        assert _limit(ws) == "512.0 MiB"


@pytest.mark.parametrize("bad", ["lots", "16", "0GB", "-1GB", "150%", "16 XB", "1e3GB"])
def test_bad_values_are_refused_naming_where_they_came_from(
    path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    with pytest.raises(WorkspaceError, match=r"memory_limit='.*' is not a memory limit.*16GB"):
        Workspace.open(path, read_only=True, memory_limit=bad)
    monkeypatch.setenv(ENV_MEMORY_LIMIT, bad)
    with pytest.raises(WorkspaceError, match=rf"{ENV_MEMORY_LIMIT}=.*is not a memory limit"):
        Workspace.open(path, read_only=True)


EXPERIMENT = two_arm_toml("mem", assigned_at="2026-03-02T08:00:00Z", tables=CONVERSION)


def test_report_passes_its_option_to_duckdb_and_refuses_a_bad_one(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = tmp_path / "mem.toml"
    experiment.write_text(EXPERIMENT)
    seen: list[str] = []
    original = Workspace.open.__func__  # type: ignore[attr-defined]

    def recording_open(cls: type[Workspace], *args: Any, **kwargs: Any) -> Workspace:
        ws: Workspace = original(cls, *args, **kwargs)
        seen.append(_limit(ws))
        return ws

    monkeypatch.setattr(Workspace, "open", classmethod(recording_open))
    args = ["report", str(experiment), "--out", str(tmp_path / "out"), "-w", str(path),
            "--as-of", "2026-03-12T00:00:00Z"]
    done = CliRunner().invoke(main, [*args, "--memory-limit", "3GB"])
    assert (tmp_path / "out" / "report.json").is_file(), done.output
    assert seen == [_duckdb_shows("3GB")]
    done = CliRunner().invoke(main, args, env={ENV_MEMORY_LIMIT: "700MB"})
    assert seen[-1] == _duckdb_shows("700MB")
    done = CliRunner().invoke(main, [*args, "--memory-limit", "much"])
    assert done.exit_code == 2, done.output
    assert "--memory-limit (or THREADLIFT_MEMORY_LIMIT)='much' is not a memory limit" in done.output
    assert len(seen) == 2, "refused before the workspace is opened"
