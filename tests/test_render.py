"""Tests of the HTML and Markdown report renderers."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from threadlift.render_html import render_html
from threadlift.render_markdown import (
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


def sample_report() -> dict[str, Any]:
    """A realistic report: three arms, three metrics (one degenerate), a breached guardrail."""
    window = 7
    cumulative = []
    for arm, final, width in (("whatsapp", 0.0121, 0.006), ("sms", 0.0043, 0.005)):
        for day in range(1, window + 1):
            effect = final * (1 - math.exp(-day / 2.0)) / (1 - math.exp(-window / 2.0))
            half = width * math.sqrt(window / day)
            cumulative.append(
                {
                    "metric": "conversion",
                    "arm": arm,
                    "control_arm": "holdout",
                    "day": day,
                    "effect_size": effect,
                    "effect_size_ci_lower": effect - half,
                    "effect_size_ci_upper": effect + half,
                }
            )
    return {
        "experiment_id": "br-winback-2026-11",
        "as_of": "2026-11-09T09:00:00Z",
        "window_days": window,
        "channel": "whatsapp",
        "category": "marketing",
        "assigned_at": "2026-11-02T09:00:00Z",
        "status": "alert",
        "generated_by": "threadlift 0.1.0",
        "arms": [
            {
                "arm": "holdout",
                "holdout": True,
                "units": 10_012,
                "weight": 10,
                "expected_share": 0.1,
                "observed_share": 0.10012,
            },
            {
                "arm": "whatsapp",
                "holdout": False,
                "units": 44_950,
                "weight": 45,
                "expected_share": 0.45,
                "observed_share": 0.4495,
            },
            {
                "arm": "sms",
                "holdout": False,
                "units": 45_038,
                "weight": 45,
                "expected_share": 0.45,
                "observed_share": 0.45038,
            },
        ],
        "srm": {"pvalue": 0.8731, "passed": True, "statistic": 0.2716, "alpha": 0.001},
        "metrics": [
            {
                "metric": "conversion",
                "type": "proportion",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": 0.05234,
                "treatment": 0.06444,
                "effect_size": 0.0121,
                "effect_size_ci_lower": 0.00712,
                "effect_size_ci_upper": 0.01708,
                "rel_effect_size": 0.2312,
                "rel_effect_size_ci_lower": 0.1289,
                "rel_effect_size_ci_upper": 0.3427,
                "pvalue": 0.00002,
                "pvalue_adjusted": 0.00004,
                "method": "welch-t",
                "error": None,
            },
            {
                "metric": "conversion",
                "type": "proportion",
                "arm": "sms",
                "control_arm": "holdout",
                "control": 0.05234,
                "treatment": 0.05664,
                "effect_size": 0.0043,
                "effect_size_ci_lower": -0.00071,
                "effect_size_ci_upper": 0.00931,
                "rel_effect_size": 0.08215,
                "rel_effect_size_ci_lower": -0.0131,
                "rel_effect_size_ci_upper": 0.1866,
                "pvalue": 0.0934,
                "pvalue_adjusted": 0.1868,
                "method": "welch-t",
                "error": None,
            },
            {
                "metric": "revenue",
                "type": "mean",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": 4.2131,
                "treatment": 4.6873,
                "effect_size": 0.4742,
                "effect_size_ci_lower": 0.1019,
                "effect_size_ci_upper": 0.8465,
                "rel_effect_size": 0.1126,
                "rel_effect_size_ci_lower": 0.0214,
                "rel_effect_size_ci_upper": 0.2118,
                "pvalue": 0.0126,
                "pvalue_adjusted": 0.0252,
                "method": "welch-t, cuped",
                "error": None,
            },
            {
                "metric": "revenue_per_order",
                "type": "ratio",
                "arm": "whatsapp",
                "control_arm": "holdout",
                "control": None,
                "treatment": 72.71,
                "effect_size": None,
                "effect_size_ci_lower": None,
                "effect_size_ci_upper": None,
                "rel_effect_size": None,
                "rel_effect_size_ci_lower": None,
                "rel_effect_size_ci_upper": None,
                "pvalue": None,
                "pvalue_adjusted": None,
                "method": "delta",
                "error": "zero_denominator",
            },
        ],
        "complier": [
            {
                "metric": "conversion",
                "arm": "whatsapp",
                "stage": "read",
                "share": 0.6821,
                "effect_size": 0.01774,
                "effect_size_ci_lower": 0.01043,
                "effect_size_ci_upper": 0.02504,
                "method": "wald-iv",
            },
        ],
        "funnel": [
            {
                "arm": "holdout",
                "units": 10_012,
                "sent": 0,
                "delivered": 0,
                "read": 0,
                "replied": 0,
                "failed": 0,
                "converted": 524,
            },
            {
                "arm": "whatsapp",
                "units": 44_950,
                "sent": 44_120,
                "delivered": 41_903,
                "read": 30_661,
                "replied": 5_210,
                "failed": 2_217,
                "converted": 2_897,
            },
            {
                "arm": "sms",
                "units": 45_038,
                "sent": 44_871,
                "delivered": 43_950,
                "read": 0,
                "replied": 802,
                "failed": 921,
                "converted": 2_551,
            },
        ],
        "cumulative": cumulative,
        "guardrails": [
            {
                "guardrail": "block_rate",
                "kind": "block",
                "arm": "whatsapp",
                "control": 0.0011,
                "treatment": 0.0043,
                "effect_size": 0.0032,
                "effect_size_ci_upper": 0.0039,
                "threshold": 0.002,
                "pvalue": 0.00001,
                "breached": True,
            },
            {
                "guardrail": "block_rate",
                "kind": "block",
                "arm": "sms",
                "control": 0.0011,
                "treatment": 0.0014,
                "effect_size": 0.0003,
                "effect_size_ci_upper": 0.0009,
                "threshold": 0.002,
                "pvalue": 0.2412,
                "breached": False,
            },
            {
                "guardrail": "opt_out_rate",
                "kind": "opt_out",
                "arm": "whatsapp",
                "control": 0.0021,
                "treatment": 0.0029,
                "effect_size": 0.0008,
                "effect_size_ci_upper": 0.0017,
                "threshold": 0.005,
                "pvalue": 0.0612,
                "breached": False,
            },
        ],
        "sender_quality": [
            {
                "sender_id": "15550001111",
                "ts": "2026-10-30T00:00:00Z",
                "quality_rating": "GREEN",
                "messaging_limit_tier": "TIER_10K",
                "event": "snapshot",
            },
            {
                "sender_id": "15550001111",
                "ts": "2026-11-04T13:20:00Z",
                "quality_rating": "YELLOW",
                "messaging_limit_tier": "TIER_10K",
                "event": "PHONE_NUMBER_QUALITY_UPDATE",
            },
            {
                "sender_id": "15550001111",
                "ts": "2026-11-06T08:05:00Z",
                "quality_rating": "RED",
                "messaging_limit_tier": "TIER_1K",
                "event": "DOWNGRADE",
            },
        ],
        "balance": [
            {
                "metric": "revenue",
                "covariate": "revenue over the 28 days before assignment",
                "arm": arm,
                "control_arm": "holdout",
                "control_mean": 14.45,
                "treatment_mean": mean,
                "standardized_mean_difference": smd,
                "pvalue": p,
                "error": None,
            }
            for arm, mean, smd, p in (("whatsapp", 14.61, 0.0112, 0.4213), ("sms", 14.02, -0.0297, 0.0481))
        ],
        "window_split": {
            "reported": True,
            "stratum": "window_state",
            "definition": "open: wrote in during the 24 hours before assignment",
            "session_messages": 5_120,
            "template_messages": 38_410,
            "note": None,
            "strata": [
                {"window_state": state, "arm": arm, "holdout": arm == "holdout", "units": units,
                 "units_sent": sent, "messages": messages, "session_messages": session,
                 "template_messages": messages - session,
                 "session_share": session / messages if messages else None}
                for state, arm, units, sent, messages, session in (
                    ("open", "holdout", 1_203, 0, 0, 0),
                    ("open", "whatsapp", 5_391, 5_300, 5_402, 4_921),
                    ("closed", "holdout", 8_809, 0, 0, 0),
                    ("closed", "whatsapp", 39_559, 38_100, 38_128, 199),
                )
            ],
            "metrics": [
                {"window_state": state, "metric": metric, "type": "proportion", "arm": "whatsapp",
                 "control_arm": "holdout", "control_units": cu, "treatment_units": tu,
                 "control": 0.08, "treatment": 0.08 + effect, "effect_size": effect,
                 "effect_size_ci_lower": effect - 0.011, "effect_size_ci_upper": effect + 0.011,
                 "rel_effect_size": effect / 0.08, "rel_effect_size_ci_lower": (effect - 0.011) / 0.08,
                 "rel_effect_size_ci_upper": (effect + 0.011) / 0.08, "pvalue": p,
                 "method": "welch_t", "error": None,
                 "effect_difference_open_minus_closed": 0.0183,
                 "effect_difference_pvalue": 0.0021}
                for state, metric, cu, tu, effect, p in (
                    ("open", "conversion", 1_203, 5_391, 0.0271, 0.00001),
                    ("closed", "conversion", 8_809, 39_559, 0.00884, 0.0123),
                    ("open", "revenue", 1_203, 5_391, 0.6131, 0.2718),
                    ("closed", "revenue", 8_809, 39_559, 0.2455, 0.4409),
                )
            ],
        },
        "template_quality": {
            "available": True,
            "window_start": "2026-11-02T09:00:00",
            "window_end": "2026-11-09T09:00:00",
            "note": None,
            "templates": [
                {"template": "winback_offer", "language": "pt_BR", "template_id": "901",
                 "messages": 44_950, "status_at_start": "APPROVED", "status_at_end": "APPROVED",
                 "quality_at_start": "GREEN", "quality_at_end": "RED",
                 "category_at_start": None, "category_at_end": None, "changes": 4,
                 "alarms": ["PAUSED"], "quality_changes": ["GREEN→YELLOW", "YELLOW→RED"],
                 "pauses": [{"start": "2026-11-05T10:05:00", "end": "2026-11-05T13:05:00",
                             "title": "FIRST_PAUSE", "ongoing_at_window_end": False, "hours": 3.0}]},
                {"template": "winback_reminder", "language": "pt_BR", "template_id": "902",
                 "messages": 20_113, "status_at_start": "APPROVED", "status_at_end": "APPROVED",
                 "quality_at_start": "GREEN", "quality_at_end": "GREEN",
                 "category_at_start": None, "category_at_end": None, "changes": 0,
                 "alarms": [], "quality_changes": [], "pauses": []},
            ],
            "events": [
                {"template": "winback_offer", "template_id": "901", "language": "pt_BR", "kind": kind,
                 "event": event, "previous": previous, "title": title, "reason": None,
                 "correct_category": None, "ts": ts, "phase": phase}
                for kind, event, previous, title, ts, phase in (
                    ("status", "APPROVED", None, None, "2026-10-20T09:00:00", "before"),
                    ("quality", "GREEN", "UNKNOWN", None, "2026-10-21T09:00:00", "before"),
                    ("quality", "YELLOW", "GREEN", None, "2026-11-03T17:00:00", "during"),
                    ("quality", "RED", "YELLOW", None, "2026-11-05T10:00:00", "during"),
                    ("status", "PAUSED", None, "FIRST_PAUSE", "2026-11-05T10:05:00", "during"),
                    ("status", "APPROVED", None, "UNPAUSE", "2026-11-05T13:05:00", "during"),
                )
            ],
        },
        "cost": [
            {
                "arm": "whatsapp",
                "category": "marketing",
                "messages_billed": 41_903,
                "cost": 2617.69,
                "currency": "USD",
                "incremental_conversions": 543.9,
                "cost_per_incremental_conversion": 4.8128,
                "cost_per_incremental_conversion_ci_lower": 3.4213,
                "cost_per_incremental_conversion_ci_upper": 8.1762,
            },
            {
                "arm": "sms",
                "category": "sms",
                "messages_billed": 43_950,
                "cost": 3296.25,
                "currency": "USD",
                "incremental_conversions": 193.7,
                "cost_per_incremental_conversion": 17.0173,
                "cost_per_incremental_conversion_ci_lower": None,
                "cost_per_incremental_conversion_ci_upper": None,
            },
        ],
        "alerts": [
            {
                "kind": "guardrail",
                "message": "block_rate rose by +0.0032 for whatsapp, above the allowed +0.002",
            },
            {
                "kind": "degenerate",
                "message": "revenue_per_order: zero_denominator (the holdout placed no orders)",
            },
        ],
        "methods": [
            "Intent to treat: every assigned unit counts from assigned_at.",
            "Welch's t-test; relative effects on the log-ratio scale (delta method).",
            "Ratio metrics by the delta method; CUPED with one pooled theta.",
        ],
    }


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


def parse_number(text: str) -> tuple[float, float]:
    """A formatted number and half a unit of its last shown digit (an independent parser)."""
    match = re.search(r"[-+]?[\d,]*\.?\d+", text)
    assert match, text
    digits = match.group(0).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = 100.0 if text.rstrip().endswith("%") else 1.0
    return float(digits) / scale, 0.5 * 10.0**-decimals / scale


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
        "from test_render import sample_report; from threadlift.render_html import render_html;"
        "sys.stdout.write(render_html(sample_report()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
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
