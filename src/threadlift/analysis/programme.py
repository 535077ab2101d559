"""Programme holdouts over months: decay curve, sum of parts and health of a global holdout.

Only the report of an experiment with ``assignment = "global_holdout"`` has these sections
(docs/programme.md):

- **decay** (``programme_decay``): the programme's lift on its primary metric at 7, 30, 60,
  90, 180 and 365 days since the holdout's ``assigned_at``, as far as ``as_of`` reaches;
  each horizon is the main lift's comparison (same test, same metric, CUPED included) with
  the outcome window set to the horizon.
- **sum of parts** (``programme_parts``): every experiment run inside the programme, its
  lift on the shared metric, their naive sum and their empirical-Bayes shrunk sum, scaled to
  the programme's population, beside the holdout's direct lift.
- **health** (``programme_health``): contamination (held-out contacts sent a programme
  message: an alert), drift (pre-period balance of the groups still eligible, month by
  month) and attrition (units that were eligible at the start and are not any more).

The SQL (``sql/analysis/programme/``) returns per-arm sufficient statistics with the main
lift's columns; :mod:`threadlift.analysis.lift` maps them to a metric's statistics and
:func:`threadlift.core.stats.compare` compares them, so there is one comparison.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from threadlift.analysis.alerts import Alert
from threadlift.analysis.lift import compare_metric, moments_to_stats
from threadlift.core import stats
from threadlift.core.moments import SufficientStats
from threadlift.core.shrinkage import dersimonian_laird, shrink
from threadlift.engines.base import Engine
from threadlift.experiment import Experiment, Metric

HORIZONS: tuple[int, ...] = (7, 30, 60, 90, 180, 365)
"""The decay curve's horizons, in days since the holdout's ``assigned_at``."""

MONTH_DAYS = 30
"""A programme month: the drift check judges the groups every 30 days from the start."""

DRIFT_PRE_DAYS = 30
"""The drift check compares the groups on the primary metric over the 30 days before the start."""

DRIFT_SMD = 0.1
"""Drift warning: a month whose standardised mean difference exceeds 0.1 in absolute value …"""

DRIFT_ALPHA = 0.001
"""… or whose Welch test of the pre-period means has p below 0.001."""

ATTRITION_SHARE = 0.10
"""Attrition warning: more than 10 % of a group's units eligible at the start are not now …"""

ATTRITION_GAP = 0.02
"""… or the two groups' attrition shares differ by more than 2 percentage points."""

HOLDOUT_ARM = "global_holdout"
EVERYONE_ELSE = "everyone_else"


@dataclass(frozen=True)
class DecayRow:
    """The programme's lift on its primary metric over the first ``horizon_days`` days."""

    metric: str
    arm: str
    control_arm: str
    horizon_days: int
    """Days since the holdout's ``assigned_at``: the outcome window of this point."""
    units_control: int
    units_treatment: int
    control: float
    treatment: float
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    rel_effect_size: float
    rel_effect_size_ci_lower: float
    rel_effect_size_ci_upper: float
    pvalue: float
    method: str
    error: str | None


PartKind = Literal["experiment", "skipped", "naive_sum", "shrunk_sum", "programme"]


@dataclass(frozen=True)
class PartRow:
    """One line of the sum-of-parts table.

    ``experiment``: one treatment arm of an experiment run inside the programme against
    its holdout arm; ``skipped``: an experiment left out (``note`` says why);
    ``naive_sum`` and ``shrunk_sum``: the parts' contributions added up; ``programme``: the
    holdout's direct lift. ``effect_size`` is per treated unit for an experiment and per
    unit of the programme's population (everyone_else) for the other kinds;
    ``contribution`` is always per unit of the programme's population.
    """

    kind: PartKind
    experiment_id: str | None
    arm: str | None
    control_arm: str | None
    treated_units: int
    """Units of the arm (inside the programme's population)."""
    control_units: int
    population_units: int
    """The programme's everyone_else units (the scale every contribution is on)."""
    horizon_days: int | None
    """The programme row's horizon (the decay curve's last point)."""
    effect_size: float
    effect_size_ci_lower: float
    effect_size_ci_upper: float
    standard_error: float
    shrunk_effect_size: float
    """The empirical-Bayes posterior mean of ``effect_size`` (experiments only)."""
    weight: float
    """``treated_units / population_units`` (1 for the programme row, null for the sums)."""
    contribution: float
    """``weight × effect_size``: the part's effect per unit of the programme's population."""
    contribution_ci_lower: float
    contribution_ci_upper: float
    shrunk_contribution: float
    """``weight × shrunk_effect_size``; the shrunk sum adds these."""
    method: str
    note: str | None
    """Why an experiment was skipped, or the error code of a degenerate estimate."""


