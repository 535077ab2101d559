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
* an **inlined** fragment: ``-- inline: <expression fragment> over <select-list
  fragment>, <select-list fragment>, …`` expands to the expression with each column a
  select-list fragment names (``<expression> AS <name>``) replaced by that expression in
  parentheses, the first fragment after ``over`` first: what nesting the fragments as
  ``SELECT <expression> FROM (SELECT *, <first> FROM (SELECT *, <second> FROM …))``
  computes, as one expression. Written once, a rule can so be evaluated on rows whose
  columns are constants (``'granted' AS kind``), which DuckDB then folds away
  (``sql/assign/eligibility/verdicts.sql``);
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
_INLINE = re.compile(
    r"^(?P<indent>[ \t]*)-- inline: (?P<name>\S+) over (?P<over>\S+(?:,[ \t]*\S+)*)[ \t]*$",
    re.MULTILINE,
)
# A token of SQL text: a quoted string or identifier (kept whole), a word, or any other character.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z_0-9]*|\s+|.", re.DOTALL)
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

    def fragment_text(fragment: str, verb: str) -> str:
        """The text of a fragment this file ``verb``s (includes, inlines), refusing a
        cycle or a query."""
        if fragment in (*included_by, name):
            chain = " -> ".join((*included_by, name, fragment))
            raise WorkspaceError(f"SQL fragments include each other in a cycle: {chain}")
        if not is_fragment(fragment):
            raise WorkspaceError(
                f"sql/{name}.sql {verb} {fragment!r}, which is a query, not a fragment "
                "(fragment files are named _<name>.sql)"
            )
        return _read(fragment, (*included_by, name))

    def expand(match: re.Match[str]) -> str:
        body = strip_header(fragment_text(match["name"], "includes")).strip("\n")
        indent = match["indent"]
        return "\n".join(indent + line if line.strip() else "" for line in body.splitlines())

    def inline(match: re.Match[str]) -> str:
        names = [match["name"], *(part.strip() for part in match["over"].split(","))]
        bodies = [_code(fragment_text(fragment, "inlines")) for fragment in names]
        expression = bodies[0]
        for fragment, body in zip(names[1:], bodies[1:], strict=True):
            expression = _substitute(expression, _select_items(body, fragment, name))
        indent = match["indent"]
        return "\n".join(indent + line for line in expression.splitlines() if line.strip())

    return _INLINE.sub(inline, _INCLUDE.sub(expand, text))


def _code(text: str) -> str:
    """SQL text without comments (``--`` to the end of a line, outside quotes)."""
    lines = []
    for line in strip_header(text).splitlines():
        kept: list[str] = []
        for token in _TOKEN.findall(line):
            if token == "-" and kept and kept[-1] == "-":
                kept.pop()
                break
            kept.append(token)
        lines.append("".join(kept).rstrip())
    return "\n".join(line for line in lines if line.strip())


def _split_top_level(text: str) -> list[str]:
    """``text`` split at commas outside parentheses and quotes."""
    parts: list[list[str]] = [[]]
    depth = 0
    for token in _TOKEN.findall(text):
        if token in "([":
            depth += 1
        elif token in ")]":
            depth -= 1
        if token == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return ["".join(part).strip() for part in parts if "".join(part).strip()]


def _select_items(body: str, fragment: str, inliner: str) -> dict[str, str]:
    """The ``<expression> AS <name>`` items of a select-list fragment, by name."""
    items: dict[str, str] = {}
    for item in _split_top_level(body):
        expression, sep, alias = item.rpartition(" AS ")
        alias = alias.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", alias):
            raise WorkspaceError(
                f"sql/{inliner}.sql inlines sql/{fragment}.sql, whose item {item[:60]!r} is not "
                "'<expression> AS <name>' (a fragment inlined over must be a select list)"
            )
        # one line: the expression is inlined inside another one's lines
        items[alias] = "".join(" " if token.isspace() else token for token in _TOKEN.findall(expression.strip()))
    return items


def _substitute(expression: str, items: dict[str, str]) -> str:
    """``expression`` with each column named in ``items`` replaced by its expression in
    parentheses (not inside quotes, nor a field after a dot)."""
    out: list[str] = []
    previous = ""
    for token in _TOKEN.findall(expression):
        out.append(f"({items[token]})" if token in items and previous != "." else token)
        if not token.isspace():
            previous = token
    return "".join(out)


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
