"""The calling code → market rule, against phonenumbers' own answer for every region."""

from __future__ import annotations

import phonenumbers
import pytest

from threadlift.core.markets import calling_code_markets, main_region


def test_calling_codes_map_to_markets() -> None:
    codes, regions = calling_code_markets()
    lookup = dict(zip(codes, regions, strict=True))
    assert lookup["55"] == "BR"
    assert lookup["91"] == "IN"
    assert lookup["1"] == "US"
    assert lookup["44"] == "GB"
    # E.164 calling codes are prefix-free: no code is a prefix of another
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_region_example_number_gets_its_calling_codes_main_region(region: str) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        pytest.skip(f"phonenumbers has no example number for {region}")
    code = example.country_code
    assert main_region(code) == phonenumbers.region_code_for_country_code(code)


def test_non_geographic_codes_have_no_market() -> None:
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        assert main_region(code) is None
    assert main_region(999) is None
