"""Quality: the sender's quality rating and messaging-limit tier over time, and the status and
quality of the experiment's templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from threadlift.engines.base import Engine
from threadlift.experiment import Experiment

TEMPLATE_PAUSE_EVENTS = ("PAUSED",)

TEMPLATE_ALARM_EVENTS = ("PAUSED", "DISABLED", "FLAGGED", "PENDING_DELETION", "LIMIT_EXCEEDED")
"""Template status events that stop or threaten sends (platforms.md §2.4)."""


@dataclass(frozen=True)
class SenderQualityRow:
    """One quality-rating or messaging-limit event of a sender the experiment used."""

    sender_id: str
    ts: datetime
    quality_rating: str | None
    """``GREEN``, ``YELLOW``, ``RED`` … as the platform sent it."""
    messaging_limit_tier: str | None
    event: str | None
    """The platform's event name (``QUALITY_UPDATE``, ``UPGRADE`` …)."""


@dataclass(frozen=True)
class TemplateEvent:
    """One status, quality or category event of a template the experiment sent."""

    template: str
    """The template as the experiment's messages name it."""
    template_id: str | None
    language: str | None
    kind: Literal["status", "quality", "category"]
    event: str | None
    """The new status, quality rating or category (upper case)."""
    previous: str | None
    """The previous quality rating or category, when the platform sent it."""
    title: str | None
    """The platform's title of the event (e.g. ``FIRST_PAUSE``)."""
    reason: str | None
    correct_category: str | None
    ts: datetime
    phase: Literal["before", "during"]
    """``before``: the last event of its kind before the window (the starting state);
    ``during``: inside the window."""


@dataclass(frozen=True)
class TemplatePause:
    """An interval in which a template was paused."""

    start: datetime
    end: datetime | None
    """When the template was unpaused (``None``: not yet)."""
    title: str | None
    ongoing_at_window_end: bool
    hours: float
    """Length of the pause, up to the window's end when it is ongoing."""


@dataclass(frozen=True)
class TemplateSummary:
    """One template's (and language's) states at the window's start and end, and its changes."""

    template: str
    language: str | None
    template_id: str | None
    messages: int
    """Messages of the experiment that used the template."""
    status_at_start: str | None
    status_at_end: str | None
    quality_at_start: str | None
    quality_at_end: str | None
    category_at_start: str | None
    category_at_end: str | None
    changes: int
    """Events inside the window."""
    alarms: list[str]
    """Status events inside the window that stop or threaten sends (:data:`TEMPLATE_ALARM_EVENTS`)."""
    quality_changes: list[str]
    """Quality transitions inside the window (``GREEN→YELLOW``)."""
    pauses: list[TemplatePause]


@dataclass(frozen=True)
class TemplateQuality:
    """Status, quality and category history of the templates the experiment sent."""

    available: Literal[True]
    window_start: datetime
    """The first unit's assignment."""
    window_end: datetime
    """The last unit's window end (or ``as_of``)."""
    templates: list[TemplateSummary]
    events: list[TemplateEvent]
    note: str | None
    """Why there are no events (``None`` when there are)."""


@dataclass(frozen=True)
class TemplateQualityUnavailable:
    """Template history on an engine whose data hold no template webhooks."""

    available: Literal[False]
    note: str
    """Why the history is not available."""
    templates: list[TemplateSummary]
    """Always empty."""
    events: list[TemplateEvent]
    """Always empty."""


