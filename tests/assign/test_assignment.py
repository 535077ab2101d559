"""Assignment on a workspace: eligibility rules at their edges, persistence, versions,
global holdout, layers and exports."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from threadlift.assign.assignment import (
    EXCLUSION_REASONS,
    assign_experiment,
    candidate_ids,
    eligibility_snapshot,
    export_assignments,
    export_send_list,
    get_global_holdout,
    global_holdout_units,
    set_global_holdout,
)
from threadlift.core.bucketing import arm_for_bucket, bucket
from threadlift.errors import AssignmentError, ConfigError, NoEligibleContactsError
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

AT = datetime(2026, 11, 2, 9, 0, 0)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def make_experiment(**overrides: Any) -> Experiment:
    fields: dict[str, Any] = {
        "id": "exp",
        "channel": "whatsapp",
        "category": "marketing",
        "assigned_at": "2026-11-02T09:00:00Z",
        "arms": [
            {"name": "holdout", "weight": 10, "holdout": True},
            {"name": "whatsapp", "weight": 90},
        ],
    }
    fields.update(overrides)
    return Experiment.model_validate(fields)


def add_contacts(ws: Workspace, *ids: str, market: str = "BR") -> None:
    ws.con.executemany("INSERT INTO contacts VALUES ($1, $2, $3)", [(i, market, AT - 400 * DAY) for i in ids])


def consent(
    ws: Workspace,
    contact_id: str,
    ts: datetime,
    status: str = "granted",
    *,
    channel: str = "whatsapp",
    sender_id: str | None = None,
    scope: str = "marketing",
    source: str = "opt_in_form",
) -> None:
    ws.con.execute(
        "INSERT INTO consents VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [contact_id, channel, sender_id, scope, status, ts, source],
    )


def feedback(ws: Workspace, contact_id: str, ts: datetime, kind: str = "block") -> None:
    ws.con.execute(
        "INSERT INTO feedback VALUES ($1, 'whatsapp', NULL, $2, $3, NULL)", [contact_id, kind, ts]
    )


def failure(ws: Workspace, contact_id: str, ts: datetime, error_code: str = "131050") -> None:
    message_id = f"m-{contact_id}-{ts.isoformat()}-{error_code}"
    ws.con.execute(
        "INSERT INTO messages VALUES ($1, $2, 'whatsapp', NULL, NULL, NULL, NULL, 'promo', 'marketing', $3)",
        [message_id, contact_id, ts - SECOND],
    )
    ws.con.execute(
        "INSERT INTO message_events VALUES ($1, 'failed', $2, $3, NULL, false)",
        [message_id, ts, error_code],
    )


def reason(ws: Workspace, experiment: Experiment, contact_id: str) -> str | None:
    """Why ``assign`` excluded the workspace's only contact (None when it assigned it)."""
    (predicted,) = eligibility_snapshot(ws, experiment, [contact_id])
    try:
        result = assign_experiment(ws, experiment, new_version=True)
    except NoEligibleContactsError as nobody:
        excluded = nobody.excluded
        assert sum(excluded.values()) == 1
    else:
        excluded = result.excluded
        assert result.assigned + sum(excluded.values()) == 1
    found = next(iter(excluded), None)
    assert predicted.reason == found
    return found


def assignments(ws: Workspace, experiment_id: str = "exp") -> list[tuple[Any, ...]]:
    return ws.con.execute(
        "SELECT contact_id, arm, bucket, assigned_at FROM assignments WHERE experiment_id = $e "
        "ORDER BY contact_id",
        {"e": experiment_id},
    ).fetchall()


# --- consent -------------------------------------------------------------------------------


def test_consent_one_second_before_is_eligible_one_second_after_is_not(workspace: Workspace) -> None:
    add_contacts(workspace, "before", "at", "after")
    consent(workspace, "before", AT - SECOND)
    consent(workspace, "at", AT)
    consent(workspace, "after", AT + SECOND)
    result = assign_experiment(workspace, make_experiment())
    assert {row[0] for row in assignments(workspace)} == {"before", "at"}
    assert result.excluded == {"consent_after_assignment": 1}
    assert result.assigned == 2


