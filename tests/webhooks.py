"""Webhook bodies built in tests: the envelope around the items a test cares about."""

from __future__ import annotations


def whatsapp_body(value: dict[str, object], *, display: str = "15550783881") -> dict[str, object]:
    """A WhatsApp Cloud API body of one entry with one ``messages`` change: ``value`` (its
    statuses, messages, contacts…) beside the metadata of the business number ``display``."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": "9"},
            **value,
        }}]}],
    }


def meta_body(
    events: list[dict[str, object]], *, platform: str = "messenger", page: str = "1111"
) -> dict[str, object]:
    """A Messenger (``object: page``) or Instagram (``object: instagram``) body of one entry
    of the page or account ``page`` holding the messaging ``events``."""
    return {
        "object": "instagram" if platform == "instagram" else "page",
        "entry": [{"id": page, "messaging": events}],
    }


def meta_echo(mid: str, ms: int, *, user: str, page: str = "1111") -> dict[str, object]:
    """The echo of a message ``mid`` the page sent to ``user`` at ``ms`` (epoch milliseconds)."""
    return {"sender": {"id": page}, "recipient": {"id": user}, "timestamp": ms,
            "message": {"mid": mid, "is_echo": True, "text": "hello"}}


def meta_receipt(
    kind: str, ms: int, *, user: str, page: str = "1111",
    mids: list[str] | None = None, mid: str | None = None, watermark: int | None = None,
) -> dict[str, object]:
    """A ``delivery`` (its ``mids``) or ``read`` (its ``mid``, Instagram) receipt from
    ``user`` reported at ``ms``, with a ``watermark`` when given."""
    receipt: dict[str, object] = {}
    if mids is not None:
        receipt["mids"] = mids
    if mid is not None:
        receipt["mid"] = mid
    if watermark is not None:
        receipt["watermark"] = watermark
    return {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": ms, kind: receipt}
