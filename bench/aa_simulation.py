"""A/A simulation: are threadlift's p-values and intervals calibrated on a 10/90 holdout?

Two experiments, both with no true effect (treatment and holdout drawn from the same
distribution) and a 10 % holdout, as in a typical messaging holdout:

1. Fixed horizon. Many A/A experiments analysed once. For each method the share of
   p-values below α (false-positive rate, should be ≈ α) and the share of intervals that
   contain the true effect 0, absolute and relative (coverage, should be ≈ 1 − α).
2. Daily peeking. Units arrive every day for 28 days and the report is read every day.
   An experiment counts as a false positive if *any* of its 28 looks has p < α. Fixed-
   horizon p-values inflate this well above α; confidence sequences keep it ≤ α.
3. Daily peeking on a frozen audience: all units assigned on day 0, outcomes accrue
   over the 28-day window (how threadlift's holdouts actually run).

Every analysis goes through :func:`threadlift.core.stats.compare` on per-arm sufficient
statistics, exactly as a report does. Per-unit data are drawn with numpy from a seeded
generator, so a run is reproducible.

Usage::

    .venv/bin/python bench/aa_simulation.py                    # full run (a few minutes)
    .venv/bin/python bench/aa_simulation.py --experiments 2000 --peeking-experiments 500
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from threadlift.core.moments import SufficientStats
from threadlift.core.stats import compare

ALPHA = 0.05
HOLDOUT_SHARE = 0.10


@dataclass(frozen=True)
class Calibration:
    """Calibration of one method over many A/A experiments."""

    method: str
    experiments: int
    false_positive_rate: float
    coverage: float
    rel_coverage: float
    errors: int


@dataclass(frozen=True)
class Peeking:
    """Share of A/A experiments with at least one p < α over the daily looks."""

    method: str
    experiments: int
    looks: int
    false_positive_rate: float


def _units(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per-unit outcomes with a correlated pre-period, identical in both arms (A/A)."""
    pre_orders = rng.poisson(0.15, shape).astype(float)
    pre_revenue = pre_orders * rng.lognormal(3.0, 0.5, shape)
    orders = rng.poisson(0.06 + 0.4 * pre_orders).astype(float)
    revenue = orders * rng.lognormal(3.0, 0.5, shape)
    return {
        "treatment": rng.random(shape) >= HOLDOUT_SHARE,
        "converted": (orders > 0).astype(float),
        "pre_converted": (pre_orders > 0).astype(float),
        "orders": orders,
        "pre_orders": pre_orders,
        "revenue": revenue,
        "pre_revenue": pre_revenue,
    }


def _arm_sums(
    units: dict[str, np.ndarray], arm: np.ndarray, main: str, denominator: str | None,
    covariate: str | None, covariate_denominator: str | None, axis: int,
) -> dict[str, np.ndarray]:
    """Sums, squares and cross-products of the four variables over ``axis`` for one arm."""
    ones = np.ones_like(units[main])
    columns = {
        "main": units[main],
        "denominator": ones if denominator is None else units[denominator],
        "covariate": np.zeros_like(ones) if covariate is None else units[covariate],
        "covariate_denominator": (
            ones if covariate_denominator is None else units[covariate_denominator]
        ),
    }
    names = list(columns)
    sums = {"units": arm.sum(axis=axis)}
    for i, left in enumerate(names):
        masked = np.where(arm, columns[left], 0.0)
        sums[f"{left}_sum"] = masked.sum(axis=axis)
        sums[f"{left}_sum_squares"] = (masked * columns[left]).sum(axis=axis)
        for right in names[i + 1 :]:
            sums[f"{left}_{right}_sum_product"] = (masked * columns[right]).sum(axis=axis)
    return sums


def _stats(sums: dict[str, np.ndarray], index: tuple[int, ...]) -> SufficientStats:
    values = {name: float(array[index]) for name, array in sums.items() if name != "units"}
    return SufficientStats(units=int(sums["units"][index]), **values)


METHODS: dict[str, dict[str, object]] = {
    "proportion welch_t": {"metric": "proportion", "main": "converted"},
    "proportion welch_t+cuped": {
        "metric": "proportion", "main": "converted", "covariate": "pre_converted",
        "cuped": True,
    },
    "proportion prop_test_pooled_z_cc": {
        "metric": "proportion", "main": "converted", "proportion_test": "prop_test",
    },
    "mean welch_t": {"metric": "mean", "main": "revenue"},
    "mean welch_t+cuped": {
        "metric": "mean", "main": "revenue", "covariate": "pre_revenue", "cuped": True,
    },
    "ratio delta_ratio": {"metric": "ratio", "main": "revenue", "denominator": "orders"},
    "ratio delta_ratio+cuped": {
        "metric": "ratio", "main": "revenue", "denominator": "orders",
        "covariate": "pre_revenue", "covariate_denominator": "pre_orders", "cuped": True,
    },
}


