"""The pure core: formulas and contracts with no DuckDB, no files and no network.

- :mod:`~threadlift.core.bucketing`: the public bucketing contract, ``bucket(salt, id)``.
- :mod:`~threadlift.core.moments`: per-arm sufficient statistics (the SQL → statistics contract).
- :mod:`~threadlift.core.stats`: comparisons (Welch, delta method, CUPED, prop.test),
  complier effects, non-inferiority, sample-ratio and balance tests, p-value adjustment.
- :mod:`~threadlift.core.sequential`: always-valid confidence sequences.
- :mod:`~threadlift.core.power`: holdout planning (sample size, power, detectable effect).
- :mod:`~threadlift.core.cost`: cost per incremental conversion and its comparison.
- :mod:`~threadlift.core.reach`: messaging-limit tiers and whether a send list fits.
- :mod:`~threadlift.core.markets`: a phone number's calling code → its market.
"""
