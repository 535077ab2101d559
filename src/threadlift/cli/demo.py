"""``demo``: a seeded synthetic workspace with a known true effect, and its report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from threadlift.cli.common import (
    handle_errors,
    on_terminal,
)
from threadlift.cli.main import main


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
@click.option(
    "--pseudonymise", is_flag=True,
    help="Build the workspace pseudonymised: addresses as keyed HMAC-SHA256 values "
    "(docs/privacy.md); the report is the same.",
)
@click.option(
    "--key-file", type=click.Path(dir_okay=False, path_type=Path),
    help="With --pseudonymise: the key file (default OUT/demo.key, created when missing).",
)
@handle_errors
def demo(
    out: Path, contacts: int, seed: int, workspace: Path | None, pseudonymise: bool,
    key_file: Path | None,
) -> None:
    """Build a seeded synthetic workspace with a known true effect and report on it."""
    from threadlift.datasets.demo import run_demo
    from threadlift.errors import InputError

    if key_file is not None and not pseudonymise:
        raise InputError("--key-file goes with --pseudonymise; add --pseudonymise or drop it")
    result = run_demo(
        out, n_contacts=contacts, seed=seed, workspace=workspace, progress=on_terminal(),
        pseudonymise=pseudonymise, key_file=key_file,
    )
    click.echo(result.summary())
    for warning in result.report.summary.warnings:
        click.secho(f"Warning: {warning.message}", fg="yellow", err=True)
    if result.exit_code:
        sys.exit(result.exit_code)