def test_revoked_then_regranted(workspace: Workspace) -> None:
    add_contacts(workspace, "regranted", "revoked", "tie", "regranted_later")
    consent(workspace, "regranted", AT - 10 * DAY)
    consent(workspace, "regranted", AT - 5 * DAY, "revoked")
    consent(workspace, "regranted", AT - SECOND)
    consent(workspace, "revoked", AT - 10 * DAY)
    consent(workspace, "revoked", AT - SECOND, "revoked")
    consent(workspace, "tie", AT - DAY)
    consent(workspace, "tie", AT - DAY, "revoked")
    consent(workspace, "regranted_later", AT - 10 * DAY)
    consent(workspace, "regranted_later", AT - 5 * DAY, "revoked")
    consent(workspace, "regranted_later", AT + SECOND)
    result = assign_experiment(workspace, make_experiment())
    assert {row[0] for row in assignments(workspace)} == {"regranted"}
    assert result.excluded == {"consent_revoked": 3}


def test_consent_for_other_sender_or_channel_or_scope(workspace: Workspace) -> None:
    add_contacts(workspace, "same", "any_sender", "other_sender", "other_channel", "utility", "all")
    consent(workspace, "same", AT - DAY, sender_id="15550001111")
    consent(workspace, "any_sender", AT - DAY, sender_id=None)
    consent(workspace, "other_sender", AT - DAY, sender_id="15550002222")
    consent(workspace, "other_channel", AT - DAY, channel="sms", sender_id="15550001111")
    consent(workspace, "utility", AT - DAY, sender_id="15550001111", scope="utility")
    consent(workspace, "all", AT - DAY, sender_id="15550001111", scope="all")
    result = assign_experiment(workspace, make_experiment(sender_id="15550001111"))
    assert {row[0] for row in assignments(workspace)} == {"same", "any_sender", "all"}
    assert result.excluded == {"other_sender": 1, "no_consent": 2}


def test_experiment_without_sender_accepts_any_sender(workspace: Workspace) -> None:
    add_contacts(workspace, "a")
    consent(workspace, "a", AT - DAY, sender_id="15550002222")
    assert reason(workspace, make_experiment(), "a") is None


def test_a_revoke_for_this_sender_beats_an_older_grant_for_all_senders(workspace: Workspace) -> None:
    add_contacts(workspace, "a")
    consent(workspace, "a", AT - 2 * DAY, sender_id=None)
    consent(workspace, "a", AT - DAY, "revoked", sender_id="15550001111")
    assert reason(workspace, make_experiment(sender_id="15550001111"), "a") == "consent_revoked"
    assert reason(workspace, make_experiment(sender_id="15550003333"), "a") is None


def test_require_consent_false_skips_the_consent_rule(workspace: Workspace) -> None:
    add_contacts(workspace, "none")
    experiment = make_experiment(category="utility", eligibility={"require_consent": False})
    assert reason(workspace, experiment, "none") is None


# --- marketing stops -----------------------------------------------------------------------


def test_user_preferences_stop_excludes_marketing_even_without_consent_rule(workspace: Workspace) -> None:
    add_contacts(workspace, "stopped", "resumed")
    consent(workspace, "stopped", AT - DAY, "revoked", source="user_preferences")
    consent(workspace, "resumed", AT - 2 * DAY, "revoked", source="user_preferences")
    consent(workspace, "resumed", AT - DAY, source="user_preferences")
    experiment = make_experiment(eligibility={"require_consent": False})
    result = assign_experiment(workspace, experiment)
    assert {row[0] for row in assignments(workspace)} == {"resumed"}
    assert result.excluded == {"marketing_stopped": 1}
    utility = make_experiment(id="utility", category="utility", eligibility={"require_consent": False})
    assert assign_experiment(workspace, utility).assigned == 2


