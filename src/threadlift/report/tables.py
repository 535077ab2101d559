"""The report's table model: the report dict turned, once, into titled sections of tables.

``report.json`` (:meth:`threadlift.analysis.Analysis.to_dict`) is the single source. This
module declares, once per report section, what a reader sees of it: the title, a lead,
the tables (headers, which columns are numbers, each cell formatted by
:mod:`threadlift.report.format`), the chart and the notes. The Markdown report, the HTML
page and the notebook display (:mod:`~threadlift.report.markdown`,
:mod:`~threadlift.report.html`) only lay these sections out, so a number or a row shown
by one output is shown by every output, formatted alike.

Text is kept as :class:`Text`, a run of :class:`Span` s: plain text, identifiers (arm,
metric, template names, shown as code in Markdown) and emphasised alarms. Each renderer
escapes it for its own format.

Examples:
    >>> str(text(code("whatsapp"), " vs ", code("holdout")))
    'whatsapp vs holdout'
    >>> [section.anchor for section in build_sections({"methods": ["Welch's t-test."]})]
    ['methods']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

from threadlift.report.format import (
    DASH,
    Report,
    Row,
    as_float,
    effect_interval,
    fmt_count,
    fmt_effect,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    fmt_rel,
    fmt_share,
    fmt_smd,
    money_formatter,
    p_clause,
    rel_effect_interval,
    short_time,
    text_of,
    with_interval,
)

SpanKind = Literal["text", "code", "strong", "number"]
Tone = Literal["", "breach", "degenerate"]


@dataclass(frozen=True)
class Span:
    """A run of display text.

    Attributes:
        text: the text, unescaped.
        kind: ``text``; ``code`` for an identifier (a code span in Markdown); ``strong``
            for an alarm (bold in Markdown, bold red in HTML); ``number`` for the
            formatted numbers of a numeric column (``+0.0121 [+0.0071, +0.0171]``), which
            Markdown shows as they are.
    """

    text: str
    kind: SpanKind = "text"


@dataclass(frozen=True)
class Text:
    """Display text as spans; ``str()`` gives the plain text."""

    spans: tuple[Span, ...]

    def __str__(self) -> str:
        return "".join(span.text for span in self.spans)


Inline = str | Span | Text


def code(value: object) -> Span:
    """An identifier from the report (arm, metric, template, sender)."""
    return Span(text_of(value), "code")


def strong(value: object) -> Span:
    """Text that flags a problem (a breach, a failed check, an error code)."""
    return Span(text_of(value), "strong")


def text(*parts: Inline) -> Text:
    """Plain strings, spans and texts joined into one :class:`Text`."""
    spans: list[Span] = []
    for part in parts:
        if isinstance(part, Text):
            spans.extend(part.spans)
        elif isinstance(part, Span):
            spans.append(part)
        elif part:
            spans.append(Span(part))
    return Text(tuple(spans))


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes:
        header: the header text.
        numeric: right-aligned with tabular figures in HTML.
        nowrap: a short label the HTML keeps on one line (``whatsapp vs holdout``).
    """

    header: str
    numeric: bool = False
    nowrap: bool = False


