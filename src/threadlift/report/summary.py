"""The report's summary: its verdict as text, as a notebook display and as JSON.

:func:`summarize` turns a report dict into a :class:`Summary` built from the same
:func:`~threadlift.report.tables.verdict` as the headline of ``report.html`` and
``report.md``: its level (``ok`` < ``warning`` < ``alert``), the primary lift, the cost
per incremental conversion with its interval, every alert and warning. ``Analysis.summary()``
returns it; ``threadlift report`` prints its warnings on stderr and, with ``--format json``,
:meth:`Summary.to_dict` on stdout.

Examples:
    >>> window = "incomplete window: 2 of 7 days observed"
    >>> summary = summarize({"experiment_id": "winback", "as_of": "2026-11-09T09:00:00",
    ...                      "warnings": [window],
    ...                      "warning_details": [{"kind": "incomplete_window", "message": window}]})
    >>> summary.level
    'warning'
    >>> print(summary.as_text().splitlines()[1])
    WARNING: read the 1 warning below before acting on this result: incomplete window (2 of 7 days observed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from threadlift.report.format import Report, Row, as_float, short_time, text_of
from threadlift.report.tables import (
    Concern,
    Level,
    Page,
    Verdict,
    context,
    cost_rows,
    primary_rows,
    verdict,
)

FailOn = Literal["alert", "warning"]
"""The lowest level that fails a report run (exit code 3)."""

FAIL_ON: tuple[FailOn, ...] = ("alert", "warning")

_LIFT_KEYS = (
    "metric",
    "type",
    "arm",
    "control_arm",
    "control",
    "treatment",
    "effect_size",
    "effect_size_ci_lower",
    "effect_size_ci_upper",
    "rel_effect_size",
    "rel_effect_size_ci_lower",
    "rel_effect_size_ci_upper",
    "pvalue",
    "error",
)

_COST_KEYS = (
    "arm",
    "currency",
    "arm_total_cost",
    "incremental_conversions",
    "cost_per_incremental_conversion",
    "cost_per_incremental_conversion_ci_lower",
    "cost_per_incremental_conversion_ci_upper",
    "return_on_spend",
)


def fails(level: Level, fail_on: FailOn) -> bool:
    """Whether a report of ``level`` fails a run with ``--fail-on fail_on``.

    Examples:
        >>> fails("warning", "alert"), fails("warning", "warning"), fails("alert", "alert")
        (False, True, True)
    """
    return level == "alert" or (level == "warning" and fail_on == "warning")


@dataclass(frozen=True)
class Summary:
    """What a report says, in a few lines: its verdict and the key numbers behind it.

    ``str(summary)`` is :meth:`as_text`; in a notebook it displays as the report's verdict
    box (:meth:`_repr_html_`).

    Attributes:
        experiment_id: the experiment.
        as_of: the report's as-of time (as ``report.json`` writes it).
        status: ``report.json``'s ``status`` (``ok`` or ``alert``).
        verdict: the verdict shown at the top of every report.
        primary: the primary metric's rows (``report.json`` ``metrics``), one per arm.
        costs: one ``cost`` row per arm and currency.
    """

    experiment_id: str
    as_of: str
    status: str
    verdict: Verdict
    primary: tuple[Row, ...]
    costs: tuple[Row, ...]
    _page: Page

    @property
    def level(self) -> Level:
        """``ok``, ``warning`` or ``alert``: the worst problem of the report."""
        return self.verdict.level

    @property
    def alerts(self) -> tuple[Concern, ...]:
        """The alerts, with their kinds."""
        return tuple(c for c in self.verdict.concerns if c.level == "alert")

    @property
    def warnings(self) -> tuple[Concern, ...]:
        """The warnings, with their kinds."""
        return tuple(c for c in self.verdict.concerns if c.level == "warning")

    def fails(self, fail_on: FailOn = "alert") -> bool:
        """Whether this report fails a run with ``--fail-on fail_on`` (exit code 3)."""
        return fails(self.level, fail_on)

    def one_line(self) -> str:
        """The experiment, the level and the primary lift, on one line."""
        lift = self.verdict.findings[0].split(". ")[0] if self.verdict.findings else ""
        alerts, warnings = len(self.alerts), len(self.warnings)
        parts = [f"{alerts} alert{'s' if alerts != 1 else ''}"] if alerts else []
        parts += [f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else []
        counted = f" ({', '.join(parts)})" if parts else ""
        return (
            f"{self.experiment_id} as of {short_time(self.as_of)} UTC: "
            f"{self.level.upper()}{counted}; {lift}"
        )

    def as_text(self) -> str:
        """The verdict as plain text: the experiment, the headline, the key figures, each
        alert and warning, and the checks."""
        verdict = self.verdict
        lines = [f"{self.experiment_id} as of {short_time(self.as_of)} UTC", verdict.headline]
        lines += [f"  {line}" for line in (*verdict.findings, *verdict.costs)]
        if verdict.alerts:
            lines += ["Alerts:", *(f"  - {alert}" for alert in verdict.alerts)]
        if verdict.warnings:
            lines += ["Warnings:", *(f"  - {warning}" for warning in verdict.warnings)]
        lines += ["Checks:", *(f"  - {check}" for check in verdict.checks)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        """The notebook display: the report's verdict box."""
        from threadlift.report.html import summary_html

        return summary_html(self._page)

    def stderr_lines(self, prefix: str = "") -> list[tuple[str, str]]:
        """Each alert (``ALERT [kind] message``) and warning (``Warning: message``) as a
        line for stderr with its colour (red, yellow), after ``prefix``."""
        lines = [(f"{prefix}ALERT [{c.kind}] {c.message}", "red") for c in self.alerts]
        lines += [(f"{prefix}Warning: {c.message}", "yellow") for c in self.warnings]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON data (``threadlift report --format json``)."""
        return {
            "experiment_id": self.experiment_id,
            "as_of": self.as_of,
            "status": self.status,
            "level": self.level,
            "headline": self.verdict.headline,
            "primary_lift": [_pick(row, _LIFT_KEYS) for row in self.primary],
            "cost_per_incremental_conversion": [_pick(row, _COST_KEYS) for row in self.costs],
            "alerts": [{"kind": c.kind, "message": c.message} for c in self.alerts],
            "warnings": [{"kind": c.kind, "message": c.message} for c in self.warnings],
            "checks": list(self.verdict.checks),
        }


def _pick(row: Row, keys: tuple[str, ...]) -> dict[str, Any]:
    """The ``keys`` of ``row``; numbers that are not finite become None (valid JSON)."""
    picked: dict[str, Any] = {}
    for key in keys:
        value = row.get(key)
        if isinstance(value, float):
            value = as_float(value)
        picked[key] = value
    return picked


def summarize(report: Report) -> Summary:
    """The :class:`Summary` of a report dict (``report.json``)."""
    page = Page(context(report), verdict(report))
    return Summary(
        experiment_id=text_of(report.get("experiment_id")),
        as_of=text_of(report.get("as_of")),
        status=text_of(report.get("status")),
        verdict=page.verdict,
        primary=tuple(primary_rows(report)),
        costs=tuple(cost_rows(report)),
        _page=page,
    )
