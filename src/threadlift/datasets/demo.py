"""``threadlift demo``: the whole path on seeded synthetic data with a known true effect.

generate → write Parquet files → ``load`` each canonical table → ``ingest`` the template
webhooks (template status and quality have no canonical table) → ``assign`` → ``report``.
The demo goes through the same loader, ingest, assignment and analysis as real data.

The demo rebuilds its workspace from scratch on every run, so it marks the workspaces it
creates (``threadlift_meta``: ``created_by = threadlift demo``) and refuses to replace any
other file: a workspace holding real data (its raw store is the system of record) is never
deleted by a demo run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from threadlift.errors import InputError, WorkspaceError
from threadlift.report.write import WrittenReport

DEMO_MARK = ("created_by", "threadlift demo")
"""The ``threadlift_meta`` row that marks a workspace the demo created (and may rebuild)."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo built and what it found."""

    out: Path
    workspace: Path
    experiment_file: Path
    report: WrittenReport
    report_as_of: datetime
    truth: dict[str, float]
    estimate: dict[str, float]
    alerts: list[str]
    exit_code: int = 0
    programme_report: WrittenReport | None = None
    """The programme report (a global holdout with two experiments inside it), when built."""

    def summary(self) -> str:
        """A few lines for the terminal: where things are and estimate vs truth."""
        lines = [
            f"workspace:   {self.workspace}",
            f"experiment:  {self.experiment_file}",
            f"report:      {self.report.html_path}",
            f"             {self.report.json_path}",
            f"             {self.report.markdown_path}",
        ]
        if "conversion_abs_effect" in self.truth and "effect_size" in self.estimate:
            lines.append(
                "conversion lift: estimated {:+.4f} (95% CI {:+.4f} to {:+.4f}); "
                "true effect {:+.4f}".format(
                    self.estimate["effect_size"],
                    self.estimate["effect_size_ci_lower"],
                    self.estimate["effect_size_ci_upper"],
                    self.truth["conversion_abs_effect"],
                )
            )
        if self.programme_report is not None:
            lines.append(f"programme:   {self.programme_report.html_path}")
        lines.extend(f"alert: {alert}" for alert in self.alerts)
        return "\n".join(lines)


