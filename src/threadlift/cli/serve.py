"""``serve`` the assignment API and ``exposures import`` its log."""

from __future__ import annotations

from pathlib import Path

import click

from threadlift.cli.common import (
    handle_errors,
    workspace_option,
)
from threadlift.cli.main import main
from threadlift.errors import ConfigError


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
