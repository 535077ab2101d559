"""Programme holdouts over months: decay curve, sum of parts and health of a global holdout.

Numbers are checked against independent computations over per-unit rows read here
(scipy's Welch test, the bucket recomputed with hashlib, DerSimonian-Laird by hand and
statsmodels' ``combine_effects``); the health checks against injected contamination, drift
and attrition.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from threadlift.analysis import analyze
from threadlift.analysis.programme import (
    ATTRITION_SHARE,
    DRIFT_SMD,
    HORIZONS,
    reached_horizons,
)
from threadlift.analysis.run import Analysis
from threadlift.cli import main
from threadlift.core.shrinkage import dersimonian_laird, shrink
from threadlift.datasets.demo import run_demo
from threadlift.datasets.programme import (
    HOLDOUT_PERCENT,
    HOLDOUT_SALT,
    START,
    build_programme_workspace,
    generate_programme,
)
from threadlift.experiment import Experiment
from threadlift.ingest.writer import key_expression
from threadlift.workspace import Workspace

N_CONTACTS = 10_500


def hashlib_bucket(salt: str, unit_id: str) -> int:
    """The public bucket, written out independently of threadlift."""
    return int(hashlib.md5(f"{salt}:{unit_id}".encode()).hexdigest()[:15], 16) % 10000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Experiment, datetime]:
    """A programme workspace (global holdout, two experiments inside), never modified."""
    directory = tmp_path_factory.mktemp("programme")
    data = generate_programme(n_contacts=N_CONTACTS, seed=11)
    experiment = build_programme_workspace(directory / "ws.duckdb", data, directory / "data")
    return directory / "ws.duckdb", experiment, data.as_of


@pytest.fixture(scope="module")
def clean(built: tuple[Path, Experiment, datetime]) -> Analysis:
    path, experiment, as_of = built
    with Workspace.open(path, read_only=True) as ws:
        return analyze(ws, experiment, as_of=as_of)


@pytest.fixture
def copy(built: tuple[Path, Experiment, datetime], tmp_path: Path) -> Path:
    """A copy of the programme workspace a test may change."""
    target = tmp_path / "ws.duckdb"
    shutil.copy(built[0], target)
    return target


def _units(con: Any) -> pd.DataFrame:
    """Every contact known at the start with its group, by the hashlib bucket."""
    contacts = con.execute(
        "SELECT contact_id FROM contacts WHERE created_at <= $at", {"at": START}
    ).df()
    contacts["held"] = [
        hashlib_bucket(HOLDOUT_SALT, c) < HOLDOUT_PERCENT * 100 for c in contacts.contact_id
    ]
    return contacts


def _welch(control: np.ndarray, treatment: np.ndarray) -> dict[str, float]:
    """Welch's comparison of two samples, written out (effect, se, interval, p)."""
    var_c, var_t = control.var(ddof=1) / control.size, treatment.var(ddof=1) / treatment.size
    se = math.sqrt(var_c + var_t)
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.size - 1) + var_t**2 / (treatment.size - 1))
    effect = treatment.mean() - control.mean()
    half = sps.t.ppf(0.975, df) * se
    p = sps.ttest_ind(treatment, control, equal_var=False).pvalue
    return {"effect": effect, "se": se, "lower": effect - half, "upper": effect + half, "p": p}


