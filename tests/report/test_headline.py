"""The demo's headline tells the whole truth: every warning and alert of report.json is in
the verdict of report.html and report.md and on the CLI's stderr; the sender over its
messaging limit and the paused template make it a WARNING, not OK; schedulers can fail on
warnings; machines get the summary as JSON; an experiment nobody is assigned to says
"no units"."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from report_samples import page_text
from threadlift.cli import main
from threadlift.datasets.demo import DemoResult, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo as ``threadlift demo`` builds it (its default size and seed)."""
    return run_demo(tmp_path_factory.mktemp("demo"))


def _report(demo: DemoResult) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(demo.report.json_path.read_text(encoding="utf-8"))
    return report


def _markdown_head(demo: DemoResult) -> str:
    """The Markdown before its first section, as a reader sees the words."""
    markdown = demo.report.markdown_path.read_text(encoding="utf-8")
    head = markdown.split("\n## ")[0]
    return " ".join(re.sub(r"\\(.)", r"\1", head).split())


def _html_verdict(demo: DemoResult) -> str:
    """The visible text of the HTML page's verdict box."""
    page = demo.report.html_path.read_text(encoding="utf-8")
    match = re.search(r'<section id="verdict".*?</section>', page, re.S)
    assert match, "the page has a verdict box"
    return page_text(match.group(0))


def _money(value: float) -> str:
    return f"{value:,.2f} USD"


def test_the_demo_headline_carries_every_warning_and_alert(demo: DemoResult) -> None:
    report = _report(demo)
    kinds = {detail["kind"] for detail in report["warning_details"]}
    assert {"messaging_limit", "template_status", "quality_drop"} <= kinds
    assert [d["message"] for d in report["warning_details"]] == report["warnings"]
    head, verdict = _markdown_head(demo), _html_verdict(demo)
    messages = [*report["warnings"], *(alert["message"] for alert in report["alerts"])]
    assert messages
    for message in messages:
        assert " ".join(message.split()) in head, message
        assert " ".join(message.split()) in verdict, message


def test_the_demo_headline_is_not_ok_while_the_sender_is_over_its_tier(demo: DemoResult) -> None:
    report = _report(demo)
    (limit,) = report["messaging_limits"]
    assert limit["peak_unique_contacts"] > limit["tier_limit"], "the demo's sender is over its tier"
    assert any(t["pauses"] for t in report["template_quality"]["templates"])
    headline = (
        "WARNING: read the 5 warnings below before acting on this result: sender above its "
        "messaging limit; template paused; quality rating dropped."
    )
    assert f"**{headline}**" in demo.report.markdown_path.read_text(encoding="utf-8")
    assert _html_verdict(demo).startswith(headline)
    assert 'class="verdict warning"' in demo.report.html_path.read_text(encoding="utf-8")
    assert "OK:" not in _html_verdict(demo)


def test_the_headline_states_the_primary_lift_and_the_cost_per_incremental_conversion(
    demo: DemoResult,
) -> None:
    report = _report(demo)
    primary = report["metrics"][0]
    (cost,) = report["cost"]
    lift = (
        f"whatsapp vs holdout: conversion {primary['rel_effect_size'] * 100:+.1f}% (interval "
        f"{primary['rel_effect_size_ci_lower'] * 100:+.1f}% to "
        f"{primary['rel_effect_size_ci_upper'] * 100:+.1f}%;"
    )
    per = (
        f"Cost per incremental conversion, whatsapp: "
        f"{_money(cost['cost_per_incremental_conversion'])} "
        f"[{_money(cost['cost_per_incremental_conversion_ci_lower'])}, "
        f"{_money(cost['cost_per_incremental_conversion_ci_upper'])}]"
    )
    for shown in (_markdown_head(demo), _html_verdict(demo)):
        assert lift in shown
        assert per in shown


def _report_args(demo: DemoResult, out: Path) -> list[str]:
    return [
        "report", str(demo.experiment_file), "--out", str(out), "-w", str(demo.workspace),
        "--as-of", demo.report_as_of.isoformat() + "Z",
    ]


def test_report_prints_each_warning_on_stderr_and_exits_0_by_default(
    demo: DemoResult, tmp_path: Path
) -> None:
    done = CliRunner().invoke(main, _report_args(demo, tmp_path / "r"))
    assert done.exit_code == 0, done.output
    report = _report(demo)
    written = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert written == report, "the CLI writes the demo's own report"
    stderr_lines = done.stderr.splitlines()
    for warning in report["warnings"]:
        assert f"Warning: {warning}" in stderr_lines
    for alert in report["alerts"]:
        assert f"ALERT [{alert['kind']}] {alert['message']}" in stderr_lines
    assert done.stdout.startswith("WARNING: read the 5 warnings below")


