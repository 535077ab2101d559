"""``analyze(sections="core")``: the lift and guardrail tests without the per-send sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import threadlift as tl
from threadlift.analysis import CORE_SKIPS, analyze
from threadlift.datasets.demo import run_demo
from threadlift.errors import ConfigError
from threadlift.report.html import render_html
from threadlift.report.markdown import render_markdown

SHARED = ("arms", "srm", "metrics", "balance", "guardrails", "alerts", "status")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], bool]:
    out: Path = tmp_path_factory.mktemp("core")
    run_demo(out, n_contacts=4_000, seed=3)
    experiment = tl.load_experiment(out / "experiment.toml")
    with tl.open_workspace(out / "demo.duckdb") as ws:
        full = analyze(ws, experiment)
        ws.con.execute("DROP TABLE IF EXISTS _sends")
        core = analyze(ws, experiment, as_of=full.as_of, sections="core")
        sends_built = bool(
            ws.con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_sends'"
            ).fetchall()[0][0]
        )
    return full.to_dict(), core.to_dict(), sends_built


def test_core_report_has_the_same_lift_and_guardrails(
    reports: tuple[dict[str, Any], dict[str, Any], bool],
) -> None:
    full, core, _ = reports
    assert full["metrics"], "the demo measures metrics"
    assert full["guardrails"], "the demo has guardrails"
    for key in SHARED:
        assert core[key] == full[key], key


def test_core_report_skips_the_per_send_sections(
    reports: tuple[dict[str, Any], dict[str, Any], bool],
) -> None:
    full, core, sends_built = reports
    assert not sends_built, "a core report must not build the per-send table"
    assert full["skipped_sections"] == []
    assert core["skipped_sections"] == list(CORE_SKIPS)
    assert full["cost"], "the full demo report has cost rows"
    assert full["funnel"], "the full demo report has funnel rows"
    for key in CORE_SKIPS:
        assert not core[key], key


def test_core_report_says_so_in_html_and_markdown(
    reports: tuple[dict[str, Any], dict[str, Any], bool],
) -> None:
    _, core, _ = reports
    assert "Core report: not computed here" in render_markdown(core)
    assert "Core report: not computed here" in render_html(core)


def test_unknown_sections_are_refused(tmp_path: Path) -> None:
    run_demo(tmp_path, n_contacts=500, seed=1)
    experiment = tl.load_experiment(tmp_path / "experiment.toml")
    with tl.open_workspace(tmp_path / "demo.duckdb") as ws, pytest.raises(ConfigError, match="core"):
        analyze(ws, experiment, sections="brief")  # type: ignore[arg-type]


def test_cli_report_core(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from threadlift.cli import main

    run_demo(tmp_path / "demo", n_contacts=800, seed=2)
    result = CliRunner().invoke(
        main,
        [
            "report", str(tmp_path / "demo" / "experiment.toml"), "--core",
            "--out", str(tmp_path / "out"), "-w", str(tmp_path / "demo" / "demo.duckdb"),
        ],
    )
    assert result.exit_code in (0, 3), result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["skipped_sections"] == list(CORE_SKIPS)
    assert report["metrics"]
    assert report["cost"] == []


def test_notebook_display_shows_the_reports_verdict_warnings_and_tables(tmp_path: Path) -> None:
    """``Analysis`` in a notebook cell: the same verdict, warnings and rows as the report."""
    import html
    import re

    demo = run_demo(tmp_path / "demo", n_contacts=3_000, seed=11)
    experiment = tl.load_experiment(demo.experiment_file)
    with tl.open_workspace(demo.workspace) as ws:
        result = analyze(ws, experiment, as_of=demo.report_as_of)
    shown = html.unescape(re.sub(r"<[^>]+>", " ", result._repr_html_()))
    shown = " ".join(shown.split())
    report = result.to_dict()
    assert report["warnings"], "the demo is expected to carry warnings"
    for warning in report["warnings"]:
        assert " ".join(warning.split()) in shown, warning
    for alert in report["alerts"]:
        assert " ".join(alert["message"].split()) in shown
    for row in report["metrics"]:
        assert row["metric"] in shown
    for row in report["guardrails"]:
        assert row["guardrail"] in shown
    for row in report["arms"]:
        assert f"{row['units']:,}" in shown
    assert "<script" not in result._repr_html_()


def test_summary_is_the_reports_verdict_as_text_and_notebook_display(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "demo", n_contacts=3_000, seed=11)
    experiment = tl.load_experiment(demo.experiment_file)
    with tl.open_workspace(demo.workspace) as ws:
        result = analyze(ws, experiment, as_of=demo.report_as_of)
    summary = result.summary()
    report = result.to_dict()
    text = summary.as_text()
    assert str(summary) == text
    assert summary.level == "warning", "the demo's paused template is a warning"
    assert text.splitlines()[1].startswith("WARNING: read the")
    for warning in report["warnings"]:
        assert f"  - {warning}" in text.splitlines()
    markdown = demo.report.markdown_path.read_text(encoding="utf-8")
    assert f"**{summary.verdict.headline}**" in markdown, "the same headline as report.md"
    html = summary._repr_html_()
    assert 'class="verdict warning"' in html
    assert "Cost per incremental conversion, whatsapp:" in html
    line = repr(result)
    assert "\n" not in line
    assert line.startswith(f"<Analysis {experiment.id} as of ")
    assert f"WARNING ({len(report['warnings'])} warnings)" in line
