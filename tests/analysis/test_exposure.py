"""Exposures in the analysis: shares per arm, mismatches (an alert), the triggered analysis.

The world: half the units are in the holdout; 30 % of every arm is *triggered* (the sending
system reached the point of sending): treatment units get a real exposure, holdout units a
counterfactual one (the would-be send). The messages work only on triggered units, so the
intent-to-treat effect is the triggered effect diluted by the triggered share. The
triggered lift is checked against tea-tasting on the triggered units' own data, built here
from the generated rows, and against the true effect.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tea_tasting as tt
from click.testing import CliRunner

from experiments import CONVERSION, two_arm_toml
from portable import PortableDuckDB
from threadlift.analysis import analyze
from threadlift.cli import main
from threadlift.experiment import parse_experiment
from threadlift.loading import load_files
from threadlift.report.html import render_html
from threadlift.report.markdown import render_markdown
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)
WINDOW_DAYS = 7
AS_OF = T0 + timedelta(days=20)
EXPERIMENT = two_arm_toml(
    "trig",
    weights=(50, 50),
    tables=CONVERSION
    + '[[metrics]]\nname = "revenue"\ntype = "mean"\naction = "order"\ncuped_days = 28\n',
)

TRIGGERED_SHARE = 0.3
BASE_RATE = 0.15
"""Conversion of a triggered unit without the message (non-triggered units: 0.10), plus
0.10 for units active in the pre-period (the CUPED covariate)."""
ACTIVE_SHARE = 0.3
EXTRA = 0.08
"""Probability that the message makes a triggered treatment unit order (once more)."""
TRUE_TRIGGERED_EFFECT = EXTRA * (1 - BASE_RATE - 0.10 * ACTIVE_SHARE)
"""P(convert | treatment, triggered) - P(convert | holdout, triggered)."""
TRUE_ITT_EFFECT = TRIGGERED_SHARE * TRUE_TRIGGERED_EFFECT

FIELDS = (
    "control",
    "treatment",
    "effect_size",
    "effect_size_ci_lower",
    "effect_size_ci_upper",
    "rel_effect_size",
    "rel_effect_size_ci_lower",
    "rel_effect_size_ci_upper",
    "pvalue",
)


def _insert(ws: Workspace, table: str, frame: pd.DataFrame) -> None:
    ws.con.register("_frame", frame)
    columns = ", ".join(frame.columns)
    ws.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _frame")
    ws.con.unregister("_frame")


def _world(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """Assignments, exposures and orders of the triggered world, and the truth per unit."""
    rng = np.random.default_rng(seed)
    contact = np.array([f"c{i:05d}" for i in range(n)])
    arm = np.where(rng.random(n) < 0.5, "holdout", "whatsapp")
    assigned = T0 + pd.to_timedelta(rng.integers(0, 48, n), unit="h")
    triggered = rng.random(n) < TRIGGERED_SHARE
    active = rng.random(n) < ACTIVE_SHARE
    treated = triggered & (arm == "whatsapp")
    trigger_at = assigned + pd.to_timedelta(rng.uniform(1, 48, n), unit="h")

    exposures = []
    who = np.flatnonzero(triggered)
    repeats = rng.integers(1, 3, who.size)  # one or two sends (or would-be sends) each
    who = np.repeat(who, repeats)
    later = pd.to_timedelta(np.concatenate([np.arange(r) for r in repeats]) * 24.0, unit="h")
    exposures.append(pd.DataFrame({
        "contact_id": contact[who], "arm": arm[who], "ts": trigger_at[who] + later,
        "source": np.where(arm[who] == "holdout", "counterfactual", "api"),
    }))
    # decoys that trigger nobody: exposures after the unit's window, another experiment's
    late = np.flatnonzero(~triggered & (rng.random(n) < 0.05))
    exposures.append(pd.DataFrame({
        "contact_id": contact[late], "arm": arm[late],
        "ts": assigned[late] + timedelta(days=WINDOW_DAYS, hours=2),
        "source": np.where(arm[late] == "holdout", "counterfactual", "api"),
    }))
    exposure = pd.concat(exposures, ignore_index=True)
    exposure.insert(0, "experiment_id", "trig")
    other = np.flatnonzero(~triggered)[:50]
    exposure = pd.concat([exposure, pd.DataFrame({
        "experiment_id": "another", "contact_id": contact[other], "arm": "whatsapp",
        "ts": assigned[other] + timedelta(hours=3), "source": "api",
    })], ignore_index=True)

    base = 0.10 + (BASE_RATE - 0.10) * triggered + 0.10 * active
    orders = []
    buys = np.flatnonzero(rng.random(n) < base)
    orders.append((buys, assigned[buys] + pd.to_timedelta(rng.uniform(0.5, 24 * WINDOW_DAYS - 1, buys.size), unit="h")))
    # the message's orders come after the (first) send
    extra = np.flatnonzero(treated & (rng.random(n) < EXTRA))
    orders.append((extra, trigger_at[extra] + pd.to_timedelta(rng.uniform(0.1, 24, extra.size), unit="h")))
    pre = np.flatnonzero(active)
    orders.append((pre, assigned[pre] - pd.to_timedelta(rng.uniform(24, 20 * 24, pre.size), unit="h")))
    # after the window: counted by nobody
    post = np.flatnonzero(rng.random(n) < 0.2)
    orders.append((post, assigned[post] + timedelta(days=WINDOW_DAYS, hours=5)))
    index = np.concatenate([i for i, _ in orders])
    ts = np.concatenate([np.asarray(t) for _, t in orders])
    actions = pd.DataFrame({
        "action_id": [f"o{k}" for k in range(index.size)], "contact_id": contact[index],
        "action": "order", "ts": ts, "value": np.round(rng.lognormal(3.0, 0.5, index.size), 2),
    })
    assignments = pd.DataFrame({
        "experiment_id": "trig", "contact_id": contact, "arm": arm, "bucket": 1, "assigned_at": assigned,
    })
    units = pd.DataFrame({"contact_id": contact, "arm": arm, "assigned_at": assigned, "triggered": triggered})
    return {"assignments": assignments, "exposures": exposure, "actions": actions, "units": units}


def _per_unit(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each unit's conversion, revenue and pre-period revenue, computed here from the rows."""
    units, actions = world["units"], world["actions"]
    joined = actions.merge(units[["contact_id", "assigned_at"]], on="contact_id")
    start, end = joined["assigned_at"], joined["assigned_at"] + timedelta(days=WINDOW_DAYS)
    post = joined[(joined["ts"] >= start) & (joined["ts"] < end)]
    pre = joined[(joined["ts"] >= start - timedelta(days=28)) & (joined["ts"] < start)]
    frame = units.set_index("contact_id")
    sums = post.groupby("contact_id")["value"].agg(["sum", "count"])
    frame["revenue"] = sums["sum"].reindex(frame.index).fillna(0.0)
    frame["converted"] = (sums["count"].reindex(frame.index).fillna(0) > 0).astype(float)
    frame["pre_revenue"] = pre.groupby("contact_id")["value"].sum().reindex(frame.index).fillna(0.0)
    return frame.reset_index()


