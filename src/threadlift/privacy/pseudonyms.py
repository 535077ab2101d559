"""Pseudonymous identities: addresses stored as keyed HMAC-SHA256 values (docs/privacy.md).

A workspace created with ``threadlift init --pseudonymise`` records *that* it is
pseudonymised and a check value of its key (the HMAC of a fixed label), never the key.
The key is 32 random bytes written as 64 hexadecimal digits, kept in a key file (created
owner-only) or in ``$THREADLIFT_KEY``; every command that must turn an address into its
pseudonym (``load identities``, ``ingest``, ``forget --address``, the demo) finds it with
:func:`for_workspace` and refuses a missing or wrong key instead of writing clear or
differently keyed values.

An address is normalised first (a phone number to E.164, an e-mail address trimmed and
lower-cased, any other id trimmed) and becomes a *token*::

    tl~<market>~<hmac>      a phone number: its market (main region of the calling code,
                            derived before hashing; empty for a non-geographic code)
    tl~!~<hmac>             a phone number that is not possible, an e-mail without "@":
                            kept unreadable but not an identity, as in a plain workspace
    tl~~<hmac>              an e-mail address, PSID, IGSID or Apple id
    <XX>.tl~~<hmac>         a BSUID: its two-letter market prefix kept

``<hmac>`` is ``HMAC-SHA256(key, normalised address)`` in lower-case hex. The same person
always maps to the same token; a token given again stays as it is (no double hashing), so
``ingest --rebuild`` maps the stored bodies, which carry tokens, to the same rows.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from threadlift.errors import InputError, WorkspaceError

ENV_KEY = "THREADLIFT_KEY"
"""The environment variable that may hold the key itself (64 hexadecimal digits)."""

ENV_KEY_FILE = "THREADLIFT_KEY_FILE"
"""The environment variable that may name the key file."""

SCHEME = "hmac-sha256-v1"
"""The ``threadlift_meta`` value of ``pseudonymise`` in a pseudonymised workspace."""

META_SCHEME = "pseudonymise"
META_CHECK = "pseudonym_key_check"
META_KEY_FILE = "pseudonym_key_file"

CHECK_LABEL = b"threadlift pseudonym key check v1"
"""What the key check value is the HMAC of."""

TOKEN = re.compile(r"(?:[A-Z]{2}\.)?tl~(!|[A-Z]{0,2})~[0-9a-f]{64}")
"""A pseudonym (sql/ingest/identity_ids.sql recognises the e-mail form ``tl~~…`` too)."""

_KEY_TEXT = re.compile(r"[0-9a-fA-F]{64}")
_BSUID_MARKET = re.compile(r"([A-Z]{2})\.")


def new_key() -> str:
    """A fresh key: 32 random bytes as 64 hexadecimal digits."""
    return secrets.token_hex(32)


def parse_key(text: str, where: str) -> bytes:
    """The key bytes of ``text`` (64 hex digits, surrounding whitespace ignored).

    Raises:
        InputError: naming ``where`` the text came from and the form expected.
    """
    stripped = text.strip()
    if not _KEY_TEXT.fullmatch(stripped):
        raise InputError(
            f"{where} does not hold a threadlift key: expected 64 hexadecimal digits (32 "
            "bytes), as `threadlift init --pseudonymise --key-file PATH` writes"
        )
    return bytes.fromhex(stripped)


def write_key_file(path: Path) -> bytes:
    """Create ``path`` (owner-only, 0600, never overwriting) holding a new key; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_key()
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"key file {path} exists; give it to use it, or a new path") from None
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(text + "\n")
    os.chmod(path, 0o600)
    return bytes.fromhex(text)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``.

    Raises:
        InputError: the file is missing or does not hold a key.
    """
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise InputError(f"key file {path} does not exist") from None
    return parse_key(text, f"key file {path}")


def init_key(key_file: Path | None) -> tuple[bytes, Path | None, bool]:
    """The key ``init --pseudonymise`` records: (key, its file, whether the file was created).

    ``key_file`` (created owner-only with a new key when it does not exist), else
    ``$THREADLIFT_KEY_FILE`` (the same), else ``$THREADLIFT_KEY``.

    Raises:
        InputError: none of them given, or one that does not hold a key.
    """
    env_file = os.environ.get(ENV_KEY_FILE, "").strip()
    path = key_file if key_file is not None else (Path(env_file) if env_file else None)
    if path is not None:
        if path.exists():
            return read_key_file(path), path, False
        return write_key_file(path), path, True
    env_key = os.environ.get(ENV_KEY, "").strip()
    if env_key:
        return parse_key(env_key, f"${ENV_KEY}"), None, False
    raise InputError(
        "--pseudonymise needs a key kept outside the workspace: give --key-file PATH (a new "
        f"key is written there, owner-only, when the file does not exist), or set {ENV_KEY_FILE} "
        f"to such a path or {ENV_KEY} to 64 hexadecimal digits"
    )


def key_check(key: bytes) -> str:
    """The check value a workspace records for ``key``: HMAC-SHA256 of :data:`CHECK_LABEL`."""
    return hmac.new(key, CHECK_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Pseudonymiser:
    """Turns addresses into tokens with one key (module docstring)."""

    key: bytes = field(repr=False)
    source: str = ""

    def digest(self, text: str) -> str:
        """``HMAC-SHA256(key, text)`` in lower-case hex."""
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def phone(self, raw: str) -> str:
        """The token of a phone number written any way (E.164 and market derived first)."""
        text = raw.strip()
        if TOKEN.fullmatch(text):
            return text
        e164, market = parse_phone(text)
        if e164 is None:
            return f"tl~!~{self.digest(text)}"
        return f"tl~{market or ''}~{self.digest(e164)}"

    def email(self, raw: str) -> str:
        """The token of an e-mail address (trimmed, lower-cased)."""
        text = raw.strip()
        if TOKEN.fullmatch(text):
            return text
        if re.fullmatch(r".+@.+", text, re.S):
            return f"tl~~{self.digest(text.lower())}"
        return f"tl~!~{self.digest(text)}"

    def opaque(self, raw: str) -> str:
        """The token of a PSID, IGSID, Apple id or BSUID (trimmed; a BSUID keeps its market)."""
        text = raw.strip()
        if TOKEN.fullmatch(text):
            return text
        market = _BSUID_MARKET.match(text)
        prefix = market.group(0) if market else ""
        return f"{prefix}tl~~{self.digest(text)}"

    def address(self, raw: str, channel: str | None = None) -> str:
        """The token of an address whose kind is told by its form: ``+``/digits on a phone
        channel → phone, ``@`` → e-mail, anything else an opaque id."""
        text = raw.strip()
        if TOKEN.fullmatch(text):
            return text
        if "@" in text:
            return self.email(text)
        if text.startswith("+") or (
            channel in (None, "whatsapp", "sms") and re.fullmatch(r"[0-9 ().\-]{6,}", text)
        ):
            return self.phone(text)
        return self.opaque(text)


@cache
def parse_phone(text: str) -> tuple[str | None, str | None]:
    """(E.164, market) of a phone number written any way, or (None, None).

    The same judgement as ingest's (:func:`threadlift.ingest.identity.parse_phone`).
    """
    from threadlift.ingest.identity import parse_phone as ingest_parse_phone

    return ingest_parse_phone(text)


def token_parts(token: str) -> tuple[bool, str | None] | None:
    """(is an identity, market) of a token, or None when ``token`` is not one."""
    match = TOKEN.fullmatch(token)
    if match is None:
        return None
    tag = match.group(1)
    if tag == "!":
        return False, None
    return True, tag or None


# --- the workspace's record --------------------------------------------------------------


def _meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "SELECT key, value FROM threadlift_meta WHERE key IN ($a, $b, $c)",
        {"a": META_SCHEME, "b": META_CHECK, "c": META_KEY_FILE},
    ).fetchall()
    return {str(k): str(v) for k, v in rows}


def is_pseudonymised(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the workspace on ``con`` was created with ``--pseudonymise``."""
    return _meta(con).get(META_SCHEME) == SCHEME


