"""``report``: one experiment, or every experiment of a folder for schedulers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from threadlift.cli.common import (
    EPILOG_EXIT_CODES,
    handle_errors,
    parse_as_of,
    workspace_option,
)
from threadlift.cli.main import main
from threadlift.cli.progress import Progress
from threadlift.errors import ConfigError

if TYPE_CHECKING:
    from threadlift.report.summary import FailOn


@main.command(
    epilog="Examples:\n\n  threadlift report winback.toml --out reports/ --as-of 2026-11-09T09:00:00Z\n\n"
    "  threadlift report --all experiments/ --out reports/ --fail-on warning    # scheduled use\n\n"
    "  threadlift report winback.toml --out reports/ --format json | jq .level\n\n"
    + EPILOG_EXIT_CODES
    + " With --fail-on warning, any warning exits 3 too."
)
@click.argument("experiment_file", required=False, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--as-of", "as_of", help="Report as of this UTC time (ISO 8601); default now.")
@click.option(
    "--all",
    "all_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report every experiment file (*.toml) in this directory into OUT/<id>/<as-of date>/.",
)
@click.option(
    "--correction",
    type=click.Choice(["holm", "fdr_bh"]),
    default="holm",
    show_default=True,
    help="Multiple-testing correction across metrics and arms.",
)
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Where the SQL runs; spark reads Parquet tables from --lake (docs/engines.md).")
@click.option("--lake", type=click.Path(file_okay=False, path_type=Path),
              help="Lake directory for --engine spark.")
@click.option("--spark-master", "--master", "spark_master", default="local[2]", show_default=True,
              help="Spark master URL for --engine spark.")
@click.option("--core", is_flag=True,
              help="Only arms, sample ratio, lifts, balance and guardrail tests: skips funnel, "
                   "cost, messaging limits and quality timelines, and draws no chart (the HTML "
                   "page has the same tables without them); faster on large logs.")
@click.option("--fail-on", "fail_on", type=click.Choice(["alert", "warning"]), default="alert",
              show_default=True,
              help="Exit 3 on an alert (guardrail breach, sample-ratio mismatch) or, with "
                   "'warning', on any warning too (messaging limit, paused template, quality "
                   "drop, incomplete window, no units …).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: print the summary (level, primary lift, cost per incremental "
                   "conversion, alerts, warnings, paths written) as one JSON object on stdout.")
@click.option("--memory-limit", "memory_limit", envvar="THREADLIFT_MEMORY_LIMIT",
              help="DuckDB's memory limit, e.g. 16GB or 50% (env THREADLIFT_MEMORY_LIMIT; "
                   "default DuckDB's, 80% of the machine's memory). Past it, queries spill to "
                   "WORKSPACE.tmp beside the workspace, removed when the report ends.")
@workspace_option
@handle_errors
def report(
    experiment_file: Path | None,
    out: Path,
    as_of: str | None,
    all_dir: Path | None,
    correction: str,
    engine: str,
    lake: Path | None,
    spark_master: str,
    core: bool,
    fail_on: FailOn,
    output_format: str,
    memory_limit: str | None,
    workspace: Path,
) -> None:
    """Write report.json, report.md and report.html for an experiment (or, with --all, each).

    Each alert and warning is printed on stderr (with --all, after the experiment's id).
    """
    import json
    from contextlib import ExitStack

    from threadlift.analysis import analyze, default_as_of
    from threadlift.engines.base import Engine
    from threadlift.experiment import load_experiment
    from threadlift.report.write import write_report
    from threadlift.workspace import Workspace, memory_limit_setting

    moment = parse_as_of(as_of)
    if memory_limit is not None:
        memory_limit_setting(memory_limit, "--memory-limit (or THREADLIFT_MEMORY_LIMIT)")  # refused before any work
    if (experiment_file is None) == (all_dir is None):
        raise click.UsageError("give either EXPERIMENT_FILE or --all EXPERIMENTS_DIR")
    experiment = load_experiment(experiment_file) if experiment_file is not None else None
    with ExitStack() as stack:
        sql_engine: Engine | None = None
        if engine == "spark":
            from threadlift.engines.spark import SparkEngine

            if lake is None:
                raise ConfigError("--engine spark needs --lake DIR (see docs/engines.md)")
            spark = SparkEngine.local(lake, master=spark_master)
            stack.callback(spark.stop)
            sql_engine = spark
        if all_dir is not None:
            from threadlift.report.scheduled import report_all

            run = report_all(
                workspace, all_dir, out, as_of=moment or default_as_of(), correction=correction,
                engine=sql_engine, sections="core" if core else "full", fail_on=fail_on,
                memory_limit=memory_limit,
            )
            if output_format == "json":
                click.echo(json.dumps({"exit_code": run.exit_code, "reports": run.reports},
                                      ensure_ascii=False, allow_nan=False))
            sys.exit(run.exit_code)
        assert experiment is not None
        # Stages on a terminal only (cli/progress.py); `report --all` prints a line per
        # experiment instead, which a live display would garble.
        with Progress(f"report {experiment.id}") as progress:
            with Workspace.open(workspace, read_only=True, memory_limit=memory_limit) as ws:
                analysis = analyze(ws, experiment, as_of=moment, correction=correction,  # type: ignore[arg-type]
                                   engine=sql_engine, sections="core" if core else "full",
                                   on_stage=progress.step)
            progress.step("writing report.json, report.md, report.html")
            written = write_report(analysis, out, fail_on=fail_on)
    for line, colour in written.summary.stderr_lines():
        click.secho(line, fg=colour, err=True)
    if output_format == "json":
        click.echo(json.dumps({**written.summary.to_dict(), "paths": written.paths(),
                               "exit_code": written.exit_code}, ensure_ascii=False,
                              allow_nan=False))
    else:
        click.echo(written.summary.verdict.headline)
        click.echo(f"wrote {written.json_path}, {written.markdown_path.name}, "
                   f"{written.html_path.name}")
    if written.exit_code:
        sys.exit(written.exit_code)