@pytest.fixture(scope="module")
def triggered_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, pd.DataFrame]]:
    ws = Workspace.create(tmp_path_factory.mktemp("trig") / "ws.duckdb")
    world = _world(16_000, seed=11)
    for table in ("assignments", "exposures", "actions"):
        _insert(ws, table, world[table])
    result = analyze(ws, parse_experiment(EXPERIMENT), as_of=AS_OF)
    ws.close()
    return result, world


def test_the_triggered_lift_recovers_the_triggered_effect_and_equals_tea_tasting(
    triggered_world: tuple[Any, dict[str, pd.DataFrame]],
) -> None:
    result, world = triggered_world
    exposure = result.to_dict()["exposure"]
    assert exposure["triggered_shown"] is True
    units = _per_unit(world)
    triggered = units[units["triggered"]]
    tea = {"conversion": tt.Mean("converted"), "revenue": tt.Mean("revenue", "pre_revenue")}
    rows = {row["metric"]: row for row in exposure["triggered"]}
    assert sorted(rows) == ["conversion", "revenue"]
    for metric, row in rows.items():
        expected = tea[metric].analyze(triggered, control="holdout", treatment="whatsapp", variant="arm")
        assert row["control_units"] == int((triggered["arm"] == "holdout").sum())
        assert row["treatment_units"] == int((triggered["arm"] == "whatsapp").sum())
        assert row["error"] is None
        for name in FIELDS:
            assert math.isclose(row[name], float(getattr(expected, name)), rel_tol=1e-6), (metric, name)
    assert rows["revenue"]["method"] == "welch_t+cuped"  # the same CUPED as the ITT row
    conversion = rows["conversion"]
    assert conversion["effect_size_ci_lower"] < TRUE_TRIGGERED_EFFECT < conversion["effect_size_ci_upper"]
    assert conversion["effect_size_ci_lower"] > 0


