"""Who a platform identifier belongs to: identities → contacts.

Every mapper records *observations* in ``_c_obs``: identifiers seen together on one item
(a WhatsApp status names the phone ``wa_id``, the business-scoped user id and its parent;
a Messenger event names a page-scoped id). Identifiers seen together are one person, so
observations are merged into components; a component takes the contact of any of its
identifiers already in ``identities``, otherwise (``unknown_identity="create"``) a new
contact whose id is derived from its preferred identifier — the same id whatever order
the webhooks arrive in — or (``"quarantine"``) none, and the rows that need it go to
quarantine.

Phone numbers become E.164. WhatsApp ``wa_id`` values are international digits already:
they are checked against the possible lengths of their country calling code from
``phonenumbers``' metadata inside DuckDB (fast for millions of rows); anything else (SMS
files in national or formatted notation) is parsed by ``phonenumbers`` itself. A number
that is not possible is not an identity. In a pseudonymised workspace the bodies carry
pseudonyms instead (:mod:`threadlift.privacy.pseudonyms`), normalised and hashed before
they were stored: each stands for itself, with the market it carries.
"""

from __future__ import annotations

from functools import cache

import duckdb
import phonenumbers

from threadlift.core.markets import main_region
from threadlift.engines.sqlfiles import sql_text
from threadlift.privacy.pseudonyms import token_parts

SCOPED_KINDS = ("psid", "igsid", "apple")
"""Identifier kinds that only mean something together with the business id (sender)."""


@cache
def _calling_code(code: int) -> tuple[str | None, list[int]] | None:
    """Main region and possible national-number lengths of a calling code (phonenumbers
    metadata), or None when it has none. Only the codes an ingest meets are looked up."""
    if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = main_region(code)
    if region is None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
    else:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return None
    possible = [int(n) for n in metadata.general_desc.possible_length or ()]
    return (region, possible) if possible else None


def _calling_codes(prefixes: list[str]) -> tuple[list[str], list[str | None], list[list[int]]]:
    """The calling codes among ``prefixes`` (1–3 leading digits of the phones to check),
    with their main region and possible national-number lengths, as parallel lists."""
    codes: list[str] = []
    regions: list[str | None] = []
    lengths: list[list[int]] = []
    for prefix in sorted(set(prefixes)):
        entry = _calling_code(int(prefix)) if prefix.isdigit() and prefix[0] != "0" else None
        if entry is not None:
            codes.append(prefix)
            regions.append(entry[0])
            lengths.append(entry[1])
    return codes, regions, lengths


def parse_phone(raw: str) -> tuple[str | None, str | None]:
    """(E.164, region) of a phone number written any way, or (None, None).

    Judged as the digits-only path in SQL judges international digits (phone_digits.sql),
    so that a number gets the same identity and market however it is written: possible
    means a possible length of a full number (not a local-only one), and the region is
    the main region of the calling code (``+1`` → US, as :mod:`threadlift.core.markets` says for every market).
    """
    text = raw.strip()
    if not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None, None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE or number.country_code is None:
        return None, None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, main_region(number.country_code)


def _normalise_other(raw: str) -> tuple[str | None, str | None]:
    """(E.164 or token, market) of a phone that is not international digits: a pseudonym
    (:mod:`threadlift.privacy.pseudonyms`, already normalised and hashed) stands for itself
    with the market it carries; anything else is parsed."""
    parts = token_parts(raw)
    if parts is None:
        return parse_phone(raw)
    usable, market = parts
    return (raw, market) if usable else (None, None)


def normalise_phones(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``_phone_norm(raw, e164, region)`` for every phone in ``_c_obs``."""
    leading = con.execute(
        "SELECT DISTINCT left(raw, 3) FROM _c_obs "
        "WHERE kind = 'phone' AND regexp_full_match(raw, '[0-9]+')"
    ).fetchall()
    prefixes = [str(p)[:n] for (p,) in leading for n in (1, 2, 3)]
    codes, regions, lengths = _calling_codes(prefixes)
    # list parameters, not a pyarrow table: pyarrow's first use in a process takes 0.2 s
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _calling_codes AS SELECT unnest($codes::VARCHAR[]) AS "
        "calling_code, unnest($regions::VARCHAR[]) AS region, unnest($lengths::INTEGER[][]) AS lengths",
        {"codes": codes, "regions": regions, "lengths": lengths},
    )
    con.execute(sql_text("ingest/phone_digits"))
    others = con.execute(
        "SELECT DISTINCT raw FROM _c_obs WHERE kind = 'phone' AND NOT regexp_full_match(raw, '[0-9]+')"
    ).fetchall()
    if others:
        parsed = [(raw, *_normalise_other(raw)) for (raw,) in others]
        con.execute(
            "INSERT INTO _phone_norm SELECT unnest($raw::VARCHAR[]), unnest($e164::VARCHAR[]), "
            "unnest($region::VARCHAR[])",
            {"raw": [p[0] for p in parsed], "e164": [p[1] for p in parsed],
             "region": [p[2] for p in parsed]},
        )


def resolve(con: duckdb.DuckDBPyConnection, unknown_identity: str) -> None:
    """Resolve every observation of ``_c_obs`` to a contact.

    Leaves ``_obs_contact(obs_id, contact_id)`` (observations without a contact are absent),
    ``_new_contacts`` and ``_new_identities`` (rows to add to the canonical tables), and
    ``_obs_unresolved(obs_id, reason)``.
    """
    normalise_phones(con)
    con.execute(sql_text("ingest/identity_ids"))
    _components(con)
    con.execute(sql_text("ingest/identity_components"), {"create": unknown_identity == "create"})
    con.execute(sql_text("ingest/identity_outputs"))


def _components(con: duckdb.DuckDBPyConnection) -> None:
    """Merge identifiers seen together into components (``_ident_comp(ident, comp)``)."""
    # min <> max (cheap) finds the observations with several identifiers before any list
    # is built; most observations carry one.
    groups = con.execute(
        "SELECT list(DISTINCT ident ORDER BY ident) FROM _ids WHERE obs_id IN "
        "(SELECT obs_id FROM _ids GROUP BY obs_id HAVING min(ident) <> max(ident)) "
        "GROUP BY obs_id"
    ).fetchall()
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        root = item
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(item, item) != root:
            parent[item], item = root, parent[item]
        return root

    for (members,) in groups:
        first = find(members[0])
        for member in members[1:]:
            other = find(member)
            if other != first:
                low, high = sorted((first, other))
                parent[high] = low
                first = low
    items = list(parent)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ident_comp AS "
        "SELECT unnest($ident::VARCHAR[]) AS ident, unnest($comp::VARCHAR[]) AS comp",
        {"ident": items, "comp": [find(item) for item in items]},
    )
