"""Analysis of one experiment: SQL → per-arm sufficient statistics → statistics → results.

:func:`analyze` runs every query of the report against the workspace and returns an
:class:`Analysis` whose ``to_dict()`` is ``report.json`` (DESIGN.md). Python sees only
per-arm aggregates. A degenerate metric carries a named error code; it never aborts the
analysis of the others.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import pandas as pd

from threadlift import __version__, stats
from threadlift.cost import (
    ArmCost,
    calling_code_markets,
    compare_cost_per_incremental,
    cost_per_incremental,
)
from threadlift.engine import DuckDBEngine, Engine
from threadlift.engines.lake import INGEST_FACT_TABLES
from threadlift.errors import ConfigError
from threadlift.experiment import Experiment, Metric
from threadlift.guardrails import tier_limit
from threadlift.moments import SufficientStats
from threadlift.outcomes import (
    WINDOW_STATES,
    FunnelRow,
    cumulative_conversion,
    funnel,
    guardrail_breakdown,
    guardrail_counts,
    mark_free_entry_points,
    metric_stats,
    prepare_sends,
    prepare_units,
    proportion_stats,
    takeup_moments,
    template_events,
    window_state_sends,
    window_state_stats,
    with_takeup,
)
from threadlift.workspace import Workspace

Correction = Literal["holm", "fdr_bh"]
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
class Alert:
    """Something that makes the report untrustworthy or the experiment harmful (exit code 3)."""

    kind: str
    message: str


@dataclass(frozen=True)
class MetricResult:
    """One metric's comparison of one arm with its control arm."""

    metric: str
    type: str
    arm: str
    control_arm: str
    comparison: stats.Comparison
    pvalue_adjusted: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "metric": self.metric,
            "type": self.type,
            "arm": self.arm,
            "control_arm": self.control_arm,
            "control": c.control,
            "treatment": c.treatment,
            "effect_size": c.effect_size,
            "effect_size_ci_lower": c.effect_size_ci_lower,
            "effect_size_ci_upper": c.effect_size_ci_upper,
            "rel_effect_size": c.rel_effect_size,
            "rel_effect_size_ci_lower": c.rel_effect_size_ci_lower,
            "rel_effect_size_ci_upper": c.rel_effect_size_ci_upper,
            "pvalue": c.pvalue,
            "pvalue_adjusted": self.pvalue_adjusted,
            "method": c.method,
            "error": c.error,
        }


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
class Analysis:
    """Everything a report shows, as plain data."""

    experiment: Experiment
    as_of: datetime
    arms: list[dict[str, Any]]
    srm: dict[str, Any]
    metrics: list[MetricResult]
    balance: list[dict[str, Any]]
    complier: list[dict[str, Any]]
    funnel: list[FunnelRow]
    cumulative: list[dict[str, Any]]
    guardrails: list[dict[str, Any]]
    guardrail_breakdown: list[dict[str, Any]]
    messaging_limits: list[dict[str, Any]]
    window_share: list[dict[str, Any]]
    sender_quality: list[dict[str, Any]]
    cost: list[dict[str, Any]]
    alerts: list[Alert]
    warnings: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    assignments_quarantined: int = 0
    template_quality: dict[str, Any] = field(default_factory=dict)
    window_split: dict[str, Any] = field(default_factory=dict)
    skipped_sections: list[str] = field(default_factory=list)
    cost_comparison: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``alert`` when any alert fired, else ``ok``."""
        return "alert" if self.alerts else "ok"

    def to_dict(self) -> dict[str, Any]:
        """``report.json``: the DESIGN.md keys plus extensions; NaN becomes null."""
        exp = self.experiment
        report = {
            "experiment_id": exp.id,
            "as_of": self.as_of.isoformat(),
            "window_days": exp.window_days,
            "channel": exp.channel,
            "category": exp.category,
            "assigned_at": exp.assigned_at.isoformat(),
            "status": self.status,
            "generated_by": f"threadlift {__version__}",
            "assignment": exp.assignment,
            "assignments_quarantined": self.assignments_quarantined,
            "arms": self.arms,
            "srm": self.srm,
            "balance": self.balance,
            "metrics": [m.to_dict() for m in self.metrics],
            "complier": self.complier,
            "funnel": [asdict(f) for f in self.funnel],
            "cumulative": self.cumulative,
            "guardrails": self.guardrails,
            "guardrail_breakdown": self.guardrail_breakdown,
            "messaging_limits": self.messaging_limits,
            "window_share": self.window_share,
            "window_split": self.window_split,
            "sender_quality": self.sender_quality,
            "template_quality": self.template_quality,
            "cost": self.cost,
            "cost_comparison": self.cost_comparison,
            "alerts": [asdict(a) for a in self.alerts],
            "warnings": self.warnings,
            "methods": self.methods,
            "skipped_sections": self.skipped_sections,
        }
        cleaned: dict[str, Any] = _clean(report)
        return cleaned

    def summary(self) -> str:
        """One line: the first metric's lift against the control arm and whether to trust it."""
        first = self.primary()
        trust = "trustworthy" if self.srm.get("passed") else "NOT trustworthy (sample-ratio mismatch)"
        breached = [g["guardrail"] for g in self.guardrails if g["breached"]]
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
        import html

        parts = [f"<p><b>{html.escape(self.summary())}</b></p>"]
        parts.extend(
            f"<p style='color:#b00020'>&#9888; {html.escape(a.message)}</p>" for a in self.alerts
        )
        columns = [
            "metric", "arm", "control_arm", "control", "treatment", "effect_size",
            "effect_size_ci_lower", "effect_size_ci_upper", "rel_effect_size", "pvalue",
            "pvalue_adjusted", "method",
        ]
        frame = self.metrics_frame()
        if not frame.empty:
            parts.append(frame[columns].to_html(index=False, float_format=lambda v: f"{v:.4g}"))
        if self.guardrails:
            guard = self.guardrails_frame()[
                ["guardrail", "arm", "control", "treatment", "effect_size", "threshold",
                 "pvalue", "breached"]
            ]
            parts.append(guard.to_html(index=False, float_format=lambda v: f"{v:.4g}"))
        return "\n".join(parts)

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
        from threadlift import charts

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
        return pd.DataFrame([m.to_dict() for m in self.metrics])

    def guardrails_frame(self) -> pd.DataFrame:
        """Guardrail tests as a DataFrame."""
        return pd.DataFrame(self.guardrails)

    def funnel_frame(self) -> pd.DataFrame:
        """The funnel by arm as a DataFrame."""
        return pd.DataFrame([asdict(f) for f in self.funnel])

    def cost_frame(self) -> pd.DataFrame:
        """Cost per arm and category as a DataFrame."""
        return pd.DataFrame(self.cost)


