"""Reports: an analysis written as ``report.json``, ``report.md`` and ``report.html``.

- :mod:`~threadlift.report.write`: write the three files; exit codes.
- :mod:`~threadlift.report.markdown`: the Markdown report and the shared number formatting.
- :mod:`~threadlift.report.html`: the self-contained HTML page.
- :mod:`~threadlift.report.charts`: inline SVG charts.
- :mod:`~threadlift.report.scheduled`: ``report --all``, every experiment of a folder.
"""

from __future__ import annotations

from threadlift.report.write import (
    EXIT_ALERT,
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_OK,
    WrittenReport,
    report_json_text,
    write_report,
)

__all__ = [
    "EXIT_ALERT",
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_OK",
    "WrittenReport",
    "report_json_text",
    "write_report",
]
