"""A first run that cannot mislead: nobody eligible is refused without registering the
design, ``enrolment = "once"`` refuses to add units later, ``rolling`` adds them dated
when first assigned; the CLI's exit code, message and progress display."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from experiments import two_arm_toml
from threadlift.assign.assignment import (
    ENROLMENT_CLOSED,
    assign_experiment,
    eligibility_snapshot,
)
from threadlift.cli import main
from threadlift.errors import EnrolmentClosedError, NoEligibleContactsError
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

AT = datetime(2026, 11, 2, 9, 0, 0)
DAY = timedelta(days=1)


def _experiment(**overrides: Any) -> Experiment:
    fields: dict[str, Any] = {
        "id": "camp",
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


def _contacts(ws: Workspace, n: int) -> None:
    ws.con.execute(
        "INSERT INTO contacts SELECT 'c' || i, 'BR', $t FROM range($n) AS r(i)",
        {"t": AT - 400 * DAY, "n": n},
    )


def _consents(ws: Workspace, ids: list[str], ts: datetime) -> None:
    ws.con.executemany(
        "INSERT INTO consents VALUES ($1, 'whatsapp', NULL, 'marketing', 'granted', $2, 'form')",
        [(contact_id, ts) for contact_id in ids],
    )


def _stored(ws: Workspace, experiment_id: str = "camp") -> dict[str, tuple[str, datetime]]:
    rows = ws.con.execute(
        "SELECT contact_id, arm, assigned_at FROM assignments WHERE experiment_id = $e",
        {"e": experiment_id},
    ).fetchall()
    return {str(c): (str(arm), at) for c, arm, at in rows}


def _registered(ws: Workspace, experiment_id: str = "camp") -> int:
    row = ws.con.execute(
        "SELECT count(*) FROM assignment_registry WHERE experiment_id = $e", {"e": experiment_id}
    ).fetchone()
    assert row is not None
    return int(row[0])


# --- nobody eligible ---------------------------------------------------------------------


def test_nobody_eligible_is_refused_registers_nothing_and_a_later_run_dates_to_assigned_at(
    workspace: Workspace,
) -> None:
    _contacts(workspace, 50)
    experiment = _experiment()
    with pytest.raises(NoEligibleContactsError) as nobody:
        assign_experiment(workspace, experiment, now=AT + 3 * DAY)
    assert nobody.value.exit_code == 2
    assert nobody.value.excluded == {"no_consent": 50}
    message = str(nobody.value)
    assert "no_consent 50" in message
    assert "threadlift load consents FILE" in message
    assert _registered(workspace) == 0
    assert _stored(workspace) == {}
    # the missing consents arrive (granted before assigned_at); the run days later is
    # still the first, so every unit is dated to the file's assigned_at, not to the run
    _consents(workspace, [f"c{i}" for i in range(50)], AT - 10 * DAY)
    result = assign_experiment(workspace, experiment, now=AT + 5 * DAY)
    assert result.assigned == 50
    assert result.evaluated_at == AT
    assert {at for _arm, at in _stored(workspace).values()} == {AT}
    assert _registered(workspace) == 1


def test_an_empty_workspace_says_to_load_contacts(workspace: Workspace) -> None:
    with pytest.raises(NoEligibleContactsError, match="threadlift load contacts FILE") as nobody:
        assign_experiment(workspace, _experiment())
    assert nobody.value.excluded == {}
    assert _registered(workspace) == 0


def test_every_reason_that_excluded_everyone_is_named_with_its_fix(workspace: Workspace) -> None:
    _contacts(workspace, 4)
    _consents(workspace, ["c0", "c1"], AT + DAY)  # granted after assigned_at
    workspace.con.execute(
        "INSERT INTO consents VALUES ('c2', 'whatsapp', 'other', 'marketing', 'granted', $t, 'form')",
        {"t": AT - DAY},
    )
    with pytest.raises(NoEligibleContactsError) as nobody:
        assign_experiment(workspace, _experiment(sender_id="mine"))
    assert nobody.value.excluded == {"consent_after_assignment": 2, "other_sender": 1, "no_consent": 1}
    message = str(nobody.value)
    # largest first, each with what to check
    assert "(consent_after_assignment 2, " in message
    assert "check assigned_at" in message
    assert "check sender_id = 'mine'" in message


def test_an_empty_new_version_keeps_the_current_one(workspace: Workspace) -> None:
    _contacts(workspace, 20)
    _consents(workspace, [f"c{i}" for i in range(20)], AT - DAY)
    assign_experiment(workspace, _experiment())
    before = _stored(workspace)
    # version 2 starts a day earlier, before any consent: nobody eligible, nothing archived
    with pytest.raises(NoEligibleContactsError):
        assign_experiment(workspace, _experiment(assigned_at="2026-10-01T09:00:00Z"), new_version=True)
    assert _stored(workspace) == before
    rows = workspace.con.execute(
        "SELECT version, retired_at FROM assignment_registry WHERE experiment_id = 'camp'"
    ).fetchall()
    assert rows == [(1, None)]


# --- enrolment -----------------------------------------------------------------------------


def test_once_reruns_idempotently_and_refuses_to_add_late_eligible_contacts(workspace: Workspace) -> None:
    _contacts(workspace, 30)
    _consents(workspace, [f"c{i}" for i in range(20)], AT - DAY)
    experiment = _experiment()
    assert experiment.enrolment == "once"
    first = assign_experiment(workspace, experiment, now=AT)
    assert first.assigned == 20
    before = _stored(workspace)
    again = assign_experiment(workspace, experiment, now=AT + 4 * DAY)
    assert (again.assigned, again.already_assigned) == (0, 20)
    assert again.excluded == {"no_consent": 10}
    assert again.evaluated_at == AT
    # consents for c20..c24 turn up, granted before assigned_at: adding them now would
    # date them to the run, so the run is refused and writes nothing
    _consents(workspace, [f"c{i}" for i in range(20, 25)], AT - DAY)
    with pytest.raises(EnrolmentClosedError) as closed:
        assign_experiment(workspace, experiment, now=AT + 5 * DAY)
    assert closed.value.exit_code == 2
    assert closed.value.newly_eligible == 5
    assert 'enrolment = "rolling"' in str(closed.value)
    assert "--new-version" in str(closed.value)
    assert _stored(workspace) == before
    # a new version assigns the whole audience afresh, every unit dated to assigned_at
    renewed = assign_experiment(workspace, experiment, new_version=True, now=AT + 6 * DAY)
    assert (renewed.version, renewed.assigned) == (2, 25)
    assert {at for _arm, at in _stored(workspace).values()} == {AT}


def test_once_ignores_contacts_who_became_eligible_after_assigned_at(workspace: Workspace) -> None:
    _contacts(workspace, 10)
    _consents(workspace, [f"c{i}" for i in range(10)], AT - DAY)
    experiment = _experiment()
    assign_experiment(workspace, experiment, now=AT)
    # a new customer who opted in after the campaign's audience was frozen is not in it
    workspace.con.execute("INSERT INTO contacts VALUES ('late', 'BR', $t)", {"t": AT + DAY})
    _consents(workspace, ["late"], AT + DAY)
    result = assign_experiment(workspace, experiment, now=AT + 2 * DAY)
    assert result.assigned == 0
    assert result.excluded == {"consent_after_assignment": 1}
    assert "late" not in _stored(workspace)


def test_rolling_adds_late_contacts_dated_when_first_assigned(workspace: Workspace) -> None:
    _contacts(workspace, 10)
    _consents(workspace, [f"c{i}" for i in range(8)], AT - DAY)
    experiment = _experiment(enrolment="rolling")
    assign_experiment(workspace, experiment, now=AT)
    _consents(workspace, ["c8", "c9"], AT + DAY)
    later = AT + 2 * DAY
    result = assign_experiment(workspace, experiment, now=later)
    assert result.assigned == 2
    stored = _stored(workspace)
    assert {c: at for c, (_arm, at) in stored.items() if at != AT} == {"c8": later, "c9": later}


def test_switching_once_to_rolling_is_not_a_design_change(workspace: Workspace) -> None:
    _contacts(workspace, 6)
    _consents(workspace, ["c0", "c1", "c2"], AT - DAY)
    assign_experiment(workspace, _experiment(), now=AT)
    _consents(workspace, ["c3"], AT - DAY)
    with pytest.raises(EnrolmentClosedError):
        assign_experiment(workspace, _experiment(), now=AT + DAY)
    result = assign_experiment(workspace, _experiment(enrolment="rolling"), now=AT + DAY)
    assert (result.version, result.assigned) == (1, 1)
    assert _stored(workspace)["c3"][1] == AT + DAY


def test_the_snapshot_says_what_the_next_run_would_do(workspace: Workspace) -> None:
    _contacts(workspace, 4)
    _consents(workspace, ["c0", "c1"], AT - DAY)
    assign_experiment(workspace, _experiment(), now=AT)
    _consents(workspace, ["c2"], AT - DAY)
    later = AT + 3 * DAY
    once = {s.contact_id: s for s in eligibility_snapshot(workspace, _experiment(), ["c0", "c2", "c3"], now=later)}
    assert once["c0"].assigned
    assert once["c0"].eligible
    assert (once["c2"].eligible, once["c2"].reason, once["c2"].arm) == (False, ENROLMENT_CLOSED, None)
    assert once["c3"].reason == "no_consent"
    assert once["c2"].evaluated_at == AT
    rolling = eligibility_snapshot(workspace, _experiment(enrolment="rolling"), ["c2"], now=later)
    assert (rolling[0].eligible, rolling[0].assigned_at) == (True, later)
    assert rolling[0].arm is not None


# --- the command ---------------------------------------------------------------------------


def _cli_workspace(tmp_path: Path, consented: int) -> tuple[Path, Path]:
    ws_path = tmp_path / "shop.duckdb"
    with Workspace.create(ws_path) as ws:
        _contacts(ws, 12)
    consents = tmp_path / "consents.csv"
    with consents.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["contact_id", "channel", "sender_id", "scope", "status", "ts", "source"])
        for i in range(consented):
            writer.writerow([f"c{i}", "whatsapp", "", "marketing", "granted", "2026-10-01T00:00:00Z", "form"])
    return ws_path, consents


def test_cli_exits_2_with_the_counts_and_registers_nothing(tmp_path: Path) -> None:
    ws_path, consents = _cli_workspace(tmp_path, 12)
    experiment = tmp_path / "camp.toml"
    experiment.write_text(two_arm_toml("camp"), encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(main, ["assign", str(experiment), "-w", str(ws_path)])
    assert refused.exit_code == 2, refused.output
    assert "Error: experiment camp: nobody is eligible" in refused.stderr
    assert "no_consent 12" in refused.stderr
    assert "threadlift load consents FILE" in refused.stderr
    with Workspace.open(ws_path, read_only=True) as ws:
        assert _registered(ws) == 0
        assert _stored(ws) == {}
    loaded = runner.invoke(main, ["load", "consents", str(consents), "-w", str(ws_path)])
    assert loaded.exit_code == 0, loaded.output
    assigned = runner.invoke(main, ["assign", str(experiment), "-w", str(ws_path)])
    assert assigned.exit_code == 0, assigned.output
    assert "camp: 12 newly assigned" in assigned.stdout
    with Workspace.open(ws_path, read_only=True) as ws:
        assert {at for _arm, at in _stored(ws).values()} == {AT}


def test_cli_refuses_to_add_units_to_a_once_experiment(tmp_path: Path) -> None:
    ws_path, consents = _cli_workspace(tmp_path, 12)
    with Workspace.open(ws_path) as ws:
        _consents(ws, ["c0"], AT - DAY)
    experiment = tmp_path / "camp.toml"
    experiment.write_text(two_arm_toml("camp"), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["assign", str(experiment), "-w", str(ws_path)]).exit_code == 0
    assert runner.invoke(main, ["load", "consents", str(consents), "-w", str(ws_path)]).exit_code == 0
    refused = runner.invoke(main, ["assign", str(experiment), "-w", str(ws_path)])
    assert refused.exit_code == 2
    assert 'enrolment = "once"' in refused.stderr
    assert "--new-version" in refused.stderr
    renewed = runner.invoke(main, ["assign", str(experiment), "--new-version", "-w", str(ws_path)])
    assert renewed.exit_code == 0, renewed.output
    assert "camp: 12 newly assigned, 0 already assigned" in renewed.stdout


@pytest.mark.parametrize("terminal", [True, False])
def test_cli_shows_stages_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    import threadlift.cli.progress as progress_module

    ws_path, consents = _cli_workspace(tmp_path, 12)
    experiment = tmp_path / "camp.toml"
    experiment.write_text(two_arm_toml("camp"), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["load", "consents", str(consents), "-w", str(ws_path)]).exit_code == 0
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=100) if terminal else None
    monkeypatch.setattr(progress_module, "stderr_console", lambda: console)
    result = runner.invoke(
        main, ["assign", str(experiment), "-w", str(ws_path), "--out", str(tmp_path / "a.csv")]
    )
    assert result.exit_code == 0, result.output
    # the results stay on stdout, plain, whether or not the stages were drawn
    assert result.stdout.splitlines()[0] == "camp: 12 newly assigned, 0 already assigned"
    assert "\x1b" not in result.stdout
    drawn = sink.getvalue()
    if terminal:
        for stage in ("eligibility state", "audience", "eligibility", "writing"):
            assert f"assign camp: {stage}" in drawn, (stage, drawn)
        assert "assign camp: export" in drawn
        assert "newly assigned" not in drawn
    else:
        assert drawn == ""
        assert result.stderr == ""


def test_cli_rerun_rewrites_its_exports(tmp_path: Path) -> None:
    """A second run over existing export files replaces them (DuckDB writes tmp_<name> first,
    which the sandbox must allow)."""
    ws_path, consents = _cli_workspace(tmp_path, 12)
    experiment = tmp_path / "camp.toml"
    experiment.write_text(two_arm_toml("camp"), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["load", "consents", str(consents), "-w", str(ws_path)]).exit_code == 0
    out, send = tmp_path / "assignments.csv", tmp_path / "send.csv"
    args = ["assign", str(experiment), "-w", str(ws_path), "--out", str(out), "--send-list", str(send)]
    for _run in range(2):
        out.write_text("stale\n", encoding="utf-8")
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        rows = out.read_text(encoding="utf-8").splitlines()
        assert rows[0] == "experiment_id,contact_id,arm,bucket,assigned_at"
        assert len(rows) == 13
    assert not (tmp_path / "tmp_assignments.csv").exists()