def template_quality(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    ingest_tables: bool,
    warnings: list[str],
) -> TemplateQuality | TemplateQualityUnavailable:
    """Status, quality and category history of the templates the experiment sent.

    Events come from the WhatsApp template webhooks that ingest keeps in
    ``platform_events``. The window runs from the first assignment to the last unit's
    window end; per template and kind the last event before it gives the starting state,
    every event inside it is listed, later events are left out.
    """
    if not ingest_tables:
        return TemplateQualityUnavailable(
            available=False,
            note=f"not available on the {con.name} engine: template events come from "
            "WhatsApp webhook ingest (platform_events), which its lake does not hold",
            templates=[],
            events=[],
        )
    default_end = min(experiment.assigned_at + timedelta(days=experiment.window_days), as_of)
    rows = template_events(con, experiment, as_of)
    window_start = rows[0]["window_start"] if rows else experiment.assigned_at
    window_end = rows[0]["window_end"] if rows else default_end
    event_keys = (
        "template", "template_id", "language", "kind", "event", "previous", "title", "reason",
        "correct_category", "ts", "phase",
    )
    events: list[TemplateEvent] = []
    templates: list[TemplateSummary] = []
    groups: dict[tuple[str, str | None], list[TemplateEvent]] = {}
    messages: dict[str, int] = {}
    for row in rows:
        messages[row["template"]] = int(row["messages"])
        key = (row["template"], row["language"])
        groups.setdefault(key, [])
        if row["kind"] is not None:
            event = TemplateEvent(**{k: row[k] for k in event_keys})
            events.append(event)
            groups[key].append(event)
    for (template, language), mine in groups.items():
        summary = _template_summary(template, language, messages[template], mine, window_end)
        templates.append(summary)
        for pause in summary.pauses:
            if pause.end is None or pause.end >= window_start:
                warnings.append(
                    f"template {template}"
                    + (f" ({language})" if language else "")
                    + f" was paused from {pause.start:%Y-%m-%d %H:%M} UTC"
                    + (f" ({pause.title})" if pause.title else "")
                    + (
                        f" to {pause.end:%Y-%m-%d %H:%M} UTC"
                        if pause.end is not None
                        else " to the end of the experiment window"
                    )
                    + "; the platform rejects sends of a paused template"
                )
        for alarm in ("DISABLED", "FLAGGED"):
            if alarm in summary.alarms:
                warnings.append(
                    f"template {template} was {alarm.lower()} during the experiment window"
                )
    return TemplateQuality(
        available=True,
        window_start=window_start,
        window_end=window_end,
        templates=templates,
        events=events,
        note=None if events else "no status, quality or category events were ingested "
        "for the templates this experiment sent",
    )


def _template_summary(
    template: str,
    language: str | None,
    messages: int,
    events: list[TemplateEvent],
    window_end: datetime,
) -> TemplateSummary:
    """States at the window's start and end, transitions inside it, and pause intervals."""

    def states(kind: str) -> tuple[str | None, str | None]:
        mine = [e for e in events if e.kind == kind]
        before = [e for e in mine if e.phase == "before"]
        return (before[-1].event if before else None, mine[-1].event if mine else None)

    status, quality, category = states("status"), states("quality"), states("category")
    during = [e for e in events if e.phase == "during"]
    intervals: list[tuple[datetime, datetime | None, str | None]] = []
    for event in (e for e in events if e.kind == "status"):
        open_pause = intervals[-1] if intervals and intervals[-1][1] is None else None
        if event.event in TEMPLATE_PAUSE_EVENTS:
            if open_pause is None:
                intervals.append((event.ts, None, event.title))
        elif open_pause is not None:
            intervals[-1] = (open_pause[0], event.ts, open_pause[2])
    return TemplateSummary(
        template=template,
        language=language,
        template_id=next((e.template_id for e in events if e.template_id), None),
        messages=messages,
        status_at_start=status[0],
        status_at_end=status[1],
        quality_at_start=quality[0],
        quality_at_end=quality[1],
        category_at_start=category[0],
        category_at_end=category[1],
        changes=len(during),
        alarms=sorted(
            {
                e.event
                for e in during
                if e.kind == "status" and e.event is not None and e.event in TEMPLATE_ALARM_EVENTS
            }
        ),
        quality_changes=[f"{e.previous or '?'}→{e.event}" for e in during if e.kind == "quality"],
        pauses=[
            TemplatePause(
                start=start,
                end=end,
                title=title,
                ongoing_at_window_end=end is None,
                hours=((end or window_end) - start).total_seconds() / 3600,
            )
            for start, end, title in intervals
        ],
    )


def sender_quality(
    con: Engine, experiment: Experiment, as_of: datetime
) -> list[SenderQualityRow]:
    """The quality-rating and messaging-limit history of the experiment's senders."""
    rows = con.run(
        "analysis/quality/sender_quality",
        {
            "experiment_id": experiment.id,
            "sender_id": experiment.sender_id,
            "since": experiment.assigned_at - timedelta(days=7),
            "as_of": as_of,
        },
    ).dicts()
    return [SenderQualityRow(**row) for row in rows]

def template_events(
    engine: Engine, experiment: Experiment, as_of: datetime
) -> list[dict[str, Any]]:
    """Status, quality and category events of the templates the experiment sent.

    One row per event (the last one of each kind before the window, every one inside it),
    or one row with empty event columns for a template without events. Needs ``_units``.
    """
    return engine.run(
        "analysis/quality/template_events",
        {
            "experiment_id": experiment.id,
            "assigned_at": experiment.assigned_at,
            "window_days": experiment.window_days,
            "as_of": as_of,
        },
    ).dicts()
