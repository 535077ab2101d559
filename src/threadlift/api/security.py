"""API keys: stored hashed, given by file or environment, with read and write scopes.

A key file (or ``THREADLIFT_API_KEYS``) holds one key per line::

    # name   scopes       hash of the secret
    crm      read,write   sha256:5f0c…
    dashboard read        sha256:9a41…

Only the SHA-256 of each secret is stored. The secrets are random 256-bit tokens made by
:func:`new_api_key`, so a fast hash is enough: there is nothing to brute-force, unlike a
password (which would need scrypt, and would cost milliseconds on every request).
A presented key is hashed and compared with every stored hash by
:func:`hmac.compare_digest`, without stopping at the first match, so the time taken does
not reveal which key (or how much of one) matched. Keys never appear in logs or errors.

Scopes: ``read`` (experiments, assignments) and ``write`` (exposures).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from threadlift.errors import ConfigError

SCOPES = ("read", "write")
"""Scopes a key may hold."""

_HASH = re.compile(r"^sha256:([0-9a-f]{64})$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its name (safe to log), its scopes and the SHA-256 of its secret."""

    name: str
    scopes: frozenset[str]
    digest: bytes

    def allows(self, scope: str) -> bool:
        """Whether the key holds ``scope``."""
        return scope in self.scopes


def hash_secret(secret: str) -> str:
    """The stored form of ``secret``: ``sha256:`` and 64 hex digits."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(name: str, scopes: Iterable[str] = ("read",)) -> tuple[str, str]:
    """Make a new key: return ``(secret, line)``; give the secret to the caller, store the line.

    Raises:
        ConfigError: a name that is not 1–64 of ``A-Z a-z 0-9 _ . @ -`` or an unknown scope.
    """
    wanted = sorted(set(scopes))
    _check(name, wanted, "new key")
    secret = "tl_" + secrets.token_urlsafe(32)
    return secret, f"{name} {','.join(wanted)} {hash_secret(secret)}"


def _check(name: str, scopes: list[str], where: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: key name {name!r} must be 1-64 letters, digits or _ . @ -"
        )
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ConfigError(
            f"{where}: scopes must be a comma-separated subset of {', '.join(SCOPES)} "
            f"(got {','.join(scopes) or 'nothing'})"
        )


def parse_keys(text: str, source: str) -> list[ApiKey]:
    """Parse key lines (``NAME SCOPES sha256:HEX``; ``#`` comments; ``;`` also separates lines).

    Raises:
        ConfigError: naming ``source`` and the line number, never echoing the line (it
            might be a secret pasted by mistake).
    """
    keys: list[ApiKey] = []
    for number, raw in enumerate(re.split(r"[\n;]", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{source}: entry {number}"
        if len(parts) != 3:
            raise ConfigError(
                f"{where}: expected `NAME SCOPES sha256:HEX` (make one with "
                "threadlift.api.security.new_api_key)"
            )
        name, scope_text, digest_text = parts
        _check(name, scope_text.split(","), where)
        match = _HASH.match(digest_text)
        if match is None:
            raise ConfigError(
                f"{where}: the third field must be the key's hash, sha256: and 64 lowercase "
                "hex digits; store hashes, never the keys themselves"
            )
        keys.append(ApiKey(name, frozenset(scope_text.split(",")), bytes.fromhex(match.group(1))))
    return keys


def load_keys(keys_file: Path | None, keys_text: str | None) -> list[ApiKey]:
    """Keys from the key file and the inline setting, together.

    Raises:
        ConfigError: an unreadable file, a malformed entry, or no key at all (the API
            refuses to run open).
    """
    keys: list[ApiKey] = []
    if keys_file is not None:
        try:
            text = keys_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read API key file {keys_file}: {exc.strerror}") from exc
        keys += parse_keys(text, str(keys_file))
    if keys_text:
        keys += parse_keys(keys_text, "THREADLIFT_API_KEYS")
    if not keys:
        raise ConfigError(
            "no API keys: give a key file (--keys-file / THREADLIFT_API_KEYS_FILE) or "
            "THREADLIFT_API_KEYS with lines `NAME SCOPES sha256:HEX`"
        )
    names = [key.name for key in keys]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"API key names must be unique; repeated: {', '.join(repeated)}")
    return keys


class KeyRing:
    """The stored keys; finds the key a presented secret belongs to in constant time."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = tuple(keys)

    def identify(self, secret: str) -> ApiKey | None:
        """The stored key whose hash matches ``secret``, or ``None``.

        Every stored hash is compared (no early exit), each with :func:`hmac.compare_digest`.
        """
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found
