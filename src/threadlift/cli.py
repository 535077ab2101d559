"""The ``threadlift`` command line.

One error style: a one-line ``Error: …`` naming what was wrong and how to fix it, exit
code 2 for bad input and 1 for a bug (``--debug`` shows the traceback). ``report``
exits 3 when any alert fires (docs/architecture.md, "Exit codes"). Heavy modules are imported inside commands so
``threadlift --help`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from threadlift.errors import ConfigError, ThreadliftError

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT_CODES = "Exit codes: 0 ok, 1 bug, 2 bad input, 3 alert (guardrail breach or SRM)."


class _State:
    debug = False


def _fail(message: str, code: int) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Map exceptions to one-line errors and the documented exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ThreadliftError as exc:
            if _State.debug:
                raise
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was committed by the step that was running", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if _State.debug:
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc} — this is a bug in threadlift; "
                "rerun with --debug for the traceback and report it",
                1,
            )
        return None

    return cast(F, wrapper)


def workspace_option(func: F) -> F:
    """``--workspace PATH`` (default ``$THREADLIFT_WORKSPACE`` or ``./threadlift.duckdb``)."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="THREADLIFT_WORKSPACE",
        default="threadlift.duckdb",
        show_default=True,
        help="Workspace DuckDB file (env THREADLIFT_WORKSPACE).",
    )(func)


def _progress() -> bool:
    return sys.stderr.isatty()


def _parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; use e.g. 2026-11-09T09:00:00Z",
            param_hint="--as-of",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


