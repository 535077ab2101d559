"""``report --all``: an experiment file can never make it write outside ``--out``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from experiments import two_arm_toml
from threadlift.cli import main
from threadlift.errors import ConfigError
from threadlift.report.scheduled import _report_folder


@pytest.mark.parametrize("experiment_id", ["../escaped", "../../escaped", "{outside}/abs", "a/../../x"])
def test_an_experiment_id_cannot_move_the_report_out_of_the_output_folder(
    tmp_path: Path, experiment_id: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    experiment_id = experiment_id.format(outside=outside)
    runner = CliRunner()
    ws = tmp_path / "inside" / "ws.duckdb"
    assert runner.invoke(main, ["init", "-w", str(ws)]).exit_code == 0
    experiments = tmp_path / "inside" / "experiments"
    experiments.mkdir()
    (experiments / "evil.toml").write_text(
        two_arm_toml(experiment_id, keys='assignment = "external"\n'), encoding="utf-8"
    )
    out = tmp_path / "inside" / "reports"
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    done = runner.invoke(main, ["report", "--all", str(experiments), "--out", str(out),
                                "--as-of", "2026-03-12T00:00:00Z", "-w", str(ws)])
    assert done.exit_code == 2, done.output
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    assert after == before, f"written outside --out: {sorted(after - before)}"
    errors = list(out.rglob("error.txt"))
    assert len(errors) == 1
    assert "experiment id" in errors[0].read_text(encoding="utf-8")


def test_report_folder_is_out_id_date_and_refuses_anything_else(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert _report_folder(out, "winback-2026.11_a", "2026-03-12", Path("x.toml")) == (
        out / "winback-2026.11_a" / "2026-03-12"
    )
    for bad in ("..", "../x", "a/b", str(tmp_path / "abs"), "."):
        with pytest.raises(ConfigError, match="outside"):
            _report_folder(out, bad, "2026-03-12", Path("x.toml"))


def test_report_all_opens_the_workspace_once_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import subprocess

    import duckdb

    import threadlift.workspace
    from threadlift.datasets.demo import run_demo

    run_demo(tmp_path / "demo", n_contacts=600, seed=4)
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    text = (tmp_path / "demo" / "experiment.toml").read_text(encoding="utf-8")
    (experiments / "a.toml").write_text(text, encoding="utf-8")
    # A second experiment with nobody assigned: its report must not see the first one's
    # units, which the shared connection holds in temp tables.
    other = text.replace('id = "', 'id = "unassigned-', 1)
    assert other != text
    (experiments / "b.toml").write_text(other, encoding="utf-8")
    connects: list[str] = []
    real_connect = duckdb.connect

    def counting_connect(database: str, *args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        connects.append(str(database))
        return real_connect(database, *args, **kwargs)  # type: ignore[arg-type]

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("report --all must not start a process per experiment")

    monkeypatch.setattr(threadlift.workspace.duckdb, "connect", counting_connect)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    ws = str(tmp_path / "demo" / "demo.duckdb")
    as_of = "2026-10-06T09:00:00Z"
    done = CliRunner().invoke(main, ["report", "--all", str(experiments), "--out",
                                     str(tmp_path / "all"), "--as-of", as_of, "-w", ws, "--core"])
    assert done.exit_code in (0, 3), done.output
    assert connects == [ws]
    reports = sorted((tmp_path / "all").rglob("report.json"))
    assert len(reports) == 2
    by_id = {json.loads(p.read_text(encoding="utf-8"))["experiment_id"]: p for p in reports}
    unassigned = json.loads(next(p for i, p in by_id.items() if i.startswith("unassigned-")).read_text())
    assert all(arm["units"] == 0 for arm in unassigned["arms"])
    # The first experiment's report is the one a report of its own gives.
    alone = tmp_path / "alone"
    monkeypatch.undo()
    single = CliRunner().invoke(main, ["report", str(experiments / "a.toml"), "--out", str(alone),
                                       "--as-of", as_of, "-w", ws, "--core"])
    assert single.exit_code in (0, 3), single.output
    first = next(p for i, p in by_id.items() if not i.startswith("unassigned-"))
    assert first.read_text(encoding="utf-8") == (alone / "report.json").read_text(encoding="utf-8")
