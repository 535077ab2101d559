"""Scheduled reporting: ``threadlift report --all EXPERIMENTS_DIR --out DIR``.

Every active experiment file in the directory (one whose ``assigned_at`` is not after the
as-of time) is reported into ``DIR/<experiment>/<as-of date>/``.
A failure is isolated to its experiment (written as ``error.txt`` beside where its report
would be) and the command exits with the worst status: 1 bug > 2 bad input > 3 alert > 0
(with ``fail_on="warning"`` a warning counts as an alert). Each experiment's alerts and
warnings are printed on stderr after its id (``alpha: Warning: ...``).
Re-running for the same as-of time rewrites the same files with the same bytes.
With an engine (``--engine spark``) every experiment's SQL runs there, in one session.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from threadlift.errors import ConfigError, ThreadliftError
from threadlift.report.write import EXIT_ALERT, EXIT_BAD_INPUT, EXIT_BUG, EXIT_OK

if TYPE_CHECKING:
    from threadlift.engines.base import Engine
    from threadlift.report.summary import FailOn

_SEVERITY = {EXIT_OK: 0, EXIT_ALERT: 1, EXIT_BAD_INPUT: 2, EXIT_BUG: 3}


def worst(codes: list[int]) -> int:
    """The most severe exit code: bug (1) > bad input (2) > alert (3) > ok (0)."""
    return max(codes, key=lambda code: _SEVERITY.get(code, 3), default=EXIT_OK)


@dataclass(frozen=True)
class ScheduledRun:
    """What ``report --all`` did.

    Attributes:
        exit_code: the worst exit code of the experiments (:func:`worst`).
        reports: one entry per experiment file: its summary (``Summary.to_dict()``), the
            paths written and its exit code; or ``skipped`` and why; or ``error``.
    """

    exit_code: int
    reports: list[dict[str, Any]] = field(default_factory=list)


def _say(line: str, colour: str | None = None) -> None:
    click.secho(line, fg=colour, err=True)


def report_all(
    workspace: Path,
    experiments_dir: Path,
    out: Path,
    *,
    as_of: datetime,
    correction: str = "holm",
    engine: Engine | None = None,
    sections: Literal["full", "core"] = "full",
    fail_on: FailOn = "alert",
    memory_limit: str | None = None,
) -> ScheduledRun:
    """Report every ``*.toml`` in ``experiments_dir``; return the worst exit code and what
    each experiment gave.

    Args:
        workspace: The workspace file (opened read-only).
        experiments_dir: Where the experiment files are.
        out: Reports go to ``out/<experiment id>/<as-of date>/``.
        as_of: The as-of time of every report.
        correction: Multiple-testing correction across metrics and arms.
        engine: Where the SQL runs (default: DuckDB on the workspace); the caller owns it.
        sections: ``"full"`` or ``"core"`` (see :func:`threadlift.analysis.analyze`).
        fail_on: ``"alert"``: exit code 3 on an alert; ``"warning"``: on any warning too.
        memory_limit: DuckDB's memory limit (see :meth:`threadlift.workspace.Workspace.open`).
    """
    from threadlift.analysis import analyze
    from threadlift.experiment import load_experiment
    from threadlift.report.write import write_report
    from threadlift.workspace import Workspace

    files = sorted(experiments_dir.glob("*.toml"))
    if not files:
        raise ThreadliftError(f"no experiment files (*.toml) in {experiments_dir}")
    codes: list[int] = []
    reports: list[dict[str, Any]] = []
    date = as_of.date().isoformat()
    with Workspace.open(workspace, read_only=True, memory_limit=memory_limit) as ws:
        for file in files:
            target = out / (file.stem if file.stem not in (".", "..") else file.name) / date
            try:
                experiment = load_experiment(file)
                target = _report_folder(out, experiment.id, date, file)
                if experiment.assigned_at > as_of:
                    why = f"not started (assigned_at {experiment.assigned_at})"
                    _say(f"{experiment.id}: {why}, skipped")
                    reports.append({"file": str(file), "experiment_id": experiment.id,
                                    "skipped": why})
                    continue
                analysis = analyze(ws, experiment, as_of=as_of, correction=correction,  # type: ignore[arg-type]
                                   engine=engine, sections=sections)
                written = write_report(analysis, target, fail_on=fail_on)
                (target / "error.txt").unlink(missing_ok=True)
                codes.append(written.exit_code)
                for line, colour in written.summary.stderr_lines(prefix=f"{experiment.id}: "):
                    _say(line, colour)
                _say(f"{experiment.id}: {written.level} → {target}")
                reports.append({"file": str(file), **written.summary.to_dict(),
                                "paths": written.paths(), "exit_code": written.exit_code})
            except ThreadliftError as exc:
                codes.append(exc.exit_code)
                _write_error(target, f"Error: {exc}\n")
                _say(f"{file.name}: Error: {exc}", "red")
                reports.append({"file": str(file), "error": str(exc), "exit_code": exc.exit_code})
            except Exception as exc:
                codes.append(EXIT_BUG)
                _write_error(target, "".join(traceback.format_exception(exc)))
                _say(f"{file.name}: unexpected {type(exc).__name__}: {exc}", "red")
                reports.append({"file": str(file), "error": f"{type(exc).__name__}: {exc}",
                                "exit_code": EXIT_BUG})
    return ScheduledRun(worst(codes), reports)


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


__all__ = ["ScheduledRun", "report_all", "worst"]
