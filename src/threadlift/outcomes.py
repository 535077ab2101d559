"""Outcomes: run the ``sql/outcomes`` and ``sql/stats`` queries and map per-arm rows to
:class:`~threadlift.moments.SufficientStats`.

This is the only module that turns SQL rows into statistics inputs; Python never sees
per-unit rows. Every unit's window starts at its own ``assigned_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threadlift.engine import Engine
from threadlift.experiment import Experiment, Metric
from threadlift.moments import SufficientStats

_ONE = "1"
_ZERO = "0"
_SQL_VARIABLES = ("ind", "val", "cnt", "pre_ind", "pre_val", "pre_cnt")
_STATS_VARIABLES = ("main", "denominator", "covariate", "covariate_denominator")


def _variables(metric: Metric) -> dict[str, str]:
    """Which SQL variable (or constant 1 / 0) plays each SufficientStats variable."""
    cuped = metric.cuped_days is not None
    if metric.type == "ratio":
        return {
            "main": "val",
            "denominator": "cnt",
            "covariate": "pre_val" if cuped else _ZERO,
            "covariate_denominator": "pre_cnt" if cuped else _ZERO,
        }
    main = "ind" if metric.type == "proportion" else "val"
    return {
        "main": main,
        "denominator": _ONE,
        "covariate": f"pre_{main}" if cuped else _ZERO,
        "covariate_denominator": _ONE if cuped else _ZERO,
    }


@dataclass(frozen=True)
class FunnelRow:
    """Units of one arm reaching each stage."""

    arm: str
    units: int
    sent: int
    delivered: int
    read: int
    replied: int
    failed: int
    converted: int


@dataclass(frozen=True)
class CumulativeRow:
    """Cumulative conversion of one arm ``day`` days after each unit's assignment."""

    arm: str
    day: int
    stats: SufficientStats


def prepare_units(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> dict[str, int]:
    """Create the ``_units`` temp table for ``experiment``; return units per arm.

    The units are the experiment's assignments, or, for ``assignment = "global_holdout"``,
    every contact known at ``assigned_at`` labelled by the workspace's global holdout
    (``sql/outcomes/units_global_holdout.sql``), so the program-level holdout is reported
    like any experiment.

    Raises:
        ConfigError: for a global-holdout experiment, when the workspace has no global
            holdout, its arm weights do not match the setting, or the engine is not DuckDB
            (the setting lives in the workspace).
    """
    if experiment.assignment == "global_holdout":
        from fractions import Fraction

        from threadlift.assign import global_holdout_of
        from threadlift.assignment import BUCKETS, exact_weight
        from threadlift.errors import ConfigError

        if engine.name != "duckdb":
            raise ConfigError(
                f'experiment {experiment.id}: assignment = "global_holdout" reads the '
                f"workspace's global holdout setting; report it with the DuckDB engine"
            )
        setting = global_holdout_of(engine.run("assign/global_holdout_get").rows)
        if setting is None:
            raise ConfigError(
                f'experiment {experiment.id}: assignment = "global_holdout" but the workspace '
                "has no global holdout; set one with `threadlift holdout set --salt S --percent P`"
            )
        salt, points = setting.salt, setting.basis_points
        weights = {arm.name: arm.weight for arm in experiment.arms}
        held = exact_weight(weights["global_holdout"])
        if held / (held + exact_weight(weights["everyone_else"])) != Fraction(points, BUCKETS):
            raise ConfigError(
                f"experiment {experiment.id}: the global holdout holds out {points / 100:g} % "
                f"(salt {salt!r}), so the arms must be weighted {points / 100:g} (global_holdout) "
                f"and {100 - points / 100:g} (everyone_else) for the sample-ratio check; "
                f"found {weights['global_holdout']} and {weights['everyone_else']}"
            )
        engine.run(
            "outcomes/units_global_holdout",
            {
                "salt": salt,
                "basis_points": points,
                "assigned_at": experiment.assigned_at,
                "as_of": as_of,
                "window_days": experiment.window_days,
            },
        )
    else:
        engine.run(
            "outcomes/units",
            {"experiment_id": experiment.id, "as_of": as_of, "window_days": experiment.window_days},
        )
    rows = engine.run("outcomes/unit_counts").rows
    counts = {arm.name: 0 for arm in experiment.arms}
    counts.update({str(arm): int(n) for arm, n in rows})
    return counts


def prepare_sends(engine: Engine, experiment: Experiment) -> None:
    """Create the ``_sends`` temp table: the experiment's sends inside each unit's window.

    Needs ``_units`` (:func:`prepare_units`). Funnel, take-up, cost, window share and the
    guardrail breakdown read it; lift and guardrail tests do not, so a core report skips it.
    """
    engine.run("outcomes/sends", {"experiment_id": experiment.id})


def metric_stats(
    engine: Engine, experiment: Experiment
) -> dict[str, dict[str, SufficientStats]]:
    """Sufficient statistics per metric name and arm, from one pass over ``actions``."""
    specs = _metric_specs(experiment)
    if not specs:
        return {}
    return _stats_by_metric(experiment, action_moments(engine, specs))


def _metric_specs(experiment: Experiment) -> list[tuple[str, int]]:
    """The distinct ``(action, cuped_days)`` pairs the metrics need (0: no CUPED)."""
    return sorted({(m.action, m.cuped_days or 0) for m in experiment.metrics})


def _stats_by_metric(
    experiment: Experiment, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, SufficientStats]]:
    """Per metric name and arm, the sufficient statistics in moment ``rows`` (one per spec
    and arm, as ``stats/action_moments`` returns them); arms without a row get none."""
    by_spec: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_spec.setdefault((str(row["action"]), int(row["cuped_days"])), {})[str(row["arm"])] = row
    result: dict[str, dict[str, SufficientStats]] = {}
    for metric in experiment.metrics:
        per_arm = by_spec.get((metric.action, metric.cuped_days or 0), {})
        result[metric.name] = {
            arm.name: _to_stats(metric, per_arm.get(arm.name)) for arm in experiment.arms
        }
    return result


