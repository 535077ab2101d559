"""Alerts and warnings: what makes a report untrustworthy, the experiment harmful, or its
numbers incomplete.

An :class:`Alert` (a guardrail breach, a sample-ratio mismatch) fails a scheduled report
with exit code 3. A warning is something a reader must see before acting on the lift (a
sender above its messaging limit, a paused template, a quality drop, an incomplete
window, an arm without units); ``report.json`` lists warnings as text in ``warnings`` and,
in the same order, as :class:`WarningDetail` in ``warning_details`` so a tool can tell
them apart by ``kind``. ``threadlift report --fail-on warning`` exits 3 on any warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from threadlift.analysis.quality import (
    SenderQualityRow,
    TemplateQuality,
    TemplateQualityUnavailable,
)


@dataclass(frozen=True)
class Alert:
    """Something that makes the report untrustworthy or the experiment harmful (exit code 3)."""

    kind: str
    """``srm`` (sample-ratio mismatch), ``guardrail`` (a breached guardrail),
    ``exposure_mismatch`` (exposures that do not match the assignment) or ``contamination``
    (a global holdout's held-out contacts were sent programme messages)."""
    message: str


WarningKind = Literal[
    "incomplete_window",
    "no_units",
    "no_data",
    "messaging_limit",
    "template_status",
    "quality_drop",
    "cost",
    "quarantine",
    "exposure",
    "programme_drift",
    "programme_attrition",
]
"""What a warning is about (``warning_details[].kind``)."""

WARNING_KINDS: tuple[str, ...] = get_args(WarningKind)


@dataclass(frozen=True)
class WarningDetail:
    """One warning of the analysis, with what it is about."""

    kind: WarningKind
    """``incomplete_window`` (as_of before the outcome window ends), ``no_units`` (an arm, or
    the whole experiment, has no assigned units), ``no_data`` (a metric, guardrail or
    stratum could not be estimated: empty arm, zero variance …), ``messaging_limit`` (a
    sender reached more unique contacts than its tier allows), ``template_status`` (a
    template paused, disabled or flagged inside the window), ``quality_drop`` (a sender's
    or template's quality rating fell inside the window), ``cost`` (messages without a
    price, a pricing rule not applied), ``quarantine`` (assignment rows rejected when
    loaded), ``exposure`` (triggered units unbalanced across arms), ``programme_drift`` (a
    global holdout's groups no longer balanced on the pre-period metric) or
    ``programme_attrition`` (too many of a global holdout's units, or of one group more than
    the other, no longer eligible)."""
    message: str
    """The warning, as in ``warnings``."""


_RATING_RANK = {"GREEN": 3, "HIGH": 3, "YELLOW": 2, "MEDIUM": 2, "RED": 1, "LOW": 1}
"""Quality ratings from best to worst (WhatsApp sends GREEN/YELLOW/RED or HIGH/MEDIUM/LOW)."""


def _rank(rating: str | None) -> int | None:
    return _RATING_RANK.get((rating or "").upper())


def window_warning(
    assigned_at: datetime, as_of: datetime, window_days: int
) -> str | None:
    """The warning when ``as_of`` comes before the outcome window of the first units ends.

    Examples:
        >>> window_warning(datetime(2026, 9, 28, 9), datetime(2026, 9, 30, 9), 7)
        'incomplete window: 2 of 7 days observed (as of 2026-09-30 09:00 UTC; the window of the first units ends 2026-10-05 09:00 UTC); the lift may still change'
        >>> window_warning(datetime(2026, 9, 28, 9), datetime(2026, 10, 6, 9), 7) is None
        True
    """
    observed = (as_of - assigned_at).total_seconds() / 86_400
    if observed >= window_days:
        return None
    shown = f"{max(observed, 0.0):.1f}".removesuffix(".0")
    ends = assigned_at + timedelta(days=window_days)
    return (
        f"incomplete window: {shown} of {window_days} days observed (as of "
        f"{as_of:%Y-%m-%d %H:%M} UTC; the window of the first units ends {ends:%Y-%m-%d %H:%M} UTC); "
        "the lift may still change"
    )


def quality_drop_warnings(
    senders: Sequence[SenderQualityRow],
    templates: TemplateQuality | TemplateQualityUnavailable | None,
    start: datetime,
    end: datetime,
) -> list[str]:
    """A warning per sender whose quality rating fell between ``start`` and ``end``, and per
    template whose quality fell inside the experiment window.

    The sender's rating before ``start`` (its last known one) is the reference, so a sender
    that was YELLOW already and stayed YELLOW is not warned about; each fall is named with
    its time.
    """
    warnings: list[str] = []
    previous: dict[str, str] = {}
    falls: dict[str, list[str]] = {}
    for row in sorted(senders, key=lambda r: (r.sender_id, r.ts)):
        rating = (row.quality_rating or "").upper()
        if _rank(rating) is None:
            continue
        before = previous.get(row.sender_id)
        previous[row.sender_id] = rating
        if before is None or not start <= row.ts <= end:
            continue
        if (_rank(rating) or 0) < (_rank(before) or 0):
            falls.setdefault(row.sender_id, []).append(
                f"{before}→{rating} at {row.ts:%Y-%m-%d %H:%M} UTC"
            )
    for sender, phrases in falls.items():
        warnings.append(
            f"sender {sender} quality rating dropped {', then '.join(phrases)}; a lower rating "
            "can lower its messaging limit"
        )
    if isinstance(templates, TemplateQuality):
        for template in templates.templates:
            drops = [
                change
                for change in template.quality_changes
                if "→" in change
                and (_rank(change.split("→", 1)[1]) or 0) < (_rank(change.split("→", 1)[0]) or 0)
            ]
            if not drops:
                continue
            name = template.template + (f" ({template.language})" if template.language else "")
            warnings.append(
                f"template {name} quality dropped inside the window: {', '.join(drops)} "
                f"({template.quality_at_end or 'unknown'} at its end); a RED template may be "
                "paused by the platform"
            )
    return warnings


class WarningLog:
    """The analysis's warnings in the order they arise, each with its :data:`WarningKind`.

    A section module appends plain strings to a list (``warnings: list[str]``); the
    analysis hands it ``log.to(kind)`` so the section needs to know nothing of kinds.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[WarningKind, list[str]]] = []

    def to(self, kind: WarningKind) -> list[str]:
        """A new list whose entries are warnings of ``kind`` (appended in call order)."""
        part: list[str] = []
        self._parts.append((kind, part))
        return part

    def extend(self, kind: WarningKind, messages: Sequence[str]) -> None:
        """Add ``messages``, all of ``kind``."""
        self.to(kind).extend(messages)

    def details(self) -> list[WarningDetail]:
        """Every warning with its kind, in the order they were added."""
        return [WarningDetail(kind, message) for kind, part in self._parts for message in part]

    def messages(self) -> list[str]:
        """Every warning's text, in the same order (``report.json`` ``warnings``)."""
        return [detail.message for detail in self.details()]