@dataclass(frozen=True)
class TableRow:
    """One row of formatted cells.

    Attributes:
        cells: one :class:`Text` per column.
        tone: ``breach`` (shown in red in HTML), ``degenerate`` (muted) or empty.
    """

    cells: tuple[Text, ...]
    tone: Tone = ""


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    Attributes:
        caption: what the table holds.
        columns: the columns, in order.
        rows: the rows; each has one cell per column.
        folded: long detail the HTML folds away (``<details>``) under ``caption``.
    """

    caption: str
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    folded: bool = False


@dataclass(frozen=True)
class Figure:
    """A chart with its caption.

    Attributes:
        svg: an ``<svg>`` element drawn by :mod:`threadlift.report.charts` (trusted markup).
        caption: how to read it.
    """

    svg: str
    caption: str


@dataclass(frozen=True)
class Section:
    """One section of the report, ready for every output.

    Attributes:
        anchor: the HTML id (and nav target).
        nav: the short name in the page's navigation.
        title: the heading.
        lead: one or two sentences on what the section shows and how to read it.
        keys: the top-level ``report.json`` keys the section shows.
        paragraphs: sentences shown before the tables (checks, definitions).
        figure: the chart, or None (no rows to draw, or charts not wanted).
        tables: the tables.
        items: a bulleted list (the methods).
        notes: remarks shown after the tables.
    """

    anchor: str
    nav: str
    title: str
    lead: str
    keys: tuple[str, ...]
    paragraphs: tuple[Text, ...] = ()
    figure: Figure | None = None
    tables: tuple[Table, ...] = ()
    items: tuple[Text, ...] = ()
    notes: tuple[Text, ...] = ()


def _cell(value: Inline, numeric: bool) -> Text:
    if isinstance(value, str) and numeric:
        return text(Span(value, "number"))
    return value if isinstance(value, Text) else text(value)


def _table(
    caption: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Inline]],
    *,
    tones: Sequence[Tone] = (),
    folded: bool = False,
) -> Table:
    """A :class:`Table` from cells given as strings, spans or texts."""
    built = []
    for index, cells in enumerate(rows):
        if len(cells) != len(columns):
            raise ValueError(f"{caption}: a row has {len(cells)} cells for {len(columns)} columns")
        built.append(
            TableRow(
                tuple(
                    _cell(value, column.numeric)
                    for value, column in zip(cells, columns, strict=True)
                ),
                tones[index] if tones else "",
            )
        )
    return Table(caption, tuple(columns), tuple(built), folded)


def _number_columns(*headers: str) -> tuple[Column, ...]:
    return tuple(Column(header, numeric=True) for header in headers)


_ARM_VS_CONTROL = Column("arm vs control", nowrap=True)


def _arm_vs_control(row: Row) -> Text:
    return text(code(row.get("arm")), " vs ", code(row.get("control_arm")))


def _effect_ci(row: Row) -> str:
    return with_interval(fmt_effect(row.get("effect_size")), effect_interval(row))


def _rel_ci(row: Row) -> str:
    return with_interval(fmt_rel(row.get("rel_effect_size")), rel_effect_interval(row))


NO_DATA = "no data"
"""Shown instead of a p-value when the comparison is degenerate (an empty arm, no variance)."""


def _pvalue_or_no_data(row: Row) -> str:
    """The p-value, or ``no data`` when the row carries an error code and no p-value."""
    if row.get("error") and as_float(row.get("pvalue")) is None:
        return NO_DATA
    return fmt_pvalue(row.get("pvalue"))


def _comparison_cells(row: Row) -> tuple[str, str, str, str, str]:
    """The cells every comparison table shows alike: the control's and the arm's values,
    the effect and the relative effect with their intervals, and the p-value."""
    return (
        fmt_number(row.get("control")),
        fmt_number(row.get("treatment")),
        _effect_ci(row),
        _rel_ci(row),
        _pvalue_or_no_data(row),
    )


def _excludes_zero(lower: object, upper: object) -> bool | None:
    low, high = as_float(lower), as_float(upper)
    if low is None or high is None:
        return None
    return low > 0 or high < 0


def interval_disagreements(rows: Iterable[Row]) -> list[Text]:
    """A note per row whose absolute and relative intervals disagree about zero.

    The absolute interval (and the p-value) come from Welch's t-test on the difference;
    the relative interval is the delta-method interval of ``log(treatment / control)``,
    where each arm's variance is scaled by its own mean, so near the edge of significance
    one can exclude zero while the other includes it.
    """
    notes = []
    for row in rows:
        absolute = _excludes_zero(row.get("effect_size_ci_lower"), row.get("effect_size_ci_upper"))
        relative = _excludes_zero(
            row.get("rel_effect_size_ci_lower"), row.get("rel_effect_size_ci_upper")
        )
        if absolute is None or relative is None or absolute == relative:
            continue
        which, other = ("absolute", "relative") if absolute else ("relative", "absolute")
        where = text_of(row.get("window_state")) + " window, " if row.get("window_state") else ""
        notes.append(
            text(
                code(row.get("metric")),
                f" ({where}{text_of(row.get('arm'))} vs {text_of(row.get('control_arm'))}): the "
                f"{which} interval excludes zero but the {other} one includes it. They answer "
                "different questions: the absolute interval and the p-value come from the test of "
                "the difference treatment − control (the row's method); the relative interval is a "
                "delta-method interval for the ratio treatment ÷ control (on the log scale), "
                "where each arm's uncertainty is scaled by its own mean, so here it is the "
                + ("more cautious of the two (wider relative to its estimate)" if absolute
                   else "less cautious of the two")
                + ". They disagree only when the evidence is borderline: read the effect as "
                "uncertain in size.",
            )
        )
    return notes


def _error(row: Row) -> Inline:
    return strong(row["error"]) if row.get("error") else ""


def _rows(report: Report, key: str) -> list[Row]:
    rows: Sequence[Row] = report.get(key) or []
    return list(rows)


# -- verdict and context ---------------------------------------------------------------


Level = Literal["ok", "warning", "alert"]
"""How bad the worst problem of a report is: ``alert`` > ``warning`` > ``ok``."""

LEVELS: tuple[Level, ...] = ("ok", "warning", "alert")
"""The levels from best to worst."""


@dataclass(frozen=True)
class Concern:
    """One thing a reader must know before acting on the result.

    Attributes:
        level: ``alert`` (a guardrail breach, a sample-ratio mismatch: exit code 3) or
            ``warning``.
        kind: the alert's kind (``srm``, ``guardrail``) or the warning's
            (``report.json`` ``warning_details[].kind``; ``other`` when a report has no
            details).
        message: the text, as ``report.json`` holds it.
    """

    level: Literal["warning", "alert"]
    kind: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """The plain-words summary at the top of every report.

    Attributes:
        level: the worst of the report's problems: ``alert`` (a sample-ratio mismatch, a
            guardrail breach, the report's status ``alert``), ``warning`` (any warning:
            messaging limit, paused template, quality drop, incomplete window, no units,
            no data …) or ``ok`` (nothing is wrong).
        headline: one line: OK, WARNING or ALERT and what it is about.
        findings: one sentence per treatment arm on the primary (first) metric.
        costs: one sentence per treatment arm on its cost per incremental conversion.
        checks: one sentence for the sample-ratio check, one per guardrail outcome, and
            which sections a core report skipped.
        alerts: each alert as ``kind: message``.
        warnings: each warning of the analysis, as ``report.json`` words it.
        concerns: the alerts and warnings with their level and kind, alerts first.
    """

    level: Level
    headline: str
    findings: tuple[str, ...]
    checks: tuple[str, ...]
    costs: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    concerns: tuple[Concern, ...] = ()

    @property
    def alerting(self) -> bool:
        """True when the result must not be acted on (level ``alert``)."""
        return self.level == "alert"


VERDICT_KEYS = ("alerts", "warnings", "warning_details", "skipped_sections")
"""The keys the verdict shows (it also reads the status, the SRM, the primary metric, the
guardrails and the cost)."""


def _finding(row: Row) -> str:
    """One sentence on the primary metric for one treatment arm."""
    metric = text_of(row.get("metric"))
    arm = text_of(row.get("arm"))
    control_arm = text_of(row.get("control_arm"))
    rel = as_float(row.get("rel_effect_size"))
    effect = as_float(row.get("effect_size"))
    if rel is None and effect is None:
        reason = row.get("error") or "no estimate"
        return f"{metric} could not be estimated for {arm} vs {control_arm} ({reason})."
    if rel is not None:
        shown = fmt_rel(rel)
        lower, upper = row.get("rel_effect_size_ci_lower"), row.get("rel_effect_size_ci_upper")
        interval = f"interval {fmt_rel(lower)} to {fmt_rel(upper)}"
    else:
        shown = fmt_effect(effect)
        lower, upper = row.get("effect_size_ci_lower"), row.get("effect_size_ci_upper")
        interval = f"interval {fmt_effect(lower)} to {fmt_effect(upper)}"
    levels = f"{fmt_number(row.get('control'))} → {fmt_number(row.get('treatment'))}"
    low, high = as_float(lower), as_float(upper)
    if low is not None and low > 0:
        meaning = f"The messages raised {metric}: the whole interval is above zero."
    elif high is not None and high < 0:
        meaning = f"The messages lowered {metric}: the whole interval is below zero."
    else:
        meaning = "Not distinguishable from no effect: the interval includes zero."
    return (
        f"{arm} vs {control_arm}: {metric} {shown} ({interval}; {levels}; "
        f"p {p_clause(row.get('pvalue'))}). {meaning}"
    )


def _srm_check(srm: Row) -> tuple[str, bool]:
    """The sample-ratio sentence and whether it failed."""
    if not srm or as_float(srm.get("pvalue")) is None:
        return "Sample-ratio check not available.", False
    clause = p_clause(srm.get("pvalue"))
    if srm.get("passed", True):
        return f"Arm sizes match the design (sample-ratio check p {clause}).", False
    return (
        f"Arm sizes do NOT match the design (sample-ratio mismatch, p {clause}): "
        "assignment or logging is broken; do not trust any lift until it is explained.",
        True,
    )


def _has_units(report: Report) -> bool:
    """False when the report lists its arms and none has a unit (nobody assigned yet)."""
    arms = _rows(report, "arms")
    return not arms or any(as_float(row.get("units")) for row in arms)


def guardrail_breached(report: Report, row: Row) -> bool:
    """Whether a guardrail row counts as breached: with nobody assigned a guardrail is
    untested, not breached (the analysis raises no alert for it; "no units" says why)."""
    return bool(row.get("breached")) and _has_units(report)


def _guardrail_checks(report: Report) -> tuple[list[str], bool]:
    """Sentences on the guardrails and whether any was breached."""
    guardrails = _rows(report, "guardrails")
    if not guardrails:
        return ["No guardrails defined."], False
    breached = [row for row in guardrails if guardrail_breached(report, row)]
    untested = [row for row in guardrails if row.get("error") and row not in breached]
    texts = [
        f"Guardrail breached: {text_of(row.get('guardrail'))} for {text_of(row.get('arm'))} "
        + (
            f"could not be shown to stay within its allowed increase (no data: "
            f"{text_of(row.get('error'))})."
            if row.get("error")
            else f"changed by {fmt_effect(row.get('effect_size'))} (upper bound "
            f"{fmt_effect(row.get('effect_size_ci_upper'))}) against an allowed increase of "
            f"{fmt_effect(row.get('threshold'))}."
        )
        for row in breached
    ]
    texts += [
        f"Guardrail {text_of(row.get('guardrail'))} for {text_of(row.get('arm'))} could not be "
        f"tested: no data ({text_of(row.get('error'))})."
        for row in untested
    ]
    tested = len(guardrails) - len(breached) - len(untested)
    if not breached and tested:
        texts.insert(0, f"No guardrail breached ({tested} checked).")
    return texts, bool(breached)


def primary_rows(report: Report) -> list[Row]:
    """The rows of the primary metric (the first metric listed), one per treatment arm."""
    metrics = _rows(report, "metrics")
    if not metrics:
        return []
    primary = metrics[0].get("metric")
    return [row for row in metrics if row.get("metric") == primary]


def cost_rows(report: Report) -> list[Row]:
    """One cost row per arm and currency: the per-arm totals and cost per incremental
    conversion (repeated on each pricing category's row)."""
    per_arm: dict[tuple[str, str], Row] = {}
    for row in _rows(report, "cost"):
        per_arm.setdefault((text_of(row.get("arm")), text_of(row.get("currency"))), row)
    return list(per_arm.values())


def cost_interval(row: Row) -> str:
    """The cost per incremental conversion with its interval (``1.75 USD [1.17 USD, 3.46 USD]``)."""
    money = money_formatter(row.get("currency"))
    return with_interval(
        money(row.get("cost_per_incremental_conversion")),
        _ratio_interval(row, "cost_per_incremental_conversion", money),
    )


def _cost_sentence(row: Row) -> str:
    """One sentence on an arm's cost per incremental conversion."""
    arm = text_of(row.get("arm"))
    money = money_formatter(row.get("currency"))
    spent = money(row.get("arm_total_cost"))
    if as_float(row.get("cost_per_incremental_conversion")) is None:
        return (
            f"Cost per incremental conversion, {arm}: not measurable ({spent} spent; the "
            "messages added no measurable conversions)."
        )
    unbounded = as_float(row.get("cost_per_incremental_conversion_ci_upper")) is None
    return (
        f"Cost per incremental conversion, {arm}: {cost_interval(row)} ({spent} for "
        f"{fmt_number(row.get('incremental_conversions'))} incremental conversions; return on "
        f"spend {fmt_percent(row.get('return_on_spend'), decimals=0, signed=True)})."
        + (
            " The interval is unbounded (Fieller): the conversion lift's interval reaches "
            "zero, so no cost is ruled out."
            if unbounded
            else ""
        )
    )


_ALERT_WORDS = {
    "srm": "sample-ratio mismatch",
    "guardrail": "guardrail breached",
    "exposure_mismatch": "exposures do not match the assignment",
    "contamination": "holdout contaminated",
}

_WARNING_WORDS = {
    "incomplete_window": "incomplete window",
    "no_units": "no units",
    "no_data": "estimates without data",
    "messaging_limit": "sender above its messaging limit",
    "template_status": "template paused or disabled",
    "quality_drop": "quality rating dropped",
    "cost": "cost incomplete",
    "quarantine": "assignment rows quarantined",
    "exposure": "triggered units unbalanced",
    "programme_drift": "programme groups drifted",
    "programme_attrition": "programme attrition",
}


def _what(concern: Concern) -> str:
    """A few words on what a concern is about, for the headline."""
    if concern.kind == "incomplete_window":
        observed = re.search(r"[\d.]+ of \d+ days observed", concern.message)
        if observed:
            return f"incomplete window ({observed.group(0)})"
    if concern.kind == "template_status":
        states = [s for s in ("paused", "disabled", "flagged") if f"was {s}" in concern.message]
        if states:
            return "template " + " or ".join(states)
    words = _ALERT_WORDS if concern.level == "alert" else _WARNING_WORDS
    return words.get(concern.kind, "")


def concerns(report: Report) -> list[Concern]:
    """Every alert and warning of the report with its level and kind, alerts first.

    Warnings take their kinds from ``warning_details`` when the report has them (in
    the same order as ``warnings``), else ``other``.
    """
    found = [
        Concern("alert", text_of(alert.get("kind")), text_of(alert.get("message")))
        for alert in _rows(report, "alerts")
    ]
    details = _rows(report, "warning_details")
    kinds = {text_of(detail.get("message")): text_of(detail.get("kind")) for detail in details}
    found += [
        Concern("warning", kinds.get(text_of(warning), "other"), text_of(warning))
        for warning in report.get("warnings") or []
    ]
    return found


def _headline(level: Level, found: Sequence[Concern], srm_failed: bool, breached: bool) -> str:
    """OK, WARNING or ALERT, and what the problems are about (each kind once)."""
    what: list[str] = []
    if srm_failed:
        what.append("sample-ratio mismatch")
    if breached:
        what.append("guardrail breached")
    for concern in found:
        words = _what(concern)
        if words and words not in what:
            what.append(words)
    about = (": " + "; ".join(what) if what else "") + "."
    warnings = sum(concern.level == "warning" for concern in found)
    count = f"{warnings} warning{'s' if warnings != 1 else ''}"
    if level == "alert":
        return "ALERT: do not act on this result until the problems below are explained" + about
    if level == "warning":
        return f"WARNING: read the {count} below before acting on this result" + about
    return "OK: arm sizes and guardrails passed their checks; nothing to warn about."


def verdict(report: Report) -> Verdict:
    """What the report says, in plain words, and how bad its worst problem is."""
    findings = tuple(_finding(row) for row in primary_rows(report)) or ("No metric was measured.",)
    srm_text, srm_failed = _srm_check(report.get("srm") or {})
    guard_texts, breached = _guardrail_checks(report)
    found = concerns(report)
    if srm_failed or breached or report.get("status") == "alert" or any(
        concern.level == "alert" for concern in found
    ):
        level: Level = "alert"
    elif found:
        level = "warning"
    else:
        level = "ok"
    skipped = report.get("skipped_sections") or []
    skipped_texts = (
        (
            "Core report: not computed here: " + ", ".join(str(name) for name in skipped)
            + " (run the report without --core for them and for the charts).",
        )
        if skipped
        else ()
    )
    return Verdict(
        level=level,
        headline=_headline(level, found, srm_failed, breached),
        findings=findings,
        checks=(srm_text, *guard_texts, *exposure_checks(report), *skipped_texts),
        costs=tuple(_cost_sentence(row) for row in cost_rows(report)),
        alerts=tuple(
            f"{text_of(alert.get('kind'))}: {text_of(alert.get('message'))}"
            for alert in _rows(report, "alerts")
        ),
        warnings=tuple(c.message for c in found if c.level == "warning"),
        concerns=tuple(found),
    )


@dataclass(frozen=True)
class Context:
    """What the report is about: the title line, the facts under it, the footer.

    Attributes:
        experiment: the experiment id.
        facts: ``(label, value)`` pairs: as of, channel, category, assignment time,
            window, assignment method, status.
        footer: who generated the report, for which experiment, as of when.
    """

    experiment: str
    facts: tuple[tuple[str, str], ...]
    footer: str


CONTEXT_KEYS = (
    "experiment_id",
    "as_of",
    "window_days",
    "channel",
    "category",
    "assigned_at",
    "assignment",
    "generated_by",
    "status",
)


def context(report: Report) -> Context:
    """The experiment's identity and the report's provenance."""
    window = as_float(report.get("window_days"))
    facts = [
        (label, text_of(report.get(key)))
        for label, key in (
            ("as of", "as_of"),
            ("channel", "channel"),
            ("category", "category"),
            ("assigned", "assigned_at"),
        )
        if report.get(key) is not None
    ]
    if window is not None:
        facts.append(("window", f"{fmt_count(window)} days"))
    if report.get("assignment") is not None:
        facts.append(("assignment", text_of(report.get("assignment"))))
    if report.get("status") is not None:
        # report.json's status is ok / alert; warnings do not change it, so say they exist
        warned = len(report.get("warnings") or [])
        status = text_of(report.get("status"))
        facts.append(("status", f"{status} with {warned} warning{'s' if warned != 1 else ''}"
                      if warned else status))
    experiment = text_of(report.get("experiment_id"))
    footer = (
        f"Generated by {text_of(report.get('generated_by'))} for experiment {experiment}, "
        f"as of {text_of(report.get('as_of'))}."
    )
    return Context(experiment, tuple(facts), footer)


# -- sections ----------------------------------------------------------------------------


def arms_section(report: Report, with_charts: bool) -> Section | None:
    """Arm sizes against the design, the sample-ratio test, quarantined assignments."""
    srm: Row = report.get("srm") or {}
    arms = _rows(report, "arms")
    quarantined = as_float(report.get("assignments_quarantined"))
    if not arms and not srm and quarantined is None:
        return None
    if as_float(srm.get("pvalue")) is None:
        check = text("Sample-ratio check not available.")
    else:
        alpha = as_float(srm.get("alpha"))
        check = text(
            "Sample-ratio check ",
            "passed" if srm.get("passed", True) else strong("FAILED"),
            f" at α = {fmt_number(alpha)}" if alpha is not None else "",
            f": p {p_clause(srm.get('pvalue'))}, χ² = {fmt_number(srm.get('statistic'))}.",
        )
    table = _table(
        "Units assigned to each arm, expected and observed shares",
        (
            Column("arm"),
            Column("holdout"),
            *_number_columns("units", "weight", "expected share", "observed share"),
        ),
        (
            (
                code(row.get("arm")),
                "yes" if row.get("holdout") else "no",
                fmt_count(row.get("units")),
                fmt_number(row.get("weight")),
                fmt_share(row.get("expected_share")),
                fmt_share(row.get("observed_share")),
            )
            for row in arms
        ),
    )
    notes: tuple[Text, ...] = ()
    if quarantined is not None:
        notes = (
            text(
                f"{fmt_count(quarantined)} assignment rows were quarantined when loaded "
                "(unknown arm or contact, duplicates); see ",
                code("threadlift quarantine"),
                ".",
            )
            if quarantined
            else text("No assignment row was quarantined when loaded."),
        )
    return Section(
        "arms",
        "Arms",
        "Arms and sample ratio",
        "Before any lift is read, the arm sizes must match the design; a mismatch means "
        "assignment or logging is broken.",
        ("arms", "srm", "assignments_quarantined"),
        paragraphs=(check,),
        tables=(table,) if arms else (),
        notes=notes,
    )


def balance_section(report: Report, with_charts: bool) -> Section | None:
    """Pre-period balance of each CUPED covariate between arms."""
    balance = _rows(report, "balance")
    if not balance:
        return None
    table = _table(
        "Pre-period covariates by arm",
        (
            Column("metric"),
            Column("covariate"),
            _ARM_VS_CONTROL,
            *_number_columns("control mean", "treatment mean", "std. diff.", "p"),
            Column("note"),
        ),
        (
            (
                code(row.get("metric")),
                text_of(row.get("covariate")),
                _arm_vs_control(row),
                fmt_number(row.get("control_mean")),
                fmt_number(row.get("treatment_mean")),
                fmt_smd(row.get("standardized_mean_difference")),
                fmt_pvalue(row.get("pvalue")),
                _error(row),
            )
            for row in balance
        ),
    )
    return Section(
        "balance",
        "Balance",
        "Pre-period balance",
        "The covariates CUPED adjusts for, measured before assignment: randomisation makes "
        "them differ by chance only (standardised difference near zero).",
        ("balance",),
        tables=(table,),
    )


def effects_section(report: Report, with_charts: bool) -> Section | None:
    """Every metric's intent-to-treat effect: forest plot and table."""
    metrics = _rows(report, "metrics")
    if not metrics:
        return None
    adjusted = any(as_float(row.get("pvalue_adjusted")) is not None for row in metrics)
    columns = [
        Column("metric (type)"),
        _ARM_VS_CONTROL,
        *_number_columns("control", "treatment", "effect [CI]", "rel. effect [CI]", "p"),
    ]
    if adjusted:
        columns.append(Column("p adj.", numeric=True))
    columns += [Column("method"), Column("note")]
    rows = []
    for row in metrics:
        cells: list[Inline] = [
            text(code(row.get("metric")), f" ({text_of(row.get('type'))})"),
            _arm_vs_control(row),
            *_comparison_cells(row),
        ]
        if adjusted:
            cells.append(fmt_pvalue(row.get("pvalue_adjusted")))
        cells += [text_of(row.get("method")), _error(row)]
        rows.append(cells)
    table = _table(
        "Every metric, treatment arm against control (intent to treat)",
        columns,
        rows,
        tones=["degenerate" if row.get("error") else "" for row in metrics],
    )
    svg = _charts().forest_plot(metrics) if with_charts else None
    return Section(
        "effects",
        "Effects",
        "Effects of every metric",
        "Everyone assigned to a treatment arm against everyone assigned to the holdout, "
        "both counted from assignment (intent to treat).",
        ("metrics",),
        figure=_figure(
            svg,
            "Dot: relative effect (treatment ÷ control − 1); bar: its interval. Green when "
            "the whole interval is above zero, red when below, blue when it includes zero.",
        ),
        tables=(table,),
        notes=tuple(interval_disagreements(metrics)),
    )


def _exposure(report: Report) -> Row:
    """report.json's ``exposure`` object (empty when the report has none)."""
    exposure: Row = report.get("exposure") or {}
    return exposure


def exposure_checks(report: Report) -> list[str]:
    """The verdict's sentence on exposures: shares per arm, mismatches, the triggered
    analysis (none when no exposure is logged)."""
    exposure = _exposure(report)
    if not as_float(exposure.get("exposures")):
        return []
    shares = [
        f"{text_of(row.get('arm'))} "
        + (
            f"{fmt_share(row.get('counterfactual_share'))} logged counterfactually"
            if row.get("holdout")
            else f"{fmt_share(row.get('exposed_share'))} exposed"
        )
        for row in _rows(exposure, "arms")
    ]
    mismatched = sum(as_float(row.get("exposures")) or 0 for row in _rows(exposure, "mismatches"))
    return [
        f"Exposures: {'; '.join(shares)}; "
        + (f"{fmt_count(mismatched)} do NOT match the assignment" if mismatched else "all match the assignment")
        + "; triggered analysis "
        + ("shown." if exposure.get("triggered_shown") else "not shown (no counterfactual exposures in the holdout).")
    ]


def exposure_section(report: Report, with_charts: bool) -> Section | None:
    """Who the sending system exposed, mismatched exposures, and the triggered analysis
    beside the intent-to-treat effect (nothing when no exposure is logged)."""
    exposure = _exposure(report)
    if not as_float(exposure.get("exposures")):
        return None
    arms = _rows(exposure, "arms")
    tables = [
        _table(
            "Exposures per arm (valid exposures inside each unit's outcome window)",
            (
                Column("arm"),
                *_number_columns(
                    "units", "exposures", "exposed", "counterfactual", "triggered", "mismatched"
                ),
            ),
            (
                (
                    text(code(row.get("arm")), " (holdout)" if row.get("holdout") else ""),
                    fmt_count(row.get("units")),
                    fmt_count(row.get("exposures")),
                    f"{fmt_count(row.get('exposed_units'))} ({fmt_share(row.get('exposed_share'))})",
                    f"{fmt_count(row.get('counterfactual_units'))} "
                    f"({fmt_share(row.get('counterfactual_share'))})",
                    fmt_count(row.get("triggered_units")),
                    f"{fmt_count(row.get('mismatched_exposures'))} "
                    f"({fmt_share(row.get('mismatched_share'))})",
                )
                for row in arms
            ),
            tones=["breach" if as_float(row.get("mismatched_exposures")) else "" for row in arms],
        )
    ]
    mismatches = _rows(exposure, "mismatches")
    if mismatches:
        tables.append(
            _table(
                "Exposures that do not match the assignment",
                (
                    Column("mismatch"),
                    Column("assigned arm"),
                    Column("exposure arm"),
                    Column("source"),
                    *_number_columns("exposures", "contacts"),
                    Column("first – last (UTC)"),
                ),
                (
                    (
                        strong(row.get("mismatch")),
                        code(row.get("assigned_arm")) if row.get("assigned_arm") else DASH,
                        code(row.get("exposure_arm")) if row.get("exposure_arm") else DASH,
                        text_of(row.get("source")) or DASH,
                        fmt_count(row.get("exposures")),
                        fmt_count(row.get("contacts")),
                        f"{short_time(row.get('first_ts'))} – {short_time(row.get('last_ts'))}",
                    )
                    for row in mismatches
                ),
                tones=["breach"] * len(mismatches),
            )
        )
    triggered = _rows(exposure, "triggered")
    itt = {
        (row.get("metric"), row.get("arm"), row.get("control_arm")): row
        for row in _rows(report, "metrics")
    }
    if triggered:
        tables.append(
            _table(
                "Triggered analysis (only triggered units, every arm) beside intent to treat",
                (
                    Column("metric"),
                    _ARM_VS_CONTROL,
                    *_number_columns(
                        "triggered units (arm vs control)",
                        "control",
                        "treatment",
                        "triggered effect [CI]",
                        "triggered rel. effect [CI]",
                        "p",
                        "p adj.",
                        "intent-to-treat rel. effect [CI]",
                    ),
                    Column("method"),
                    Column("note"),
                ),
                (
                    (
                        code(row.get("metric")),
                        _arm_vs_control(row),
                        f"{fmt_count(row.get('treatment_units'))} vs "
                        f"{fmt_count(row.get('control_units'))}",
                        *_comparison_cells(row),
                        fmt_pvalue(row.get("pvalue_adjusted")),
                        _rel_ci(itt.get((row.get("metric"), row.get("arm"), row.get("control_arm")), {})),
                        text_of(row.get("method")),
                        _error(row),
                    )
                    for row in triggered
                ),
                tones=["degenerate" if row.get("error") else "" for row in triggered],
            )
        )
    note = exposure.get("triggered_note")
    return Section(
        "exposure",
        "Exposures",
        "Exposures and the triggered analysis",
        "What the sending system reported doing: the share of each arm it exposed (a real "
        "send in a treatment arm, a would-be send logged with source \"counterfactual\" in "
        "the holdout), exposures that contradict the assignment, and the lift among "
        "triggered units only. The triggered lift is larger and noisier than the "
        "intent-to-treat lift, which stays the headline.",
        ("exposure",),
        paragraphs=(text("Triggered analysis: ", text_of(note)),) if note else (),
        tables=tuple(tables),
    )


def _charts() -> ModuleType:
    """The chart module, imported when a chart is drawn: Markdown needs no matplotlib."""
    from threadlift.report import charts

    return charts


def _figure(svg: str | None, caption: str) -> Figure | None:
    return None if svg is None else Figure(svg, caption)


def complier_section(report: Report, with_charts: bool) -> Section | None:
    """Effects on the units a message reached (instrumental-variable estimates)."""
    complier = _rows(report, "complier")
    if not complier:
        return None
    table = _table(
        "Effect on units whose message was delivered or read",
        (
            Column("metric"),
            _ARM_VS_CONTROL,
            Column("stage"),
            *_number_columns("share reached", "effect [CI]", "p"),
            Column("method"),
            Column("note"),
        ),
        (
            (
                code(row.get("metric")),
                _arm_vs_control(row),
                text_of(row.get("stage")),
                fmt_share(row.get("share")),
                _effect_ci(row),
                fmt_pvalue(row.get("pvalue")),
                text_of(row.get("method")),
                _error(row),
            )
            for row in complier
        ),
    )
    return Section(
        "complier",
        "Reached",
        "Effect on those reached",
        "Instrumental-variable (complier) estimates: the intent-to-treat effect divided by "
        "the share of the arm that was delivered or read. Never a comparison of readers "
        "with the holdout.",
        ("complier",),
        tables=(table,),
    )


def cumulative_section(report: Report, with_charts: bool) -> Section | None:
    """The effect by day since assignment: chart and a folded daily table."""
    cumulative = _rows(report, "cumulative")
    if not cumulative:
        return None
    table = _table(
        "Daily numbers: cumulative effect by day since assignment",
        (
            Column("metric"),
            _ARM_VS_CONTROL,
            *_number_columns("day", "units", "control", "treatment", "effect [CI]"),
        ),
        (
            (
                code(row.get("metric")),
                _arm_vs_control(row),
                fmt_count(row.get("day")),
                fmt_count(row.get("units")),
                fmt_number(row.get("control")),
                fmt_number(row.get("treatment")),
                _effect_ci(row),
            )
            for row in cumulative
        ),
        folded=True,
    )
    svg = _charts().cumulative_plot(cumulative) if with_charts else None
    return Section(
        "cumulative",
        "Cumulative",
        "Cumulative lift by day since assignment",
        "The effect measured over the first N days after each unit's assignment. A line "
        "that settles shows a stable effect; a band that still crosses zero shows it is "
        "not yet distinguishable from none.",
        ("cumulative",),
        figure=_figure(svg, "Line: effect (treatment − control) up to each day; band: its interval."),
        tables=(table,),
    )


FUNNEL_STAGES = ("sent", "delivered", "read", "replied", "converted", "failed")


def funnel_section(report: Report, with_charts: bool) -> Section | None:
    """Units at each stage of the funnel, by arm."""
    funnel = _rows(report, "funnel")
    if not funnel:
        return None

    def count_and_share(row: Row, key: str) -> str:
        units = as_float(row.get("units"))
        value = as_float(row.get(key))
        if value is None or not units:
            return fmt_count(value)
        return f"{fmt_count(value)} ({fmt_percent(value / units)})"

    table = _table(
        "Units at each stage (share of assigned)",
        (Column("arm"), *_number_columns("assigned", *FUNNEL_STAGES)),
        (
            (
                code(row.get("arm")),
                fmt_count(row.get("units")),
                *(count_and_share(row, key) for key in FUNNEL_STAGES),
            )
            for row in funnel
        ),
    )
    svg = _charts().funnel_plot(funnel) if with_charts else None
    return Section(
        "funnel",
        "Funnel",
        "Funnel by arm",
        "How many assigned units were sent a message, had it delivered, read it, replied, "
        "and converted. The holdout is sent nothing, yet it converts: that is the baseline.",
        ("funnel",),
        figure=_figure(svg, "Bars: share of assigned units at each stage."),
        tables=(table,),
    )


def guardrails_section(report: Report, with_charts: bool) -> Section | None:
    """Guardrails against their allowed increase, and their events by sender and template."""
    guardrails = _rows(report, "guardrails")
    breakdown = _rows(report, "guardrail_breakdown")
    if not guardrails and not breakdown:
        return None
    tables = []
    if guardrails:
        tables.append(
            _table(
                "Guardrails: change against the allowed increase",
                (
                    Column("guardrail (kind, channel)"),
                    _ARM_VS_CONTROL,
                    *_number_columns(
                        "control",
                        "treatment",
                        "change",
                        "upper bound",
                        "allowed (margin)",
                        "non-inferiority p",
                    ),
                    Column("method"),
                    Column("status"),
                ),
                (
                    (
                        text(
                            code(row.get("guardrail")),
                            f" ({text_of(row.get('kind'))}, {text_of(row.get('channel'))})",
                        ),
                        _arm_vs_control(row),
                        fmt_number(row.get("control")),
                        fmt_number(row.get("treatment")),
                        fmt_effect(row.get("effect_size")),
                        fmt_effect(row.get("effect_size_ci_upper")),
                        f"{fmt_effect(row.get('threshold'))} ({text_of(row.get('margin_type'))})"
                        if row.get("margin_type")
                        else fmt_effect(row.get("threshold")),
                        NO_DATA if row.get("error") else fmt_pvalue(row.get("pvalue")),
                        text_of(row.get("method")),
                        _guardrail_status(report, row),
                    )
                    for row in guardrails
                ),
                tones=[
                    "breach"
                    if guardrail_breached(report, row)
                    else ("degenerate" if row.get("error") else "")
                    for row in guardrails
                ],
            )
        )
    if breakdown:
        tables.append(
            _table(
                "Guardrail events among the units each sender and template reached",
                (
                    Column("arm"),
                    Column("by"),
                    Column("sender or template"),
                    Column("kind"),
                    *_number_columns("units", "events", "events ÷ units"),
                ),
                (
                    (
                        code(row.get("arm")),
                        text_of(row.get("dimension")),
                        code(row.get("value")),
                        text_of(row.get("kind")),
                        fmt_count(row.get("units")),
                        fmt_count(row.get("events")),
                        _ratio_share(row.get("events"), row.get("units")),
                    )
                    for row in breakdown
                ),
            )
        )
    svg = _charts().guardrail_plot(guardrails) if with_charts else None
    return Section(
        "guardrails",
        "Guardrails",
        "Guardrails",
        "Harms that cap a sender's future reach. A guardrail is breached when the upper "
        "bound of its increase exceeds the allowed increase.",
        ("guardrails", "guardrail_breakdown"),
        figure=_figure(
            svg,
            "Dot: change; bar: up to its upper bound; red tick: allowed increase. Red rows "
            "are breaches.",
        ),
        tables=tuple(tables),
    )


def _guardrail_status(report: Report, row: Row) -> Text:
    """``BREACHED``, ``no data (zero_variance)`` or ``ok``."""
    error = f" (no data: {row['error']})" if row.get("error") else ""
    if guardrail_breached(report, row):
        return text(strong("BREACHED"), error)
    if error:
        return text(strong("no data"), f" ({row['error']})")
    return text("ok")


def _ratio_share(numerator: object, denominator: object) -> str:
    top, bottom = as_float(numerator), as_float(denominator)
    return fmt_share(top / bottom) if top is not None and bottom else DASH


def senders_section(report: Report, with_charts: bool) -> Section | None:
    """Each sender's quality rating and limit tier over time, and its peak reach."""
    events = _rows(report, "sender_quality")
    limits = _rows(report, "messaging_limits")
    if not events and not limits:
        return None
    tables = []
    if events:
        tables.append(
            _table(
                "Sender quality events",
                (
                    Column("sender"),
                    Column("time (UTC)"),
                    Column("quality rating"),
                    Column("messaging-limit tier"),
                    Column("event"),
                ),
                (
                    (
                        code(row.get("sender_id")),
                        short_time(row.get("ts")),
                        text_of(row.get("quality_rating")),
                        text_of(row.get("messaging_limit_tier")),
                        text_of(row.get("event")),
                    )
                    for row in events
                ),
                tones=[
                    "breach" if text_of(row.get("quality_rating")).upper() == "RED" else ""
                    for row in events
                ],
            )
        )
    if limits:
        over = [(as_float(row.get("usage_share")) or 0.0) > 1 for row in limits]
        tables.append(
            _table(
                "Peak unique contacts messaged outside a service window in 24 hours, "
                "against the sender's messaging limit",
                (
                    Column("sender"),
                    Column("tier"),
                    *_number_columns("limit", "peak contacts", "share of limit"),
                    Column("peak at (UTC)"),
                ),
                (
                    (
                        code(row.get("sender_id")),
                        text_of(row.get("messaging_limit_tier")),
                        fmt_count(row.get("tier_limit")),
                        fmt_count(row.get("peak_unique_contacts")),
                        text(strong(fmt_percent(row.get("usage_share"))))
                        if above
                        else fmt_percent(row.get("usage_share")),
                        short_time(row.get("peak_at")),
                    )
                    for row, above in zip(limits, over, strict=True)
                ),
                tones=["breach" if above else "" for above in over],
            )
        )
    svg = (
        _charts().sender_quality_plot(events, start=report.get("assigned_at"), end=report.get("as_of"))
        if with_charts
        else None
    )
    return Section(
        "senders",
        "Senders",
        "Sender quality and messaging limits",
        "The platform's quality rating (GREEN, YELLOW, RED) and messaging-limit tier of each "
        "sender. A drop in quality or tier limits how many people the sender can reach next; "
        "reaching more contacts than the tier allows gets sends rejected.",
        ("sender_quality", "messaging_limits"),
        figure=_figure(
            svg, "Top: quality rating (marker colour = rating); bottom: messaging-limit tier."
        ),
        tables=tuple(tables),
    )


_TEMPLATE_ALARMS = frozenset({"PAUSED", "DISABLED", "FLAGGED", "RED"})


def template_states(template: Row, kind: str) -> str:
    """``START → END`` of one kind of template state (``—`` where unknown)."""
    start, end = template.get(f"{kind}_at_start"), template.get(f"{kind}_at_end")
    if start == end:
        return text_of(start)
    return f"{text_of(start)} → {text_of(end)}"


def template_changes(section: Row, template: Row) -> list[str]:
    """The events of one template inside the window, as ``EVENT at time`` phrases."""
    phrases = []
    for event in section.get("events") or []:
        if (
            event.get("template") != template.get("template")
            or event.get("language") != template.get("language")
            or event.get("phase") != "during"
        ):
            continue
        kind = text_of(event.get("kind"))
        what = text_of(event.get("event"))
        if kind in ("quality", "category"):
            what = f"{kind} {text_of(event.get('previous'))}→{what}"
        elif event.get("title"):
            what = f"{what} ({text_of(event.get('title'))})"
        phrases.append(f"{what} at {short_time(event.get('ts'))}")
    return phrases


def templates_section(report: Report, with_charts: bool) -> Section | None:
    """Template status, quality and category over the experiment window."""
    section: Row = report.get("template_quality") or {}
    if not section:
        return None
    lead = (
        "The status, quality rating and category of each template the experiment sent, "
        "at the window's start and end, and every change inside it. A paused template is "
        "not delivered."
    )
    keys = ("template_quality",)
    note = (text(text_of(section.get("note"))),) if section.get("note") else ()
    if not section.get("available", True):
        return Section("templates", "Templates", "Template quality", lead, keys, notes=note)
    templates: Sequence[Row] = section.get("templates") or []
    window = text(
        f"Experiment window {short_time(section.get('window_start'))} to "
        f"{short_time(section.get('window_end'))} UTC."
        + ("" if templates else " The experiment sent no templates.")
    )
    alarming = [
        bool(row.get("alarms") or row.get("pauses"))
        or text_of(row.get("quality_at_end")) in _TEMPLATE_ALARMS
        for row in templates
    ]
    table = _table(
        "Templates the experiment sent: state at the window's start → end, and changes inside it",
        (
            Column("template"),
            Column("id"),
            Column("messages", numeric=True),
            Column("quality"),
            Column("status"),
            Column("category"),
            Column("in the window (UTC)"),
        ),
        (
            (
                text(
                    code(row.get("template")),
                    f" ({text_of(row.get('language'))})" if row.get("language") else "",
                ),
                text_of(row.get("template_id")),
                fmt_count(row.get("messages")),
                template_states(row, "quality"),
                template_states(row, "status"),
                template_states(row, "category"),
                "; ".join(template_changes(section, row)) or "no change",
            )
            for row in templates
        ),
        tones=["breach" if alarm else "" for alarm in alarming],
    )
    svg = _charts().template_quality_plot(section) if with_charts else None
    return Section(
        "templates",
        "Templates",
        "Template quality timeline",
        lead,
        keys,
        paragraphs=(window,),
        figure=_figure(
            svg,
            "Upper band: quality rating in force (grey until the first known rating); lower "
            "band: paused; markers: status and category events.",
        ),
        tables=(table,) if templates else (),
        notes=note,
    )


def window_split_rows(report: Report) -> list[Row]:
    """The window-split lift rows of the primary metric, every arm (the headline numbers)."""
    split: Row = report.get("window_split") or {}
    rows: Sequence[Row] = split.get("metrics") or []
    if not split.get("reported") or not rows:
        return []
    primary = rows[0].get("metric")
    return [row for row in rows if row.get("metric") == primary]


def window_split_section(report: Report, with_charts: bool) -> Section | None:
    """Lift by the customer-service-window state at assignment, and sends by kind."""
    split: Row = report.get("window_split") or {}
    shares = _rows(report, "window_share")
    if not split and not shares:
        return None
    paragraphs: list[Text] = []
    if split.get("definition"):
        paragraphs.append(text(text_of(split.get("definition"))))
    notes: tuple[Text, ...] = (text(text_of(split.get("note"))),) if split.get("note") else ()
    notes += tuple(interval_disagreements(split.get("metrics") or []))
    strata: Sequence[Row] = split.get("strata") or []
    # one stratum row per window state and arm: each arm's own session share
    stratum_of = {
        (text_of(row.get("window_state")), text_of(row.get("arm"))): row for row in strata
    }
    tables = []
    if split.get("reported"):
        metrics: Sequence[Row] = split.get("metrics") or []
        tables.append(
            _table(
                "Effect per stratum (intent to treat within the stratum)",
                (
                    Column("window at assignment"),
                    Column("metric"),
                    _ARM_VS_CONTROL,
                    *_number_columns(
                        "units (arm vs control)",
                        "session share",
                        "effect [CI]",
                        "rel. effect [CI]",
                        "p",
                        "open − closed (p)",
                    ),
                ),
                (
                    (
                        text_of(row.get("window_state")),
                        code(row.get("metric")),
                        _arm_vs_control(row),
                        f"{fmt_count(row.get('treatment_units'))} vs "
                        f"{fmt_count(row.get('control_units'))}",
                        fmt_share(
                            stratum_of.get(
                                (text_of(row.get("window_state")), text_of(row.get("arm"))), {}
                            ).get("session_share")
                        ),
                        _effect_ci(row),
                        _rel_ci(row),
                        fmt_pvalue(row.get("pvalue")),
                        f"{fmt_effect(row.get('effect_difference_open_minus_closed'))} "
                        f"(p {p_clause(row.get('effect_difference_pvalue'))})",
                    )
                    for row in metrics
                ),
            )
        )
    if strata:
        tables.append(
            _table(
                "Units and sends per stratum and arm",
                (
                    Column("window at assignment"),
                    Column("arm"),
                    *_number_columns(
                        "units", "units sent", "messages", "session", "template", "session share"
                    ),
                ),
                (
                    (
                        text_of(row.get("window_state")),
                        code(row.get("arm")),
                        fmt_count(row.get("units")),
                        fmt_count(row.get("units_sent")),
                        fmt_count(row.get("messages")),
                        fmt_count(row.get("session_messages")),
                        fmt_count(row.get("template_messages")),
                        fmt_share(row.get("session_share")),
                    )
                    for row in strata
                ),
            )
        )
    if shares:
        tables.append(
            _table(
                "Treatment messages by kind, and those sent inside an open service window",
                (
                    Column("arm"),
                    *_number_columns("messages", "template", "session", "inside a window"),
                ),
                (
                    (
                        code(row.get("arm")),
                        fmt_count(row.get("messages")),
                        fmt_count(row.get("template_messages")),
                        fmt_count(row.get("session_messages")),
                        fmt_count(row.get("in_window_messages")),
                    )
                    for row in shares
                ),
            )
        )
    return Section(
        "window-split",
        "Window split",
        "Lift by 24-hour window at assignment",
        "Units split by whether the contact had an open 24-hour customer-service window at "
        "assignment: a state known before treatment in every arm, so each stratum is still a "
        "randomised comparison. Splitting by the kind of message received would not be: the "
        "holdout receives none.",
        ("window_split", "window_share"),
        paragraphs=tuple(paragraphs),
        tables=tuple(tables),
        notes=notes,
    )


def segments_section(report: Report, with_charts: bool) -> Section | None:
    """Lift within each segment of each segment dimension, and the heterogeneity tests."""
    segments = _rows(report, "segments")
    tests = _rows(report, "heterogeneity")
    if not segments and not tests:
        return None
    lifts = _table(
        "Effect per segment (intent to treat within the segment; p adj. within the dimension)",
        (
            Column("dimension"),
            Column("segment"),
            Column("metric"),
            _ARM_VS_CONTROL,
            *_number_columns(
                "units (arm vs control)",
                "control",
                "treatment",
                "effect [CI]",
                "rel. effect [CI]",
                "p",
                "p adj.",
            ),
            Column("method"),
            Column("note"),
        ),
        (
            (
                text_of(row.get("dimension")),
                code(row.get("segment")),
                code(row.get("metric")),
                _arm_vs_control(row),
                f"{fmt_count(row.get('units_treatment'))} vs "
                f"{fmt_count(row.get('units_control'))}",
                *_comparison_cells(row),
                fmt_pvalue(row.get("pvalue_adjusted")),
                text_of(row.get("method")),
                _error(row),
            )
            for row in segments
        ),
        tones=["degenerate" if row.get("error") else "" for row in segments],
    )
    heterogeneity = _table(
        "Do the effects differ across a dimension's segments? (heterogeneity)",
        (
            Column("dimension"),
            Column("metric"),
            _ARM_VS_CONTROL,
            *_number_columns("segments", "Q (df)", "p"),
            Column("method"),
            Column("note"),
        ),
        (
            (
                text_of(row.get("dimension")),
                code(row.get("metric")),
                _arm_vs_control(row),
                fmt_count(row.get("segments")),
                f"{fmt_number(row.get('statistic'))} ({text_of(row.get('df'))})",
                _pvalue_or_no_data(row),
                text_of(row.get("method")),
                _error(row),
            )
            for row in tests
        ),
    )
    pooled: dict[str, list[str]] = {}
    for row in segments:
        names = row.get("pooled_segments") or []
        if names:
            pooled[text_of(row.get("dimension"))] = [text_of(name) for name in names]
    notes = [
        text(
            f"{dimension}: ",
            *[part for name in names for part in (code(name), ", ")][:-1],
            " pooled into ",
            code("other"),
            " (fewer units than the dimension's min_units in an arm).",
        )
        for dimension, names in pooled.items()
    ]
    svg = _charts().segment_forest_plots(segments) if with_charts else None
    return Section(
        "segments",
        "Segments",
        "Lift by segment",
        "Each segment of a dimension fixed before treatment (market, pre-period activity, "
        "the experiment's own segments read as of assignment), compared as the whole "
        "experiment: within a segment assignment is still random. A small heterogeneity p "
        "says the effects differ across the dimension's segments more than chance allows.",
        ("segments", "heterogeneity"),
        figure=_figure(
            svg,
            "One plot per dimension, first metric: dot, relative effect in the segment; bar, "
            "its interval (not adjusted for multiplicity). Green when the whole interval is "
            "above zero, red when below, blue when it includes zero.",
        ),
        tables=(lifts, heterogeneity),
        notes=tuple(notes),
    )


def cost_section(report: Report, with_charts: bool) -> Section | None:
    """What the sends cost and what one incremental conversion cost."""
    cost = _rows(report, "cost")
    if not cost:
        return None
    spend = _table(
        "Messages and their cost by arm and pricing category",
        (
            Column("arm"),
            Column("channel"),
            Column("category"),
            *_number_columns(
                "messages", "billed", "free entry point", "unpriced", "cost", "arm total"
            ),
        ),
        (
            (
                code(row.get("arm")),
                text_of(row.get("channel")),
                code(row.get("category")),
                fmt_count(row.get("messages")),
                fmt_count(row.get("messages_billed")),
                fmt_count(row.get("messages_free_entry_point")),
                text(strong(fmt_count(row.get("unpriced"))))
                if as_float(row.get("unpriced"))
                else fmt_count(row.get("unpriced")),
                fmt_money(row.get("cost"), row.get("currency")),
                fmt_money(row.get("arm_total_cost"), row.get("currency")),
            )
            for row in cost
        ),
    )
    # the return is per arm and currency: one row each, whatever the categories
    returns = []
    for row in cost_rows(report):
        money = money_formatter(row.get("currency"))
        returns.append(
            (
                code(row.get("arm")),
                money(row.get("arm_total_cost")),
                fmt_number(row.get("incremental_conversions")),
                cost_interval(row),
                fmt_number(row.get("incremental_revenue")),
                fmt_percent(row.get("return_on_spend"), decimals=0, signed=True),
            )
        )
    value = _table(
        "Cost per incremental conversion and return on spend, by arm",
        (
            Column("arm"),
            *_number_columns(
                "cost",
                "incr. conversions",
                "per incr. conversion [CI]",
                "incr. revenue",
                "return on spend",
            ),
        ),
        returns,
    )
    svg = _charts().cost_plot(cost) if with_charts else None
    return Section(
        "cost",
        "Cost",
        "Cost per incremental conversion",
        "Billed messages priced by category and market, divided by the conversions the "
        "messages added over the holdout. Return on spend: (incremental revenue − cost) ÷ cost.",
        ("cost",),
        figure=_figure(svg, "Bar: cost per incremental conversion; whiskers: interval."),
        tables=(spend, value),
    )


def _ratio_interval(row: Row, key: str, fmt: Callable[[object], str]) -> str:
    """The interval of ``row[key]`` (a Fieller interval): ``unbounded`` when the ratio has
    an estimate but no finite bounds (a conversion effect's interval includes zero)."""
    interval = fmt_interval(row.get(f"{key}_ci_lower"), row.get(f"{key}_ci_upper"), fmt)
    if interval == DASH and as_float(row.get(key)) is not None:
        return "[unbounded]"
    return interval


def cost_comparison_section(report: Report, with_charts: bool) -> Section | None:
    """Each pair of treatment arms' cost per incremental conversion, as a ratio."""
    compared = _rows(report, "cost_comparison")
    if not compared:
        return None
    rows = []
    for row in compared:
        money = money_formatter(row.get("currency"))
        rows.append(
            (
                f"{text_of(row.get('arm'))} ({text_of(row.get('channel'))}) vs "
                f"{text_of(row.get('other_arm'))} ({text_of(row.get('other_channel'))})",
                f"{money(row.get('cost_per_incremental'))} vs "
                f"{money(row.get('other_cost_per_incremental'))}",
                fmt_number(row.get("ratio")),
                _ratio_interval(row, "ratio", fmt_number),
                fmt_pvalue(row.get("pvalue")),
                _error(row),
            )
        )
    table = _table(
        "Cost per incremental conversion of one arm against another",
        (
            Column("arm vs arm"),
            *_number_columns("per incr. conversion", "ratio", "ratio CI", "p"),
            Column("note"),
        ),
        rows,
    )
    return Section(
        "cost-comparison",
        "Cost ratio",
        "Cost per incremental conversion between arms",
        "A ratio below 1: the first arm buys an incremental conversion for less. Both arms "
        "are measured against the same holdout, which the interval accounts for.",
        ("cost_comparison",),
        tables=(table,),
    )


_PART_LABELS = {
    "naive_sum": "naive sum of the parts",
    "shrunk_sum": "shrunk sum of the parts (empirical Bayes)",
    "programme": "programme holdout, direct",
}


def _part_label(row: Row) -> Text:
    kind = text_of(row.get("kind"))
    if kind in ("experiment", "skipped"):
        label = text(code(row.get("experiment_id")))
        return label if kind == "skipped" else text(label, " ", _arm_vs_control(row))
    if kind == "programme" and row.get("horizon_days") is not None:
        return text(f"{_PART_LABELS[kind]} at {fmt_count(row.get('horizon_days'))} days")
    return text(_PART_LABELS.get(kind, kind))


def _programme_tables(report: Report) -> tuple[Table, ...]:
    """The decay, sum-of-parts, contamination, drift and attrition tables."""
    decay = _rows(report, "programme_decay")
    parts = _rows(report, "programme_parts")
    health: Row = report.get("programme_health") or {}
    tables = [
        _table(
            "Programme lift by horizon (everyone_else vs global_holdout, outcome window = horizon)",
            (
                Column("metric"),
                *_number_columns(
                    "horizon (days)", "units (arm vs holdout)", "holdout", "everyone else",
                    "effect [CI]", "rel. effect [CI]", "p",
                ),
                Column("method"),
                Column("note"),
            ),
            (
                (
                    code(row.get("metric")),
                    fmt_count(row.get("horizon_days")),
                    f"{fmt_count(row.get('units_treatment'))} vs "
                    f"{fmt_count(row.get('units_control'))}",
                    *_comparison_cells(row),
                    text_of(row.get("method")),
                    _error(row),
                )
                for row in decay
            ),
            tones=["degenerate" if row.get("error") else "" for row in decay],
        ),
        _table(
            "Sum of parts: each experiment inside the programme on the shared metric, scaled "
            "to the programme's population (contribution = effect × treated / population)",
            (
                Column("part"),
                *_number_columns(
                    "treated units", "effect per treated unit [CI]", "shrunk effect",
                    "weight", "contribution [CI]", "shrunk contribution",
                ),
                Column("method"),
                Column("note"),
            ),
            (
                (
                    _part_label(row),
                    fmt_count(row.get("treated_units")),
                    _effect_ci(row),
                    fmt_effect(row.get("shrunk_effect_size")),
                    fmt_number(row.get("weight")),
                    with_interval(
                        fmt_effect(row.get("contribution")),
                        fmt_interval(
                            row.get("contribution_ci_lower"),
                            row.get("contribution_ci_upper"),
                            fmt_effect,
                        ),
                    ),
                    fmt_effect(row.get("shrunk_contribution")),
                    text_of(row.get("method")),
                    text_of(row.get("note")) if row.get("note") else "",
                )
                for row in parts
            ),
            tones=["degenerate" if row.get("kind") == "skipped" else "" for row in parts],
        ),
    ]
    contamination = _rows(health, "contamination")
    tables.extend(
        [
            _table(
            "Contamination: held-out contacts sent a programme message after the start, by "
            "source and sender (counts only)",
            (Column("source"), Column("sent by"), Column("tag"),
             *_number_columns("contacts", "messages"), Column("first sent"),
             Column("last sent")),
            (
                (
                    text_of(row.get("source")),
                    text_of(row.get("sent_by")),
                    code(row.get("tag")) if row.get("tag") else DASH,
                    fmt_count(row.get("contacts")),
                    fmt_count(row.get("messages")),
                    short_time(row.get("first_sent_at")),
                    short_time(row.get("last_sent_at")),
                )
                for row in contamination
            ),
            tones=["breach" for _ in contamination],
            )
        ]
        if contamination
        else []
    )
    drift = _rows(health, "drift")
    tables.append(
        _table(
            "Drift: pre-period balance of the groups still eligible at each month's start",
            (
                *_number_columns("month"), Column("from"), Column("covariate"),
                *_number_columns("units (arm vs holdout)", "holdout", "everyone else",
                                 "SMD", "p"),
                Column("note"),
            ),
            (
                (
                    fmt_count(row.get("month")),
                    short_time(row.get("month_start")),
                    text_of(row.get("covariate")),
                    f"{fmt_count(row.get('units_treatment'))} vs "
                    f"{fmt_count(row.get('units_control'))}",
                    fmt_number(row.get("control_mean")),
                    fmt_number(row.get("treatment_mean")),
                    fmt_smd(row.get("standardized_mean_difference")),
                    _pvalue_or_no_data(row),
                    strong("drifted") if row.get("drifted") else _error(row),
                )
                for row in drift
            ),
            tones=["breach" if row.get("drifted") else "" for row in drift],
        )
    )
    attrition = _rows(health, "attrition")
    tables.append(
        _table(
            "Attrition: units eligible at the start that are not eligible now",
            (Column("group"), *_number_columns("eligible at start", "no longer eligible",
                                               "share"), Column("why (first rule failed now)")),
            (
                (
                    code(row.get("arm")),
                    fmt_count(row.get("eligible_at_start")),
                    fmt_count(row.get("no_longer_eligible")),
                    fmt_share(row.get("share")),
                    ", ".join(
                        f"{text_of(r.get('reason'))} {fmt_count(r.get('units'))}"
                        for r in _rows(row, "by_reason")
                    )
                    or DASH,
                )
                for row in attrition
            ),
        )
    )
    return tuple(tables)


def programme_section(report: Report, with_charts: bool) -> Section | None:
    """A global holdout's decay curve, sum of parts and health checks."""
    health: Row = report.get("programme_health") or {}
    if not _rows(report, "programme_decay") and not _rows(report, "programme_parts") and not health:
        return None
    held = health.get("held_out_units")
    contaminated = health.get("contaminated_contacts")
    from threadlift.analysis.programme import ATTRITION_GAP

    gap = as_float(health.get("attrition_gap"))
    # The labels are flagged (strong, red) only when they report a problem.
    paragraphs = [
        text(
            strong("Contamination:") if as_float(contaminated) else "Contamination:",
            f" {fmt_count(contaminated)} of {fmt_count(held)} held-out contacts "
            f"({fmt_share(health.get('contaminated_share'))}) were sent a programme message "
            "after the start"
            + (" (ALERT: the holdout is contaminated)." if as_float(contaminated) else "."),
        ),
        text(
            strong("Attrition gap:")
            if gap is not None and abs(gap) > ATTRITION_GAP else "Attrition gap:",
            f" global_holdout minus everyone_else {fmt_share(health.get('attrition_gap'))} of "
            "the units eligible at the start.",
        ),
    ]
    svg = _charts().programme_decay_plot(_rows(report, "programme_decay")) if with_charts else None
    return Section(
        "programme",
        "Programme",
        "Programme holdout over months",
        "The whole programme (every message of its category) against the global holdout: "
        "its lift at each horizon since the holdout started, the experiments run inside it "
        "added up (naive, and shrunk for the winner's curse) beside the direct lift, and "
        "the holdout's health (contamination, drift, attrition; thresholds in "
        "docs/programme.md).",
        ("programme_decay", "programme_parts", "programme_health"),
        paragraphs=tuple(paragraphs),
        figure=_figure(
            svg,
            "Dot: everyone_else − global_holdout over the first N days since the holdout "
            "started; bar: its interval.",
        ),
        tables=_programme_tables(report),
    )


def methods_section(report: Report, with_charts: bool) -> Section | None:
    """The methods used, as sentences."""
    methods: Sequence[object] = report.get("methods") or []
    if not methods:
        return None
    return Section(
        "methods",
        "Methods",
        "Methods",
        "How the numbers above were computed.",
        ("methods",),
        items=tuple(text(text_of(method)) for method in methods),
    )


SectionBuilder = Callable[[Report, bool], Section | None]

SECTION_BUILDERS: tuple[SectionBuilder, ...] = (
    arms_section,
    balance_section,
    effects_section,
    exposure_section,
    complier_section,
    cumulative_section,
    funnel_section,
    guardrails_section,
    window_split_section,
    segments_section,
    senders_section,
    templates_section,
    cost_section,
    cost_comparison_section,
    programme_section,
    methods_section,
)
"""Every section, in page order."""


def build_sections(report: Report, *, with_charts: bool = False) -> list[Section]:
    """The report's sections with content, in page order.

    Args:
        report: the report dict, as ``report.json`` holds it.
        with_charts: draw the charts (the HTML page does; Markdown has no use for them).
    """
    return [
        section
        for build in SECTION_BUILDERS
        if (section := build(report, with_charts)) is not None
    ]


@dataclass(frozen=True)
class Page:
    """The whole report: context, verdict, sections."""

    context: Context
    verdict: Verdict
    sections: list[Section] = field(default_factory=list)


def build_page(report: Report, *, with_charts: bool = False) -> Page:
    """Everything an output shows of ``report``."""
    return Page(context(report), verdict(report), build_sections(report, with_charts=with_charts))


@dataclass(frozen=True)
class SharedNumber:
    """A number of the report as every renderer shows it.

    Attributes:
        label: what the number is, e.g. ``metric conversion whatsapp rel_effect_size``.
        value: the value in the report dict (None when missing or not finite).
        text: the formatted string, present verbatim in the Markdown and the HTML.
    """

    label: str
    value: float | None
    text: str


def shared_numbers(report: Report) -> list[SharedNumber]:
    """The headline numbers, formatted, that the Markdown and the HTML both show.

    End-to-end tests check each ``text`` appears in ``report.md`` and in the HTML page,
    and that it equals ``value`` at the precision shown.
    """
    out: list[SharedNumber] = []

    def add(label: str, value: object, fmt: Callable[[object], str]) -> None:
        out.append(SharedNumber(label, as_float(value), fmt(value)))

    for row in _rows(report, "metrics"):
        where = f"metric {row.get('metric')} {row.get('arm')}"
        add(f"{where} effect_size", row.get("effect_size"), fmt_effect)
        add(f"{where} rel_effect_size", row.get("rel_effect_size"), fmt_rel)
        add(f"{where} rel_effect_size_ci_lower", row.get("rel_effect_size_ci_lower"), fmt_rel)
        add(f"{where} rel_effect_size_ci_upper", row.get("rel_effect_size_ci_upper"), fmt_rel)
        add(f"{where} pvalue", row.get("pvalue"), fmt_pvalue)
    srm: Row = report.get("srm") or {}
    add("srm pvalue", srm.get("pvalue"), fmt_pvalue)
    for row in _rows(report, "guardrails"):
        where = f"guardrail {row.get('guardrail')} {row.get('arm')}"
        add(f"{where} effect_size", row.get("effect_size"), fmt_effect)
        add(f"{where} threshold", row.get("threshold"), fmt_effect)
    for row in _rows(report, "balance"):
        where = f"balance {row.get('metric')} {row.get('arm')}"
        add(
            f"{where} standardized_mean_difference",
            row.get("standardized_mean_difference"),
            fmt_smd,
        )
        add(f"{where} pvalue", row.get("pvalue"), fmt_pvalue)
    for row in window_split_rows(report):
        where = f"window_split {row.get('window_state')} {row.get('metric')} {row.get('arm')}"
        add(f"{where} effect_size", row.get("effect_size"), fmt_effect)
        add(f"{where} rel_effect_size", row.get("rel_effect_size"), fmt_rel)
        add(f"{where} pvalue", row.get("pvalue"), fmt_pvalue)
    for row in _rows(report, "cost"):
        where = f"cost {row.get('arm')} {row.get('category')}"
        money = money_formatter(row.get("currency"))
        add(f"{where} cost", row.get("cost"), money)
        add(
            f"{where} cost_per_incremental_conversion",
            row.get("cost_per_incremental_conversion"),
            money,
        )
    return out