def action_moments(engine: Engine, specs: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """Per-arm moments of each ``(action, cuped_days)`` spec (``stats/action_moments``).

    When the specs use at most one pre-period length, the equivalent single-pass query
    ``stats/action_moments_one_lookback`` runs instead; both return the same rows
    (``tests/test_outcomes.py`` checks each against pandas).
    """
    params: dict[str, Any] = {
        "actions": [a for a, _ in specs],
        "cuped_days": [c for _, c in specs],
    }
    lookbacks = {c for _, c in specs if c > 0}
    if len(lookbacks) > 1:
        return engine.run("stats/action_moments", params).dicts()
    params["action_list"] = sorted({a for a, _ in specs})
    params["lookback"] = lookbacks.pop() if lookbacks else 0
    return engine.run("stats/action_moments_one_lookback", params).dicts()


def _to_stats(metric: Metric, row: dict[str, Any] | None) -> SufficientStats:
    if row is None:
        return SufficientStats(units=0)
    units = int(row["units"])
    variables = _variables(metric)

    def moment(left: str, right: str) -> float:
        """Sum over units of left * right, where either may be the constant 1 or 0."""
        if _ZERO in (left, right):
            return 0.0
        if left == _ONE and right == _ONE:
            return float(units)
        if _ONE in (left, right):
            return _value(row, f"{right if left == _ONE else left}_sum")
        if left == right:
            return _value(row, f"{left}_sum_squares")
        a, b = sorted((left, right), key=_SQL_VARIABLES.index)
        return _value(row, f"{a}_{b}_sum_product")

    fields: dict[str, float] = {}
    for i, left in enumerate(_STATS_VARIABLES):
        fields[f"{left}_sum"] = moment(variables[left], _ONE)
        for right in _STATS_VARIABLES[i:]:
            name = f"{left}_sum_squares" if left == right else f"{left}_{right}_sum_product"
            fields[name] = moment(variables[left], variables[right])
    return SufficientStats(units=units, **fields)


def _value(row: dict[str, Any], name: str) -> float:
    value = row.get(name)
    return float(value) if value is not None else 0.0


def guardrail_counts(
    engine: Engine, experiment: Experiment
) -> dict[tuple[str, str], float]:
    """Units showing each guardrail signal, keyed by (arm, kind).

    Leaves the temp table ``_signals`` for :func:`guardrail_breakdown`.
    """
    engine.run("stats/guardrail_signals", {"channel": experiment.channel})
    rows = engine.run("stats/guardrail_moments").rows
    return {(str(arm), str(kind)): float(n) for arm, kind, n in rows}


def guardrail_breakdown(
    engine: Engine, experiment: Experiment, kinds: list[str]
) -> list[dict[str, Any]]:
    """Guardrail events among units reached by each sender and template (after guardrail_counts)."""
    return engine.run(
        "stats/guardrail_breakdown", {"kinds": kinds}
    ).dicts()


def proportion_stats(units: int, positives: float) -> SufficientStats:
    """Sufficient statistics of a 0/1 variable (denominator 1 per unit)."""
    return SufficientStats(
        units=units,
        main_sum=positives,
        main_sum_squares=positives,
        denominator_sum=float(units),
        denominator_sum_squares=float(units),
        main_denominator_sum_product=positives,
    )


def funnel(
    engine: Engine, experiment: Experiment, as_of: datetime, action: str
) -> list[FunnelRow]:
    """The funnel by arm (units reaching each stage)."""
    rows = engine.run(
        "stats/funnel",
        {"as_of": as_of, "action": action},
    ).rows
    found = {str(r[0]): FunnelRow(str(r[0]), *(int(v) for v in r[1:])) for r in rows}
    return [
        found.get(arm.name, FunnelRow(arm.name, 0, 0, 0, 0, 0, 0, 0)) for arm in experiment.arms
    ]


def cumulative_conversion(
    engine: Engine, experiment: Experiment, as_of: datetime, action: str
) -> list[CumulativeRow]:
    """Cumulative conversion by day since each unit's assignment, per arm."""
    rows = engine.run(
        "stats/cumulative_conversion",
        {"action": action, "days": experiment.window_days, "as_of": as_of},
    ).rows
    return [
        CumulativeRow(str(arm), int(day), proportion_stats(int(units), float(ind)))
        for arm, day, units, ind in rows
    ]


@dataclass(frozen=True)
class Takeup:
    """One arm's take-up of a stage and the outcome summed over the units that took up."""

    units: float
    indicator_product: float
    value_product: float


def takeup_moments(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> dict[tuple[str, str, str], Takeup]:
    """Take-up moments keyed by (arm, action, stage), stage ``delivered`` or ``read``."""
    actions = sorted({m.action for m in experiment.metrics})
    if not actions:
        return {}
    rows = engine.run(
        "stats/takeup_moments",
        {"as_of": as_of, "actions": actions},
    ).rows
    result: dict[tuple[str, str, str], Takeup] = {}
    for arm, action, delivered, read, ind_d, val_d, ind_r, val_r in rows:
        result[(str(arm), str(action), "delivered")] = Takeup(
            float(delivered), float(ind_d), float(val_d)
        )
        result[(str(arm), str(action), "read")] = Takeup(float(read), float(ind_r), float(val_r))
    return result


def with_takeup(
    outcome: SufficientStats, takeup: Takeup | None, metric_type: str
) -> SufficientStats:
    """Outcome statistics whose denominator is the 0/1 take-up indicator (complier input)."""
    units_taken = takeup.units if takeup else 0.0
    product = 0.0
    if takeup is not None:
        product = takeup.indicator_product if metric_type == "proportion" else takeup.value_product
    return SufficientStats(
        units=outcome.units,
        main_sum=outcome.main_sum,
        main_sum_squares=outcome.main_sum_squares,
        denominator_sum=units_taken,
        denominator_sum_squares=units_taken,
        main_denominator_sum_product=product,
    )


WINDOW_STATES = ("open", "closed")
"""Customer-service-window state of a unit at assignment (``stats/window_state_units``)."""


def window_state_stats(
    engine: Engine, experiment: Experiment
) -> dict[str, dict[str, dict[str, SufficientStats]]]:
    """Sufficient statistics per window state, metric name and arm.

    Leaves the temp table ``_window_state`` for :func:`window_state_sends`. A unit's state
    is ``open`` when its contact wrote in on the experiment's channel (and sender) in the
    24 hours up to its assignment: a pre-treatment state, so both arms split alike.
    """
    engine.run(
        "stats/window_state_units",
        {"channel": experiment.channel, "sender_id": experiment.sender_id},
    )
    specs = _metric_specs(experiment)
    if not specs:
        return {state: {} for state in WINDOW_STATES}
    rows = engine.run(
        "stats/window_state_moments",
        {"actions": [a for a, _ in specs], "cuped_days": [c for _, c in specs]},
    ).dicts()
    return {
        state: _stats_by_metric(
            experiment, [row for row in rows if str(row["window_state"]) == state]
        )
        for state in WINDOW_STATES
    }


def window_state_sends(engine: Engine) -> dict[tuple[str, str], dict[str, int]]:
    """Units and sends (session vs template) keyed by (window state, arm).

    Needs ``_window_state`` (from :func:`window_state_stats`) and ``_sends``.
    """
    rows = engine.run("stats/window_state_sends").dicts()
    return {
        (str(row["window_state"]), str(row["arm"])): {
            key: int(row[key])
            for key in ("units", "units_sent", "messages", "session_messages", "template_messages")
        }
        for row in rows
    }


def mark_free_entry_points(engine: Engine) -> None:
    """Create ``_free_entry``: the sends inside a free-entry-point window (for ``stats/cost``).

    Needs ``_sends``. A lake without ``message_referrals`` reads it as empty, so no send
    is marked there (the analysis warns that no free-entry-point rule was applied).
    """
    engine.run("stats/free_entry_points")


def template_events(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> list[dict[str, Any]]:
    """Status, quality and category events of the templates the experiment sent.

    One row per event (the last one of each kind before the window, every one inside it),
    or one row with empty event columns for a template without events. Needs ``_units``.
    """
    return engine.run(
        "stats/template_quality",
        {
            "experiment_id": experiment.id,
            "assigned_at": experiment.assigned_at,
            "window_days": experiment.window_days,
            "as_of": as_of,
        },
    ).dicts()
