"""``report``: one experiment, or every experiment of a folder for schedulers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from threadlift.cli.common import (
    EPILOG_EXIT_CODES,
    handle_errors,
    parse_as_of,
    workspace_option,
)
from threadlift.cli.main import main
from threadlift.errors import ConfigError


@main.command(
    epilog="Examples:\n\n  threadlift report winback.toml --out reports/ --as-of 2026-11-09T09:00:00Z\n\n"
    "  threadlift report --all experiments/ --out reports/    # scheduled use\n\n"
    + EPILOG_EXIT_CODES
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
                   "cost, messaging limits and quality timelines (faster on large logs).")
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
    workspace: Path,
) -> None:
    """Write report.json, report.md and report.html for an experiment (or, with --all, each)."""
    from contextlib import ExitStack

    from threadlift.analysis import analyze, default_as_of
    from threadlift.engines.base import Engine
    from threadlift.experiment import load_experiment
    from threadlift.report.write import EXIT_ALERT, write_report
    from threadlift.workspace import Workspace

    moment = parse_as_of(as_of)
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

            worst = report_all(
                workspace, all_dir, out, as_of=moment or default_as_of(), correction=correction,
                engine=sql_engine, sections="core" if core else "full",
            )
            sys.exit(worst)
        assert experiment is not None
        with Workspace.open(workspace, read_only=True) as ws:
            analysis = analyze(ws, experiment, as_of=moment, correction=correction,  # type: ignore[arg-type]
                               engine=sql_engine, sections="core" if core else "full")
    written = write_report(analysis, out)
    for alert in analysis.alerts:
        click.secho(f"ALERT [{alert.kind}] {alert.message}", fg="red", err=True)
    click.echo(f"wrote {written.json_path}, {written.markdown_path.name}, {written.html_path.name}")
    if written.exit_code == EXIT_ALERT:
        sys.exit(EXIT_ALERT)
