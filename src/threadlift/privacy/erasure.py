"""Erasure: ``threadlift forget`` takes one person out of everything threadlift keeps.

Who: the contacts that own the address asked for (``--address``: an E.164 number, an
e-mail, a PSID, IGSID, BSUID or Apple id as ``identities`` stores it) or the contact asked
for (``--contact``), with every address those contacts have. Their *identifiers* are
the contact ids and addresses; a phone number is matched however it is written (``+1
650-555-1234``, ``16505551234``, ``(650) 555-1234``).

What, in one transaction:

1. every row with one of their contact ids, and the events of their messages;
2. every other row of any workspace table whose text mentions an identifier (quarantined
   input, platform events, …), and the ``ingest_provenance`` keys of all rows removed;
3. raw bodies: the items about them (a status, a message, a contact, a Messenger event)
   are cut out of each body that mentions them; a body left with nothing else is dropped
   and its content hash kept in ``erased_bodies``, so ingesting the same file again counts
   it as a duplicate instead of bringing them back (a rewritten body keeps its hash, the
   hash of the body as received, for the same reason);
4. a record in ``erasures``: a salted hash of the identifier asked for (the salt is the
   workspace's own, in ``threadlift_meta``), the time, the reason and the counts.

Then the database is copied into a fresh file that replaces the workspace atomically
(DuckDB leaves deleted rows in free blocks; a copy holds live rows only), the API's
exposure log loses their exposures (deleted, vacuumed, WAL truncated) and its snapshot is
removed (the server builds a new one from the erased workspace). Last, the workspace and
state files are scanned byte by byte for the identifiers; a copy left anywhere is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import phonenumbers

from threadlift.api.exposures import LOG_NAME
from threadlift.api.snapshot import SNAPSHOT_NAME
from threadlift.engines.sqlfiles import quote_identifier, sql_text
from threadlift.errors import InputError, WorkspaceError
from threadlift.ingest.watermarks import IMPLIED
from threadlift.ingest.writer import TABLES as INGEST_TABLES
from threadlift.ingest.writer import key_expression
from threadlift.privacy.pseudonyms import Pseudonymiser, for_workspace
from threadlift.workspace import Workspace, first_row

SALT_KEY = "erasure_salt"
"""The ``threadlift_meta`` key of the workspace's erasure salt."""

MIN_LITERAL = 6
"""Identifiers shorter than this (a contact id such as ``c1``, a test PSID) are matched only
where they are a whole value (a column, a JSON string), never inside text, where they would
match unrelated rows."""

_RECORD_TABLES = frozenset(
    {"threadlift_meta", "assignment_registry", "global_holdout", "erasures", "erased_bodies",
     "retention_policy", "retention_log", "eligibility_state_sources", "ingest_provenance"}
)
"""Tables about the workspace, not about people: checked, never swept."""

_OWNED = (*INGEST_TABLES, "quarantine")
"""Tables whose rows ingest records in ``ingest_provenance``."""


@dataclass(frozen=True)
class Erasure:
    """What one ``forget`` did.

    Attributes:
        subject_hash: sha256 of the workspace's salt, ``:`` and the identifier asked for.
        erased_at: when (naive UTC).
        contacts: contact ids erased (how many).
        removed: table → rows removed; ``raw_bodies (dropped)`` and ``raw_bodies
            (rewritten)`` bodies; ``exposure log`` rows of the API's log.
        files: the files rewritten or removed (workspace, exposure log, snapshot).
    """

    subject_hash: str
    erased_at: datetime
    contacts: int
    removed: dict[str, int] = field(default_factory=dict)
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _Subject:
    asked: str
    contact_ids: tuple[str, ...]
    addresses: tuple[str, ...]
    message_ids: tuple[str, ...]
    pattern: str
    """Matches text that mentions an identifier (phone numbers however written, the others
    of at least MIN_LITERAL characters as words)."""
    exact: tuple[str, ...]
    """Their addresses and the ids of the messages sent to them: a JSON string of a raw body
    equal to one is theirs, whatever its length (a delivery event naming only the message is
    about them too). A contact id is the business's own and may equal an ordinary word, so
    it is not here."""
    scan: tuple[bytes, ...]

    def json_pattern(self) -> str:
        """:attr:`pattern`, or a JSON string equal to an identifier."""
        strings = "|".join(_escape(json.dumps(e, ensure_ascii=False)[1:-1]) for e in self.exact)
        return f'{self.pattern}|(?:"(?:{strings})")' if strings else self.pattern


