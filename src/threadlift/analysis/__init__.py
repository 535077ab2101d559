"""One experiment's analysis, one module per report section.

:func:`analyze` (:mod:`~threadlift.analysis.run`) runs the sections in order and returns
an :class:`Analysis`. Each section module owns its SQL (``sql/analysis/<section>/``) and
turns per-arm sufficient statistics into its typed results (frozen dataclasses):

- :mod:`~threadlift.analysis.units`: arms, the sample-ratio check, pre-period balance;
- :mod:`~threadlift.analysis.lift`: every metric's lift against the control arm;
- :mod:`~threadlift.analysis.complier`: effects on those delivered to / who read;
- :mod:`~threadlift.analysis.cumulative`: lift by day since assignment;
- :mod:`~threadlift.analysis.funnel`: sent, delivered, read, replied, converted;
- :mod:`~threadlift.analysis.guardrails`: block, report, opt-out … rates (non-inferiority);
- :mod:`~threadlift.analysis.reach`: messaging-limit reach against the sender's tier;
- :mod:`~threadlift.analysis.windows`: the 24-hour customer-service window;
- :mod:`~threadlift.analysis.segments`: lift by segment and the heterogeneity test;
- :mod:`~threadlift.analysis.quality`: sender quality rating and template status;
- :mod:`~threadlift.analysis.cost`: cost and cost per incremental conversion;
- :mod:`~threadlift.analysis.exposure`: exposures per arm, mismatched exposures, the
  triggered analysis;
- :mod:`~threadlift.analysis.alerts`: what makes a report exit with code 3;
- :mod:`~threadlift.analysis.schema`: report.json's JSON Schema, generated from
  :class:`~threadlift.analysis.run.ReportJson` (``python -m threadlift.analysis.schema``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadlift.analysis.run import (
        CORE_SKIPS,
        SECTIONS,
        Analysis,
        Chart,
        analyze,
        default_as_of,
    )

__all__ = ["CORE_SKIPS", "SECTIONS", "Analysis", "Chart", "analyze", "default_as_of"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing one section module (or the SQL-only helpers a benchmark uses) does
    # not import the whole analysis with pandas.
    if name in __all__:
        from threadlift.analysis import run

        return getattr(run, name)
    raise AttributeError(f"module 'threadlift.analysis' has no attribute {name!r}")