def recorded_key_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The key file ``init --pseudonymise`` was given, as recorded (not the key)."""
    value = _meta(con).get(META_KEY_FILE)
    return Path(value) if value else None


def recorded_check(con: duckdb.DuckDBPyConnection) -> str:
    """The key check value the workspace recorded ('' for a plain workspace)."""
    return _meta(con).get(META_CHECK, "")


def enable(con: duckdb.DuckDBPyConnection, key: bytes, key_file: Path | None) -> None:
    """Record in a new, empty workspace that it is pseudonymised with ``key``.

    Raises:
        InputError: the workspace already holds rows written in clear.
    """
    if is_pseudonymised(con):
        check(con, key, "the key given")
        return
    held = con.execute(
        "SELECT (SELECT count(*) FROM identities) + (SELECT count(*) FROM contacts) "
        "+ (SELECT count(*) FROM raw_bodies) + (SELECT count(*) FROM quarantine)"
    ).fetchall()[0][0]
    if held:
        raise InputError(
            "this workspace already holds contacts, identities, raw bodies or quarantined rows "
            "in clear; a workspace is pseudonymised when it is created: run `threadlift init "
            "--pseudonymise` with a new workspace file and load or ingest into it"
        )
    rows = [(META_SCHEME, SCHEME), (META_CHECK, key_check(key))]
    if key_file is not None:
        rows.append((META_KEY_FILE, str(key_file.resolve())))
    con.executemany("INSERT OR REPLACE INTO threadlift_meta VALUES (?, ?)", rows)


def check(con: duckdb.DuckDBPyConnection, key: bytes, source: str) -> None:
    """Refuse ``key`` unless it is the workspace's.

    Raises:
        WorkspaceError: the check values differ (exit code 2).
    """
    expected = _meta(con).get(META_CHECK, "")
    got = key_check(key)
    if not hmac.compare_digest(expected, got):
        raise WorkspaceError(
            f"{source} is not this workspace's pseudonym key (the workspace expects key check "
            f"{expected[:12]}…, this key gives {got[:12]}…); nothing was written. "
            f"{_where_to_look(recorded_key_file(con))}"
        )


def _where_to_look(recorded: Path | None) -> str:
    made = f" (`init --pseudonymise` was given {recorded})" if recorded else ""
    return (
        f"Give the key file it was created with as --key-file PATH{made}, or set "
        f"{ENV_KEY_FILE} to its path or {ENV_KEY} to the key"
    )


def for_workspace(
    con: duckdb.DuckDBPyConnection, key_file: Path | None = None, *, what: str = "this command"
) -> Pseudonymiser | None:
    """The workspace's pseudonymiser, or None for a plain workspace.

    The key is looked for in ``key_file``, then ``$THREADLIFT_KEY_FILE``, then
    ``$THREADLIFT_KEY``, then the key file recorded at ``init``; it must match the recorded
    check value.

    Raises:
        InputError: ``key_file`` given for a plain workspace.
        WorkspaceError: no key found, or a key that is not the workspace's (exit code 2).
    """
    if not is_pseudonymised(con):
        if key_file is not None:
            raise InputError(
                f"--key-file {key_file} was given but this workspace is not pseudonymised "
                "(its addresses are stored in clear); drop --key-file, or create a "
                "pseudonymised workspace with `threadlift init --pseudonymise`"
            )
        return None
    recorded = recorded_key_file(con)
    env_file = os.environ.get(ENV_KEY_FILE, "").strip()
    env_key = os.environ.get(ENV_KEY, "").strip()
    if key_file is not None:
        key, source = read_key_file(key_file), f"key file {key_file}"
    elif env_file:
        key, source = read_key_file(Path(env_file)), f"key file {env_file} (${ENV_KEY_FILE})"
    elif env_key:
        key, source = parse_key(env_key, f"${ENV_KEY}"), f"${ENV_KEY}"
    elif recorded is not None and recorded.is_file():
        key, source = read_key_file(recorded), f"key file {recorded} (recorded at init)"
    else:
        raise WorkspaceError(
            f"this workspace is pseudonymised and {what} needs its key, which was not found; "
            f"{_where_to_look(recorded)}"
        )
    check(con, key, source)
    return Pseudonymiser(key, source)


# --- raw bodies ----------------------------------------------------------------------------

WHATSAPP_FIELDS: dict[str, str] = {
    "recipient_id": "phone", "wa_id": "phone", "from": "phone", "to": "phone",
    "recipient_user_id": "opaque", "recipient_parent_user_id": "opaque",
    "user_id": "opaque", "parent_user_id": "opaque", "from_user_id": "opaque",
    "from_parent_user_id": "opaque",
}
"""WhatsApp fields, at any depth, that hold a person's address (``from`` of a reply's
``context`` is the business's number: a pseudonym there is harmless, no fact reads it)."""

