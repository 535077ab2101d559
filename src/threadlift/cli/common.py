"""What every command shares: one error style, the workspace option, terminal detection.

One error style: a one-line ``Error: …`` naming what was wrong and how to fix it, exit
code 2 for bad input and 1 for a bug (``--debug`` shows the traceback).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from threadlift.errors import ThreadliftError

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT_CODES = "Exit codes: 0 ok, 1 bug, 2 bad input, 3 alert (guardrail breach or SRM)."


class State:
    debug = False


def fail(message: str, code: int) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Map exceptions to one-line errors and the documented exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ThreadliftError as exc:
            if State.debug:
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; nothing was committed by the step that was running", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if State.debug:
                raise
            fail(
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


def key_file_option(func: F) -> F:
    """``--key-file PATH``: a pseudonymised workspace's key (docs/privacy.md)."""
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A pseudonymised workspace's key file (else env THREADLIFT_KEY_FILE or "
        "THREADLIFT_KEY, or the file given at init).",
    )(func)


def on_terminal() -> bool:
    return sys.stderr.isatty()


def parse_as_of(value: str | None) -> datetime | None:
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