def _clean(value: Any) -> Any:
    """Recursively replace NaN/inf by None and datetimes by ISO strings (valid JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def default_as_of() -> datetime:
    """Now, in UTC, to the second (naive, like every workspace timestamp)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


GUARDRAIL_KINDS = (
    "block",
    "report",
    "opt_out",
    "marketing_stop",
    "spam_rate_limited",
    "marketing_cap",
    "undeliverable",
)


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

    arm_rows, srm = _srm(experiment, units, alerts)
    all_stats = metric_stats(con, experiment)
    metric_rows = _metrics(all_stats, experiment, correction, warnings)
    balance_rows = _balance(all_stats, experiment)
    guardrails = _guardrails(con, experiment, units, alerts)
    funnel_rows: list[FunnelRow] = []
    complier: list[dict[str, Any]] = []
    cumulative: list[dict[str, Any]] = []
    breakdown: list[dict[str, Any]] = []
    limits: list[dict[str, Any]] = []
    window_share: list[dict[str, Any]] = []
    window_split: dict[str, Any] = {}
    quality: list[dict[str, Any]] = []
    template_quality: dict[str, Any] = {}
    cost: list[dict[str, Any]] = []
    cost_comparison: list[dict[str, Any]] = []
    if sections == "full":
        prepare_sends(con, experiment)
        primary = experiment.metrics[0] if experiment.metrics else None
        funnel_rows = funnel(con, experiment, as_of, primary.action if primary else "")
        complier = _complier(con, experiment, as_of, all_stats)
        cumulative = _cumulative(con, experiment, as_of)
        if experiment.guardrails:
            breakdown = guardrail_breakdown(
                con, experiment, sorted({g.kind for g in experiment.guardrails})
            )
        limits = _messaging_limits(con, experiment, as_of, warnings)
        window_share = con.run("stats/window_share").dicts()
        window_split = _window_split(con, experiment, window_share, warnings)
        quality = _sender_quality(con, experiment, as_of)
        ingest_tables = _has_ingest_tables(con)
        template_quality = _template_quality(con, experiment, as_of, ingest_tables, warnings)
        cost = _cost(con, experiment, metric_rows, units, ingest_tables, warnings)
        cost_comparison = _cost_comparison(experiment, metric_rows, cost, units)

    rejected = _rejected_assignments(con, experiment)
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
        template_quality=template_quality,
        window_split=window_split,
        skipped_sections=[] if sections == "full" else list(CORE_SKIPS),
        cost_comparison=cost_comparison,
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


