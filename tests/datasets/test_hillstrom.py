"""The worked example: Hillstrom's randomised e-mail test analysed end to end from its CSV.

Checked against an independent pandas / scipy computation on the raw CSV and against the
cell rates Hillstrom published (visit 10.62 / 18.28 / 15.14 %, conversion 0.57 / 1.25 /
0.88 %, spend $0.65 / $1.42 / $1.08 for no e-mail / men's / women's).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from threadlift.cli import main
from threadlift.datasets import hillstrom

DATA = Path(__file__).resolve().parents[2] / "data" / "hillstrom"

PUBLISHED = {
    ("visit", "no_email"): 0.1062,
    ("visit", "mens_email"): 0.1828,
    ("visit", "womens_email"): 0.1514,
    ("conversion", "no_email"): 0.0057,
    ("conversion", "mens_email"): 0.0125,
    ("conversion", "womens_email"): 0.0088,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    csv_path = hillstrom.fetch(DATA)
    paths = hillstrom.to_canonical(csv_path, tmp_path_factory.mktemp("canonical"))
    out = tmp_path_factory.mktemp("report")
    ws = str(out / "hs.duckdb")
    runner = CliRunner()
    for table in ("contacts", "actions"):
        done = runner.invoke(main, ["load", table, str(paths[table]), "-w", ws])
        assert done.exit_code == 0, done.output
    done = runner.invoke(
        main,
        ["load", "assignments", str(paths["assignments"]), "--experiment",
         str(paths["experiment"]), "-w", ws],
    )
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        main,
        ["report", str(paths["experiment"]), "--out", str(out), "--as-of",
         "2008-04-01T00:00:00Z", "-w", ws],
    )
    assert done.exit_code == 0, done.output
    loaded: dict[str, object] = json.loads((out / "report.json").read_text())
    return loaded


def _raw() -> pd.DataFrame:
    frame = hillstrom.read(DATA / "hillstrom.csv")
    frame["arm"] = frame.segment.map(hillstrom.ARMS)
    return frame


def test_cell_rates_match_the_raw_csv_and_the_published_values(report: dict[str, object]) -> None:
    raw = _raw()
    rows = report["metrics"]
    assert isinstance(rows, list)
    for (metric, arm), published in PUBLISHED.items():
        column = "visit" if metric == "visit" else "conversion"
        observed = raw.loc[raw.arm == arm, column].mean()
        row = next(
            r for r in rows
            if r["metric"] == metric and (r["arm"] == arm or (r["control_arm"] == arm))
        )
        value = row["treatment"] if row["arm"] == arm else row["control"]
        assert value == pytest.approx(observed, rel=1e-12)
        assert round(value, 4) == pytest.approx(published, abs=6e-5)


@pytest.mark.parametrize("metric", ["visit", "conversion"])
@pytest.mark.parametrize("arm", ["mens_email", "womens_email"])
def test_lift_against_no_email_matches_scipy_welch(
    report: dict[str, object], metric: str, arm: str
) -> None:
    raw = _raw()
    treatment = raw.loc[raw.arm == arm, metric].to_numpy(dtype=float)
    control = raw.loc[raw.arm == "no_email", metric].to_numpy(dtype=float)
    welch = sps.ttest_ind(treatment, control, equal_var=False)
    interval = welch.confidence_interval(0.95)
    rows = report["metrics"]
    assert isinstance(rows, list)
    row = next(
        r for r in rows if r["metric"] == metric and r["arm"] == arm and r["control_arm"] == "no_email"
    )
    assert row["effect_size"] == pytest.approx(treatment.mean() - control.mean(), rel=1e-9)
    assert row["effect_size_ci_lower"] == pytest.approx(interval.low, rel=1e-8)
    assert row["effect_size_ci_upper"] == pytest.approx(interval.high, rel=1e-8)
    assert row["pvalue"] == pytest.approx(welch.pvalue, rel=1e-6, abs=1e-300)


def test_the_split_passes_the_sample_ratio_check(report: dict[str, object]) -> None:
    srm = report["srm"]
    assert isinstance(srm, dict)
    raw = _raw()
    counts = raw.arm.value_counts()[["no_email", "mens_email", "womens_email"]].to_numpy()
    assert srm["pvalue"] == pytest.approx(sps.chisquare(counts).pvalue, rel=1e-9)
    assert srm["passed"] is True
    assert report["alerts"] == []