def test_decay_curve_equals_welch_on_the_units_within_each_horizon(
    built: tuple[Path, Experiment, datetime], clean: Analysis
) -> None:
    path, experiment, _ = built
    assert clean.programme is not None
    decay = clean.programme.decay
    assert [row.horizon_days for row in decay] == [h for h in HORIZONS if h <= 100] == [
        7, 30, 60, 90,
    ]
    with Workspace.open(path, read_only=True) as ws:
        units = _units(ws.con)
        orders = ws.con.execute("SELECT contact_id, ts FROM actions WHERE action = 'order'").df()
    for row in decay:
        end = START + timedelta(days=row.horizon_days)
        converted = set(orders[(orders.ts >= START) & (orders.ts < end)].contact_id)
        outcome = units.contact_id.isin(converted).to_numpy(dtype=float)
        held = units.held.to_numpy()
        expected = _welch(outcome[held], outcome[~held])
        assert row.units_control == held.sum()
        assert row.units_treatment == (~held).sum()
        assert row.effect_size == pytest.approx(expected["effect"], abs=1e-12)
        assert row.effect_size_ci_lower == pytest.approx(expected["lower"], rel=1e-9)
        assert row.effect_size_ci_upper == pytest.approx(expected["upper"], rel=1e-9)
        assert row.pvalue == pytest.approx(expected["p"], rel=1e-9)
        assert row.method == "welch_t"
    # With the window set to the experiment's own window, a horizon is the main lift.
    main = next(m.row() for m in clean.metrics if m.metric == "conversion")
    at_window = next(r for r in decay if r.horizon_days == experiment.window_days)
    assert at_window.effect_size == pytest.approx(main.effect_size, abs=1e-15)
    assert at_window.pvalue == pytest.approx(main.pvalue, rel=1e-12)


def test_only_the_horizons_the_data_reaches_are_reported() -> None:
    assert reached_horizons(START, START + timedelta(days=6, hours=23)) == []
    assert reached_horizons(START, START + timedelta(days=30)) == [7, 30]
    assert reached_horizons(START, START + timedelta(days=400)) == list(HORIZONS)


