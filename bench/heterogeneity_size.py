"""Heterogeneity simulation: does the lift-by-segment test (Cochran's Q) hold its size when
segments share one effect, and reject when their effects differ?

Each simulated experiment has a 10 % holdout and five segments ("markets") of unequal size
(35, 25, 18, 12 and 10 % of units) and unequal baseline conversion (5, 8, 11, 6 and 14 %).
Per unit: a pre-period conversion (20 %, raising the window's conversion by 15 points: the
CUPED covariate), the window's conversion ``Bernoulli(base + 0.15·pre + δ·treated)``, and
revenue = conversion × a log-normal basket (CUPED covariate: the same over the
pre-period). Three worlds:

1. no effect anywhere (δ = 0);
2. one common effect, +2 points of conversion in every segment despite their different
   baselines (the null of the test on the absolute scale: it must hold its size);
3. effects that differ, δ = 0, 0, +3, +6, +6 points: none in the two largest segments
   (the test should reject).

Each experiment goes through what a report does: per-arm sufficient statistics per
segment, :func:`threadlift.core.stats.compare` per segment (conversion: Welch's t;
revenue: Welch's t with CUPED) and :func:`threadlift.core.stats.heterogeneity` over the
segments. Three sizes: 20,000 units (smallest holdout cell ≈ 200 units), 10,000 (≈ 100,
the report's default ``min_units``) and 4,000 (≈ 40, which a report would pool into
``other``).

Usage::

    .venv/bin/python bench/heterogeneity_size.py                 # 2,000 experiments per world and size (≈ 1.5 min)
    .venv/bin/python bench/heterogeneity_size.py --experiments 500 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from threadlift.core.moments import SufficientStats
from threadlift.core.stats import compare, heterogeneity

ALPHA = 0.05
HOLDOUT_SHARE = 0.10
SHARES = np.array([0.35, 0.25, 0.18, 0.12, 0.10])
BASE = np.array([0.05, 0.08, 0.11, 0.06, 0.14])
PRE_RATE = 0.20
PRE_BOOST = 0.15
WORLDS: dict[str, tuple[float, ...]] = {
    "no effect": (0.0,) * 5,
    "common effect (+2 points everywhere)": (0.02,) * 5,
    "effects differ (0, 0, +3, +6, +6 points)": (0.0, 0.0, 0.03, 0.06, 0.06),
}
SIZES = (20_000, 10_000, 4_000)
METRICS = ("conversion welch_t", "revenue welch_t+cuped")


@dataclass(frozen=True)
class Rejection:
    """Share of experiments whose heterogeneity p-value is below α."""

    world: str
    units: int
    metric: str
    experiments: int
    rejection_rate: float
    interval_low: float
    interval_high: float
    smallest_holdout_cell: int
    """The median over experiments of the smallest segment's holdout units."""


