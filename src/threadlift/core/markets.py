"""A phone number's market: the main region (ISO 3166) of its E.164 country calling code.

One rule for every place that needs a market — the identity a phone number gets at ingest
and the rate card a message is priced with — so one number has one market: the first
region phonenumbers' metadata lists for the calling code (``1`` → ``US``, ``7`` → ``RU``,
``44`` → ``GB``); non-geographic codes (``800``, ``882``, …) have none.

Examples:
    >>> main_region(1), main_region(44), main_region(800)
    ('US', 'GB', None)
"""

from __future__ import annotations

from types import ModuleType

NON_GEOGRAPHIC = "001"
"""phonenumbers' region code for non-geographic calling codes."""


def _phonenumbers() -> ModuleType:
    """phonenumbers, imported on first use: a core report imports this module and never
    asks for a market."""
    import phonenumbers

    return phonenumbers


def main_region(code: int) -> str | None:
    """The market of calling code ``code``, or None for a non-geographic or unknown code."""
    region_codes = _phonenumbers().COUNTRY_CODE_TO_REGION_CODE.get(code)
    main = region_codes[0] if region_codes else None
    return None if main in (None, NON_GEOGRAPHIC) else main


def calling_code_markets() -> tuple[list[str], list[str]]:
    """Every geographic calling code and its market, as parallel lists for a SQL parameter."""
    codes: list[str] = []
    regions: list[str] = []
    for code in sorted(_phonenumbers().COUNTRY_CODE_TO_REGION_CODE):
        region = main_region(code)
        if region is not None:
            codes.append(str(code))
            regions.append(region)
    return codes, regions