def test_the_intent_to_treat_lift_is_the_diluted_effect(
    triggered_world: tuple[Any, dict[str, pd.DataFrame]],
) -> None:
    result, world = triggered_world
    report = result.to_dict()
    itt = next(r for r in report["metrics"] if r["metric"] == "conversion")
    units = _per_unit(world)
    control = units.loc[units["arm"] == "holdout", "converted"]
    treatment = units.loc[units["arm"] == "whatsapp", "converted"]
    assert itt["effect_size"] == pytest.approx(treatment.mean() - control.mean(), rel=1e-9)
    assert itt["effect_size_ci_lower"] < TRUE_ITT_EFFECT < itt["effect_size_ci_upper"]
    assert itt["effect_size_ci_upper"] < TRUE_TRIGGERED_EFFECT  # diluted: clearly below
    triggered = next(r for r in report["exposure"]["triggered"] if r["metric"] == "conversion")
    share = units["triggered"].mean()
    # ITT ≈ share × triggered effect: the two estimates agree within their noise
    assert abs(itt["effect_size"] - share * triggered["effect_size"]) < 2 * (
        itt["effect_size_ci_upper"] - itt["effect_size"]
    )


def test_exposure_shares_per_arm_count_valid_exposures_in_the_window(
    triggered_world: tuple[Any, dict[str, pd.DataFrame]],
) -> None:
    result, world = triggered_world
    units = world["units"]
    exposure = result.to_dict()["exposure"]
    ours = world["exposures"][world["exposures"]["experiment_id"] == "trig"]
    assert exposure["exposures"] == len(ours)
    assert exposure["mismatches"] == []
    assert result.alerts == []
    rows = {row["arm"]: row for row in exposure["arms"]}
    for arm, group in units.groupby("arm"):
        row = rows[str(arm)]
        hit = int(group["triggered"].sum())
        assert row["units"] == len(group)
        assert row["exposures"] == int(ours["contact_id"].isin(group["contact_id"]).sum())
        assert row["triggered_units"] == hit
        if arm == "holdout":
            assert (row["exposed_units"], row["counterfactual_units"]) == (0, hit)
            assert row["counterfactual_share"] == pytest.approx(hit / len(group), rel=1e-12)
        else:
            assert (row["exposed_units"], row["counterfactual_units"]) == (hit, 0)
            assert row["exposed_share"] == pytest.approx(hit / len(group), rel=1e-12)
        assert row["mismatched_exposures"] == 0
    frame = result.to_pandas("exposure")
    assert list(frame["arm"]) == ["holdout", "whatsapp"]
    assert list(frame["triggered_units"]) == [rows["holdout"]["triggered_units"], rows["whatsapp"]["triggered_units"]]
    assert len(result.to_pandas("triggered")) == 2


