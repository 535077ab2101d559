"""Comparing channels' cost per incremental conversion against one shared holdout."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats as sps

from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.core.cost import ArmCost, compare_cost_per_incremental
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2025, 9, 1, 9, 0, 0)
EXPERIMENT = """
id = "channels"
channel = "whatsapp"
assigned_at = 2025-09-01T09:00:00Z
window_days = 14
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
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"
"""
N = 400
CONVERTED = {"holdout": 20, "whatsapp": 48, "sms": 32}
PRICE = {"whatsapp": 0.0625, "sms": 0.02}


@pytest.fixture
def channels(workspace: Workspace) -> Workspace:
    return populate_channels(workspace)


def populate_channels(workspace: Workspace) -> Workspace:
    """Three arms (holdout, whatsapp, sms) with the known conversions and prices above."""
    contacts, assignments, messages, events, actions = [], [], [], [], []
    for arm in ("holdout", "whatsapp", "sms"):
        for i in range(N):
            contact = f"{arm}-{i}"
            contacts.append((contact, "BR", T0 - timedelta(days=30)))
            assignments.append(("channels", contact, arm, i, T0))
            if i < CONVERTED[arm]:
                actions.append((f"o-{contact}", contact, "order", T0 + timedelta(days=2), 10.0))
            if arm != "holdout":
                message = f"m-{contact}"
                messages.append((message, contact, arm, "S1", "channels", arm, "camp", "tpl",
                                 "marketing", T0 + timedelta(hours=1)))
                events.append((message, "delivered", T0 + timedelta(hours=1, minutes=1),
                               None, None, None))
    insert_rows(workspace, "contacts", contacts)
    insert_rows(workspace, "assignments", assignments)
    insert_rows(workspace, "actions", actions)
    insert_rows(workspace, "messages", messages)
    insert_rows(workspace, "message_events", events)
    insert_rows(workspace, "rate_card", [
        ("whatsapp", "BR", "marketing", PRICE["whatsapp"], "USD", datetime(2025, 7, 1)),
        ("sms", "BR", "marketing", PRICE["sms"], "USD", datetime(2025, 7, 1)),
    ])
    return workspace


def test_report_compares_channels_cost_per_incremental_conversion(channels: Workspace) -> None:
    result = analyze(channels, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=30))
    [row] = result.cost_comparison
    assert (row.arm, row.channel, row.other_arm, row.other_channel) == (
        "whatsapp", "whatsapp", "sms", "sms"
    )
    # written out: per-arm rates, Welch variances (sample variance of a 0/1 outcome / n),
    # effects against the shared holdout, and Fieller's interval for d_sms / d_wa in its
    # textbook form (Fieller 1954; Franz 2007, eq. 5), scaled by the known costs
    p = {arm: k / N for arm, k in CONVERTED.items()}
    var = {arm: p[arm] * (1 - p[arm]) / (N - 1) for arm in p}
    d_wa, d_sms = p["whatsapp"] - p["holdout"], p["sms"] - p["holdout"]
    v_wa, v_sms, v_12 = var["whatsapp"] + var["holdout"], var["sms"] + var["holdout"], var["holdout"]
    cpic_wa = N * PRICE["whatsapp"] / (N * d_wa)
    cpic_sms = N * PRICE["sms"] / (N * d_sms)
    z = sps.norm.ppf(0.975)
    k = PRICE["whatsapp"] / PRICE["sms"]
    theta = d_sms / d_wa
    g = z**2 * v_wa / d_wa**2
    half = z / abs(d_wa) * math.sqrt(
        v_sms - 2 * theta * v_12 + theta**2 * v_wa - g * (v_sms - v_12**2 / v_wa)
    )
    lower = (theta - g * v_12 / v_wa - half) / (1 - g)
    upper = (theta - g * v_12 / v_wa + half) / (1 - g)
    ratio = cpic_wa / cpic_sms
    assert ratio == pytest.approx(k * theta, rel=1e-12)
    assert row.cost_per_incremental == pytest.approx(cpic_wa, rel=1e-9)
    assert row.other_cost_per_incremental == pytest.approx(cpic_sms, rel=1e-9)
    assert row.ratio == pytest.approx(ratio, rel=1e-9)
    assert row.ratio_ci_lower == pytest.approx(k * lower, rel=1e-9)
    assert row.ratio_ci_upper == pytest.approx(k * upper, rel=1e-9)
    assert row.method == "fieller"
    # ratio = 1 <=> k·d_sms − d_wa = 0, a normal linear combination
    se = math.sqrt(k**2 * v_sms + v_wa - 2 * k * v_12)
    assert row.pvalue == pytest.approx(2 * sps.norm.sf(abs(k * d_sms - d_wa) / se), rel=1e-9)
    assert row.currency == "USD"
    assert row.error is None
    report = result.to_dict()
    assert report["cost_comparison"][0]["ratio"] == pytest.approx(ratio)


def test_interval_covers_the_true_ratio_at_its_nominal_rate() -> None:
    """Simulated experiments (binomial outcomes, one shared holdout): 95 % coverage."""
    rng = np.random.default_rng(20261126)
    n, reps = 20_000, 4_000
    p0, pa, pb = 0.05, 0.08, 0.065
    cost_a, cost_b = 900.0, 400.0
    true_ratio = (cost_a / (n * (pa - p0))) / (cost_b / (n * (pb - p0)))
    k0, ka, kb = (rng.binomial(n, q, reps) / n for q in (p0, pa, pb))
    covered = 0
    for h, a, b in zip(k0, ka, kb, strict=True):
        v0, va, vb = (q * (1 - q) / (n - 1) for q in (h, a, b))
        result = compare_cost_per_incremental(
            ArmCost("a", cost_a, n, a - h, math.sqrt(va + v0)),
            ArmCost("b", cost_b, n, b - h, math.sqrt(vb + v0)),
            control_variance=v0,
        )
        covered += result.ratio_ci_lower <= true_ratio <= result.ratio_ci_upper
    # 95 % ± 3.3 standard errors of a proportion over 4,000 replications
    assert sps.binomtest(covered, reps, 0.95).pvalue > 1e-3, covered / reps


def test_no_comparison_without_incremental_conversions() -> None:
    result = compare_cost_per_incremental(
        ArmCost("a", 10.0, 100, 0.02, 0.01), ArmCost("b", 10.0, 100, -0.01, 0.01), 1e-5
    )
    assert result.error == "no_incremental_conversions"
    assert math.isnan(result.ratio)


def test_the_interval_is_unbounded_when_the_denominator_effect_may_be_zero() -> None:
    # arm a's effect 0.004 ± 1.96·0.003 includes zero: its cost per incremental conversion
    # may be any size, so no finite ratio interval exists (the delta method gave one)
    a, b = ArmCost("email", 50.0, 10_000, 0.004, 0.003), ArmCost("wa", 900.0, 10_000, 0.03, 0.004)
    result = compare_cost_per_incremental(a, b, control_variance=2e-6)
    assert result.error is None
    assert result.ratio == pytest.approx((50.0 / 40.0) / (900.0 / 300.0))
    assert result.interval in ("complement", "unbounded")
    assert math.isnan(result.ratio_ci_lower)
    assert math.isnan(result.ratio_ci_upper)
    # the other way round the ratio's interval is finite but reaches below zero
    reverse = compare_cost_per_incremental(b, a, control_variance=2e-6)
    assert reverse.interval == "bounded"
    assert reverse.ratio_ci_lower < 0 < reverse.ratio < reverse.ratio_ci_upper


def test_an_unbounded_interval_is_null_in_report_json(channels: Workspace) -> None:
    # drop most of the SMS cell's conversions: its effect's interval now includes zero
    channels.con.execute(
        "DELETE FROM actions WHERE action_id IN (SELECT 'o-sms-' || i FROM range(22, 32) t(i))"
    )
    report = analyze(channels, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=30))
    sms = next(r for r in report.metrics if r.arm == "sms")
    assert sms.comparison.effect_size_ci_lower < 0 < sms.comparison.effect_size
    written = json.loads(json.dumps(report.to_dict(), default=str))
    compared = {(r["arm"], r["other_arm"]): r for r in written["cost_comparison"]}
    row = compared[("whatsapp", "sms")]
    assert row["ratio"] is not None
    assert row["method"] == "fieller"
    assert row["ratio_ci_lower"] is not None
    assert row["ratio_ci_lower"] < 0
    cost = {r["arm"]: r for r in written["cost"]}
    assert cost["sms"]["cost_per_incremental_conversion"] is not None
    assert cost["sms"]["cost_per_incremental_conversion_ci_lower"] is None
    assert cost["sms"]["cost_per_incremental_conversion_ci_upper"] is None
    from threadlift.report.markdown import render_markdown

    assert "[unbounded]" in render_markdown(written)


def test_reports_show_the_comparison(channels: Workspace) -> None:
    from threadlift.report.html import render_html
    from threadlift.report.markdown import render_markdown

    report = analyze(channels, parse_experiment(EXPERIMENT), as_of=T0 + timedelta(days=30)).to_dict()
    row = report["cost_comparison"][0]
    ratio = f"{row['ratio']:.4g}"  # as fmt_number writes it: four significant digits
    markdown, page = render_markdown(report), render_html(report)
    assert "## Cost per incremental conversion between arms" in markdown
    assert "between arms" in page
    for text in (markdown, page):
        assert ratio in text
        assert "whatsapp (whatsapp) vs sms (sms)" in text
