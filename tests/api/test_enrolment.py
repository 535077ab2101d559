"""The API answers as the next ``assign`` run would: after the first run of an
``enrolment = "once"`` experiment, a contact who passes every rule but is not assigned is
``enrolment_closed`` (not eligible, nothing to send); a ``rolling`` experiment would add it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from experiments import two_arm_toml
from threadlift.api.app import create_app
from threadlift.api.security import new_api_key
from threadlift.api.settings import ApiSettings
from threadlift.assign.assignment import assign_experiment
from threadlift.experiment import load_experiment
from threadlift.workspace import Workspace

AT = datetime(2026, 11, 2, 9, 0, 0)


def test_a_late_eligible_contact_of_a_once_experiment_is_enrolment_closed(tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    (experiments / "once.toml").write_text(two_arm_toml("once"), encoding="utf-8")
    (experiments / "rolling.toml").write_text(
        two_arm_toml("rolling", keys='enrolment = "rolling"\n'), encoding="utf-8"
    )
    workspace = tmp_path / "ws.duckdb"
    grant = "INSERT INTO consents VALUES ($c, 'whatsapp', NULL, 'marketing', 'granted', $t, 'form')"
    with Workspace.create(workspace) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('early', 'BR', $t), ('late', 'BR', $t)",
                       {"t": AT - timedelta(days=400)})
        ws.con.execute(grant, {"c": "early", "t": AT - timedelta(days=1)})
        for name in ("once", "rolling"):
            assign_experiment(ws, load_experiment(experiments / f"{name}.toml"), now=AT)
        # the late contact's opt-in (before assigned_at) is loaded after the first runs
        ws.con.execute(grant, {"c": "late", "t": AT - timedelta(days=1)})
    key, line = new_api_key("crm", ["read"])
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{line}\n", encoding="utf-8")
    settings = ApiSettings.model_validate({
        "experiments_dir": experiments, "workspace": workspace, "keys_file": keys,
        "state_dir": tmp_path / "state", "refresh_seconds": 60, "startup_timeout_seconds": 20.0,
    })
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as api:
        once = api.get("/v1/experiments/once/assignments/late", headers=headers)
        assert once.status_code == 200, once.text
        body = once.json()
        assert (body["eligible"], body["reason"], body["arm"], body["send"]) == (
            False, "enrolment_closed", None, False
        )
        assert body["evaluated_at"] == "2026-11-02T09:00:00Z"
        assigned = api.get("/v1/experiments/once/assignments/early", headers=headers).json()
        assert (assigned["assigned"], assigned["eligible"]) == (True, True)
        rolling = api.get("/v1/experiments/rolling/assignments/late", headers=headers).json()
        assert rolling["eligible"] is True
        assert rolling["reason"] is None
        assert rolling["arm"] in {"holdout", "whatsapp"}
