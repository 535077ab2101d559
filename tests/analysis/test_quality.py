"""Template status, quality and category over the experiment window, from ingested webhooks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from experiments import CONVERSION, two_arm_toml
from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.engines.duckdb import DuckDBEngine, Rows
from threadlift.experiment import parse_experiment
from threadlift.ingest import ingest_files
from threadlift.report.html import render_html
from threadlift.report.markdown import render_markdown
from threadlift.workspace import Workspace

T0 = datetime(2026, 5, 4, 9, 0, 0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EXPERIMENT = two_arm_toml(
    "tq", keys='sender_id = "S1"\n', assigned_at="2026-05-04T09:00:00Z", weights=(50, 50),
    tables=CONVERSION,
)
IDS = {"promo_a": 9001, "promo_b": 9002, "promo_c": 9003, "other_tpl": 9004}


def _body(when: datetime, field: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "WABA1",
            "time": int(when.replace(tzinfo=UTC).timestamp()),
            "changes": [{"field": field, "value": {
                **value, "message_template_id": IDS[name], "message_template_name": name,
                "message_template_language": "pt_BR",
            }}],
        }],
    }


def _status(when: datetime, name: str, event: str, title: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"event": event, "reason": "NONE"}
    if title:
        value["other_info"] = {"title": title, "description": "…"}
    return _body(when, "message_template_status_update", name, value)


def _quality(when: datetime, name: str, previous: str, new: str) -> dict[str, Any]:
    return _body(when, "message_template_quality_update", name,
                 {"previous_quality_score": previous, "new_quality_score": new})


WEBHOOKS = [
    _status(T0 - 10 * DAY, "promo_a", "APPROVED"),
    _quality(T0 - 9 * DAY, "promo_a", "UNKNOWN", "GREEN"),   # superseded before the window
    _quality(T0 - 5 * DAY, "promo_a", "GREEN", "YELLOW"),    # the state at the window's start
    _quality(T0 + 2 * DAY - HOUR, "promo_a", "YELLOW", "RED"),
    _status(T0 + 2 * DAY, "promo_a", "PAUSED", "FIRST_PAUSE"),
    _status(T0 + 2 * DAY + 3 * HOUR, "promo_a", "APPROVED", "UNPAUSE"),
    _status(T0 + 9 * DAY, "promo_a", "DISABLED"),            # after the window: left out
    _status(T0 - 10 * DAY, "promo_b", "APPROVED"),
    _body(T0 + DAY, "template_category_update", "promo_b",
          {"previous_category": "MARKETING", "new_category": "UTILITY"}),
    _status(T0 + 6 * DAY, "promo_b", "PAUSED", "SECOND_PAUSE"),  # still paused at the end
    _status(T0 + DAY, "other_tpl", "PAUSED", "FIRST_PAUSE"),     # not sent by the experiment
    _quality(T0 + DAY, "other_tpl", "GREEN", "RED"),
]


@pytest.fixture
def ingested(workspace: Workspace, tmp_path: Path) -> Workspace:
    return ingest_template_history(workspace, tmp_path)


def ingest_template_history(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The experiment's sends and the template webhooks above, ingested."""
    contacts = ["a", "b", "c", "d"]
    insert_rows(workspace, "assignments", [("tq", c, "whatsapp", 5000, T0) for c in contacts]
            + [("tq", "h", "holdout", 1, T0)])
    sends = [("m1", "a", "promo_a"), ("m2", "b", "promo_a"), ("m3", "c", "promo_b"), ("m4", "d", "promo_c")]
    insert_rows(workspace, "messages", [
        (mid, c, "whatsapp", "S1", "tq", "whatsapp", "camp", tpl, "marketing", T0 + HOUR)
        for mid, c, tpl in sends
    ] + [("n1", "a", "whatsapp", "S1", None, None, "news", "other_tpl", "marketing", T0 + HOUR)])
    path = tmp_path / "templates.jsonl"
    path.write_text("".join(json.dumps(body) + "\n" for body in WEBHOOKS), encoding="utf-8")
    ingest_files(workspace, "whatsapp", [path])
    return workspace


