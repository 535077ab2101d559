"""Empirical-Bayes shrinkage of several experiments' effects (the winner's curse).

Each experiment's estimate ``e_k`` (standard error ``s_k``) is read as a draw from a normal
prior ``N(mu, tau²)`` of true effects plus its own sampling error. ``mu`` and ``tau²`` are
estimated from the estimates themselves (DerSimonian–Laird's method of moments, as
``statsmodels.stats.meta_analysis.combine_effects`` computes it), and each estimate is
pulled towards ``mu`` by the share of its variance that is noise:

    shrunk_k = mu + B_k (e_k − mu),   B_k = tau² / (tau² + s_k²).

A large, noisy estimate (the kind that wins a test) is pulled furthest. Pure: numbers in,
numbers out.

Examples:
    >>> prior = dersimonian_laird([0.02, 0.0, 0.01], [0.005, 0.005, 0.005])
    >>> round(prior.tau2, 6), round(prior.mean, 4)
    (7.5e-05, 0.01)
    >>> [round(x, 4) for x in shrink([0.02, 0.0, 0.01], [0.005, 0.005, 0.005], prior)]
    [0.0175, 0.0025, 0.01]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RandomEffectsPrior:
    """The prior of true effects estimated from the estimates (DerSimonian–Laird).

    Attributes:
        mean: ``mu``, the random-effects (``1/(s_k² + tau²)``-weighted) mean.
        tau2: ``tau²``, the between-experiment variance (0 when the estimates differ no
            more than their errors allow).
        q: Cochran's Q around the fixed-effect (``1/s_k²``-weighted) mean.
        estimates: ``K``, the number of estimates.
        error: ``too_few_estimates`` (fewer than two: no variance between them can be
            estimated) or ``no_variance`` (a standard error that is not finite and
            positive); the other fields are NaN then.
    """

    mean: float
    tau2: float
    q: float
    estimates: int
    error: str | None = None


def dersimonian_laird(effects: Sequence[float], ses: Sequence[float]) -> RandomEffectsPrior:
    """``mu`` and ``tau²`` of the normal prior of true effects, by the method of moments.

    ``tau² = max(0, (Q − (K − 1)) / (Σw − Σw²/Σw))`` with ``w_k = 1/s_k²`` and ``Q`` Cochran's
    statistic around the fixed-effect mean.

    References:
        - DerSimonian, R., Laird, N. (1986). Meta-analysis in clinical trials. Controlled
          Clinical Trials 7(3), 177–188.
    """
    k = len(effects)
    if k != len(ses):
        raise ValueError(f"{k} effects but {len(ses)} standard errors: give one of each")
    nan = math.nan
    if k < 2:
        return RandomEffectsPrior(nan, nan, nan, k, "too_few_estimates")
    if not all(math.isfinite(s) and s > 0 for s in ses) or not all(
        math.isfinite(e) for e in effects
    ):
        return RandomEffectsPrior(nan, nan, nan, k, "no_variance")
    weights = [1.0 / s**2 for s in ses]
    total = sum(weights)
    fixed = sum(w * e for w, e in zip(weights, effects, strict=True)) / total
    q = sum(w * (e - fixed) ** 2 for w, e in zip(weights, effects, strict=True))
    c = total - sum(w**2 for w in weights) / total
    tau2 = max(0.0, (q - (k - 1)) / c)
    random_weights = [1.0 / (s**2 + tau2) for s in ses]
    mean = sum(w * e for w, e in zip(random_weights, effects, strict=True)) / sum(random_weights)
    return RandomEffectsPrior(mean, tau2, q, k)


def shrink(
    effects: Sequence[float], ses: Sequence[float], prior: RandomEffectsPrior
) -> list[float]:
    """Each estimate's posterior mean under ``prior``: ``mu + B_k (e_k − mu)``.

    NaN for every estimate when the prior could not be estimated (``prior.error``).

    References:
        - Efron, B., Morris, C. (1975). Data analysis using Stein's estimator and its
          generalizations. JASA 70(350), 311–319.
    """
    if prior.error:
        return [math.nan for _ in effects]
    return [
        prior.mean + prior.tau2 / (prior.tau2 + s**2) * (e - prior.mean)
        for e, s in zip(effects, ses, strict=True)
    ]
