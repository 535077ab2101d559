"""HTML lift report: one self-contained file that opens offline.

The page has no script, no external stylesheet, font or image: CSS is inline and the
charts are inline SVG from :mod:`threadlift.report.charts`. Every chart has a table next to it
so the numbers are in the page's text, formatted by the same helpers as the Markdown
report (:mod:`threadlift.report.markdown`). All text from the report is escaped.
Rendering is deterministic: the same dict gives the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from threadlift.report import charts
from threadlift.report.markdown import (
    COST_COMPARISON_HEADERS,
    Report,
    Row,
    as_float,
    balance_number_cells,
    cost_comparison_cells,
    effect_interval,
    fmt_count,
    fmt_effect,
    fmt_interval,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    fmt_rel,
    fmt_share,
    money_formatter,
    p_clause,
    rel_effect_interval,
    short_time,
    template_changes,
    template_states,
    text_of,
    verdict,
)

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --alert: #b42318;
  --alert-bg: #fdecea; --ok: #1b7f4b; --ok-bg: #e8f5ee; --panel: #f8f9fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; word-break: break-word; }
h3 { font-size: 1rem; margin: 18px 0 6px; }
h2 { font-size: 1.2rem; margin: 36px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
.context { color: var(--muted); margin: 0 0 16px; }
nav { font-size: .9rem; margin: 0 0 18px; }
nav a { color: var(--muted); margin-right: 12px; }
.verdict { border: 2px solid var(--ok); background: var(--ok-bg); border-radius: 8px; padding: 14px 18px; }
.verdict.alert { border-color: var(--alert); background: var(--alert-bg); }
.verdict .headline { font-size: 1.15rem; font-weight: 700; margin: 0 0 8px; color: var(--ok); }
.verdict.alert .headline { color: var(--alert); }
.verdict ul { margin: 6px 0 0; padding-left: 20px; }
.finding { font-size: 1.05rem; }
.alerts { margin: 12px 0 0; padding: 0; list-style: none; }
.alerts li { color: var(--alert); font-weight: 600; margin: 4px 0; }
.lead { color: var(--muted); margin: 0 0 10px; max-width: 70ch; }
figure { margin: 10px 0 12px; }
svg.chart { max-width: 100%; height: auto; display: block; }
.table { overflow-x: auto; margin: 8px 0 4px; }
table { border-collapse: collapse; font-size: .86rem; width: 100%; }
caption { text-align: left; color: var(--muted); padding: 4px 0; font-size: .85rem; }
th, td { overflow-wrap: anywhere; padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.breach td { background: var(--alert-bg); color: var(--alert); font-weight: 600; }
tr.degenerate td { color: var(--muted); }
.error { color: var(--alert); }
.empty { color: var(--muted); font-style: italic; }
details { margin: 6px 0; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: .85rem; }
"""

Cell = str


