"""Tests for threadlift.core.sequential (asymptotic confidence sequences)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from threadlift.core.moments import SufficientStats
from threadlift.core.sequential import (
    always_valid_pvalue,
    boundary_multiplier,
    confidence_sequence,
    optimal_rho,
)
from threadlift.core.stats import compare


def test_optimal_rho_formula() -> None:
    # Waudby-Smith et al. (2021): rho = sqrt((-2 log a + log(-2 log a + 1)) / t*).
    expected = math.sqrt((-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 10_000)
    assert optimal_rho(10_000, 0.05) == pytest.approx(expected, rel=1e-15)
    assert optimal_rho(10_000, 0.05, "greater") == pytest.approx(optimal_rho(10_000, 0.1))
    with pytest.raises(ValueError, match="target_units"):
        optimal_rho(0, 0.05)


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_optimal_rho_nearly_minimises_the_width_at_the_target(
    alpha: float, alternative: str
) -> None:
    target = 25_000
    rho = optimal_rho(target, alpha, alternative)  # type: ignore[arg-type]
    best = scipy.optimize.minimize_scalar(
        lambda log_rho: boundary_multiplier(target, math.exp(log_rho), alpha, alternative),  # type: ignore[arg-type]
        bounds=(math.log(rho) - 3, math.log(rho) + 3),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert boundary_multiplier(target, rho, alpha, alternative) == pytest.approx(  # type: ignore[arg-type]
        best.fun, rel=2e-3
    )


def test_two_sided_boundary_matches_the_paper() -> None:
    # sigma * sqrt(2 (t rho^2 + 1) / (t^2 rho^2) * log(sqrt(t rho^2 + 1) / alpha)),
    # written with se = sigma / sqrt(t).
    t, rho, alpha, sigma = 4_000.0, 0.02, 0.05, 3.0
    paper = sigma * math.sqrt(
        2 * (t * rho**2 + 1) / (t**2 * rho**2) * math.log(math.sqrt(t * rho**2 + 1) / alpha)
    )
    se = sigma / math.sqrt(t)
    assert boundary_multiplier(t, rho, alpha) * se == pytest.approx(paper, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    units=st.floats(min_value=10, max_value=1e7),
    target=st.floats(min_value=10, max_value=1e7),
    alpha=st.floats(min_value=1e-4, max_value=0.3),
    alternative=st.sampled_from(["two-sided", "greater", "less"]),
)
def test_sequence_is_wider_than_the_fixed_interval_and_pvalue_inverts_it(
    units: float, target: float, alpha: float, alternative: str
) -> None:
    rho = optimal_rho(target, alpha, alternative)  # type: ignore[arg-type]
    multiplier = boundary_multiplier(units, rho, alpha, alternative)  # type: ignore[arg-type]
    fixed = scipy.stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    assert multiplier > fixed
    edge = multiplier if alternative != "less" else -multiplier
    assert always_valid_pvalue(edge, units, rho, alternative) == pytest.approx(  # type: ignore[arg-type]
        alpha, rel=1e-7
    )
    assert always_valid_pvalue(edge * 1.01, units, rho, alternative) < alpha  # type: ignore[arg-type]
    assert always_valid_pvalue(edge * 0.99, units, rho, alternative) > alpha  # type: ignore[arg-type]


def test_confidence_sequence_bounds_and_directions() -> None:
    two = confidence_sequence(1.0, 0.2, 5000, target_units=5000)
    assert two.lower < 1.0 < two.upper
    assert two.upper - 1.0 == pytest.approx(two.multiplier * 0.2)
    greater = confidence_sequence(1.0, 0.2, 5000, target_units=5000, alternative="greater")
    assert greater.upper == math.inf
    assert greater.lower > two.lower
    less = confidence_sequence(1.0, 0.2, 5000, target_units=5000, alternative="less")
    assert less.lower == -math.inf
    assert less.pvalue == 1.0
    assert math.isnan(confidence_sequence(0.0, 0.0, 5000, target_units=5000).pvalue)


def test_peeking_keeps_the_error_rate_quick_simulation() -> None:
    """A small A/A run with 20 looks: the sequence stays under alpha, peeking does not."""
    rng = np.random.default_rng(2026)
    experiments, looks, per_look = 400, 20, 100
    target = looks * per_look
    sequence_errors = fixed_errors = 0
    for _ in range(experiments):
        arm = rng.random(target) < 0.1
        values = rng.exponential(1.0, target)
        sequence_hit = fixed_hit = False
        for look in range(1, looks + 1):
            stop = look * per_look
            arms = []
            for is_treatment in (False, True):
                chosen = values[:stop][arm[:stop] == is_treatment]
                arms.append(SufficientStats(
                    units=len(chosen), main_sum=float(chosen.sum()),
                    main_sum_squares=float((chosen * chosen).sum()),
                ))
            fixed_hit |= compare("mean", arms[0], arms[1]).pvalue < 0.05
            sequence_hit |= compare(
                "mean", arms[0], arms[1], sequential=True, sequential_target_units=target
            ).pvalue < 0.05
        sequence_errors += sequence_hit
        fixed_errors += fixed_hit
    assert sequence_errors / experiments <= 0.05
    assert fixed_errors / experiments > 0.08
