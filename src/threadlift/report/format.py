"""Number and text formatting shared by every report output (JSON aside).

The Markdown report, the HTML page, the notebook display and the charts format numbers
through these helpers only, so a number reads the same, digit for digit, everywhere.

Conventions:

- a missing or non-finite number (``None``, NaN, ±inf) is shown as ``—``;
- counts: integers with thousands separators (``12,345``);
- values and absolute effects: at most four significant digits, trailing zeros
  dropped, never in exponent notation (``0.05234``, ``+0.0032``, ``12.35``);
- relative effects: percent with one decimal and a sign (``+12.3%``);
- shares: percent with two decimals (``10.03%``); funnel rates with one;
- p-values: four decimals, ``<0.0001`` below that;
- money: two decimals and the currency code (``1,234.50 USD``).

Examples:
    >>> fmt_number(0.0123456, signed=True)
    '+0.01235'
    >>> fmt_number(0.0032, signed=True)
    '+0.0032'
    >>> fmt_percent(0.1234, signed=True)
    '+12.3%'
    >>> fmt_pvalue(0.00001)
    '<0.0001'
    >>> fmt_number(None)
    '—'
    >>> with_interval("+0.0121", fmt_interval(0.00712, 0.01708, fmt_effect))
    '+0.0121 [+0.00712, +0.01708]'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Report = Mapping[str, Any]
Row = Mapping[str, Any]

DASH = "—"
SIGNIFICANT_DIGITS = 4
MAX_DECIMALS = 6
PVALUE_FLOOR = 0.0001


def as_float(value: object) -> float | None:
    """The value as a finite float, or None when it is missing, not a number or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _strip_negative_zero(text: str) -> str:
    """``-0.000`` → ``0.000``: a rounded zero carries no sign."""
    if text[:1] in "+-" and float(text.replace(",", "")) == 0:
        return text[1:]
    return text


def _strip_trailing_zeros(text: str) -> str:
    """``0.003200`` → ``0.0032``, ``10.00`` → ``10``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_number(value: object, *, signed: bool = False) -> str:
    """Four significant digits, thousands separators, no exponent; ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    decimals = max(0, min(MAX_DECIMALS, SIGNIFICANT_DIGITS - 1 - magnitude))
    sign = "+" if signed else ""
    return _strip_negative_zero(_strip_trailing_zeros(f"{number:{sign},.{decimals}f}"))


def fmt_count(value: object) -> str:
    """An integer count with thousands separators; ``—`` when missing."""
    number = as_float(value)
    return DASH if number is None else f"{round(number):,}"


def fmt_percent(value: object, *, decimals: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage (``0.1234`` → ``12.3%``); ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    sign = "+" if signed else ""
    return _strip_negative_zero(f"{number * 100:{sign},.{decimals}f}") + "%"


def fmt_share(value: object) -> str:
    """A share of units with two decimals (``0.1003`` → ``10.03%``)."""
    return fmt_percent(value, decimals=2)


def fmt_rel(value: object) -> str:
    """A relative effect with a sign and one decimal (``0.1234`` → ``+12.3%``)."""
    return fmt_percent(value, decimals=1, signed=True)


def fmt_effect(value: object) -> str:
    """An absolute effect with a sign and four significant digits."""
    return fmt_number(value, signed=True)


def fmt_pvalue(value: object) -> str:
    """A p-value with four decimals, ``<0.0001`` below that; ``—`` when missing."""
    number = as_float(value)
    if number is None:
        return DASH
    if number < PVALUE_FLOOR:
        return f"<{PVALUE_FLOOR:.4f}"
    return f"{number:.4f}"


def fmt_smd(value: object) -> str:
    """A standardised mean difference with a sign and three decimals (``+0.012``)."""
    number = as_float(value)
    return DASH if number is None else _strip_negative_zero(f"{number:+.3f}")


def fmt_money(value: object, currency: object = "") -> str:
    """Money with two decimals, thousands separators and the currency code."""
    number = as_float(value)
    if number is None:
        return DASH
    code = "" if currency is None else str(currency)
    return f"{number:,.2f} {code}".strip()


def money_formatter(currency: object) -> Callable[[object], str]:
    """A one-argument formatter of amounts in ``currency``."""
    return lambda value: fmt_money(value, currency)


def fmt_interval(lower: object, upper: object, fmt: Callable[[object], str]) -> str:
    """``[lower, upper]`` formatted with ``fmt``; ``—`` when both ends are missing."""
    if as_float(lower) is None and as_float(upper) is None:
        return DASH
    return f"[{fmt(lower)}, {fmt(upper)}]"


def effect_interval(row: Row) -> str:
    """The interval of a comparison row's ``effect_size``, formatted like the effect."""
    return fmt_interval(row.get("effect_size_ci_lower"), row.get("effect_size_ci_upper"), fmt_effect)


def rel_effect_interval(row: Row) -> str:
    """The interval of a comparison row's ``rel_effect_size``, formatted like it."""
    return fmt_interval(
        row.get("rel_effect_size_ci_lower"), row.get("rel_effect_size_ci_upper"), fmt_rel
    )


def p_clause(value: object) -> str:
    """The p-value as it reads after "p": ``= 0.0312`` or ``<0.0001``."""
    text = fmt_pvalue(value)
    return text if text.startswith("<") else f"= {text}"


def text_of(value: object) -> str:
    """Any value as display text; ``—`` for None."""
    return DASH if value is None else str(value)


def with_interval(value: str, interval: str) -> str:
    """A formatted value followed by its interval, or the value alone when there is none."""
    return value if interval == DASH else f"{value} {interval}"


def short_time(value: object) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC); other text unchanged."""
    text = text_of(value)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", text)
    return f"{match.group(1)} {match.group(2)}" if match else text