class _Steps:
    """A rich progress bar over the demo's steps when attached to a terminal, else silent."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._stack = contextlib.ExitStack()
        self._progress: Any = None
        self._task: Any = None
        if enabled:
            from rich.progress import Progress

            self._progress = self._stack.enter_context(Progress(transient=True))
            self._task = self._progress.add_task("demo", total=total)

    def advance(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=description)

    def __enter__(self) -> _Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def run_demo(
    out: str | Path,
    *,
    n_contacts: int = 20_000,
    seed: int = 0,
    workspace: str | Path | None = None,
    progress: bool = False,
    pseudonymise: bool = False,
    key_file: str | Path | None = None,
    programme: bool = True,
) -> DemoResult:
    """Build the demo workspace under ``out`` and write its report to ``out/report``.

    With ``pseudonymise`` the workspace stores addresses as keyed HMAC-SHA256 values
    (:mod:`threadlift.privacy.pseudonyms`), the key in ``key_file`` (default
    ``out/demo.key``, created owner-only when missing); the report is the same.

    With ``programme`` (the default), also build a second workspace,
    ``out/programme/programme.duckdb``: a global holdout with two experiments run inside it
    (:mod:`threadlift.datasets.programme`), and write its report to ``out/programme/report``.
    The first workspace has no global holdout, so its report is the same either way.
    """
    from threadlift.analysis import analyze
    from threadlift.assign.assignment import assign_experiment
    from threadlift.datasets.synthetic import (
        generate_whatsapp_experiment,
        write_tables,
        write_template_webhooks,
    )
    from threadlift.experiment import load_experiment
    from threadlift.ingest import ingest_files
    from threadlift.loading import LOADABLE_TABLES, load_files
    from threadlift.privacy.pseudonyms import enable, init_key
    from threadlift.report.write import write_report
    from threadlift.workspace import Workspace

    out_dir = Path(out)
    ws_path = Path(workspace) if workspace is not None else out_dir / "demo.duckdb"
    if ws_path.exists():
        _refuse_unless_demo(ws_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (ws_path, ws_path.with_name(ws_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    key_path = (Path(key_file) if key_file is not None else out_dir / "demo.key") if pseudonymise else None
    key = init_key(key_path) if key_path is not None else None

    with _Steps(progress, 6 if programme else 5) as steps:
        advance = steps.advance
        data = generate_whatsapp_experiment(n_contacts=n_contacts, seed=seed)
        advance("generated")
        files = write_tables(data, out_dir / "data", "parquet")
        webhooks = write_template_webhooks(data, out_dir / "data" / "whatsapp_templates.jsonl")
        experiment_file = out_dir / "experiment.toml"
        experiment_file.write_text(data.experiment_toml, encoding="utf-8")
        advance("written")
        with Workspace.create(ws_path) as ws:
            ws.con.execute("INSERT OR REPLACE INTO threadlift_meta VALUES (?, ?)", list(DEMO_MARK))
            if key is not None:
                enable(ws.con, key[0], key[1])
            for table, path in files.items():
                if table in LOADABLE_TABLES:
                    load_files(ws, table, [path], key_file=key_path if table == "identities" else None)
            ingest_files(ws, "whatsapp", [webhooks], key_file=key_path)
            advance("loaded")
            experiment = load_experiment(experiment_file)
            assign_experiment(ws, experiment)
            advance("assigned")
            as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
            analysis = analyze(ws, experiment, as_of=as_of)
        written = write_report(analysis, out_dir / "report")
        advance("reported")
        programme_written = (
            _programme_demo(out_dir / "programme", n_contacts, seed) if programme else None
        )
        if programme:
            advance("programme reported")

    primary = next(iter(analysis.first_against_control("proportion").values()), None)
    estimate = {}
    if primary is not None:
        c = primary.comparison
        estimate = {
            "effect_size": c.effect_size,
            "effect_size_ci_lower": c.effect_size_ci_lower,
            "effect_size_ci_upper": c.effect_size_ci_upper,
        }
    return DemoResult(
        out=out_dir,
        workspace=ws_path,
        experiment_file=experiment_file,
        report=written,
        report_as_of=as_of,
        truth=dict(data.truth),
        estimate=estimate,
        alerts=[a.message for a in analysis.alerts],
        programme_report=programme_written,
    )


def _programme_demo(directory: Path, n_contacts: int, seed: int) -> WrittenReport:
    """The programme demo: generate, load, set the holdout, assign, report (``directory``)."""
    from threadlift.analysis import analyze
    from threadlift.datasets.programme import build_programme_workspace, generate_programme
    from threadlift.report.write import write_report
    from threadlift.workspace import Workspace

    ws_path = directory / "programme.duckdb"
    if ws_path.exists():
        _refuse_unless_demo(ws_path)
    for stale in (ws_path, ws_path.with_name(ws_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    data = generate_programme(n_contacts=2 * n_contacts, seed=seed)
    experiment = build_programme_workspace(ws_path, data, directory / "data")
    with Workspace.open(ws_path) as ws:
        analysis = analyze(ws, experiment, as_of=data.as_of)
    return write_report(analysis, directory / "report")


def _refuse_unless_demo(path: Path) -> None:
    """Raise unless ``path`` is a workspace an earlier demo run created (safe to rebuild)."""
    from threadlift.workspace import Workspace, first_row

    how = (
        "the demo rebuilds its workspace from scratch; give it a new path "
        "(--workspace) or move that file away yourself"
    )
    try:
        # Opening succeeds only for a threadlift workspace, which has threadlift_meta.
        with Workspace.open(path, read_only=True) as ws:
            marked = first_row(
                ws.con,
                "SELECT 1 FROM threadlift_meta WHERE key = $key AND value = $value",
                {"key": DEMO_MARK[0], "value": DEMO_MARK[1]},
            )
    except WorkspaceError as exc:
        raise InputError(f"{path} exists and is not a demo workspace ({exc}); {how}") from exc
    if marked is None:
        raise InputError(
            f"{path} is a workspace that `threadlift demo` did not create and may hold data; {how}"
        )
