"""Experiments assigned elsewhere (``assignment = "external"``) and rolling enrolment."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from threadlift.analysis import analyze
from threadlift.experiment import parse_experiment
from threadlift.loading import load_files
from threadlift.workspace import Workspace

T0 = datetime(2026, 3, 2, 8, 0, 0)

EXPERIMENT = """
id = "crm-split"
channel = "sms"
assignment = "external"
assigned_at = 2026-03-02T08:00:00Z
window_days = 10
[[arms]]
name = "control"
weight = 20
holdout = true
[[arms]]
name = "sms"
weight = 80
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"
[[metrics]]
name = "revenue"
type = "mean"
action = "order"
"""


def _write_inputs(tmp_path: Path, seed: int, control_share: float) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    n = 4000
    ids = [f"k{i}" for i in range(n)]
    arms = np.where(rng.random(n) < control_share, "control", "sms")
    # rolling enrolment over three weeks
    assigned = [T0 + timedelta(hours=int(h)) for h in rng.integers(0, 21 * 24, n)]
    contacts = pd.DataFrame({"contact_id": ids, "market": "US", "created_at": T0})
    assignments = pd.DataFrame(
        {"experiment_id": "crm-split", "contact_id": ids, "arm": arms, "assigned_at": assigned}
    )
    rows = []
    for cid, arm, at in zip(ids, arms, assigned, strict=True):
        rate = 0.5 if arm == "sms" else 0.35
        for _ in range(rng.poisson(rate)):
            # actions spread from 5 days before to 15 days after the unit's own assignment
            ts = at + timedelta(hours=float(rng.uniform(-5 * 24, 15 * 24)))
            rows.append((cid, ts, round(float(rng.gamma(2.0, 15.0)), 2)))
    actions = pd.DataFrame(rows, columns=["contact_id", "ts", "value"])
    actions.insert(0, "action_id", [f"o{i}" for i in range(len(actions))])
    actions.insert(2, "action", "order")
    paths = {
        "contacts": tmp_path / "contacts.csv",
        "assignments": tmp_path / "assignments.csv",
        "actions": tmp_path / "actions.parquet",
        "experiment": tmp_path / "crm.toml",
    }
    contacts.to_csv(paths["contacts"], index=False)
    assignments.to_csv(paths["assignments"], index=False)
    actions.to_parquet(paths["actions"])
    paths["experiment"].write_text(EXPERIMENT, encoding="utf-8")
    return paths


def _load(ws: Workspace, paths: dict[str, Path]) -> None:
    experiment = parse_experiment(paths["experiment"].read_text())
    load_files(ws, "contacts", [paths["contacts"]])
    load_files(ws, "actions", [paths["actions"]])
    load_files(ws, "assignments", [paths["assignments"]], experiments=[experiment])


def test_rolling_windows_match_an_independent_per_unit_computation(
    workspace: Workspace, tmp_path: Path
) -> None:
    paths = _write_inputs(tmp_path, seed=3, control_share=0.2)
    _load(workspace, paths)
    experiment = parse_experiment(paths["experiment"].read_text())
    as_of = T0 + timedelta(days=26)
    result = analyze(workspace, experiment, as_of=as_of)
    assert result.srm.passed

    units = pd.read_csv(paths["assignments"], parse_dates=["assigned_at"])
    actions = pd.read_parquet(paths["actions"])
    joined = units.merge(actions, on="contact_id", how="left")
    end = np.minimum(joined.assigned_at + pd.Timedelta(days=10), pd.Timestamp(as_of))
    inside = (joined.ts >= joined.assigned_at) & (joined.ts < end)
    joined["value_in"] = np.where(inside, joined.value, 0.0)
    joined["hit"] = inside.astype(float)
    per_unit = joined.groupby(["contact_id", "arm"], as_index=False).agg(
        revenue=("value_in", "sum"), orders=("hit", "sum")
    )
    per_unit["conversion"] = (per_unit.orders > 0).astype(float)
    for metric in ("conversion", "revenue"):
        control = per_unit.loc[per_unit.arm == "control", metric].to_numpy()
        treatment = per_unit.loc[per_unit.arm == "sms", metric].to_numpy()
        welch = sps.ttest_ind(treatment, control, equal_var=False)
        interval = welch.confidence_interval(0.95)
        row = next(m for m in result.metrics if m.metric == metric)
        c = row.comparison
        assert c.control == pytest.approx(control.mean(), rel=1e-9)
        assert c.treatment == pytest.approx(treatment.mean(), rel=1e-9)
        assert c.pvalue == pytest.approx(welch.pvalue, rel=1e-7)
        assert c.effect_size_ci_lower == pytest.approx(interval.low, rel=1e-7)
        assert c.effect_size_ci_upper == pytest.approx(interval.high, rel=1e-7)


def test_a_skewed_external_split_raises_the_srm_alert(workspace: Workspace, tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path, seed=4, control_share=0.26)  # declared 20 / 80
    _load(workspace, paths)
    experiment = parse_experiment(paths["experiment"].read_text())
    result = analyze(workspace, experiment, as_of=T0 + timedelta(days=26))
    assert not result.srm.passed
    counts = [result.arms[0].units, result.arms[1].units]
    expected = sps.chisquare(counts, [sum(counts) * 0.2, sum(counts) * 0.8])
    assert result.srm.pvalue == pytest.approx(expected.pvalue, rel=1e-9)
    assert [a.kind for a in result.alerts] == ["srm"]
    assert result.to_dict()["status"] == "alert"


def test_bad_assignment_rows_are_quarantined_with_reasons_and_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    paths = _write_inputs(tmp_path, seed=5, control_share=0.2)
    with paths["assignments"].open("a") as handle:
        handle.write("crm-split,k1,treatment,2026-03-02T08:00:00Z\n")  # duplicate + unknown arm
        handle.write("crm-split,ghost,sms,2026-03-02T08:00:00Z\n")  # unknown contact
        handle.write("crm-split,k2,sms,2026-03-02T08:00:00Z\n")  # duplicate contact
    _load(workspace, paths)
    reasons = workspace.con.execute(
        "SELECT location, reason FROM quarantine WHERE target_table = 'assignments' ORDER BY location"
    ).fetchall()
    by_line = dict(reasons)
    assert "unknown arm treatment for experiment crm-split (arms: control, sms)" in by_line["line 4002"]
    assert "duplicate contact k1: listed 2 times in this file" in by_line["line 4002"]
    assert by_line["line 4003"] == "unknown contact ghost (load it into contacts first)"
    assert by_line["line 4004"] == "duplicate contact k2: listed 2 times in this file"
    assert by_line["line 3"] == "duplicate contact k1: listed 2 times in this file"
    assert by_line["line 4"] == "duplicate contact k2: listed 2 times in this file"
    experiment = parse_experiment(paths["experiment"].read_text())
    report = analyze(workspace, experiment, as_of=T0 + timedelta(days=26)).to_dict()
    assert report["assignments_quarantined"] == 5
    assert report["arms"][0]["units"] + report["arms"][1]["units"] == 3998


def test_pre_period_balance_is_reported_and_matches_scipy(workspace: Workspace, tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path, seed=6, control_share=0.2)
    text = paths["experiment"].read_text().replace(
        'name = "revenue"\ntype = "mean"\naction = "order"\n',
        'name = "revenue"\ntype = "mean"\naction = "order"\ncuped_days = 5\n',
    )
    paths["experiment"].write_text(text)
    _load(workspace, paths)
    experiment = parse_experiment(text)
    as_of = T0 + timedelta(days=26)
    report = analyze(workspace, experiment, as_of=as_of).to_dict()
    (row,) = report["balance"]
    units = pd.read_csv(paths["assignments"], parse_dates=["assigned_at"])
    actions = pd.read_parquet(paths["actions"])
    joined = units.merge(actions, on="contact_id", how="left")
    pre = (joined.ts >= joined.assigned_at - pd.Timedelta(days=5)) & (joined.ts < joined.assigned_at)
    joined["pre"] = np.where(pre, joined.value, 0.0)
    per_unit = joined.groupby(["contact_id", "arm"], as_index=False).pre.sum()
    control = per_unit.loc[per_unit.arm == "control", "pre"].to_numpy()
    treatment = per_unit.loc[per_unit.arm == "sms", "pre"].to_numpy()
    assert row["control_mean"] == pytest.approx(control.mean(), rel=1e-9)
    assert row["treatment_mean"] == pytest.approx(treatment.mean(), rel=1e-9)
    assert row["pvalue"] == pytest.approx(sps.ttest_ind(treatment, control, equal_var=False).pvalue, rel=1e-7)