def test_131050_failure_excludes_marketing_until_a_new_grant(workspace: Workspace) -> None:
    add_contacts(workspace, "failed_before", "failed_after", "regranted", "other_error")
    for contact in ("failed_before", "failed_after", "regranted", "other_error"):
        consent(workspace, contact, AT - 30 * DAY)
    failure(workspace, "failed_before", AT - SECOND)
    failure(workspace, "failed_after", AT + SECOND)
    failure(workspace, "regranted", AT - 2 * DAY)
    consent(workspace, "regranted", AT - DAY)
    failure(workspace, "other_error", AT - DAY, error_code="131026")
    result = assign_experiment(workspace, make_experiment())
    assert {row[0] for row in assignments(workspace)} == {"failed_after", "regranted", "other_error"}
    assert result.excluded == {"marketing_stopped": 1}
    utility = make_experiment(id="utility", category="utility")
    for contact in ("failed_before", "failed_after", "regranted", "other_error"):
        consent(workspace, contact, AT - 30 * DAY, scope="utility")
    assert assign_experiment(workspace, utility).assigned == 4


# --- feedback ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "kind", "expected"),
    [
        (89 * DAY, "block", "recent_feedback"),
        (90 * DAY, "report", "recent_feedback"),
        (91 * DAY, "block", None),
        (DAY, "opt_out", "recent_feedback"),
        (-SECOND, "block", None),
    ],
)
def test_feedback_window(workspace: Workspace, age: timedelta, kind: str, expected: str | None) -> None:
    add_contacts(workspace, "a")
    consent(workspace, "a", AT - 200 * DAY)
    feedback(workspace, "a", AT - age, kind)
    assert reason(workspace, make_experiment(), "a") == expected


def test_feedback_days_zero_disables_the_rule(workspace: Workspace) -> None:
    add_contacts(workspace, "a")
    consent(workspace, "a", AT - 200 * DAY)
    feedback(workspace, "a", AT)
    assert reason(workspace, make_experiment(eligibility={"exclude_feedback_days": 0}), "a") is None


def test_first_failing_reason_is_reported(workspace: Workspace) -> None:
    add_contacts(workspace, "a", "b")
    feedback(workspace, "a", AT - DAY)
    consent(workspace, "b", AT - DAY)
    result = assign_experiment(workspace, make_experiment())
    assert result.excluded == {"no_consent": 1}
    assert set(result.excluded) <= set(EXCLUSION_REASONS)


# --- audience ------------------------------------------------------------------------------


def test_audience_sql_restricts_and_counts_the_rest(workspace: Workspace) -> None:
    add_contacts(workspace, "br1", "br2", market="BR")
    add_contacts(workspace, "mx1", market="MX")
    for contact in ("br1", "br2", "mx1"):
        consent(workspace, contact, AT - DAY)
    experiment = make_experiment(audience_sql="select contact_id from contacts where market = 'BR'")
    result = assign_experiment(workspace, experiment)
    assert result.assigned == 2
    assert result.excluded == {"not_in_audience": 1}


