"""Analysis of one experiment: SQL → per-arm sufficient statistics → statistics → results.

:func:`analyze` runs every query of the report against the workspace and returns an
:class:`Analysis` whose ``to_dict()`` is ``report.json`` . Python sees only
per-arm aggregates. A degenerate metric carries a named error code; it never aborts the
analysis of the others.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from threadlift import __version__
from threadlift.analysis.alerts import (
    Alert,
    WarningDetail,
    WarningLog,
    quality_drop_warnings,
    window_warning,
)
from threadlift.analysis.complier import ComplierRow, complier_effects
from threadlift.analysis.cost import (
    CostComparisonRow,
    CostRow,
    arm_costs,
    cost_comparison,
    pricing_rules,
)
from threadlift.analysis.cumulative import CumulativeRow, cumulative_lift
from threadlift.analysis.exposure import (
    NO_EXPOSURES,
    ExposureAnalysis,
    ExposureArmRow,
    ExposureMismatchRow,
    TriggeredMetricRow,
    exposure_analysis,
    exposure_methods,
)
from threadlift.analysis.funnel import FunnelRow, funnel
from threadlift.analysis.guardrails import (
    GuardrailBreakdownRow,
    GuardrailResult,
    guardrail_breakdown,
    guardrail_tests,
)
from threadlift.analysis.lift import (
    Correction,
    MetricResult,
    MetricRow,
    compare_metrics,
    first_against_control,
    metric_stats,
)
from threadlift.analysis.programme import (
    AttritionRow,
    ContaminationRow,
    DecayRow,
    DriftRow,
    PartRow,
    Programme,
    ProgrammeHealth,
    programme_methods,
    programme_report,
)
from threadlift.analysis.quality import (
    SenderQualityRow,
    TemplateEvent,
    TemplateQuality,
    TemplateQualityUnavailable,
    TemplateSummary,
    sender_quality,
    template_quality,
)
from threadlift.analysis.reach import MessagingLimitRow, messaging_limits
from threadlift.analysis.segments import (
    HeterogeneityRow,
    SegmentLifts,
    SegmentRow,
    segment_lifts,
)
from threadlift.analysis.units import (
    ArmRow,
    BalanceRow,
    SRMCheck,
    arms_and_srm,
    covariate_balance,
    empty_arm_warnings,
    prepare_sends,
    prepare_units,
    rejected_assignments,
    untagged_sends_warning,
)
from threadlift.analysis.windows import (
    WindowShareRow,
    WindowSplit,
    WindowSplitMetricRow,
    WindowStratumRow,
    window_shares,
    window_split,
)
from threadlift.engines.base import Engine
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.engines.lake import INGEST_FACT_TABLES
from threadlift.errors import ConfigError, InputError
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from threadlift.report.charts import Drawing
    from threadlift.report.summary import Summary

Sections = Literal["full", "core"]

SECTIONS: tuple[str, ...] = get_args(Sections)

CORE_SKIPS: tuple[str, ...] = (
    "complier",
    "funnel",
    "cumulative",
    "guardrail_breakdown",
    "messaging_limits",
    "window_share",
    "window_split",
    "segments",
    "heterogeneity",
    "sender_quality",
    "template_quality",
    "cost",
    "cost_comparison",
)
"""The report.json sections a ``sections="core"`` analysis leaves empty."""

PROGRAMME_SECTIONS: tuple[str, ...] = ("programme_decay", "programme_parts", "programme_health")
"""The sections only a global holdout's full report fills (docs/programme.md); a core
analysis of a global holdout skips them too."""

@dataclass(frozen=True)
class Chart:
    """A chart that renders itself in notebooks and saves as an SVG or a PNG file.

    It offers both an SVG (``_repr_svg_``: a standalone document with its namespace
    declarations, which JupyterLab, Notebook 7 and nbconvert show through an ``<img>``)
    and a PNG (``_repr_png_``, for viewers without SVG); the front end picks. Build one
    with :meth:`Analysis.plot`, or from any drawing of :mod:`threadlift.report.charts`
    (:func:`~threadlift.report.charts.power_curve`) with :meth:`from_drawing`.

    Attributes:
        svg: the standalone SVG document.
        png: the PNG image.
        width: the width in CSS pixels at which the PNG shows sharp.
        height: the height in CSS pixels.
        label: what the chart shows (its accessible name).
    """

    svg: str = field(repr=False)
    png: bytes = field(repr=False)
    width: int
    height: int
    label: str

    @classmethod
    def from_drawing(cls, drawing: Drawing) -> Chart:
        """The chart of a drawing, written once as SVG and once as PNG."""
        from threadlift.report.charts import css_size

        png = drawing.png()
        width, height = css_size(png)
        return cls(drawing.document(), png, width, height, drawing.label)

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        return self.png, {"width": self.width, "height": self.height}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the chart to ``path``: an SVG file for ``.svg``, a PNG for ``.png``.

        Returns:
            The path written.

        Raises:
            InputError: when the file name ends in neither ``.svg`` nor ``.png``.
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            target.write_text(self.svg, encoding="utf-8")
        elif suffix == ".png":
            target.write_bytes(self.png)
        else:
            raise InputError(
                f"cannot save a chart as {str(target)!r}: the file name must end in .svg or "
                ".png (the format is chosen by the extension)"
            )
        return target

@dataclass(frozen=True)
class NotComputed:
    """A section not computed (skipped by a ``sections="core"`` analysis, or one of a global
    holdout's sections in another experiment's report): an empty object in report.json."""


@dataclass(frozen=True)
class ReportJson:
    """``report.json``: its keys in order, each typed by its section's result rows.

    :meth:`Analysis.to_dict` writes it (NaN and infinities as null, times as ISO 8601) and
    :mod:`threadlift.analysis.schema` derives ``docs/report.schema.json`` from it.
    """

    experiment_id: str
    as_of: datetime
    """Outcomes are counted up to this UTC time."""
    window_days: int
    """Each unit's outcome window, from its own assignment."""
    channel: str
    category: str
    """The category of the experiment's messages (``marketing`` …)."""
    assigned_at: datetime
    status: Literal["ok", "alert"]
    """``alert`` when any alert fired (the CLI exits with code 3)."""
    generated_by: str
    assignment: str
    """Who assigned the units: ``threadlift``, ``external`` or ``global_holdout``."""
    assignments_quarantined: int
    """Assignment rows rejected when loaded (unknown arm or contact, duplicates)."""
    arms: list[ArmRow]
    srm: SRMCheck
    balance: list[BalanceRow]
    metrics: list[MetricRow]
    complier: list[ComplierRow]
    funnel: list[FunnelRow]
    cumulative: list[CumulativeRow]
    guardrails: list[GuardrailResult]
    guardrail_breakdown: list[GuardrailBreakdownRow]
    messaging_limits: list[MessagingLimitRow]
    window_share: list[WindowShareRow]
    window_split: WindowSplit | NotComputed
    segments: list[SegmentRow]
    """Every metric's lift within each segment of each segment dimension."""
    heterogeneity: list[HeterogeneityRow]
    """Per dimension, metric and arm: do the segments' effects differ (Cochran's Q)?"""
    sender_quality: list[SenderQualityRow]
    template_quality: TemplateQuality | TemplateQualityUnavailable | NotComputed
    cost: list[CostRow]
    cost_comparison: list[CostComparisonRow]
    exposure: ExposureAnalysis
    """Exposures per arm, mismatches and the triggered analysis (0 exposures: none logged)."""
    programme_decay: list[DecayRow]
    """A global holdout's lift at 7, 30, 60, 90, 180 and 365 days (as far as as_of reaches)."""
    programme_parts: list[PartRow]
    """The experiments run inside a global holdout's programme, their sums and the direct lift."""
    programme_health: ProgrammeHealth | NotComputed
    """Contamination, drift and attrition of a global holdout (empty for other experiments)."""
    alerts: list[Alert]
    warnings: list[str]
    warning_details: list[WarningDetail]
    """``warnings`` in the same order, each with its kind."""
    methods: list[str]
    """How each statistic was computed, in words."""
    skipped_sections: list[str]
    """The sections a core report leaves empty (:data:`CORE_SKIPS`)."""


