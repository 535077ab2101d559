"""Workspace commands: ``init``, ``load``, ``ingest``, ``quarantine``, ``info`` and ``sql``."""

from __future__ import annotations

from pathlib import Path

import click

from threadlift.cli.common import (
    handle_errors,
    key_file_option,
    workspace_option,
)
from threadlift.cli.main import main


@main.command(
    epilog="Examples:\n\n  threadlift init -w my.duckdb\n\n"
    "  threadlift init --pseudonymise --key-file ~/.threadlift/shop.key -w shop.duckdb"
)
@click.option(
    "--pseudonymise", is_flag=True,
    help="Store addresses as keyed HMAC-SHA256 values; the key stays outside the workspace "
    "(docs/privacy.md). Only for a new workspace.",
)
@key_file_option
@workspace_option
@handle_errors
def init(workspace: Path, pseudonymise: bool, key_file: Path | None) -> None:
    """Create the workspace and every canonical table (or migrate an older one)."""
    from threadlift.errors import InputError
    from threadlift.privacy.pseudonyms import enable, init_key, key_check
    from threadlift.workspace import Workspace

    if key_file is not None and not pseudonymise:
        raise InputError("--key-file goes with --pseudonymise at init; add --pseudonymise or drop it")
    key = init_key(key_file) if pseudonymise else None
    with Workspace.create(workspace) as ws:
        if key is not None:
            enable(ws.con, key[0], key[1])
        version = ws.schema_version()
    click.echo(f"workspace {workspace} ready (schema version {version})")
    if key is not None:
        where = f"key file {key[1]}" + (" (new, mode 0600)" if key[2] else "") if key[1] else "$THREADLIFT_KEY"
        click.echo(
            f"pseudonymised: addresses stored as HMAC-SHA256 with the key in {where}, key check "
            f"{key_check(key[0])[:12]}; keep the key safe and out of the workspace's backups: "
            "without it no new address can be matched"
        )


@main.command(
    epilog="Examples:\n\n  threadlift load actions orders-2026-11.csv more.parquet -w my.duckdb\n\n"
    "  threadlift load contacts crm_export.csv --delimiter ';'\n\n"
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
@click.option(
    "--delimiter",
    help="The CSV field delimiter: one character, or 'tab' "
    "(default: detected among comma, semicolon, tab and pipe).",
)
@key_file_option
@workspace_option
@handle_errors
def load(
    table: str,
    files: tuple[Path, ...],
    experiment_files: tuple[Path, ...],
    delimiter: str | None,
    key_file: Path | None,
    workspace: Path,
) -> None:
    """Load canonical rows into TABLE from CSV, Parquet or JSON-lines FILES.

    Files must be UTF-8 (a byte-order mark is fine); a CSV's delimiter is detected unless
    given. Bad rows go to the quarantine table with file, line and reason; good rows are
    kept. Loading the same file twice adds nothing; all files load in one transaction.
    """
    from threadlift.cli.progress import Progress
    from threadlift.experiment import load_experiment
    from threadlift.loading import FileLoad, load_files
    from threadlift.workspace import Workspace

    experiments = [load_experiment(f) for f in experiment_files]
    with Progress(f"loading {table}", total=len(files), unit="files") as progress:

        def report(done: FileLoad) -> None:
            extra = (
                f"; ignored columns: {', '.join(done.ignored_columns)}"
                if done.ignored_columns else ""
            )
            progress.log(
                f"{done.path}: {done.rows} rows, {done.inserted} added, {done.duplicates} "
                f"already present, {done.quarantined} quarantined{extra}"
            )
            progress.advance()

        with Workspace.create(workspace) as ws:
            result = load_files(
                ws, table, files, on_file=report, on_stage=progress.step,
                experiments=experiments, delimiter=delimiter, key_file=key_file,
            )
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
@click.option(
    "--delimiter",
    help="For sms / email CSV logs: the field delimiter, one character or 'tab' "
    "(default: detected among comma, semicolon, tab and pipe).",
)
@click.option(
    "--keep-content", is_flag=True,
    help="Store bodies as received; by default message texts, media, profile names and other "
    "content no fact needs are redacted first (docs/privacy.md).",
)
@key_file_option
@workspace_option
@handle_errors
def ingest(
    platform: str | None, files: tuple[Path, ...], rebuild: bool, unknown_identity: str,
    delimiter: str | None, keep_content: bool, key_file: Path | None, workspace: Path,
) -> None:
    """Ingest raw webhook bodies (one JSON document per line, or a JSON array).

    Every body is kept append-only in the raw store (duplicates dropped by content hash) and
    mapped to the canonical tables; bad lines go to quarantine with file, line and reason.
    """
    from threadlift.cli.progress import Progress
    from threadlift.errors import InputError
    from threadlift.ingest import ingest_files
    from threadlift.ingest import rebuild as rebuild_tables
    from threadlift.workspace import Workspace

    if rebuild and (files or delimiter is not None):
        raise InputError("--rebuild replays the raw store; give no FILES (or --delimiter) with it")
    if not rebuild and (platform is None or not files):
        raise InputError("give --platform and at least one FILE (or --rebuild)")
    with (
        Progress("ingesting", total=None if rebuild else len(files), unit="files") as progress,
        Workspace.create(workspace) as ws,
    ):
        if rebuild:
            result = rebuild_tables(
                ws, unknown_identity=unknown_identity, on_stage=progress.step  # type: ignore[arg-type]
            )
        else:
            assert platform is not None
            result = ingest_files(
                ws, platform, files, unknown_identity=unknown_identity,  # type: ignore[arg-type]
                on_stage=progress.step, on_file=lambda _path: progress.advance(),
                delimiter=delimiter, keep_content=keep_content, key_file=key_file,
            )
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
    """Row counts of every canonical table; warns about files others can read."""
    import os

    from threadlift.privacy.files import readable_by_others
    from threadlift.privacy.pseudonyms import (
        ENV_KEY_FILE,
        is_pseudonymised,
        recorded_check,
        recorded_key_file,
    )
    from threadlift.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        pseudonymised = is_pseudonymised(ws.con)
        key_files = [
            path for path in (
                recorded_key_file(ws.con),
                Path(os.environ[ENV_KEY_FILE]) if os.environ.get(ENV_KEY_FILE, "").strip() else None,
            ) if path is not None and pseudonymised
        ]
        for path, mode in readable_by_others(workspace, key_files=key_files):
            what = "is the workspace's pseudonym key" if path in key_files else "holds personal data"
            click.secho(
                f"Warning: {path} is readable by others (mode {mode:04o}) and {what}; restrict "
                f"it with `chmod {'700' if path.is_dir() else '600'} {path}`",
                fg="yellow", err=True,
            )
        click.echo(f"workspace {workspace} (schema version {ws.schema_version()})")
        if pseudonymised:
            click.echo(
                f"  pseudonymised: addresses as HMAC-SHA256, key check {recorded_check(ws.con)[:12]}"
            )
        for table, count in ws.counts().items():
            click.echo(f"  {table:<15} {count:>12,}")
