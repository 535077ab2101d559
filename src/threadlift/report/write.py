"""Write a report: ``report.json``, ``report.md`` and ``report.html`` from one analysis.

All three render the same dict, so they show the same numbers. Exit status follows
the CLI: 0 clean, 3 when any alert (guardrail breach, sample-ratio mismatch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadlift.analysis import Analysis

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_ALERT = 3


@dataclass(frozen=True)
class WrittenReport:
    """Where a report was written and how it ended."""

    directory: Path
    json_path: Path
    markdown_path: Path
    html_path: Path
    status: str
    exit_code: int


def report_json_text(report: dict[str, Any]) -> str:
    """Stable JSON text (keys in the documented report.json order, not sorted)."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_report(analysis: Analysis, out_dir: str | Path) -> WrittenReport:
    """Write the three report files into ``out_dir`` (created if needed)."""
    from threadlift.report.html import render_html
    from threadlift.report.markdown import render_markdown

    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    report = analysis.to_dict()
    json_path = directory / "report.json"
    markdown_path = directory / "report.md"
    html_path = directory / "report.html"
    json_path.write_text(report_json_text(report), encoding="utf-8")
    markdown_path.write_text(render_markdown(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return WrittenReport(
        directory=directory,
        json_path=json_path,
        markdown_path=markdown_path,
        html_path=html_path,
        status=analysis.status,
        exit_code=EXIT_ALERT if analysis.alerts else EXIT_OK,
    )
