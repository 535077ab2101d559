"""The HTML report in a real browser: offline, no console errors, charts drawn."""

from __future__ import annotations

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
    assert check.chart_count == 7  # the sample report includes the template-quality timeline
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