@dataclass(frozen=True)
class Analysis:
    """Everything a report shows, as typed results (one type per report section)."""

    experiment: Experiment
    as_of: datetime
    arms: list[ArmRow]
    srm: SRMCheck
    metrics: list[MetricResult]
    balance: list[BalanceRow]
    complier: list[ComplierRow]
    funnel: list[FunnelRow]
    cumulative: list[CumulativeRow]
    guardrails: list[GuardrailResult]
    guardrail_breakdown: list[GuardrailBreakdownRow]
    messaging_limits: list[MessagingLimitRow]
    window_share: list[WindowShareRow]
    sender_quality: list[SenderQualityRow]
    cost: list[CostRow]
    alerts: list[Alert]
    warnings: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    assignments_quarantined: int = 0
    template_quality: TemplateQuality | TemplateQualityUnavailable | None = None
    """``None`` when not computed (a core analysis)."""
    window_split: WindowSplit | None = None
    """``None`` when not computed (a core analysis)."""
    skipped_sections: list[str] = field(default_factory=list)
    cost_comparison: list[CostComparisonRow] = field(default_factory=list)
    warning_details: list[WarningDetail] = field(default_factory=list)
    """``warnings`` with their kinds (:class:`~threadlift.analysis.alerts.WarningDetail`)."""
    segments: SegmentLifts = field(default_factory=lambda: SegmentLifts([], []))
    """Lift by segment and the heterogeneity tests (empty in a core analysis)."""
    exposure: ExposureAnalysis = NO_EXPOSURES
    """Exposures per arm, mismatches and the triggered analysis."""
    programme: Programme | None = None
    """A global holdout's decay curve, sum of parts and health (``None`` otherwise)."""

    @property
    def status(self) -> Literal["ok", "alert"]:
        """``alert`` when any alert fired, else ``ok``."""
        return "alert" if self.alerts else "ok"

    def report_json(self) -> ReportJson:
        """The analysis as ``report.json``'s typed sections."""
        exp = self.experiment
        return ReportJson(
            experiment_id=exp.id,
            as_of=self.as_of,
            window_days=exp.window_days,
            channel=exp.channel,
            category=exp.category,
            assigned_at=exp.assigned_at,
            status=self.status,
            generated_by=f"threadlift {__version__}",
            assignment=exp.assignment,
            assignments_quarantined=self.assignments_quarantined,
            arms=self.arms,
            srm=self.srm,
            balance=self.balance,
            metrics=[m.row() for m in self.metrics],
            complier=self.complier,
            funnel=self.funnel,
            cumulative=self.cumulative,
            guardrails=self.guardrails,
            guardrail_breakdown=self.guardrail_breakdown,
            messaging_limits=self.messaging_limits,
            window_share=self.window_share,
            window_split=NotComputed() if self.window_split is None else self.window_split,
            segments=self.segments.segments,
            heterogeneity=self.segments.heterogeneity,
            sender_quality=self.sender_quality,
            template_quality=(
                NotComputed() if self.template_quality is None else self.template_quality
            ),
            cost=self.cost,
            cost_comparison=self.cost_comparison,
            exposure=self.exposure,
            programme_decay=self.programme.decay if self.programme else [],
            programme_parts=self.programme.parts if self.programme else [],
            programme_health=self.programme.health if self.programme else NotComputed(),
            alerts=self.alerts,
            warnings=self.warnings,
            warning_details=self.warning_details,
            methods=self.methods,
            skipped_sections=self.skipped_sections,
        )

    def to_dict(self) -> dict[str, Any]:
        """``report.json``: every documented key (docs/report.schema.json); NaN becomes null."""
        report: dict[str, Any] = json_value(self.report_json())
        return report

    def summary(self) -> Summary:
        """The report's verdict: level, primary lift, cost per incremental conversion,
        every alert and warning (the headline of report.html and report.md).

        ``print(result.summary())`` shows it as text (:meth:`Summary.as_text`); as the last
        expression of a notebook cell it shows the verdict box.
        """
        from threadlift.report.summary import summarize

        return summarize(self.to_dict())

    def primary(self) -> MetricResult | None:
        """The first metric's first treatment arm against the control arm (the headline)."""
        return next(
            (m for m in self.metrics if m.control_arm == self.experiment.control_arm), None
        )

    def first_against_control(self, metric_type: str) -> dict[str, MetricResult]:
        """Per treatment arm, the first metric of ``metric_type`` against the control arm."""
        return first_against_control(self.metrics, self.experiment.control_arm, metric_type)

    def _repr_html_(self) -> str:
        """The notebook display: the report's own verdict and tables (one table model)."""
        from threadlift.report.html import notebook_html

        return notebook_html(self.to_dict())

    def __repr__(self) -> str:
        return f"<Analysis {self.summary().one_line()}>"

    def plot(self, chart: str = "forest") -> Chart:
        """A chart of this analysis, as the HTML report draws it; shown inline in notebooks.

        Args:
            chart: ``forest`` (every metric's relative effect), ``cumulative`` (lift by day
                since assignment), ``funnel``, ``guardrails``, ``quality`` (sender quality
                timeline), ``template_quality`` (template status and quality timeline),
                ``cost`` or ``programme_decay`` (a global holdout's lift by horizon).

        Returns:
            A :class:`Chart` (SVG and PNG); ``.save("forest.svg")`` writes it to a file.

        Raises:
            InputError: for an unknown chart, or one this analysis has no rows for.
        """
        from threadlift.report import charts

        if chart not in charts.CHARTS:
            raise InputError(
                f"unknown chart {chart!r}; choose one of {', '.join(charts.CHARTS)}"
            )
        drawing = charts.draw(chart, self.to_dict())
        if drawing is None:
            section = {"forest": "metrics", "quality": "sender_quality"}.get(chart, chart)
            why = (
                "a core analysis skips it; run analyze(..., sections='full')"
                if section in self.skipped_sections
                else 'only a global holdout\'s report (assignment = "global_holdout") has it'
                if section in PROGRAMME_SECTIONS and self.programme is None
                else "this analysis has no rows for it"
            )
            raise InputError(f"nothing to draw for {chart!r}: {why}")
        return Chart.from_drawing(drawing)

    def to_pandas(self, section: str = "metrics", *, formatted: bool = False) -> pd.DataFrame:
        """One section of ``report.json`` as a DataFrame, one row per result row.

        Numbers stay numbers (NaN where a statistic is not estimable, with its ``error``
        code beside it), as tea-tasting's ``to_pandas()``; :meth:`to_markdown`,
        :meth:`to_html` and ``print`` show them formatted, and so does
        ``formatted=True``.

        Args:
            section: a key of :data:`FRAMES`: ``metrics``, ``arms``, ``srm``, ``balance``,
                ``complier``, ``funnel``, ``cumulative``, ``guardrails``,
                ``guardrail_breakdown``, ``messaging_limits`` (or ``reach``),
                ``window_share``, ``window_split`` (per-stratum lifts),
                ``window_strata``, ``segments`` (lift per segment), ``heterogeneity``,
                ``sender_quality``, ``templates`` (or
                ``template_quality``), ``template_events``, ``cost``,
                ``cost_comparison``, ``exposure`` (exposures per arm),
                ``exposure_mismatches``, ``triggered`` (the triggered analysis),
                ``alerts``, ``warnings``, ``methods``. Spaces and
                hyphens read as underscores (``"window split"``).
            formatted: text instead of numbers, formatted as in the report
                (:mod:`threadlift.report.format`): p-values to four decimals or
                ``<0.0001``, relative effects as signed percentages, absolute effects
                signed to four significant digits, shares as percentages, money with its
                currency, counts with thousands separators, ``—`` where missing.

        Returns:
            The section's rows with the fields of its result type as columns, in order
            (an empty frame with those columns when the section has no rows).

        Raises:
            InputError: for an unknown section, or one a core analysis did not compute.
        """
        name = section.strip().lower().replace(" ", "_").replace("-", "_")
        name = FRAME_ALIASES.get(name, name)
        if name not in FRAMES:
            known = ", ".join([*FRAMES, *FRAME_ALIASES])
            raise InputError(f"unknown section {section!r}; choose one of {known}")
        row_type, skipped_as = FRAMES[name]
        if skipped_as in self.skipped_sections:
            raise InputError(
                f"section {section!r} was not computed: this is a core analysis; run "
                "analyze(..., sections='full') for it"
            )
        rows = [asdict(row) for row in self._frame_rows(name)]
        columns = [f.name for f in fields(row_type)]
        if formatted:
            rows = [{column: _formatted(column, row) for column in columns} for row in rows]
        import pandas as pd

        return pd.DataFrame(rows, columns=columns)

    def _frame_rows(self, name: str) -> list[Any]:
        """The result rows of one :data:`FRAMES` section."""
        split, templates = self.window_split, self.template_quality
        health = self.programme.health if self.programme else None
        rows: dict[str, Callable[[], list[Any]]] = {
            "metrics": lambda: [m.row() for m in self.metrics],
            "arms": lambda: list(self.arms),
            "srm": lambda: [self.srm],
            "balance": lambda: list(self.balance),
            "complier": lambda: list(self.complier),
            "funnel": lambda: list(self.funnel),
            "cumulative": lambda: list(self.cumulative),
            "guardrails": lambda: list(self.guardrails),
            "guardrail_breakdown": lambda: list(self.guardrail_breakdown),
            "messaging_limits": lambda: list(self.messaging_limits),
            "window_share": lambda: list(self.window_share),
            "window_split": lambda: [] if split is None else list(split.metrics),
            "window_strata": lambda: [] if split is None else list(split.strata),
            "segments": lambda: list(self.segments.segments),
            "heterogeneity": lambda: list(self.segments.heterogeneity),
            "sender_quality": lambda: list(self.sender_quality),
            "templates": lambda: [] if templates is None else list(templates.templates),
            "template_events": lambda: [] if templates is None else list(templates.events),
            "cost": lambda: list(self.cost),
            "cost_comparison": lambda: list(self.cost_comparison),
            "exposure": lambda: list(self.exposure.arms),
            "exposure_mismatches": lambda: list(self.exposure.mismatches),
            "triggered": lambda: list(self.exposure.triggered),
            "programme_decay": lambda: list(self.programme.decay) if self.programme else [],
            "programme_parts": lambda: list(self.programme.parts) if self.programme else [],
            "programme_contamination": lambda: list(health.contamination) if health else [],
            "programme_drift": lambda: list(health.drift) if health else [],
            "programme_attrition": lambda: list(health.attrition) if health else [],
            "alerts": lambda: list(self.alerts),
            "warnings": lambda: list(self.warning_details),
            "methods": lambda: [MethodLine(text) for text in self.methods],
        }
        return rows[name]()

    def to_markdown(self) -> str:
        """The report as Markdown, the text of ``report.md`` (formatted numbers, every section)."""
        from threadlift.report.markdown import render_markdown

        return render_markdown(self.to_dict())

    def to_html(self) -> str:
        """The report as one self-contained HTML page, the text of ``report.html`` (with charts)."""
        from threadlift.report.html import render_html

        return render_html(self.to_dict())

    def __str__(self) -> str:
        """``print(result)``: the Markdown report (:meth:`to_markdown`)."""
        return self.to_markdown()

    def metrics_frame(self) -> pd.DataFrame:
        """Metric results as a DataFrame (one row per metric and arm): ``to_pandas("metrics")``."""
        return self.to_pandas("metrics")

    def guardrails_frame(self) -> pd.DataFrame:
        """Guardrail tests as a DataFrame: ``to_pandas("guardrails")``."""
        return self.to_pandas("guardrails")

    def funnel_frame(self) -> pd.DataFrame:
        """The funnel by arm as a DataFrame: ``to_pandas("funnel")``."""
        return self.to_pandas("funnel")

    def segments_frame(self) -> pd.DataFrame:
        """Lift by segment as a DataFrame (one row per dimension, segment, metric and arm):
        ``to_pandas("segments")``."""
        return self.to_pandas("segments")

    def cost_frame(self) -> pd.DataFrame:
        """Cost per arm and category as a DataFrame: ``to_pandas("cost")``."""
        return self.to_pandas("cost")


