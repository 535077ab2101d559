"""Tests of the synthetic WhatsApp experiment (``threadlift.datasets.synthetic``).

Every check recomputes what it checks independently: arms with ``hashlib``, eligibility
with pandas from the generated tables, the truth with ``scipy.stats`` and the recovered
effects with plain per-arm means and Welch intervals.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
import pytest
from scipy import stats

from threadlift.datasets.synthetic import (
    INELIGIBLE_REASONS,
    MARKETS,
    OTHER_SENDER_ID,
    SENDER_ID,
    DemoData,
    generate_whatsapp_experiment,
    write_tables,
)
from threadlift.experiment import parse_experiment

SCHEMA = Path(__file__).resolve().parents[2] / "sql" / "workspace" / "001_canonical_tables.sql"
TABLES = (
    "contacts",
    "identities",
    "consents",
    "messages",
    "message_events",
    "inbound",
    "actions",
    "feedback",
    "sender_quality",
    "rate_card",
)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate_whatsapp_experiment(n_contacts=20_000, seed=7)


def schema_columns() -> dict[str, list[str]]:
    """Column names per table, parsed from the DDL."""
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(
        r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", SCHEMA.read_text(), re.S
    ):
        tables[name] = [line.split()[0] for line in body.strip().splitlines()]
    return tables


def window_end(data: DemoData) -> datetime:
    return data.assigned_at + timedelta(days=data.truth["window_days"])


def per_unit(data: DemoData) -> pd.DataFrame:
    """Eligible units with conversion, revenue and feedback flags in the window."""
    units = data.expected_arms[data.expected_arms["eligible"]][["contact_id", "arm"]]
    start, end = data.assigned_at, window_end(data)
    actions = data.tables["actions"]
    orders = actions[
        (actions["action"] == "order") & (actions["ts"] >= start) & (actions["ts"] < end)
    ]
    totals = orders.groupby("contact_id")["value"].agg(["size", "sum"])
    units = units.assign(
        orders=units["contact_id"].map(totals["size"]).fillna(0.0),
        revenue=units["contact_id"].map(totals["sum"]).fillna(0.0),
    )
    units["conversion"] = (units["orders"] > 0).astype(float)
    feedback = data.tables["feedback"]
    in_window = feedback[(feedback["ts"] >= start) & (feedback["ts"] < end)]
    for kind in ("block", "report", "opt_out"):
        who = set(in_window.loc[in_window["kind"] == kind, "contact_id"])
        units[f"{kind}_rate"] = units["contact_id"].isin(who).astype(float)
    return units


def welch(units: pd.DataFrame, column: str) -> tuple[float, float, float]:
    """Treatment minus holdout, its standard error and Welch degrees of freedom."""
    treated = units.loc[units["arm"] == "whatsapp", column].to_numpy()
    holdout = units.loc[units["arm"] == "holdout", column].to_numpy()
    v1, v0 = treated.var(ddof=1) / treated.size, holdout.var(ddof=1) / holdout.size
    dof = (v1 + v0) ** 2 / (v1**2 / (treated.size - 1) + v0**2 / (holdout.size - 1))
    return float(treated.mean() - holdout.mean()), math.sqrt(v1 + v0), dof


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    first = generate_whatsapp_experiment(n_contacts=1_500, seed=3)
    again = generate_whatsapp_experiment(n_contacts=1_500, seed=3)
    other = generate_whatsapp_experiment(n_contacts=1_500, seed=4)
    for name in TABLES:
        pd.testing.assert_frame_equal(first.tables[name], again.tables[name])
    pd.testing.assert_frame_equal(first.expected_arms, again.expected_arms)
    assert first.experiment_toml == again.experiment_toml
    assert first.truth == again.truth
    assert not first.tables["actions"].equals(other.tables["actions"])


def test_tables_have_exactly_the_schema_columns_and_load_into_duckdb(data: DemoData) -> None:
    ddl = schema_columns()
    assert set(data.tables) == set(TABLES)
    con = duckdb.connect()
    con.execute(SCHEMA.read_text()).fetchall()
    for name, frame in data.tables.items():
        assert list(frame.columns) == ddl[name], name
        con.register("frame", frame)
        con.execute(f"INSERT INTO {name} SELECT * FROM frame").fetchall()
        con.unregister("frame")
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(len(frame),)]
        for column in frame.columns:
            dtype = frame[column].dtype
            if column in ("ts", "sent_at", "created_at", "valid_from"):
                assert str(dtype).startswith("datetime64["), (name, column)
                assert getattr(dtype, "tz", None) is None
            elif column in ("value", "price"):
                assert dtype == np.float64
            elif column == "billable":
                assert str(dtype) == "boolean"
            else:
                assert pd.api.types.is_string_dtype(dtype), (name, column, dtype)


def test_expected_arms_match_an_independent_md5_recomputation(data: DemoData) -> None:
    arms = data.expected_arms
    assert list(arms.columns) == ["contact_id", "arm", "bucket", "eligible", "ineligible_reason"]
    salt = data.experiment_id
    buckets = [
        int(hashlib.md5(f"{salt}:{c}".encode()).hexdigest()[:15], 16) % 10_000
        for c in arms["contact_id"]
    ]
    assert arms["bucket"].tolist() == buckets
    boundary = math.floor(10_000 * 10 / 100)
    expected = ["holdout" if b < boundary else "whatsapp" for b in buckets]
    assert arms["arm"].tolist() == expected
    assert arms["contact_id"].is_unique
    assert set(arms["contact_id"]) == set(data.tables["contacts"]["contact_id"])


def test_arm_weights_move_the_boundary() -> None:
    data = generate_whatsapp_experiment(
        n_contacts=2_000, seed=1, holdout_weight=1, treatment_weight=3
    )
    arms = data.expected_arms
    assert (arms["arm"] == np.where(arms["bucket"] < 2_500, "holdout", "whatsapp")).all()
    experiment = parse_experiment(data.experiment_toml)
    assert [(a.name, a.weight) for a in experiment.arms] == [("holdout", 1), ("whatsapp", 3)]


def recompute_eligibility(data: DemoData) -> pd.DataFrame:
    """The eligibility rule (docs/architecture.md), applied with pandas to the generated tables."""
    at = data.assigned_at
    contacts = data.tables["contacts"][["contact_id"]].copy()
    consents = data.tables["consents"]
    ours = consents[(consents["channel"] == "whatsapp") & (consents["sender_id"] == SENDER_ID)]
    before = ours[ours["ts"] <= at].sort_values("ts")
    latest = before.groupby("contact_id").tail(1).set_index("contact_id")
    granted_later = set(ours.loc[(ours["ts"] > at) & (ours["status"] == "granted"), "contact_id"])
    other = set(
        consents.loc[
            (consents["sender_id"] == OTHER_SENDER_ID) & (consents["status"] == "granted"),
            "contact_id",
        ]
    )
    events = data.tables["message_events"]
    stopped_messages = events.loc[
        (events["status"] == "failed") & (events["error_code"] == "131050") & (events["ts"] < at),
        "message_id",
    ]
    messages = data.tables["messages"]
    stopped = set(messages.loc[messages["message_id"].isin(stopped_messages), "contact_id"])
    feedback = data.tables["feedback"]
    recent = set(
        feedback.loc[
            (feedback["ts"] < at) & (feedback["ts"] >= at - timedelta(days=90)), "contact_id"
        ]
    )

    ids = contacts["contact_id"]
    status = ids.map(latest["status"])
    scope = ids.map(latest["scope"])
    reason = np.select(
        [
            status.isna() & ids.isin(granted_later),
            status.isna() & ids.isin(other),
            status.isna(),
            status == "revoked",
            ~scope.isin(["marketing", "all"]),
            ids.isin(stopped),
            ids.isin(recent),
        ],
        [
            "consent_after_assignment",
            "other_sender",
            "no_consent",
            "consent_revoked",
            "no_consent",
            "marketing_stopped",
            "recent_feedback",
        ],
        default="",
    )
    contacts["ineligible_reason"] = pd.Series(reason, dtype=object).replace("", None)
    return contacts


def test_eligibility_follows_the_rule_recomputed_from_the_tables(data: DemoData) -> None:
    recomputed = recompute_eligibility(data).set_index("contact_id")["ineligible_reason"]
    arms = data.expected_arms.set_index("contact_id")
    assert (arms["eligible"] == recomputed.reindex(arms.index).isna()).all()
    assert arms["ineligible_reason"].equals(recomputed.reindex(arms.index).astype(object))
    counts = arms["ineligible_reason"].value_counts()
    assert set(counts.index) == set(INELIGIBLE_REASONS)
    assert 0.7 < arms["eligible"].mean() < 0.85


def test_only_eligible_treatment_contacts_get_experiment_sends(data: DemoData) -> None:
    messages = data.tables["messages"]
    experiment = messages[messages["experiment_id"] == data.experiment_id]
    arms = data.expected_arms.set_index("contact_id")
    recipients = arms.loc[experiment["contact_id"].unique()]
    assert recipients["eligible"].all()
    assert (recipients["arm"] == "whatsapp").all()
    treated = arms[arms["eligible"] & (arms["arm"] == "whatsapp")]
    assert set(experiment["contact_id"]) == set(treated.index)
    assert (experiment["arm"] == "whatsapp").all()
    assert (experiment["category"] == "marketing").all()
    assert experiment["campaign_id"].nunique() == 1
    assert 2 <= experiment["template"].nunique() <= 3
    assert experiment["sent_at"].min() >= data.assigned_at
    first_sends = experiment.groupby("contact_id")["sent_at"].min()
    assert first_sends.max() < data.assigned_at + timedelta(hours=5)
    assert messages["message_id"].is_unique


def test_message_events_are_as_messy_as_platform_webhooks(data: DemoData) -> None:
    events = data.tables["message_events"]
    assert events.duplicated().any()
    assert (events["ts"].diff().dt.total_seconds() < 0).any()
    ranks = {"sent": 0, "delivered": 1, "read": 2}
    ranked = events[events["status"].isin(ranks)].drop_duplicates()
    rank = ranked["status"].map(ranks)
    later_status_arrived_first = rank.groupby(ranked["message_id"]).diff() < 0
    assert later_status_arrived_first.any()
    has = pd.crosstab(events["message_id"], events["status"]) > 0
    assert (has["read"] & ~has["delivered"]).any()
    failed = events[events["status"] == "failed"]
    assert {"131026", "131049", "131050", "130472"} <= set(failed["error_code"])
    assert failed["pricing_category"].isna().all()
    assert events.loc[events["status"] != "failed", "error_code"].isna().all()
    priced = events[events["status"].isin(["sent", "delivered"])]
    assert (priced["pricing_category"] == "marketing").all()
    assert priced["billable"].astype(bool).all()
    assert set(events["message_id"]) <= set(data.tables["messages"]["message_id"])


def test_us_marketing_templates_all_fail_with_131049(data: DemoData) -> None:
    markets = data.tables["contacts"].set_index("contact_id")["market"]
    messages = data.tables["messages"]
    us = messages[messages["contact_id"].map(markets) == "US"]
    events = data.tables["message_events"]
    us_events = events[events["message_id"].isin(us["message_id"])]
    assert len(us_events) > 0
    assert set(us_events["status"]) == {"failed"}
    assert set(us_events["error_code"]) <= {"131049", "131026", "130472", "131050"}


def test_inbound_replies_quote_template_messages(data: DemoData) -> None:
    inbound = data.tables["inbound"]
    assert set(inbound["type"]) == {"text", "button"}
    quoted = inbound["context_message_id"].dropna()
    assert len(quoted) > 0
    assert set(quoted) <= set(data.tables["messages"]["message_id"])
    assert inbound["message_id"].is_unique
    assert not set(inbound["message_id"]) & set(data.tables["messages"]["message_id"])


def test_addresses_are_valid_unique_e164_numbers_of_the_market(data: DemoData) -> None:
    identities = data.tables["identities"].merge(data.tables["contacts"], on="contact_id")
    assert identities["address"].is_unique
    assert (identities["channel"] == "whatsapp").all()
    assert set(identities["sender_id"]) == {SENDER_ID, OTHER_SENDER_ID}
    sample = identities.groupby("market").head(80)
    for address, market in zip(sample["address"], sample["market"], strict=True):
        number = phonenumbers.parse(address)
        assert phonenumbers.is_valid_number(number), address
        assert phonenumbers.region_code_for_number(number) == market, address
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == address


def test_orders_feedback_quality_and_prices_span_inside_and_outside_the_window(
    data: DemoData,
) -> None:
    at, end = data.assigned_at, window_end(data)
    contacts = data.tables["contacts"]
    assert (contacts["created_at"] < at).all()
    assert set(contacts["market"]) == {m.code for m in MARKETS}

    orders = data.tables["actions"][data.tables["actions"]["action"] == "order"]
    assert (orders["ts"] < at - timedelta(days=28)).any()
    assert ((orders["ts"] >= at - timedelta(days=28)) & (orders["ts"] < at)).any()
    assert (orders["ts"] >= end + timedelta(days=7)).any()
    assert orders["value"].notna().all()
    assert (orders["value"] > 0).all()
    assert data.tables["actions"]["action_id"].is_unique

    feedback = data.tables["feedback"]
    assert set(feedback["kind"]) == {"block", "report", "opt_out"}
    assert (feedback["ts"] < at - timedelta(days=90)).any()
    assert ((feedback["ts"] >= at - timedelta(days=90)) & (feedback["ts"] < at)).any()
    assert ((feedback["ts"] >= at) & (feedback["ts"] < end)).any()
    assert (feedback["ts"] >= end).any()

    quality = data.tables["sender_quality"].sort_values("ts")
    inside = quality[(quality["ts"] >= at) & (quality["ts"] < end)]
    assert len(inside) >= 1
    assert {"GREEN", "YELLOW"} <= set(quality["quality_rating"])
    assert quality["messaging_limit_tier"].nunique() >= 3

    card = data.tables["rate_card"]
    assert set(card["category"]) == {"marketing", "utility", "authentication", "service"}
    assert set(card["market"]) == {m.code for m in MARKETS}
    assert (card["currency"] == "USD").all()
    changes = card.loc[card["valid_from"] > at, "valid_from"].unique()
    assert len(changes) == 1
    assert at < changes[0] < end
    assert not card.duplicated(["market", "category", "valid_from"]).any()


def test_experiment_toml_is_a_valid_experiment_file(data: DemoData) -> None:
    experiment = parse_experiment(data.experiment_toml, source="experiment.toml")
    assert experiment.id == data.experiment_id
    assert experiment.channel == "whatsapp"
    assert experiment.sender_id == SENDER_ID
    assert experiment.category == "marketing"
    assert experiment.assigned_at == data.assigned_at
    assert experiment.window_days == data.truth["window_days"]
    assert [(a.name, a.weight, a.holdout) for a in experiment.arms] == [
        ("holdout", 10, True),
        ("whatsapp", 90, False),
    ]
    assert experiment.eligibility.require_consent
    assert experiment.eligibility.exclude_feedback_days == 90
    metrics = {m.name: m for m in experiment.metrics}
    assert metrics["conversion"].type == "proportion"
    assert metrics["revenue"].type == "mean"
    assert metrics["revenue"].cuped_days == 28
    assert metrics["revenue_per_order"].type == "ratio"
    assert {m.action for m in experiment.metrics} == {"order"}
    guardrails = {g.name: g.kind for g in experiment.guardrails}
    assert guardrails == {"block_rate": "block", "report_rate": "report", "opt_out_rate": "opt_out"}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_write_tables_round_trips(tmp_path: Path, fmt: str) -> None:
    data = generate_whatsapp_experiment(n_contacts=800, seed=2)
    paths = write_tables(data, tmp_path / "out", fmt=fmt)  # type: ignore[arg-type]
    assert set(paths) == {*TABLES, "experiment"}
    assert parse_experiment(paths["experiment"].read_text()).id == data.experiment_id
    reader = {
        "parquet": "read_parquet",
        "csv": "read_csv_auto",
        "jsonl": "read_json_auto",
    }[fmt]
    con = duckdb.connect()
    for name in TABLES:
        back = con.execute(f"SELECT * FROM {reader}(?)", [str(paths[name])]).df()
        assert list(back.columns) == list(data.tables[name].columns), name
        assert len(back) == len(data.tables[name]), name
    events = con.execute(
        f"SELECT count(*) FILTER (WHERE billable IS NULL), count(*) FILTER (WHERE billable)"
        f" FROM {reader}(?)",
        [str(paths["message_events"])],
    ).fetchall()
    frame = data.tables["message_events"]
    assert events == [(int(frame["billable"].isna().sum()), int(frame["billable"].sum()))]


def test_truth_matches_a_scipy_negative_binomial_computation() -> None:
    data = generate_whatsapp_experiment(n_contacts=10, seed=0, conversion_lift=0.25)
    truth = data.truth
    shape = 0.4
    holdout = treated = revenue = 0.0
    delivered_share = 0.0
    for market in MARKETS:
        mean = market.weekly_order_rate
        # Gamma-Poisson orders are negative binomial with n = shape, p = shape / (shape + mean).
        converts = 1 - stats.nbinom.pmf(0, shape, shape / (shape + mean))
        delivered = 0.97 * 0.99 * 0.99 * (1 - market.marketing_cap_rate)
        holdout += market.share * converts
        treated += market.share * (converts + delivered * converts * 0.25)
        revenue += market.share * mean * market.order_value
        delivered_share += market.share * delivered
    assert truth["conversion_holdout"] == pytest.approx(holdout, rel=1e-12)
    assert truth["conversion_treatment"] == pytest.approx(treated, rel=1e-12)
    assert truth["conversion_abs_effect"] == pytest.approx(treated - holdout, rel=1e-12)
    assert truth["conversion_rel_effect"] == pytest.approx(treated / holdout - 1, rel=1e-12)
    assert truth["revenue_holdout"] == pytest.approx(revenue, rel=1e-12)
    assert truth["delivery_rate"] == pytest.approx(delivered_share, rel=1e-12)
    assert truth["revenue_abs_effect"] > 0
    block_baseline = 1 - math.exp(-0.00007 * 7)
    assert truth["block_rate_holdout"] == pytest.approx(block_baseline)
    assert truth["block_rate_treatment"] == pytest.approx(
        block_baseline + (1 - block_baseline) * 0.0015 * delivered_share
    )
    for key in (
        "window_days",
        "revenue_rel_effect",
        "report_rate_holdout",
        "report_rate_treatment",
        "opt_out_rate_holdout",
        "opt_out_rate_treatment",
    ):
        assert key in truth


def test_a_null_experiment_has_zero_true_effects() -> None:
    truth = generate_whatsapp_experiment(
        n_contacts=10,
        conversion_lift=0.0,
        block_rate_delivered=0.0,
        report_rate_delivered=0.0,
        opt_out_rate_delivered=0.0,
    ).truth
    for key in ("conversion", "revenue", "block_rate", "report_rate", "opt_out_rate"):
        assert truth[f"{key}_abs_effect"] == pytest.approx(0.0, abs=1e-12)


def test_large_sample_recovers_the_truth() -> None:
    data = generate_whatsapp_experiment(n_contacts=150_000, seed=11)
    units = per_unit(data)
    for metric in ("conversion", "revenue", "block_rate", "opt_out_rate"):
        effect, se, _ = welch(units, metric)
        assert abs(effect - data.truth[f"{metric}_abs_effect"]) < 4 * se, metric
        holdout = units.loc[units["arm"] == "holdout", metric]
        margin = 4 * holdout.std(ddof=1) / math.sqrt(len(holdout))
        assert abs(holdout.mean() - data.truth[f"{metric}_holdout"]) < margin, metric
    effect, se, _ = welch(units, "conversion")
    assert effect / se > 5


def test_welch_intervals_cover_the_truth_across_seeds() -> None:
    covered = {"conversion": 0, "revenue": 0}
    seeds = range(30)
    for seed in seeds:
        # A balanced split keeps both arms large enough for the normal approximation.
        data = generate_whatsapp_experiment(
            n_contacts=5_000, seed=100 + seed, holdout_weight=50, treatment_weight=50
        )
        units = per_unit(data)
        for metric in covered:
            effect, se, dof = welch(units, metric)
            half = stats.t.ppf(0.975, dof) * se
            covered[metric] += abs(effect - data.truth[f"{metric}_abs_effect"]) <= half
    for metric, count in covered.items():
        # 30 draws at 95%: fewer than 25 happens with probability 0.3%.
        assert count >= 25, (metric, count)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_contacts": 0},
        {"holdout_weight": 0},
        {"treatment_weight": -1},
        {"window_days": 0},
        {"conversion_lift": -0.1},
        {"conversion_lift": 50.0},
        {"block_rate_delivered": 1.5},
    ],
)
def test_invalid_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        generate_whatsapp_experiment(**kwargs)  # type: ignore[arg-type]


def test_market_lift_sets_each_markets_effect_and_the_truth_follows() -> None:
    lifts = {"BR": 0.6, "IN": 0.0}
    data = generate_whatsapp_experiment(n_contacts=500, seed=2, market_lift=lifts)
    plain = generate_whatsapp_experiment(n_contacts=500, seed=2)
    k = 0.4  # the order-rate shape
    expected_total = 0.0
    for market in MARKETS:
        lift = lifts.get(market.code, 0.30)
        delivery = 0.97 * 0.99 * 0.99 * (1 - market.marketing_cap_rate)
        baseline = 1 - (1 + market.weekly_order_rate / k) ** -k
        effect = delivery * baseline * lift
        assert data.truth[f"conversion_abs_effect_{market.code}"] == pytest.approx(effect, rel=1e-12)
        assert data.truth[f"conversion_holdout_{market.code}"] == pytest.approx(baseline, rel=1e-12)
        expected_total += market.share * effect
    assert data.truth["conversion_abs_effect"] == pytest.approx(expected_total, rel=1e-12)
    # the same draws: only the treated orders differ
    for table in ("contacts", "consents", "messages"):
        pd.testing.assert_frame_equal(data.tables[table], plain.tables[table])
    assert not data.tables["actions"].equals(plain.tables["actions"])
    with pytest.raises(ValueError, match="unknown market"):
        generate_whatsapp_experiment(n_contacts=10, market_lift={"XX": 0.1})
