"""Coverage of the cost-ratio interval: Fieller's against the delta method on the log ratio.

Simulates multi-channel experiments with one shared holdout (binomial conversions in
each arm) and compares two cells' costs per incremental conversion, as
``report.json``'s ``cost_comparison`` does: ``ratio = k · d_b / d_a`` with known costs
``k`` and conversion effects ``d`` against the holdout. For each design it reports how
often each method's 95 % confidence set holds the true ratio:

* ``fieller``: :func:`threadlift.core.fieller.fieller_interval` (what threadlift reports;
  a set without finite bounds — the complement of an interval, or everything — counts as
  covering when the true ratio is in it), over every replication, and over those where
  both effects came out positive (where a cost per incremental conversion is reported);
* ``delta``: the delta method on ``log ratio`` that threadlift used before, defined only
  when both effects are positive.

Designs run from a well-measured denominator to one whose effect is about 1.5 standard
errors from zero, where the delta method's interval is too short.

Run: ``python bench/ratio_coverage.py [--reps 4000] [--seed 20261208]`` (about 10 s).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from threadlift.core.fieller import fieller_interval


@dataclass(frozen=True)
class Design:
    """One simulated design: units per arm, conversion rates, and each cell's cost."""

    name: str
    units: int
    holdout: float
    first: float
    """The first cell's conversion rate (its effect is the ratio's denominator)."""
    second: float
    cost_first: float = 900.0
    cost_second: float = 400.0

    @property
    def true_ratio(self) -> float:
        """``(cost_a / (n·d_a)) / (cost_b / (n·d_b))`` at the true rates."""
        d_a, d_b = self.first - self.holdout, self.second - self.holdout
        return (self.cost_first / d_a) / (self.cost_second / d_b)

    @property
    def denominator_z(self) -> float:
        """The first cell's true effect in standard errors."""
        n = self.units
        se = math.sqrt(self.first * (1 - self.first) / n + self.holdout * (1 - self.holdout) / n)
        return (self.first - self.holdout) / se


DESIGNS = (
    Design("well measured", 20_000, 0.05, 0.08, 0.065),
    Design("weak numerator", 4_000, 0.05, 0.0656, 0.055),
    Design("denominator 2 se", 4_000, 0.05, 0.0602, 0.09),
    Design("denominator 1.5 se", 4_000, 0.05, 0.0576, 0.09),
    Design("denominator 1.5 se, strong numerator", 4_000, 0.05, 0.0576, 0.12),
)
"""From a well-measured ratio to the designs where the delta method is over-confident:
a first cell whose effect is 1.5–2 standard errors from zero, or a second cell with a
weak effect against a first cell's 3-se effect."""


@dataclass(frozen=True)
class Coverage:
    """Coverage of one design's intervals."""

    design: Design
    reps: int
    fieller: float
    fieller_positive: float
    delta: float
    positive: int
    """Replications with both effects positive (where the delta method is defined)."""
    unbounded: int
    """Replications where Fieller's set had no finite bounds."""


def simulate(design: Design, reps: int, rng: np.random.Generator, alpha: float = 0.05) -> Coverage:
    """Coverage of Fieller's and the delta method's intervals over ``reps`` experiments."""
    n = design.units
    z = float(sps.norm.ppf(1 - alpha / 2))
    k = design.cost_first / design.cost_second
    truth = design.true_ratio
    h, a, b = (rng.binomial(n, p, reps) / n for p in (design.holdout, design.first, design.second))
    v0, va, vb = (p * (1 - p) / (n - 1) for p in (h, a, b))
    d_a, d_b = a - h, b - h
    se_a2, se_b2 = va + v0, vb + v0
    fieller_hits = fieller_positive_hits = delta_hits = positive = unbounded = 0
    for i in range(reps):
        result = fieller_interval(
            float(d_b[i]), float(d_a[i]), float(se_b2[i]), float(se_a2[i]), float(v0[i]), z
        )
        theta = truth / k
        if result.kind == "bounded":
            hit = result.lower <= theta <= result.upper
        elif result.kind == "complement":
            hit = not result.excluded_lower < theta < result.excluded_upper
        else:
            hit = True
        unbounded += result.kind != "bounded"
        fieller_hits += hit
        if d_a[i] > 0 and d_b[i] > 0:
            positive += 1
            fieller_positive_hits += hit
            ratio = k * d_b[i] / d_a[i]
            sd = math.sqrt(
                se_a2[i] / d_a[i] ** 2 + se_b2[i] / d_b[i] ** 2 - 2 * v0[i] / (d_a[i] * d_b[i])
            )
            delta_hits += ratio * math.exp(-z * sd) <= truth <= ratio * math.exp(z * sd)
    return Coverage(
        design,
        reps,
        fieller_hits / reps,
        fieller_positive_hits / positive if positive else math.nan,
        delta_hits / positive if positive else math.nan,
        positive,
        unbounded,
    )


def main() -> None:
    """Print one row per design."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261208)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"{args.reps} replications per design, seed {args.seed}, nominal 95 %")
    print(
        f"{'design':<37} {'z(d_a)':>6} {'fieller':>8} {'fieller|d>0':>11} {'delta|d>0':>9} "
        f"{'d>0':>6} {'no bounds':>9}"
    )
    for design in DESIGNS:
        c = simulate(design, args.reps, rng)
        print(
            f"{design.name:<37} {design.denominator_z:>6.2f} {c.fieller:>8.2%} "
            f"{c.fieller_positive:>11.2%} {c.delta:>9.2%} {c.positive:>6} {c.unbounded:>9}"
        )
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
