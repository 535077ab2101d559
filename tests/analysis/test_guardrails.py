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


CELLS = """
id = "cells"
channel = "whatsapp"
assigned_at = 2026-11-02T09:00:00Z
window_days = 7
[[arms]]
name = "holdout"
weight = 1
holdout = true
[[arms]]
name = "whatsapp"
weight = 1
[[arms]]
name = "sms"
weight = 1
channel = "sms"
[[arms]]
name = "email"
weight = 1
channel = "email"
[[guardrails]]
name = "opt_out_rate"
kind = "opt_out"
max_increase = 0.05
[[guardrails]]
name = "block_rate"
kind = "block"
max_increase = 0.01
[[guardrails]]
name = "bounce_rate"
kind = "undeliverable"
max_increase = 0.05
"""
CELL_UNITS = 200
# opt-outs per (arm, channel): the holdout stops on every channel; each cell on its own
# and, ignored for that cell, on others
OPT_OUTS = {
    ("holdout", "whatsapp"): 2, ("holdout", "sms"): 4, ("holdout", "email"): 6,
    ("whatsapp", "whatsapp"): 5, ("whatsapp", "sms"): 9,
    ("sms", "sms"): 12, ("sms", "whatsapp"): 7,
    ("email", "email"): 10, ("email", "sms"): 3,
}


def _cells(workspace: Workspace, opt_outs: dict[tuple[str, str], int]) -> Workspace:
    assignments, feedback, messages, events = [], [], [], []
    for arm in ("holdout", "whatsapp", "sms", "email"):
        contacts = [f"{arm}-{i}" for i in range(CELL_UNITS)]
        assignments += [("cells", c, arm, i, T0) for i, c in enumerate(contacts)]
        for (who, channel), n in opt_outs.items():
            if who == arm:
                # an SMS STOP, an e-mail unsubscribe, a WhatsApp opt-out: feedback rows
                feedback += [(c, channel, None, "opt_out", T0 + timedelta(days=1), "STOP")
                             for c in contacts[:n]]
        if arm == "email":
            # three bounces in the e-mail cell (failed e-mail sends, any code)
            for c in contacts[:3]:
                messages.append((f"m-{c}", c, "email", None, "cells", arm, None, None,
                                 "marketing", T0 + timedelta(hours=1)))
                events.append((f"m-{c}", "failed", T0 + timedelta(hours=2), "550", None, None))
    for table, rows in (("assignments", assignments), ("feedback", feedback),
                        ("messages", messages), ("message_events", events)):
        if rows:
            marks = ", ".join("?" for _ in rows[0])
            workspace.con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    return workspace


def test_each_cell_is_compared_on_its_own_channel(workspace: Workspace) -> None:
    result = analyze(_cells(workspace, OPT_OUTS), parse_experiment(CELLS),
                     as_of=T0 + timedelta(days=10))
    rows = {(g.guardrail, g.arm): g for g in result.guardrails}
    for arm in ("whatsapp", "sms", "email"):
        row = rows[("opt_out_rate", arm)]
        assert row.channel == arm
        assert row.control == OPT_OUTS[("holdout", arm)] / CELL_UNITS
        assert row.treatment == OPT_OUTS[(arm, arm)] / CELL_UNITS
        # Welch's one-sided test of p_t - p_h >= margin, written out
        h, t = OPT_OUTS[("holdout", arm)], OPT_OUTS[(arm, arm)]
        vh = h / CELL_UNITS * (1 - h / CELL_UNITS) / (CELL_UNITS - 1)
        vt = t / CELL_UNITS * (1 - t / CELL_UNITS) / (CELL_UNITS - 1)
        df = (vh + vt) ** 2 / (vh**2 / (CELL_UNITS - 1) + vt**2 / (CELL_UNITS - 1))
        statistic = ((t - h) / CELL_UNITS - 0.05) / math.sqrt(vh + vt)
        assert row.pvalue == pytest.approx(float(sps.t.cdf(statistic, df)), rel=1e-9)
    bounces = rows[("bounce_rate", "email")]
    assert (bounces.control, bounces.treatment) == (0.0, 3 / CELL_UNITS)
    report = result.to_dict()
    assert {(g["arm"], g["channel"]) for g in report["guardrails"]} == {
        ("whatsapp", "whatsapp"), ("sms", "sms"), ("email", "email")
    }


def test_an_sms_stop_in_the_sms_cell_moves_its_opt_out_guardrail(workspace: Workspace) -> None:
    more = {**OPT_OUTS, ("sms", "sms"): OPT_OUTS[("sms", "sms")] + 20}
    result = analyze(_cells(workspace, more), parse_experiment(CELLS),
                     as_of=T0 + timedelta(days=10))
    rows = {(g.guardrail, g.arm): g for g in result.guardrails}
    assert rows[("opt_out_rate", "sms")].treatment == 32 / CELL_UNITS
    assert rows[("opt_out_rate", "sms")].breached is True
    # the other cells and the holdout's SMS rate are untouched
    assert rows[("opt_out_rate", "sms")].control == 4 / CELL_UNITS
    assert rows[("opt_out_rate", "whatsapp")].treatment == 5 / CELL_UNITS
    assert rows[("opt_out_rate", "email")].treatment == 10 / CELL_UNITS


def test_a_degenerate_guardrail_reports_a_null_pvalue(workspace: Workspace) -> None:
    # nobody blocks anything: zero variance in both arms, nothing to test
    result = analyze(_cells(workspace, OPT_OUTS), parse_experiment(CELLS),
                     as_of=T0 + timedelta(days=10))
    report = json.loads(json.dumps(result.to_dict(), default=str))
    blocks = [g for g in report["guardrails"] if g["kind"] == "block"]
    assert len(blocks) == 3
    for row in blocks:
        assert row["error"] == "zero_variance"
        assert row["pvalue"] is None


def test_a_relative_margin_on_a_failure_guardrail_is_refused() -> None:
    from threadlift.errors import ConfigError

    text = two_arm_toml("gr") + (
        '[[guardrails]]\nname = "caps"\nkind = "marketing_cap"\nmax_rel_increase = 0.1\n'
    )
    with pytest.raises(ConfigError, match=r"holdout is never sent.*max_increase = 0\.01"):
        parse_experiment(text)
    absolute = text.replace("max_rel_increase = 0.1", "max_increase = 0.01")
    assert parse_experiment(absolute).guardrails[0].max_increase == 0.01