@dataclass(frozen=True)
class ContaminationRow:
    """Held-out contacts sent a programme message, from one source and sender."""

    source: str
    """``webhook`` (derived by ``threadlift ingest``) or ``loaded`` (a loaded send log)."""
    sent_by: str
    """``experiment``, ``campaign`` or ``untagged``."""
    tag: str | None
    """The experiment or campaign id (None when untagged)."""
    contacts: int
    messages: int
    first_sent_at: datetime
    last_sent_at: datetime


@dataclass(frozen=True)
class DriftRow:
    """Pre-period balance of the groups still eligible at the start of one programme month."""

    month: int
    """0 for the programme's start, then one per 30 days."""
    month_start: datetime
    metric: str
    covariate: str
    units_control: int
    units_treatment: int
    control_mean: float
    treatment_mean: float
    standardized_mean_difference: float
    pvalue: float
    drifted: bool
    """|SMD| above :data:`DRIFT_SMD` or p below :data:`DRIFT_ALPHA`."""
    error: str | None


@dataclass(frozen=True)
class ReasonCount:
    """Units that fail one eligibility rule now."""

    reason: str
    units: int


@dataclass(frozen=True)
class AttritionRow:
    """One group's units eligible at the programme's start that are not eligible at as_of."""

    arm: str
    eligible_at_start: int
    no_longer_eligible: int
    share: float
    by_reason: list[ReasonCount]


@dataclass(frozen=True)
class ProgrammeHealth:
    """Contamination, drift and attrition of the programme's holdout."""

    held_out_units: int
    contaminated_contacts: int
    """Held-out contacts sent at least one programme message after the start (any: alert)."""
    contaminated_share: float
    contamination: list[ContaminationRow]
    drift: list[DriftRow]
    attrition: list[AttritionRow]
    attrition_gap: float
    """The holdout's attrition share minus everyone_else's."""


@dataclass(frozen=True)
class Programme:
    """The programme sections of a global holdout's report."""

    decay: list[DecayRow]
    parts: list[PartRow]
    health: ProgrammeHealth


def programme_report(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    alerts: list[Alert],
    drift_warnings: list[str],
    attrition_warnings: list[str],
) -> Programme:
    """The decay curve, sum of parts and health checks of a global holdout.

    Appends a ``contamination`` alert to ``alerts``, and drift and attrition warnings to
    their lists, when the checks pass their thresholds (docs/programme.md).

    Needs the temp table ``_units`` of the global holdout (``prepare_units``).
    """
    con.run("analysis/programme/holdout_units")
    metric = experiment.metrics[0]
    decay = decay_curve(con, experiment, metric, as_of)
    parts = sum_of_parts(con, experiment, metric, as_of, decay)
    health = programme_health(con, experiment, metric, as_of)
    if health.contaminated_contacts:
        alerts.append(Alert("contamination", _contamination_message(experiment, health)))
    drift_warnings.extend(_drift_warnings(health.drift))
    attrition_warnings.extend(_attrition_warnings(health))
    return Programme(decay, parts, health)


def reached_horizons(assigned_at: datetime, as_of: datetime) -> list[int]:
    """The horizons of :data:`HORIZONS` whose whole window is observed by ``as_of``."""
    return [h for h in HORIZONS if assigned_at + timedelta(days=h) <= as_of]


def _moments(con: Engine, metric: Metric, lookback: int) -> dict[str, dict[str, SufficientStats]]:
    """Per part and arm of ``_programme_units``, the statistics of ``metric``."""
    rows = con.run(
        "analysis/programme/moments", {"action": metric.action, "lookback": lookback}
    ).dicts()
    by_part: dict[str, dict[str, SufficientStats]] = {}
    for row in rows:
        by_part.setdefault(str(row["part"]), {})[str(row["arm"])] = moments_to_stats(metric, row)
    return by_part


