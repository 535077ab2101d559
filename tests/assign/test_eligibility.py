"""The per-contact eligibility state gives exactly what the event logs give.

``assign`` reads ``eligibility_state`` (``sql/assign/eligibility/evaluate.sql``); the API and
Spark read the logs (``sql/assign/evaluate.sql``). Every test here builds a workspace
with the eligibility edge cases, then compares the two evaluations row for row over a
grid of experiments and evaluation times, after loads in any order, direct SQL writes,
platform ingest and its rebuild.
"""

from __future__ import annotations

import csv
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tables import state_verdicts
from threadlift.assign import eligibility as eligibility_state
from threadlift.assign.assignment import (
    EXCLUSION_REASONS,
    _define_state_evaluation,
    _evaluate,
    assign_experiment,
    get_global_holdout,
    set_global_holdout,
)
from threadlift.engines.sqlfiles import sql_dir, sql_text, strip_header
from threadlift.errors import NoEligibleContactsError
from threadlift.experiment import Experiment
from threadlift.ingest import ingest_files, rebuild
from threadlift.loading import load_files
from threadlift.workspace import Workspace, latest_schema_version

AT = datetime(2026, 11, 2, 9, 0, 0)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
SENDER = "15550001111"
OTHER_SENDER = "15550002222"
WEBHOOKS = Path(__file__).parents[1] / "fixtures" / "webhooks"

TIMES = [AT - 40 * DAY, AT - 5 * DAY, AT - SECOND, AT, AT + SECOND, AT + 200 * DAY]
"""Evaluation times around the events below (before, between and after them)."""


def _experiment(**overrides: Any) -> Experiment:
    fields: dict[str, Any] = {
        "id": "exp",
        "channel": "whatsapp",
        "category": "marketing",
        "assigned_at": "2026-11-02T09:00:00Z",
        "arms": [
            {"name": "holdout", "weight": 10, "holdout": True},
            {"name": "a", "weight": 45},
            {"name": "b", "weight": 45},
        ],
    }
    fields.update(overrides)
    return Experiment.model_validate(fields)


EXPERIMENTS = [
    _experiment(),
    _experiment(sender_id=SENDER),
    _experiment(sender_id=OTHER_SENDER, eligibility={"exclude_feedback_days": 0}),
    _experiment(category="utility"),
    _experiment(category="utility", eligibility={"require_consent": False}),
    _experiment(eligibility={"require_consent": False, "exclude_feedback_days": 30}),
    _experiment(channel="sms", sender_id=SENDER),
    _experiment(audience_sql="select contact_id from contacts where market = 'BR' "
                             "union all select 'ghost' union all select 'consent_only'"),
    _experiment(layer={"name": "L", "buckets": [2000, 7000]}),
]


def _consent(contact: str, ts: datetime, status: str = "granted", *, channel: str = "whatsapp",
             sender: str | None = None, scope: str = "marketing") -> dict[str, Any]:
    return {"contact_id": contact, "channel": channel, "sender_id": sender, "scope": scope,
            "status": status, "ts": ts, "source": "form"}


