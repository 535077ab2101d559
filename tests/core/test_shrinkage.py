"""Empirical-Bayes shrinkage (threadlift.core.shrinkage) against statsmodels and by hand."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.meta_analysis import combine_effects

from threadlift.core import shrinkage
from threadlift.core.shrinkage import dersimonian_laird, shrink


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(shrinkage).failed == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels' HKSJ variance, unused here
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-0.2, 0.2, allow_nan=False), st.floats(0.001, 0.05, allow_nan=False)
        ),
        min_size=2,
        max_size=8,
    )
)
def test_tau2_and_mean_equal_statsmodels_dersimonian_laird(pairs: list[tuple[float, float]]) -> None:
    effects = [e for e, _ in pairs]
    ses = [s for _, s in pairs]
    prior = dersimonian_laird(effects, ses)
    fitted = combine_effects(np.array(effects), np.array(ses) ** 2, method_re="dl")
    # statsmodels leaves the moment estimate untruncated; tau² is its positive part.
    tau2 = max(0.0, float(fitted.tau2))
    assert prior.tau2 == pytest.approx(tau2, rel=1e-7, abs=1e-12)
    weights = 1 / (np.array(ses) ** 2 + tau2)
    assert prior.mean == pytest.approx(float((weights * effects).sum() / weights.sum()), abs=1e-12)
    shrunk = shrink(effects, ses, prior)
    for e, s, value in zip(effects, ses, shrunk, strict=True):
        # each estimate moves towards the mean, never past it
        assert min(e, prior.mean) - 1e-12 <= value <= max(e, prior.mean) + 1e-12
        assert value == pytest.approx(prior.mean + tau2 / (tau2 + s**2) * (e - prior.mean), abs=1e-12)


def test_degenerate_inputs_are_named_not_raised() -> None:
    assert dersimonian_laird([], []).error == "too_few_estimates"
    assert dersimonian_laird([0.1], [0.01]).error == "too_few_estimates"
    assert dersimonian_laird([0.1, 0.2], [0.01, math.inf]).error == "no_variance"
    with pytest.raises(ValueError, match="one of each"):
        dersimonian_laird([0.1, 0.2], [0.01])
