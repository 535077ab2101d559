"""How an Analysis shows itself: to_pandas for every section, to_markdown, to_html, print, plot."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import threadlift as tl
from threadlift.analysis import Analysis, Chart, analyze
from threadlift.analysis.run import FRAME_ALIASES, FRAMES
from threadlift.datasets.demo import run_demo
from threadlift.errors import InputError
from threadlift.report import charts
from threadlift.report.html import render_html
from threadlift.report.markdown import render_markdown


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, Analysis, pd.DataFrame]:
    out: Path = tmp_path_factory.mktemp("display")
    demo = run_demo(out, n_contacts=4_000, seed=3)
    experiment = tl.load_experiment(demo.experiment_file)
    with tl.open_workspace(demo.workspace) as ws:
        full = analyze(ws, experiment, as_of=demo.report_as_of)
        core = analyze(ws, experiment, as_of=demo.report_as_of, sections="core")
        assigned = ws.con.execute(
            "SELECT arm, count(*) AS units FROM assignments WHERE experiment_id = ? GROUP BY arm",
            [experiment.id],
        ).df()
    return full, core, assigned


def _same(frame_value: Any, json_value: Any) -> bool:
    """A frame cell equals its report.json value (NaN ↔ null, datetime ↔ ISO text)."""
    if json_value is None:
        return frame_value is None or (isinstance(frame_value, float) and math.isnan(frame_value))
    if hasattr(frame_value, "isoformat"):
        return bool(frame_value.isoformat() == json_value)
    return bool(frame_value == json_value)


def test_every_report_json_section_has_a_frame(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    report = full.to_dict()
    listed = {
        "metrics": report["metrics"],
        "arms": report["arms"],
        "srm": [report["srm"]],
        "balance": report["balance"],
        "complier": report["complier"],
        "funnel": report["funnel"],
        "cumulative": report["cumulative"],
        "guardrails": report["guardrails"],
        "guardrail_breakdown": report["guardrail_breakdown"],
        "messaging_limits": report["messaging_limits"],
        "window_share": report["window_share"],
        "window_split": report["window_split"]["metrics"],
        "window_strata": report["window_split"]["strata"],
        "segments": report["segments"],
        "heterogeneity": report["heterogeneity"],
        "sender_quality": report["sender_quality"],
        "templates": report["template_quality"]["templates"],
        "template_events": report["template_quality"]["events"],
        "cost": report["cost"],
        "cost_comparison": report["cost_comparison"],
        "exposure": report["exposure"]["arms"],
        "exposure_mismatches": report["exposure"]["mismatches"],
        "triggered": report["exposure"]["triggered"],
        # A global holdout's sections (tests/analysis/test_programme.py fills them); empty here.
        "programme_decay": report["programme_decay"],
        "programme_parts": report["programme_parts"],
        "programme_contamination": report["programme_health"].get("contamination", []),
        "programme_drift": report["programme_health"].get("drift", []),
        "programme_attrition": report["programme_health"].get("attrition", []),
        "alerts": report["alerts"],
        "warnings": report["warning_details"],
        "methods": [{"method": text} for text in report["methods"]],
    }
    assert set(listed) == set(FRAMES)
    assert [row["message"] for row in report["warning_details"]] == report["warnings"]
    assert report["warnings"], "the demo warns (messaging limit, template paused …)"
    for section, rows in listed.items():
        frame = full.to_pandas(section)
        row_type, _ = FRAMES[section]
        assert list(frame.columns) == [f.name for f in fields(row_type)], section
        assert len(frame) == len(rows), section
        for index, row in enumerate(rows):
            for column in frame.columns:
                if isinstance(row[column], list | dict):
                    continue
                assert _same(frame.iloc[index][column], row[column]), (section, index, column)
    # the demo fills the sections an analyst asks about first
    for section in ("metrics", "complier", "cumulative", "templates", "sender_quality", "cost"):
        assert len(full.to_pandas(section)) > 0, section


def test_arm_units_match_the_assignments_table(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, assigned = analyses
    arms = full.to_pandas("arms").set_index("arm")["units"].sort_index()
    expected = assigned.set_index("arm")["units"].sort_index()
    assert arms.to_dict() == expected.to_dict()


def test_metric_frame_numbers_are_the_comparisons(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    frame = full.to_pandas("metrics")
    first = frame.iloc[0]
    assert first.effect_size == pytest.approx(first.treatment - first.control)
    assert first.rel_effect_size == pytest.approx(first.treatment / first.control - 1, rel=1e-9)
    assert first.effect_size_ci_lower < first.effect_size < first.effect_size_ci_upper


def test_aliases_and_spelling(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    for alias, section in FRAME_ALIASES.items():
        assert full.to_pandas(alias).equals(full.to_pandas(section)), alias
    assert full.to_pandas("Window split").equals(full.to_pandas("window_split"))
    assert full.to_pandas("guardrail-breakdown").equals(full.to_pandas("guardrail_breakdown"))


def test_the_frame_methods_are_to_pandas(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    assert full.metrics_frame().equals(full.to_pandas("metrics"))
    assert full.guardrails_frame().equals(full.to_pandas("guardrails"))
    assert full.funnel_frame().equals(full.to_pandas("funnel"))
    assert full.cost_frame().equals(full.to_pandas("cost"))


def test_unknown_and_skipped_sections_are_refused(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, core, _ = analyses
    with pytest.raises(InputError, match="unknown section 'strata'; choose one of metrics, arms"):
        full.to_pandas("strata")
    with pytest.raises(InputError, match="'funnel' was not computed: this is a core analysis"):
        core.to_pandas("funnel")
    assert core.to_pandas("metrics").equals(full.to_pandas("metrics"))
    with pytest.raises(InputError, match="nothing to draw for 'cost': a core analysis skips it"):
        core.plot("cost")


def test_markdown_html_and_print_are_the_report(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    report = full.to_dict()
    markdown = full.to_markdown()
    assert markdown == render_markdown(report)
    assert str(full) == markdown
    assert full.to_html() == render_html(report)
    assert full.to_html().count("<svg ") >= 6
    # p-values and relative effects are formatted, not raw floats
    first = full.to_pandas("metrics").iloc[0]
    assert f"{first.rel_effect_size * 100:+.1f}%" in markdown
    assert repr(float(first.pvalue)) not in markdown


def test_plot_gives_a_chart_with_svg_and_png(analyses: tuple[Analysis, Analysis, pd.DataFrame], tmp_path: Path) -> None:
    full, _, _ = analyses
    for name in charts.CHARTS:
        if name == "programme_decay":
            # tests/analysis/test_programme.py plots it from a global holdout's analysis
            with pytest.raises(InputError, match="only a global holdout's report"):
                full.plot(name)
            continue
        chart = full.plot(name)
        assert isinstance(chart, Chart)
        assert chart.svg.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg ')
        assert 'xmlns="http://www.w3.org/2000/svg"' in chart.svg
        assert 'xmlns:xlink="http://www.w3.org/1999/xlink"' in chart.svg
        png, metadata = chart._repr_png_()
        assert png.startswith(b"\x89PNG")
        assert (metadata["width"], metadata["height"]) == charts.css_size(png)
    forest = full.plot()
    assert forest.svg == charts.draw("forest", full.to_dict()).document()  # type: ignore[union-attr]
    assert forest.save(tmp_path / "forest.svg").read_text(encoding="utf-8") == forest.svg
    assert forest.save(str(tmp_path / "forest.png")).read_bytes() == forest.png
    assert "svg=" not in repr(forest)
    with pytest.raises(InputError, match=r"must end in \.svg or \.png"):
        forest.save(tmp_path / "forest.pdf")
    with pytest.raises(InputError, match="unknown chart 'pie'; choose one of forest"):
        full.plot("pie")


def test_formatted_frames_read_as_the_report(analyses: tuple[Analysis, Analysis, pd.DataFrame]) -> None:
    full, _, _ = analyses
    raw = full.to_pandas("metrics")
    shown = full.to_pandas("metrics", formatted=True)
    assert list(shown.columns) == list(raw.columns)
    for index in range(len(raw)):
        p = raw.iloc[index].pvalue
        assert shown.iloc[index].pvalue == ("<0.0001" if p < 0.0001 else f"{p:.4f}")
        rel = raw.iloc[index].rel_effect_size
        assert shown.iloc[index].rel_effect_size == f"{rel * 100:+.1f}%"
        assert shown.iloc[index].metric == raw.iloc[index].metric
        assert shown.iloc[index].error == ("—" if raw.iloc[index].error is None else raw.iloc[index].error)
    # the same text as the Markdown report's effects table
    markdown = full.to_markdown()
    first = shown.iloc[0]
    assert f"{first.rel_effect_size} [{first.rel_effect_size_ci_lower}, {first.rel_effect_size_ci_upper}]" in markdown
    arms = full.to_pandas("arms", formatted=True)
    units = full.to_pandas("arms")["units"]
    assert list(arms["units"]) == [f"{count:,}" for count in units]
    assert all(share.endswith("%") for share in arms["observed_share"])
    cost = full.to_pandas("cost", formatted=True).iloc[0]
    assert cost.cost.endswith(f" {cost.currency}")