def _arms(
    spec: dict[str, object], units: dict[str, np.ndarray], axis: int
) -> list[dict[str, np.ndarray]]:
    """Control and treatment sums per experiment (cumulated over days when axis is 2)."""
    variables = {
        key: spec.get(key) for key in ("denominator", "covariate", "covariate_denominator")
    }
    arms = []
    for arm in (~units["treatment"], units["treatment"]):
        sums = _arm_sums(units, arm, str(spec["main"]), axis=axis, **variables)  # type: ignore[arg-type]
        if axis == 2:
            sums = {name: np.cumsum(array, axis=1) for name, array in sums.items()}
        arms.append(sums)
    return arms


def _comparisons(
    spec: dict[str, object], arms: list[dict[str, np.ndarray]], **options: object
) -> Iterator[tuple[tuple[int, ...], object]]:
    """Yield (index, Comparison) for every experiment (and look) in the chunk."""
    for index in np.ndindex(arms[0]["units"].shape):
        yield index, compare(
            spec["metric"],  # type: ignore[arg-type]
            _stats(arms[0], index),
            _stats(arms[1], index),
            alpha=ALPHA,
            cuped=bool(spec.get("cuped", False)),
            proportion_test=spec.get("proportion_test", "welch"),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )


SEQUENTIAL_MODES: tuple[tuple[str, dict[str, object]], ...] = (
    ("fixed", {}),
    ("sequential", {"sequential": True}),
    ("sequential, no burn-in", {"sequential": True, "sequential_min_events": 0}),
)
"""Fixed-horizon p-values; confidence sequences with the default burn-in (30 effective
events per arm) and without it."""


def fixed_horizon(
    experiments: int = 10_000, units: int = 10_000, seed: int = 20261125, chunk: int = 250
) -> list[Calibration]:
    """False-positive rate and coverage of each method over A/A experiments."""
    rng = np.random.default_rng(seed)
    counts = {name: [0, 0, 0, 0, 0] for name in METHODS}  # fp, covered, rel covered, n, err
    for start in range(0, experiments, chunk):
        size = min(chunk, experiments - start)
        data = _units(rng, (size, units))
        for name, spec in METHODS.items():
            tally = counts[name]
            for _, result in _comparisons(spec, _arms(spec, data, axis=1)):
                if result.error is not None:  # type: ignore[attr-defined]
                    tally[4] += 1
                    continue
                tally[0] += result.pvalue < ALPHA  # type: ignore[attr-defined]
                tally[1] += result.effect_size_ci_lower <= 0 <= result.effect_size_ci_upper  # type: ignore[attr-defined]
                tally[2] += (
                    result.rel_effect_size_ci_lower <= 0 <= result.rel_effect_size_ci_upper  # type: ignore[attr-defined]
                )
                tally[3] += 1
    return [
        Calibration(
            method=name,
            experiments=tally[3],
            false_positive_rate=tally[0] / tally[3],
            coverage=tally[1] / tally[3],
            rel_coverage=tally[2] / tally[3],
            errors=tally[4],
        )
        for name, tally in counts.items()
    ]


def peeking(
    experiments: int = 2_000, days: int = 28, units_per_day: int = 2_000,
    seed: int = 20261126, chunk: int = 50,
    methods: tuple[str, ...] = ("proportion welch_t", "mean welch_t"),
) -> list[Peeking]:
    """Share of A/A experiments with p < α at any of ``days`` daily looks."""
    rng = np.random.default_rng(seed)
    target_units = days * units_per_day
    hits = {f"{name} {mode}": 0 for name in methods for mode, _ in SEQUENTIAL_MODES}
    for start in range(0, experiments, chunk):
        size = min(chunk, experiments - start)
        data = _units(rng, (size, days, units_per_day))
        for name in methods:
            arms = _arms(METHODS[name], data, axis=2)
            for mode, options in SEQUENTIAL_MODES:
                rejected = np.zeros(size, dtype=bool)
                for (experiment, _), result in _comparisons(
                    METHODS[name], arms, sequential_target_units=target_units, **options
                ):
                    rejected[experiment] |= result.pvalue < ALPHA  # type: ignore[attr-defined]
                hits[f"{name} {mode}"] += int(rejected.sum())
    return [
        Peeking(method=key, experiments=experiments, looks=days,
                false_positive_rate=count / experiments)
        for key, count in hits.items()
    ]