def forget(
    workspace: str | Path,
    *,
    address: str | None = None,
    contact: str | None = None,
    reason: str | None = None,
    state_dir: str | Path | None = None,
    now: datetime | None = None,
    key_file: str | Path | None = None,
) -> Erasure:
    """Erase one person (by address or contact id) from the workspace and the API's state.

    Args:
        workspace: the workspace file.
        address: an address as the person is known on a channel (``+E164``, e-mail, PSID…).
        contact: a contact id (give ``address`` or ``contact``, not both).
        reason: why (kept in the erasure record; must not hold the identifier).
        state_dir: the API's state directory (default ``<workspace>.api``), if any.
        now: the time recorded (default: now).
        key_file: in a pseudonymised workspace, the key file (else ``$THREADLIFT_KEY_FILE``,
            ``$THREADLIFT_KEY`` or the file recorded at init): ``address`` is matched by its
            pseudonym (:mod:`threadlift.privacy.pseudonyms`).

    Raises:
        InputError: neither or both of ``address`` and ``contact``; a malformed phone
            number; a reason that names the person.
        WorkspaceError: a copy of an identifier is still in a file afterwards.
    """
    path = Path(workspace)
    asked, stored_forms, contact_ids = _asked(address, contact)
    erased_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    removed: dict[str, int] = {}
    with Workspace.open(path) as ws:
        con = ws.con
        pseudonyms = for_workspace(
            con, Path(key_file) if key_file is not None else None, what="forget --address"
        ) if address is not None else None
        if pseudonyms is not None:
            stored_forms = _pseudonymised_forms(pseudonyms, [*stored_forms, asked])
        con.execute("BEGIN TRANSACTION")
        try:
            subject = _subject(con, asked, stored_forms, contact_ids)
            if reason is not None and re.search(subject.pattern, reason):
                raise InputError(
                    "--reason names the person being erased; give a reason without their "
                    "number, address or id (the erasure record must not identify them)"
                )
            removed.update(_erase_rows(con, subject))
            removed.update(_erase_raw_bodies(con, subject))
            subject_hash = _subject_hash(con, asked)
            con.execute(
                "INSERT INTO erasures VALUES ($at, $hash, $reason, $removed)",
                {"at": erased_at, "hash": subject_hash, "reason": reason,
                 "removed": json.dumps(removed, sort_keys=True)},
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        _rewrite_database(ws)
    files = [path]
    state = Path(state_dir) if state_dir is not None else path.with_name(path.name + ".api")
    log_removed = _erase_exposure_log(state / LOG_NAME, subject)
    if log_removed is not None:
        removed["exposure log"] = log_removed
        files.append(state / LOG_NAME)
    files.extend(_remove_snapshots(state))
    _check_no_copies(subject, [path, *_files_in(state)])
    return Erasure(subject_hash, erased_at, len(subject.contact_ids), removed, tuple(files))


def _asked(address: str | None, contact: str | None) -> tuple[str, list[str], list[str]]:
    """The identifier asked for, the forms ``identities`` may store it in, the contact ids."""
    if (address is None) == (contact is None):
        raise InputError("give --address (an E.164 number, e-mail or platform id) or --contact, one of them")
    if contact is not None:
        if not contact.strip():
            raise InputError("--contact is empty; give the contact id to erase")
        return contact, [], [contact]
    assert address is not None
    text = address.strip()
    if not text:
        raise InputError("--address is empty; give the address to erase, e.g. +16505551234")
    if text.startswith("+"):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException as exc:
            raise InputError(
                f"--address {address!r} is not a phone number ({exc}); write it in E.164, e.g. +16505551234"
            ) from None
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return e164, [e164], []
    return text, [text.lower()], []


def _pseudonymised_forms(pseudonyms: Pseudonymiser, stored_forms: list[str]) -> list[str]:
    """The tokens a pseudonymised workspace stores for the forms of an address: a phone
    (E.164) its phone token; anything else as an opaque id and, with an ``@``, an e-mail."""
    tokens: set[str] = set()
    for form in stored_forms:
        if form.startswith("+"):
            tokens.add(pseudonyms.phone(form))
            continue
        tokens.add(pseudonyms.opaque(form))
        if "@" in form:
            tokens.add(pseudonyms.email(form))
    # privacy/subject.sql compares lower-cased addresses; a token keeps its market in capitals
    return sorted(tokens | {token.lower() for token in tokens})


def _subject(
    con: duckdb.DuckDBPyConnection, asked: str, stored_forms: list[str], contact_ids: list[str]
) -> _Subject:
    row = first_row(con, sql_text("privacy/subject"),
                    {"addresses": stored_forms, "contact_ids": contact_ids})
    assert row is not None
    ids = tuple(str(v) for v in row[0])
    addresses = tuple(sorted({str(v) for v in row[1]} | set(stored_forms)))
    patterns: list[str] = []
    scan: set[bytes] = set()
    for identifier in sorted({asked, *ids, *addresses}):
        digits = _phone_digits(identifier)
        if digits is not None:
            patterns.extend(_phone_patterns(digits))
            scan.update({digits.encode(), _national(digits).encode()})
        elif len(identifier) >= MIN_LITERAL:
            patterns.append(
                r"(?i:(^|[^A-Za-z0-9])" + _escape(identifier) + r"($|[^A-Za-z0-9]))"
            )
            scan.add(identifier.encode())
    pattern = "|".join(f"(?:{p})" for p in patterns) if patterns else r"[^\s\S]"
    exact = tuple(sorted({*addresses, *(str(v) for v in row[2])}))
    return _Subject(asked, ids, addresses, tuple(str(v) for v in row[2]), pattern, exact,
                    tuple(sorted(scan)))


def _phone_digits(identifier: str) -> str | None:
    """The international digits of a phone identifier (``+…``, or a contact id ending in one)."""
    match = re.fullmatch(r"(?:[a-z]+:)?\+([0-9]{7,15})", identifier)
    return match.group(1) if match else None


def _national(digits: str) -> str:
    """The national significant number of international ``digits`` (the digits after the
    calling code), or ``digits`` when phonenumbers knows no calling code for them."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return digits
    national = str(number.national_number)
    return national if len(national) >= MIN_LITERAL else digits


def _phone_patterns(digits: str) -> list[str]:
    """Regular expressions (RE2 and Python alike) for a phone number written with or without
    ``+``, separators, the calling code or a trunk ``0``, not inside a longer digit run."""
    separated = r"[ ().\-]*".join
    return [
        r"(^|[^0-9])\+?" + separated(digits) + r"($|[^0-9])",
        r"(^|[^0-9])0?" + separated(_national(digits)) + r"($|[^0-9])",
    ]


def _escape(text: str) -> str:
    """``text`` as a literal in RE2 and Python regular expressions."""
    return "".join(ch if ch.isalnum() or ch == "_" or not ch.isascii() else "\\" + ch for ch in text)


def _subject_hash(con: duckdb.DuckDBPyConnection, asked: str) -> str:
    row = first_row(con, "SELECT value FROM threadlift_meta WHERE key = $k", {"k": SALT_KEY})
    if row is None:
        salt = secrets.token_hex(16)
        con.execute("INSERT INTO threadlift_meta VALUES ($k, $v)", {"k": SALT_KEY, "v": salt})
    else:
        salt = str(row[0])
    return hashlib.sha256(f"{salt}:{asked}".encode()).hexdigest()


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[str], bool]]:
    return [(str(t), [str(c) for c in cols or []], bool(has))
            for t, cols, has in con.execute(sql_text("privacy/text_columns")).fetchall()]


def _erase_rows(con: duckdb.DuckDBPyConnection, subject: _Subject) -> dict[str, int]:
    """Delete their rows from every table (raw_bodies aside); return the counts."""
    tables = _tables(con)
    allowed = {name for name, _, _ in tables} | {c for _, cols, _ in tables for c in cols} | {"contact_id"}
    params = {"ids": list(subject.contact_ids), "messages": list(subject.message_ids),
              "pattern": subject.pattern}
    conditions: dict[str, str] = {}
    for name, text_columns, has_contact_id in tables:
        if name == "raw_bodies":
            continue
        parts = [f"regexp_matches(coalesce({quote_identifier(c, allowed)}, ''), $pattern)"
                 for c in text_columns]
        if has_contact_id:
            parts.append("list_contains($ids, contact_id)")
        if name == "message_events":
            parts.append("list_contains($messages, message_id)")
        if not parts:
            continue
        where = " OR ".join(parts)
        if name in _RECORD_TABLES:
            found = first_row(con, f"SELECT count(*) FROM {quote_identifier(name, allowed)} WHERE {where}",
                              _used(where, params))
            if found and found[0]:
                raise WorkspaceError(
                    f"table {name} mentions the person being erased ({found[0]} rows), and it "
                    "holds workspace settings, not people; nothing was erased. Report this "
                    "as a threadlift bug"
                )
            continue
        conditions[name] = where
    for name in _OWNED:
        if name in conditions:
            table = quote_identifier(name, allowed)
            # an event a watermark implied is recorded under IMPLIED as well
            names = [name, IMPLIED] if name == "message_events" else [name]
            con.execute(
                "DELETE FROM ingest_provenance WHERE list_contains($names, table_name) AND row_key IN "
                f"(SELECT {key_expression(name, table)} FROM {table} WHERE {conditions[name]})",
                {"names": names, **_used(conditions[name], params)},
            )
    removed: dict[str, int] = {}
    for name, where in conditions.items():
        row = con.execute(
            f"DELETE FROM {quote_identifier(name, allowed)} WHERE {where}", _used(where, params)
        ).fetchall()
        if row and row[0][0]:
            removed[name] = int(row[0][0])
    return removed


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _erase_raw_bodies(con: duckdb.DuckDBPyConnection, subject: _Subject) -> dict[str, int]:
    """Cut their items out of the bodies that mention them; drop bodies left empty."""
    in_json = subject.json_pattern()
    rows = con.execute(
        "SELECT platform, body_hash, body FROM raw_bodies WHERE regexp_matches(body, $pattern)",
        {"pattern": in_json},
    ).fetchall()
    matcher = _Matcher(re.compile(subject.pattern), frozenset(subject.exact))
    left = re.compile(in_json)
    dropped: list[tuple[str, int]] = []
    rewritten: list[tuple[str, int, str]] = []
    for platform, body_hash, body in rows:
        try:
            pruned = _prune(json.loads(body), matcher)
        except RecursionError:
            pruned = _GONE  # too deep to take apart (a --keep-content body): it goes whole
        text = None if pruned is _GONE else json.dumps(pruned, ensure_ascii=False, separators=(",", ":"))
        if text is None or left.search(text):
            dropped.append((str(platform), int(body_hash)))
        else:
            rewritten.append((str(platform), int(body_hash), text))
    for platform, body_hash in dropped:
        con.execute("DELETE FROM raw_bodies WHERE platform = $p AND body_hash = $h",
                    {"p": platform, "h": body_hash})
        con.execute("INSERT INTO erased_bodies VALUES ($p, $h)", {"p": platform, "h": body_hash})
    for platform, body_hash, text in rewritten:
        con.execute("UPDATE raw_bodies SET body = $b WHERE platform = $p AND body_hash = $h",
                    {"b": text, "p": platform, "h": body_hash})
    counts = {"raw_bodies (dropped)": len(dropped), "raw_bodies (rewritten)": len(rewritten)}
    return {k: v for k, v in counts.items() if v}


@dataclass(frozen=True)
class _Matcher:
    """Whether a value is one of ``exact`` or mentions one of the person's identifiers."""

    pattern: re.Pattern[str]
    exact: frozenset[str]

    def __call__(self, value: object) -> bool:
        if isinstance(value, bool) or value is None:
            return False
        text = str(value)
        return text in self.exact or bool(self.pattern.search(text))


class _Gone:
    """Marks a JSON value that was only about the person."""


_GONE = _Gone()


def _prune(node: Any, matcher: _Matcher) -> Any:
    """``node`` without the objects that mention the person, or ``_GONE``.

    An object with a scalar (or key) that mentions them is about them: it goes, and so does
    the object holding it (a status with their ``recipient_id``; a Messenger event whose
    ``sender`` is them). From an array, the elements that go are cut; an array they empty
    is removed from its object, and an object that loses every array it had (a ``value``
    whose statuses were all theirs, an ``entry`` whose changes all went) goes too.
    """
    if isinstance(node, list):
        kept = [p for p in (_prune(e, matcher) for e in node) if p is not _GONE]
        return _GONE if node and not kept else kept
    if not isinstance(node, dict):
        return _GONE if matcher(node) else node
    result: dict[str, Any] = {}
    arrays = emptied = 0
    for key, value in node.items():
        if matcher(key):
            return _GONE
        pruned = _prune(value, matcher)
        if isinstance(value, list) and value:
            arrays += 1
            if pruned is _GONE:
                emptied += 1
                continue
        elif pruned is _GONE:
            return _GONE
        result[key] = pruned
    return _GONE if arrays and emptied == arrays else result


def _rewrite_database(ws: Workspace) -> None:
    """Replace the workspace file by a copy of its live rows, atomically, holding its lock.

    Deleted rows stay in DuckDB's free blocks (and zstd-compressed bodies could not even be
    found by a byte scan); ``COPY FROM DATABASE`` writes only what is live.
    """
    con = ws.con
    path = ws.path
    fresh = path.with_name(f".{path.name}.erasure-{os.getpid()}")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    row = first_row(con, "SELECT current_database()")
    assert row is not None
    source = str(row[0])
    con.execute("CHECKPOINT")
    con.execute(f"ATTACH {_literal(str(fresh))} AS threadlift_fresh")
    try:
        con.execute(f"COPY FROM DATABASE {_identifier(source)} TO threadlift_fresh")
    finally:
        con.execute("DETACH threadlift_fresh")
    mode = path.stat().st_mode & 0o777
    os.chmod(fresh, mode)
    with fresh.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _erase_exposure_log(log: Path, subject: _Subject) -> int | None:
    """Delete their exposures from the API's SQLite log and leave no copy in its pages or WAL."""
    if not log.is_file():
        return None
    matcher = _Matcher(re.compile(subject.pattern), frozenset(subject.contact_ids))
    con = sqlite3.connect(log, timeout=30, isolation_level=None)
    try:
        con.create_function("tl_theirs", 1, matcher, deterministic=True)
        con.execute("PRAGMA secure_delete = ON")
        removed = con.execute("DELETE FROM exposures WHERE tl_theirs(contact_id)").rowcount
        con.execute("VACUUM")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return int(removed)


def _remove_snapshots(state: Path) -> list[Path]:
    """Remove the API's snapshot (it lists contacts); the server builds a new one."""
    if not state.is_dir():
        return []
    removed = []
    for path in state.iterdir():
        if path.name.startswith((SNAPSHOT_NAME, f".{SNAPSHOT_NAME}")):
            path.unlink()
            removed.append(path)
    return removed


def _files_in(directory: Path) -> Iterable[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def _check_no_copies(subject: _Subject, paths: Iterable[Path]) -> None:
    """Scan files byte by byte for the identifiers; refuse to report success otherwise."""
    for path in paths:
        candidates = [path, path.with_name(path.name + ".wal")]
        for candidate in candidates:
            if not candidate.is_file():
                continue
            data = candidate.read_bytes()
            for needle in subject.scan:
                if needle in data:
                    raise WorkspaceError(
                        f"{candidate} still holds a copy of an identifier of the person after "
                        "erasure; stop every process using it and run `threadlift forget` "
                        "again (a server writing its log keeps its own pages)"
                    )