# Every eligibility edge of tests/assign/test_assignment.py, one contact each (some combine several).
CONSENTS = [
    _consent("before", AT - SECOND), _consent("at", AT), _consent("after", AT + SECOND),
    _consent("regranted", AT - 10 * DAY), _consent("regranted", AT - 5 * DAY, "revoked"),
    _consent("regranted", AT - SECOND),
    _consent("tie", AT - DAY), _consent("tie", AT - DAY, "revoked"),
    _consent("regranted_later", AT - 10 * DAY),
    _consent("regranted_later", AT - 5 * DAY, "revoked"), _consent("regranted_later", AT + SECOND),
    _consent("same_sender", AT - DAY, sender=SENDER),
    _consent("other_sender", AT - DAY, sender=OTHER_SENDER),
    _consent("both_senders", AT - 3 * DAY, sender=OTHER_SENDER),
    _consent("both_senders", AT + DAY, sender=SENDER),
    _consent("sms_only", AT - DAY, channel="sms", sender=SENDER),
    _consent("utility_only", AT - DAY, scope="utility"),
    _consent("scope_all", AT - DAY, sender=SENDER, scope="all"),
    _consent("sender_revoke", AT - 2 * DAY), _consent("sender_revoke", AT - DAY, "revoked", sender=SENDER),
    _consent("stopped", AT - DAY, "revoked"),
    _consent("resumed", AT - 2 * DAY, "revoked"), _consent("resumed", AT - DAY),
    _consent("failed_before", AT - 30 * DAY), _consent("failed_after", AT - 30 * DAY),
    _consent("fail_regranted", AT - 30 * DAY), _consent("fail_regranted", AT - DAY),
    _consent("other_error", AT - 30 * DAY),
    _consent("fb89", AT - 200 * DAY), _consent("fb90", AT - 200 * DAY),
    _consent("fb91", AT - 200 * DAY), _consent("fb_future", AT - 200 * DAY),
    _consent("fb_optout", AT - 200 * DAY),
    _consent("many_grants", AT - 50 * DAY, sender=OTHER_SENDER),
    _consent("many_grants", AT - 20 * DAY, channel="sms"),
    _consent("many_grants", AT - 4 * DAY, sender=SENDER, scope="all"),
    _consent("many_grants", AT + 3 * DAY),
    _consent("consent_only", AT - DAY),
    # two revokes (one on another channel), so the revoke list runs its lambda
    _consent("revoked_twice", AT - 10 * DAY), _consent("revoked_twice", AT - 6 * DAY, "revoked", channel="sms"),
    _consent("revoked_twice", AT - 3 * DAY, "revoked"),
]
FEEDBACK = [
    ("fb89", AT - 89 * DAY, "block"), ("fb90", AT - 90 * DAY, "report"),
    ("fb91", AT - 91 * DAY, "block"), ("fb_future", AT + SECOND, "block"),
    ("fb_optout", AT - DAY, "opt_out"), ("fb_optout", AT - 120 * DAY, "report"),
    ("no_consent_blocked", AT - DAY, "block"),
]
FAILURES = [
    ("failed_before", AT - SECOND, "131050", None), ("failed_after", AT + SECOND, "131050", None),
    ("fail_regranted", AT - 2 * DAY, "131050", None), ("other_error", AT - DAY, "131026", None),
    ("fail_regranted", AT - 3 * DAY, "131050", OTHER_SENDER),
]
CONTACTS = sorted(
    {c["contact_id"] for c in CONSENTS if c["contact_id"] != "consent_only"}
    | {f[0] for f in FEEDBACK} | {"nothing", "mx_only"}
)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else (v.isoformat() + "Z" if isinstance(v, datetime) else v)
                             for v in row])
    return path


def _files(directory: Path) -> dict[str, list[Path]]:
    """The edge cases as canonical CSV files, split so loads can come in any order."""
    consent_rows = [[c[k] for k in ("contact_id", "channel", "sender_id", "scope", "status", "ts", "source")]
                    for c in CONSENTS]
    messages = [[f"m{i}", contact, "whatsapp", sender, None, None, None, "promo", "marketing", ts - SECOND]
                for i, (contact, ts, _, sender) in enumerate(FAILURES)]
    events = [[f"m{i}", "failed", ts, code, None, "false"] for i, (_, ts, code, _) in enumerate(FAILURES)]
    half = len(consent_rows) // 2
    return {
        "contacts": [_write_csv(directory / "contacts.csv", ["contact_id", "market", "created_at"],
                                [[c, "MX" if c == "mx_only" else "BR", AT - 400 * DAY] for c in CONTACTS])],
        # the later events in the first file, the earlier ones in the second
        "consents": [
            _write_csv(directory / "consents_late.csv", ["contact_id", "channel", "sender_id", "scope",
                                                         "status", "ts", "source"], consent_rows[half:]),
            _write_csv(directory / "consents_early.csv", ["contact_id", "channel", "sender_id", "scope",
                                                          "status", "ts", "source"], consent_rows[:half]),
        ],
        "feedback": [_write_csv(directory / "feedback.csv", ["contact_id", "channel", "sender_id", "kind", "ts"],
                                [[c, "whatsapp", None, kind, ts] for c, ts, kind in FEEDBACK])],
        "messages": [_write_csv(directory / "messages.csv",
                                ["message_id", "contact_id", "channel", "sender_id", "experiment_id", "arm",
                                 "campaign_id", "template", "category", "sent_at"], messages)],
        "message_events": [_write_csv(directory / "events.csv",
                                      ["message_id", "status", "ts", "error_code", "pricing_category",
                                       "billable"], events)],
    }


