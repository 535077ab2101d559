"""SQL files: one statement per file under ``sql/``, loaded by name.

Each file starts with a header comment (purpose, grain, parameters). Values are bound
as ``$name`` parameters by the caller, never formatted in; identifiers that vary come
from :func:`quote_identifier` over an allow-list.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from threadlift.errors import WorkspaceError


@cache
def sql_dir() -> Path:
    """The directory holding threadlift's SQL files.

    An installed threadlift carries them inside the package (``threadlift/sql``, put there
    by the build); a checkout keeps them at the repository's top level (``./sql``).
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "sql", package.parents[1] / "sql"):
        if (candidate / "workspace").is_dir():
            return candidate
    raise WorkspaceError(
        f"threadlift's SQL files were not found in {package / 'sql'}; the installation is "
        "incomplete: reinstall threadlift (pip install --force-reinstall threadlift, or "
        "pip install -e . from a checkout)"
    )


@cache
def sql_text(name: str) -> str:
    """Text of ``sql/<name>.sql``; ``name`` may contain a sub-directory (``analysis/lift/action_moments``)."""
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        raise WorkspaceError(f"no SQL file named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def quote_identifier(name: str, allowed: frozenset[str] | set[str]) -> str:
    """Quote ``name`` as a DuckDB identifier, refusing anything outside ``allowed``."""
    if name not in allowed:
        raise ValueError(f"identifier {name!r} is not one of {sorted(allowed)}")
    return '"' + name.replace('"', '""') + '"'
