"""The HTML report page and the notebook display, from the report's sections.

Both lay out the table model (:mod:`threadlift.report.tables`) through Jinja2 templates
in ``templates/`` with autoescaping on: every text from the report is escaped; the only
markup passed through is the chart SVG that :mod:`threadlift.report.charts` draws.

The page is one self-contained file that opens offline: no script, no external
stylesheet, font or image (CSS inline, charts inline SVG with text drawn as paths).
Rendering is deterministic: the same dict gives the same bytes.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import jinja2

from threadlift.report.format import Report
from threadlift.report.tables import Page, build_page

NOTEBOOK_SECTIONS = ("arms", "effects", "exposure", "guardrails")
"""The sections the notebook display shows below the verdict."""


@cache
def _environment() -> jinja2.Environment:
    """The template environment (templates ship inside the package)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("threadlift.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: the report dict, as ``report.json`` holds it.

    Returns:
        An HTML document: the verdict box, then every section of
        :func:`threadlift.report.tables.build_sections` with its chart next to its
        tables; inline CSS and inline SVG, no script and no external reference, so it
        opens offline. Identical input gives identical text.
    """
    page = build_page(report, with_charts=True)
    return _environment().get_template("report.html.j2").render(page=page)


def notebook_html(report: Report) -> str:
    """An HTML fragment for a notebook cell: the verdict, alerts, warnings, main tables.

    Args:
        report: the report dict, as ``report.json`` holds it.

    Returns:
        One ``<div>`` with its own scoped style: the context line, the verdict box (with
        alerts and warnings) and the arms, effects and guardrails tables, without charts.
    """
    page = build_page(report)
    page = replace(
        page, sections=[section for section in page.sections if section.anchor in NOTEBOOK_SECTIONS]
    )
    return _environment().get_template("notebook.html.j2").render(page=page)


def summary_html(page: Page) -> str:
    """An HTML fragment for a notebook cell: the context line and the verdict box only.

    Args:
        page: the report's page (:func:`threadlift.report.tables.build_page`); its
            sections are not shown.
    """
    return _environment().get_template("summary.html.j2").render(page=page)