def _log_rows(ws: Workspace, experiment: Experiment, at: datetime) -> set[tuple[Any, ...]]:
    """Verdicts of sql/assign/evaluate.sql: (contact_id, assigned, reason)."""
    _evaluate(ws, experiment, at, get_global_holdout(ws), None)
    return set(ws.con.execute("SELECT contact_id, assigned, reason FROM _tl_evaluation").fetchall())


def _state_rows(ws: Workspace, experiment: Experiment, at: datetime) -> set[tuple[Any, ...]]:
    """Verdicts of sql/assign/eligibility/evaluate.sql over eligibility_state."""
    _define_state_evaluation(ws, experiment)
    return state_verdicts(ws, experiment, at)


def _assert_same_evaluations(ws: Workspace) -> int:
    """Compare the two paths over the whole grid; return how many rows were compared."""
    assert eligibility_state.stale_sources(ws.con) == []
    compared = 0
    for experiment, at in itertools.product(EXPERIMENTS, TIMES):
        from_logs = _log_rows(ws, experiment, at)
        from_state = _state_rows(ws, experiment, at)
        assert from_state == from_logs, (experiment.model_dump(exclude={"arms"}), at)
        compared += len(from_logs)
    return compared


def _assert_assign_writes_the_log_path_arms(ws: Workspace) -> int:
    """Each experiment shape, assigned at each time, records exactly the log path's eligible
    contacts with its buckets and arms (and counts its exclusions)."""
    written = 0
    for index, (shape, at) in enumerate(itertools.product(EXPERIMENTS, TIMES)):
        update: dict[str, Any] = {"id": f"grid-{index}", "assigned_at": at}
        if shape.layer is not None:  # one layer each, so their ranges may repeat
            update["layer"] = shape.layer.model_copy(update={"name": f"L{index}"})
        experiment = shape.model_copy(update=update)
        _evaluate(ws, experiment, at, get_global_holdout(ws), None)
        expected = set(ws.con.execute(
            "SELECT contact_id, arm, bucket FROM _tl_evaluation WHERE NOT assigned AND reason IS NULL"
        ).fetchall())
        excluded = dict(ws.con.execute(
            "SELECT reason, count(*) FROM _tl_evaluation WHERE reason IS NOT NULL GROUP BY reason"
        ).fetchall())
        if expected:
            assert assign_experiment(ws, experiment, now=at).excluded == excluded
        else:
            # nobody eligible: refused with the same counts, and nothing registered
            with pytest.raises(NoEligibleContactsError) as nobody:
                assign_experiment(ws, experiment, now=at)
            assert nobody.value.excluded == excluded
            assert ws.con.execute(
                "SELECT count(*) FROM assignment_registry WHERE experiment_id = $e",
                {"e": experiment.id},
            ).fetchone() == (0,)
        got = set(ws.con.execute(
            "SELECT contact_id, arm, bucket FROM assignments WHERE experiment_id = $e",
            {"e": experiment.id},
        ).fetchall())
        assert got == expected, (shape.model_dump(exclude={"arms"}), at)
        written += len(got)
    return written