def test_the_triggered_analysis_is_shown_beside_intent_to_treat_in_every_output(
    triggered_world: tuple[Any, dict[str, pd.DataFrame]],
) -> None:
    result, _ = triggered_world
    report = result.to_dict()
    markdown, page = render_markdown(report), render_html(report)
    for output in (markdown, page, result._repr_html_()):
        assert "Triggered analysis (only triggered units, every arm) beside intent to treat" in output
        assert "intent-to-treat rel. effect" in output
    check = next(c for c in result.summary().verdict.checks if c.startswith("Exposures:"))
    assert "triggered analysis shown" in check
    assert check in result.summary().as_text()
    assert any(line.startswith("Triggered analysis:") for line in report["methods"])


def _mismatched_world(ws: Workspace, tmp_path: Path) -> dict[str, pd.DataFrame]:
    """A small triggered world whose exposures file (loaded, not sent through the API)
    holds one exposure of each mismatch kind."""
    world = _world(2_000, seed=5)
    for table in ("assignments", "actions"):
        _insert(ws, table, world[table])
    units = world["units"].set_index("contact_id")
    holdout = units.index[units["arm"] == "holdout"]
    treatment = units.index[units["arm"] == "whatsapp"]
    at = T0 + timedelta(days=3)
    bad = pd.DataFrame({
        "experiment_id": "trig",
        "contact_id": [holdout[0], holdout[1], treatment[0], "stranger"],
        "arm": ["whatsapp", "holdout", "whatsapp", "whatsapp"],
        "ts": [at, at, at, at],
        "source": ["api", "api", "counterfactual", "api"],
    })
    path = tmp_path / "exposures.csv"
    pd.concat([world["exposures"], bad], ignore_index=True).to_csv(path, index=False)
    load_files(ws, "exposures", [path])
    return world


def test_mismatched_exposures_loaded_from_a_file_raise_an_alert_in_every_output(
    workspace: Workspace, tmp_path: Path
) -> None:
    _mismatched_world(workspace, tmp_path)
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=AS_OF)
    assert [a.kind for a in result.alerts] == ["exposure_mismatch"]
    message = result.alerts[0].message
    assert message.startswith("4 of ")
    for words in ("1 naming another arm", "1 real sends to holdout", "1 counterfactual for treatment",
                  "1 for contacts not assigned"):
        assert words in message
    mismatches = result.to_pandas("exposure_mismatches")
    assert sorted(mismatches["mismatch"]) == [
        "counterfactual_in_treatment", "not_assigned", "sent_to_holdout", "wrong_arm",
    ]
    assert mismatches["exposures"].tolist() == [1, 1, 1, 1]
    arms = result.to_pandas("exposure").set_index("arm")
    assert arms.loc["holdout", "mismatched_exposures"] == 2
    assert arms.loc["whatsapp", "mismatched_exposures"] == 1
    assert arms.loc["holdout", "mismatched_share"] == pytest.approx(2 / arms.loc["holdout", "exposures"])

    report = result.to_dict()
    summary = result.summary()
    assert summary.level == "alert"
    assert "exposures do not match the assignment" in summary.verdict.headline
    assert any(line.startswith("ALERT [exposure_mismatch] 4 of") for line, _ in summary.stderr_lines())
    for output in (render_markdown(report), render_html(report), result._repr_html_()):
        assert "exposures do not match the assignment" in output
        assert "Exposures that do not match the assignment" in output
        assert "counterfactual_in_treatment" in output