def decay_curve(
    con: Engine, experiment: Experiment, metric: Metric, as_of: datetime
) -> list[DecayRow]:
    """The primary metric's lift at each reached horizon, compared as the main lift."""
    horizons = reached_horizons(experiment.assigned_at, as_of)
    if not horizons:
        return []
    con.run("analysis/programme/horizon_units", {"horizons": horizons})
    by_part = _moments(con, metric, metric.cuped_days or 0)
    rows: list[DecayRow] = []
    for horizon in horizons:
        per_arm = by_part.get(str(horizon), {})
        c = compare_metric(experiment, metric, per_arm, HOLDOUT_ARM, EVERYONE_ELSE)
        rows.append(
            DecayRow(
                metric=metric.name,
                arm=EVERYONE_ELSE,
                control_arm=HOLDOUT_ARM,
                horizon_days=horizon,
                units_control=per_arm.get(HOLDOUT_ARM, SufficientStats(0)).units,
                units_treatment=per_arm.get(EVERYONE_ELSE, SufficientStats(0)).units,
                control=c.control,
                treatment=c.treatment,
                effect_size=c.effect_size,
                effect_size_ci_lower=c.effect_size_ci_lower,
                effect_size_ci_upper=c.effect_size_ci_upper,
                rel_effect_size=c.rel_effect_size,
                rel_effect_size_ci_lower=c.rel_effect_size_ci_lower,
                rel_effect_size_ci_upper=c.rel_effect_size_ci_upper,
                pvalue=c.pvalue,
                method=c.method,
                error=c.error,
            )
        )
    return rows


@dataclass(frozen=True)
class _Inner:
    """An experiment run inside the programme: its id, holdout arm and treatment arms."""

    experiment_id: str
    control_arm: str
    arms: list[str]


def inner_experiments(
    con: Engine, experiment: Experiment, metric: Metric
) -> tuple[list[_Inner], list[tuple[str, str]]]:
    """The experiments run inside the programme, and ``(experiment_id, reason)`` per skip.

    Inside: a current design of the assignment registry, assigned under the workspace's
    current global holdout (its design records the same salt, so its audience excluded the
    held-out contacts), with ``assigned_at`` at or after the programme's and a holdout arm,
    and with units among the programme's everyone_else contacts.
    """
    from threadlift.assign.assignment import global_holdout_of

    setting = global_holdout_of(con.run("assign/global_holdout_get").rows)
    salt = setting.salt if setting else None
    kept: list[_Inner] = []
    skipped: list[tuple[str, str]] = []
    for row in con.run(
        "analysis/programme/inner_experiments", {"programme_id": experiment.id}
    ).dicts():
        experiment_id = str(row["experiment_id"])
        design: dict[str, Any] = json.loads(str(row["design"]))
        holdout = (design.get("global_holdout") or {}).get("salt")
        arms = design.get("arms") or []
        controls = [str(a["name"]) for a in arms if a.get("holdout")]
        started = datetime.fromisoformat(str(design.get("assigned_at")))
        if started.tzinfo is not None:
            started = started.replace(tzinfo=None)
        if holdout is None or holdout != salt:
            skipped.append((experiment_id, "not assigned under this global holdout"))
        elif started < experiment.assigned_at:
            skipped.append((experiment_id, "assigned before the programme started"))
        elif not controls:
            skipped.append((experiment_id, "no holdout arm, so no lift to measure"))
        elif metric.type == "ratio":
            skipped.append(
                (experiment_id, "the shared metric is a ratio: effects per unit do not add up")
            )
        else:
            treatments = [str(a["name"]) for a in arms if not a.get("holdout")]
            kept.append(_Inner(experiment_id, controls[0], treatments))
    return kept, skipped


