"""``assign`` and the workspace's global ``holdout``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from threadlift.cli.common import (
    handle_errors,
    workspace_option,
)
from threadlift.cli.main import main
from threadlift.errors import ConfigError

T = TypeVar("T")


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
    """Assign the eligible audience of EXPERIMENT_FILE to arms (stable, idempotent).

    A first run that finds nobody eligible exits 2 with the count per eligibility rule
    and records nothing. A later run adds newly eligible contacts only when the file
    says enrolment = "rolling"; with "once" (the default) it exits 2 when there are any
    (docs/experiments.md).
    """
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
    label = f"assign {experiment.id}"
    with Workspace.open(workspace) as ws:
        # The experiment file's SQL runs in this process: no file, network or extension
        # access but the workspace and the requested exports. DuckDB's COPY over an
        # existing file writes tmp_<name> beside it first, then renames it.
        exports = [path for path in (out, send_list) if path is not None]
        lock_down(ws.con, exports + [path.with_name(f"tmp_{path.name}") for path in exports])
        result = _with_progress(
            label, lambda stage: assign_experiment(ws, experiment, new_version=new_version, progress=stage)
        )
        if result.state_rebuilt:
            click.echo(
                "eligibility state rebuilt: consents, feedback, contacts or 131050 failures "
                "changed other than through `threadlift load`"
            )
        _echo_assign_counts(experiment.id, result.assigned, result.already_assigned,
                            result.by_arm, result.excluded)
        if out is not None:
            target = out
            rows = _with_progress(f"{label}: export", lambda _stage: export_assignments(ws, experiment, target))
            click.echo(f"wrote {rows} assignments to {out}")
        if send_list is not None:
            target = send_list
            rows = _with_progress(f"{label}: send list", lambda _stage: export_send_list(ws, experiment, target))
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


def _with_progress(label: str, work: Callable[[Callable[[str], None]], T]) -> T:
    """Run ``work(stage)`` under the transient progress display (stderr, terminals only).

    The display is closed before the command prints its results, so they go to stdout
    untouched (a live display would route them to its own stream).
    """
    from threadlift.cli.progress import Progress

    with Progress(label) as progress:
        return work(lambda name: progress.step(f"{label}: {name}"))


def _echo_assign_counts(
    experiment_id: str,
    assigned: int,
    already_assigned: int,
    by_arm: dict[str, int],
    excluded: dict[str, int],
) -> None:
    click.echo(f"{experiment_id}: {assigned} newly assigned, {already_assigned} already assigned")
    width = max([20, *map(len, by_arm), *map(len, excluded)])
    for arm, count in by_arm.items():
        click.echo(f"  {arm:<{width}} {count:>10,}")
    if excluded:
        click.echo("excluded (not eligible):")
        for reason, count in excluded.items():
            click.echo(f"  {reason:<{width}} {count:>10,}")


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
