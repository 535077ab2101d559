"""The end-to-end path a newcomer runs: `threadlift demo` → workspace → report, checked."""

from __future__ import annotations

import html
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats as sps

from browser_check import check_report_in_browser
from report_samples import parse_number
from threadlift.datasets.demo import DemoResult, run_demo
from threadlift.report.tables import shared_numbers


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"), n_contacts=20_000, seed=0)


def test_demo_writes_the_three_reports_and_covers_the_true_effect(demo: DemoResult) -> None:
    report = json.loads(demo.report.json_path.read_text())
    assert demo.report.markdown_path.is_file()
    assert demo.report.html_path.is_file()
    assert report["srm"]["passed"]
    conversion = next(
        m for m in report["metrics"] if m["metric"] == "conversion" and m["control_arm"] == "holdout"
    )
    truth = demo.truth["conversion_abs_effect"]
    assert conversion["effect_size_ci_lower"] <= truth <= conversion["effect_size_ci_upper"]
    # the demo report shows guardrails, the quality timeline and cost (issue 6)
    assert {g["kind"] for g in report["guardrails"]} >= {"block", "report", "opt_out"}
    assert len(report["sender_quality"]) >= 2
    assert any(r["messages_billed"] > 0 and r["cost"] > 0 for r in report["cost"])
    # ...and the templates' quality: the reminder went YELLOW, then RED and was paused for
    # three hours; the newsletter (not sent by the experiment) is left out
    templates = {t["template"]: t for t in report["template_quality"]["templates"]}
    assert set(templates) == {"reactivation_offer_a", "reactivation_offer_b", "reactivation_reminder"}
    reminder = templates["reactivation_reminder"]
    assert reminder["quality_changes"] == ["GREEN→YELLOW", "YELLOW→RED"]
    assert [p["hours"] for p in reminder["pauses"]] == [3.0]
    assert reminder["pauses"][0]["start"] == "2026-10-02T11:05:00"
    assert templates["reactivation_offer_b"]["quality_at_end"] == "YELLOW"
    assert any("reactivation_reminder (en) was paused" in w for w in report["warnings"])
    assert "PAUSED (FIRST_PAUSE) at 2026-10-02 11:05" in demo.report.markdown_path.read_text()
    assert "Template quality rating and pauses over time" in demo.report.html_path.read_text()
    # every treatment send is a template: no split by window state, and the report says why
    assert report["window_split"]["reported"] is False
    assert "were templates" in report["window_split"]["note"]


def test_json_markdown_and_html_show_the_same_numbers(demo: DemoResult) -> None:
    report = json.loads(demo.report.json_path.read_text())
    markdown = demo.report.markdown_path.read_text()
    page = html.unescape(demo.report.html_path.read_text())
    numbers = shared_numbers(report)
    assert len(numbers) >= 5
    for number in numbers:
        assert number.text in markdown, number
        assert number.text in page, number
        if number.value is not None and math.isfinite(number.value) and any(c.isdigit() for c in number.text):
            shown, half_unit = parse_number(number.text)
            assert abs(shown - number.value) <= half_unit * (1 + 1e-9), number


@pytest.mark.browser
def test_the_demo_report_opens_offline_in_headless_chromium(demo: DemoResult, tmp_path: Path) -> None:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        pytest.fail("chromium is not installed; run `bash scripts/install_chromium.sh` (make test does)")
    check = check_report_in_browser(demo.report.html_path, tmp_path / "demo-report.png")
    assert check.console_errors == []
    assert check.external_requests == []
    assert check.chart_count >= 7
    assert check.blank_charts == []
    assert check.screenshot_ink > 0
    report = json.loads(demo.report.json_path.read_text())
    for number in shared_numbers(report):
        assert number.text in check.text, number


@pytest.mark.slow
def test_the_estimator_recovers_the_true_effect_across_seeds(tmp_path: Path) -> None:
    """Coverage over independent seeds: a binomial test against the nominal 95%."""
    seeds = range(20)
    covered = 0
    errors = []
    for seed in seeds:
        result = run_demo(tmp_path / f"s{seed}", n_contacts=8_000, seed=seed, programme=False)
        truth = result.truth["conversion_abs_effect"]
        low, high = result.estimate["effect_size_ci_lower"], result.estimate["effect_size_ci_upper"]
        covered += low <= truth <= high
        errors.append(result.estimate["effect_size"] - truth)
    # at 95% nominal coverage, fewer than 15 of 20 covering has probability < 1.6%
    assert sps.binomtest(covered, len(seeds), 0.95, alternative="less").pvalue > 0.01
    # unbiased: the mean error is within 3 standard errors of zero
    mean = sum(errors) / len(errors)
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1))
    assert abs(mean) < 3 * sd / math.sqrt(len(errors))


def test_make_demo_command_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "threadlift.cli", "demo", "--out", str(tmp_path / "d"), "--contacts", "3000"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "report.html" in done.stdout


def test_demo_refuses_a_workspace_it_did_not_create_and_keeps_its_rows(tmp_path: Path) -> None:
    """`demo -w EXISTING` must not delete a workspace holding someone's data (exit 2)."""
    from click.testing import CliRunner

    from threadlift.cli import main

    shop = tmp_path / "shop.duckdb"
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "contact_id,market,created_at\n"
        + "".join(f"c{i},BR,2026-01-01T00:00:00Z\n" for i in range(50)),
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(main, ["init", "-w", str(shop)]).exit_code == 0
    assert runner.invoke(main, ["load", "contacts", str(contacts), "-w", str(shop)]).exit_code == 0
    refused = runner.invoke(
        main, ["demo", "--out", str(tmp_path / "d"), "-w", str(shop), "--contacts", "300"]
    )
    assert refused.exit_code == 2, refused.output
    assert "did not create" in refused.output
    import duckdb

    with duckdb.connect(str(shop), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contacts").fetchall()[0][0] == 50


def test_demo_refuses_a_file_that_is_not_a_workspace(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadlift.cli import main

    notes = tmp_path / "notes.duckdb"
    notes.write_text("my notes\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["demo", "--out", str(tmp_path / "d"), "-w", str(notes), "--contacts", "300"]
    )
    assert result.exit_code == 2, result.output
    assert notes.read_text(encoding="utf-8") == "my notes\n"


def test_demo_rebuilds_its_own_workspace(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "d", n_contacts=400, seed=1)
    second = run_demo(tmp_path / "d", n_contacts=400, seed=1)
    assert first.workspace == second.workspace
    assert first.report.json_path.read_bytes() == second.report.json_path.read_bytes()
