"""Markdown lift report, and the number formatting every report renderer shares.

The report is the plain dict that ``report.json`` holds. The HTML renderer
(:mod:`threadlift.report.html`) imports the formatting helpers and the verdict from
here, so a number reads the same, digit for digit, in the Markdown and the HTML.

Formatting conventions (one place, so JSON, Markdown and HTML agree):

- a missing or non-finite number (``None``, NaN, ±inf) is shown as ``—``;
- counts: integers with thousands separators (``12,345``);
- values and absolute effects: at most four significant digits, trailing zeros
  dropped, never in exponent notation (``0.05234``, ``+0.0032``, ``12.35``);
- relative effects: percent with one decimal and a sign (``+12.3%``);
- shares: percent with two decimals (``10.03%``); funnel rates with one;
- p-values: four decimals, ``<0.0001`` below that;
- money: two decimals and the currency code (``1,234.50 USD``).

Examples:
    >>> fmt_number(0.0123456, signed=True)
    '+0.01235'
    >>> fmt_number(0.0032, signed=True)
    '+0.0032'
    >>> fmt_percent(0.1234, signed=True)
    '+12.3%'
    >>> fmt_pvalue(0.00001)
    '<0.0001'
    >>> fmt_number(None)
    '—'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Report = Mapping[str, Any]
Row = Mapping[str, Any]

DASH = "—"
SIGNIFICANT_DIGITS = 4
MAX_DECIMALS = 6
PVALUE_FLOOR = 0.0001


def as_float(value: object) -> float | None:
    """The value as a finite float, or None when it is missing, not a number or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _strip_negative_zero(text: str) -> str:
    """``-0.000`` → ``0.000``: a rounded zero carries no sign."""
    if text[:1] in "+-" and float(text.replace(",", "")) == 0:
        return text[1:]
    return text


def _strip_trailing_zeros(text: str) -> str:
    """``0.003200`` → ``0.0032``, ``10.00`` → ``10``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_number(value: object, *, signed: bool = False) -> str:
    """Four significant digits, thousands separators, no exponent; ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    decimals = max(0, min(MAX_DECIMALS, SIGNIFICANT_DIGITS - 1 - magnitude))
    sign = "+" if signed else ""
    return _strip_negative_zero(_strip_trailing_zeros(f"{number:{sign},.{decimals}f}"))


def fmt_count(value: object) -> str:
    """An integer count with thousands separators; ``—`` when missing."""
    number = as_float(value)
    return DASH if number is None else f"{round(number):,}"