def test_sum_of_parts_against_a_hand_computation_of_the_shrinkage(
    built: tuple[Path, Experiment, datetime], clean: Analysis
) -> None:
    path, experiment, as_of = built
    assert clean.programme is not None
    parts = clean.programme.parts
    inner = [p for p in parts if p.kind == "experiment"]
    assert [p.experiment_id for p in inner] == ["welcome-offer", "winback"]
    with Workspace.open(path, read_only=True) as ws:
        units = _units(ws.con)
        population = int((~units.held).sum())
        assignments = ws.con.execute(
            "SELECT experiment_id, contact_id, arm, assigned_at FROM assignments"
        ).df()
        orders = ws.con.execute("SELECT contact_id, ts FROM actions WHERE action = 'order'").df()
    effects, ses, weights = [], [], []
    for part in inner:
        rows = assignments[assignments.experiment_id == part.experiment_id]
        end = rows.assigned_at + pd.Timedelta(days=experiment.window_days)
        end = end.where(end < pd.Timestamp(as_of), pd.Timestamp(as_of))
        merged = rows.assign(end=end).merge(orders, on="contact_id", how="left")
        hit = merged[(merged.ts >= merged.assigned_at) & (merged.ts < merged.end)]
        outcome = rows.contact_id.isin(set(hit.contact_id)).to_numpy(dtype=float)
        treated = (rows.arm == "treatment").to_numpy()
        expected = _welch(outcome[~treated], outcome[treated])
        assert part.treated_units == treated.sum()
        assert part.population_units == population
        assert part.effect_size == pytest.approx(expected["effect"], abs=1e-12)
        assert part.standard_error == pytest.approx(expected["se"], rel=1e-9)
        effects.append(expected["effect"])
        ses.append(expected["se"])
        weights.append(treated.sum() / population)
    # DerSimonian-Laird by hand, and statsmodels' tau².
    w = 1 / np.array(ses) ** 2
    e = np.array(effects)
    fixed = (w * e).sum() / w.sum()
    q = (w * (e - fixed) ** 2).sum()
    tau2 = max(0.0, (q - (len(e) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    # statsmodels leaves DerSimonian-Laird's moment estimate untruncated; tau² is its positive part.
    fitted = combine_effects(e, np.array(ses) ** 2, method_re="dl").tau2
    assert tau2 == pytest.approx(max(0.0, fitted), rel=1e-9, abs=1e-15)
    mu = (e / (np.array(ses) ** 2 + tau2)).sum() / (1 / (np.array(ses) ** 2 + tau2)).sum()
    shrunk = mu + tau2 / (tau2 + np.array(ses) ** 2) * (e - mu)
    for part, value, weight in zip(inner, shrunk, weights, strict=True):
        assert part.shrunk_effect_size == pytest.approx(value, rel=1e-9)
        assert part.contribution == pytest.approx(weight * part.effect_size, rel=1e-12)
    naive = next(p for p in parts if p.kind == "naive_sum")
    shrunk_sum = next(p for p in parts if p.kind == "shrunk_sum")
    assert naive.contribution == pytest.approx(float(np.dot(weights, effects)), rel=1e-9)
    se = math.sqrt(sum((wt * s) ** 2 for wt, s in zip(weights, ses, strict=True)))
    assert naive.contribution_ci_upper - naive.contribution == pytest.approx(1.959964 * se, rel=1e-6)
    assert shrunk_sum.contribution == pytest.approx(float(np.dot(weights, shrunk)), rel=1e-9)
    assert math.isnan(shrunk_sum.contribution_ci_lower), "no interval for the shrunk sum"
    programme = next(p for p in parts if p.kind == "programme")
    assert programme.horizon_days == clean.programme.decay[-1].horizon_days
    assert programme.contribution == clean.programme.decay[-1].effect_size


def test_shrinkage_with_spread_out_estimates_against_statsmodels() -> None:
    effects, ses = [0.05, -0.01, 0.02, 0.0], [0.01, 0.012, 0.008, 0.02]
    prior = dersimonian_laird(effects, ses)
    fitted = combine_effects(np.array(effects), np.array(ses) ** 2, method_re="dl")
    assert prior.tau2 > 0
    assert fitted.tau2 > 0, "the estimates differ more than their errors allow"
    assert prior.tau2 == pytest.approx(fitted.tau2, rel=1e-9)
    assert prior.mean == pytest.approx(fitted.mean_effect_re, rel=1e-9)
    shrunk = shrink(effects, ses, prior)
    for e, s, value in zip(effects, ses, shrunk, strict=True):
        factor = fitted.tau2 / (fitted.tau2 + s**2)
        assert value == pytest.approx(fitted.mean_effect_re + factor * (e - fitted.mean_effect_re))
    assert dersimonian_laird([0.1], [0.01]).error == "too_few_estimates"
    assert dersimonian_laird([0.1, 0.2], [0.01, 0.0]).error == "no_variance"
    assert all(math.isnan(x) for x in shrink([0.1], [0.01], dersimonian_laird([0.1], [0.01])))


def test_a_clean_programme_raises_no_programme_alert_or_warning(clean: Analysis) -> None:
    assert clean.programme is not None
    health = clean.programme.health
    assert health.contaminated_contacts == 0
    assert not health.contamination
    assert not any(a.kind == "contamination" for a in clean.alerts)
    kinds = {d.kind for d in clean.warning_details}
    assert not kinds & {"programme_drift", "programme_attrition"}
    assert all(not row.drifted for row in health.drift)
    assert [row.month for row in health.drift] == [0, 1, 2, 3]
    # The health labels are flagged (red) only when they report a problem.
    page = clean.to_html()
    assert "Contamination:" in page
    assert "Attrition gap:" in page
    assert 'class="flag">Contamination:' not in page
    assert 'class="flag">Attrition gap:' not in page


def _held_out(con: Any) -> list[str]:
    units = _units(con)
    return sorted(units[units.held].contact_id)


def test_a_contamination_of_one_in_a_thousand_raises_the_alert(
    built: tuple[Path, Experiment, datetime], copy: Path
) -> None:
    _, experiment, as_of = built
    with Workspace.open(copy) as ws:
        held = _held_out(ws.con)
        assert len(held) > 1000
        # Exactly 1,000 held-out contacts: the others leave the workspace.
        ws.con.execute("DELETE FROM contacts WHERE list_contains($ids, contact_id)",
                       {"ids": held[1000:]})
        held = held[:1000]
        # 0.1 %: one of 1,000 held-out contacts is sent a marketing message (from a webhook).
        ws.con.execute(
            "INSERT INTO messages VALUES ('leak-1', $c, 'whatsapp', NULL, NULL, NULL, "
            "'flash-sale', 'sale', 'marketing', $at)",
            {"c": held[0], "at": START + timedelta(days=20)},
        )
        ws.con.execute(
            "INSERT INTO ingest_provenance SELECT 'messages', "
            f"{key_expression('messages', 'm')} FROM messages AS m WHERE m.message_id = 'leak-1'"
        )
        # A utility message and one before the start are not programme messages.
        ws.con.execute(
            "INSERT INTO messages VALUES ('ok-1', $c, 'whatsapp', NULL, NULL, NULL, NULL, "
            "'receipt', 'utility', $at), ('ok-2', $c, 'whatsapp', NULL, NULL, NULL, "
            "'flash-sale', 'sale', 'marketing', $before)",
            {"c": held[1], "at": START + timedelta(days=5), "before": START - timedelta(days=1)},
        )
        result = analyze(ws, experiment, as_of=as_of)
    assert result.programme is not None
    health = result.programme.health
    assert health.held_out_units == 1000
    assert health.contaminated_contacts == 1
    assert health.contaminated_share == pytest.approx(0.001)
    assert [(r.source, r.sent_by, r.tag, r.contacts, r.messages) for r in health.contamination] == [
        ("webhook", "campaign", "flash-sale", 1, 1)
    ]
    alerts = [a for a in result.alerts if a.kind == "contamination"]
    assert len(alerts) == 1
    assert "1 of" in alerts[0].message
    assert held[0] not in alerts[0].message, "no contact id is shown"
    assert result.summary().verdict.level == "alert"
    assert 'class="flag">Contamination:' in result.to_html()


def test_drift_is_warned_when_injected_and_not_otherwise(
    built: tuple[Path, Experiment, datetime], copy: Path, clean: Analysis
) -> None:
    _, experiment, as_of = built
    with Workspace.open(copy) as ws:
        held = _held_out(ws.con)
        # The held-out contacts ordered more in the month before the start: the groups differ
        # before any treatment, in every month.
        ws.con.executemany(
            "INSERT INTO actions VALUES ($1, $2, 'order', $3, 10.0)",
            [
                (f"pre-{i}", c, START - timedelta(days=10))
                for i, c in enumerate(held)
                if i % 3 == 0
            ],
        )
        result = analyze(ws, experiment, as_of=as_of)
    assert result.programme is not None
    drift = result.programme.health.drift
    assert all(row.drifted for row in drift)
    assert all(abs(row.standardized_mean_difference) > DRIFT_SMD for row in drift)
    messages = [d.message for d in result.warning_details if d.kind == "programme_drift"]
    assert len(messages) == len(drift)
    assert not [d for d in clean.warning_details if d.kind == "programme_drift"]


def test_attrition_is_warned_when_injected_and_not_otherwise(
    built: tuple[Path, Experiment, datetime], copy: Path, clean: Analysis
) -> None:
    _, experiment, as_of = built
    with Workspace.open(copy) as ws:
        held = _held_out(ws.con)
        gone = held[: int(len(held) * 0.15)]
        ws.con.executemany(
            "INSERT INTO consents VALUES ($1, 'whatsapp', NULL, 'marketing', 'revoked', $2, 'stop')",
            [(c, START + timedelta(days=40)) for c in gone],
        )
        result = analyze(ws, experiment, as_of=as_of)
    assert result.programme is not None
    health = result.programme.health
    by_arm = {row.arm: row for row in health.attrition}
    clean_health = clean.programme.health if clean.programme else None
    assert clean_health is not None
    before = {row.arm: row for row in clean_health.attrition}
    # The injected revokes add to the ones the generator made (of contacts not yet revoked).
    assert by_arm["global_holdout"].share > ATTRITION_SHARE
    assert by_arm["global_holdout"].no_longer_eligible > before["global_holdout"].no_longer_eligible
    assert by_arm["everyone_else"].no_longer_eligible == before["everyone_else"].no_longer_eligible
    reasons = {r.reason: r.units for r in by_arm["global_holdout"].by_reason}
    assert set(reasons) == {"consent_revoked"}
    messages = [d.message for d in result.warning_details if d.kind == "programme_attrition"]
    assert len(messages) == 2, "the holdout's share and the gap between the groups"
    assert not [d for d in clean.warning_details if d.kind == "programme_attrition"]
    # Units that left are out of the later months' drift populations.
    assert result.programme.health.drift[-1].units_control < result.programme.health.drift[0].units_control


def test_another_experiment_has_no_programme_sections(tmp_path: Path) -> None:
    result = run_demo(tmp_path, n_contacts=2_000, seed=5, programme=False)
    report = json.loads(result.report.json_path.read_text(encoding="utf-8"))
    assert report["programme_decay"] == []
    assert report["programme_parts"] == []
    assert report["programme_health"] == {}
    assert result.programme_report is None
    assert "Programme holdout" not in result.report.markdown_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out, n_contacts=3_000, seed=2)
    assert result.programme_report is not None
    assert result.programme_report.directory == out / "programme" / "report"
    return out


def test_the_demo_programme_report_shows_every_programme_section_in_every_output(
    demo: Path,
) -> None:
    directory = demo / "programme" / "report"
    report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    assert report["assignment"] == "global_holdout"
    assert [r["horizon_days"] for r in report["programme_decay"]] == [7, 30, 60, 90]
    kinds = [r["kind"] for r in report["programme_parts"]]
    assert kinds == ["experiment", "experiment", "naive_sum", "shrunk_sum", "programme"]
    health = report["programme_health"]
    assert health["contaminated_contacts"] == 0
    assert len(health["drift"]) == 4
    assert {r["arm"] for r in health["attrition"]} == {"global_holdout", "everyone_else"}
    markdown = (directory / "report.md").read_text(encoding="utf-8")
    html = (directory / "report.html").read_text(encoding="utf-8")
    for caption in (
        "Programme lift by horizon",
        "Sum of parts",
        "Drift: pre-period balance",
        "Attrition: units eligible at the start",
    ):
        assert caption in markdown, caption
        assert caption in html, caption
    for part in ("welcome-offer", "winback", "naive sum of the parts", "shrunk sum of the parts"):
        assert part in markdown
        assert part in html
    assert 'id="programme"' in html
    assert "Programme lift by days since the holdout started" in html, "the decay chart"


def test_the_demo_programme_sections_reach_pandas_and_the_cli(demo: Path) -> None:
    from threadlift.experiment import load_experiment

    data = demo / "programme"
    experiment = load_experiment(data / "data" / "programme.toml")
    workspace = data / "programme.duckdb"
    as_of = START + timedelta(days=100)
    with Workspace.open(workspace, read_only=True) as ws:
        result = analyze(ws, experiment, as_of=as_of)
    assert len(result.to_pandas("programme_decay")) == 4
    assert len(result.to_pandas("decay")) == 4
    assert list(result.to_pandas("sum_of_parts").kind) == [
        "experiment", "experiment", "naive_sum", "shrunk_sum", "programme",
    ]
    assert len(result.to_pandas("programme_drift")) == 4
    assert len(result.to_pandas("programme_attrition")) == 2
    assert result.to_pandas("programme_contamination").empty
    assert result.plot("programme_decay").svg.startswith("<?xml")
    report = result.to_dict()
    health = report["programme_health"]
    for section, rows in (
        ("programme_decay", report["programme_decay"]),
        ("programme_parts", report["programme_parts"]),
        ("programme_drift", health["drift"]),
        ("programme_attrition", health["attrition"]),
    ):
        frame = result.to_pandas(section)
        for index, row in enumerate(rows):
            for column, value in row.items():
                shown = frame.iloc[index][column]
                if isinstance(value, float):
                    assert shown == pytest.approx(value), (section, column)
                elif isinstance(value, int | str) and not isinstance(shown, datetime):
                    assert shown == value, (section, column)
    with Workspace.open(workspace) as ws:
        held = _held_out(ws.con)
        ws.con.execute(
            "INSERT INTO messages VALUES ('leak', $c, 'whatsapp', NULL, 'winback', 'treatment', "
            "NULL, 'winback', 'marketing', $at)",
            {"c": held[0], "at": START + timedelta(days=50)},
        )
    done = CliRunner().invoke(
        main,
        ["report", str(data / "data" / "programme.toml"), "--out", str(demo / "cli"),
         "--as-of", as_of.isoformat() + "Z", "-w", str(workspace)],
    )
    assert done.exit_code == 3, done.output
    assert "ALERT [contamination]" in done.output
    assert "held-out contacts" in done.output