@click.group(epilog=EPILOG_EXIT_CODES)
@click.version_option(package_name="threadlift")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Measure what conversational messaging really adds, with stable holdouts.

    \b
    Start here:
      threadlift demo --out demo-out        # seeded workspace + full report
    Then with your own data:
      threadlift init -w my.duckdb
      threadlift load contacts contacts.csv -w my.duckdb
      threadlift assign experiment.toml -w my.duckdb --out assignments.csv
      threadlift report experiment.toml -w my.duckdb --out reports/
    """
    _State.debug = debug


@main.command(epilog="Example: threadlift init -w my.duckdb")
@workspace_option
@handle_errors
def init(workspace: Path) -> None:
    """Create the workspace and every canonical table (or migrate an older one)."""
    from threadlift.workspace import Workspace

    with Workspace.create(workspace) as ws:
        version = ws.schema_version()
    click.echo(f"workspace {workspace} ready (schema version {version})")


@main.command(
    epilog="Examples:\n\n  threadlift load actions orders-2026-11.csv more.parquet -w my.duckdb\n\n"
    "  threadlift load assignments crm_split.csv --experiment spring.toml   # assigned elsewhere"
)
@click.argument("table")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--experiment",
    "experiment_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For TABLE=assignments: the experiment file(s) whose arm names rows must use.",
)
@workspace_option
@handle_errors
def load(
    table: str, files: tuple[Path, ...], experiment_files: tuple[Path, ...], workspace: Path
) -> None:
    """Load canonical rows into TABLE from CSV, Parquet or JSON-lines FILES.

    Bad rows go to the quarantine table with file, line and reason; good rows are kept.
    Loading the same file twice adds nothing; all files load in one transaction.
    """
    from threadlift.loading import FileLoad, load_files
    from threadlift.workspace import Workspace

    def report(done: FileLoad) -> None:
        extra = (
            f"; ignored columns: {', '.join(done.ignored_columns)}" if done.ignored_columns else ""
        )
        click.echo(
            f"{done.path}: {done.rows} rows, {done.inserted} added, {done.duplicates} already "
            f"present, {done.quarantined} quarantined{extra}",
            err=True,
        )

    from threadlift.experiment import load_experiment

    experiments = [load_experiment(f) for f in experiment_files]
    with Workspace.create(workspace) as ws:
        result = load_files(ws, table, files, on_file=report, experiments=experiments)
    click.echo(
        f"{table}: {result.inserted} rows added, {result.duplicates} already present, "
        f"{result.quarantined} quarantined"
        + (" (see: threadlift quarantine)" if result.quarantined else "")
    )


@main.command(
    epilog="Examples:\n\n  threadlift ingest --platform whatsapp webhooks-2026-11-*.jsonl -w my.duckdb\n\n"
    "  threadlift ingest --rebuild -w my.duckdb    # rebuild canonical rows from the raw store"
)
@click.option(
    "--platform",
    type=click.Choice(["whatsapp", "messenger", "instagram", "apple", "sms", "email"]),
    help="Which platform the raw bodies come from.",
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Rebuild the canonical tables from the raw store.")
@click.option(
    "--unknown-identity", type=click.Choice(["create", "quarantine"]), default="create",
    show_default=True, help="An address no contact has: make a new contact, or quarantine the row.",
)
@workspace_option
@handle_errors
def ingest(
    platform: str | None, files: tuple[Path, ...], rebuild: bool, unknown_identity: str,
    workspace: Path,
) -> None:
    """Ingest raw webhook bodies (one JSON document per line, or a JSON array).

    Every body is kept append-only in the raw store (duplicates dropped by content hash) and
    mapped to the canonical tables; bad lines go to quarantine with file, line and reason.
    """
    from threadlift.errors import InputError
    from threadlift.ingest import ingest_files
    from threadlift.ingest import rebuild as rebuild_tables
    from threadlift.workspace import Workspace

    with Workspace.create(workspace) as ws:
        if rebuild:
            if files:
                raise InputError("--rebuild replays the raw store; give no FILES with it")
            result = rebuild_tables(ws, unknown_identity=unknown_identity)  # type: ignore[arg-type]
        else:
            if platform is None or not files:
                raise InputError("give --platform and at least one FILE (or --rebuild)")
            result = ingest_files(ws, platform, files, unknown_identity=unknown_identity)  # type: ignore[arg-type]
    click.echo(
        f"{result.platform}: {result.files} files, {result.bodies} new bodies, "
        f"{result.duplicates} duplicates, {result.quarantined} quarantined"
    )
    for table, count in sorted(result.rows.items()):
        click.echo(f"  {table:<15} +{count:,}")


@main.command(
    epilog="Examples:\n\n  threadlift sql --dialect bigquery                 # every analysis query\n\n"
    "  threadlift sql --dialect snowflake analysis/funnel/funnel\n\n  threadlift sql --list"
)
@click.argument("queries", nargs=-1)
@click.option(
    "--dialect", type=click.Choice(["duckdb", "spark", "bigquery", "snowflake", "trino"]),
    default="duckdb", show_default=True,
)
@click.option("--list", "list_only", is_flag=True, help="List the query names.")
@handle_errors
def sql(queries: tuple[str, ...], dialect: str, list_only: bool) -> None:
    """Print threadlift's SQL rendered for a warehouse dialect (parameters as placeholders)."""
    from threadlift.engines.dialects import render
    from threadlift.engines.sqlfiles import query_names

    names = query_names("analysis/*/*.sql")
    if list_only:
        click.echo("\n".join(names))
        return
    for name in queries or tuple(names):
        click.echo(f"-- {name} ({dialect})\n{render(name, dialect, pretty=True)};\n")


@main.command(epilog="Example: threadlift quarantine --limit 20")
@click.option("--limit", default=50, show_default=True, help="Rows to show.")
@workspace_option
@handle_errors
def quarantine(limit: int, workspace: Path) -> None:
    """Show rejected input rows with their file, line and reason."""
    from threadlift.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        rows = ws.con.execute(
            "SELECT target_table, source, location, reason FROM quarantine "
            "ORDER BY ingested_at DESC, source, location LIMIT $n",
            {"n": limit},
        ).fetchall()
    if not rows:
        click.echo("quarantine is empty")
    for table, source, location, reason in rows:
        click.echo(f"{table}\t{source}:{location}\t{reason}")


@main.command(epilog="Example: threadlift info -w my.duckdb")
@workspace_option
@handle_errors
def info(workspace: Path) -> None:
    """Row counts of every canonical table."""
    from threadlift.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        click.echo(f"workspace {workspace} (schema version {ws.schema_version()})")
        for table, count in ws.counts().items():
            click.echo(f"  {table:<15} {count:>12,}")


