"""Tests of the HTML and Markdown report renderers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from report_samples import parse_number, sample_report
from threadlift.report.html import render_html
from threadlift.report.markdown import (
    DASH,
    fmt_count,
    fmt_effect,
    fmt_money,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    fmt_rel,
    render_markdown,
    shared_numbers,
    verdict,
)


class _Text(HTMLParser):
    """Collects the visible text of an HTML page (outside <style>, <svg>)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "svg", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "svg", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(page: str) -> str:
    """Visible text of a page, entities decoded."""
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)




@pytest.fixture
def report() -> dict[str, Any]:
    """The sample report."""
    return sample_report()


@pytest.fixture(scope="module")
def page() -> str:
    """The sample report as HTML (rendered once: charts take a moment)."""
    return render_html(sample_report())


def test_formatting_examples() -> None:
    assert fmt_number(0.0123456, signed=True) == "+0.01235"
    assert fmt_number(1234.5678) == "1,235"
    assert fmt_number(-0.0000001, signed=True) == "0"
    assert fmt_number(10.0) == "10"
    assert fmt_effect(0.0032) == "+0.0032"
    assert fmt_effect(-0.00071) == "-0.00071"
    assert fmt_rel(0.2312) == "+23.1%"
    assert fmt_percent(0.10012, decimals=2) == "10.01%"
    assert fmt_pvalue(0.00002) == "<0.0001"
    assert fmt_pvalue(0.0934) == "0.0934"
    assert fmt_count(44_950) == "44,950"
    assert fmt_money(2617.694, "USD") == "2,617.69 USD"
    for missing in (None, float("nan"), float("inf"), "x"):
        assert fmt_number(missing) == DASH
        assert fmt_rel(missing) == DASH
        assert fmt_pvalue(missing) == DASH


def test_html_loads_nothing_from_the_network(page: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, re.IGNORECASE)
    assert "@import" not in page
    assert "http:" not in page
    assert "https:" not in page
    assert "<script" not in page.lower()
    assert '<link rel="stylesheet"' not in page
    assert not re.search(r"<img\b", page)


def test_html_contains_every_section(page: str) -> None:
    for anchor in (
        "verdict",
        "arms",
        "effects",
        "complier",
        "cumulative",
        "funnel",
        "guardrails",
        "quality",
        "cost",
        "methods",
        "balance",
        "window-split",
    ):
        assert f'id="{anchor}"' in page, anchor
    assert page.count("<svg ") == 7
    assert page.count('role="img"') == 7
    text = page_text(page)
    assert "ALERT" in text
    assert "Welch's t-test" in text
    assert "zero_denominator" in text
    assert "DOWNGRADE" in text
    assert "TIER_1K" in text
    assert 'aria-label="Template quality rating and pauses over time"' in page
    assert "PAUSED (FIRST_PAUSE) at 2026-11-05 10:05" in text
    assert "GREEN → RED" in text
    assert "revenue over the 28 days before assignment" in text
    assert "91.10%" in text  # share of the open stratum's treatment sends that were session


def test_html_verdict_is_red_when_a_guardrail_is_breached(page: str) -> None:
    assert 'class="verdict alert"' in page
    assert re.search(r'<tr class="breach">(?:<td[^>]*>[^<]*</td>)*?<td>block_rate</td>', page)
    assert "Guardrail breached: block_rate for whatsapp" in page_text(page)


def test_html_verdict_is_green_when_clean(report: dict[str, Any]) -> None:
    report["status"] = "ok"
    report["alerts"] = []
    for row in report["guardrails"]:
        row["breached"] = False
    summary = verdict(report)
    assert not summary.alerting
    assert summary.findings[0].startswith("whatsapp vs holdout: conversion +23.1%")
    assert "The messages raised conversion" in summary.findings[0]
    assert "includes zero" in summary.findings[1]
    assert 'class="verdict"' in render_html(report)


def test_srm_failure_makes_the_verdict_alert(report: dict[str, Any]) -> None:
    report["status"] = "ok"
    report["guardrails"] = []
    report["srm"] = {"pvalue": 1e-9, "passed": False, "statistic": 51.2, "alpha": 0.001}
    summary = verdict(report)
    assert summary.alerting
    assert "do NOT match" in summary.checks[0]
    assert "<0.0001" in summary.checks[0]
    assert "**Sample-ratio check **FAILED**" not in render_markdown(report)
    assert "Sample-ratio check **FAILED**" in render_markdown(report)


def test_html_escapes_hostile_text(report: dict[str, Any]) -> None:
    hostile = '<script>alert("x")</script>'
    report["experiment_id"] = hostile
    report["metrics"][0]["metric"] = '<img src="https://example.com/x.png">'
    report["alerts"][0]["message"] = "<b>bold</b> & more"
    report["methods"].append('"><iframe src="//evil">')
    page = render_html(report)
    assert "<script" not in page
    assert "<img" not in page
    assert "<iframe" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert hostile in page_text(page)
    markdown = render_markdown(report)
    # In Markdown an identifier is a code span (shown literally); free text is escaped.
    assert '# Lift report: `<script>alert("x")</script>`' in markdown
    assert "\\<b\\>bold\\</b\\> & more" in markdown
    assert markdown.count("<script>") == 1


