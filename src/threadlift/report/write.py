"""Write a report: ``report.json``, ``report.md`` and ``report.html`` from one analysis.

All three render the same dict, so they show the same numbers. Exit status follows
the CLI: 0 clean, 3 when any alert (guardrail breach, sample-ratio mismatch) or, with
``fail_on="warning"``, any warning (messaging limit, paused template, quality drop,
incomplete window, no units …).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadlift.analysis import Analysis

if TYPE_CHECKING:
    from threadlift.report.summary import FailOn, Summary

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_ALERT = 3


@dataclass(frozen=True)
class WrittenReport:
    """Where a report was written and how it ended.

    Attributes:
        status: ``report.json``'s ``status`` (``ok`` or ``alert``).
        exit_code: 0, or 3 when the report fails the run (an alert; with
            ``fail_on="warning"`` any warning too).
        summary: the report's verdict (level, primary lift, cost, alerts, warnings).
    """

    directory: Path
    json_path: Path
    markdown_path: Path
    html_path: Path
    status: str
    exit_code: int
    summary: Summary

    @property
    def level(self) -> str:
        """``ok``, ``warning`` or ``alert``: the worst problem of the report."""
        return self.summary.level

    def paths(self) -> dict[str, str]:
        """The files written, by format."""
        return {
            "json": str(self.json_path),
            "markdown": str(self.markdown_path),
            "html": str(self.html_path),
        }


def report_json_text(report: dict[str, Any]) -> str:
    """Stable JSON text (keys in the documented report.json order, not sorted)."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_report(
    analysis: Analysis, out_dir: str | Path, *, fail_on: FailOn = "alert",
    charts: bool | None = None,
) -> WrittenReport:
    """Write the three report files into ``out_dir`` (created if needed).

    Args:
        analysis: the analysis to report.
        out_dir: the folder of ``report.json``, ``report.md`` and ``report.html``.
        fail_on: ``alert`` (default): exit code 3 on an alert; ``warning``: on any
            warning as well.
        charts: draw the HTML page's charts. Default: for a full analysis, not for a
            core one (``analyze(sections="core")``), whose page shows the same tables
            without them so a scheduled check never imports matplotlib.
    """
    from threadlift.report.html import render_html
    from threadlift.report.markdown import render_markdown
    from threadlift.report.summary import summarize

    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    report = analysis.to_dict()
    json_path = directory / "report.json"
    markdown_path = directory / "report.md"
    html_path = directory / "report.html"
    json_path.write_text(report_json_text(report), encoding="utf-8")
    markdown_path.write_text(render_markdown(report), encoding="utf-8")
    with_charts = not analysis.skipped_sections if charts is None else charts
    html_path.write_text(render_html(report, with_charts=with_charts), encoding="utf-8")
    summary = summarize(report)
    return WrittenReport(
        directory=directory,
        json_path=json_path,
        markdown_path=markdown_path,
        html_path=html_path,
        status=analysis.status,
        exit_code=EXIT_ALERT if summary.fails(fail_on) else EXIT_OK,
        summary=summary,
    )