def test_an_unknown_audience_table_is_never_read_as_a_file_or_a_python_object(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name the workspace lacks is refused before DuckDB's replacement scans could run."""
    import pandas as pd

    add_contacts(workspace, "a", "b")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outsiders.csv").write_text("contact_id\nz\n", encoding="utf-8")
    outsiders = pd.DataFrame({"contact_id": ["y"]})  # a frame DuckDB could scan by name
    assert not outsiders.empty
    experiment = make_experiment(audience_sql="select contact_id from outsiders")
    with pytest.raises(ConfigError, match="reads outsiders, which the workspace does not have"):
        assign_experiment(workspace, experiment)
    assert workspace.con.execute("SELECT count(*) FROM assignments").fetchone() == (0,)


def test_audience_sql_that_fails_is_a_config_error_and_writes_nothing(workspace: Workspace) -> None:
    add_contacts(workspace, "a")
    experiment = make_experiment(audience_sql="select contact_id from no_such_table")
    with pytest.raises(ConfigError, match="audience_sql reads no_such_table, which the workspace"):
        assign_experiment(workspace, experiment)
    assert workspace.con.execute("SELECT count(*) FROM assignment_registry").fetchone() == (0,)
    missing_column = make_experiment(audience_sql="select contact_id from contacts where nope = 1")
    with pytest.raises(ConfigError, match="audience_sql fails"):
        assign_experiment(workspace, missing_column)
    star = make_experiment(audience_sql="select * from (select market from contacts)")
    with pytest.raises(ConfigError, match="contact_id"):
        assign_experiment(workspace, star)


# --- persistence, rolling enrolment, versions -----------------------------------------------


def _population(ws: Workspace, n: int = 500) -> None:
    """``n`` contacts c0..c{n-1}; all but every fifth granted marketing consent 10 days before."""
    ws.con.execute(
        "INSERT INTO contacts SELECT 'c' || i, 'BR', $t FROM range($n) AS r(i)",
        {"t": AT - 400 * DAY, "n": n},
    )
    ws.con.execute(
        "INSERT INTO consents SELECT 'c' || i, 'whatsapp', NULL, 'marketing', 'granted', $t, 'form' "
        "FROM range($n) AS r(i) WHERE i % 5 <> 0",
        {"t": AT - 10 * DAY, "n": n},
    )


def test_rerun_is_a_no_op(workspace: Workspace) -> None:
    _population(workspace)
    experiment = make_experiment()
    first = assign_experiment(workspace, experiment, now=AT + DAY)
    before = assignments(workspace)
    second = assign_experiment(workspace, experiment, now=AT + 2 * DAY)
    assert assignments(workspace) == before
    assert second.assigned == 0
    assert second.already_assigned == first.assigned == 400
    assert second.by_arm == first.by_arm
    assert second.excluded == first.excluded == {"no_consent": 100}
    assert second.version == first.version == 1


def test_rows_already_in_assignments_are_kept_on_a_first_registration(workspace: Workspace) -> None:
    # Rows for the experiment written before it was ever registered (by hand, or an old
    # workspace) are treated as assigned: the first run adds the others and moves nobody.
    _population(workspace)
    experiment = make_experiment()
    workspace.con.execute(
        "INSERT INTO assignments VALUES ('exp', 'c6', 'holdout', 7, $at)", {"at": AT - DAY}
    )
    result = assign_experiment(workspace, experiment)
    rows = [row for row in assignments(workspace) if row[0] == "c6"]
    assert rows == [("c6", "holdout", 7, AT - DAY)]
    assert result.already_assigned == 1
    assert result.assigned == 399  # the other eligible contacts of the 400
    assert result.excluded == {"no_consent": 100}


def test_candidate_ids_are_contacts_assigned_ids_and_the_audience(workspace: Workspace) -> None:
    add_contacts(workspace, "k1", "k2")
    workspace.con.execute("INSERT INTO assignments VALUES ('exp', 'gone', 'holdout', 7, $at)", {"at": AT})
    assert sorted(candidate_ids(workspace, make_experiment())) == ["gone", "k1", "k2"]
    audience = make_experiment(audience_sql="select 'outside' as contact_id union all select 'k1'")
    assert sorted(candidate_ids(workspace, audience)) == ["gone", "k1", "k2", "outside"]


def test_assigned_arms_follow_the_bucketing_contract(workspace: Workspace) -> None:
    _population(workspace)
    experiment = make_experiment(salt="custom-salt")
    assign_experiment(workspace, experiment)
    ranges = experiment.ranges()
    for contact_id, arm, bucket_value, assigned_at in assignments(workspace):
        assert bucket_value == bucket("custom-salt", contact_id)
        assert arm == arm_for_bucket(ranges, bucket_value)
        assert assigned_at == AT


def test_new_contacts_are_added_without_moving_anyone(workspace: Workspace) -> None:
    _population(workspace)
    experiment = make_experiment(enrolment="rolling")
    assign_experiment(workspace, experiment, now=AT + DAY)
    before = assignments(workspace)
    later = AT + 3 * DAY
    add_contacts(workspace, "new1", "new2", "new3")
    consent(workspace, "new1", AT + 2 * DAY)
    consent(workspace, "new2", later + SECOND)
    consent(workspace, "c0", AT + 2 * DAY)
    consent(workspace, "c1", AT + 2 * DAY, "revoked")
    result = assign_experiment(workspace, experiment, now=later)
    after = {row[0]: row for row in assignments(workspace)}
    assert all(after[row[0]] == row for row in before)
    assert "c1" in after  # assigned contacts stay assigned after revoking (intent to treat)
    added = after.keys() - {row[0] for row in before}
    assert added == {"new1", "c0"}
    assert result.assigned == 2
    assert result.evaluated_at == later
    for contact_id in added:
        assert after[contact_id][3] == later
        assert after[contact_id][2] == bucket("exp", contact_id)


def test_snapshot_before_first_run_predicts_assign(workspace: Workspace) -> None:
    _population(workspace, 300)
    feedback(workspace, "c7", AT - DAY)
    experiment = make_experiment()
    ids = [f"c{i}" for i in range(300)] + ["unknown"]
    predicted = eligibility_snapshot(workspace, experiment, ids)
    assign_experiment(workspace, experiment)
    stored = {row[0]: row for row in assignments(workspace)}
    for status in predicted:
        assert status.eligible == (status.contact_id in stored)
        if status.eligible:
            assert (status.arm, status.bucket, status.assigned_at) == stored[status.contact_id][1:]
            assert status.holdout == (status.arm == "holdout")
    assert predicted[-1].reason == "not_in_audience"
    assert {s.contact_id: s.reason for s in predicted}["c7"] == "recent_feedback"
    after = eligibility_snapshot(workspace, experiment, ["c1", "c1", "c0"])
    assert [s.contact_id for s in after] == ["c1", "c0"]
    assert after[0].assigned


@pytest.mark.parametrize(
    ("change", "explanation"),
    [
        ({"salt": "other"}, "salt: 'exp' -> 'other'"),
        ({"assigned_at": "2026-11-03T09:00:00Z"}, "assigned_at"),
        (
            {"arms": [{"name": "holdout", "weight": 20, "holdout": True}, {"name": "whatsapp", "weight": 80}]},
            "holdout (holdout) [0, 1000), whatsapp [1000, 10000) -> holdout (holdout) [0, 2000)",
        ),
        (
            {"arms": [{"name": "holdout", "weight": 10, "holdout": True}, {"name": "wa", "weight": 90}]},
            "arms",
        ),
        ({"layer": {"name": "l", "buckets": [0, 5000]}}, "layer: none ->"),
    ],
)
def test_design_change_is_refused_unless_new_version(
    workspace: Workspace, change: dict[str, Any], explanation: str
) -> None:
    _population(workspace, 100)
    assign_experiment(workspace, make_experiment())
    before = assignments(workspace)
    changed = make_experiment(**change)
    with pytest.raises(AssignmentError, match="was assigned with a different design") as info:
        assign_experiment(workspace, changed)
    assert explanation in str(info.value)
    assert "--new-version" in str(info.value)
    assert assignments(workspace) == before
    result = assign_experiment(workspace, changed, new_version=True)
    assert result.version == 2
    archived = workspace.con.execute(
        "SELECT contact_id, arm, bucket, assigned_at FROM assignment_archive "
        "WHERE experiment_id = 'exp' AND version = 1 ORDER BY contact_id"
    ).fetchall()
    assert archived == before
    assert assign_experiment(workspace, changed).assigned == 0


def test_weights_giving_the_same_ranges_are_the_same_design(workspace: Workspace) -> None:
    _population(workspace, 100)
    assign_experiment(workspace, make_experiment())
    same = make_experiment(
        arms=[{"name": "holdout", "weight": 1, "holdout": True}, {"name": "whatsapp", "weight": 9}]
    )
    assert assign_experiment(workspace, same).assigned == 0


def test_version_in_the_file(workspace: Workspace) -> None:
    _population(workspace, 100)
    assign_experiment(workspace, make_experiment(version=1))
    v2 = make_experiment(version=2, salt="v2")
    assert assign_experiment(workspace, v2).version == 2
    assert assign_experiment(workspace, v2).assigned == 0
    with pytest.raises(AssignmentError, match="version = 1"):
        assign_experiment(workspace, make_experiment(version=1))
    with pytest.raises(AssignmentError, match="different design"):
        assign_experiment(workspace, make_experiment(version=2, salt="v2b"))


def test_external_experiments_are_not_assigned(workspace: Workspace) -> None:
    with pytest.raises(AssignmentError, match="external"):
        assign_experiment(workspace, make_experiment(assignment="external"))


# --- global holdout and layers --------------------------------------------------------------


def test_global_holdout_is_assigned_to_no_experiment(workspace: Workspace) -> None:
    _population(workspace, 2000)
    assert get_global_holdout(workspace) is None
    setting = set_global_holdout(workspace, salt="program-2026", percent=20)
    assert setting is not None
    assert get_global_holdout(workspace) == setting
    held = {f"c{i}" for i in range(2000) if bucket("program-2026", f"c{i}") < 2000}
    result = assign_experiment(workspace, make_experiment())
    assigned = {row[0] for row in assignments(workspace)}
    assert not assigned & held
    consented_held = {c for c in held if int(c[1:]) % 5 != 0}
    assert result.excluded["global_holdout"] == len(held)
    assert len(assigned) == 1600 - len(consented_held)
    assert global_holdout_units(workspace) == {"global_holdout": len(held), "everyone_else": 2000 - len(held)}
    labelled = workspace.con.execute(
        "SELECT contact_id FROM _global_holdout_units WHERE arm = 'global_holdout'"
    ).fetchall()
    assert {row[0] for row in labelled} == held
    set_global_holdout(workspace, salt="program-2026", percent=10)
    with pytest.raises(AssignmentError, match="workspace global holdout"):
        assign_experiment(workspace, make_experiment())
    assert set_global_holdout(workspace, salt="x", percent=0) is None
    assert get_global_holdout(workspace) is None
    with pytest.raises(ConfigError, match="between 0 and 100"):
        set_global_holdout(workspace, salt="x", percent=101)


def test_layers_keep_experiments_disjoint(workspace: Workspace) -> None:
    _population(workspace, 2000)
    first = make_experiment(id="first", layer={"name": "marketing", "buckets": [0, 5000]})
    second = make_experiment(id="second", layer={"name": "marketing", "buckets": [5000, 10000]})
    r1 = assign_experiment(workspace, first)
    r2 = assign_experiment(workspace, second)
    a1 = {row[0] for row in assignments(workspace, "first")}
    a2 = {row[0] for row in assignments(workspace, "second")}
    assert not a1 & a2
    assert len(a1 | a2) == 1600
    assert r1.excluded["layer"] + sum(r1.by_arm.values()) + r1.excluded["no_consent"] == 2000
    assert all(bucket("marketing", c) < 5000 for c in a1)
    # Within the layer, arms come from the experiment's own salt.
    ranges = first.ranges()
    assert all(arm_for_bucket(ranges, bucket("first", c)) == arm for c, arm, _, _ in assignments(workspace, "first"))
    assert r2.by_arm["holdout"] > 0
    overlapping = make_experiment(id="third", layer={"name": "marketing", "buckets": [4000, 6000]})
    with pytest.raises(AssignmentError, match="overlap experiment first"):
        assign_experiment(workspace, overlapping)
    other_salt = make_experiment(id="fourth", layer={"name": "marketing", "salt": "x", "buckets": [0, 1]})
    with pytest.raises(AssignmentError, match="share its salt"):
        assign_experiment(workspace, other_salt)


# --- exports -------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_assignments(workspace: Workspace, tmp_path: Path) -> None:
    _population(workspace, 50)
    experiment = make_experiment()
    result = assign_experiment(workspace, experiment)
    path = tmp_path / "out" / "assignments.csv"
    assert export_assignments(workspace, experiment, path) == result.assigned
    rows = _read_csv(path)
    assert list(rows[0]) == ["experiment_id", "contact_id", "arm", "bucket", "assigned_at"]
    assert {r["assigned_at"] for r in rows} == {"2026-11-02T09:00:00Z"}
    stored = {row[0]: row for row in assignments(workspace)}
    for row in rows:
        assert (row["arm"], int(row["bucket"])) == stored[row["contact_id"]][1:3]


def test_export_send_list(workspace: Workspace, tmp_path: Path) -> None:
    _population(workspace, 200)
    workspace.con.execute(
        "INSERT INTO identities SELECT 'c' || i, 'whatsapp', '+5511900' || i, NULL FROM range(200) AS r(i)"
    )
    workspace.con.execute(
        "INSERT INTO identities SELECT 'c' || i, 'whatsapp', '+5511800' || i, '15550001111' "
        "FROM range(100) AS r(i)"
    )
    workspace.con.execute("INSERT INTO identities SELECT 'c' || i, 'sms', 'sms' || i, NULL FROM range(200) AS r(i)")
    workspace.con.execute(
        "INSERT INTO identities SELECT 'c' || i, 'whatsapp', 'other' || i, '15550002222' FROM range(200) AS r(i)"
    )
    experiment = make_experiment(sender_id="15550001111")
    result = assign_experiment(workspace, experiment)
    path = tmp_path / "send.csv"
    written = export_send_list(workspace, experiment, path)
    rows = _read_csv(path)
    assert written == len(rows) == result.by_arm["whatsapp"]
    for row in rows:
        number = int(row["contact_id"][1:])
        assert row["arm"] == "whatsapp"
        assert row["channel"] == "whatsapp"
        expected = f"+5511800{number}" if number < 100 else f"+5511900{number}"
        assert row["address"] == expected


def test_duplicate_candidates_are_assigned_once(workspace: Workspace) -> None:
    add_contacts(workspace, "dup", "dup", "solo")
    consent(workspace, "dup", AT - DAY)
    consent(workspace, "dup", AT - DAY, scope="all")
    consent(workspace, "solo", AT - DAY)
    experiment = make_experiment(audience_sql="select contact_id from contacts union all select 'dup'")
    result = assign_experiment(workspace, experiment)
    assert result.assigned == 2
    assert [row[0] for row in assignments(workspace)] == ["dup", "solo"]


def test_snapshot_with_an_audience(workspace: Workspace) -> None:
    add_contacts(workspace, "br", market="BR")
    add_contacts(workspace, "mx", market="MX")
    consent(workspace, "br", AT - DAY)
    consent(workspace, "mx", AT - DAY)
    experiment = make_experiment(audience_sql="select contact_id from contacts where market = 'BR'")
    statuses = {s.contact_id: s for s in eligibility_snapshot(workspace, experiment, ["mx", "br"])}
    assert statuses["mx"].reason == "not_in_audience"
    assert statuses["br"].eligible
    assert statuses["br"].assigned_at == AT


def test_a_rerun_before_assigned_at_still_evaluates_at_assigned_at(workspace: Workspace) -> None:
    add_contacts(workspace, "a")
    consent(workspace, "a", AT - DAY)
    assign_experiment(workspace, make_experiment(enrolment="rolling"), now=AT - 3 * DAY)
    add_contacts(workspace, "b")
    consent(workspace, "b", AT - DAY)
    result = assign_experiment(workspace, make_experiment(enrolment="rolling"), now=AT - 2 * DAY)
    assert result.evaluated_at == AT
    assert {row[0]: row[3] for row in assignments(workspace)} == {"a": AT, "b": AT}


@pytest.mark.slow
def test_a_million_contacts_match_the_python_contract(workspace: Workspace) -> None:
    """Every arm of a 1M-contact batch assignment equals the pure Python computation."""
    n = 1_000_000
    workspace.con.execute(
        "INSERT INTO contacts SELECT 'id-' || CAST(i * 7919 AS VARCHAR), 'BR', $t FROM range($n) AS r(i)",
        {"t": AT - 400 * DAY, "n": n},
    )
    experiment = make_experiment(
        salt="million",
        arms=[
            {"name": "holdout", "weight": 7.5, "holdout": True},
            {"name": "a", "weight": 46.25},
            {"name": "b", "weight": 46.25},
        ],
        eligibility={"require_consent": False, "exclude_feedback_days": 0},
    )
    result = assign_experiment(workspace, experiment)
    assert result.assigned == n
    ranges = experiment.ranges()
    rows = workspace.con.execute(
        "SELECT contact_id, arm, bucket FROM assignments WHERE experiment_id = 'exp'"
    ).fetchall()
    mismatches = [
        row for row in rows
        if row[2] != bucket("million", row[0]) or row[1] != arm_for_bucket(ranges, row[2])
    ]
    assert mismatches == []