def test_rendering_is_deterministic(report: dict[str, Any]) -> None:
    first = render_html(report)
    second = render_html(sample_report())
    assert first == second
    assert render_markdown(report) == render_markdown(sample_report())


def test_rendering_is_the_same_in_another_process(page: str) -> None:
    """No hash seed, clock or user style leaks into the bytes."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import matplotlib; matplotlib.rcParams['lines.linewidth'] = 9;"
        "from report_samples import sample_report; from threadlift.report.html import render_html;"
        "sys.stdout.write(render_html(sample_report()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parents[1])],
        capture_output=True,
        encoding="utf-8",
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )
    assert result.stdout == page


def test_chart_element_ids_are_unique(page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', page)
    duplicates = {value for value in ids if ids.count(value) > 1}
    assert not duplicates
    for reference in set(re.findall(r'(?:href="#|url\(#)([^")]+)', page)):
        assert f'id="{reference}"' in page, reference


def test_markdown_has_the_numbers(report: dict[str, Any]) -> None:
    markdown = render_markdown(report)
    assert markdown.startswith("# Lift report: `br-winback-2026-11`")
    assert "**ALERT: do not act" in markdown
    assert "**guardrail: block_rate rose by +0.0032" in markdown
    assert "| `conversion` | `whatsapp` vs `holdout` | 0.05234 | 0.06444 |" in markdown
    assert "+23.1% [+12.9%, +34.3%]" in markdown
    assert "**BREACHED**" in markdown
    assert "4.81 USD [3.42 USD, 8.18 USD]" in markdown
    assert "Sample-ratio check passed (p = 0.8731)" in markdown
    assert "| `holdout` (holdout) | 10,012 | 10.00% | 10.01% |" in markdown
    assert "**zero_denominator**" in markdown
    assert (
        "| `revenue_per_order` | `whatsapp` vs `holdout` | — | 72.71 | — | — | — | — |" in markdown
    )
    assert "| 17.02 USD |" in markdown
    assert "p <0.0001). The messages raised conversion" in markdown
    assert "| revenue over the 28 days before assignment | `whatsapp` vs `holdout` | 14.45 | 14.61 | +0.011 | 0.4213 |" in markdown
    assert "| open | `whatsapp` vs `holdout` | 5,391 vs 1,203 | 91.10% | +0.0271 [+0.0161, +0.0381] |" in markdown
    assert "| `winback_offer` (pt_BR) | 44,950 | GREEN → RED | APPROVED | — |" in markdown
    assert "PAUSED (FIRST_PAUSE) at 2026-11-05 10:05" in markdown
    assert len(markdown.splitlines()) < 85


def test_same_numbers_in_markdown_and_html(report: dict[str, Any], page: str) -> None:
    markdown = render_markdown(report)
    text = page_text(page)
    numbers = shared_numbers(report)
    # metrics, SRM, guardrails, balance, window split (primary metric), cost
    assert len(numbers) == 4 * 5 + 1 + 3 * 2 + 2 * 2 + 2 * 3 + 2 * 2
    for number in numbers:
        assert number.text in markdown, number
        assert number.text in text, number
        if number.value is None:
            assert number.text == DASH, number
            continue
        if number.text.startswith("<"):
            assert number.value < 0.0001, number
            continue
        shown, half_unit = parse_number(number.text)
        assert abs(shown - number.value) <= half_unit + 1e-12, number


def test_empty_sections_render(report: dict[str, Any]) -> None:
    for key in (
        "arms",
        "metrics",
        "complier",
        "funnel",
        "cumulative",
        "guardrails",
        "sender_quality",
        "cost",
        "alerts",
        "methods",
        "balance",
    ):
        report[key] = []
    report["window_split"] = {}
    report["template_quality"] = {}
    report["srm"] = {}
    page = render_html(report)
    assert "<svg" not in page
    assert "No metric was measured." in page_text(page)
    assert "No guardrails defined." in page_text(page)
    markdown = render_markdown(report)
    assert "No metric was measured." in markdown


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_every_number_missing_still_renders(report: dict[str, Any], missing: float | None) -> None:
    report["balance"] = report["balance"][:1]
    for key in ("metrics", "complier", "funnel", "cumulative", "guardrails", "cost", "arms",
                "balance"):
        for row in report[key]:
            for field, value in list(row.items()):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    row[field] = missing
    for row in report["window_split"]["metrics"] + report["window_split"]["strata"]:
        for field, value in list(row.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[field] = missing
    for row in report["sender_quality"] + report["template_quality"]["events"]:
        row["ts"] = "not a time"
    report["srm"] = {"pvalue": missing, "passed": True, "statistic": missing, "alpha": missing}
    report["window_days"] = missing
    page = render_html(report)
    markdown = render_markdown(report)
    assert "nan" not in page_text(page).lower()
    assert "nan" not in markdown.lower()
    assert "could not be estimated" in markdown
    assert "Sample-ratio check not available." in markdown
    for number in shared_numbers(report):
        assert number.text == DASH, number