def test_report_exits_3_on_a_mismatched_exposure(workspace: Workspace, tmp_path: Path) -> None:
    _mismatched_world(workspace, tmp_path)
    ws_path = str(workspace.path)
    workspace.close()
    experiment = tmp_path / "trig.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    done = CliRunner().invoke(main, ["report", str(experiment), "--out", str(tmp_path / "out"),
                                     "--as-of", AS_OF.isoformat() + "Z", "-w", ws_path])
    assert done.exit_code == 3, done.output
    assert "ALERT [exposure_mismatch]" in done.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["status"] == "alert"
    assert [a["kind"] for a in report["alerts"]] == ["exposure_mismatch"]


def test_without_counterfactual_logging_no_triggered_analysis_is_shown_and_why(
    workspace: Workspace,
) -> None:
    world = _world(2_000, seed=8)
    real = world["exposures"][world["exposures"]["source"] != "counterfactual"]
    for table, frame in (("assignments", world["assignments"]), ("actions", world["actions"]),
                         ("exposures", real)):
        _insert(workspace, table, frame)
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=AS_OF)
    exposure = result.to_dict()["exposure"]
    assert exposure["triggered_shown"] is False
    assert exposure["triggered"] == []
    assert "no counterfactual exposures" in exposure["triggered_note"]
    assert result.alerts == []
    markdown = render_markdown(result.to_dict())
    assert "no counterfactual exposures" in markdown
    assert "beside intent to treat" not in markdown


def test_unbalanced_triggering_is_a_warning(workspace: Workspace) -> None:
    world = _world(4_000, seed=9)
    exposures = world["exposures"]
    # the holdout's would-be sends are logged for only half of its triggered units
    holdout = exposures[exposures["source"] == "counterfactual"]
    dropped = holdout["contact_id"].drop_duplicates().iloc[::2]
    kept = exposures[~exposures["contact_id"].isin(dropped)]
    for table, frame in (("assignments", world["assignments"]), ("actions", world["actions"]),
                         ("exposures", kept)):
        _insert(workspace, table, frame)
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=AS_OF)
    kinds = [d.kind for d in result.warning_details]
    assert "exposure" in kinds
    warning = next(d.message for d in result.warning_details if d.kind == "exposure")
    assert warning.startswith("triggered analysis: the arms' shares of triggered units differ")


def test_an_experiment_without_exposures_says_nothing_of_them(workspace: Workspace) -> None:
    world = _world(1_000, seed=3)
    for table in ("assignments", "actions"):
        _insert(workspace, table, world[table])
    result = analyze(workspace, parse_experiment(EXPERIMENT), as_of=AS_OF)
    report = result.to_dict()
    assert report["exposure"] == {
        "exposures": 0, "arms": [], "mismatches": [], "triggered": [],
        "triggered_shown": False, "triggered_note": None,
    }
    assert "Exposures" not in render_markdown(report)
    assert not any("xposure" in check for check in result.summary().verdict.checks)
    assert result.to_pandas("exposure").empty


def test_other_engines_portable_sql_gives_the_same_exposure_section(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The rewrites other engines run (``PortableDuckDB``) keep every number of the section."""
    _mismatched_world(workspace, tmp_path)
    experiment = parse_experiment(EXPERIMENT)
    reference = analyze(workspace, experiment, as_of=AS_OF).to_dict()["exposure"]
    portable = analyze(workspace, experiment, as_of=AS_OF, engine=PortableDuckDB(workspace.con))
    theirs = portable.to_dict()["exposure"]
    assert reference["triggered"]
    assert reference["mismatches"]
    assert {k: v for k, v in theirs.items() if k != "triggered"} == {
        k: v for k, v in reference.items() if k != "triggered"
    }
    # the moments are summed by sum instead of fsum there: equal to rounding
    for mine, other in zip(reference["triggered"], theirs["triggered"], strict=True):
        assert other.keys() == mine.keys()
        for name, value in mine.items():
            if isinstance(value, float):
                assert other[name] == pytest.approx(value, rel=1e-9), name
            else:
                assert other[name] == value, name
