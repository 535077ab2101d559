"""Guardrails: exact per-arm rates, non-inferiority breaches, and exit code 3."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from experiments import two_arm_toml
from threadlift.analysis import analyze
from threadlift.cli import main
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)
N_HOLDOUT, N_TREATMENT = 2_000, 18_000
# (kind, holdout events, treatment events): rates 0.2% vs 0.6%, 0.1% vs 0.15%, 0.5% vs 0.5%
EVENTS = {"block": (4, 108), "report": (2, 27), "opt_out": (10, 90)}


def experiment_text(margins: dict[str, float]) -> str:
    text = two_arm_toml("gr")
    for kind, margin in margins.items():
        text += f'[[guardrails]]\nname = "{kind}_rate"\nkind = "{kind}"\nmax_increase = {margin}\n'
    text += '[[guardrails]]\nname = "stops"\nkind = "marketing_stop"\nmax_increase = 0.01\n'
    return text


@pytest.fixture
def guarded(workspace: Workspace) -> Workspace:
    holdout = [f"h{i}" for i in range(N_HOLDOUT)]
    treated = [f"t{i}" for i in range(N_TREATMENT)]
    rows = [("gr", c, "holdout", 1, T0) for c in holdout] + [("gr", c, "whatsapp", 5000, T0) for c in treated]
    frame = pd.DataFrame(rows, columns=["experiment_id", "contact_id", "arm", "bucket", "assigned_at"])
    workspace.con.register("assignments_df", frame)
    workspace.con.execute("INSERT INTO assignments SELECT * FROM assignments_df")
    feedback = []
    for kind, (h, t) in EVENTS.items():
        feedback += [(c, "whatsapp", "S1", kind, T0 + timedelta(days=2), None) for c in holdout[:h]]
        feedback += [(c, "whatsapp", "S1", kind, T0 + timedelta(days=3), None) for c in treated[:t]]
    # outside the window, another channel, or before assignment: never counted
    feedback += [(treated[-1], "whatsapp", "S1", "block", T0 + timedelta(days=8), None)]
    feedback += [(treated[-2], "sms", None, "block", T0 + timedelta(days=1), None)]
    feedback += [(treated[-3], "whatsapp", "S1", "block", T0 - timedelta(days=1), None)]
    # a contact blocking twice counts once
    feedback += [(treated[0], "whatsapp", "S1", "block", T0 + timedelta(days=4), None)]
    feedback_frame = pd.DataFrame(
        feedback, columns=["contact_id", "channel", "sender_id", "kind", "ts", "reason"]
    )
    workspace.con.register("feedback_df", feedback_frame)
    workspace.con.execute("INSERT INTO feedback SELECT * FROM feedback_df")
    # marketing stops: a consent revoke in holdout, a 131050 failure and a revoke in treatment
    workspace.con.executemany(
        "INSERT INTO consents VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(holdout[5], "whatsapp", "S1", "marketing", "revoked", T0 + timedelta(days=1), "user_preferences"),
         (treated[7], "whatsapp", "S1", "marketing", "revoked", T0 + timedelta(days=1), "user_preferences")],
    )
    workspace.con.execute(
        "INSERT INTO messages VALUES ('m1', $c, 'whatsapp', 'S1', 'gr', 'whatsapp', NULL, 'tpl', 'marketing', $ts)",
        {"c": treated[8], "ts": T0 + timedelta(hours=1)},
    )
    workspace.con.execute(
        "INSERT INTO message_events VALUES ('m1', 'failed', $ts, '131050', NULL, NULL)",
        {"ts": T0 + timedelta(hours=2)},
    )
    return workspace


def _welch_noninferiority(h: int, t: int, margin: float) -> float:
    """One-sided Welch p-value of H0: p_t - p_h >= margin, written out by hand."""
    x = np.r_[np.ones(t), np.zeros(N_TREATMENT - t)]
    y = np.r_[np.ones(h), np.zeros(N_HOLDOUT - h)]
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    statistic = (x.mean() - y.mean() - margin) / se
    return float(sps.t.cdf(statistic, df))


def test_exact_rates_and_breaches_follow_the_margins(guarded: Workspace) -> None:
    # block: true increase 0.004 > margin 0.001 → breach; report: +0.0005 < 0.01 → holds;
    # opt_out: no increase, margin 0.005 → holds
    margins = {"block": 0.001, "report": 0.01, "opt_out": 0.005}
    result = analyze(guarded, parse_experiment(experiment_text(margins)), as_of=T0 + timedelta(days=10))
    by_kind = {g.kind: g for g in result.guardrails}
    for kind, (h, t) in EVENTS.items():
        row = by_kind[kind]
        assert row.control == h / N_HOLDOUT
        assert row.treatment == t / N_TREATMENT
        assert row.effect_size == pytest.approx(t / N_TREATMENT - h / N_HOLDOUT, abs=1e-15)
        assert row.pvalue == pytest.approx(_welch_noninferiority(h, t, margins[kind]), rel=1e-9)
    assert by_kind["block"].breached is True
    assert by_kind["report"].breached is False
    assert by_kind["opt_out"].breached is False
    stops = by_kind["marketing_stop"]
    assert stops.control == 1 / N_HOLDOUT
    assert stops.treatment == 2 / N_TREATMENT
    assert [a.kind for a in result.alerts] == ["guardrail"]
    assert "block_rate" in result.alerts[0].message


def test_report_exits_3_on_a_breach_and_0_without(guarded: Workspace, tmp_path: Path) -> None:
    ws_path = str(guarded.path)
    guarded.close()
    runner = CliRunner()
    breach = tmp_path / "breach.toml"
    breach.write_text(experiment_text({"block": 0.001}))
    done = runner.invoke(main, ["report", str(breach), "--out", str(tmp_path / "a"),
                                "--as-of", "2026-11-12T09:00:00Z", "-w", ws_path])
    assert done.exit_code == 3, done.output
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["status"] == "alert"
    assert [a["kind"] for a in report["alerts"]] == ["guardrail"]
    clean = tmp_path / "clean.toml"
    clean.write_text(experiment_text({"block": 0.02}))
    done = runner.invoke(main, ["report", str(clean), "--out", str(tmp_path / "b"),
                                "--as-of", "2026-11-12T09:00:00Z", "-w", ws_path])
    assert done.exit_code == 0, done.output