def test_fail_on_warning_exits_3_on_the_demo(demo: DemoResult, tmp_path: Path) -> None:
    done = CliRunner().invoke(main, [*_report_args(demo, tmp_path / "r"), "--fail-on", "warning"])
    assert done.exit_code == 3, done.output


def test_format_json_prints_the_summary(demo: DemoResult, tmp_path: Path) -> None:
    done = CliRunner().invoke(main, [*_report_args(demo, tmp_path / "r"), "--format", "json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    report = _report(demo)
    assert summary["level"] == "warning"
    assert summary["status"] == report["status"] == "ok"
    assert summary["experiment_id"] == report["experiment_id"]
    assert [w["message"] for w in summary["warnings"]] == report["warnings"]
    assert [w["kind"] for w in summary["warnings"]] == [
        d["kind"] for d in report["warning_details"]
    ]
    assert summary["alerts"] == report["alerts"]
    (lift,) = summary["primary_lift"]
    for key in ("metric", "arm", "effect_size", "effect_size_ci_lower", "rel_effect_size", "pvalue"):
        assert lift[key] == report["metrics"][0][key], key
    (cost,) = summary["cost_per_incremental_conversion"]
    for key in (
        "cost_per_incremental_conversion",
        "cost_per_incremental_conversion_ci_lower",
        "cost_per_incremental_conversion_ci_upper",
    ):
        assert cost[key] == report["cost"][0][key], key
    assert set(summary["paths"]) == {"json", "markdown", "html"}
    assert all(Path(path).is_file() for path in summary["paths"].values())
    assert summary["exit_code"] == 0


def test_report_all_says_no_units_for_an_experiment_not_yet_assigned(
    demo: DemoResult, tmp_path: Path
) -> None:
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    text = demo.experiment_file.read_text(encoding="utf-8")
    (experiments / "demo.toml").write_text(text, encoding="utf-8")
    unassigned = re.sub(r'(?m)^id = ".*"$', 'id = "not-yet-assigned"', text)
    (experiments / "later.toml").write_text(unassigned, encoding="utf-8")
    out = tmp_path / "reports"
    args = ["report", "--all", str(experiments), "--out", str(out), "-w", str(demo.workspace),
            "--as-of", demo.report_as_of.isoformat() + "Z"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "not-yet-assigned: Warning: no units: nobody is assigned to experiment " \
           "not-yet-assigned yet" in done.stderr
    assert "nan" not in done.stderr.lower()
    assert "breached" not in done.stderr.lower()
    for warning in _report(demo)["warnings"]:
        assert f"{_report(demo)['experiment_id']}: Warning: {warning}" in done.stderr
    folder = out / "not-yet-assigned" / demo.report_as_of.date().isoformat()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["alerts"] == []
    assert report["status"] == "ok"
    assert [d["kind"] for d in report["warning_details"]].count("no_units") == 1
    assert not any(d["kind"] == "no_data" for d in report["warning_details"])
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "**WARNING: read the" in markdown
    assert "no units" in markdown.split("\n## ")[0]
    assert "BREACHED" not in markdown
    assert "nan%" not in markdown

    failing = CliRunner().invoke(main, [*args, "--fail-on", "warning", "--format", "json"])
    assert failing.exit_code == 3
    runs = json.loads(failing.stdout)
    assert runs["exit_code"] == 3
    levels = {run["experiment_id"]: run["level"] for run in runs["reports"]}
    assert levels == {"not-yet-assigned": "warning", _report(demo)["experiment_id"]: "warning"}


def test_a_report_two_days_into_the_window_says_so(demo: DemoResult, tmp_path: Path) -> None:
    from threadlift.experiment import load_experiment

    assigned_at = load_experiment(demo.experiment_file).assigned_at
    early = (assigned_at + timedelta(days=2)).isoformat() + "Z"
    out = tmp_path / "early"
    done = CliRunner().invoke(main, ["report", str(demo.experiment_file), "--out", str(out),
                                     "-w", str(demo.workspace), "--as-of", early])
    assert done.exit_code == 0, done.output
    assert "Warning: incomplete window: 2 of 7 days observed" in done.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["warning_details"][0]["kind"] == "incomplete_window"
    headline = (out / "report.md").read_text(encoding="utf-8").split("\n## ")[0]
    assert "incomplete window (2 of 7 days observed)" in headline


def test_the_demo_command_prints_its_warnings_on_stderr(
    demo: DemoResult, tmp_path: Path
) -> None:
    done = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / "demo" / "report" / "report.json").read_text("utf-8"))
    assert report["warnings"] == _report(demo)["warnings"], "the same seeded demo"
    for warning in report["warnings"]:
        assert f"Warning: {warning}" in done.stderr.splitlines()
