"""Reports: an analysis written as ``report.json``, ``report.md`` and ``report.html``.

- :mod:`~threadlift.report.write`: write the three files; exit codes.
- :mod:`~threadlift.report.format`: the number and text formatting every output shares.
- :mod:`~threadlift.report.tables`: the table model: one function per report section
  turns the report dict into a titled section of formatted tables, a chart and notes.
- :mod:`~threadlift.report.markdown`: those sections as Markdown.
- :mod:`~threadlift.report.html`: those sections as the self-contained HTML page
  (``templates/report.html.j2``) and as a notebook display (:func:`notebook_html`).
- :mod:`~threadlift.report.charts`: inline SVG charts.
- :mod:`~threadlift.report.scheduled`: ``report --all``, every experiment of a folder.
"""

from __future__ import annotations

from threadlift.report.html import notebook_html
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
    "notebook_html",
    "report_json_text",
    "write_report",
]