def sum_of_parts(
    con: Engine,
    experiment: Experiment,
    metric: Metric,
    as_of: datetime,
    decay: list[DecayRow],
) -> list[PartRow]:
    """Each inner experiment's lift on the shared metric, the naive and shrunk sums scaled
    to the programme's population, and the holdout's direct lift (docs/statistics.md)."""
    inner, skipped = inner_experiments(con, experiment, metric)
    population = int(con.run("analysis/programme/population").rows[0][0])
    nan = math.nan
    rows: list[PartRow] = []
    measured: list[tuple[PartRow, stats.Comparison]] = []
    by_part: dict[str, dict[str, SufficientStats]] = {}
    if inner:
        con.run(
            "analysis/programme/inner_units",
            {
                "experiment_ids": [e.experiment_id for e in inner],
                "programme_start": experiment.assigned_at,
                "window_days": experiment.window_days,
                "as_of": as_of,
            },
        )
        by_part = _moments(con, metric, metric.cuped_days or 0)
    for part in inner:
        per_arm = by_part.get(part.experiment_id, {})
        if not per_arm:
            skipped.append((part.experiment_id, "no units among the programme's everyone_else"))
            continue
        for arm in part.arms:
            c = compare_metric(experiment, metric, per_arm, part.control_arm, arm)
            treated = per_arm.get(arm, SufficientStats(0)).units
            weight = treated / population if population else nan
            measured.append(
                (
                    PartRow(
                        kind="experiment",
                        experiment_id=part.experiment_id,
                        arm=arm,
                        control_arm=part.control_arm,
                        treated_units=treated,
                        control_units=per_arm.get(part.control_arm, SufficientStats(0)).units,
                        population_units=population,
                        horizon_days=None,
                        effect_size=c.effect_size,
                        effect_size_ci_lower=c.effect_size_ci_lower,
                        effect_size_ci_upper=c.effect_size_ci_upper,
                        standard_error=c.se,
                        shrunk_effect_size=nan,
                        weight=weight,
                        contribution=weight * c.effect_size,
                        contribution_ci_lower=weight * c.effect_size_ci_lower,
                        contribution_ci_upper=weight * c.effect_size_ci_upper,
                        shrunk_contribution=nan,
                        method=c.method,
                        note=c.error,
                    ),
                    c,
                )
            )
    sound = [(row, c) for row, c in measured if not c.error and math.isfinite(c.se) and c.se > 0]
    prior = dersimonian_laird(
        [c.effect_size for _, c in sound], [c.se for _, c in sound]
    )
    shrunk = dict(
        zip(
            [id(row) for row, _ in sound],
            shrink([c.effect_size for _, c in sound], [c.se for _, c in sound], prior),
            strict=True,
        )
    )
    for row, _ in measured:
        value = shrunk.get(id(row), nan)
        rows.append(
            replace(row, shrunk_effect_size=value, shrunk_contribution=row.weight * value)
        )
    rows.extend(
        PartRow(
            "skipped", experiment_id, None, None, 0, 0, population, None,
            nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, "", reason,
        )
        for experiment_id, reason in skipped
    )
    rows.extend(_sums(rows, population, experiment.alpha, prior.error, prior.tau2))
    rows.append(_programme_row(decay, population))
    return rows


def _sums(
    rows: Sequence[PartRow], population: int, alpha: float, prior_error: str | None, tau2: float
) -> list[PartRow]:
    """The naive sum (with its interval: independent normal errors) and the shrunk sum."""
    from scipy.stats import norm

    nan = math.nan
    parts = [r for r in rows if r.kind == "experiment" and not r.note]
    if not parts:
        return []
    naive = sum(r.contribution for r in parts)
    se = math.sqrt(sum((r.weight * r.standard_error) ** 2 for r in parts))
    z = float(norm.ppf(1 - alpha / 2))
    shrunk = sum(r.shrunk_contribution for r in parts) if not prior_error else nan
    treated = sum(r.treated_units for r in parts)
    return [
        PartRow(
            "naive_sum", None, None, None, treated, 0, population, None,
            naive, naive - z * se, naive + z * se, se, nan, nan,
            naive, naive - z * se, naive + z * se, nan,
            "sum of weight × effect; normal interval, parts independent", None,
        ),
        PartRow(
            "shrunk_sum", None, None, None, treated, 0, population, None,
            shrunk, nan, nan, nan, shrunk, nan,
            shrunk, nan, nan, shrunk,
            f"sum of weight × empirical-Bayes shrunk effect (DerSimonian-Laird tau2 = {tau2:.3g})"
            if not prior_error
            else "sum of weight × empirical-Bayes shrunk effect",
            prior_error
            or "no interval: it would ignore the uncertainty of the estimated prior",
        ),
    ]


def _programme_row(decay: list[DecayRow], population: int) -> PartRow:
    """The holdout's direct lift at the decay curve's last point (per everyone_else unit)."""
    nan = math.nan
    if not decay:
        return PartRow(
            "programme", None, EVERYONE_ELSE, HOLDOUT_ARM, population, 0, population, None,
            nan, nan, nan, nan, nan, 1.0, nan, nan, nan, nan, "",
            f"no horizon reached yet (the first is {HORIZONS[0]} days)",
        )
    last = decay[-1]
    se = (last.effect_size_ci_upper - last.effect_size_ci_lower) / 2
    return PartRow(
        "programme", None, last.arm, last.control_arm, last.units_treatment,
        last.units_control, population, last.horizon_days,
        last.effect_size, last.effect_size_ci_lower, last.effect_size_ci_upper, nan, nan, 1.0,
        last.effect_size, last.effect_size_ci_lower, last.effect_size_ci_upper, nan,
        last.method, last.error if math.isfinite(se) else last.error or "no_estimate",
    )


