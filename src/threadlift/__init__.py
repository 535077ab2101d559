"""threadlift: what conversational messaging really adds, measured with stable holdouts.

The house, by concept (each folder's own docstring maps its modules):

- :mod:`threadlift.core` — pure formulas and contracts: bucketing, sufficient statistics,
  comparisons, sequential tests, power, cost and reach (no DuckDB, no files).
- :mod:`threadlift.experiment` — experiment files (TOML), validated.
- :mod:`threadlift.workspace` — the DuckDB workspace and its schema (``sql/workspace``).
- :mod:`threadlift.loading` — canonical rows from CSV / Parquet / JSON lines, with quarantine.
- :mod:`threadlift.ingest` — platform webhooks (WhatsApp, Messenger, Instagram, Apple, SMS, email).
- :mod:`threadlift.assign` — eligible, stable assignment; the global holdout.
- :mod:`threadlift.analysis` — one module per report section (units, lift, guardrails, reach,
  funnel, windows, quality, cost, …); :func:`analyze` runs them.
- :mod:`threadlift.report` — report.json, Markdown, HTML and charts from one analysis.
- :mod:`threadlift.engines` — where the SQL runs (DuckDB, Spark, warehouse dialects).
- :mod:`threadlift.datasets` — the seeded synthetic experiment, Hillstrom, the demo.
- :mod:`threadlift.api` — the HTTP API sending systems ask "which arm is this contact in?".

Notebook use::

    import threadlift as tl
    ws = tl.open_workspace("demo-out/demo.duckdb")
    result = tl.analyze(ws, tl.load_experiment("demo-out/experiment.toml"))
    result.metrics_frame()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threadlift.core.bucketing import bucket

__version__ = "0.1.0"

if TYPE_CHECKING:
    from threadlift.analysis import Analysis, analyze
    from threadlift.experiment import Experiment, load_experiment
    from threadlift.workspace import Workspace

__all__ = [
    "Analysis",
    "Experiment",
    "Workspace",
    "__version__",
    "analyze",
    "bucket",
    "load_experiment",
    "open_workspace",
]

_LAZY = {
    "Analysis": "threadlift.analysis",
    "analyze": "threadlift.analysis",
    "Experiment": "threadlift.experiment",
    "load_experiment": "threadlift.experiment",
    "Workspace": "threadlift.workspace",
}


def open_workspace(path: str | None = None, *, read_only: bool = True) -> Workspace:
    """Open an existing workspace (read-only by default, for notebooks)."""
    from threadlift.workspace import Workspace

    return Workspace.open(path, read_only=read_only)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'threadlift' has no attribute {name!r}")