@main.command(
    epilog="Examples:\n\n  threadlift assign winback.toml -w my.duckdb --out assignments.csv "
    "--send-list send.csv\n\n"
    "  threadlift assign winback.toml --engine spark --lake lake/ --master local[4]"
)
@click.argument("experiment_file", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write assignments CSV."
)
@click.option(
    "--send-list",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the treatment contacts with the address to message.",
)
@click.option("--new-version", is_flag=True, help="Accept a changed design as a new version.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Where assignment runs; spark reads the lake's Parquet tables and appends to "
              "<lake>/assignments (docs/engines.md).")
@click.option("--lake", type=click.Path(file_okay=False, path_type=Path),
              help="Lake directory for --engine spark.")
@click.option("--spark-master", "--master", "spark_master", default="local[2]", show_default=True,
              help="Spark master URL for --engine spark.")
@workspace_option
@handle_errors
def assign(
    experiment_file: Path,
    out: Path | None,
    send_list: Path | None,
    new_version: bool,
    engine: str,
    lake: Path | None,
    spark_master: str,
    workspace: Path,
) -> None:
    """Assign the eligible audience of EXPERIMENT_FILE to arms (stable, idempotent)."""
    from threadlift.experiment import load_experiment

    experiment = load_experiment(experiment_file)
    if experiment.assignment == "external":
        raise ConfigError(
            f'{experiment_file}: experiment {experiment.id} declares assignment = "external"; '
            f"load its arms with: threadlift load assignments FILE --experiment {experiment_file}"
        )
    if experiment.assignment == "global_holdout":
        raise ConfigError(
            f'{experiment_file}: experiment {experiment.id} declares assignment = "global_holdout"; '
            "its arms are the workspace's global holdout (threadlift holdout show), nothing to assign"
        )
    if engine == "spark":
        _assign_on_spark(experiment, lake, spark_master, workspace,
                         out=out, send_list=send_list, new_version=new_version)
        return
    if lake is not None:
        raise ConfigError("--lake is for --engine spark; the DuckDB engine assigns in --workspace")
    from threadlift.assign.assignment import assign_experiment, export_assignments, export_send_list
    from threadlift.assign.audience import lock_down
    from threadlift.workspace import Workspace

    out = out.resolve() if out is not None else None
    send_list = send_list.resolve() if send_list is not None else None
    with Workspace.open(workspace) as ws:
        # The experiment file's SQL runs in this process: no file, network or extension
        # access but the workspace and the requested exports.
        lock_down(ws.con, [path for path in (out, send_list) if path is not None])
        result = assign_experiment(ws, experiment, new_version=new_version)
        if result.state_rebuilt:
            click.echo(
                "eligibility state rebuilt: consents, feedback, contacts or 131050 failures "
                "changed other than through `threadlift load`"
            )
        _echo_assign_counts(experiment.id, result.assigned, result.already_assigned,
                            result.by_arm, result.excluded)
        if out is not None:
            rows = export_assignments(ws, experiment, out)
            click.echo(f"wrote {rows} assignments to {out}")
        if send_list is not None:
            rows = export_send_list(ws, experiment, send_list)
            click.echo(f"wrote {rows} treatment contacts to {send_list}")
            if experiment.sender_id is not None:
                from threadlift.core.reach import send_list_warning
                from threadlift.engines.duckdb import DuckDBEngine

                tiers = DuckDBEngine(ws.con).run(
                    "analysis/reach/current_tier", {"sender_id": experiment.sender_id}
                ).rows
                warning = send_list_warning(
                    experiment.sender_id, tiers[0][0] if tiers else None, rows
                )
                if warning:
                    click.secho(f"Warning: {warning}", fg="yellow", err=True)


def _echo_assign_counts(
    experiment_id: str,
    assigned: int,
    already_assigned: int,
    by_arm: dict[str, int],
    excluded: dict[str, int],
) -> None:
    click.echo(f"{experiment_id}: {assigned} newly assigned, {already_assigned} already assigned")
    for arm, count in by_arm.items():
        click.echo(f"  {arm:<20} {count:>10,}")
    if excluded:
        click.echo("excluded (not eligible):")
        for reason, count in excluded.items():
            click.echo(f"  {reason:<20} {count:>10,}")