FLAT_FIELDS: dict[str, dict[str, str]] = {
    "sms": {"to": "phone", "from": "phone"},
    "email": {"to": "email", "from": "email"},
}
"""SMS and e-mail CSV rows: the columns that hold a person's address, and its kind.
Messenger, Instagram and Apple bodies name the user by the side of the event
(:func:`pseudonymise_body`); docs/privacy.md lists every field (a test keeps it in step)."""


def pseudonymise_body(platform: str, body: Any, pseudonyms: Pseudonymiser) -> Any:
    """``body`` (parsed JSON) with its people's addresses replaced by tokens."""
    kinds: dict[str, Callable[[str], str]] = {
        "phone": pseudonyms.phone, "email": pseudonyms.email, "opaque": pseudonyms.opaque,
    }
    if platform == "whatsapp":
        return _by_key(body, {k: kinds[v] for k, v in WHATSAPP_FIELDS.items()})
    if not isinstance(body, dict):
        return body
    if platform in FLAT_FIELDS:
        return _by_key(body, {k: kinds[v] for k, v in FLAT_FIELDS[platform].items()}, deep=False)
    if platform == "apple":
        inbound = body.get("direction") == "inbound"
        user_fields = ("source_id", "source-id") if inbound else ("destination_id", "destination-id")
        return _by_key(body, dict.fromkeys(user_fields, pseudonyms.opaque), deep=False)
    return _meta_body(body, pseudonyms)


