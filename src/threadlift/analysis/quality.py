"""Quality: the sender's quality rating and messaging-limit tier over time, and the status and
quality of the experiment's templates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from threadlift.engines.base import Engine
from threadlift.experiment import Experiment

TEMPLATE_PAUSE_EVENTS = ("PAUSED",)

TEMPLATE_ALARM_EVENTS = ("PAUSED", "DISABLED", "FLAGGED", "PENDING_DELETION", "LIMIT_EXCEEDED")
"""Template status events that stop or threaten sends (platforms.md §2.4)."""

def template_quality(
    con: Engine,
    experiment: Experiment,
    as_of: datetime,
    ingest_tables: bool,
    warnings: list[str],
) -> dict[str, Any]:
    """Status, quality and category history of the templates the experiment sent.

    Events come from the WhatsApp template webhooks that ingest keeps in
    ``platform_events``. The window runs from the first assignment to the last unit's
    window end; per template and kind the last event before it gives the starting state,
    every event inside it is listed, later events are left out.
    """
    if not ingest_tables:
        return {
            "available": False,
            "note": f"not available on the {con.name} engine: template events come from "
            "WhatsApp webhook ingest (platform_events), which its lake does not hold",
            "templates": [],
            "events": [],
        }
    default_end = min(experiment.assigned_at + timedelta(days=experiment.window_days), as_of)
    rows = template_events(con, experiment, as_of)
    window_start = rows[0]["window_start"] if rows else experiment.assigned_at
    window_end = rows[0]["window_end"] if rows else default_end
    event_keys = (
        "template", "template_id", "language", "kind", "event", "previous", "title", "reason",
        "correct_category", "ts", "phase",
    )
    events = [{k: row[k] for k in event_keys} for row in rows if row["kind"] is not None]
    templates: list[dict[str, Any]] = []
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    messages: dict[str, int] = {}
    for row in rows:
        messages[row["template"]] = int(row["messages"])
        key = (row["template"], row["language"])
        groups.setdefault(key, [])
        if row["kind"] is not None:
            groups[key].append(row)
    for (template, language), mine in groups.items():
        summary = _template_summary(mine, window_end)
        templates.append(
            {
                "template": template,
                "language": language,
                "template_id": next((r["template_id"] for r in mine if r["template_id"]), None),
                "messages": messages[template],
                **summary,
            }
        )
        for pause in summary["pauses"]:
            if pause["end"] is None or pause["end"] >= window_start:
                warnings.append(
                    f"template {template}"
                    + (f" ({language})" if language else "")
                    + f" was paused from {pause['start']:%Y-%m-%d %H:%M} UTC"
                    + (f" ({pause['title']})" if pause["title"] else "")
                    + (
                        f" to {pause['end']:%Y-%m-%d %H:%M} UTC"
                        if pause["end"] is not None
                        else " to the end of the experiment window"
                    )
                    + "; the platform rejects sends of a paused template"
                )
        for event in ("DISABLED", "FLAGGED"):
            if event in summary["alarms"]:
                warnings.append(
                    f"template {template} was {event.lower()} during the experiment window"
                )
    return {
        "available": True,
        "window_start": window_start,
        "window_end": window_end,
        "templates": templates,
        "events": events,
        "note": None if events else "no status, quality or category events were ingested "
        "for the templates this experiment sent",
    }

def _template_summary(events: list[dict[str, Any]], window_end: datetime) -> dict[str, Any]:
    """States at the window's start and end, transitions inside it, and pause intervals."""
    summary: dict[str, Any] = {}
    for kind in ("status", "quality", "category"):
        mine = [e for e in events if e["kind"] == kind]
        before = [e for e in mine if e["phase"] == "before"]
        summary[f"{kind}_at_start"] = before[-1]["event"] if before else None
        summary[f"{kind}_at_end"] = mine[-1]["event"] if mine else None
    during = [e for e in events if e["phase"] == "during"]
    summary["changes"] = len(during)
    summary["alarms"] = sorted(
        {e["event"] for e in during if e["kind"] == "status" and e["event"] in TEMPLATE_ALARM_EVENTS}
    )
    summary["quality_changes"] = [
        f"{e['previous'] or '?'}→{e['event']}" for e in during if e["kind"] == "quality"
    ]
    pauses: list[dict[str, Any]] = []
    for event in (e for e in events if e["kind"] == "status"):
        open_pause = pauses[-1] if pauses and pauses[-1]["end"] is None else None
        if event["event"] in TEMPLATE_PAUSE_EVENTS:
            if open_pause is None:
                pauses.append({"start": event["ts"], "end": None, "title": event["title"]})
        elif open_pause is not None:
            open_pause["end"] = event["ts"]
    for pause in pauses:
        pause["ongoing_at_window_end"] = pause["end"] is None
        pause["hours"] = ((pause["end"] or window_end) - pause["start"]).total_seconds() / 3600
    summary["pauses"] = pauses
    return summary

def sender_quality(con: Engine, experiment: Experiment, as_of: datetime) -> list[dict[str, Any]]:
    return con.run(
        "analysis/quality/sender_quality",
        {
            "experiment_id": experiment.id,
            "sender_id": experiment.sender_id,
            "since": experiment.assigned_at - timedelta(days=7),
            "as_of": as_of,
        },
    ).dicts()

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
