"""The Markdown report: the report's sections (:mod:`threadlift.report.tables`) as Markdown.

Every section of the table model is written out, as GitHub-flavoured pipe tables; long
detail the HTML page folds away is folded here too (``<details>``, which GitHub
renders). Text from the report is escaped: identifiers become code spans, free text has
its Markdown markup characters escaped. Numbers come formatted from the table model, so
they read as in the HTML page, digit for digit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from threadlift.report.format import Report, text_of
from threadlift.report.tables import Section, Table, Text, build_page

_MD_MARKUP = re.compile(
    r"[\\`*\[\]|#]"  # always markup
    r"|<(?=[A-Za-z/!?])"  # the start of an HTML tag or comment; "<0.0001" is not
    r"|>"
    r"|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"  # emphasis; "block_rate" is not
)

# formatted numbers hold no markup of their own; "<0.0001" and "[+1.2%, +3.4%]" stay as they are
_MD_NUMBER_MARKUP = re.compile(r"[\\`|]|<(?=[A-Za-z/!?])")


def _escape(text: str) -> str:
    """Markup characters escaped, whitespace runs made one space (edges kept)."""
    return _MD_MARKUP.sub(lambda match: "\\" + match.group(0), re.sub(r"\s+", " ", text))


def md_text(value: object) -> str:
    r"""Free text made safe for Markdown: markup characters escaped, one line.

    Examples:
        >>> print(md_text("block_rate rose by *2x* <b>"))
        block_rate rose by \*2x\* \<b\>
        >>> print(md_text("p <0.0001"))
        p <0.0001
    """
    return _escape(text_of(value)).strip()


def md_code(value: object) -> str:
    """An identifier as a Markdown code span, safe inside a table cell."""
    text = " ".join(text_of(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_inline(value: Text) -> str:
    r"""A :class:`~threadlift.report.tables.Text` as Markdown: code spans, bold alarms.

    Examples:
        >>> from threadlift.report.tables import code, strong, text
        >>> print(md_inline(text(code("sms"), " vs ", code("holdout"), ": ", strong("BREACHED"))))
        `sms` vs `holdout`: **BREACHED**
    """
    parts = []
    for span in value.spans:
        if span.kind == "code":
            parts.append(md_code(span.text))
        elif span.kind == "strong":
            parts.append(f"**{md_text(span.text)}**")
        elif span.kind == "number":
            number = " ".join(span.text.split())
            parts.append(_MD_NUMBER_MARKUP.sub(lambda match: "\\" + match.group(0), number))
        else:
            parts.append(_escape(span.text))
    return "".join(parts).strip()


def _md_table(table: Table) -> list[str]:
    """A GitHub-flavoured Markdown table."""
    headers = [column.header.replace("|", "\\|") for column in table.columns]
    align = ["---:" if column.numeric else "---" for column in table.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(md_inline(cell) for cell in row.cells) + " |" for row in table.rows]
    if table.folded:
        return [f"<details><summary>{md_text(table.caption)}</summary>", "", *lines, "", "</details>"]
    return [f"*{md_text(table.caption)}*", "", *lines]


def _section(section: Section) -> list[str]:
    """One section: heading, lead, paragraphs, tables, list, notes."""
    lines = [f"## {md_text(section.title)}", "", md_text(section.lead)]
    for paragraph in section.paragraphs:
        lines += ["", md_inline(paragraph)]
    for table in section.tables:
        lines += ["", *_md_table(table)]
    if section.items:
        lines += ["", *(f"- {md_inline(item)}" for item in section.items)]
    for note in section.notes:
        lines += ["", f"Note: {md_inline(note)}"]
    return lines


def _bullets(texts: Sequence[str], *, bold: bool = False) -> list[str]:
    return [f"- **{md_text(t)}**" if bold else f"- {md_text(t)}" for t in texts]


def render_markdown(report: Report) -> str:
    """The report as Markdown.

    Args:
        report: the report dict, as ``report.json`` holds it.

    Returns:
        Markdown text: the title and context, the verdict (its level and headline, the
        primary lift, the cost per incremental conversion, alerts in bold, warnings and the
        checks), then every section of :func:`threadlift.report.tables.build_sections`, with the
        numbers formatted exactly as in the HTML report.
    """
    page = build_page(report)
    summary = page.verdict
    context = " · ".join(f"{label} {md_text(value)}" for label, value in page.context.facts)
    headline = md_text(summary.headline)
    lines = [f"# Lift report: {md_code(page.context.experiment)}", "", context, ""]
    lines += [f"**{headline}**" if summary.level != "ok" else headline, ""]
    lines += _bullets((*summary.findings, *summary.costs))
    if summary.alerts:
        lines += ["", "**Alerts**", "", *_bullets(summary.alerts, bold=True)]
    if summary.warnings:
        lines += ["", "**Warnings**", "", *_bullets(summary.warnings)]
    lines += ["", "**Checks**", "", *_bullets(summary.checks)]
    for section in page.sections:
        lines += ["", *_section(section)]
    lines += ["", "---", "", md_text(page.context.footer)]
    return "\n".join(lines) + "\n"