def _state_table(ws: Workspace) -> list[tuple[Any, ...]]:
    """The state with its lists sorted (their order within a row carries no meaning)."""
    return ws.con.execute(
        """
        SELECT contact_id, in_contacts,
               list_sort(list_filter([{'channel': grant_channel, 'sender_id': grant_sender_id,
                                        'scope': grant_scope, 'ts': grant_ts}]
                                     || coalesce(more_grants, []), lambda g: g.ts IS NOT NULL)),
               list_sort(revokes), list_sort(stops), list_sort(feedback)
        FROM eligibility_state ORDER BY contact_id
        """
    ).fetchall()


def test_state_equals_the_event_logs_after_out_of_order_loads(
    workspace: Workspace, tmp_path: Path
) -> None:
    files = _files(tmp_path)
    # events before their messages, consents before their contacts
    for table in ("message_events", "feedback", "consents", "messages", "contacts"):
        load_files(workspace, table, files[table])
        assert eligibility_state.stale_sources(workspace.con) == []
    loaded = _state_table(workspace)
    assert _assert_same_evaluations(workspace) > 1000
    assert _assert_assign_writes_the_log_path_arms(workspace) > 300
    workspace.con.execute("BEGIN TRANSACTION")
    eligibility_state.rebuild(workspace.con)
    workspace.con.execute("COMMIT")
    assert _state_table(workspace) == loaded
    # every kind of state row is present: a contact with several grants, revokes, stops,
    # feedback, a consent-only id that is not a contact
    rows = {row[0]: row for row in loaded}
    assert len(rows["many_grants"][2]) == 4
    assert rows["consent_only"][1] is False
    assert len(rows["fail_regranted"][4]) == 2
    assert len(rows["fb_optout"][5]) == 2


def test_loading_again_and_in_another_order_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    files = _files(tmp_path)
    for table in ("contacts", "consents", "messages", "message_events", "feedback"):
        load_files(workspace, table, files[table])
    first = _state_table(workspace)
    for table in ("feedback", "message_events", "consents"):
        load_files(workspace, table, list(reversed(files[table])))
    assert _state_table(workspace) == first
    assert eligibility_state.stale_sources(workspace.con) == []


def test_direct_sql_writes_make_assign_rebuild_the_state(workspace: Workspace, tmp_path: Path) -> None:
    files = _files(tmp_path)
    for table in ("contacts", "consents", "feedback", "messages", "message_events"):
        load_files(workspace, table, files[table])
    first = assign_experiment(workspace, _experiment(id="first"))
    assert not first.state_rebuilt
    # an update of one consent's status: same row count, different checksum
    workspace.con.execute("UPDATE consents SET status = 'revoked' WHERE contact_id = 'before'")
    assert eligibility_state.stale_sources(workspace.con) == ["consents"]
    second = assign_experiment(workspace, _experiment(id="second"))
    assert second.state_rebuilt
    assert eligibility_state.stale_sources(workspace.con) == []
    arms = dict(workspace.con.execute(
        "SELECT experiment_id, list_sort(list(contact_id)) FROM assignments GROUP BY ALL").fetchall())
    assert "before" in arms["first"]
    assert "before" not in arms["second"]
    workspace.con.execute("DELETE FROM feedback WHERE contact_id = 'fb89'")
    workspace.con.execute("INSERT INTO contacts VALUES ('late', 'BR', NULL)")
    workspace.con.execute(
        "INSERT INTO consents VALUES ('late', 'whatsapp', NULL, 'marketing', 'granted', $t, 'sql')",
        {"t": AT - DAY},
    )
    assert eligibility_state.stale_sources(workspace.con) == ["consents", "contacts", "feedback"]
    third = assign_experiment(workspace, _experiment(id="third"))
    assert third.state_rebuilt
    assert _assert_same_evaluations(workspace) > 1000


