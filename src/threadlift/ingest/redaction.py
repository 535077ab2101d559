"""The minimal raw store: content no fact needs is redacted from bodies before they are stored.

Message texts, media, captions, locations, shared contact cards, profile names, reactions
and button texts are what people wrote or shared; no canonical row reads them (the
mappers read ids, times, types, statuses, pricing and referral ids). At ingest each good
body is redacted after its content hash is taken (``_checked.body_hash``: the md5 of
the body as received, so a retried delivery is still recognised as a duplicate) and
before the mapper and the raw store read it, so ``ingest`` and ``ingest --rebuild`` map
the same text. ``ingest --keep-content`` stores bodies as received.

WhatsApp, Messenger and Instagram bodies keep their structure: the value at each path of
:data:`REDACTED_PATHS` is replaced by ``""`` (``[]`` marks every element of an array),
so a field's presence, which a mapper may read (Messenger's ``message.text`` makes an
inbound message a ``text``), is kept. Apple records and SMS / e-mail CSV rows are flat:
only the fields of :data:`KEPT_FIELDS` are kept. docs/privacy.md lists both (a test keeps
it in step).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

REDACTED = ""
"""What a redacted value becomes."""

_WA_CONTENT = (
    "text", "image", "video", "audio", "voice", "document", "sticker", "location", "contacts",
    "interactive", "button", "reaction", "order", "edit",
)
_WA_VALUE = "entry[].changes[].value"
_META_EVENT = "entry[].messaging[]"
_META_PATHS = (
    f"{_META_EVENT}.message.text",
    f"{_META_EVENT}.message.nlp",
    f"{_META_EVENT}.message.attachments[].payload",
    f"{_META_EVENT}.message.quick_reply.payload",
    f"{_META_EVENT}.message.reply_to.story",
    f"{_META_EVENT}.postback.title",
    f"{_META_EVENT}.postback.payload",
    f"{_META_EVENT}.reaction.emoji",
    f"{_META_EVENT}.reaction.text",
)

REDACTED_PATHS: dict[str, tuple[str, ...]] = {
    "whatsapp": (
        f"{_WA_VALUE}.contacts[].profile",
        *(f"{_WA_VALUE}.messages[].{kind}" for kind in _WA_CONTENT),
        f"{_WA_VALUE}.messages[].system.body",
        *(f"{_WA_VALUE}.messages[].referral.{field}"
          for field in ("headline", "body", "image_url", "video_url", "thumbnail_url")),
        *(f"{_WA_VALUE}.message_echoes[].{kind}" for kind in _WA_CONTENT),
    ),
    "messenger": _META_PATHS,
    "instagram": _META_PATHS,
}
"""Per platform, the JSON paths whose values are redacted (``[]``: every array element)."""

_SMS_FIELDS = (
    "message_id", "event", "ts", "to", "sender_id", "category", "campaign_id", "experiment_id",
    "arm", "template", "error_code",
)
KEPT_FIELDS: dict[str, tuple[str, ...]] = {
    "apple": (
        "direction", "id", "source_id", "source-id", "destination_id", "destination-id",
        "timestamp", "type", "status", "error_code", "context_message_id", "experiment_id",
        "arm", "campaign_id", "template", "category",
    ),
    "sms": _SMS_FIELDS,
    "email": _SMS_FIELDS,
}
"""Per flat platform, the only fields a stored record keeps."""

_CANDIDATES: dict[str, str] = {
    # status-only WhatsApp bodies (wa IS NOT NULL), most traffic, carry no content
    "whatsapp": "wa IS NULL AND (contains(body, '\"messages\"') OR contains(body, '\"contacts\"') "
                "OR contains(body, '\"message_echoes\"'))",
}


def redact(platform: str, body: object) -> object:
    """``body`` (parsed JSON) without the content of its platform; the input is not changed."""
    if platform in KEPT_FIELDS:
        if not isinstance(body, dict):
            return body
        kept = KEPT_FIELDS[platform]
        return {k: v for k, v in body.items() if k in kept}
    result = body
    for path in REDACTED_PATHS[platform]:
        result = _redact_path(result, path.split("."))
    return result


def _redact_path(node: Any, steps: list[str]) -> Any:
    if not steps or not isinstance(node, dict):
        return node
    step, rest = steps[0], steps[1:]
    key = step.removesuffix("[]")
    if key not in node:
        return node
    value = node[key]
    new: Any
    if step.endswith("[]"):
        if not isinstance(value, list):
            return node
        new = [_redact_path(element, rest) if rest else REDACTED for element in value]
    else:
        new = _redact_path(value, rest) if rest else REDACTED
    if new == value:
        return node
    return {**node, key: new}


def redact_staged(con: duckdb.DuckDBPyConnection, platform: str) -> int:
    """Redact the good bodies in ``_checked`` (their ``body_hash`` stays that of the body as
    received); return how many changed. A body too deeply nested to parse in Python gets a
    reason, so it is quarantined as received instead of stored unredacted."""
    candidates = _CANDIDATES.get(platform, "true")
    return rewrite_checked_bodies(
        con,
        f"SELECT k, body FROM _checked WHERE reason IS NULL AND {candidates}",
        lambda document: redact(platform, document),
        "nested too deeply to redact its content (more than about 900 levels); "
        "webhook bodies nest a few levels, so check what wrote this line",
    )


def rewrite_checked_bodies(
    con: duckdb.DuckDBPyConnection,
    query: str,
    rewrite: Callable[[Any], Any],
    too_deep: str,
) -> int:
    """Parse the bodies ``query`` selects from ``_checked`` (``k, body``), apply ``rewrite``
    to each and store the ones it changed; return how many changed.

    Redaction and pseudonymisation both rewrite staged bodies this way. DuckDB reads any
    depth but Python's parser stops near 1000 levels: such a body cannot be rewritten, so
    it is not stored; it gets the reason ``too_deep`` and goes to quarantine.
    """
    keys: list[int] = []
    bodies: list[str | None] = []
    reasons: list[str | None] = []
    for k, body in con.execute(query).fetchall():
        try:
            document = json.loads(body)
        except RecursionError:
            keys.append(int(k))
            bodies.append(None)
            reasons.append(too_deep)
            continue
        changed = rewrite(document)
        if changed != document:
            keys.append(int(k))
            bodies.append(json.dumps(changed, ensure_ascii=False, separators=(",", ":")))
            reasons.append(None)
    if not keys:
        return 0
    changes = pa.table({"k": pa.array(keys, pa.int64()), "body": pa.array(bodies, pa.string()),
                        "reason": pa.array(reasons, pa.string())})
    con.register("_tl_rewritten", changes)
    try:
        con.execute(
            "UPDATE _checked SET body = coalesce(r.body, _checked.body), reason = r.reason "
            "FROM _tl_rewritten AS r WHERE _checked.k = r.k"
        )
    finally:
        con.unregister("_tl_rewritten")
    return len(keys)