def fmt_percent(value: object, *, decimals: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage (``0.1234`` → ``12.3%``); ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    sign = "+" if signed else ""
    return _strip_negative_zero(f"{number * 100:{sign},.{decimals}f}") + "%"


def fmt_share(value: object) -> str:
    """A share of units with two decimals (``0.1003`` → ``10.03%``)."""
    return fmt_percent(value, decimals=2)


def fmt_rel(value: object) -> str:
    """A relative effect with a sign and one decimal (``0.1234`` → ``+12.3%``)."""
    return fmt_percent(value, decimals=1, signed=True)


def fmt_effect(value: object) -> str:
    """An absolute effect with a sign and four significant digits."""
    return fmt_number(value, signed=True)


def fmt_pvalue(value: object) -> str:
    """A p-value with four decimals, ``<0.0001`` below that; ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    if number < PVALUE_FLOOR:
        return f"<{PVALUE_FLOOR:.4f}"
    return f"{number:.4f}"


def fmt_smd(value: object) -> str:
    """A standardised mean difference with a sign and three decimals (``+0.012``)."""
    number = as_float(value)
    return DASH if number is None else _strip_negative_zero(f"{number:+.3f}")


def fmt_money(value: object, currency: object = "") -> str:
    """Money with two decimals, thousands separators and the currency code."""
    number = as_float(value)
    if number is None:
        return DASH
    code = "" if currency is None else str(currency)
    return f"{number:,.2f} {code}".strip()


def money_formatter(currency: object) -> Callable[[object], str]:
    """A one-argument formatter of amounts in ``currency``."""
    return lambda value: fmt_money(value, currency)


def fmt_interval(lower: object, upper: object, fmt: Callable[[object], str]) -> str:
    """``[lower, upper]`` formatted with ``fmt``; ``—`` when both ends are missing."""
    if as_float(lower) is None and as_float(upper) is None:
        return DASH
    return f"[{fmt(lower)}, {fmt(upper)}]"


def effect_interval(row: Row) -> str:
    """The interval of a comparison row's ``effect_size``, formatted like the effect."""
    return fmt_interval(row.get("effect_size_ci_lower"), row.get("effect_size_ci_upper"), fmt_effect)


def rel_effect_interval(row: Row) -> str:
    """The interval of a comparison row's ``rel_effect_size``, formatted like it."""
    return fmt_interval(
        row.get("rel_effect_size_ci_lower"), row.get("rel_effect_size_ci_upper"), fmt_rel
    )


def p_clause(value: object) -> str:
    """The p-value as it reads after "p": ``= 0.0312`` or ``<0.0001``."""
    text = fmt_pvalue(value)
    return text if text.startswith("<") else f"= {text}"


def text_of(value: object) -> str:
    """Any value as display text; ``—`` for None."""
    return DASH if value is None else str(value)


def window_split_rows(report: Report) -> list[Row]:
    """The window-split lift rows both renderers show: the primary metric, every arm."""
    split = report.get("window_split") or {}
    rows: Sequence[Row] = split.get("metrics") or []
    if not split.get("reported") or not rows:
        return []
    primary = rows[0].get("metric")
    return [row for row in rows if row.get("metric") == primary]


def short_time(value: object) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC); other text unchanged."""
    text = text_of(value)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", text)
    return f"{match.group(1)} {match.group(2)}" if match else text


def template_changes(report: Report, template: Row) -> list[str]:
    """The events of one template inside the window, as ``EVENT at time`` phrases."""
    section = report.get("template_quality") or {}
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
        if kind == "quality":
            what = f"quality {text_of(event.get('previous'))}→{what}"
        elif kind == "category":
            what = f"category {text_of(event.get('previous'))}→{what}"
        elif event.get("title"):
            what = f"{what} ({text_of(event.get('title'))})"
        phrases.append(f"{what} at {short_time(event.get('ts'))}")
    return phrases


def template_states(template: Row, kind: str) -> str:
    """``START → END`` of one kind of template state (``—`` where unknown)."""
    start, end = template.get(f"{kind}_at_start"), template.get(f"{kind}_at_end")
    if start == end:
        return text_of(start)
    return f"{text_of(start)} → {text_of(end)}"


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

    for row in report.get("metrics") or []:
        where = f"metric {row.get('metric')} {row.get('arm')}"
        add(f"{where} effect_size", row.get("effect_size"), fmt_effect)
        add(f"{where} rel_effect_size", row.get("rel_effect_size"), fmt_rel)
        add(f"{where} rel_effect_size_ci_lower", row.get("rel_effect_size_ci_lower"), fmt_rel)
        add(f"{where} rel_effect_size_ci_upper", row.get("rel_effect_size_ci_upper"), fmt_rel)
        add(f"{where} pvalue", row.get("pvalue"), fmt_pvalue)
    srm = report.get("srm") or {}
    add("srm pvalue", srm.get("pvalue"), fmt_pvalue)
    for row in report.get("guardrails") or []:
        where = f"guardrail {row.get('guardrail')} {row.get('arm')}"
        add(f"{where} effect_size", row.get("effect_size"), fmt_effect)
        add(f"{where} threshold", row.get("threshold"), fmt_effect)
    for row in report.get("balance") or []:
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
    for row in report.get("cost") or []:
        where = f"cost {row.get('arm')} {row.get('category')}"
        money = money_formatter(row.get("currency"))
        add(f"{where} cost", row.get("cost"), money)
        add(
            f"{where} cost_per_incremental_conversion",
            row.get("cost_per_incremental_conversion"),
            money,
        )
    return out


@dataclass(frozen=True)
class Verdict:
    """The plain-words summary at the top of every report.

    Attributes:
        alerting: True when the result must not be acted on (SRM, guardrail breach,
            or the report's status is ``alert``).
        headline: one line: OK or ALERT and what it means.
        findings: one sentence per treatment arm on the primary (first) metric.
        checks: one sentence for the sample-ratio check and one for the guardrails.
    """

    alerting: bool
    headline: str
    findings: tuple[str, ...]
    checks: tuple[str, ...]


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


def _guardrail_checks(guardrails: Sequence[Row]) -> tuple[list[str], bool]:
    """Sentences on the guardrails and whether any was breached."""
    breached = [row for row in guardrails if row.get("breached")]
    if not guardrails:
        return ["No guardrails defined."], False
    if not breached:
        return [f"No guardrail breached ({len(guardrails)} checked)."], False
    return [
        f"Guardrail breached: {text_of(row.get('guardrail'))} for {text_of(row.get('arm'))} "
        f"changed by {fmt_effect(row.get('effect_size'))} (upper bound "
        f"{fmt_effect(row.get('effect_size_ci_upper'))}) against an allowed increase of "
        f"{fmt_effect(row.get('threshold'))}."
        for row in breached
    ], True


def primary_rows(report: Report) -> list[Row]:
    """The rows of the primary metric (the first metric listed), one per treatment arm."""
    metrics: Sequence[Row] = report.get("metrics") or []
    if not metrics:
        return []
    primary = metrics[0].get("metric")
    return [row for row in metrics if row.get("metric") == primary]


def verdict(report: Report) -> Verdict:
    """What the report says, in plain words, and whether it is alerting."""
    findings = tuple(_finding(row) for row in primary_rows(report)) or ("No metric was measured.",)
    srm_text, srm_failed = _srm_check(report.get("srm") or {})
    guard_texts, breached = _guardrail_checks(report.get("guardrails") or [])
    alerting = srm_failed or breached or report.get("status") == "alert"
    if alerting:
        headline = "ALERT: do not act on this result until the problems below are explained."
    else:
        headline = "OK: arm sizes and guardrails passed their checks."
    skipped = report.get("skipped_sections") or []
    skipped_texts = (
        (
            "Core report: not computed here: " + ", ".join(str(name) for name in skipped)
            + " (run the report without --core for them).",
        )
        if skipped
        else ()
    )
    return Verdict(alerting, headline, findings, (srm_text, *guard_texts, *skipped_texts))


_MD_MARKUP = re.compile(
    r"[\\`*\[\]|#]"  # always markup
    r"|<(?=[A-Za-z/!?])"  # the start of an HTML tag or comment; "<0.0001" is not
    r"|>"
    r"|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"  # emphasis; "block_rate" is not
)


def md_text(value: object) -> str:
    r"""Free text made safe for Markdown: markup characters escaped, one line.

    Examples:
        >>> print(md_text("block_rate rose by *2x* <b>"))
        block_rate rose by \*2x\* \<b\>
        >>> print(md_text("p <0.0001"))
        p <0.0001
    """
    text = " ".join(text_of(value).split())
    return _MD_MARKUP.sub(lambda match: "\\" + match.group(0), text)


def md_code(value: object) -> str:
    """An identifier as a Markdown code span, safe inside a table cell."""
    text = " ".join(text_of(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _with_interval(value: str, interval: str) -> str:
    """A value followed by its interval, or the value alone when there is no interval."""
    return value if interval == DASH else f"{value} {interval}"


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; cells are already escaped."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in rows]
    return lines


def _metric_table(metrics: Sequence[Row]) -> list[str]:
    """The metrics, one row per metric and treatment arm."""
    with_adjusted = any(as_float(row.get("pvalue_adjusted")) is not None for row in metrics)
    headers = [
        "metric",
        "arm vs control",
        "control",
        "treatment",
        "effect [CI]",
        "rel. effect [CI]",
        "p",
    ]
    if with_adjusted:
        headers.append("p adj.")
    headers.append("note")
    rows = []
    for row in metrics:
        cells = [
            md_code(row.get("metric")),
            f"{md_code(row.get('arm'))} vs {md_code(row.get('control_arm'))}",
            fmt_number(row.get("control")),
            fmt_number(row.get("treatment")),
            _with_interval(
                fmt_effect(row.get("effect_size")),
                effect_interval(row),
            ),
            _with_interval(
                fmt_rel(row.get("rel_effect_size")),
                rel_effect_interval(row),
            ),
            fmt_pvalue(row.get("pvalue")),
        ]
        if with_adjusted:
            cells.append(fmt_pvalue(row.get("pvalue_adjusted")))
        cells.append(f"**{md_text(row['error'])}**" if row.get("error") else "")
        rows.append(cells)
    return _md_table(headers, rows)


def _guardrail_table(guardrails: Sequence[Row]) -> list[str]:
    """The guardrails against their allowed increase; breaches in bold."""
    headers = [
        "guardrail",
        "arm",
        "control",
        "treatment",
        "effect",
        "upper bound",
        "allowed",
        "p",
        "status",
    ]
    rows = [
        [
            md_code(row.get("guardrail")),
            md_code(row.get("arm")),
            fmt_number(row.get("control")),
            fmt_number(row.get("treatment")),
            fmt_effect(row.get("effect_size")),
            fmt_effect(row.get("effect_size_ci_upper")),
            fmt_effect(row.get("threshold")),
            fmt_pvalue(row.get("pvalue")),
            "**BREACHED**" if row.get("breached") else "ok",
        ]
        for row in guardrails
    ]
    return _md_table(headers, rows)


def _srm_lines(report: Report) -> list[str]:
    """Arm sizes against the design, and the sample-ratio test."""
    srm = report.get("srm") or {}
    passed = srm.get("passed", True)
    status = "passed" if passed else "**FAILED**"
    line = f"Sample-ratio check {status} (p {p_clause(srm.get('pvalue'))})."
    rows = [
        [
            md_code(row.get("arm")) + (" (holdout)" if row.get("holdout") else ""),
            fmt_count(row.get("units")),
            fmt_share(row.get("expected_share")),
            fmt_share(row.get("observed_share")),
        ]
        for row in report.get("arms") or []
    ]
    return [line, "", *_md_table(["arm", "units", "expected", "observed"], rows)]


def _cost_table(cost: Sequence[Row]) -> list[str]:
    """What the sends cost and what one incremental conversion cost."""
    headers = [
        "arm",
        "category",
        "billed",
        "cost",
        "incr. conversions",
        "per incr. conversion [CI]",
    ]
    rows = []
    for row in cost:
        money = money_formatter(row.get("currency"))
        rows.append(
            [
                md_code(row.get("arm")),
                md_code(row.get("category")),
                fmt_count(row.get("messages_billed")),
                money(row.get("cost")),
                fmt_number(row.get("incremental_conversions")),
                _with_interval(
                    money(row.get("cost_per_incremental_conversion")),
                    fmt_interval(
                        row.get("cost_per_incremental_conversion_ci_lower"),
                        row.get("cost_per_incremental_conversion_ci_upper"),
                        money,
                    ),
                ),
            ]
        )
    return _md_table(headers, rows)


COST_COMPARISON_HEADERS = ("arm vs arm", "per incr. conversion", "ratio", "ratio CI", "p")


def cost_comparison_cells(row: Row) -> tuple[str, str, str, str, str]:
    """Plain-text cells of one ``cost_comparison`` row, shared by Markdown and HTML."""
    money = money_formatter(row.get("currency"))
    return (
        f"{text_of(row.get('arm'))} ({text_of(row.get('channel'))}) vs "
        f"{text_of(row.get('other_arm'))} ({text_of(row.get('other_channel'))})",
        f"{money(row.get('cost_per_incremental'))} vs "
        f"{money(row.get('other_cost_per_incremental'))}",
        fmt_number(row.get("ratio")),
        fmt_interval(row.get("ratio_ci_lower"), row.get("ratio_ci_upper"), fmt_number),
        fmt_pvalue(row.get("pvalue")),
    )


def _cost_comparison_table(rows: Sequence[Row]) -> list[str]:
    """Each pair of arms' cost per incremental conversion, as a ratio with its interval."""
    return _md_table(
        COST_COMPARISON_HEADERS,
        [[md_text(cell) for cell in cost_comparison_cells(row)] for row in rows],
    )


def balance_number_cells(row: Row) -> tuple[str, str, str, str]:
    """Control mean, treatment mean, standardised difference and p of one ``balance`` row,
    formatted once for Markdown and HTML."""
    return (
        fmt_number(row.get("control_mean")),
        fmt_number(row.get("treatment_mean")),
        fmt_smd(row.get("standardized_mean_difference")),
        fmt_pvalue(row.get("pvalue")),
    )


def _balance_table(balance: Sequence[Row]) -> list[str]:
    """Pre-period balance of each CUPED covariate."""
    headers = ["covariate", "arm vs control", "control mean", "treatment mean", "std. diff.", "p"]
    rows = [
        [
            md_text(row.get("covariate")),
            f"{md_code(row.get('arm'))} vs {md_code(row.get('control_arm'))}",
            *balance_number_cells(row),
        ]
        for row in balance
    ]
    return _md_table(headers, rows)


def _template_lines(section: Row, report: Report) -> list[str]:
    """Template status, quality and category over the experiment window."""
    if not section.get("available", True):
        return [md_text(section.get("note"))]
    templates: Sequence[Row] = section.get("templates") or []
    window = (
        f"Window {md_text(short_time(section.get('window_start')))} to "
        f"{md_text(short_time(section.get('window_end')))} UTC."
    )
    if not templates:
        return [window, "", "The experiment sent no templates."]
    headers = ["template", "messages", "quality", "status", "category", "in the window"]
    rows = [
        [
            md_code(row.get("template"))
            + (f" ({md_text(row.get('language'))})" if row.get("language") else ""),
            fmt_count(row.get("messages")),
            md_text(template_states(row, "quality")),
            md_text(template_states(row, "status")),
            md_text(template_states(row, "category")),
            md_text("; ".join(template_changes(report, row)) or "no change"),
        ]
        for row in templates
    ]
    note = ["", md_text(section.get("note"))] if section.get("note") else []
    return [window, "", *_md_table(headers, rows), *note]


def _window_split_lines(split: Row) -> list[str]:
    """Lift by customer-service-window state at assignment, or why it is not split."""
    if not split.get("reported"):
        return [md_text(split.get("note") or "Not split.")]
    shares = {
        text_of(row.get("window_state")): row
        for row in split.get("strata") or []
        if not row.get("holdout")
    }
    headers = [
        "window at assignment",
        "arm vs control",
        "units (arm vs control)",
        "session share",
        "effect [CI]",
        "rel. effect [CI]",
        "p",
    ]
    rows = []
    for row in window_split_rows({"window_split": split}):
        stratum = shares.get(text_of(row.get("window_state")), {})
        rows.append(
            [
                md_text(row.get("window_state")),
                f"{md_code(row.get('arm'))} vs {md_code(row.get('control_arm'))}",
                f"{fmt_count(row.get('treatment_units'))} vs {fmt_count(row.get('control_units'))}",
                fmt_share(stratum.get("session_share")),
                _with_interval(
                    fmt_effect(row.get("effect_size")),
                    effect_interval(row),
                ),
                _with_interval(
                    fmt_rel(row.get("rel_effect_size")),
                    rel_effect_interval(row),
                ),
                fmt_pvalue(row.get("pvalue")),
            ]
        )
    metric = rows and window_split_rows({"window_split": split})[0].get("metric")
    lead = f"{md_code(metric)} by whether a customer-service window was open at assignment."
    return [lead, "", *_md_table(headers, rows)]


def render_markdown(report: Report) -> str:
    """The report as Markdown short enough to paste into a chat.

    Args:
        report: the report dict, as ``report.json`` holds it.

    Returns:
        Markdown text: the verdict, alerts in bold, the metric table, guardrails,
        the sample-ratio check, pre-period balance, the lift by 24-hour window state,
        template quality and the cost, with the numbers formatted exactly as in the HTML
        report.
    """
    summary = verdict(report)
    title = f"# Lift report: {md_code(report.get('experiment_id'))}"
    context = " · ".join(
        part
        for part in (
            f"as of {md_text(report.get('as_of'))}",
            md_text(report.get("channel")) if report.get("channel") else "",
            md_text(report.get("category")) if report.get("category") else "",
            f"window {fmt_count(report.get('window_days'))} days",
        )
        if part
    )
    lines = [title, "", context, ""]
    headline = md_text(summary.headline)
    lines.append(f"**{headline}**" if summary.alerting else headline)
    lines.append("")
    lines += [f"- {md_text(text)}" for text in (*summary.findings, *summary.checks)]
    alerts: Sequence[Row] = report.get("alerts") or []
    if alerts:
        lines += ["", "**Alerts**", ""]
        lines += [
            f"- **{md_text(alert.get('kind'))}: {md_text(alert.get('message'))}**"
            for alert in alerts
        ]
    metrics: Sequence[Row] = report.get("metrics") or []
    if metrics:
        lines += ["", "## Metrics", "", *_metric_table(metrics)]
    guardrails: Sequence[Row] = report.get("guardrails") or []
    if guardrails:
        lines += ["", "## Guardrails", "", *_guardrail_table(guardrails)]
    lines += ["", "## Sample ratio", "", *_srm_lines(report)]
    balance: Sequence[Row] = report.get("balance") or []
    if balance:
        lines += ["", "## Pre-period balance", "", *_balance_table(balance)]
    split = report.get("window_split")
    if split:
        lines += ["", "## Lift by 24-hour window at assignment", "", *_window_split_lines(split)]
    template_quality = report.get("template_quality")
    if template_quality:
        lines += ["", "## Template quality", "", *_template_lines(template_quality, report)]
    cost: Sequence[Row] = report.get("cost") or []
    if cost:
        lines += ["", "## Cost", "", *_cost_table(cost)]
    compared: Sequence[Row] = report.get("cost_comparison") or []
    if compared:
        lines += [
            "",
            "## Cost per incremental conversion between arms",
            "",
            "A ratio below 1: the first arm buys an incremental conversion for less.",
            "",
            *_cost_comparison_table(compared),
        ]
    return "\n".join(lines) + "\n"