def test_upgrading_a_schema_5_workspace_rebuilds_the_state_with_eventful_rows_last(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    files = _files(tmp_path)
    with Workspace.create(path) as ws:
        for table in ("contacts", "consents", "feedback", "messages", "message_events"):
            load_files(ws, table, files[table])
        before = assign_experiment(ws, _experiment(id="before"), now=AT)
        # Put the workspace back to schema 5: the same state rows, without `eventful`.
        ws.con.execute("CREATE TEMP TABLE old_state AS SELECT * EXCLUDE (eventful) FROM eligibility_state")
        ws.con.execute("DROP TABLE eligibility_state")
        ws.con.execute(
            (Path(__file__).parents[2] / "sql" / "workspace" / "005_eligibility_state.sql")
            .read_text(encoding="utf-8")
            .replace("CREATE TABLE IF NOT EXISTS eligibility_state_sources", "CREATE TABLE IF NOT EXISTS _unused")
        )
        ws.con.execute("INSERT INTO eligibility_state SELECT * FROM old_state")
        assert ws.con.execute("SELECT count(*) FROM eligibility_state").fetchall() != [(0,)]
        ws.con.execute("ALTER TABLE ingest_provenance ALTER COLUMN row_key SET DATA TYPE VARCHAR")
        ws.con.execute("ALTER TABLE raw_bodies ALTER COLUMN body_hash SET DATA TYPE VARCHAR")
        ws.con.execute("UPDATE threadlift_meta SET value = '5' WHERE key = 'schema_version'")
    with Workspace.open(path) as ws:
        assert ws.schema_version() == latest_schema_version()
        assert ws.con.execute("SELECT count(*) FROM eligibility_state").fetchall() == [(0,)]
        after = assign_experiment(ws, _experiment(id="after"), now=AT)
        assert after.state_rebuilt
        assert (after.assigned, after.excluded) == (before.assigned, before.excluded)
        # stored order (rowid): every plain row before every eventful one
        flags = [row[0] for row in ws.con.execute(
            "SELECT eventful FROM eligibility_state ORDER BY rowid").fetchall()]
        assert flags == sorted(flags)
        assert set(flags) == {False, True}
        expected = ws.con.execute(
            "SELECT count(*) FROM eligibility_state WHERE more_grants IS NOT NULL OR revokes IS NOT NULL "
            "OR stops IS NOT NULL OR feedback IS NOT NULL"
        ).fetchall()
        assert ws.con.execute("SELECT count(*) FROM eligibility_state WHERE eventful").fetchall() == expected
        assert _assert_same_evaluations(ws) > 1000


def test_a_load_after_direct_writes_brings_them_in(workspace: Workspace, tmp_path: Path) -> None:
    files = _files(tmp_path)
    load_files(workspace, "contacts", files["contacts"])
    workspace.con.execute(
        "INSERT INTO consents VALUES ('nothing', 'whatsapp', NULL, 'marketing', 'granted', $t, 'sql')",
        {"t": AT - DAY},
    )
    assert eligibility_state.stale_sources(workspace.con) == ["consents"]
    load_files(workspace, "consents", files["consents"][:1])
    assert eligibility_state.stale_sources(workspace.con) == []
    result = assign_experiment(workspace, _experiment())
    assert not result.state_rebuilt
    assert workspace.con.execute(
        "SELECT count(*) FROM assignments WHERE contact_id = 'nothing'").fetchone() == (1,)


def test_ingest_and_its_rebuild(workspace: Workspace, tmp_path: Path) -> None:
    files = _files(tmp_path)
    for table in ("contacts", "consents", "feedback"):
        load_files(workspace, table, files[table])
    whatsapp = sorted(p for p in (WEBHOOKS / "meta_docs_examples").glob("wa_*.json"))
    assert whatsapp
    ingest_files(workspace, "whatsapp", whatsapp)
    ingested_consents = workspace.con.execute(
        "SELECT count(*) FROM consents WHERE source <> 'form'").fetchone()
    assert ingested_consents is not None
    assert ingested_consents[0] > 0
    assert eligibility_state.stale_sources(workspace.con) != []
    assert assign_experiment(workspace, _experiment(id="after_ingest")).state_rebuilt
    assert _assert_same_evaluations(workspace) > 1000
    # a rebuild that re-derives the same rows leaves the state current ...
    workspace.con.execute("DELETE FROM consents WHERE source <> 'form' AND source IS NOT NULL")
    assert eligibility_state.stale_sources(workspace.con) == ["consents"]
    rebuild(workspace)
    assert eligibility_state.stale_sources(workspace.con) == []
    # ... one whose raw store lost the preference stops changes it
    workspace.con.execute("DELETE FROM raw_bodies WHERE body LIKE '%user_preferences%'")
    rebuild(workspace)
    assert "consents" in eligibility_state.stale_sources(workspace.con)
    assert assign_experiment(workspace, _experiment(id="after_rebuild")).state_rebuilt
    assert _assert_same_evaluations(workspace) > 1000


@pytest.mark.parametrize("percent", [0, 30])
def test_global_holdout_and_assigned_contacts_agree(
    workspace: Workspace, tmp_path: Path, percent: int
) -> None:
    files = _files(tmp_path)
    for table in ("contacts", "consents", "feedback", "messages", "message_events"):
        load_files(workspace, table, files[table])
    set_global_holdout(workspace, salt="program", percent=percent)
    assign_experiment(workspace, _experiment(), now=AT)
    assert workspace.con.execute("SELECT count(*) FROM assignments").fetchone() != (0,)
    assert _assert_same_evaluations(workspace) > 1000
    assert _assert_assign_writes_the_log_path_arms(workspace) > 100


RULE_FRAGMENTS = (
    "assign/_eligibility_event_match",
    "assign/_eligibility_event_facts",
    "assign/_eligibility_contact_facts",
    "assign/_eligibility_reason",
)


def _code(text: str) -> str:
    """SQL text without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_each_rule_is_written_once_and_both_paths_include_it() -> None:
    files = {path: _code(path.read_text(encoding="utf-8")) for path in (sql_dir() / "assign").rglob("*.sql")}
    for reason in EXCLUSION_REASONS:
        holders = {path.name for path, code in files.items() if f"'{reason}'" in code}
        # the global holdout's arm label (sql/assign/global_holdout.sql#units) is not a rule
        assert holders - {"global_holdout.sql"} == {"_eligibility_reason.sql"}, reason
    log_path = sql_text("assign/evaluate")
    state_path = "\n".join(
        sql_text(f"assign/eligibility/verdicts#{s}") for s in ("plain", "eventful", "all")
    )
    for fragment in RULE_FRAGMENTS:
        body = strip_header(sql_text(fragment)).strip()
        lines = [line.strip() for line in body.splitlines()]
        for expanded in (log_path, state_path):
            stripped = [line.strip() for line in expanded.splitlines()]
            assert any(stripped[i:i + len(lines)] == lines for i in range(len(stripped))), fragment
    # the plain rows of the state path take the same fragments, inlined as one expression
    raw_verdicts = (sql_dir() / "assign/eligibility/verdicts.sql").read_text(encoding="utf-8")
    assert (
        "-- inline: assign/_eligibility_reason over assign/_eligibility_event_facts, "
        "assign/_eligibility_event_match, assign/eligibility/_plain_event"
    ) in raw_verdicts
    # the arm of a bucket: one fragment, joined by the log path and by `assign`'s insert
    arm_rule = strip_header(sql_text("assign/_arm_of_bucket")).strip().splitlines()[0].strip()
    for name in ("assign/evaluate", "assign/eligibility/insert_new"):
        assert arm_rule in sql_text(name), name
    assert not [path.name for path, code in files.items() if "list_filter" in code]
    # which events count: the log path and the state's build read the same fragment
    for name in ("assign/evaluate", "assign/eligibility/insert_rows", "assign/eligibility/checksums#current"):
        assert strip_header(sql_text("assign/_eligibility_events")).strip().splitlines()[0].strip() in sql_text(name)