def _assign_on_spark(
    experiment: Any,
    lake: Path | None,
    spark_master: str,
    workspace: Path,
    *,
    out: Path | None,
    send_list: Path | None,
    new_version: bool,
) -> None:
    """``assign --engine spark``: the same contract on Spark, appended to ``<lake>/assignments``.

    The lake has no design registry, so the DuckDB-only options are refused rather than
    ignored; the workspace's global holdout applies when the workspace exists.
    """
    if lake is None:
        raise ConfigError("--engine spark needs --lake DIR (see docs/engines.md)")
    for flag, given in (("--out", out), ("--send-list", send_list), ("--new-version", new_version)):
        if given:
            raise ConfigError(
                f"{flag} works with the DuckDB engine only: Spark appends the new assignments "
                f"to {lake}/assignments (Parquet) and keeps no design registry"
            )
    from threadlift.assign.assignment import get_global_holdout
    from threadlift.engines.spark import SparkEngine, assign_spark
    from threadlift.workspace import Workspace

    global_holdout = None
    if workspace.exists():
        with Workspace.open(workspace, read_only=True) as ws:
            global_holdout = get_global_holdout(ws)
    source = "set in" if workspace.exists() else "no workspace at"
    click.echo(f"global holdout: {_describe_holdout(global_holdout)} ({source} {workspace})")
    spark = SparkEngine.local(lake, master=spark_master)
    try:
        result = assign_spark(spark, experiment, global_holdout=global_holdout)
    finally:
        spark.stop()
    already = sum(result.by_arm.values()) - result.assigned
    _echo_assign_counts(experiment.id, result.assigned, already, result.by_arm, result.excluded)
    click.echo(f"appended {result.assigned} assignments to {lake}/assignments")


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

    moment = _parse_as_of(as_of)
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


@main.command(
    epilog="Examples:\n\n"
    "  threadlift plan --baseline 0.04 --rel-effect 0.10 --holdout 10 --power 0.8   # units needed\n\n"
    "  threadlift plan --baseline 0.04 --units 20000 --holdout 10 --power 0.8      # smallest lift\n\n"
    "  threadlift plan --metric mean --baseline 12.5 --sd 40 --effect 1.0 --units 50000 --holdout 5"
)
@click.option("--metric", "metric_type", type=click.Choice(["proportion", "mean"]),
              default="proportion", show_default=True)
@click.option("--baseline", type=float, required=True,
              help="Today's conversion rate (proportion) or mean per unit, in the holdout.")
@click.option("--sd", type=float, help="Standard deviation per unit (mean metrics).")
@click.option("--effect", "effect_size", type=float, help="Absolute lift to detect.")
@click.option("--rel-effect", "rel_effect_size", type=float, help="Relative lift to detect (0.1 = +10%).")
@click.option("--units", "total_units", type=int, help="Total units (holdout + treatment) available.")
@click.option("--power", type=float, help="Desired power (e.g. 0.8).")
@click.option("--holdout", "holdout_pct", type=float, default=10.0, show_default=True,
              help="Holdout share in percent.")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--cost-per-send", type=float, help="Cost of messaging one treated unit (adds cost figures).")
