"""Tests of the shared number and text formatting (threadlift.report.format)."""

from __future__ import annotations

import doctest

import pytest

from report_samples import parse_number
from threadlift.report import format as report_format
from threadlift.report import markdown, tables
from threadlift.report.format import (
    DASH,
    fmt_count,
    fmt_effect,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    fmt_rel,
    fmt_smd,
    p_clause,
    short_time,
    text_of,
    with_interval,
)


def test_formatting_examples() -> None:
    assert fmt_number(0.0123456, signed=True) == "+0.01235"
    assert fmt_number(1234.5678) == "1,235"
    assert fmt_number(-0.0000001, signed=True) == "0"
    assert fmt_number(10.0) == "10"
    assert fmt_effect(0.0032) == "+0.0032"
    assert fmt_effect(-0.00071) == "-0.00071"
    assert fmt_rel(0.2312) == "+23.1%"
    assert fmt_percent(0.10012, decimals=2) == "10.01%"
    assert fmt_pvalue(0.00002) == "<0.0001"
    assert fmt_pvalue(0.0934) == "0.0934"
    assert fmt_count(44_950) == "44,950"
    assert fmt_money(2617.694, "USD") == "2,617.69 USD"
    assert fmt_smd(-0.0297) == "-0.030"
    assert p_clause(0.0312) == "= 0.0312"
    assert p_clause(1e-9) == "<0.0001"
    assert short_time("2026-11-05T10:05:00Z") == "2026-11-05 10:05"
    assert short_time("not a time") == "not a time"
    assert text_of(None) == DASH
    assert fmt_interval(None, None, fmt_effect) == DASH
    assert with_interval("+0.01", DASH) == "+0.01"
    for missing in (None, float("nan"), float("inf"), "x", True):
        assert fmt_number(missing) == DASH
        assert fmt_rel(missing) == DASH
        assert fmt_pvalue(missing) == DASH
        assert fmt_money(missing, "USD") == DASH


@pytest.mark.parametrize(
    "value", [0.05234, 0.0121, -0.00071, 12.3456, 1234.5678, 0.000123456, -98765.4321]
)
def test_four_significant_digits_read_back(value: float) -> None:
    shown, half_unit = parse_number(fmt_number(value))
    assert abs(shown - value) <= half_unit * (1 + 1e-9)
    assert "e" not in fmt_number(value).lower()


@pytest.mark.parametrize("module", [report_format, tables, markdown])
def test_docstring_examples(module: object) -> None:
    failures, tried = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0
