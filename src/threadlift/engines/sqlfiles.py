"""SQL files under ``sql/``, loaded by name.

Each file starts with a header comment (purpose, grain, parameters). Values are bound
as ``$name`` parameters by the caller, never formatted in; identifiers that vary come
from :func:`quote_identifier` over an allow-list.

Three kinds of file:

* a **query**: one statement (``analysis/lift/action_moments``), loaded by
  :func:`sql_text`, run by every engine and listed by ``threadlift sql``;
* a **fragment**: a piece of a statement that several queries share, in a file whose name
  starts with ``_`` (``analysis/lift/_moment_sums``). A query takes it in with a line of
  its own, ``-- include: analysis/lift/_moment_sums``; :func:`sql_text` replaces that line
  by the fragment (header comment left out, each line indented like the include line),
  so DuckDB and every dialect see the expanded statement. Fragments may include
  fragments. A fragment is not a query (:func:`query_names` leaves it out);
* a file of **named statements**: small statements of one concept, each after a line
  ``-- statement: <name>`` of its own (``assign/registry``), addressed as
  ``<file>#<statement>`` (``assign/registry#retire``) by :func:`sql_text` and so by every
  engine.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from threadlift.errors import WorkspaceError

_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)-- include: (?P<name>\S+)[ \t]*$", re.MULTILINE)
_STATEMENT = re.compile(r"^-- statement: (?P<name>\w+)[ \t]*$", re.MULTILINE)


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


def is_fragment(name: str) -> bool:
    """Whether ``sql/<name>.sql`` is a fragment (its file name starts with ``_``), not a query."""
    return name.partition("#")[0].rsplit("/", 1)[-1].startswith("_")


def query_names(pattern: str) -> list[str]:
    """Names of the statements in the files matching ``pattern`` under ``sql/``
    (``analysis/*/*.sql``), sorted: a file's name, or ``<file>#<statement>`` for each
    statement of a file of named statements; fragments are left out."""
    files = (str(p.relative_to(sql_dir()).with_suffix("")) for p in sql_dir().glob(pattern))
    names: list[str] = []
    for file in files:
        if not is_fragment(file):
            names.extend([f"{file}#{s}" for s in statement_names(file)] or [file])
    return sorted(names)


def strip_header(text: str) -> str:
    """``text`` without its leading comment lines (the header)."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and lines[start].lstrip().startswith("--"):
        start += 1
    return "\n".join(lines[start:])


def _read(name: str, included_by: tuple[str, ...]) -> str:
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        if included_by:
            raise WorkspaceError(
                f"sql/{included_by[-1]}.sql includes {name!r}, but there is no such SQL file "
                f"(looked for {path}); fix the `-- include:` line or add the fragment"
            )
        raise WorkspaceError(f"no SQL file named {name!r} (looked for {path})")
    text = path.read_text(encoding="utf-8")

    def expand(match: re.Match[str]) -> str:
        fragment = match["name"]
        if fragment in (*included_by, name):
            chain = " -> ".join((*included_by, name, fragment))
            raise WorkspaceError(f"SQL fragments include each other in a cycle: {chain}")
        if not is_fragment(fragment):
            raise WorkspaceError(
                f"sql/{name}.sql includes {fragment!r}, which is a query, not a fragment "
                "(fragment files are named _<name>.sql)"
            )
        body = strip_header(_read(fragment, (*included_by, name))).strip("\n")
        indent = match["indent"]
        return "\n".join(indent + line if line.strip() else "" for line in body.splitlines())

    return _INCLUDE.sub(expand, text)


@cache
def sql_text(name: str) -> str:
    """Text of ``sql/<name>.sql`` with its ``-- include:`` lines expanded.

    ``name`` may contain a sub-directory (``analysis/lift/action_moments``); one statement
    of a file of named statements is ``<file>#<statement>`` (``assign/registry#retire``).

    Raises:
        WorkspaceError: when the file, a fragment it includes or the statement does not
            exist, or when a file of named statements is asked for as a whole.
    """
    file, _, statement = name.partition("#")
    text = _read(file, ())
    statements = _statements(text)
    if not statement:
        if statements:
            raise WorkspaceError(
                f"sql/{file}.sql holds named statements ({', '.join(statements)}); "
                f"ask for one as '{file}#<statement>'"
            )
        return text
    if statement not in statements:
        raise WorkspaceError(
            f"sql/{file}.sql has no statement {statement!r} (it has: {', '.join(statements) or 'none'})"
        )
    return statements[statement]


def _statements(text: str) -> dict[str, str]:
    parts = _STATEMENT.split(text)
    return {
        statement: body.strip().rstrip(";").strip()
        for statement, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def statement_names(name: str) -> list[str]:
    """The statements of the named-statements file ``sql/<name>.sql`` ([] for a one-statement file)."""
    return list(_statements(_read(name, ())))


def quote_identifier(name: str, allowed: frozenset[str] | set[str]) -> str:
    """Quote ``name`` as a DuckDB identifier, refusing anything outside ``allowed``."""
    if name not in allowed:
        raise ValueError(f"identifier {name!r} is not one of {sorted(allowed)}")
    return '"' + name.replace('"', '""') + '"'
