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