def frozen_audience_peeking(
    experiments: int = 1_000, units: int = 10_000, days: int = 28, seed: int = 20261127,
    chunk: int = 100, methods: tuple[str, ...] = ("proportion welch_t", "mean welch_t"),
    first_looks: tuple[int, ...] = (1, 7),
) -> list[Peeking]:
    """Peeking when the audience is assigned once and outcomes accrue day by day.

    This is how threadlift runs a holdout: every unit is assigned at ``assigned_at`` and
    the report on day ``d`` counts what each unit did in its first ``d`` days. Each
    unit's outcome lands on a uniformly random day of the window, so the daily looks
    watch the same units' outcomes grow. The confidence sequence uses its default ρ
    (tuned to the fixed total of units). Each entry of ``first_looks`` gives a row per
    method that only counts looks from that day on (a burn-in).
    """
    rng = np.random.default_rng(seed)
    keys = [
        (name, mode, first)
        for name in methods for mode, _ in SEQUENTIAL_MODES for first in first_looks
    ]
    hits = dict.fromkeys(keys, 0)
    outcome_columns = ("converted", "orders", "revenue")
    for start in range(0, experiments, chunk):
        size = min(chunk, experiments - start)
        data = _units(rng, (size, units))
        outcome_day = rng.integers(1, days + 1, (size, units))
        rejected = {key: np.zeros(size, dtype=bool) for key in keys}
        for day in range(1, days + 1):
            arrived = outcome_day <= day
            look = {
                name: np.where(arrived, array, 0.0) if name in outcome_columns else array
                for name, array in data.items()
            }
            for name in methods:
                arms = _arms(METHODS[name], look, axis=1)
                for mode, options in SEQUENTIAL_MODES:
                    for (experiment,), result in _comparisons(METHODS[name], arms, **options):
                        if result.pvalue < ALPHA:  # type: ignore[attr-defined]
                            for first in first_looks:
                                if day >= first:
                                    rejected[(name, mode, first)][experiment] = True
        for key, flags in rejected.items():
            hits[key] += int(flags.sum())
    return [
        Peeking(method=f"{name} {mode}, looks from day {first}", experiments=experiments,
                looks=days - first + 1, false_positive_rate=count / experiments)
        for (name, mode, first), count in hits.items()
    ]


def _interval(successes: float, trials: int) -> str:
    """95 % Wilson interval, to show the simulation's own noise."""
    p = successes / trials
    z = 1.959963984540054
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (
        1 + z * z / trials
    )
    return f"[{100 * (centre - half):.2f}%, {100 * (centre + half):.2f}%]"


def main(argv: list[str] | None = None) -> int:
    """Run both simulations and print a Markdown report (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--peeking-experiments", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--units-per-day", type=int, default=2_000)
    parser.add_argument("--frozen-experiments", type=int, default=1_000)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    calibration = fixed_horizon(args.experiments, args.units)
    peeks = peeking(args.peeking_experiments, args.days, args.units_per_day)
    frozen = frozen_audience_peeking(args.frozen_experiments, args.units, args.days)
    elapsed = time.perf_counter() - started

    print(f"A/A, {HOLDOUT_SHARE:.0%} holdout, alpha = {ALPHA}; "
          f"{args.experiments} experiments of {args.units} units")
    print()
    print("| method | experiments | false-positive rate (95% sim. interval) "
          "| CI coverage | rel. CI coverage |")
    print("|---|---|---|---|---|")
    for row in calibration:
        print(f"| {row.method} | {row.experiments} | {100 * row.false_positive_rate:.2f}% "
              f"{_interval(row.false_positive_rate * row.experiments, row.experiments)} "
              f"| {100 * row.coverage:.2f}% | {100 * row.rel_coverage:.2f}% |")
    print()
    print(f"Daily peeking: {args.peeking_experiments} experiments, {args.days} looks, "
          f"{args.units_per_day} new units a day")
    print()
    print("| method | P(any look has p < 0.05) |")
    print("|---|---|")
    for peek in peeks:
        print(f"| {peek.method} | {100 * peek.false_positive_rate:.2f}% "
              f"{_interval(peek.false_positive_rate * peek.experiments, peek.experiments)} |")
    print()
    print(f"Frozen audience: {args.frozen_experiments} experiments of {args.units} units "
          f"assigned once, outcomes accruing over {args.days} daily looks")
    print()
    print("| method | P(any look has p < 0.05) |")
    print("|---|---|")
    for peek in frozen:
        print(f"| {peek.method} | {100 * peek.false_positive_rate:.2f}% "
              f"{_interval(peek.false_positive_rate * peek.experiments, peek.experiments)} |")
    print()
    print(f"elapsed {elapsed:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"fixed_horizon": [asdict(r) for r in calibration],
                       "peeking": [asdict(p) for p in peeks],
                       "frozen_audience_peeking": [asdict(p) for p in frozen]},
                      handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