@handle_errors
def plan(
    metric_type: str, baseline: float, sd: float | None, effect_size: float | None,
    rel_effect_size: float | None, total_units: int | None, power: float | None,
    holdout_pct: float, alpha: float, cost_per_send: float | None,
) -> None:
    """Sample size, power or minimum detectable effect of a holdout design.

    Give all but one of: the lift (--effect or --rel-effect), --units, --power; the missing
    one is solved for. Unequal allocation comes from --holdout.
    """
    from threadlift.core.power import plan as solve
    from threadlift.errors import InputError

    if not 0 < holdout_pct < 100:
        raise InputError(f"--holdout must be between 0 and 100 percent (got {holdout_pct})")
    ratio = (100.0 - holdout_pct) / holdout_pct
    control_units = total_units * holdout_pct / 100.0 if total_units is not None else None
    try:
        result = solve(
            metric_type,  # type: ignore[arg-type]
            baseline=baseline, sd=sd, effect_size=effect_size, rel_effect_size=rel_effect_size,
            control_units=control_units, power=power, alpha=alpha, ratio=ratio,
            cost_per_treated_unit=cost_per_send,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    click.echo(f"solved for: {result.solved_for} ({result.method}, alpha {result.alpha}, "
               f"{holdout_pct:g}% holdout)")
    click.echo(f"  baseline            {result.baseline:.6g}")
    click.echo(f"  detectable effect   {result.effect_size:+.6g} ({result.rel_effect_size:+.2%})")
    click.echo(f"  power               {result.power:.4f}")
    click.echo(f"  holdout units       {result.control_units:,}")
    click.echo(f"  treatment units     {result.treatment_units:,}")
    click.echo(f"  total units         {result.total_units:,}")
    if result.cost_per_incremental_action is not None:
        click.echo(f"  cost per incremental action  {result.cost_per_incremental_action:.4g}")
    if result.experiment_cost is not None:
        click.echo(f"  cost of the sends            {result.experiment_cost:,.2f}")
    if result.forgone_actions is not None:
        click.echo(f"  actions forgone in holdout   {result.forgone_actions:,.1f}")


@main.command(
    epilog="Example: THREADLIFT_API_KEYS='crm read,write sha256:…' threadlift serve "
    "--experiments experiments/ -w shop.duckdb --port 8000 --workers 2\n\nSee docs/api.md."
)
@click.option("--experiments", "experiments_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="Directory of experiment files.")
@click.option("--keys-file", type=click.Path(dir_okay=False, path_type=Path),
              help="API keys file (NAME SCOPES sha256:HEX lines); or env THREADLIFT_API_KEYS.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
@workspace_option
@handle_errors
def serve(experiments_dir: Path, keys_file: Path | None, host: str, port: int, workers: int,
          workspace: Path) -> None:
    """Serve the assignment HTTP API: which arm is this contact in, and record exposures."""
    from pydantic import ValidationError

    from threadlift.api.app import serve as run_server
    from threadlift.api.settings import ApiSettings

    try:
        settings = ApiSettings(experiments_dir=experiments_dir, workspace=workspace, keys_file=keys_file)
    except ValidationError as exc:
        raise ConfigError(f"invalid API settings: {exc.errors()[0]['msg']}") from exc
    run_server(settings, host=host, port=port, workers=workers)


@main.group(epilog="Example: threadlift exposures import -w shop.duckdb")
def exposures() -> None:
    """Exposures acknowledged by the API."""


@exposures.command("import", epilog="Example: threadlift exposures import --log-dir shop.duckdb.api")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The API's state directory (default: WORKSPACE.api).")
@workspace_option
@handle_errors
def import_exposures_command(log_dir: Path | None, workspace: Path) -> None:
    """Copy the API's durable exposure log into the workspace's exposures table (idempotent)."""
    from threadlift.api.exposures import import_exposures
    from threadlift.workspace import Workspace

    directory = log_dir if log_dir is not None else Path(str(workspace) + ".api")
    with Workspace.open(workspace) as ws:
        result = import_exposures(ws, directory)
    click.echo(f"exposures: {result.inserted} added ({result.in_log} in the log)")


@main.group(epilog="Example: threadlift holdout set --salt program-2026 --percent 5 -w shop.duckdb")
def holdout() -> None:
    """The workspace's global holdout: contacts kept out of every experiment.

    \b
    Report it against everyone else with an experiment file that declares
    assignment = "global_holdout" (docs/experiments.md).
    """


def _describe_holdout(setting: Any) -> str:
    if setting is None:
        return "none"
    return f"{setting.percent:g} % of contacts (salt {setting.salt!r}, {setting.basis_points} buckets)"


def _change_holdout(workspace: Path, salt: str | None, percent: str, force: bool) -> None:
    """Set (or, with percent 0, clear) the global holdout; refuse to move assigned experiments."""
    from threadlift.assign.assignment import (
        GlobalHoldout,
        experiments_assigned_under_other_global_holdout,
        get_global_holdout,
        set_global_holdout,
    )
    from threadlift.core.bucketing import basis_points
    from threadlift.workspace import Workspace

    try:
        points = basis_points(percent)
    except (ValueError, ArithmeticError, TypeError):
        raise ConfigError(f"--percent {percent!r} is not a number; give e.g. 5 or 2.5") from None
    if not 0 <= points <= 10_000:
        raise ConfigError(f"--percent must be between 0 and 100 (got {percent})")
    wanted = GlobalHoldout(salt=salt or "", basis_points=points) if points else None
    with Workspace.open(workspace) as ws:
        current = get_global_holdout(ws)
        if current == wanted:
            click.echo(f"global holdout unchanged: {_describe_holdout(current)}")
            return
        affected = experiments_assigned_under_other_global_holdout(ws, wanted)
        if affected and not force:
            raise ConfigError(
                f"experiments {', '.join(affected)} are assigned under global holdout "
                f"{_describe_holdout(current)}; changing it to {_describe_holdout(wanted)} would "
                "leave contacts who are now held out inside those experiments (and put contacts "
                "they already treated in the program-level holdout), and their next `assign` "
                "is refused until --new-version. Change it between programs, or pass --force "
                "if you accept that"
            )
        set_global_holdout(ws, salt=salt or "", percent=percent)
    click.echo(f"global holdout: {_describe_holdout(current)} -> {_describe_holdout(wanted)}")
    if affected:
        click.secho(
            f"Warning: experiments {', '.join(affected)} were assigned under the previous "
            "setting; re-assign them with --new-version", fg="yellow", err=True,
        )


@holdout.command("set", epilog="Example: threadlift holdout set --salt program-2026 --percent 5")
@click.option("--salt", required=True, help="Salt of the holdout's own hash (keep it for the program's life).")
@click.option("--percent", required=True, help="Share of all contacts held out, in percent (0-100).")
@click.option("--force", is_flag=True, help="Change it even though experiments are assigned under another setting.")
@workspace_option
@handle_errors
def holdout_set(salt: str, percent: str, force: bool, workspace: Path) -> None:
    """Hold PERCENT % of all contacts (by bucket(SALT, contact_id)) out of every experiment."""
    _change_holdout(workspace, salt, percent, force)


@holdout.command("clear", epilog="Example: threadlift holdout clear")
@click.option("--force", is_flag=True, help="Clear it even though experiments are assigned under it.")
@workspace_option
@handle_errors
def holdout_clear(force: bool, workspace: Path) -> None:
    """Remove the global holdout (its contacts become eligible for new experiments)."""
    _change_holdout(workspace, None, "0", force)


@holdout.command("show", epilog="Example: threadlift holdout show -w shop.duckdb")
@workspace_option
@handle_errors
def holdout_show(workspace: Path) -> None:
    """Print the global holdout, how many contacts it holds, and experiments assigned under another."""
    from threadlift.assign.assignment import (
        experiments_assigned_under_other_global_holdout,
        get_global_holdout,
        global_holdout_units,
    )
    from threadlift.workspace import Workspace

    with Workspace.open(workspace) as ws:
        setting = get_global_holdout(ws)
        click.echo(f"global holdout: {_describe_holdout(setting)}")
        counts = global_holdout_units(ws)
        if counts is not None:
            for group, count in counts.items():
                click.echo(f"  {group:<20} {count:>10,}")
        stale = experiments_assigned_under_other_global_holdout(ws, setting)
    if stale:
        click.echo(
            f"assigned under another setting (re-assign with --new-version): {', '.join(stale)}"
        )


@main.command(epilog="Example: threadlift demo --out demo-out --contacts 20000 --seed 7")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--contacts", default=20_000, show_default=True, help="Contacts to generate.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Workspace file (default OUT/demo.duckdb, rebuilt each run).",
)
@handle_errors
def demo(out: Path, contacts: int, seed: int, workspace: Path | None) -> None:
    """Build a seeded synthetic workspace with a known true effect and report on it."""
    from threadlift.datasets.demo import run_demo

    result = run_demo(
        out, n_contacts=contacts, seed=seed, workspace=workspace, progress=_progress()
    )
    click.echo(result.summary())
    if result.exit_code:
        sys.exit(result.exit_code)
if __name__ == "__main__":
    main()