def _e(value: object) -> str:
    """Escaped display text of any value."""
    return html.escape(text_of(value), quote=True)


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    numeric: frozenset[int] = frozenset(),
    row_classes: Sequence[str] | None = None,
) -> str:
    """An accessible table; cells are plain text and escaped here."""

    def cell(tag: str, index: int, text: str) -> str:
        css = ' class="num"' if index in numeric else ""
        scope = ' scope="col"' if tag == "th" else ""
        return f"<{tag}{css}{scope}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", index, text) for index, text in enumerate(headers))
    body = []
    for position, row in enumerate(rows):
        css = row_classes[position] if row_classes else ""
        attr = f' class="{css}"' if css else ""
        body.append(f"<tr{attr}>" + "".join(cell("td", i, t) for i, t in enumerate(row)) + "</tr>")
    return (
        f'<div class="table"><table><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _figure(svg: str | None, caption: str) -> str:
    """A chart with its caption, or nothing when there is no chart."""
    if svg is None:
        return ""
    return f'<figure>{svg}<figcaption class="lead">{html.escape(caption)}</figcaption></figure>'


def _section(anchor: str, title: str, lead: str, body: str) -> str:
    """One titled section of the page."""
    return (
        f'<section id="{anchor}"><h2>{html.escape(title)}</h2>'
        f'<p class="lead">{html.escape(lead)}</p>{body}</section>'
    )


def _empty(what: str) -> str:
    """The placeholder of a section without rows."""
    return f'<p class="empty">{html.escape(what)}</p>'


def _verdict(report: Report) -> str:
    """The verdict box: headline, findings on the primary metric, checks, alerts."""
    summary = verdict(report)
    css = "verdict alert" if summary.alerting else "verdict"
    findings = "".join(f'<li class="finding">{html.escape(t)}</li>' for t in summary.findings)
    checks = "".join(f"<li>{html.escape(t)}</li>" for t in summary.checks)
    alerts: Sequence[Row] = report.get("alerts") or []
    alert_items = "".join(
        f"<li>{_e(alert.get('kind'))}: {_e(alert.get('message'))}</li>" for alert in alerts
    )
    alert_list = f'<ul class="alerts" aria-label="alerts">{alert_items}</ul>' if alerts else ""
    return (
        f'<section id="verdict" class="{css}" aria-label="verdict">'
        f'<p class="headline">{html.escape(summary.headline)}</p>'
        f"<ul>{findings}{checks}</ul>{alert_list}</section>"
    )


def _arms(report: Report) -> str:
    """Arm sizes against the design and the sample-ratio test."""
    srm = report.get("srm") or {}
    arms: Sequence[Row] = report.get("arms") or []
    passed = srm.get("passed", True)
    status = "passed" if passed else "FAILED"
    alpha = as_float(srm.get("alpha"))
    alpha_text = f" at α = {fmt_number(alpha)}" if alpha is not None else ""
    line = (
        f"Sample-ratio check {status}{alpha_text}: p {p_clause(srm.get('pvalue'))}, "
        f"χ² = {fmt_number(srm.get('statistic'))}."
    )
    css = "error" if not passed else ""
    rows = [
        [
            text_of(row.get("arm")),
            "yes" if row.get("holdout") else "no",
            fmt_count(row.get("units")),
            fmt_number(row.get("weight")),
            fmt_share(row.get("expected_share")),
            fmt_share(row.get("observed_share")),
        ]
        for row in arms
    ]
    table = (
        _table(
            "Units assigned to each arm, expected and observed shares",
            ["arm", "holdout", "units", "weight", "expected share", "observed share"],
            rows,
            numeric=frozenset({2, 3, 4, 5}),
        )
        if rows
        else _empty("No arms.")
    )
    body = f'<p class="{css}">{html.escape(line)}</p>{table}'
    return _section(
        "arms",
        "Arms and sample ratio",
        "Before any lift is read, the arm sizes must match the design; a mismatch means "
        "assignment or logging is broken.",
        body,
    )


def _effects(report: Report) -> str:
    """Forest plot and table of every metric."""
    metrics: Sequence[Row] = report.get("metrics") or []
    if not metrics:
        return _section("effects", "Effects", "Intent-to-treat effects.", _empty("No metrics."))
    rows = [
        [
            f"{text_of(row.get('metric'))} ({text_of(row.get('type'))})",
            f"{text_of(row.get('arm'))} vs {text_of(row.get('control_arm'))}",
            fmt_number(row.get("control")),
            fmt_number(row.get("treatment")),
            fmt_effect(row.get("effect_size")),
            effect_interval(row),
            fmt_rel(row.get("rel_effect_size")),
            rel_effect_interval(row),
            fmt_pvalue(row.get("pvalue")),
            fmt_pvalue(row.get("pvalue_adjusted")),
            text_of(row.get("method"))
            + (f"; error: {text_of(row.get('error'))}" if row.get("error") else ""),
        ]
        for row in metrics
    ]
    table = _table(
        "Every metric, treatment arm against control (intent to treat)",
        [
            "metric (type)",
            "arm vs control",
            "control",
            "treatment",
            "effect",
            "effect interval",
            "rel. effect",
            "rel. interval",
            "p",
            "p adj.",
            "method",
        ],
        rows,
        numeric=frozenset(range(2, 10)),
        row_classes=["degenerate" if row.get("error") else "" for row in metrics],
    )
    figure = _figure(
        charts.forest_plot(metrics),
        "Dot: relative effect (treatment ÷ control − 1); bar: its interval. Green when the "
        "whole interval is above zero, red when below, blue when it includes zero.",
    )
    return _section(
        "effects",
        "Effects of every metric",
        "Everyone assigned to a treatment arm against everyone assigned to the holdout, "
        "both counted from assignment (intent to treat).",
        figure + table,
    )


def _complier(report: Report) -> str:
    """Effects on those delivered or read (instrumental-variable estimates)."""
    complier: Sequence[Row] = report.get("complier") or []
    if not complier:
        return ""
    rows = [
        [
            text_of(row.get("metric")),
            text_of(row.get("arm")),
            text_of(row.get("stage")),
            fmt_share(row.get("share")),
            fmt_effect(row.get("effect_size")),
            effect_interval(row),
            text_of(row.get("method")),
        ]
        for row in complier
    ]
    table = _table(
        "Effect on units whose message was delivered or read",
        ["metric", "arm", "stage", "share reached", "effect", "interval", "method"],
        rows,
        numeric=frozenset({3, 4, 5}),
    )
    return _section(
        "complier",
        "Effect on those reached",
        "Instrumental-variable (complier) estimates: the intent-to-treat effect divided by "
        "the share of the arm that was delivered or read. Never a comparison of readers "
        "with the holdout.",
        table,
    )


def _cumulative(report: Report) -> str:
    """Cumulative effect by day since assignment: chart and a folded table."""
    cumulative: Sequence[Row] = report.get("cumulative") or []
    lead = (
        "The effect measured over the first N days after each unit's assignment. A line "
        "that settles shows a stable effect; a band that still crosses zero shows it is "
        "not yet distinguishable from none."
    )
    if not cumulative:
        return _section("cumulative", "Cumulative lift", lead, _empty("No daily estimates."))
    rows = [
        [
            text_of(row.get("metric")),
            f"{text_of(row.get('arm'))} vs {text_of(row.get('control_arm'))}",
            fmt_count(row.get("day")),
            fmt_effect(row.get("effect_size")),
            effect_interval(row),
        ]
        for row in cumulative
    ]
    table = _table(
        "Cumulative effect by day since assignment",
        ["metric", "arm vs control", "day", "effect", "interval"],
        rows,
        numeric=frozenset({2, 3, 4}),
    )
    figure = _figure(
        charts.cumulative_plot(cumulative),
        "Line: effect (treatment − control) up to each day; band: its interval.",
    )
    body = f"{figure}<details><summary>Daily numbers</summary>{table}</details>"
    return _section("cumulative", "Cumulative lift by day since assignment", lead, body)


def _funnel(report: Report) -> str:
    """The funnel by arm: chart and counts."""
    funnel: Sequence[Row] = report.get("funnel") or []
    lead = (
        "How many assigned units were sent a message, had it delivered, read it, replied, "
        "and converted. The holdout is sent nothing, yet it converts: that is the baseline."
    )
    if not funnel:
        return _section("funnel", "Funnel by arm", lead, _empty("No funnel."))

    def count_and_share(row: Row, key: str) -> str:
        units = as_float(row.get("units"))
        value = as_float(row.get(key))
        share = value / units if value is not None and units else None
        return (
            f"{fmt_count(value)} ({fmt_percent(share)})" if share is not None else fmt_count(value)
        )

    rows = [
        [
            text_of(row.get("arm")),
            fmt_count(row.get("units")),
            *(
                count_and_share(row, key)
                for key in ("sent", "delivered", "read", "replied", "converted", "failed")
            ),
        ]
        for row in funnel
    ]
    table = _table(
        "Units at each stage (share of assigned)",
        ["arm", "assigned", "sent", "delivered", "read", "replied", "converted", "failed"],
        rows,
        numeric=frozenset(range(1, 8)),
    )
    figure = _figure(charts.funnel_plot(funnel), "Bars: share of assigned units at each stage.")
    return _section("funnel", "Funnel by arm", lead, figure + table)


def _guardrails(report: Report) -> str:
    """Guardrails against their allowed increase; breaches in red."""
    guardrails: Sequence[Row] = report.get("guardrails") or []
    lead = (
        "Harms that cap a sender's future reach. A guardrail is breached when the upper "
        "bound of its increase exceeds the allowed increase."
    )
    if not guardrails:
        return _section("guardrails", "Guardrails", lead, _empty("No guardrails defined."))
    rows = [
        [
            text_of(row.get("guardrail")),
            text_of(row.get("kind")),
            text_of(row.get("arm")),
            fmt_number(row.get("control")),
            fmt_number(row.get("treatment")),
            fmt_effect(row.get("effect_size")),
            fmt_effect(row.get("effect_size_ci_upper")),
            fmt_effect(row.get("threshold")),
            fmt_pvalue(row.get("pvalue")),
            "BREACHED" if row.get("breached") else "ok",
        ]
        for row in guardrails
    ]
    table = _table(
        "Guardrails: change against the allowed increase",
        [
            "guardrail",
            "kind",
            "arm",
            "control",
            "treatment",
            "change",
            "upper bound",
            "allowed",
            "p",
            "status",
        ],
        rows,
        numeric=frozenset(range(3, 9)),
        row_classes=["breach" if row.get("breached") else "" for row in guardrails],
    )
    figure = _figure(
        charts.guardrail_plot(guardrails),
        "Dot: change; bar: up to its upper bound; red tick: allowed increase. Red rows are breaches.",
    )
    return _section("guardrails", "Guardrails", lead, figure + table)


def _sender_quality(report: Report) -> str:
    """Sender quality rating and messaging-limit tier over time: chart and table."""
    events: Sequence[Row] = report.get("sender_quality") or []
    if not events:
        return _empty("No sender quality events.")
    rows = [
        [
            text_of(row.get("sender_id")),
            text_of(row.get("ts")),
            text_of(row.get("quality_rating")),
            text_of(row.get("messaging_limit_tier")),
            text_of(row.get("event")),
        ]
        for row in events
    ]
    qualities = [text_of(row.get("quality_rating")).upper() for row in events]
    table = _table(
        "Sender quality events",
        ["sender", "time (UTC)", "quality rating", "messaging-limit tier", "event"],
        rows,
        row_classes=["breach" if quality == "RED" else "" for quality in qualities],
    )
    figure = _figure(
        charts.sender_quality_plot(
            events, start=report.get("assigned_at"), end=report.get("as_of")
        ),
        "Top: quality rating (marker colour = rating); bottom: messaging-limit tier.",
    )
    return figure + table


_TEMPLATE_ALARMS = frozenset({"PAUSED", "DISABLED", "FLAGGED", "RED"})


def _template_quality(report: Report) -> str:
    """Template status, quality and category over the experiment window."""
    section = report.get("template_quality") or {}
    if not section:
        return ""
    if not section.get("available", True):
        return _empty(text_of(section.get("note")))
    templates: Sequence[Row] = section.get("templates") or []
    window = (
        f"Experiment window {short_time(section.get('window_start'))} to "
        f"{short_time(section.get('window_end'))} UTC."
    )
    if not templates:
        return f'<p class="lead">{html.escape(window)}</p>' + _empty(
            "The experiment sent no templates."
        )
    rows = [
        [
            text_of(row.get("template"))
            + (f" ({text_of(row.get('language'))})" if row.get("language") else ""),
            fmt_count(row.get("messages")),
            template_states(row, "quality"),
            template_states(row, "status"),
            template_states(row, "category"),
            "; ".join(template_changes(report, row)) or "no change",
        ]
        for row in templates
    ]
    alarming = [
        bool(row.get("alarms") or row.get("pauses"))
        or text_of(row.get("quality_at_end")) in _TEMPLATE_ALARMS
        for row in templates
    ]
    table = _table(
        "Templates the experiment sent: state at the window's start → end, and changes inside it",
        ["template", "messages", "quality", "status", "category", "in the window (UTC)"],
        rows,
        numeric=frozenset({1}),
        row_classes=["breach" if alarm else "" for alarm in alarming],
    )
    figure = _figure(
        charts.template_quality_plot(section),
        "Upper band: quality rating in force (grey until the first known rating); lower "
        "band: paused; markers: status and category events.",
    )
    note = _empty(text_of(section.get("note"))) if section.get("note") else ""
    return f'<p class="lead">{html.escape(window)}</p>{figure}{table}{note}'


def _quality(report: Report) -> str:
    """Sender and template quality over time."""
    lead = (
        "The platform's quality rating (GREEN, YELLOW, RED) and messaging-limit tier of each "
        "sender, and the status, quality and category of each template the experiment sent. "
        "A drop in quality or tier limits how many people the sender can reach next; a "
        "paused template is not delivered."
    )
    templates = _template_quality(report)
    body = "<h3>Senders</h3>" + _sender_quality(report)
    if templates:
        body += "<h3>Templates</h3>" + templates
    return _section("quality", "Sender and template quality timeline", lead, body)


def _balance(report: Report) -> str:
    """Pre-period balance of each CUPED covariate between arms."""
    balance: Sequence[Row] = report.get("balance") or []
    if not balance:
        return ""
    rows = [
        [
            text_of(row.get("covariate")),
            f"{text_of(row.get('arm'))} vs {text_of(row.get('control_arm'))}",
            *balance_number_cells(row),
            text_of(row.get("error")) if row.get("error") else "",
        ]
        for row in balance
    ]
    table = _table(
        "Pre-period covariates by arm",
        [
            "covariate",
            "arm vs control",
            "control mean",
            "treatment mean",
            "std. diff.",
            "p",
            "note",
        ],
        rows,
        numeric=frozenset({2, 3, 4, 5}),
    )
    return _section(
        "balance",
        "Pre-period balance",
        "The covariates CUPED adjusts for, measured before assignment: randomisation makes "
        "them differ by chance only (standardised difference near zero).",
        table,
    )


def _window_split(report: Report) -> str:
    """Lift split by the customer-service-window state at assignment."""
    split = report.get("window_split") or {}
    if not split:
        return ""
    lead = (
        "Units split by whether the contact had an open 24-hour customer-service window at "
        "assignment (it wrote in during the 24 hours before): a state known before treatment "
        "in every arm, so each stratum is still a randomised comparison. Splitting by the kind "
        "of message received would not be: the holdout receives none."
    )
    if not split.get("reported"):
        return _section(
            "window-split", "Lift by 24-hour window", lead, _empty(text_of(split.get("note")))
        )
    strata: Sequence[Row] = split.get("strata") or []
    strata_table = _table(
        "Units and sends per stratum and arm",
        [
            "window at assignment",
            "arm",
            "units",
            "units sent",
            "messages",
            "session",
            "template",
            "session share",
        ],
        [
            [
                text_of(row.get("window_state")),
                text_of(row.get("arm")),
                fmt_count(row.get("units")),
                fmt_count(row.get("units_sent")),
                fmt_count(row.get("messages")),
                fmt_count(row.get("session_messages")),
                fmt_count(row.get("template_messages")),
                fmt_share(row.get("session_share")),
            ]
            for row in strata
        ],
        numeric=frozenset(range(2, 8)),
    )
    metrics: Sequence[Row] = split.get("metrics") or []
    lift_table = _table(
        "Effect per stratum (intent to treat within the stratum)",
        [
            "window at assignment",
            "metric",
            "arm vs control",
            "units (arm vs control)",
            "effect",
            "interval",
            "rel. effect",
            "rel. interval",
            "p",
            "open − closed (p)",
        ],
        [
            [
                text_of(row.get("window_state")),
                text_of(row.get("metric")),
                f"{text_of(row.get('arm'))} vs {text_of(row.get('control_arm'))}",
                f"{fmt_count(row.get('treatment_units'))} vs {fmt_count(row.get('control_units'))}",
                fmt_effect(row.get("effect_size")),
                effect_interval(row),
                fmt_rel(row.get("rel_effect_size")),
                rel_effect_interval(row),
                fmt_pvalue(row.get("pvalue")),
                f"{fmt_effect(row.get('effect_difference_open_minus_closed'))} "
                f"(p {p_clause(row.get('effect_difference_pvalue'))})",
            ]
            for row in metrics
        ],
        numeric=frozenset(range(3, 10)),
    )
    return _section(
        "window-split", "Lift by 24-hour window at assignment", lead, lift_table + strata_table
    )


def _cost(report: Report) -> str:
    """What the sends cost and what one incremental conversion cost."""
    cost: Sequence[Row] = report.get("cost") or []
    lead = (
        "Billed messages priced by category and market, divided by the conversions the "
        "messages added over the holdout."
    )
    if not cost:
        return _section("cost", "Cost", lead, _empty("No cost data."))
    rows = []
    for row in cost:
        money = money_formatter(row.get("currency"))
        rows.append(
            [
                text_of(row.get("arm")),
                text_of(row.get("category")),
                fmt_count(row.get("messages_billed")),
                money(row.get("cost")),
                fmt_number(row.get("incremental_conversions")),
                money(row.get("cost_per_incremental_conversion")),
                fmt_interval(
                    row.get("cost_per_incremental_conversion_ci_lower"),
                    row.get("cost_per_incremental_conversion_ci_upper"),
                    money,
                ),
            ]
        )
    table = _table(
        "Cost per incremental conversion",
        [
            "arm",
            "category",
            "messages billed",
            "cost",
            "incremental conversions",
            "per incremental conversion",
            "interval",
        ],
        rows,
        numeric=frozenset(range(2, 7)),
    )
    figure = _figure(
        charts.cost_plot(cost), "Bar: cost per incremental conversion; whiskers: interval."
    )
    compared: Sequence[Row] = report.get("cost_comparison") or []
    if compared:
        table += _table(
            "Cost per incremental conversion between arms (ratio below 1: the first arm is cheaper)",
            list(COST_COMPARISON_HEADERS),
            [list(cost_comparison_cells(row)) for row in compared],
            numeric=frozenset(range(1, 5)),
        )
    return _section("cost", "Cost per incremental conversion", lead, figure + table)


def _methods(report: Report) -> str:
    """The methods used, as sentences."""
    methods: Sequence[object] = report.get("methods") or []
    items = "".join(f"<li>{_e(method)}</li>" for method in methods)
    body = f"<ul>{items}</ul>" if methods else _empty("No methods listed.")
    return _section("methods", "Methods", "How the numbers above were computed.", body)


_SECTIONS: tuple[tuple[str, str, Callable[[Report], str]], ...] = (
    ("arms", "Arms", _arms),
    ("balance", "Balance", _balance),
    ("effects", "Effects", _effects),
    ("complier", "Reached", _complier),
    ("cumulative", "Cumulative", _cumulative),
    ("funnel", "Funnel", _funnel),
    ("guardrails", "Guardrails", _guardrails),
    ("window-split", "Window split", _window_split),
    ("quality", "Quality", _quality),
    ("cost", "Cost", _cost),
    ("methods", "Methods", _methods),
)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: the report dict, as ``report.json`` holds it.

    Returns:
        An HTML document with inline CSS and inline SVG charts, no script and no
        external reference, so it opens offline. Identical input gives identical text.
    """
    experiment = _e(report.get("experiment_id"))
    sections = [(anchor, name, build(report)) for anchor, name, build in _SECTIONS]
    sections = [(anchor, name, body) for anchor, name, body in sections if body]
    nav = "".join(f'<a href="#{anchor}">{html.escape(name)}</a>' for anchor, name, _ in sections)
    context_parts = [
        f"{label} {text}"
        for label, text, present in (
            ("as of", text_of(report.get("as_of")), report.get("as_of") is not None),
            ("channel", text_of(report.get("channel")), report.get("channel") is not None),
            ("category", text_of(report.get("category")), report.get("category") is not None),
            ("assigned", text_of(report.get("assigned_at")), report.get("assigned_at") is not None),
            (
                "window",
                f"{fmt_count(report.get('window_days'))} days",
                as_float(report.get("window_days")) is not None,
            ),
        )
        if present
    ]
    context = " · ".join(html.escape(part) for part in context_parts)
    footer = (
        f"Generated by {_e(report.get('generated_by'))} for experiment {experiment}, "
        f"as of {_e(report.get('as_of'))}."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>Lift report: {experiment}</title><style>{_CSS}</style></head>"
        f"<body><main><header><h1>Lift report: {experiment}</h1>"
        f'<p class="context">{context}</p><nav aria-label="sections">{nav}</nav></header>'
        f"{_verdict(report)}{''.join(body for _, _, body in sections)}"
        f"<footer>{footer}</footer></main></body></html>\n"
    )