def _formatted(column: str, row: dict[str, Any]) -> Any:
    """``row[column]`` as the report shows a column of that name (text stays text)."""
    from threadlift.report import format as fmt

    value = row[column]
    if isinstance(value, bool | str | list | dict):
        return value
    if value is None:
        return fmt.DASH
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if column.startswith("pvalue") or column.endswith("pvalue"):
        return fmt.fmt_pvalue(value)
    if column.startswith("rel_"):
        return fmt.fmt_rel(value)
    if column.startswith("effect_"):
        return fmt.fmt_effect(value)
    if column.endswith("share"):
        return fmt.fmt_share(value)
    if column == "standardized_mean_difference":
        return fmt.fmt_smd(value)
    if "currency" in row and ("cost" in column or "revenue" in column):
        return fmt.fmt_money(value, row["currency"])
    if isinstance(value, int):
        return fmt.fmt_count(value)
    return fmt.fmt_number(value)


@dataclass(frozen=True)
class MethodLine:
    """How one statistic was computed, in words: a row of ``to_pandas("methods")``."""

    method: str


FRAMES: dict[str, tuple[type[Any], str]] = {
    "metrics": (MetricRow, "metrics"),
    "arms": (ArmRow, "arms"),
    "srm": (SRMCheck, "srm"),
    "balance": (BalanceRow, "balance"),
    "complier": (ComplierRow, "complier"),
    "funnel": (FunnelRow, "funnel"),
    "cumulative": (CumulativeRow, "cumulative"),
    "guardrails": (GuardrailResult, "guardrails"),
    "guardrail_breakdown": (GuardrailBreakdownRow, "guardrail_breakdown"),
    "messaging_limits": (MessagingLimitRow, "messaging_limits"),
    "window_share": (WindowShareRow, "window_share"),
    "window_split": (WindowSplitMetricRow, "window_split"),
    "window_strata": (WindowStratumRow, "window_split"),
    "segments": (SegmentRow, "segments"),
    "heterogeneity": (HeterogeneityRow, "heterogeneity"),
    "sender_quality": (SenderQualityRow, "sender_quality"),
    "templates": (TemplateSummary, "template_quality"),
    "template_events": (TemplateEvent, "template_quality"),
    "cost": (CostRow, "cost"),
    "cost_comparison": (CostComparisonRow, "cost_comparison"),
    "exposure": (ExposureArmRow, "exposure"),
    "exposure_mismatches": (ExposureMismatchRow, "exposure"),
    "triggered": (TriggeredMetricRow, "exposure"),
    "programme_decay": (DecayRow, "programme_decay"),
    "programme_parts": (PartRow, "programme_parts"),
    "programme_contamination": (ContaminationRow, "programme_health"),
    "programme_drift": (DriftRow, "programme_health"),
    "programme_attrition": (AttritionRow, "programme_health"),
    "alerts": (Alert, "alerts"),
    "warnings": (WarningDetail, "warnings"),
    "methods": (MethodLine, "methods"),
}
"""The sections of :meth:`Analysis.to_pandas`: each one's row type and its report.json key."""