def _sums(
    key: np.ndarray, cells: int, values: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per cell (experiment × segment × arm): units and the sums the metrics need."""
    flat = key.ravel()
    out = {"units": np.bincount(flat, minlength=cells).astype(float)}
    for name, array in values.items():
        out[name] = np.bincount(flat, weights=array.ravel(), minlength=cells)
    return out


def _stats(sums: dict[str, np.ndarray], cell: int, metric: str) -> SufficientStats:
    n = float(sums["units"][cell])
    if metric.startswith("conversion"):
        y = float(sums["y"][cell])
        return SufficientStats(
            units=int(n), main_sum=y, main_sum_squares=float(sums["yy"][cell]),
            denominator_sum=n, denominator_sum_squares=n, main_denominator_sum_product=y,
        )
    r, x = float(sums["r"][cell]), float(sums["x"][cell])
    return SufficientStats(
        units=int(n),
        main_sum=r,
        main_sum_squares=float(sums["rr"][cell]),
        denominator_sum=n,
        denominator_sum_squares=n,
        main_denominator_sum_product=r,
        covariate_sum=x,
        covariate_sum_squares=float(sums["xx"][cell]),
        main_covariate_sum_product=float(sums["rx"][cell]),
        denominator_covariate_sum_product=x,
        covariate_denominator_sum=n,
        covariate_denominator_sum_squares=n,
        main_covariate_denominator_sum_product=r,
        denominator_covariate_denominator_sum_product=n,
        covariate_covariate_denominator_sum_product=x,
    )


def _wilson(hits: int, n: int) -> tuple[float, float]:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(hits, n, alpha=0.05, method="wilson")
    return float(low), float(high)


def simulate(
    world: str, units: int, experiments: int, seed: int, chunk: int = 100
) -> list[Rejection]:
    """Rejection rate of the heterogeneity test per metric over ``experiments`` runs."""
    rng = np.random.default_rng(seed)
    effects = np.array(WORLDS[world])
    k = len(SHARES)
    hits = dict.fromkeys(METRICS, 0)
    counted = dict.fromkeys(METRICS, 0)
    smallest: list[int] = []
    for start in range(0, experiments, chunk):
        size = min(chunk, experiments - start)
        shape = (size, units)
        segment = rng.choice(k, size=shape, p=SHARES)
        treated = rng.random(shape) >= HOLDOUT_SHARE
        pre = rng.random(shape) < PRE_RATE
        p = BASE[segment] + PRE_BOOST * pre + effects[segment] * treated
        converted = (rng.random(shape) < p).astype(float)
        revenue = converted * rng.lognormal(3.0, 0.5, shape)
        pre_revenue = pre * rng.lognormal(3.0, 0.5, shape)
        key = (np.arange(size)[:, None] * k + segment) * 2 + treated
        sums = _sums(
            key,
            size * k * 2,
            {
                "y": converted, "yy": converted * converted,
                "r": revenue, "rr": revenue * revenue, "x": pre_revenue,
                "xx": pre_revenue * pre_revenue, "rx": revenue * pre_revenue,
            },
        )
        for e in range(size):
            cells = [((e * k + s) * 2, (e * k + s) * 2 + 1) for s in range(k)]
            smallest.append(int(min(sums["units"][c] for c, _ in cells)))
            for metric in METRICS:
                comparisons = [
                    compare(
                        "proportion" if metric.startswith("conversion") else "mean",
                        _stats(sums, control, metric),
                        _stats(sums, treatment, metric),
                        alpha=ALPHA,
                        cuped=metric.endswith("+cuped"),
                    )
                    for control, treatment in cells
                ]
                sound = [c for c in comparisons if c.error is None]
                test = heterogeneity([c.effect_size for c in sound], [c.se for c in sound])
                if test.error is None:
                    counted[metric] += 1
                    hits[metric] += test.pvalue < ALPHA
    rows = []
    for metric in METRICS:
        low, high = _wilson(hits[metric], counted[metric])
        rows.append(
            Rejection(
                world=world,
                units=units,
                metric=metric,
                experiments=counted[metric],
                rejection_rate=hits[metric] / counted[metric],
                interval_low=low,
                interval_high=high,
                smallest_holdout_cell=int(np.median(smallest)),
            )
        )
    return rows


def run(experiments: int = 2_000, seed: int = 20261208) -> list[Rejection]:
    """Every world at every size (seeds derived from ``seed``, so each cell is reproducible)."""
    rows: list[Rejection] = []
    for i, world in enumerate(WORLDS):
        for j, units in enumerate(SIZES):
            rows += simulate(world, units, experiments, seed + 100 * i + j)
    return rows


def _table(rows: list[Rejection]) -> str:
    lines = [
        f"Heterogeneity (Cochran's Q), 5 segments, 10% holdout, alpha = {ALPHA}",
        "",
        "| world | units | smallest holdout cell | metric | experiments | P(p < 0.05) (95% sim. interval) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.world} | {r.units:,} | {r.smallest_holdout_cell} | {r.metric} | "
            f"{r.experiments} | {r.rejection_rate:.2%} [{r.interval_low:.2%}, {r.interval_high:.2%}] |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261208)
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.experiments, args.seed)
    print(_table(rows))
    print(f"\nelapsed {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
