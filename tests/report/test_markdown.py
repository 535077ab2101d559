"""Tests of the Markdown report (threadlift.report.markdown)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from report_samples import parse_number, sample_report
from threadlift.report.markdown import md_code, md_text, render_markdown


@pytest.fixture
def report() -> dict[str, Any]:
    return sample_report()


def _table_rows(markdown: str, first_header: str) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the first pipe table whose first header is ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    split = lambda line: [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]  # noqa: E731
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(split(line))
    return split(lines[start]), rows


def test_markdown_has_the_numbers(report: dict[str, Any]) -> None:
    markdown = render_markdown(report)
    assert markdown.startswith("# Lift report: `br-winback-2026-11`")
    assert "**ALERT: do not act" in markdown
    assert "**guardrail: block_rate rose by +0.0032" in markdown
    assert "| `conversion` (proportion) | `whatsapp` vs `holdout` | 0.05234 | 0.06444 |" in markdown
    assert "+23.1% [+12.9%, +34.3%]" in markdown
    assert "**BREACHED**" in markdown
    assert "4.81 USD [3.42 USD, 8.18 USD]" in markdown
    assert "Sample-ratio check passed at α = 0.001: p = 0.8731" in markdown
    assert "| `holdout` | yes | 10,012 | 10 | 10.00% | 10.01% |" in markdown
    assert "**zero_denominator**" in markdown
    assert (
        "| `revenue_per_order` (ratio) | `whatsapp` vs `holdout` | — | 72.71 | — | — | no data | — |"
        in markdown
    )
    assert "| 17.02 USD [unbounded] |" in markdown  # no finite Fieller interval
    assert "p <0.0001). The messages raised conversion" in markdown
    assert (
        "| revenue over the 28 days before assignment | `whatsapp` vs `holdout` | 14.45 | 14.61 "
        "| +0.011 | 0.4213 |" in markdown
    )
    assert (
        "| open | `conversion` | `whatsapp` vs `holdout` | 5,391 vs 1,203 | 91.10% "
        "| +0.0271 [+0.0161, +0.0381] |" in markdown
    )
    assert "| `winback_offer` (pt_BR) | 901 | 44,950 | GREEN → RED | APPROVED | — |" in markdown
    assert "PAUSED (FIRST_PAUSE) at 2026-11-05 10:05" in markdown
    # what a reader acts on comes first: the verdict, alerts and warnings before any table
    head = markdown.split("\n## ", 1)[0]
    assert "**Alerts**" in head
    assert "**Warnings**" in head


def test_window_split_session_share_is_each_arms_own(report: dict[str, Any]) -> None:
    """Several treatment arms: each lift row shows its arm's stratum share, not another's."""
    markdown = render_markdown(report)
    headers, rows = _table_rows(markdown, "window at assignment")
    assert headers[:5] == [
        "window at assignment",
        "metric",
        "arm vs control",
        "units (arm vs control)",
        "session share",
    ]
    strata = {(s["window_state"], s["arm"]): s for s in report["window_split"]["strata"]}
    lifts = report["window_split"]["metrics"]
    assert len(rows) == len(lifts)
    seen = set()
    for cells, lift in zip(rows, lifts, strict=True):
        state, arm = cells[0], cells[2].split(" vs ")[0].strip("`")
        assert (state, arm) == (lift["window_state"], lift["arm"])
        units = [int(n.replace(",", "")) for n in cells[3].split(" vs ")]
        assert units == [lift["treatment_units"], lift["control_units"]]
        stratum = strata[(state, arm)]
        assert stratum["session_share"] == stratum["session_messages"] / stratum["messages"]
        shown, half_unit = parse_number(cells[4])
        assert abs(shown - stratum["session_share"]) <= half_unit * (1 + 1e-9), (state, arm)
        seen.add((state, arm))
    assert {arm for _, arm in seen} == {"whatsapp", "sms"}


def test_srm_failure_is_bold_once(report: dict[str, Any]) -> None:
    report["srm"] = {"pvalue": 1e-9, "passed": False, "statistic": 51.2, "alpha": 0.001}
    markdown = render_markdown(report)
    assert "**Sample-ratio check **FAILED**" not in markdown
    assert "Sample-ratio check **FAILED** at α = 0.001: p <0.0001" in markdown


def test_markdown_escapes_hostile_text(report: dict[str, Any]) -> None:
    report["experiment_id"] = '<script>alert("x")</script>'
    report["alerts"][0]["message"] = "<b>bold</b> & more"
    report["warnings"].append("see [here](https://evil.example) | *now*")
    report["arms"][0]["arm"] = "hold|out"
    markdown = render_markdown(report)
    # an identifier is a code span (shown literally); free text is escaped
    assert '# Lift report: `<script>alert("x")</script>`' in markdown
    assert "\\<b\\>bold\\</b\\> & more" in markdown
    assert markdown.count("<script>") == 1
    assert "see \\[here\\](https://evil.example) \\| \\*now\\*" in markdown
    assert "| `hold\\|out` | yes |" in markdown


def test_escaping_helpers() -> None:
    assert md_text("a\nb   c") == "a b c"
    assert md_text("block_rate _x_") == "block_rate \\_x\\_"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("a|b") == "`a\\|b`"


def test_long_detail_is_folded(report: dict[str, Any]) -> None:
    markdown = render_markdown(report)
    assert "<details><summary>Daily numbers: cumulative effect by day since assignment</summary>" in markdown
    folded = markdown.split("<details>", 1)[1].split("</details>", 1)[0]
    assert folded.count("\n| `conversion` |") == len(report["cumulative"])