FRAME_ALIASES: dict[str, str] = {
    "reach": "messaging_limits",
    "template_quality": "templates",
    "window_split_strata": "window_strata",
    "segment": "segments",
    "exposures": "exposure",
    "decay": "programme_decay",
    "sum_of_parts": "programme_parts",
}
"""Other names :meth:`Analysis.to_pandas` accepts."""


def json_value(value: Any) -> Any:
    """``value`` as JSON data: a dataclass becomes an object of its fields in order, NaN and
    infinities become None, datetimes ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value

def default_as_of() -> datetime:
    """Now, in UTC, to the second (naive, like every workspace timestamp)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)

def analyze(
    ws: Workspace,
    experiment: Experiment,
    *,
    as_of: datetime | None = None,
    correction: Correction = "holm",
    engine: Engine | None = None,
    sections: Sections = "full",
    on_stage: Callable[[str], None] | None = None,
) -> Analysis:
    """Run the analysis of ``experiment`` as of ``as_of`` (default: now).

    Args:
        ws: The workspace (its DuckDB connection is the default engine).
        experiment: The validated experiment.
        as_of: Count outcomes up to this UTC time (naive); default now.
        correction: Multiple-testing correction across metrics and arm pairs.
        engine: Where the SQL runs (default: DuckDB on ``ws``).
        sections: ``"full"`` (default) for everything in report.json; ``"core"`` for the
            units, sample-ratio check, metric lifts, balance and guardrail tests only, which
            are what a scheduled guardrail check needs and cost a fraction of the time on
            large logs. A core report lists the skipped sections in ``skipped_sections``.
        on_stage: called with the name of each section as its computation starts (the
            CLI's progress display).
    """
    stage = on_stage or (lambda _name: None)
    if sections not in SECTIONS:
        raise ConfigError(f"sections must be one of {', '.join(SECTIONS)}; got {sections!r}")
    as_of = as_of or default_as_of()
    con: Engine = engine if engine is not None else DuckDBEngine(ws.con)
    stage("arms")
    units = prepare_units(con, experiment, as_of)
    alerts: list[Alert] = []
    warnings = WarningLog()
    methods: list[str] = []

    incomplete = window_warning(experiment.assigned_at, as_of, experiment.window_days)
    warnings.extend("incomplete_window", [incomplete] if incomplete else [])
    arm_rows, srm = arms_and_srm(experiment, units, alerts)
    warnings.extend("no_units", empty_arm_warnings(experiment, units))
    # With nobody assigned, every estimate is degenerate and no guardrail is breached but
    # untested: the one "no units" warning says so instead of an empty_arm per row.
    assigned = any(units.values())
    no_data = warnings.to("no_data") if assigned else []
    stage("metric lifts")
    all_stats = metric_stats(con, experiment)
    metric_rows = compare_metrics(all_stats, experiment, correction, no_data)
    balance_rows = covariate_balance(all_stats, experiment)
    guardrail_alerts: list[Alert] = []
    stage("guardrails")
    guardrails = guardrail_tests(con, experiment, units, guardrail_alerts)
    if assigned:
        alerts.extend(guardrail_alerts)
        no_data.extend(_untested_guardrails(guardrails))
    stage("exposures")
    exposure = exposure_analysis(
        con, experiment, as_of, correction, alerts, warnings.to("exposure"),
        warnings.to("no_data"),
    )
    funnel_rows: list[FunnelRow] = []
    complier: list[ComplierRow] = []
    cumulative: list[CumulativeRow] = []
    breakdown: list[GuardrailBreakdownRow] = []
    limits: list[MessagingLimitRow] = []
    window_share: list[WindowShareRow] = []
    split: WindowSplit | None = None
    by_segment = SegmentLifts([], [])
    quality: list[SenderQualityRow] = []
    templates: TemplateQuality | TemplateQualityUnavailable | None = None
    cost: list[CostRow] = []
    compared: list[CostComparisonRow] = []
    programme: Programme | None = None
    is_programme = experiment.assignment == "global_holdout" and bool(experiment.metrics)
    if sections == "full":
        stage("funnel")
        prepare_sends(con, experiment)
        untagged = untagged_sends_warning(con, experiment)
        warnings.extend("no_data", [untagged] if untagged else [])
        primary = experiment.metrics[0] if experiment.metrics else None
        funnel_rows = funnel(con, experiment, as_of, primary.action if primary else "")
        stage("effects on those reached")
        complier = complier_effects(con, experiment, as_of, all_stats)
        stage("cumulative lift")
        cumulative = cumulative_lift(con, experiment, as_of)
        if experiment.guardrails:
            breakdown = guardrail_breakdown(
                con, experiment, sorted({g.kind for g in experiment.guardrails})
            )
        stage("messaging limits")
        limits = messaging_limits(con, experiment, as_of, warnings.to("messaging_limit"))
        stage("24-hour window")
        window_share = window_shares(con)
        split = window_split(
            con, experiment, window_share, warnings.to("no_data") if assigned else []
        )
        stage("segments")
        by_segment = segment_lifts(con, experiment, correction)
        stage("quality")
        quality = sender_quality(con, experiment, as_of)
        ingest_tables = _has_ingest_tables(con)
        templates = template_quality(
            con, experiment, as_of, ingest_tables, warnings.to("template_status")
        )
        warnings.extend(
            "quality_drop",
            quality_drop_warnings(quality, templates, experiment.assigned_at, as_of),
        )
        stage("cost")
        rules = pricing_rules(DuckDBEngine(ws.con))
        cost = arm_costs(
            con, experiment, metric_rows, units, ingest_tables, warnings.to("cost"), rules
        )
        compared = cost_comparison(experiment, metric_rows, cost, units)
        if is_programme:
            stage("programme")
            programme = programme_report(
                con,
                experiment,
                as_of,
                alerts,
                warnings.to("programme_drift"),
                warnings.to("programme_attrition"),
            )

    rejected = rejected_assignments(con, experiment)
    if rejected:
        warnings.to("quarantine").append(
            f"{rejected} assignment rows for {experiment.id} were quarantined when loaded "
            "(unknown arm or contact, duplicates); see `threadlift quarantine`"
        )
    methods.extend(_methods(experiment, correction))
    methods.extend(exposure_methods(exposure))
    if programme is not None:
        methods.extend(programme_methods())
    return Analysis(
        experiment=experiment,
        as_of=as_of,
        arms=arm_rows,
        srm=srm,
        metrics=metric_rows,
        balance=balance_rows,
        complier=complier,
        funnel=funnel_rows,
        cumulative=cumulative,
        guardrails=guardrails,
        guardrail_breakdown=breakdown,
        messaging_limits=limits,
        window_share=window_share,
        sender_quality=quality,
        cost=cost,
        alerts=alerts,
        warnings=warnings.messages(),
        warning_details=warnings.details(),
        methods=methods,
        assignments_quarantined=rejected,
        template_quality=templates,
        window_split=split,
        skipped_sections=[]
        if sections == "full"
        else [*CORE_SKIPS, *(PROGRAMME_SECTIONS if is_programme else ())],
        cost_comparison=compared,
        segments=by_segment,
        exposure=exposure,
        programme=programme,
    )

