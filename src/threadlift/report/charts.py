"""Report charts, drawn with matplotlib, written as SVG (inline or standalone) or PNG.

Each ``*_plot`` function takes rows of the report dict and returns one inline ``<svg>``
element as text (or None when there is nothing to draw), ready to be placed in an HTML
page that must open offline: no namespace declarations (the HTML parser needs none) so
the page holds no URL, text drawn as paths so no font is fetched, and byte-identical
output for identical input (fixed ``svg.hashsalt``, no date metadata, element ids
prefixed per chart so several charts can share one page).

:func:`draw` returns the same chart as a :class:`Drawing`, which also writes a
standalone SVG document (with its ``xmlns`` and ``xmlns:xlink`` declarations, as a file,
a ``data:`` URI or a notebook's ``image/svg+xml`` output needs) and a PNG (what GitHub
and older viewers fall back to). :func:`power_curve` draws a holdout design's power
against audience size.

matplotlib is driven through :class:`matplotlib.figure.Figure` with its SVG and Agg
backends only; pyplot's global state is never touched.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib
import matplotlib.patches
import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from threadlift.errors import InputError
from threadlift.report.format import as_float, fmt_count, fmt_money, fmt_percent, text_of

Row = Mapping[str, Any]

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ALERT = "#c0392b"
GOOD = "#1b7f4b"
# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
QUALITY_LEVELS = ("UNKNOWN", "RED", "YELLOW", "GREEN")
QUALITY_COLOURS = {"GREEN": "#1b9e4b", "YELLOW": "#e6a700", "RED": ALERT, "UNKNOWN": MUTED}
FUNNEL_STAGES = (
    ("units", "assigned"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("read", "read"),
    ("replied", "replied"),
    ("converted", "converted"),
)

_STYLE: dict[str, Any] = {
    "svg.hashsalt": "threadlift",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "legend.frameon": False,
    "figure.dpi": 72,
}
_WIDTH = 9.0
_ID = re.compile(r'\bid="([^"]+)"')


@contextmanager
def _style(chart: str) -> Iterator[None]:
    """matplotlib settings for one chart, from the defaults (a user's style never leaks in).

    The hash salt differs per chart.
    """
    style: dict[Any, Any] = dict(_STYLE)
    style["svg.hashsalt"] = f"threadlift-{chart}"
    with matplotlib.style.context("default"), matplotlib.rc_context(style):
        yield


PNG_DPI = 144
"""PNG resolution: 1.5 CSS pixels per pixel of the SVG's size, sharp on most screens."""
_CSS_DPI = 96
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


class Drawing:
    """One chart drawn with matplotlib, to be written as inline SVG, an SVG file or a PNG.

    Attributes:
        name: a short name, unique within a page; prefixes every element id.
        label: the accessible name of the image (``aria-label``).
    """

    def __init__(self, figure: Figure, name: str, label: str) -> None:
        self._figure = figure
        self.name = name
        self.label = label

    def _svg(self) -> str:
        """The ``<svg>`` element with its namespace declarations, ids prefixed, labelled."""
        FigureCanvasSVG(self._figure)
        buffer = io.StringIO()
        with _style(self.name):
            self._figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        text = buffer.getvalue()
        text = text[text.index("<svg") :]
        text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
        ids = _ID.findall(text)
        for old in sorted(set(ids), key=len, reverse=True):
            new = f"{self.name}-{old}"
            text = text.replace(f'id="{old}"', f'id="{new}"')
            text = text.replace(f'href="#{old}"', f'href="#{new}"')
            text = text.replace(f"url(#{old})", f"url(#{new})")
        label = self.label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return text.replace(
            "<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1
        ).strip()

    def element(self) -> str:
        """The chart as an ``<svg>`` element for an HTML page.

        The ``xmlns`` and ``xmlns:xlink`` declarations are left out: the HTML parser puts
        an ``<svg>`` and its ``xlink:href`` attributes in their namespaces itself, and
        without them the page holds no URL at all, so a plain search for "http" finds
        nothing. Not a valid SVG file on its own: see :meth:`document`.
        """
        return re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", self._svg())

    def document(self) -> str:
        """The chart as a standalone SVG document (a ``.svg`` file, a ``data:`` URI).

        An XML declaration, then the ``<svg>`` element with the SVG and XLink namespace
        declarations its ``xlink:href`` references need: browsers, JupyterLab (which
        shows SVG through an ``<img>``) and image viewers all accept it.
        """
        return _XML_DECLARATION + self._svg() + "\n"

    def png(self) -> bytes:
        """The chart as a PNG at :data:`PNG_DPI`, without time stamps (same input, same bytes)."""
        buffer = io.BytesIO()
        with _style(self.name):
            self._figure.savefig(
                buffer,
                format="png",
                dpi=PNG_DPI,
                metadata={"Software": None},
                bbox_inches="tight",
                facecolor="white",
            )
        return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """The width and height in pixels written in a PNG's header.

    Raises:
        ValueError: when ``png`` is not a PNG.
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image (its first bytes are not the PNG signature and IHDR)")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def css_size(png: bytes) -> tuple[int, int]:
    """The size in CSS pixels at which a PNG written by :meth:`Drawing.png` shows sharp."""
    width, height = png_size(png)
    return round(width * _CSS_DPI / PNG_DPI), round(height * _CSS_DPI / PNG_DPI)


def _element(drawing: Drawing | None) -> str | None:
    return None if drawing is None else drawing.element()


def _axis_percent(axes: Axes, axis: str = "x", *, signed: bool = False) -> None:
    """Show an axis of fractions as percentages."""
    formatter = FuncFormatter(lambda value, _pos: fmt_percent(value, decimals=0, signed=signed))
    (axes.xaxis if axis == "x" else axes.yaxis).set_major_formatter(formatter)


def _row_label(row: Row, key: str) -> str:
    """``name · arm`` for a row of a metric-like table."""
    return f"{text_of(row.get(key))} · {text_of(row.get('arm'))}"


def _interval_plot(
    rows: Sequence[Row],
    *,
    chart: str,
    label_key: str,
    value_key: str,
    lower_key: str | None,
    upper_key: str,
    threshold_key: str | None,
    title: str,
    xlabel: str,
    percent: bool,
    colour: Callable[[Row], str],
    note: Callable[[Row], str],
) -> Drawing:
    """Points with intervals, one row each, top to bottom (forest-plot layout)."""
    height = 0.9 + 0.42 * len(rows)
    figure = Figure(figsize=(_WIDTH, height))
    axes = figure.add_subplot()
    axes.axvline(0, color=MUTED, linewidth=1)
    finite: list[float] = [0.0]
    for index, row in enumerate(rows):
        y = len(rows) - 1 - index
        value = as_float(row.get(value_key))
        lower = as_float(row.get(lower_key)) if lower_key else value
        upper = as_float(row.get(upper_key))
        threshold = as_float(row.get(threshold_key)) if threshold_key else None
        shade = colour(row)
        if threshold is not None:
            axes.plot([threshold, threshold], [y - 0.3, y + 0.3], color=ALERT, linewidth=2)
            finite.append(threshold)
        if lower is not None and upper is not None:
            axes.plot([lower, upper], [y, y], color=shade, linewidth=2.5, solid_capstyle="butt")
            finite += [lower, upper]
        if value is not None:
            axes.plot([value], [y], "o", color=shade, markersize=7)
            finite.append(value)
        else:
            axes.text(0, y, "  " + note(row), va="center", ha="left", color=ALERT, fontsize=8)
    low, high = min(finite), max(finite)
    pad = (high - low) * 0.08 or 0.01
    axes.set_xlim(low - pad, high + pad)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([_row_label(row, label_key) for row in reversed(rows)])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.grid(axis="x", color=GRID)
    axes.set_axisbelow(True)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    if percent:
        _axis_percent(axes, signed=True)
    return Drawing(figure, chart, title)


def _effect_colour(row: Row) -> str:
    """Green/red when the interval excludes zero, blue otherwise."""
    lower = as_float(row.get("rel_effect_size_ci_lower"))
    upper = as_float(row.get("rel_effect_size_ci_upper"))
    if lower is not None and lower > 0:
        return GOOD
    if upper is not None and upper < 0:
        return ALERT
    return PALETTE[0]


def forest_drawing(metrics: Sequence[Row]) -> Drawing | None:
    """Every metric's relative effect with its interval, one row per metric and arm."""
    if not metrics:
        return None
    with _style("forest"):
        return _interval_plot(
            metrics,
            chart="forest",
            label_key="metric",
            value_key="rel_effect_size",
            lower_key="rel_effect_size_ci_lower",
            upper_key="rel_effect_size_ci_upper",
            threshold_key=None,
            title="Relative effect of each metric (treatment vs control), with interval",
            xlabel="relative effect",
            percent=True,
            colour=_effect_colour,
            note=lambda row: f"not estimable ({text_of(row.get('error') or 'no estimate')})",
        )


def segment_forest_drawings(segments: Sequence[Row]) -> list[Drawing]:
    """One forest plot per segment dimension: the first metric's relative effect in each
    segment, with its interval, one row per segment and arm."""
    drawings = []
    dimensions = list(dict.fromkeys(text_of(row.get("dimension")) for row in segments))
    for dimension in dimensions:
        rows = [row for row in segments if text_of(row.get("dimension")) == dimension]
        metric = text_of(rows[0].get("metric"))
        rows = [row for row in rows if text_of(row.get("metric")) == metric]
        with _style("forest"):
            drawings.append(
                _interval_plot(
                    rows,
                    chart=f"segments_{dimension}",
                    label_key="segment",
                    value_key="rel_effect_size",
                    lower_key="rel_effect_size_ci_lower",
                    upper_key="rel_effect_size_ci_upper",
                    threshold_key=None,
                    title=f"Relative effect by segment: {dimension} ({metric}), with interval",
                    xlabel="relative effect",
                    percent=True,
                    colour=_effect_colour,
                    note=lambda row: f"not estimable ({text_of(row.get('error') or 'no estimate')})",
                )
            )
    return drawings


def guardrail_drawing(guardrails: Sequence[Row]) -> Drawing | None:
    """Each guardrail's change, its one-sided upper bound, and the allowed increase."""
    if not guardrails:
        return None
    with _style("guardrails"):
        return _interval_plot(
            guardrails,
            chart="guardrails",
            label_key="guardrail",
            value_key="effect_size",
            lower_key=None,
            upper_key="effect_size_ci_upper",
            threshold_key="threshold",
            title="Guardrails: change (dot), upper bound (bar end), allowed increase (red tick)",
            xlabel="absolute change, treatment − control",
            percent=False,
            colour=lambda row: ALERT if row.get("breached") else PALETTE[0],
            note=lambda _row: "no estimate",
        )


def cumulative_drawing(cumulative: Sequence[Row]) -> Drawing | None:
    """Effect by day since assignment with its interval band, one panel per metric."""
    metrics = list(dict.fromkeys(text_of(row.get("metric")) for row in cumulative))
    if not metrics:
        return None
    with _style("cumulative"):
        figure = Figure(figsize=(_WIDTH, 0.6 + 2.3 * len(metrics)))
        panels = figure.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
        for axes, metric in zip(panels, metrics, strict=True):
            rows = [row for row in cumulative if text_of(row.get("metric")) == metric]
            arms = list(dict.fromkeys(text_of(row.get("arm")) for row in rows))
            for index, arm in enumerate(arms):
                points = sorted(
                    (
                        (float(row["day"]), as_float(row.get("effect_size")), row)
                        for row in rows
                        if text_of(row.get("arm")) == arm and as_float(row.get("day")) is not None
                    ),
                    key=lambda item: item[0],
                )
                days = [day for day, value, _ in points if value is not None]
                values = [value for _, value, _ in points if value is not None]
                band = [
                    (
                        day,
                        as_float(row.get("effect_size_ci_lower")),
                        as_float(row.get("effect_size_ci_upper")),
                    )
                    for day, _, row in points
                ]
                band_days = [day for day, lo, hi in band if lo is not None and hi is not None]
                lows = [lo for _, lo, hi in band if lo is not None and hi is not None]
                highs = [hi for _, lo, hi in band if lo is not None and hi is not None]
                shade = PALETTE[index % len(PALETTE)]
                control = text_of(rows[0].get("control_arm"))
                if band_days:
                    axes.fill_between(band_days, lows, highs, color=shade, alpha=0.18, linewidth=0)
                axes.plot(
                    days,
                    values,
                    color=shade,
                    linewidth=2,
                    marker="o",
                    markersize=3.5,
                    label=f"{arm} vs {control}",
                )
            axes.axhline(0, color=MUTED, linewidth=1)
            axes.grid(color=GRID)
            axes.set_axisbelow(True)
            axes.set_title(f"{metric}: cumulative effect by day since assignment")
            axes.set_ylabel("treatment − control")
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        panels[-1].set_xlabel("days since assignment")
        figure.tight_layout()
        return Drawing(figure, "cumulative", "Cumulative effect by day since assignment")


def programme_decay_drawing(decay: Sequence[Row]) -> Drawing | None:
    """A global holdout's lift at each horizon since its start, with its interval."""
    points = [
        (
            float(row["horizon_days"]),
            as_float(row.get("effect_size")),
            as_float(row.get("effect_size_ci_lower")),
            as_float(row.get("effect_size_ci_upper")),
        )
        for row in decay
        if as_float(row.get("horizon_days")) is not None
    ]
    points = [p for p in points if p[1] is not None]
    if not points:
        return None
    metric = text_of(decay[0].get("metric"))
    with _style("programme_decay"):
        figure = Figure(figsize=(_WIDTH, 3.2))
        axes = figure.add_subplot()
        days = [day for day, _, _, _ in points]
        values = [float(value) for _, value, _, _ in points if value is not None]
        lower = [
            value - lo if lo is not None else 0.0
            for _, value, lo, _ in points
            if value is not None
        ]
        upper = [
            hi - value if hi is not None else 0.0
            for _, value, _, hi in points
            if value is not None
        ]
        axes.errorbar(
            days,
            values,
            yerr=[lower, upper],
            color=PALETTE[0],
            linewidth=2,
            marker="o",
            markersize=5,
            capsize=4,
            label="everyone_else vs global_holdout",
        )
        axes.axhline(0, color=MUTED, linewidth=1)
        axes.grid(color=GRID)
        axes.set_axisbelow(True)
        axes.set_xticks(days)
        axes.set_title(f"{metric}: programme lift by days since the holdout started")
        axes.set_ylabel("everyone else − holdout")
        axes.set_xlabel("days since the holdout started (outcome window)")
        figure.tight_layout()
        return Drawing(figure, "programme_decay", "Programme lift by days since the holdout started")


def funnel_drawing(funnel: Sequence[Row]) -> Drawing | None:
    """Share of assigned units reaching each stage, bars grouped by stage, one per arm."""
    if not funnel:
        return None
    with _style("funnel"):
        figure = Figure(figsize=(_WIDTH, 3.6))
        axes = figure.add_subplot()
        width = 0.8 / len(funnel)
        for index, row in enumerate(funnel):
            units = as_float(row.get("units")) or 0.0
            shares = [
                (as_float(row.get(key)) or 0.0) / units if units else 0.0
                for key, _ in FUNNEL_STAGES
            ]
            xs = [
                stage + (index - (len(funnel) - 1) / 2) * width
                for stage in range(len(FUNNEL_STAGES))
            ]
            bars = axes.bar(
                xs,
                shares,
                width=width * 0.92,
                color=PALETTE[index % len(PALETTE)],
                label=f"{text_of(row.get('arm'))} ({fmt_count(row.get('units'))} assigned)",
            )
            axes.bar_label(
                bars,
                labels=[fmt_percent(share, decimals=0) for share in shares],
                fontsize=7,
                padding=1.5,
                color=INK,
            )
        axes.set_xticks(range(len(FUNNEL_STAGES)))
        axes.set_xticklabels([name for _, name in FUNNEL_STAGES])
        axes.set_ylim(0, 1.12)
        _axis_percent(axes, "y")
        axes.set_ylabel("share of assigned units")
        axes.grid(axis="y", color=GRID)
        axes.set_axisbelow(True)
        axes.set_title("Funnel by arm, counted from assignment")
        axes.legend(loc="upper right", fontsize=8)
        return Drawing(figure, "funnel", "Funnel by arm: share of assigned units at each stage")


def _parse_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` allowed) as a naive UTC datetime, or None."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _tier_rank(tier: str) -> float:
    """Order messaging-limit tiers by their limit: ``TIER_1K`` < ``TIER_10K`` < unlimited."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*([KM]?)", tier.upper())
    if "UNLIMITED" in tier.upper():
        return math.inf
    if not match:
        return -1.0
    scale = {"": 1.0, "K": 1e3, "M": 1e6}[match.group(2)]
    return float(match.group(1)) * scale


def sender_quality_drawing(
    sender_quality: Sequence[Row], *, start: object = None, end: object = None
) -> Drawing | None:
    """Quality rating and messaging-limit tier of each sender over time (step lines).

    Args:
        sender_quality: rows with ``sender_id, ts, quality_rating, messaging_limit_tier``.
        start: the assignment time, drawn as a dashed line when given.
        end: the as-of time; each sender's last state is drawn until it.
    """
    rows = sorted(
        ((when, row) for row in sender_quality if (when := _parse_time(row.get("ts"))) is not None),
        key=lambda item: (text_of(item[1].get("sender_id")), item[0]),
    )
    if not rows:
        return None
    tiers = sorted(
        {text_of(row.get("messaging_limit_tier")) for _, row in rows},
        key=lambda tier: (_tier_rank(tier), tier),
    )
    begin, finish = _parse_time(start), _parse_time(end)
    with _style("quality"):
        figure = Figure(figsize=(_WIDTH, 1.2 + 0.35 * (len(QUALITY_LEVELS) + len(tiers))))
        quality_axes, tier_axes = figure.subplots(
            2, 1, sharex=True, height_ratios=[len(QUALITY_LEVELS), max(len(tiers), 2)]
        )
        senders = list(dict.fromkeys(text_of(row.get("sender_id")) for _, row in rows))
        for index, sender in enumerate(senders):
            mine = [(when, row) for when, row in rows if text_of(row.get("sender_id")) == sender]
            times = [when for when, _ in mine]
            if finish is not None and finish > times[-1]:
                times.append(finish)
            qualities = [text_of(row.get("quality_rating")).upper() for _, row in mine]
            levels = [QUALITY_LEVELS.index(q) if q in QUALITY_LEVELS else 0 for q in qualities]
            tier_levels = [tiers.index(text_of(row.get("messaging_limit_tier"))) for _, row in mine]
            shade = PALETTE[index % len(PALETTE)]
            step_levels = levels + levels[-1:] * (len(times) - len(levels))
            step_tiers = tier_levels + tier_levels[-1:] * (len(times) - len(tier_levels))
            quality_axes.step(
                times,
                step_levels,
                where="post",
                color=shade,
                linewidth=1.5,
                label=f"sender {sender}",
            )
            quality_axes.scatter(
                times[: len(levels)],
                levels,
                s=55,
                zorder=3,
                c=[QUALITY_COLOURS.get(q, MUTED) for q in qualities],
                edgecolors=INK,
                linewidths=0.6,
            )
            tier_axes.step(times, step_tiers, where="post", color=shade, linewidth=1.5)
            tier_axes.plot(times[: len(tier_levels)], tier_levels, "s", color=shade, markersize=5)
        for axes in (quality_axes, tier_axes):
            if begin is not None:
                axes.axvline(begin, color=MUTED, linestyle="--", linewidth=1)
            axes.grid(axis="x", color=GRID)
            axes.set_axisbelow(True)
        quality_axes.set_yticks(range(len(QUALITY_LEVELS)))
        quality_axes.set_yticklabels(QUALITY_LEVELS)
        quality_axes.set_ylim(-0.5, len(QUALITY_LEVELS) - 0.5)
        quality_axes.set_title(
            "Sender quality rating and messaging-limit tier over time"
            + (" (dashed: assignment)" if begin is not None else "")
        )
        quality_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        tier_axes.set_yticks(range(len(tiers)))
        tier_axes.set_yticklabels(tiers)
        tier_axes.set_ylim(-0.5, max(len(tiers), 2) - 0.5)
        tier_axes.set_ylabel("limit tier")
        quality_axes.set_ylabel("quality")
        figure.autofmt_xdate()
        return Drawing(figure, "quality", "Sender quality rating and messaging-limit tier over time")


_EPOCH = datetime(1970, 1, 1)


def _epoch_days(when: datetime) -> float:
    """A naive UTC time as days since 1970 (a plain float axis, labelled by FuncFormatter)."""
    return (when - _EPOCH).total_seconds() / 86_400


def template_quality_drawing(template_quality: Row) -> Drawing | None:
    """Each template's quality rating and pauses over the experiment window (one lane each).

    Args:
        template_quality: the report's ``template_quality`` section: ``window_start``,
            ``window_end``, ``templates`` (with ``pauses``) and ``events``.

    Returns:
        One lane per template and language with events: the upper band is coloured by
        the quality rating in force (grey before the first known rating), the lower band
        is red where the template was paused; status and category events are marked and
        labelled. None when no template has an event.
    """
    begin = _parse_time(template_quality.get("window_start"))
    finish = _parse_time(template_quality.get("window_end"))
    events: Sequence[Row] = template_quality.get("events") or []
    lanes = [
        row
        for row in template_quality.get("templates") or []
        if any(
            e.get("template") == row.get("template") and e.get("language") == row.get("language")
            for e in events
        )
    ]
    if begin is None or finish is None or finish <= begin or not lanes:
        return None
    left = begin - (finish - begin) * 0.08
    x = _epoch_days
    with _style("template-quality"):
        figure = Figure(figsize=(_WIDTH, 1.3 + 0.75 * len(lanes)))
        axes = figure.add_subplot()
        labels = []
        for index, lane in enumerate(lanes):
            y = len(lanes) - 1 - index
            language = lane.get("language")
            labels.append(text_of(lane.get("template")) + (f" ({language})" if language else ""))
            mine = [
                (when, e)
                for e in events
                if e.get("template") == lane.get("template")
                and e.get("language") == language
                and (when := _parse_time(e.get("ts"))) is not None
            ]
            qualities = [(max(when, left), e) for when, e in mine if e.get("kind") == "quality"]
            edges = [left] + [when for when, _ in qualities] + [finish]
            colours = [MUTED] + [
                QUALITY_COLOURS.get(text_of(e.get("event")).upper(), MUTED) for _, e in qualities
            ]
            for start, stop, colour in zip(edges[:-1], edges[1:], colours, strict=True):
                if stop > start:
                    axes.barh(
                        [y + 0.17],
                        [x(stop) - x(start)],
                        left=[x(start)],
                        height=0.3,
                        color=colour,
                        edgecolor="white",
                        linewidth=0.5,
                    )
            for pause in lane.get("pauses") or []:
                paused_at = _parse_time(pause.get("start"))
                end = _parse_time(pause.get("end"))
                stop = finish if end is None else end
                if paused_at is None:
                    continue
                shown = max(paused_at, left)
                axes.barh(
                    [y - 0.17],
                    [x(stop) - x(shown)],
                    left=[x(shown)],
                    height=0.22,
                    color=ALERT,
                    hatch="///",
                    edgecolor="white",
                    linewidth=0.0,
                )
            span = x(finish) - x(left)
            last_label = -math.inf
            paused = False
            for when, e in mine:
                event = text_of(e.get("event"))
                ends_pause = paused and e.get("kind") == "status" and event != "PAUSED"
                if e.get("kind") == "status":
                    paused = event == "PAUSED" or (paused and not ends_pause)
                # quality shows as the band's colour, a pause's end as the end of its bar
                if e.get("kind") == "quality" or when < begin or ends_pause:
                    continue
                label = event if e.get("kind") == "status" else f"category {event}"
                colour = ALERT if event in ("PAUSED", "DISABLED", "FLAGGED") else INK
                marker = "D" if e.get("kind") == "category" else "v"
                axes.plot([x(when)], [y - 0.42], marker, color=colour, markersize=5)
                # stagger labels that would overlap the previous one
                drop = 0.14 if x(when) - last_label < 0.12 * span else 0.0
                last_label = x(when)
                axes.text(
                    x(when),
                    y - 0.5 - drop,
                    f" {label}",
                    fontsize=7,
                    color=colour,
                    va="top",
                    ha="left",
                )
        axes.axvline(x(begin), color=MUTED, linestyle="--", linewidth=1)
        axes.set_xlim(x(left), x(finish))
        axes.xaxis.set_major_locator(MaxNLocator(8))
        axes.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos: f"{_EPOCH + timedelta(days=value):%m-%d %H:%M}")
        )
        axes.set_xlabel("UTC")
        axes.set_ylim(-0.85, len(lanes) - 0.4)
        axes.set_yticks(range(len(lanes)))
        axes.set_yticklabels(list(reversed(labels)))
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        handles = [
            matplotlib.patches.Patch(color=QUALITY_COLOURS[level], label=f"quality {level}")
            for level in ("GREEN", "YELLOW", "RED")
        ]
        handles.append(
            matplotlib.patches.Patch(
                facecolor=ALERT, hatch="///", edgecolor="white", label="paused"
            )
        )
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        axes.set_title("Template quality rating and pauses (dashed: window start)")
        figure.autofmt_xdate()
        return Drawing(figure, "template-quality", "Template quality rating and pauses over time")


def cost_drawing(cost: Sequence[Row]) -> Drawing | None:
    """Cost per incremental conversion with its interval, one bar per arm and category."""
    if not cost:
        return None
    with _style("cost"):
        figure = Figure(figsize=(_WIDTH, 0.9 + 0.45 * len(cost)))
        axes = figure.add_subplot()
        ceiling = 0.0
        for index, row in enumerate(cost):
            y = len(cost) - 1 - index
            value = as_float(row.get("cost_per_incremental_conversion"))
            lower = as_float(row.get("cost_per_incremental_conversion_ci_lower"))
            upper = as_float(row.get("cost_per_incremental_conversion_ci_upper"))
            if value is None:
                axes.text(
                    0,
                    y,
                    " not estimable (no incremental conversions)",
                    va="center",
                    color=ALERT,
                    fontsize=8,
                )
                continue
            axes.barh([y], [value], height=0.55, color=PALETTE[0])
            if lower is not None and upper is not None:
                axes.plot([lower, upper], [y, y], color=INK, linewidth=1.5)
                axes.plot([lower, lower], [y - 0.12, y + 0.12], color=INK, linewidth=1.5)
                axes.plot([upper, upper], [y - 0.12, y + 0.12], color=INK, linewidth=1.5)
                ceiling = max(ceiling, upper)
            ceiling = max(ceiling, value)
            axes.text(
                value,
                y + 0.32,
                " " + fmt_money(value, row.get("currency")),
                va="center",
                fontsize=8,
            )
        axes.set_xlim(0, (ceiling or 1.0) * 1.15)
        axes.set_yticks(range(len(cost)))
        axes.set_yticklabels(
            [
                f"{text_of(row.get('arm'))} · {text_of(row.get('category'))}"
                for row in reversed(cost)
            ]
        )
        axes.set_ylim(-0.7, len(cost) - 0.3)
        currency = next((text_of(row.get("currency")) for row in cost if row.get("currency")), "")
        axes.set_xlabel(f"cost per incremental conversion {currency}".strip())
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        axes.set_title("Cost per incremental conversion, with interval")
        return Drawing(figure, "cost", "Cost per incremental conversion by arm")


def forest_plot(metrics: Sequence[Row]) -> str | None:
    """:func:`forest_drawing` as an inline ``<svg>`` element."""
    return _element(forest_drawing(metrics))


def segment_forest_plots(segments: Sequence[Row]) -> str | None:
    """:func:`segment_forest_drawings` as inline ``<svg>`` elements, one after another."""
    drawings = segment_forest_drawings(segments)
    return "\n".join(d.element() for d in drawings) if drawings else None


def guardrail_plot(guardrails: Sequence[Row]) -> str | None:
    """:func:`guardrail_drawing` as an inline ``<svg>`` element."""
    return _element(guardrail_drawing(guardrails))


def cumulative_plot(cumulative: Sequence[Row]) -> str | None:
    """:func:`cumulative_drawing` as an inline ``<svg>`` element."""
    return _element(cumulative_drawing(cumulative))


def funnel_plot(funnel: Sequence[Row]) -> str | None:
    """:func:`funnel_drawing` as an inline ``<svg>`` element."""
    return _element(funnel_drawing(funnel))


def sender_quality_plot(
    sender_quality: Sequence[Row], *, start: object = None, end: object = None
) -> str | None:
    """:func:`sender_quality_drawing` as an inline ``<svg>`` element."""
    return _element(sender_quality_drawing(sender_quality, start=start, end=end))


def template_quality_plot(template_quality: Row) -> str | None:
    """:func:`template_quality_drawing` as an inline ``<svg>`` element."""
    return _element(template_quality_drawing(template_quality))


def programme_decay_plot(decay: Sequence[Row]) -> str | None:
    """:func:`programme_decay_drawing` as an inline ``<svg>`` element."""
    return _element(programme_decay_drawing(decay))


def cost_plot(cost: Sequence[Row]) -> str | None:
    """:func:`cost_drawing` as an inline ``<svg>`` element."""
    return _element(cost_drawing(cost))


CHARTS: dict[str, Callable[[Mapping[str, Any]], Drawing | None]] = {
    "forest": lambda report: forest_drawing(report.get("metrics") or []),
    "cumulative": lambda report: cumulative_drawing(report.get("cumulative") or []),
    "funnel": lambda report: funnel_drawing(report.get("funnel") or []),
    "guardrails": lambda report: guardrail_drawing(report.get("guardrails") or []),
    "quality": lambda report: sender_quality_drawing(
        report.get("sender_quality") or [],
        start=report.get("assigned_at"),
        end=report.get("as_of"),
    ),
    "template_quality": lambda report: template_quality_drawing(
        report.get("template_quality") or {}
    ),
    "cost": lambda report: cost_drawing(report.get("cost") or []),
    "programme_decay": lambda report: programme_decay_drawing(
        report.get("programme_decay") or []
    ),
}
"""Every report chart by name, drawn from the report dict as the HTML report draws it."""


def draw(chart: str, report: Mapping[str, Any]) -> Drawing | None:
    """One of the report's charts (:data:`CHARTS`), from the report dict.

    Args:
        chart: ``forest``, ``cumulative``, ``funnel``, ``guardrails``, ``quality``,
            ``template_quality``, ``cost`` or ``programme_decay``.
        report: the report dict, as ``report.json`` holds it.

    Returns:
        The drawing, or None when the report has no rows for that chart.

    Raises:
        InputError: when ``chart`` is not one of :data:`CHARTS`.
    """
    if chart not in CHARTS:
        raise InputError(f"unknown chart {chart!r}; choose one of {', '.join(CHARTS)}")
    return CHARTS[chart](report)


def power_curve(
    curves: Sequence[Row], *, target_power: float | None = 0.8, title: str | None = None
) -> Drawing:
    """Power against audience size, one line per design (a holdout share, an effect …).

    Args:
        curves: rows with ``design`` (the line's label), ``units`` (audience size, > 0)
            and ``power`` (a fraction), as :func:`threadlift.core.power.plan` solves it.
        target_power: drawn as a dotted line (None: no line).
        title: the chart's title (default: "Power by audience size").

    Raises:
        InputError: when there are no rows, or a row lacks a positive ``units`` or a
            ``power`` between 0 and 1.
    """
    if not curves:
        raise InputError("power_curve needs at least one row of design, units and power")
    for index, row in enumerate(curves):
        units, power = as_float(row.get("units")), as_float(row.get("power"))
        if units is None or units <= 0 or power is None or not 0 <= power <= 1:
            raise InputError(
                f"power_curve row {index} ({dict(row)!r}) needs units > 0 and 0 <= power <= 1"
            )
    heading = title or "Power by audience size"
    with _style("power"):
        figure = Figure(figsize=(_WIDTH * 0.75, 3.6))
        axes = figure.add_subplot()
        designs = list(dict.fromkeys(text_of(row.get("design")) for row in curves))
        for index, design in enumerate(designs):
            points = sorted(
                (float(row["units"]), float(row["power"]))
                for row in curves
                if text_of(row.get("design")) == design
            )
            axes.plot(
                [units for units, _ in points],
                [power for _, power in points],
                color=PALETTE[index % len(PALETTE)],
                marker="o",
                markersize=4,
                linewidth=2,
                label=design,
            )
        if target_power is not None:
            axes.axhline(target_power, color=MUTED, linestyle=":", linewidth=1.2)
            axes.text(
                0.01,
                target_power,
                f"target {fmt_percent(target_power, decimals=0)}",
                transform=axes.get_yaxis_transform(),
                va="bottom",
                fontsize=8,
                color=MUTED,
            )
        axes.set_xscale("log")
        sizes = sorted({float(row["units"]) for row in curves})
        if len(sizes) <= 8:
            axes.xaxis.set_major_locator(FixedLocator(sizes))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt_count(value)))
        axes.set_ylim(0, 1.02)
        _axis_percent(axes, "y")
        axes.set_xlabel("audience size (units, all arms)")
        axes.set_ylabel("power")
        axes.grid(color=GRID)
        axes.set_axisbelow(True)
        axes.set_title(heading)
        axes.legend(loc="lower right", fontsize=8)
        return Drawing(figure, "power", heading)
