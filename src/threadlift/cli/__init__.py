"""The ``threadlift`` command line.

Each command lives in the module of its concept: ``data`` (init, load, ingest, quarantine,
info, sql), ``assign`` (assign, holdout), ``report``, ``plan``, ``serve`` (serve,
exposures), ``privacy`` (forget, retention) and ``demo``; ``common`` holds the error style
and options they share. ``report`` exits 3 when any alert fires (docs/architecture.md,
"Exit codes"). Heavy modules are imported inside commands so ``threadlift --help`` starts
fast.
"""

# The command modules register themselves on ``main`` when imported.
from threadlift.cli import assign, data, demo, plan, privacy, report, serve  # noqa: F401
from threadlift.cli.main import main

__all__ = ["main"]
