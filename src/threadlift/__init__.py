"""threadlift: what conversational messaging really adds, measured with stable holdouts.

Modules, by concept:

- :mod:`threadlift.assignment` — the bucketing contract (pure): :func:`bucket`.
- :mod:`threadlift.experiment` — experiment files (TOML) validated.
- :mod:`threadlift.workspace` — the DuckDB workspace and its schema.
- :mod:`threadlift.loading` — canonical rows from CSV / Parquet / JSON lines, with quarantine.
- :mod:`threadlift.ingest` — platform webhooks (WhatsApp, Messenger, Instagram, Apple).
- :mod:`threadlift.assign` — eligible, stable assignment in DuckDB.
- :mod:`threadlift.outcomes` — SQL → per-arm sufficient statistics.
- :mod:`threadlift.moments` — the sufficient-statistics contract.
- :mod:`threadlift.stats` — lift, intervals, SRM, guardrail tests (pure).
- :mod:`threadlift.power` — holdout planning.
- :mod:`threadlift.analysis` — one experiment's full analysis; :mod:`threadlift.report` writes it.
- :mod:`threadlift.datasets` — the seeded synthetic WhatsApp experiment.

Notebook use::

    import threadlift as tl
    ws = tl.open_workspace("demo-out/demo.duckdb")
    result = tl.analyze(ws, tl.load_experiment("demo-out/experiment.toml"))
    result.metrics_frame()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threadlift.assignment import bucket

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
