"""Warnings the analysis adds itself: an incomplete window, quality drops inside it, arms
without units; and the log that keeps each warning's kind beside its text."""

from __future__ import annotations

from datetime import datetime, timedelta

from threadlift.analysis.alerts import (
    WarningDetail,
    WarningLog,
    quality_drop_warnings,
    window_warning,
)
from threadlift.analysis.quality import SenderQualityRow, TemplateQuality, TemplateSummary
from threadlift.analysis.units import empty_arm_warnings
from threadlift.experiment import parse_experiment

START = datetime(2026, 9, 28, 9)


def test_window_warning_counts_the_days_observed() -> None:
    text = window_warning(START, START + timedelta(days=2), 7)
    assert text is not None
    assert text.startswith("incomplete window: 2 of 7 days observed (as of 2026-09-30 09:00 UTC;")
    assert "ends 2026-10-05 09:00 UTC" in text
    half = window_warning(START, START + timedelta(days=3, hours=12), 7)
    assert half is not None
    assert "3.5 of 7 days observed" in half
    assert window_warning(START, START + timedelta(days=7), 7) is None
    assert window_warning(START, START + timedelta(days=30), 7) is None


def _sender(ts: datetime, rating: str) -> SenderQualityRow:
    return SenderQualityRow("S1", ts, rating, "TIER_10K", "QUALITY_UPDATE")


def test_a_sender_quality_drop_inside_the_window_is_a_warning() -> None:
    rows = [
        _sender(START - timedelta(days=30), "GREEN"),
        _sender(START + timedelta(days=2, hours=4), "YELLOW"),
        _sender(START + timedelta(days=3), "RED"),
        _sender(START + timedelta(days=4), "GREEN"),  # a recovery is no warning
    ]
    (warning,) = quality_drop_warnings(rows, None, START, START + timedelta(days=8))
    assert warning.startswith(
        "sender S1 quality rating dropped GREEN→YELLOW at 2026-09-30 13:00 UTC, then "
        "YELLOW→RED at 2026-10-01 09:00 UTC"
    )


def test_a_drop_before_the_window_or_a_steady_rating_is_not() -> None:
    rows = [
        _sender(START - timedelta(days=30), "GREEN"),
        _sender(START - timedelta(days=1), "YELLOW"),  # before the window
        _sender(START + timedelta(days=2), "YELLOW"),  # unchanged
    ]
    assert quality_drop_warnings(rows, None, START, START + timedelta(days=8)) == []


def _template(name: str, changes: list[str], end: str) -> TemplateSummary:
    return TemplateSummary(
        template=name, language="en", template_id="1", messages=10,
        status_at_start="APPROVED", status_at_end="APPROVED", quality_at_start="GREEN",
        quality_at_end=end, category_at_start=None, category_at_end=None,
        changes=len(changes), alarms=[], quality_changes=changes, pauses=[],
    )


def test_a_template_quality_drop_is_a_warning_a_rise_is_not() -> None:
    section = TemplateQuality(
        available=True, window_start=START, window_end=START + timedelta(days=7),
        templates=[
            _template("reminder", ["GREEN→YELLOW", "YELLOW→RED"], "RED"),
            _template("offer", ["YELLOW→GREEN"], "GREEN"),
            _template("plain", [], "GREEN"),
        ],
        events=[], note=None,
    )
    (warning,) = quality_drop_warnings([], section, START, START + timedelta(days=8))
    assert warning.startswith(
        "template reminder (en) quality dropped inside the window: GREEN→YELLOW, YELLOW→RED "
        "(RED at its end)"
    )


def test_the_log_keeps_kinds_and_order() -> None:
    log = WarningLog()
    first = log.to("messaging_limit")
    log.extend("incomplete_window", ["b"])
    first.append("a")  # a section's list keeps its place, whenever it is filled
    log.to("no_data")
    assert log.details() == [
        WarningDetail("messaging_limit", "a"),
        WarningDetail("incomplete_window", "b"),
    ]
    assert log.messages() == ["a", "b"]


EXPERIMENT = """
id = "x"
channel = "whatsapp"
assignment = "external"
assigned_at = 2026-03-02T08:00:00Z
window_days = 7
[[arms]]
name = "holdout"
weight = 10
holdout = true
[[arms]]
name = "a"
weight = 45
[[arms]]
name = "b"
weight = 45
"""


def test_no_units_for_the_experiment_or_for_one_arm() -> None:
    experiment = parse_experiment(EXPERIMENT)
    (nobody,) = empty_arm_warnings(experiment, {"holdout": 0, "a": 0, "b": 0})
    assert nobody.startswith("no units: nobody is assigned to experiment x yet")
    assert "threadlift assign" in nobody
    (one,) = empty_arm_warnings(experiment, {"holdout": 10, "a": 40, "b": 0})
    assert one.startswith("no units in arm b:")
    assert empty_arm_warnings(experiment, {"holdout": 10, "a": 40, "b": 50}) == []
