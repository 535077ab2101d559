"""Exposures that contradict the assignment: the API records them and names the mismatch;
imported into the workspace, the report raises an ``exposure_mismatch`` alert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_world import ApiWorld, make_world
from threadlift.analysis import analyze
from threadlift.api.app import create_app
from threadlift.api.exposures import MISMATCHES, ExposureLog, import_exposures
from threadlift.assign.assignment import assign_experiment
from threadlift.engines.sqlfiles import sql_text
from threadlift.experiment import load_experiment
from threadlift.workspace import Workspace

MAIN = "wa-reactivation-2026-09"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    return make_world(tmp_path_factory.mktemp("exposures"), n_contacts=2_000, global_holdout=0)


@pytest.fixture(scope="module")
def client(world: ApiWorld) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings())) as test_client:
        yield test_client


def _by_arm(client: TestClient, world: ApiWorld) -> dict[str | None, list[str]]:
    """The world's contacts by the arm the API answers (None: not in the experiment)."""
    ids = [str(c) for c in world.data.tables["contacts"]["contact_id"]]
    answer = client.post(
        f"/v1/experiments/{MAIN}/assignments:batch", json={"contact_ids": ids}, headers=world.headers()
    ).json()
    arms: dict[str | None, list[str]] = {}
    for row in answer["assignments"]:
        arms.setdefault(row["arm"] if row["eligible"] else None, []).append(row["contact_id"])
    return arms


def _exposure(exposure_id: str, contact: str, arm: str | None, source: str) -> dict[str, Any]:
    return {"exposure_id": exposure_id, "experiment_id": MAIN, "contact_id": contact, "arm": arm,
            "ts": "2026-09-29T10:00:00Z", "source": source}


def test_the_api_and_the_reports_sql_test_the_same_mismatches_in_the_same_order() -> None:
    text = sql_text("analysis/exposure/exposures")
    found = re.findall(r"THEN '([a-z_]+)'", text)
    assert tuple(found) == MISMATCHES


def test_a_mismatched_exposure_is_recorded_flagged_and_raises_the_reports_alert(
    client: TestClient, world: ApiWorld, tmp_path: Path
) -> None:
    arms = _by_arm(client, world)
    held, sent = arms["holdout"], arms["whatsapp"]
    assert arms.get(None), "the world has contacts the experiment excludes"
    good = [
        _exposure("ok-send", sent[0], "whatsapp", "crm"),
        _exposure("ok-armless", sent[1], None, "crm"),
        _exposure("ok-would-be", held[0], "holdout", "counterfactual"),
    ]
    bad = {
        "wrong_arm": _exposure("bad-arm", held[1], "whatsapp", "crm"),
        "sent_to_holdout": _exposure("bad-holdout", held[2], None, "crm"),
        "counterfactual_in_treatment": _exposure("bad-would-be", sent[2], "whatsapp", "counterfactual"),
        "not_assigned": _exposure("bad-stranger", arms[None][0], "whatsapp", "crm"),
    }
    response = client.post(
        "/v1/exposures", json={"exposures": [*good, *bad.values()]}, headers=world.headers(world.write_key)
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    # a matching exposure's answer is unchanged: no mismatch key at all
    assert results[:3] == [{"exposure_id": e["exposure_id"], "status": "recorded"} for e in good]
    for (kind, item), result in zip(bad.items(), results[3:], strict=True):
        assert result["exposure_id"] == item["exposure_id"]
        assert result["status"] == "recorded"
        assert result["mismatch"] == kind
        assert item["contact_id"] in result["message"]
    assert "not in the experiment" in results[6]["message"]
    assert 'source "counterfactual"' in results[4]["message"]
    # recorded all the same: the send happened and the report must see it
    logged = {e.exposure_id for e in ExposureLog(world.settings().resolved_state_dir).read_all()}
    assert logged >= {e["exposure_id"] for e in [*good, *bad.values()]}
    again = client.post("/v1/exposures", json={"exposures": [bad["wrong_arm"]]}, headers=world.headers())
    assert again.json()["results"] == [{**results[3], "status": "duplicate"}]

    experiment = load_experiment(world.experiments_dir / "main.toml")
    with Workspace.open(world.workspace) as ws:
        assign_experiment(ws, experiment)
        import_exposures(ws, world.settings().resolved_state_dir)
        result = analyze(ws, experiment, as_of=datetime(2026, 10, 20))
    assert [a.kind for a in result.alerts if a.kind == "exposure_mismatch"] == ["exposure_mismatch"]
    mismatches = result.to_pandas("exposure_mismatches")
    assert sorted(mismatches["mismatch"]) == sorted(bad)
    assert mismatches["exposures"].tolist() == [1, 1, 1, 1]
    exposure = result.to_dict()["exposure"]
    assert exposure["exposures"] == len(good) + len(bad)
    rows = {row["arm"]: row for row in exposure["arms"]}
    assert rows["whatsapp"]["exposed_units"] == 2
    assert rows["holdout"]["counterfactual_units"] == 1
