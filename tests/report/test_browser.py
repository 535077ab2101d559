"""The HTML report in a real browser: offline, no console errors, charts drawn."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from browser_check import CHROMIUM, check_report_in_browser
from report_samples import sample_report
from threadlift.report.html import render_html
from threadlift.report.tables import shared_numbers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing; scripts/install_chromium.sh installs it (make test does)",
    ),
]


@pytest.mark.timeout(180)
def test_report_opens_offline_and_draws_its_charts(tmp_path: Path) -> None:
    report = sample_report()
    html_path = tmp_path / "report.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    screenshot = tmp_path / "report.png"

    check = check_report_in_browser(html_path, screenshot)

    assert check.console_errors == []
    assert check.requests == [html_path.resolve().as_uri()]
    assert check.external_requests == []
    assert check.title == "Lift report: br-winback-2026-11"
    # the sample report includes the template-quality timeline, two segment dimensions and
    # the programme's decay curve
    assert check.chart_count == 10
    assert check.blank_charts == []
    for chart in check.charts:
        assert chart.width > 300, chart
        assert chart.height > 100, chart
    with Image.open(screenshot) as image:
        assert image.format == "PNG"
        assert image.width == 1280
        assert image.height > 2000
    assert check.screenshot_ink > 0.05
    for number in shared_numbers(report):
        assert number.text in check.text, number
    assert "ALERT: do not act on this result" in check.text


@pytest.mark.timeout(180)
def test_a_page_that_fetches_is_caught(tmp_path: Path) -> None:
    """The check itself sees network requests and console errors (nothing leaves the machine)."""
    html_path = tmp_path / "bad.html"
    html_path.write_text(
        "<!DOCTYPE html><html><head><title>bad</title>"
        '<link rel="stylesheet" href="https://cdn.invalid/x.css"></head>'
        '<body><img src="http://example.invalid/x.png" alt="">'
        "<script>console.error('boom');</script></body></html>",
        encoding="utf-8",
    )
    check = check_report_in_browser(html_path, tmp_path / "bad.png")
    assert "https://cdn.invalid/x.css" in check.external_requests
    assert "http://example.invalid/x.png" in check.external_requests
    assert any("boom" in error for error in check.console_errors)
    assert check.chart_count == 0


_SPLIT_WORDS_JS = """
<script>
(() => {
  // a narrow page: the tables must wrap between words (or scroll), never inside one
  document.querySelector('main').style.maxWidth = '640px';
  const split = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const words = /[^\\s\\-\\/]+/g;  // hyphens and slashes are break opportunities
      let match;
      while ((match = words.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects(), r => Math.round(r.top)));
        if (lines.size > 1) split.push(match[0]);
      }
    }
  }
  document.title = JSON.stringify(split);
})();
</script>
"""


def _words_split_across_lines(tmp_path: Path, page: str, name: str) -> list[str]:
    """The words of table cells that Chromium breaks across two lines on a narrow page."""
    import json

    html_path = tmp_path / f"{name}.html"
    html_path.write_text(page.replace("</body>", _SPLIT_WORDS_JS + "</body>"), encoding="utf-8")
    check = check_report_in_browser(html_path, tmp_path / f"{name}.png")
    assert check.console_errors == []
    split: list[str] = json.loads(check.title)
    return split


@pytest.mark.timeout(240)
def test_table_cells_wrap_between_words_never_inside_one(tmp_path: Path) -> None:
    report = sample_report()
    report["metrics"][3]["metric"] = "revenue_per_order_over_the_whole_window"
    page = render_html(report)
    assert "overflow-wrap: anywhere" not in page
    assert _words_split_across_lines(tmp_path, page, "report") == []
    # the check sees a split: the same page with the old rule breaks words inside
    broken = page.replace("</style>", "td, td * { overflow-wrap: anywhere; }</style>", 1)
    split = _words_split_across_lines(tmp_path, broken, "anywhere")
    assert any(re.fullmatch(r"[A-Za-z_]+", word) for word in split), split


@pytest.mark.timeout(180)
def test_the_warning_headline_in_chromium(tmp_path: Path) -> None:
    report = sample_report()
    report["status"] = "ok"
    report["alerts"] = []
    for row in report["guardrails"]:
        row["breached"] = False
    html_path = tmp_path / "report.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    check = check_report_in_browser(html_path, tmp_path / "report.png")
    assert check.console_errors == []
    text = " ".join(check.text.split())
    assert text.index("WARNING: read the 3 warnings below") < text.index("Arms and sample ratio")
    assert text.index("Cost per incremental conversion, whatsapp: 4.81 USD [3.42 USD, 8.18 USD]") < (
        text.index("Arms and sample ratio")
    )
    for warning in report["warnings"]:
        assert " ".join(warning.split()) in text
