"""Personal data commands: ``forget`` (erasure) and ``retention set`` / ``retention apply``."""

from __future__ import annotations

from pathlib import Path

import click

from threadlift.cli.common import handle_errors, key_file_option, parse_as_of, workspace_option
from threadlift.cli.main import main


@main.command(
    epilog="Examples:\n\n  threadlift forget --address +16505551234 --reason 'erasure request 2026-118' "
    "-w shop.duckdb\n\n  threadlift forget --contact C-10293 -w shop.duckdb\n\nSee docs/privacy.md."
)
@click.option("--address", help="The person's address: +E164 number, e-mail, PSID, IGSID, BSUID or Apple id.")
@click.option("--contact", help="The person's contact id.")
@click.option("--reason", help="Why (kept in the erasure record; must not name the person).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The API's state directory (default: WORKSPACE.api).")
@key_file_option
@workspace_option
@handle_errors
def forget(
    address: str | None, contact: str | None, reason: str | None, state_dir: Path | None,
    key_file: Path | None, workspace: Path,
) -> None:
    """Erase one person from the workspace, its raw store and the API's state.

    Their rows go from every table, their items from the raw bodies, their exposures from
    the API's log; the workspace file is rewritten so no deleted byte remains. An erasure
    record keeps a salted hash of the identifier, the time and the counts.
    """
    from threadlift.privacy.erasure import forget as erase

    result = erase(
        workspace, address=address, contact=contact, reason=reason, state_dir=state_dir,
        key_file=key_file,
    )
    click.echo(
        f"erased {result.contacts} contact(s); record {result.subject_hash[:16]} at "
        f"{result.erased_at.isoformat(timespec='seconds')}Z"
    )
    for what, count in sorted(result.removed.items()):
        click.echo(f"  {what:<24} -{count:,}")


@main.group(epilog="Example: threadlift retention set --raw-days 30 --events-days 400 -w shop.duckdb")
def retention() -> None:
    """How long raw bodies and message events are kept (docs/privacy.md)."""


@retention.command("set", epilog="Example: threadlift retention set --raw-days 30 --events-days 400")
@click.option("--raw-days", type=int, help="Days to keep raw webhook bodies (by received_at).")
@click.option("--events-days", type=int, help="Days to keep per-message events (by ts).")
@workspace_option
@handle_errors
def retention_set(raw_days: int | None, events_days: int | None, workspace: Path) -> None:
    """Record the retention policy; `threadlift retention apply` enforces it."""
    from threadlift.privacy.retention import set_retention
    from threadlift.workspace import Workspace

    with Workspace.open(workspace) as ws:
        policy = set_retention(ws, raw_days=raw_days, events_days=events_days)
    click.echo(
        f"retention: raw bodies {_days(policy.raw_days)}, message events {_days(policy.events_days)}"
    )


def _days(days: int | None) -> str:
    return "kept" if days is None else f"{days} days"


@retention.command("apply", epilog="Example (cron, daily): threadlift retention apply -w shop.duckdb")
@click.option("--as-of", help="Apply as of this ISO 8601 time instead of now.")
@workspace_option
@handle_errors
def retention_apply(as_of: str | None, workspace: Path) -> None:
    """Remove raw bodies and message events older than the policy; log counts and date ranges."""
    from threadlift.privacy.retention import apply_retention
    from threadlift.workspace import Workspace

    with Workspace.open(workspace) as ws:
        run = apply_retention(ws, now=parse_as_of(as_of))
    for done in run.removed:
        span = (
            f" ({done.oldest.isoformat(timespec='seconds')} to {done.newest.isoformat(timespec='seconds')})"
            if done.oldest is not None and done.newest is not None else ""
        )
        click.echo(f"{done.table}: {done.rows:,} removed older than "
                   f"{done.cutoff.isoformat(timespec='seconds')}{span}")
