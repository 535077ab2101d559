"""Scheduled reporting: ``threadlift report --all EXPERIMENTS_DIR --out DIR``.

Every active experiment file in the directory (one whose ``assigned_at`` is not after the
as-of time) is reported into ``DIR/<experiment>/<as-of date>/``.
A failure is isolated to its experiment (written as ``error.txt`` beside where its report
would be) and the command exits with the worst status: 1 bug > 2 bad input > 3 alert > 0.
Re-running for the same as-of time rewrites the same files with the same bytes.
With an engine (``--engine spark``) every experiment's SQL runs there, in one session.
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from threadlift.errors import ConfigError, ThreadliftError
from threadlift.report.write import EXIT_ALERT, EXIT_BAD_INPUT, EXIT_BUG, EXIT_OK

if TYPE_CHECKING:
    from threadlift.engines.base import Engine

_SEVERITY = {EXIT_OK: 0, EXIT_ALERT: 1, EXIT_BAD_INPUT: 2, EXIT_BUG: 3}


def worst(codes: list[int]) -> int:
    """The most severe exit code: bug (1) > bad input (2) > alert (3) > ok (0)."""
    return max(codes, key=lambda code: _SEVERITY.get(code, 3), default=EXIT_OK)


def report_all(
    workspace: Path,
    experiments_dir: Path,
    out: Path,
    *,
    as_of: datetime,
    correction: str = "holm",
    engine: Engine | None = None,
    sections: Literal["full", "core"] = "full",
) -> int:
    """Report every ``*.toml`` in ``experiments_dir``; return the worst exit code.

    Args:
        workspace: The workspace file (opened read-only).
        experiments_dir: Where the experiment files are.
        out: Reports go to ``out/<experiment id>/<as-of date>/``.
        as_of: The as-of time of every report.
        correction: Multiple-testing correction across metrics and arms.
        engine: Where the SQL runs (default: DuckDB on the workspace); the caller owns it.
        sections: ``"full"`` or ``"core"`` (see :func:`threadlift.analysis.analyze`).
    """
    from threadlift.analysis import analyze
    from threadlift.experiment import load_experiment
    from threadlift.report.write import write_report
    from threadlift.workspace import Workspace

    files = sorted(experiments_dir.glob("*.toml"))
    if not files:
        raise ThreadliftError(f"no experiment files (*.toml) in {experiments_dir}")
    codes: list[int] = []
    date = as_of.date().isoformat()
    with Workspace.open(workspace, read_only=True) as ws:
        for file in files:
            target = out / (file.stem if file.stem not in (".", "..") else file.name) / date
            try:
                experiment = load_experiment(file)
                target = _report_folder(out, experiment.id, date, file)
                if experiment.assigned_at > as_of:
                    print(f"{experiment.id}: not started (assigned_at {experiment.assigned_at}), skipped",
                          file=sys.stderr)
                    continue
                analysis = analyze(ws, experiment, as_of=as_of, correction=correction,  # type: ignore[arg-type]
                                   engine=engine, sections=sections)
                written = write_report(analysis, target)
                (target / "error.txt").unlink(missing_ok=True)
                codes.append(written.exit_code)
                print(f"{experiment.id}: {written.status} → {target}", file=sys.stderr)
            except ThreadliftError as exc:
                codes.append(exc.exit_code)
                _write_error(target, f"Error: {exc}\n")
                print(f"{file.name}: Error: {exc}", file=sys.stderr)
            except Exception as exc:
                codes.append(EXIT_BUG)
                _write_error(target, "".join(traceback.format_exception(exc)))
                print(f"{file.name}: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
    return worst(codes)


def _report_folder(out: Path, experiment_id: str, date: str, file: Path) -> Path:
    """``out/<id>/<date>``, refusing an id that would put it anywhere outside ``out``."""
    target = out / experiment_id / date
    root = out.resolve()
    resolved = target.resolve()
    if resolved.parent.parent != root:
        raise ConfigError(
            f"{file}: experiment id {experiment_id!r} would write its report to {resolved}, "
            f"outside {root}; use a plain name (letters, digits, '.', '_', '-')"
        )
    return target


def _write_error(target: Path, text: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "error.txt").write_text(text, encoding="utf-8")


__all__ = ["report_all", "worst"]