def _address_text(value: object) -> str | None:
    """The text of an address value: a non-blank string, or an integer (a number written
    as a JSON number is read as its digits by the mappers, so it is hashed too)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _by_key(node: Any, fields: dict[str, Callable[[str], str]], *, deep: bool = True) -> Any:
    """``node`` with the address value of each key in ``fields`` replaced by its token, at
    any depth (``deep``) or in the top-level object only."""
    if isinstance(node, list):
        return [_by_key(element, fields) for element in node] if deep else node
    if not isinstance(node, dict):
        return node
    result = {}
    for k, v in node.items():
        text = _address_text(v) if k in fields else None
        if text is not None:
            result[k] = fields[k](text)
        else:
            result[k] = _by_key(v, fields) if deep else v
    return result


def _meta_body(body: dict[str, Any], pseudonyms: Pseudonymiser) -> dict[str, Any]:
    entries = body.get("entry")
    if not isinstance(entries, list):
        return body
    new_entries = []
    for entry in entries:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            new_entries.append(entry)
            continue
        new_events = []
        for event in events:
            if not isinstance(event, dict):
                new_events.append(event)
                continue
            message = event.get("message")
            echo = isinstance(message, dict) and str(message.get("is_echo")).lower() == "true"
            side = "recipient" if echo else "sender"
            party = event.get(side)
            user = _address_text(party.get("id")) if isinstance(party, dict) else None
            if isinstance(party, dict) and user is not None:
                event = {**event, side: {**party, "id": pseudonyms.opaque(user)}}
            new_events.append(event)
        new_entries.append({**entry, "messaging": new_events})
    return {**body, "entry": new_entries}


def pseudonymise_staged(
    con: duckdb.DuckDBPyConnection, platform: str, pseudonyms: Pseudonymiser
) -> int:
    """Replace the addresses of the good bodies in ``_checked`` by tokens (their
    ``body_hash`` stays that of the body as received); return how many changed.

    A status-only WhatsApp body (most traffic; its one status parsed while staging, in
    ``wa``) is rewritten in SQL, its text and ``wa`` alike; any other body, and a status
    whose text the SQL rewrite could not check, is parsed and rewritten in Python.
    Rejected bodies and lines lose their text (``raw`` NULL in quarantine): they could not
    be read, so their addresses cannot be found.
    """
    in_sql = _pseudonymise_wa_status(con, pseudonyms) if platform == "whatsapp" else 0
    from threadlift.ingest.redaction import rewrite_checked_bodies

    rewritten = rewrite_checked_bodies(
        con,
        "SELECT k, body FROM _checked WHERE reason IS NULL AND (wa IS NULL OR k IN "
        "(SELECT k FROM _tl_unchecked))" if in_sql else
        "SELECT k, body FROM _checked WHERE reason IS NULL",
        lambda document: pseudonymise_body(platform, document, pseudonyms),
        "nested too deeply to find its addresses (more than about 900 levels); webhook "
        "bodies nest a few levels, so check what wrote it",
    )
    con.execute("DROP TABLE IF EXISTS _tl_unchecked")
    con.execute("UPDATE _checked SET body = NULL WHERE reason IS NOT NULL")
    con.execute("UPDATE _stage_rejects SET raw = NULL")
    return in_sql + rewritten


_WA_STATUS_FIELDS = (
    ("recipient_id", "phone"), ("recipient_user_id", "opaque"), ("recipient_parent_user_id", "opaque"),
)


def _pseudonymise_wa_status(con: duckdb.DuckDBPyConnection, pseudonyms: Pseudonymiser) -> int:
    """Tokens into status-only WhatsApp bodies, text and ``wa`` alike, in SQL; return how
    many. Leaves ``_tl_unchecked(k)``: the bodies whose text still holds an address or lacks
    its token after the rewrite (a value written with JSON escapes), for the Python path."""
    con.execute("CREATE OR REPLACE TEMP TABLE _tl_unchecked (k BIGINT)")
    values = con.execute(
        "SELECT DISTINCT v FROM (SELECT unnest([wa.recipient_id, wa.recipient_user_id, "
        "wa.recipient_parent_user_id]) AS v FROM _checked WHERE reason IS NULL AND wa IS NOT NULL) "
        "WHERE coalesce(trim(v), '') <> ''"
    ).fetchall()
    if not values:
        return 0
    raw = [str(v) for (v,) in values]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _tl_tokens AS SELECT unnest($raw::VARCHAR[]) AS raw, "
        "unnest($phone::VARCHAR[]) AS phone, unnest($opaque::VARCHAR[]) AS opaque",
        {"raw": raw, "phone": [pseudonyms.phone(v) for v in raw],
         "opaque": [pseudonyms.opaque(v) for v in raw]},
    )
    joins = " ".join(
        f"LEFT JOIN _tl_tokens AS t{i} ON t{i}.raw = c.wa.{name}"
        for i, (name, _kind) in enumerate(_WA_STATUS_FIELDS)
    )
    tokens = ", ".join(f"t{i}.{kind} AS new{i}, t{i}.raw AS old{i}"
                       for i, (_name, kind) in enumerate(_WA_STATUS_FIELDS))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _tl_status AS SELECT c.k, {tokens} FROM _checked AS c "
        f"{joins} WHERE c.reason IS NULL AND c.wa IS NOT NULL"
    )
    body = "_checked.body"
    for i, (name, _kind) in enumerate(_WA_STATUS_FIELDS):
        # the first (only) string value of the key: a status-only body has one status
        body = (f"CASE WHEN s.new{i} IS NULL THEN {body} ELSE regexp_replace({body}, "
                f"'\"{name}\"(\\s*):(\\s*)\"[^\"\\\\]*\"', "
                f"'\"{name}\"\\1:\\2\"' || s.new{i} || '\"') END")
    updates = ", ".join(
        f"{name} := coalesce(s.new{i}, _checked.wa.{name})"
        for i, (name, _kind) in enumerate(_WA_STATUS_FIELDS)
    )
    con.execute(
        f"UPDATE _checked SET body = {body}, wa = struct_update(_checked.wa, {updates}) "
        "FROM _tl_status AS s WHERE _checked.k = s.k"
    )
    left = " OR ".join(
        f"(s.new{i} IS NOT NULL AND (NOT contains(c.body, s.new{i}) "
        f"OR contains(c.body, '\"' || s.old{i} || '\"')))"
        for i in range(len(_WA_STATUS_FIELDS))
    )
    con.execute(
        f"INSERT INTO _tl_unchecked SELECT c.k FROM _checked AS c JOIN _tl_status AS s "
        f"ON s.k = c.k WHERE {left}"
    )
    count = con.execute("SELECT count(*) FROM _tl_status").fetchall()[0][0]
    con.execute("DROP TABLE _tl_tokens")
    con.execute("DROP TABLE _tl_status")
    return int(count)
