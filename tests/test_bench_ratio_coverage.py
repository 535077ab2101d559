"""The cost-ratio coverage simulation (``bench/ratio_coverage.py``): Fieller's interval
keeps its 95 % where the delta method on the log ratio falls short."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from ratio_coverage import DESIGNS, simulate


def test_fieller_covers_at_the_nominal_rate_where_the_delta_method_does_not() -> None:
    rng = np.random.default_rng(20261208)
    reps = 4_000
    for design in DESIGNS:
        coverage = simulate(design, reps, rng)
        # 95 % within sampling error of 4,000 replications (two-sided p > 0.001)
        hits = round(coverage.fieller * reps)
        assert sps.binomtest(hits, reps, 0.95).pvalue > 1e-3, (design.name, coverage.fieller)
        if design.denominator_z < 2.5 or design.name == "weak numerator":
            # the delta method is over-confident: clearly below 95 % where it is defined
            assert coverage.delta < 0.94, (design.name, coverage.delta)
            assert coverage.unbounded > 0