def programme_health(
    con: Engine, experiment: Experiment, metric: Metric, as_of: datetime
) -> ProgrammeHealth:
    """Contamination, drift and attrition (thresholds: docs/programme.md)."""
    params = {"as_of": as_of, "category": experiment.category}
    contamination = [
        ContaminationRow(
            source=str(r["source"]),
            sent_by=str(r["sent_by"]),
            tag=None if r["tag"] is None else str(r["tag"]),
            contacts=int(r["contacts"]),
            messages=int(r["messages"]),
            first_sent_at=r["first_sent_at"],
            last_sent_at=r["last_sent_at"],
        )
        for r in con.run("analysis/programme/contamination#by_source", params).dicts()
    ]
    held_out, contaminated = (
        int(v) for v in con.run("analysis/programme/contamination#total", params).rows[0]
    )
    starts = _evaluate_eligibility(con, experiment, as_of)
    drift = _drift(con, metric, starts)
    attrition = _attrition(con, len(starts))
    shares = {row.arm: row.share for row in attrition}
    gap = shares.get(HOLDOUT_ARM, math.nan) - shares.get(EVERYONE_ELSE, math.nan)
    return ProgrammeHealth(
        held_out_units=held_out,
        contaminated_contacts=contaminated,
        contaminated_share=contaminated / held_out if held_out else math.nan,
        contamination=contamination,
        drift=drift,
        attrition=attrition,
        attrition_gap=gap,
    )


def month_starts(assigned_at: datetime, as_of: datetime) -> list[datetime]:
    """The start of each programme month (every :data:`MONTH_DAYS` days) up to ``as_of``."""
    starts: list[datetime] = []
    at = assigned_at
    while at <= as_of:
        starts.append(at)
        at += timedelta(days=MONTH_DAYS)
    return starts


def _evaluate_eligibility(
    con: Engine, experiment: Experiment, as_of: datetime
) -> list[datetime]:
    """Judge every unit's eligibility (sql/assign/evaluate.sql) at each month's start (steps
    0, 1, …) and at ``as_of`` (the last step); returns the month starts."""
    from threadlift.assign.assignment import evaluation_params

    starts = month_starts(experiment.assigned_at, as_of)
    con.run("analysis/programme/eligibility#candidates")
    con.run("analysis/programme/eligibility#start")
    for step, at in enumerate([*starts, as_of]):
        con.run("assign/evaluate", evaluation_params(experiment, at, None))
        con.run("analysis/programme/eligibility#keep", {"step": step})
    return starts


def _drift(con: Engine, metric: Metric, starts: list[datetime]) -> list[DriftRow]:
    """Per month, the balance of the still-eligible groups on the pre-period metric."""
    if not starts:
        return []
    con.run("analysis/programme/drift_units", {"months": list(range(len(starts)))})
    pre = metric.model_copy(update={"cuped_days": DRIFT_PRE_DAYS})
    by_part = _moments(con, pre, DRIFT_PRE_DAYS)
    rows: list[DriftRow] = []
    for month, start in enumerate(starts):
        per_arm = by_part.get(str(month), {})
        control = per_arm.get(HOLDOUT_ARM, SufficientStats(0))
        treatment = per_arm.get(EVERYONE_ELSE, SufficientStats(0))
        result = stats.balance(control, treatment)
        smd, p = result.standardized_mean_difference, result.pvalue
        rows.append(
            DriftRow(
                month=month,
                month_start=start,
                metric=metric.name,
                covariate=f"{metric.name} over the {DRIFT_PRE_DAYS} days before the start",
                units_control=control.units,
                units_treatment=treatment.units,
                control_mean=result.control_mean,
                treatment_mean=result.treatment_mean,
                standardized_mean_difference=smd,
                pvalue=p,
                drifted=(math.isfinite(smd) and abs(smd) > DRIFT_SMD)
                or (math.isfinite(p) and p < DRIFT_ALPHA),
                error=result.error,
            )
        )
    return rows


