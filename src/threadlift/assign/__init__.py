"""Assignment: eligible contacts put in stable arms, recorded, exported.

- :mod:`~threadlift.assign.assignment`: ``threadlift assign`` — the audience, eligibility
  verdicts, the design registry, the global holdout, exports and send lists.
- :mod:`~threadlift.assign.eligibility`: the cached per-contact eligibility state the
  verdicts read, kept current with its sources.

The bucketing contract itself is pure and lives in :mod:`threadlift.core.bucketing`.
"""
