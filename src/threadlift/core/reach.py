"""Sender reach: messaging-limit tiers and whether a planned send fits them (pure).

WhatsApp caps how many unique users a business may deliver to outside a customer-service
window in a moving 24 hours (platforms.md §2.10). Tiers are named by the platform
(``TIER_250``, ``TIER_1K``, ``TIER_2K``, ``TIER_10K``, ``TIER_100K``, ``TIER_UNLIMITED``)
and newer enumerations are kept open: any ``TIER_<n>[K|M]`` is understood.
"""

from __future__ import annotations

import math
import re

_TIER = re.compile(r"^TIER_(\d+)([KM]?)$")


def tier_limit(tier: str | None) -> float:
    """Unique contacts per moving 24 hours allowed by ``tier`` (inf for unlimited, NaN if unknown).

    Examples:
        >>> tier_limit("TIER_1K"), tier_limit("TIER_250"), tier_limit("TIER_UNLIMITED")
        (1000.0, 250.0, inf)
    """
    if tier is None:
        return math.nan
    name = tier.strip().upper()
    if name in ("TIER_UNLIMITED", "UNLIMITED"):
        return math.inf
    match = _TIER.match(name)
    if not match:
        return math.nan
    scale = {"": 1, "K": 1_000, "M": 1_000_000}[match.group(2)]
    return float(int(match.group(1)) * scale)


def send_list_warning(sender_id: str, tier: str | None, planned_contacts: int) -> str | None:
    """A warning when sending to ``planned_contacts`` in one day would exceed the tier."""
    limit = tier_limit(tier)
    if math.isnan(limit) or planned_contacts <= limit:
        return None
    days = math.ceil(planned_contacts / limit)
    return (
        f"sender {sender_id} is at {tier} ({limit:,.0f} unique contacts per moving 24 hours "
        f"outside a customer-service window); the send list has {planned_contacts:,} contacts: "
        f"spread the sends over at least {days} days or they will stop at the limit"
    )