def _untested_guardrails(guardrails: list[GuardrailResult]) -> list[str]:
    """A warning per guardrail that could not be tested and was not counted as breached."""
    return [
        f"guardrail {g.guardrail} ({g.arm} vs {g.control_arm}): no data to test ({g.error})"
        for g in guardrails
        if g.error and not g.breached
    ]

def _has_ingest_tables(con: Engine) -> bool:
    """Whether the engine's data hold :data:`~threadlift.engines.lake.INGEST_FACT_TABLES`.

    An engine over the workspace itself does. An engine over a lake (it has a ``lake``,
    like :class:`~threadlift.engines.spark.SparkEngine`) does when the lake has their
    directories (``present``: the tables it found).
    """
    if getattr(con, "lake", None) is None:
        return True
    present: set[str] = getattr(con, "present", set())
    return set(INGEST_FACT_TABLES) <= set(present)

def _methods(experiment: Experiment, correction: Correction) -> list[str]:
    lines = [
        "Intent to treat: every assigned unit is counted from its own assigned_at over "
        f"{experiment.window_days} days (or until as_of), in both arms alike.",
        "Sample-ratio mismatch: chi-square test of arm sizes against the configured weights "
        f"(alert when p < {experiment.srm_alpha}).",
        "Means and proportions: Welch's t-test; relative effects and their intervals on the "
        "log-ratio scale by the delta method (tea-tasting's conventions).",
        "Ratio metrics: delta method. CUPED: one pooled theta over all arms, covariate = the "
        "same quantity over cuped_days before assigned_at.",
        f"Multiple testing: {'Holm' if correction == 'holm' else 'Benjamini-Hochberg'} "
        "adjustment across all metrics and arm pairs (pvalue_adjusted).",
        "Effects on those delivered / read: complier (instrumental-variable) estimates, "
        "ITT divided by the treatment arm's delivered (read) share; never readers vs holdout.",
        "Guardrails: one-sided non-inferiority tests of the rate increase against the margin, "
        "each cell's signals on its own channel against the holdout's on that channel.",
        "Cost: delivered messages priced by pricing category, market and the dated rate card "
        "(failures never billed; status webhook billing first, then the free-entry-point rule "
        "and the pricing_rules table's free windows by date and market; volume tiers by the "
        "sender's billed messages in the calendar month); cost per incremental conversion and "
        "cost ratios between "
        "cells: Fieller's interval, unbounded (null) when a conversion effect's interval "
        "includes zero.",
        "Lift by 24-hour window: units split by a pre-treatment state (an inbound message in "
        "the 24 hours before assignment), never by the kind of message received; per-stratum "
        "effects are not adjusted for multiplicity.",
        "Lift by segment: units split by a segment fixed before treatment (market, "
        "pre-period activity, or the experiment's segments, whose queries read the data as "
        "of assigned_at); each segment compared as the whole experiment (same test, CUPED "
        "included); segments below min_units in an arm pooled into 'other'; "
        f"{'Holm' if correction == 'holm' else 'Benjamini-Hochberg'} adjustment within each "
        "dimension; heterogeneity: Cochran's Q on the segments' effects and standard errors "
        "(chi-square, segments - 1 df).",
    ]
    if experiment.sequential:
        lines.append(
            "Sequential: always-valid asymptotic confidence sequences (Waudby-Smith et al.), "
            "so the report may be read daily."
        )
    return lines
