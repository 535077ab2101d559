"""Analysis of one experiment: SQL → per-arm sufficient statistics → statistics → results.

:func:`analyze` runs every query of the report against the workspace and returns an
:class:`Analysis` whose ``to_dict()`` is ``report.json`` . Python sees only
per-arm aggregates. A degenerate metric carries a named error code; it never aborts the
analysis of the others.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import pandas as pd

from threadlift import __version__
from threadlift.analysis.alerts import Alert
from threadlift.analysis.complier import ComplierRow, complier_effects
from threadlift.analysis.cost import (
    CostComparisonRow,
    CostRow,
    arm_costs,
    cost_comparison,
    pricing_rules,
)
from threadlift.analysis.cumulative import CumulativeRow, cumulative_lift
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
from threadlift.analysis.quality import (
    SenderQualityRow,
    TemplateQuality,
    TemplateQualityUnavailable,
    sender_quality,
    template_quality,
)
from threadlift.analysis.reach import MessagingLimitRow, messaging_limits
from threadlift.analysis.units import (
    ArmRow,
    BalanceRow,
    SRMCheck,
    arms_and_srm,
    covariate_balance,
    prepare_sends,
    prepare_units,
    rejected_assignments,
)
from threadlift.analysis.windows import WindowShareRow, WindowSplit, window_shares, window_split
from threadlift.engines.base import Engine
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.engines.lake import INGEST_FACT_TABLES
from threadlift.errors import ConfigError
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

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
    "sender_quality",
    "template_quality",
    "cost",
    "cost_comparison",
)
"""The report.json sections a ``sections="core"`` analysis leaves empty."""

@dataclass(frozen=True)
class Chart:
    """An SVG chart that renders itself in notebooks."""

    svg: str

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.svg)

@dataclass(frozen=True)
class NotComputed:
    """A section a ``sections="core"`` analysis skips: an empty object in report.json."""


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
    sender_quality: list[SenderQualityRow]
    template_quality: TemplateQuality | TemplateQualityUnavailable | NotComputed
    cost: list[CostRow]
    cost_comparison: list[CostComparisonRow]
    alerts: list[Alert]
    warnings: list[str]
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
            sender_quality=self.sender_quality,
            template_quality=(
                NotComputed() if self.template_quality is None else self.template_quality
            ),
            cost=self.cost,
            cost_comparison=self.cost_comparison,
            alerts=self.alerts,
            warnings=self.warnings,
            methods=self.methods,
            skipped_sections=self.skipped_sections,
        )

    def to_dict(self) -> dict[str, Any]:
        """``report.json``: every documented key (docs/report.schema.json); NaN becomes null."""
        report: dict[str, Any] = json_value(self.report_json())
        return report

    def summary(self) -> str:
        """One line: the first metric's lift against the control arm and whether to trust it."""
        first = self.primary()
        trust = "trustworthy" if self.srm.passed else "NOT trustworthy (sample-ratio mismatch)"
        breached = [g.guardrail for g in self.guardrails if g.breached]
        if first is None:
            lift = "no metrics"
        else:
            c = first.comparison
            lift = (
                f"{first.metric} {first.arm} vs {first.control_arm}: {c.effect_size:+.4g} "
                f"({c.rel_effect_size:+.1%}), {1 - self.experiment.alpha:.0%} CI "
                f"[{c.effect_size_ci_lower:+.4g}, {c.effect_size_ci_upper:+.4g}]"
            )
        guard = f"; guardrails breached: {', '.join(breached)}" if breached else ""
        return f"{self.experiment.id} as of {self.as_of:%Y-%m-%d %H:%M} UTC — {lift}; {trust}{guard}"

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
        return f"<Analysis {self.summary()}>"

    def plot(self, chart: str = "forest") -> Chart:
        """A chart of this analysis, displayed inline in Jupyter (SVG).

        Args:
            chart: ``forest`` (every metric's relative effect), ``cumulative`` (lift by day
                since assignment), ``funnel``, ``guardrails``, ``quality`` (sender quality
                timeline), ``template_quality`` (template status and quality timeline) or
                ``cost``.
        """
        from threadlift.report import charts

        report = self.to_dict()
        makers: dict[str, Any] = {
            "forest": lambda: charts.forest_plot(report["metrics"]),
            "cumulative": lambda: charts.cumulative_plot(report["cumulative"]),
            "funnel": lambda: charts.funnel_plot(report["funnel"]),
            "guardrails": lambda: charts.guardrail_plot(report["guardrails"]),
            "quality": lambda: charts.sender_quality_plot(report["sender_quality"]),
            "template_quality": lambda: charts.template_quality_plot(report["template_quality"]),
            "cost": lambda: charts.cost_plot(report["cost"]),
        }
        if chart not in makers:
            raise ValueError(f"unknown chart {chart!r}; choose one of {', '.join(makers)}")
        svg = makers[chart]()
        if svg is None:
            raise ValueError(f"nothing to draw for {chart!r} (no rows in this analysis)")
        return Chart(str(svg))

    def metrics_frame(self) -> pd.DataFrame:
        """Metric results as a DataFrame (one row per metric and arm)."""
        return pd.DataFrame([asdict(m.row()) for m in self.metrics])

    def guardrails_frame(self) -> pd.DataFrame:
        """Guardrail tests as a DataFrame."""
        return pd.DataFrame([asdict(g) for g in self.guardrails])

    def funnel_frame(self) -> pd.DataFrame:
        """The funnel by arm as a DataFrame."""
        return pd.DataFrame([asdict(f) for f in self.funnel])

    def cost_frame(self) -> pd.DataFrame:
        """Cost per arm and category as a DataFrame."""
        return pd.DataFrame([asdict(c) for c in self.cost])

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
    """
    if sections not in SECTIONS:
        raise ConfigError(f"sections must be one of {', '.join(SECTIONS)}; got {sections!r}")
    as_of = as_of or default_as_of()
    con: Engine = engine if engine is not None else DuckDBEngine(ws.con)
    units = prepare_units(con, experiment, as_of)
    alerts: list[Alert] = []
    warnings: list[str] = []
    methods: list[str] = []

    arm_rows, srm = arms_and_srm(experiment, units, alerts)
    all_stats = metric_stats(con, experiment)
    metric_rows = compare_metrics(all_stats, experiment, correction, warnings)
    balance_rows = covariate_balance(all_stats, experiment)
    guardrails = guardrail_tests(con, experiment, units, alerts)
    funnel_rows: list[FunnelRow] = []
    complier: list[ComplierRow] = []
    cumulative: list[CumulativeRow] = []
    breakdown: list[GuardrailBreakdownRow] = []
    limits: list[MessagingLimitRow] = []
    window_share: list[WindowShareRow] = []
    split: WindowSplit | None = None
    quality: list[SenderQualityRow] = []
    templates: TemplateQuality | TemplateQualityUnavailable | None = None
    cost: list[CostRow] = []
    compared: list[CostComparisonRow] = []
    if sections == "full":
        prepare_sends(con, experiment)
        primary = experiment.metrics[0] if experiment.metrics else None
        funnel_rows = funnel(con, experiment, as_of, primary.action if primary else "")
        complier = complier_effects(con, experiment, as_of, all_stats)
        cumulative = cumulative_lift(con, experiment, as_of)
        if experiment.guardrails:
            breakdown = guardrail_breakdown(
                con, experiment, sorted({g.kind for g in experiment.guardrails})
            )
        limits = messaging_limits(con, experiment, as_of, warnings)
        window_share = window_shares(con)
        split = window_split(con, experiment, window_share, warnings)
        quality = sender_quality(con, experiment, as_of)
        ingest_tables = _has_ingest_tables(con)
        templates = template_quality(con, experiment, as_of, ingest_tables, warnings)
        rules = pricing_rules(DuckDBEngine(ws.con))
        cost = arm_costs(con, experiment, metric_rows, units, ingest_tables, warnings, rules)
        compared = cost_comparison(experiment, metric_rows, cost, units)

    rejected = rejected_assignments(con, experiment)
    if rejected:
        warnings.append(
            f"{rejected} assignment rows for {experiment.id} were quarantined when loaded "
            "(unknown arm or contact, duplicates); see `threadlift quarantine`"
        )
    methods.extend(_methods(experiment, correction))
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
        warnings=warnings,
        methods=methods,
        assignments_quarantined=rejected,
        template_quality=templates,
        window_split=split,
        skipped_sections=[] if sections == "full" else list(CORE_SKIPS),
        cost_comparison=compared,
    )

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
    ]
    if experiment.sequential:
        lines.append(
            "Sequential: always-valid asymptotic confidence sequences (Waudby-Smith et al.), "
            "so the report may be read daily."
        )
    return lines