def _rejected_assignments(con: Engine, experiment: Experiment) -> int:
    rows = con.run("outcomes/quarantined_assignments", {"experiment_id": experiment.id}).rows
    return int(rows[0][0]) if rows else 0


def _srm(
    experiment: Experiment, units: dict[str, int], alerts: list[Alert]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    names = [arm.name for arm in experiment.arms]
    weights = [arm.weight for arm in experiment.arms]
    observed = [units.get(name, 0) for name in names]
    total_units = sum(observed)
    total_weight = math.fsum(weights)
    arm_rows = [
        {
            "arm": arm.name,
            "holdout": arm.holdout,
            "units": units.get(arm.name, 0),
            "weight": arm.weight,
            "expected_share": arm.weight / total_weight,
            "observed_share": units.get(arm.name, 0) / total_units if total_units else math.nan,
        }
        for arm in experiment.arms
    ]
    result = stats.srm_test(observed, weights, alpha=experiment.srm_alpha)
    srm = {
        "pvalue": result.pvalue,
        "passed": bool(result.passed),
        "statistic": result.statistic,
        "alpha": experiment.srm_alpha,
    }
    if not result.passed:
        shares = ", ".join(
            f"{r['arm']} {r['observed_share']:.2%} (expected {r['expected_share']:.2%})"
            for r in arm_rows
        )
        alerts.append(
            Alert(
                "srm",
                f"sample-ratio mismatch: arm sizes differ from the configured weights "
                f"(p = {result.pvalue:.2g} < {experiment.srm_alpha}); {shares}. "
                "Do not trust the lift until the cause (eligibility, logging, assignment) is found.",
            )
        )
    return arm_rows, srm


def _balance(
    all_stats: dict[str, dict[str, SufficientStats]], experiment: Experiment
) -> list[dict[str, Any]]:
    """Pre-period balance of each CUPED covariate: standardised difference and Welch test."""
    control = experiment.control_arm
    rows: list[dict[str, Any]] = []
    for metric in experiment.metrics:
        if metric.cuped_days is None:
            continue
        per_arm = all_stats.get(metric.name, {})
        for arm in experiment.arms:
            if arm.name == control:
                continue
            result = stats.balance(
                per_arm.get(control, SufficientStats(0)), per_arm.get(arm.name, SufficientStats(0))
            )
            rows.append(
                {
                    "metric": metric.name,
                    "covariate": f"{metric.name} over the {metric.cuped_days} days before assignment",
                    "arm": arm.name,
                    "control_arm": control,
                    "control_mean": result.control_mean,
                    "treatment_mean": result.treatment_mean,
                    "standardized_mean_difference": result.standardized_mean_difference,
                    "pvalue": result.pvalue,
                    "error": result.error,
                }
            )
    return rows


def _comparison_pairs(experiment: Experiment) -> list[tuple[str, str]]:
    """(arm, control_arm): each treatment against the holdout, then treatment against treatment."""
    control = experiment.control_arm
    treatments = [arm.name for arm in experiment.arms if arm.name != control]
    pairs = [(arm, control) for arm in treatments]
    for i, first in enumerate(treatments):
        for second in treatments[i + 1 :]:
            pairs.append((second, first))
    return pairs


def _metrics(
    all_stats: dict[str, dict[str, SufficientStats]],
    experiment: Experiment,
    correction: Correction,
    warnings: list[str],
) -> list[MetricResult]:
    results: list[MetricResult] = []
    for metric in experiment.metrics:
        per_arm = all_stats.get(metric.name, {})
        allowed = set(metric.arms) if metric.arms else None
        for arm, control_arm in _comparison_pairs(experiment):
            if allowed is not None and not {arm, control_arm} <= allowed:
                continue
            comparison = _compare_metric(experiment, metric, per_arm, control_arm, arm)
            if comparison.error:
                warnings.append(
                    f"metric {metric.name} ({arm} vs {control_arm}): {comparison.error}"
                )
            results.append(MetricResult(metric.name, metric.type, arm, control_arm, comparison))
    adjusted = stats.adjust_pvalues([r.comparison.pvalue for r in results], method=correction)
    return [
        MetricResult(r.metric, r.type, r.arm, r.control_arm, r.comparison, p)
        for r, p in zip(results, adjusted, strict=True)
    ]


def _compare_metric(
    experiment: Experiment,
    metric: Metric,
    per_arm: dict[str, SufficientStats],
    control_arm: str,
    arm: str,
) -> stats.Comparison:
    """``arm`` against ``control_arm`` on ``metric``, with the experiment's test settings."""
    return stats.compare(
        metric.type,
        per_arm.get(control_arm, SufficientStats(units=0)),
        per_arm.get(arm, SufficientStats(units=0)),
        alpha=experiment.alpha,
        cuped=metric.cuped_days is not None,
        sequential=experiment.sequential,
        proportion_test=metric.proportion_test,
    )


def _complier(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    all_stats: dict[str, dict[str, SufficientStats]],
) -> list[dict[str, Any]]:
    """Effects on those delivered / read: Wald IV estimates against the holdout."""
    control = experiment.control_arm
    if not any(arm.holdout for arm in experiment.arms):
        return []
    moments = takeup_moments(con, experiment, as_of)
    rows: list[dict[str, Any]] = []
    for metric in experiment.metrics:
        if metric.type == "ratio":
            continue
        per_arm = all_stats.get(metric.name, {})
        for arm in experiment.arms:
            if arm.name == control:
                continue
            for stage in ("delivered", "read"):
                treated = moments.get((arm.name, metric.action, stage))
                if treated is None or treated.units == 0:
                    continue
                estimate = stats.complier_effect(
                    with_takeup(
                        per_arm.get(control, SufficientStats(0)),
                        moments.get((control, metric.action, stage)),
                        metric.type,
                    ),
                    with_takeup(per_arm.get(arm.name, SufficientStats(0)), treated, metric.type),
                    alpha=experiment.alpha,
                )
                units = per_arm.get(arm.name, SufficientStats(0)).units
                rows.append(
                    {
                        "metric": metric.name,
                        "arm": arm.name,
                        "control_arm": control,
                        "stage": stage,
                        "share": treated.units / units if units else math.nan,
                        "effect_size": estimate.effect_size,
                        "effect_size_ci_lower": estimate.effect_size_ci_lower,
                        "effect_size_ci_upper": estimate.effect_size_ci_upper,
                        "pvalue": estimate.pvalue,
                        "method": estimate.method,
                        "error": estimate.error,
                    }
                )
    return rows


def _cumulative(con: Engine, experiment: Experiment, as_of: datetime) -> list[dict[str, Any]]:
    metric = next((m for m in experiment.metrics if m.type == "proportion"), None)
    if metric is None:
        return []
    rows = cumulative_conversion(con, experiment, as_of, metric.action)
    by_key = {(row.arm, row.day): row.stats for row in rows}
    control = experiment.control_arm
    result: list[dict[str, Any]] = []
    for arm in experiment.arms:
        if arm.name == control:
            continue
        for day in range(1, experiment.window_days + 1):
            control_stats = by_key.get((control, day))
            treatment_stats = by_key.get((arm.name, day))
            if control_stats is None or treatment_stats is None:
                continue
            comparison = stats.compare(
                "proportion", control_stats, treatment_stats, alpha=experiment.alpha
            )
            result.append(
                {
                    "metric": metric.name,
                    "arm": arm.name,
                    "control_arm": control,
                    "day": day,
                    "units": control_stats.units + treatment_stats.units,
                    "control": comparison.control,
                    "treatment": comparison.treatment,
                    "effect_size": comparison.effect_size,
                    "effect_size_ci_lower": comparison.effect_size_ci_lower,
                    "effect_size_ci_upper": comparison.effect_size_ci_upper,
                }
            )
    return result


def _guardrails(
    con: Engine, experiment: Experiment, units: dict[str, int], alerts: list[Alert]
) -> list[dict[str, Any]]:
    if not experiment.guardrails:
        return []
    counts = guardrail_counts(con, experiment)
    control = experiment.control_arm
    rows: list[dict[str, Any]] = []
    for guardrail in experiment.guardrails:
        control_stats = proportion_stats(units[control], counts.get((control, guardrail.kind), 0.0))
        for arm in experiment.arms:
            if arm.name == control:
                continue
            treatment_stats = proportion_stats(
                units[arm.name], counts.get((arm.name, guardrail.kind), 0.0)
            )
            test = stats.noninferiority(
                "proportion",
                control_stats,
                treatment_stats,
                max_increase=guardrail.max_increase,
                max_rel_increase=guardrail.max_rel_increase,
                alpha=experiment.alpha,
            )
            rows.append(
                {
                    "guardrail": guardrail.name,
                    "kind": guardrail.kind,
                    "arm": arm.name,
                    "control_arm": control,
                    "control": test.control,
                    "treatment": test.treatment,
                    "effect_size": test.effect_size,
                    "effect_size_ci_upper": test.ci_upper,
                    "threshold": test.threshold,
                    "margin_type": "relative" if test.relative else "absolute",
                    "method": test.method,
                    "error": test.error,
                    "pvalue": test.pvalue,
                    "breached": bool(test.breached),
                }
            )
            if test.breached:
                margin = (
                    f"{guardrail.max_increase:g} absolute"
                    if guardrail.max_increase is not None
                    else f"{guardrail.max_rel_increase:.0%} relative"
                )
                alerts.append(
                    Alert(
                        "guardrail",
                        f"guardrail {guardrail.name} breached in arm {arm.name}: "
                        f"{guardrail.kind} rate {test.treatment:.3%} vs {test.control:.3%} in "
                        f"{control}; the increase cannot be shown to stay within {margin} "
                        f"(one-sided p = {test.pvalue:.3g})",
                    )
                )
    return rows


def _messaging_limits(
    con: Engine, experiment: Experiment, as_of: datetime, warnings: list[str]
) -> list[dict[str, Any]]:
    """Peak unique out-of-window contacts per moving 24 hours per sender, against its tier."""
    rows = con.run(
        "stats/messaging_limit_usage",
        {
            "experiment_id": experiment.id,
            "since": experiment.assigned_at - timedelta(days=1),
            "as_of": as_of,
        },
    ).dicts()
    for row in rows:
        limit = tier_limit(row["messaging_limit_tier"])
        row["tier_limit"] = limit
        row["usage_share"] = row["peak_unique_contacts"] / limit if limit > 0 else math.nan
        if row["peak_unique_contacts"] > limit:
            warnings.append(
                f"sender {row['sender_id']} reached {row['peak_unique_contacts']:,} unique "
                f"contacts outside a service window in 24 hours, above its "
                f"{row['messaging_limit_tier']} limit ({limit:,.0f})"
            )
    return rows


WINDOW_STATE_DEFINITION = (
    "open: the contact wrote to the business on the experiment's channel (and sender) in the "
    "24 hours up to its assignment, so a free-form session message could be sent at once; "
    "closed: otherwise. Decided before treatment and alike in every arm."
)


def _window_split(
    con: Engine,
    experiment: Experiment,
    window_share: list[dict[str, Any]],
    warnings: list[str],
) -> dict[str, Any]:
    """Lift split by the unit's customer-service-window state at assignment.

    Splitting by the kind of message a unit actually received would compare treated units
    selected after treatment with a holdout that received nothing; the window state at
    assignment is known for every unit in every arm, so each stratum's comparison keeps
    the randomisation. Computed only when the experiment sent both session messages and
    templates.
    """
    control = experiment.control_arm
    treated = [row for row in window_share if row["arm"] != control]
    session = sum(int(row["session_messages"]) for row in treated)
    template = sum(int(row["template_messages"]) for row in treated)
    result: dict[str, Any] = {
        "reported": False,
        "stratum": "window_state",
        "definition": WINDOW_STATE_DEFINITION,
        "session_messages": session,
        "template_messages": template,
        "strata": [],
        "metrics": [],
    }
    if session == 0 or template == 0:
        sent = session + template
        result["note"] = (
            "not split: the treatment arms sent no messages"
            if sent == 0
            else f"not split: all {sent:,} treatment messages were "
            + ("free-form session messages" if template == 0 else "templates")
            + "; the split is reported only when both kinds of sends occur"
        )
        return result
    all_stats = window_state_stats(con, experiment)
    sends = window_state_sends(con)
    strata: list[dict[str, Any]] = []
    for state in WINDOW_STATES:
        for arm in experiment.arms:
            counts = sends.get((state, arm.name), {})
            messages = counts.get("messages", 0)
            strata.append(
                {
                    "window_state": state,
                    "arm": arm.name,
                    "holdout": arm.holdout,
                    "units": counts.get("units", 0),
                    "units_sent": counts.get("units_sent", 0),
                    "messages": messages,
                    "session_messages": counts.get("session_messages", 0),
                    "template_messages": counts.get("template_messages", 0),
                    "session_share": counts.get("session_messages", 0) / messages
                    if messages
                    else math.nan,
                }
            )
    rows: list[dict[str, Any]] = []
    for metric in experiment.metrics:
        for arm in experiment.arms:
            if arm.name == control:
                continue
            by_state: dict[str, stats.Comparison] = {}
            for state in WINDOW_STATES:
                per_arm = all_stats[state][metric.name]
                comparison = _compare_metric(experiment, metric, per_arm, control, arm.name)
                by_state[state] = comparison
                rows.append(
                    {
                        "window_state": state,
                        "metric": metric.name,
                        "type": metric.type,
                        "arm": arm.name,
                        "control_arm": control,
                        "control_units": per_arm.get(control, SufficientStats(0)).units,
                        "treatment_units": per_arm.get(arm.name, SufficientStats(0)).units,
                        "control": comparison.control,
                        "treatment": comparison.treatment,
                        "effect_size": comparison.effect_size,
                        "effect_size_ci_lower": comparison.effect_size_ci_lower,
                        "effect_size_ci_upper": comparison.effect_size_ci_upper,
                        "rel_effect_size": comparison.rel_effect_size,
                        "rel_effect_size_ci_lower": comparison.rel_effect_size_ci_lower,
                        "rel_effect_size_ci_upper": comparison.rel_effect_size_ci_upper,
                        "pvalue": comparison.pvalue,
                        "method": comparison.method,
                        "error": comparison.error,
                    }
                )
            difference = _effect_difference(by_state["open"], by_state["closed"])
            for row in rows[-len(WINDOW_STATES) :]:
                row["effect_difference_open_minus_closed"] = difference[0]
                row["effect_difference_pvalue"] = difference[1]
            errors = {c.error for c in by_state.values() if c.error}
            if errors:
                warnings.append(
                    f"window split of {metric.name} ({arm.name} vs {control}): "
                    + ", ".join(sorted(errors))
                )
    result.update(reported=True, strata=strata, metrics=rows, note=None)
    return result


def _effect_difference(open_: stats.Comparison, closed: stats.Comparison) -> tuple[float, float]:
    """Difference of two independent strata's effects and its two-sided normal p-value."""
    if open_.error or closed.error:
        return math.nan, math.nan
    difference = open_.effect_size - closed.effect_size
    se = math.hypot(open_.se, closed.se)
    if not math.isfinite(se) or se <= 0:
        return difference, math.nan
    from scipy.stats import norm

    return difference, float(2 * norm.sf(abs(difference / se)))


TEMPLATE_PAUSE_EVENTS = ("PAUSED",)
TEMPLATE_ALARM_EVENTS = ("PAUSED", "DISABLED", "FLAGGED", "PENDING_DELETION", "LIMIT_EXCEEDED")
"""Template status events that stop or threaten sends (platforms.md §2.4)."""


def _template_quality(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    ingest_tables: bool,
    warnings: list[str],
) -> dict[str, Any]:
    """Status, quality and category history of the templates the experiment sent.

    Events come from the WhatsApp template webhooks that ingest keeps in
    ``platform_events``. The window runs from the first assignment to the last unit's
    window end; per template and kind the last event before it gives the starting state,
    every event inside it is listed, later events are left out.
    """
    if not ingest_tables:
        return {
            "available": False,
            "note": f"not available on the {con.name} engine: template events come from "
            "WhatsApp webhook ingest (platform_events), which its lake does not hold",
            "templates": [],
            "events": [],
        }
    default_end = min(experiment.assigned_at + timedelta(days=experiment.window_days), as_of)
    rows = template_events(con, experiment, as_of)
    window_start = rows[0]["window_start"] if rows else experiment.assigned_at
    window_end = rows[0]["window_end"] if rows else default_end
    event_keys = (
        "template", "template_id", "language", "kind", "event", "previous", "title", "reason",
        "correct_category", "ts", "phase",
    )
    events = [{k: row[k] for k in event_keys} for row in rows if row["kind"] is not None]
    templates: list[dict[str, Any]] = []
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    messages: dict[str, int] = {}
    for row in rows:
        messages[row["template"]] = int(row["messages"])
        key = (row["template"], row["language"])
        groups.setdefault(key, [])
        if row["kind"] is not None:
            groups[key].append(row)
    for (template, language), mine in groups.items():
        summary = _template_summary(mine, window_end)
        templates.append(
            {
                "template": template,
                "language": language,
                "template_id": next((r["template_id"] for r in mine if r["template_id"]), None),
                "messages": messages[template],
                **summary,
            }
        )
        for pause in summary["pauses"]:
            if pause["end"] is None or pause["end"] >= window_start:
                warnings.append(
                    f"template {template}"
                    + (f" ({language})" if language else "")
                    + f" was paused from {pause['start']:%Y-%m-%d %H:%M} UTC"
                    + (f" ({pause['title']})" if pause["title"] else "")
                    + (
                        f" to {pause['end']:%Y-%m-%d %H:%M} UTC"
                        if pause["end"] is not None
                        else " to the end of the experiment window"
                    )
                    + "; the platform rejects sends of a paused template"
                )
        for event in ("DISABLED", "FLAGGED"):
            if event in summary["alarms"]:
                warnings.append(
                    f"template {template} was {event.lower()} during the experiment window"
                )
    return {
        "available": True,
        "window_start": window_start,
        "window_end": window_end,
        "templates": templates,
        "events": events,
        "note": None if events else "no status, quality or category events were ingested "
        "for the templates this experiment sent",
    }


def _template_summary(events: list[dict[str, Any]], window_end: datetime) -> dict[str, Any]:
    """States at the window's start and end, transitions inside it, and pause intervals."""
    summary: dict[str, Any] = {}
    for kind in ("status", "quality", "category"):
        mine = [e for e in events if e["kind"] == kind]
        before = [e for e in mine if e["phase"] == "before"]
        summary[f"{kind}_at_start"] = before[-1]["event"] if before else None
        summary[f"{kind}_at_end"] = mine[-1]["event"] if mine else None
    during = [e for e in events if e["phase"] == "during"]
    summary["changes"] = len(during)
    summary["alarms"] = sorted(
        {e["event"] for e in during if e["kind"] == "status" and e["event"] in TEMPLATE_ALARM_EVENTS}
    )
    summary["quality_changes"] = [
        f"{e['previous'] or '?'}→{e['event']}" for e in during if e["kind"] == "quality"
    ]
    pauses: list[dict[str, Any]] = []
    for event in (e for e in events if e["kind"] == "status"):
        open_pause = pauses[-1] if pauses and pauses[-1]["end"] is None else None
        if event["event"] in TEMPLATE_PAUSE_EVENTS:
            if open_pause is None:
                pauses.append({"start": event["ts"], "end": None, "title": event["title"]})
        elif open_pause is not None:
            open_pause["end"] = event["ts"]
    for pause in pauses:
        pause["ongoing_at_window_end"] = pause["end"] is None
        pause["hours"] = ((pause["end"] or window_end) - pause["start"]).total_seconds() / 3600
    summary["pauses"] = pauses
    return summary


def _sender_quality(con: Engine, experiment: Experiment, as_of: datetime) -> list[dict[str, Any]]:
    return con.run(
        "stats/sender_quality",
        {
            "experiment_id": experiment.id,
            "sender_id": experiment.sender_id,
            "since": experiment.assigned_at - timedelta(days=7),
            "as_of": as_of,
        },
    ).dicts()


def _cost(
    con: Engine,
    experiment: Experiment,
    metrics: list[MetricResult],
    units: dict[str, int],
    referrals: bool,
    warnings: list[str],
) -> list[dict[str, Any]]:
    """Billed messages and cost per arm, with cost per incremental conversion and return."""
    mark_free_entry_points(con)
    if not referrals and experiment.channel == "whatsapp":
        warnings.append(
            f"cost on the {con.name} engine applies no free-entry-point rule: message_referrals "
            "(from WhatsApp ingest) is not in its lake; messages without a billable status "
            "inside a free-entry-point window are priced as charged"
        )
    codes, regions = calling_code_markets()
    rows = con.run(
        "stats/cost",
        {"calling_codes": codes, "calling_regions": regions},
    ).dicts()
    control = experiment.control_arm
    conversion = first_against_control(metrics, control, "proportion")
    revenue = first_against_control(metrics, control, "mean")
    totals: dict[tuple[str, str | None], float] = {}
    for row in rows:
        key = (row["arm"], row["currency"])
        totals[key] = totals.get(key, 0.0) + float(row["cost"])
        if row["unpriced"]:
            warnings.append(
                f"{row['unpriced']} billed {row['channel']} {row['category']} messages in arm "
                f"{row['arm']} have no rate-card price for their market; load a rate_card row"
            )
    result: list[dict[str, Any]] = []
    for row in rows:
        arm = str(row["arm"])
        n = units.get(arm, 0)
        total = totals[(arm, row["currency"])]
        conv = conversion.get(arm)
        per = cost_per_incremental(total, conv.comparison, n) if conv is not None else None
        rev = revenue.get(arm)
        incremental_revenue = rev.comparison.effect_size * n if rev is not None else math.nan
        result.append(
            {
                "arm": arm,
                "channel": row["channel"],
                "category": row["category"],
                "currency": row["currency"],
                "messages": int(row["messages"]),
                "messages_billed": int(row["messages_billed"]),
                "messages_free_entry_point": int(row["messages_free_entry_point"]),
                "cost": float(row["cost"]),
                "unpriced": int(row["unpriced"]),
                "arm_total_cost": total,
                "incremental_conversions": per.incremental if per else math.nan,
                "cost_per_incremental_conversion": per.estimate if per else math.nan,
                "cost_per_incremental_conversion_ci_lower": per.ci_lower if per else math.nan,
                "cost_per_incremental_conversion_ci_upper": per.ci_upper if per else math.nan,
                "incremental_revenue": incremental_revenue,
                "return_on_spend": (incremental_revenue - total) / total if total > 0 else math.nan,
            }
        )
    return result


def _cost_comparison(
    experiment: Experiment,
    metrics: list[MetricResult],
    cost: list[dict[str, Any]],
    units: dict[str, int],
) -> list[dict[str, Any]]:
    """Cost per incremental conversion of each pair of treatment arms (channels), compared.

    Only arms whose spending is in one currency, the same for both, are compared; the
    shared holdout's conversion variance enters as the covariance of the two effects.
    """
    control = experiment.control_arm
    conversion = first_against_control(metrics, control, "proportion")
    currencies: dict[str, set[str | None]] = {}
    totals: dict[str, float] = {}
    for row in cost:
        currencies.setdefault(row["arm"], set()).add(row["currency"])
        totals[row["arm"]] = float(row["arm_total_cost"])
    channels = {arm.name: arm.channel or experiment.channel for arm in experiment.arms}
    arms = [
        arm.name
        for arm in experiment.arms
        if arm.name != control and arm.name in conversion and len(currencies.get(arm.name, ())) == 1
    ]
    result: list[dict[str, Any]] = []
    for i, first in enumerate(arms):
        for second in arms[i + 1 :]:
            if currencies[first] != currencies[second]:
                continue
            ca, cb = conversion[first].comparison, conversion[second].comparison
            n0 = ca.control_units
            control_variance = ca.control * (1 - ca.control) / (n0 - 1) if n0 > 1 else math.nan
            compared = compare_cost_per_incremental(
                ArmCost(first, totals[first], units.get(first, 0), ca.effect_size, ca.se),
                ArmCost(second, totals[second], units.get(second, 0), cb.effect_size, cb.se),
                control_variance,
                alpha=experiment.alpha,
            )
            result.append(
                {
                    "arm": first,
                    "channel": channels.get(first),
                    "other_arm": second,
                    "other_channel": channels.get(second),
                    "currency": next(iter(currencies[first])),
                    "metric": conversion[first].metric,
                    **{k: v for k, v in asdict(compared).items() if k not in ("arm", "other_arm")},
                }
            )
    return result


def first_against_control(
    metrics: list[MetricResult], control: str, metric_type: str
) -> dict[str, MetricResult]:
    """Per arm, the first metric of ``metric_type`` compared with the control arm."""
    name = next((m.metric for m in metrics if m.type == metric_type), None)
    return {
        m.arm: m for m in metrics if m.metric == name and m.control_arm == control
    }


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
        "Guardrails: one-sided non-inferiority tests of the rate increase against the margin.",
        "Cost: billed messages priced by pricing category, market and the dated rate card "
        "(status webhook billing first, then free-entry-point and free-window rules by date); "
        "cost per incremental conversion interval from the conversion effect's interval.",
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