def _attrition(con: Engine, last_step: int) -> list[AttritionRow]:
    """Per group: eligible at the start, and of those not eligible at as_of, by rule."""
    counts: dict[str, dict[str | None, int]] = {HOLDOUT_ARM: {}, EVERYONE_ELSE: {}}
    for arm, reason, units in con.run(
        "analysis/programme/eligibility#attrition", {"last": last_step}
    ).rows:
        counts.setdefault(str(arm), {})[None if reason is None else str(reason)] = int(units)
    rows: list[AttritionRow] = []
    for arm, by_reason in counts.items():
        start = sum(by_reason.values())
        gone = start - by_reason.get(None, 0)
        rows.append(
            AttritionRow(
                arm=arm,
                eligible_at_start=start,
                no_longer_eligible=gone,
                share=gone / start if start else math.nan,
                by_reason=[
                    ReasonCount(reason, units)
                    for reason, units in sorted(by_reason.items(), key=lambda kv: str(kv[0]))
                    if reason is not None
                ],
            )
        )
    return rows


def _contamination_message(experiment: Experiment, health: ProgrammeHealth) -> str:
    senders = ", ".join(
        f"{row.sent_by} {row.tag or '(untagged)'} via {row.source}: {row.contacts}"
        for row in health.contamination[:5]
    )
    more = f" and {len(health.contamination) - 5} more" if len(health.contamination) > 5 else ""
    return (
        f"{health.contaminated_contacts} of {health.held_out_units} held-out contacts "
        f"({health.contaminated_share:.3%}) were sent a {experiment.category} message after "
        f"the programme started ({senders}{more}): the holdout is contaminated and the "
        "programme's lift understated; find the sends that ignore the global holdout"
    )


def _drift_warnings(drift: list[DriftRow]) -> list[str]:
    return [
        f"programme drift in month {row.month} (from {row.month_start:%Y-%m-%d}): the groups "
        f"still eligible differ on {row.covariate} (SMD {row.standardized_mean_difference:+.3f}, "
        f"p {row.pvalue:.2g}; thresholds |SMD| > {DRIFT_SMD} or p < {DRIFT_ALPHA})"
        for row in drift
        if row.drifted
    ]


def _attrition_warnings(health: ProgrammeHealth) -> list[str]:
    warnings = [
        f"programme attrition: {row.no_longer_eligible} of {row.eligible_at_start} {row.arm} "
        f"units eligible at the start are not eligible now ({row.share:.1%} > "
        f"{ATTRITION_SHARE:.0%})"
        for row in health.attrition
        if math.isfinite(row.share) and row.share > ATTRITION_SHARE
    ]
    if math.isfinite(health.attrition_gap) and abs(health.attrition_gap) > ATTRITION_GAP:
        warnings.append(
            f"programme attrition differs between the groups: global_holdout minus "
            f"everyone_else {health.attrition_gap * 100:+.1f} percentage points (threshold "
            f"{ATTRITION_GAP * 100:.0f}); the groups no longer hold the same population"
        )
    return warnings


def programme_methods() -> list[str]:
    """How the programme sections were computed, in words (report.json ``methods``)."""
    return [
        "Programme decay: the primary metric's lift (everyone_else vs global_holdout, the "
        "main lift's test) with the outcome window set to "
        f"{', '.join(str(h) for h in HORIZONS)} days since the holdout's assigned_at, each "
        "horizon only once as_of reaches its end.",
        "Programme sum of parts: each experiment assigned inside the programme (registry, "
        "same global holdout, started after it, with a holdout arm), measured on the "
        "programme's primary metric and window among the programme's everyone_else contacts; "
        "contribution = effect per treated unit × treated units / everyone_else units; naive "
        "sum with a normal interval; shrunk sum: each effect shrunk to the DerSimonian-Laird "
        "mean by tau²/(tau² + se²), no interval (docs/statistics.md).",
        "Programme health: contamination = held-out contacts sent a message of the "
        "programme's category (or none recorded) after the start (any: alert); drift = "
        f"balance (SMD, Welch) of the groups still eligible each {MONTH_DAYS} days on the "
        f"primary metric over the {DRIFT_PRE_DAYS} days before the start (warning when "
        f"|SMD| > {DRIFT_SMD} or p < {DRIFT_ALPHA}); attrition = units eligible at the start "
        f"(assignment rules) and not at as_of (warning above {ATTRITION_SHARE:.0%} in a "
        f"group or a gap above {ATTRITION_GAP * 100:.0f} points).",
    ]
