"""Lift split by the 24-hour customer-service-window state at assignment.

The stratum is decided before treatment (an inbound message in the 24 hours up to
``assigned_at``), so both arms split alike. Each stratum's lift is checked against
scipy's Welch t-test on a pandas computation of the same per-unit outcomes.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from experiments import CONVERSION, two_arm_toml
from threadlift.analysis import analyze
from threadlift.experiment import parse_experiment
from threadlift.report.html import render_html
from threadlift.report.markdown import render_markdown
from threadlift.report.tables import shared_numbers
from threadlift.workspace import Workspace

T0 = datetime(2026, 3, 2, 9, 0, 0)
WINDOW_DAYS = 7
EXPERIMENT = two_arm_toml(
    "split",
    keys='sender_id = "S1"\n',
    assigned_at="2026-03-02T09:00:00Z",
    window_days=WINDOW_DAYS,
    weights=(50, 50),
    tables=CONVERSION + '[[metrics]]\nname = "revenue"\ntype = "mean"\naction = "order"\n',
)


def _frame(ws: Workspace, table: str, frame: pd.DataFrame) -> None:
    ws.con.register("_frame", frame)
    ws.con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
    ws.con.unregister("_frame")


def _hours(values: np.ndarray) -> list[datetime]:
    return [T0 + timedelta(hours=float(h)) for h in values]


def _build(ws: Workspace, *, session_messages: bool, n: int = 3_000, seed: int = 7) -> pd.DataFrame:
    """Units with known window states, sends and orders; returns the truth per unit."""
    rng = np.random.default_rng(seed)
    contact = np.array([f"c{i:05d}" for i in range(n)])
    arm = np.where(rng.random(n) < 0.5, "holdout", "whatsapp")
    # late enrolment for some units: their own assigned_at decides their window state
    offset = np.where(rng.random(n) < 0.2, 30.0, 0.0)
    assigned = T0 + pd.to_timedelta(offset, unit="h")
    open_window = rng.random(n) < 0.3
    _frame(ws, "assignments", pd.DataFrame({
        "experiment_id": "split", "contact_id": contact, "arm": arm, "bucket": 1, "assigned_at": assigned,
    }))
    # inbound: 1–23 h before assignment opens the window; decoys that must not count:
    # 30 h before (expired), on SMS, from another sender, and after assignment.
    opened = np.flatnonzero(open_window)
    inbound = [
        pd.DataFrame({
            "message_id": [f"in{i}" for i in opened], "contact_id": contact[opened],
            "channel": "whatsapp", "sender_id": "S1",
            "ts": assigned[opened] - pd.to_timedelta(rng.uniform(1, 23, opened.size), unit="h"),
            "type": "text", "context_message_id": None,
        })
    ]
    closed = np.flatnonzero(~open_window)
    for label, channel, sender, hours in (
        ("old", "whatsapp", "S1", -30.0), ("sms", "sms", "S1", -2.0),
        ("other", "whatsapp", "S2", -2.0), ("after", "whatsapp", "S1", 5.0),
    ):
        who = closed[rng.random(closed.size) < 0.15]
        inbound.append(pd.DataFrame({
            "message_id": [f"{label}{i}" for i in who], "contact_id": contact[who],
            "channel": channel, "sender_id": sender,
            "ts": assigned[who] + pd.to_timedelta(hours, unit="h"),
            "type": "text", "context_message_id": None,
        }))
    _frame(ws, "inbound", pd.concat(inbound, ignore_index=True))

    treated = np.flatnonzero(arm == "whatsapp")
    # open-window units mostly get a free-form session message, the others a template
    session = open_window[treated] & (rng.random(treated.size) < (0.8 if session_messages else 0.0))
    sent_at = assigned[treated] + pd.to_timedelta(rng.uniform(0.1, 3, treated.size), unit="h")
    _frame(ws, "messages", pd.DataFrame({
        "message_id": [f"m{i}" for i in treated], "contact_id": contact[treated],
        "channel": "whatsapp", "sender_id": "S1", "experiment_id": "split", "arm": "whatsapp",
        "campaign_id": "camp", "template": np.where(session, None, "promo"),
        "category": np.where(session, "service", "marketing"), "sent_at": sent_at,
    }))

    # orders: the effect differs by stratum; some fall before assignment or after the window
    rate = 0.10 + 0.05 * open_window + np.where(arm == "whatsapp", np.where(open_window, 0.08, 0.02), 0.0)
    orders = []
    for period, (low, high) in {"pre": (-200.0, -1.0), "in": (0.5, 24.0 * WINDOW_DAYS - 1), "post": (24.0 * WINDOW_DAYS + 1, 400.0)}.items():
        count = rng.poisson(rate if period == "in" else 0.1)
        who = np.repeat(np.arange(n), count)
        orders.append(pd.DataFrame({
            "action_id": [f"{period}{k}" for k in range(who.size)], "contact_id": contact[who],
            "action": "order",
            "ts": assigned[who] + pd.to_timedelta(rng.uniform(low, high, who.size), unit="h"),
            "value": np.round(rng.lognormal(3.0, 0.6, who.size), 2),
        }))
    actions = pd.concat(orders, ignore_index=True)
    _frame(ws, "actions", actions)

    units = pd.DataFrame({"contact_id": contact, "arm": arm, "assigned_at": assigned,
                          "state": np.where(open_window, "open", "closed")})
    window = actions.merge(units, on="contact_id")
    window = window[(window["ts"] >= window["assigned_at"])
                    & (window["ts"] < window["assigned_at"] + timedelta(days=WINDOW_DAYS))]
    per_unit = window.groupby("contact_id")["value"].agg(["count", "sum"])
    units = units.join(per_unit, on="contact_id")
    units["conversion"] = (units["count"].fillna(0) > 0).astype(float)
    units["revenue"] = units["sum"].fillna(0.0)
    sends = pd.DataFrame({"contact_id": contact[treated], "session": session})
    return units.merge(sends, on="contact_id", how="left")


def test_lift_per_window_stratum_matches_scipy_welch(workspace: Workspace) -> None:
    truth = _build(workspace, session_messages=True)
    experiment = parse_experiment(EXPERIMENT)
    result = analyze(workspace, experiment, as_of=T0 + timedelta(days=30))
    split = result.to_dict()["window_split"]
    assert split["reported"] is True
    assert split["session_messages"] == int(truth["session"].sum())
    assert split["template_messages"] == int((truth["session"] == False).sum())  # noqa: E712

    strata = {(r["window_state"], r["arm"]): r for r in split["strata"]}
    for (state, arm), group in truth.groupby(["state", "arm"]):
        row = strata[(state, arm)]
        assert row["units"] == len(group)
        if arm == "whatsapp":
            assert row["messages"] == len(group)
            assert row["session_share"] == pytest.approx(group["session"].mean(), rel=1e-12)
        else:
            assert row["messages"] == 0
            assert row["session_share"] is None

    rows = {(r["window_state"], r["metric"]): r for r in split["metrics"]}
    assert len(rows) == 4
    for (state, metric), row in rows.items():
        mine = truth[truth["state"] == state]
        control = mine.loc[mine["arm"] == "holdout", metric].to_numpy()
        treatment = mine.loc[mine["arm"] == "whatsapp", metric].to_numpy()
        welch = sps.ttest_ind(treatment, control, equal_var=False)
        low, high = welch.confidence_interval(0.95)
        assert row["control_units"] == control.size
        assert row["treatment_units"] == treatment.size
        assert row["effect_size"] == pytest.approx(treatment.mean() - control.mean(), rel=1e-9)
        assert row["effect_size_ci_lower"] == pytest.approx(low, rel=1e-9)
        assert row["effect_size_ci_upper"] == pytest.approx(high, rel=1e-9)
        assert row["pvalue"] == pytest.approx(welch.pvalue, rel=1e-7)
        assert row["rel_effect_size"] == pytest.approx(treatment.mean() / control.mean() - 1, rel=1e-9)

    # the strata differ by design (+8 points open vs +2 closed): the difference is tested
    open_row, closed_row = rows[("open", "conversion")], rows[("closed", "conversion")]
    difference = open_row["effect_size"] - closed_row["effect_size"]
    assert open_row["effect_difference_open_minus_closed"] == pytest.approx(difference, rel=1e-12)
    se = math.hypot(
        (open_row["effect_size_ci_upper"] - open_row["effect_size"]),
        (closed_row["effect_size_ci_upper"] - closed_row["effect_size"]),
    ) / sps.norm.ppf(0.975)
    assert open_row["effect_difference_pvalue"] == pytest.approx(
        2 * sps.norm.sf(abs(difference) / se), rel=0.02  # t vs normal quantiles: close, not equal
    )

    report = result.to_dict()
    markdown, page = render_markdown(report), render_html(report)
    labels = [n for n in shared_numbers(report) if n.label.startswith("window_split")]
    assert len(labels) == 2 * 3
    for number in labels:
        assert number.text in markdown, number
        assert number.text in page, number


def test_not_split_when_every_treatment_send_is_a_template(workspace: Workspace) -> None:
    _build(workspace, session_messages=False, n=400)
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=30))
    split = result.to_dict()["window_split"]
    assert split["reported"] is False
    assert split["metrics"] == []
    assert split["strata"] == []
    assert "were templates" in split["note"]
    assert "were templates" in render_markdown(result.to_dict())


def test_strata_statistics_add_up_to_the_whole_arm(workspace: Workspace) -> None:
    from dataclasses import asdict

    from threadlift.analysis.lift import metric_stats
    from threadlift.analysis.units import prepare_units
    from threadlift.analysis.windows import window_state_stats
    from threadlift.engines.duckdb import DuckDBEngine

    _build(workspace, session_messages=True, n=800, seed=3)
    experiment = parse_experiment(EXPERIMENT)
    engine = DuckDBEngine(workspace.con)
    prepare_units(engine, experiment, T0 + timedelta(days=30))
    whole = metric_stats(engine, experiment)
    strata = window_state_stats(engine, experiment)
    for metric, per_arm in whole.items():
        for arm, total in per_arm.items():
            summed = strata["open"][metric][arm] + strata["closed"][metric][arm]
            assert asdict(summed) == pytest.approx(asdict(total), rel=1e-12), (metric, arm)
            assert strata["open"][metric][arm].units > 0
            assert strata["closed"][metric][arm].units > 0


def test_portable_rewrites_give_the_same_split(workspace: Workspace) -> None:
    """The split's queries as other engines run them (portable rewrites), on DuckDB."""

    from portable import PortableDuckDB

    _build(workspace, session_messages=True, n=600, seed=5)
    experiment = parse_experiment(EXPERIMENT)
    reference = analyze(workspace, experiment, as_of=T0 + timedelta(days=30)).to_dict()
    portable = analyze(
        workspace, experiment, as_of=T0 + timedelta(days=30), engine=PortableDuckDB(workspace.con)
    ).to_dict()
    assert reference["window_split"]["reported"] is True
    for key in ("strata", "metrics"):
        for mine, theirs in zip(reference["window_split"][key], portable["window_split"][key], strict=True):
            assert theirs.keys() == mine.keys()
            for name, value in mine.items():
                if isinstance(value, float):
                    assert theirs[name] == pytest.approx(value, rel=1e-9), (key, name)
                else:
                    assert theirs[name] == value, (key, name)


def test_an_experiment_without_metrics_still_reports_the_strata(workspace: Workspace) -> None:
    truth = _build(workspace, session_messages=True, n=300, seed=9)
    no_metrics = EXPERIMENT.split("[[metrics]]")[0]
    split = analyze(workspace, parse_experiment(no_metrics), as_of=T0 + timedelta(days=30)).window_split
    assert split is not None
    assert split.reported is True
    assert split.metrics == []
    assert sum(row.units for row in split.strata) == len(truth)