def test_a_template_paused_mid_experiment_appears_with_its_times(ingested: Workspace) -> None:
    result = analyze(ingested, parse_experiment(EXPERIMENT), as_of=T0 + 30 * DAY)
    section = result.to_dict()["template_quality"]
    assert section["available"] is True
    assert section["window_start"] == T0.isoformat()
    assert section["window_end"] == (T0 + 7 * DAY).isoformat()
    templates = {row["template"]: row for row in section["templates"]}
    assert set(templates) == {"promo_a", "promo_b", "promo_c"}

    promo_a = templates["promo_a"]
    assert promo_a["messages"] == 2
    assert promo_a["template_id"] == "9001"
    assert promo_a["language"] == "pt_BR"
    assert (promo_a["quality_at_start"], promo_a["quality_at_end"]) == ("YELLOW", "RED")
    assert (promo_a["status_at_start"], promo_a["status_at_end"]) == ("APPROVED", "APPROVED")
    assert promo_a["alarms"] == ["PAUSED"]
    assert promo_a["quality_changes"] == ["YELLOW→RED"]
    assert promo_a["pauses"] == [{
        "start": (T0 + 2 * DAY).isoformat(), "end": (T0 + 2 * DAY + 3 * HOUR).isoformat(),
        "title": "FIRST_PAUSE", "ongoing_at_window_end": False, "hours": 3.0,
    }]
    a_events = [(e["kind"], e["event"], e["ts"], e["phase"]) for e in section["events"]
                if e["template"] == "promo_a"]
    assert a_events == [
        ("status", "APPROVED", (T0 - 10 * DAY).isoformat(), "before"),
        ("quality", "YELLOW", (T0 - 5 * DAY).isoformat(), "before"),
        ("quality", "RED", (T0 + 2 * DAY - HOUR).isoformat(), "during"),
        ("status", "PAUSED", (T0 + 2 * DAY).isoformat(), "during"),
        ("status", "APPROVED", (T0 + 2 * DAY + 3 * HOUR).isoformat(), "during"),
    ]

    promo_b = templates["promo_b"]
    assert (promo_b["category_at_start"], promo_b["category_at_end"]) == (None, "UTILITY")
    (pause,) = promo_b["pauses"]
    assert pause["ongoing_at_window_end"] is True
    assert pause["end"] is None
    assert pause["hours"] == pytest.approx(24.0)  # from day 6 to the window's end at day 7
    category = next(e for e in section["events"] if e["kind"] == "category")
    assert (category["previous"], category["event"]) == ("MARKETING", "UTILITY")

    promo_c = templates["promo_c"]
    assert promo_c["messages"] == 1
    assert promo_c["changes"] == 0
    assert promo_c["quality_at_end"] is None

    assert all(e["template"] != "other_tpl" for e in section["events"])
    assert sum("was paused" in w for w in result.warnings) == 2
    assert any("promo_a (pt_BR) was paused from 2026-05-06 09:00 UTC (FIRST_PAUSE)" in w
               for w in result.warnings)

    report = result.to_dict()
    markdown = render_markdown(report)
    assert "PAUSED (FIRST_PAUSE) at 2026-05-06 09:00" in markdown
    assert "quality YELLOW→RED at 2026-05-06 08:00" in markdown
    assert "other\\_tpl" not in markdown
    assert "other_tpl" not in markdown
    page = render_html(report)
    assert 'aria-label="Template quality rating and pauses over time"' in page
    assert "PAUSED (FIRST_PAUSE) at 2026-05-06 09:00" in page
    assert "other_tpl" not in page


def test_the_window_follows_late_enrolment_and_as_of(ingested: Workspace) -> None:
    # a unit assigned two days late stretches the window to its own window end
    insert_rows(ingested, "assignments", [("tq", "late", "whatsapp", 5000, T0 + 2 * DAY)])
    result = analyze(ingested, parse_experiment(EXPERIMENT), as_of=T0 + 30 * DAY)
    section = result.to_dict()["template_quality"]
    assert section["window_end"] == (T0 + 9 * DAY).isoformat()
    promo_a = next(t for t in section["templates"] if t["template"] == "promo_a")
    assert promo_a["status_at_end"] == "DISABLED"  # day 9 is now inside
    # read before the window ends: as_of cuts it
    early = analyze(ingested, parse_experiment(EXPERIMENT), as_of=T0 + DAY + 12 * HOUR)
    section = early.to_dict()["template_quality"]
    assert section["window_end"] == (T0 + DAY + 12 * HOUR).isoformat()
    promo_a = next(t for t in section["templates"] if t["template"] == "promo_a")
    assert promo_a["changes"] == 0
    assert promo_a["pauses"] == []


class _LakeEngine:
    """An engine over a lake of canonical tables (like Spark's): no ingest tables."""

    name = "lake"

    def __init__(self, inner: DuckDBEngine, lake: Path) -> None:
        self.inner = inner
        self.lake = str(lake)

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        return self.inner.run(query, params)


def test_engines_without_ingest_tables_say_so(ingested: Workspace, tmp_path: Path) -> None:
    engine = _LakeEngine(DuckDBEngine(ingested.con), tmp_path)
    result = analyze(ingested, parse_experiment(EXPERIMENT), as_of=T0 + 30 * DAY, engine=engine)
    section = result.to_dict()["template_quality"]
    assert section["available"] is False
    assert section["templates"] == []
    assert "lake engine" in section["note"]
    assert any("no free-entry-point rule" in w for w in result.warnings)
    assert "not available on the lake engine" in render_markdown(result.to_dict())


def test_portable_rewrites_give_the_same_template_history(ingested: Workspace) -> None:
    """The queries as other engines run them (portable rewrites), on DuckDB: same section."""

    from portable import PortableDuckDB

    experiment = parse_experiment(EXPERIMENT)
    reference = analyze(ingested, experiment, as_of=T0 + 30 * DAY).to_dict()
    portable = analyze(
        ingested, experiment, as_of=T0 + 30 * DAY, engine=PortableDuckDB(ingested.con)
    ).to_dict()
    assert portable["template_quality"] == reference["template_quality"]
    assert portable["cost"] == reference["cost"]
