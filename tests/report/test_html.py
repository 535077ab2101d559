"""Tests of the HTML page and the notebook display (threadlift.report.html)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from report_samples import page_text, sample_report
from threadlift.report.html import notebook_html, render_html


@pytest.fixture
def report() -> dict[str, Any]:
    return sample_report()


@pytest.fixture(scope="module")
def page() -> str:
    """The sample report as HTML (rendered once: charts take a moment)."""
    return render_html(sample_report())


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
        "balance",
        "effects",
        "complier",
        "cumulative",
        "funnel",
        "guardrails",
        "window-split",
        "segments",
        "senders",
        "templates",
        "cost",
        "cost-comparison",
        "programme",
        "methods",
    ):
        assert f'id="{anchor}"' in page, anchor
        if anchor != "verdict":
            assert f'href="#{anchor}"' in page, anchor
    # eight charts (the programme's decay curve included) and one forest plot per segment
    # dimension
    assert page.count("<svg ") == 10
    assert page.count('role="img"') == 10
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
    assert "91.10%" in text  # share of the open stratum's whatsapp sends that were session
    assert "<style>" in page
    assert "font-variant-numeric" in page  # the stylesheet is included verbatim, not escaped


def test_html_marks_breaches(page: str) -> None:
    assert 'class="verdict alert"' in page
    assert re.search(r'<tr class="breach">(?:<td[^>]*>[^<]*</td>)*?<td>block_rate \(block, whatsapp\)</td>', page)
    assert '<strong class="flag">BREACHED</strong>' in page
    assert "Guardrail breached: block_rate for whatsapp" in page_text(page)


def test_html_verdict_is_amber_with_warnings_and_green_only_when_clean(
    report: dict[str, Any],
) -> None:
    report["status"] = "ok"
    report["alerts"] = []
    for row in report["guardrails"]:
        row["breached"] = False
    page = render_html(report)
    assert 'class="verdict warning"' in page
    assert "WARNING: read the 3 warnings below" in page_text(page)
    report["warnings"] = []
    report["warning_details"] = []
    page = render_html(report)
    assert 'class="verdict ok"' in page
    assert "OK: arm sizes and guardrails passed their checks; nothing to warn about." in page_text(
        page
    )


def test_html_escapes_hostile_text(report: dict[str, Any]) -> None:
    hostile = '<script>alert("x")</script>'
    report["experiment_id"] = hostile
    report["metrics"][0]["metric"] = '<img src="https://example.com/x.png">'
    report["alerts"][0]["message"] = "<b>bold</b> & more"
    report["warnings"].append("<iframe>warning</iframe>")
    report["methods"].append('"><iframe src="//evil">')
    report["template_quality"]["templates"][0]["template"] = "</td><script>x</script>"
    page = render_html(report)
    assert "<script" not in page
    assert "<img" not in page
    assert "<iframe" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert hostile in page_text(page)
    assert "<b>bold</b> & more" in page_text(page)
    notebook = notebook_html(report)
    assert "<script" not in notebook
    assert "<img" not in notebook


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


def test_notebook_display_is_a_fragment_with_the_main_tables(report: dict[str, Any]) -> None:
    fragment = notebook_html(report)
    assert fragment.startswith('<div class="threadlift-report">')
    assert fragment.rstrip().endswith("</div>")
    assert "<html" not in fragment
    assert "<svg" not in fragment
    text = page_text(fragment)
    assert "ALERT: do not act on this result" in text
    for alert in report["alerts"]:
        assert alert["message"] in text
    for warning in report["warnings"]:
        assert warning in text
    for caption in (
        "Units assigned to each arm, expected and observed shares",
        "Every metric, treatment arm against control (intent to treat)",
        "Guardrails: change against the allowed increase",
    ):
        assert caption in text
    assert "+23.1% [+12.9%, +34.3%]" in text
    assert notebook_html(report) == fragment
