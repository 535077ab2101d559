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
