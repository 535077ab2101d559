"""The verdict at the top of every report: its level follows the worst problem, it states
the primary lift and the cost per incremental conversion, and it lists every alert and
warning; the small print of the tables (no data, non-inferiority p, intervals that
disagree about zero)."""

from __future__ import annotations

from typing import Any

import pytest

from report_samples import sample_report
from threadlift.report.markdown import render_markdown
from threadlift.report.summary import fails, summarize
from threadlift.report.tables import build_sections, verdict


@pytest.fixture
def clean() -> dict[str, Any]:
    """The sample report with nothing wrong: no alert, no breach, no warning."""
    report = sample_report()
    report["status"] = "ok"
    report["alerts"] = []
    report["warnings"] = []
    report["warning_details"] = []
    for row in report["guardrails"]:
        row["breached"] = False
    return report


def _warn(report: dict[str, Any], kind: str, message: str) -> None:
    report["warnings"].append(message)
    report["warning_details"].append({"kind": kind, "message": message})


def test_ok_only_when_nothing_is_wrong(clean: dict[str, Any]) -> None:
    summary = verdict(clean)
    assert summary.level == "ok"
    assert summary.headline.startswith("OK: ")
    assert summary.concerns == ()


@pytest.mark.parametrize(
    ("kind", "message", "words"),
    [
        (
            "messaging_limit",
            "sender 1555 reached 1,204 unique contacts outside a service window in 24 hours, "
            "above its TIER_1K limit (1,000)",
            "sender above its messaging limit",
        ),
        (
            "template_status",
            "template promo (en) was paused from 2026-11-05 10:05 UTC to 2026-11-05 13:05 UTC",
            "template paused",
        ),
        (
            "quality_drop",
            "sender 1555 quality rating dropped GREEN→YELLOW at 2026-11-04 10:00 UTC",
            "quality rating dropped",
        ),
        (
            "incomplete_window",
            "incomplete window: 2 of 7 days observed (as of 2026-11-04 09:00 UTC)",
            "incomplete window (2 of 7 days observed)",
        ),
        ("no_units", "no units in arm sms: its lifts cannot be estimated", "no units"),
        ("no_data", "guardrail block_rate (sms vs holdout): no data to test (zero_variance)",
         "estimates without data"),
    ],
)
def test_any_warning_makes_the_verdict_a_warning_that_names_it(
    clean: dict[str, Any], kind: str, message: str, words: str
) -> None:
    _warn(clean, kind, message)
    summary = verdict(clean)
    assert summary.level == "warning"
    assert summary.headline == (
        f"WARNING: read the 1 warning below before acting on this result: {words}."
    )
    assert summary.warnings == (message,)
    markdown = render_markdown(clean)
    head = markdown.split("\n## ")[0]
    assert f"**{summary.headline}**" in head
    assert f"- {message}" in head.replace("\\", "")


def test_an_alert_outranks_warnings(clean: dict[str, Any]) -> None:
    _warn(clean, "messaging_limit", "sender 1555 reached 1,204 unique contacts")
    clean["alerts"] = [{"kind": "srm", "message": "sample-ratio mismatch: p = 1e-09"}]
    clean["status"] = "alert"
    summary = verdict(clean)
    assert summary.level == "alert"
    assert summary.headline.startswith("ALERT: do not act on this result")
    assert "sample-ratio mismatch" in summary.headline
    assert "sender above its messaging limit" in summary.headline
    assert [c.level for c in summary.concerns] == ["alert", "warning"]


def test_each_kind_is_named_once_and_warnings_without_details_still_count(
    clean: dict[str, Any],
) -> None:
    _warn(clean, "template_status", "template a (en) was paused from 2026-11-05 10:05 UTC")
    _warn(clean, "template_status", "template b (en) was paused from 2026-11-06 10:05 UTC")
    clean["warnings"].append("a warning written by an older threadlift, without details")
    summary = verdict(clean)
    assert summary.level == "warning"
    assert summary.headline == (
        "WARNING: read the 3 warnings below before acting on this result: template paused."
    )
    assert len(summary.warnings) == 3


def test_fail_on_levels() -> None:
    assert [fails(level, "alert") for level in ("ok", "warning", "alert")] == [False, False, True]
    assert [fails(level, "warning") for level in ("ok", "warning", "alert")] == [False, True, True]


def test_the_verdict_states_the_cost_per_incremental_conversion(clean: dict[str, Any]) -> None:
    summary = verdict(clean)
    # sample: 4.8128 USD [3.4213, 8.1762]; 2,617.69 USD for 543.9 conversions; ROS 7.143
    assert summary.costs[0] == (
        "Cost per incremental conversion, whatsapp: 4.81 USD [3.42 USD, 8.18 USD] "
        "(2,617.69 USD for 543.9 incremental conversions; return on spend +714%)."
    )
    assert summary.costs[1].startswith("Cost per incremental conversion, sms: 17.02 USD [unbounded] (")
    assert len(summary.costs) == len({row["arm"] for row in clean["cost"]})
    markdown = render_markdown(clean)
    head = markdown.split("\n## ")[0]
    assert "4.81 USD \\[3.42 USD, 8.18 USD\\]" in head, "in the headline, not only at the end"


def test_an_unbounded_cost_interval_is_explained(clean: dict[str, Any]) -> None:
    # Fieller: the sample's sms row has an estimate and no bounds (its lift may be zero)
    sms = next(c for c in verdict(clean).costs if ", sms:" in c)
    assert "17.02 USD [unbounded]" in sms
    assert "The interval is unbounded (Fieller)" in sms
    whatsapp = next(c for c in verdict(clean).costs if ", whatsapp:" in c)
    assert "unbounded" not in whatsapp


def test_a_report_without_units_warns_instead_of_breaching(clean: dict[str, Any]) -> None:
    """Nobody assigned: guardrail rows come back breached with empty_arm; the analysis
    raises no alert for them, and the verdict and the table say "no data", not BREACHED."""
    for row in clean["arms"]:
        row["units"] = 0
        row["observed_share"] = None
    for row in clean["guardrails"]:
        row.update(control=None, treatment=None, effect_size=None, effect_size_ci_upper=None,
                   pvalue=None, error="empty_arm", breached=True)
    _warn(clean, "no_units", "no units: nobody is assigned to experiment x yet")
    summary = verdict(clean)
    assert summary.level == "warning"
    assert "no units" in summary.headline
    assert not any("breached" in check.lower() for check in summary.checks)
    table = next(s for s in build_sections(clean) if s.anchor == "guardrails").tables[0]
    status = [str(row.cells[-1]) for row in table.rows]
    assert status == ["no data (empty_arm)"] * len(clean["guardrails"])
    assert {row.tone for row in table.rows} == {"degenerate"}
    assert "nan" not in render_markdown(clean).lower()


def test_a_guardrail_without_variance_shows_no_data_not_a_p_value(clean: dict[str, Any]) -> None:
    """report.json writes pvalue 0.0 beside error zero_variance (no event in either arm)."""
    row = clean["guardrails"][1]
    row.update(control=0.0, treatment=0.0, effect_size=0.0, effect_size_ci_upper=0.0,
               pvalue=0.0, error="zero_variance", breached=False)
    table = next(s for s in build_sections(clean) if s.anchor == "guardrails").tables[0]
    headers = [column.header for column in table.columns]
    assert "non-inferiority p" in headers
    cells = [str(cell) for cell in table.rows[1].cells]
    assert cells[headers.index("non-inferiority p")] == "no data"
    assert cells[headers.index("status")] == "no data (zero_variance)"
    assert "<0.0001" not in cells
    assert any("could not be tested: no data (zero_variance)" in c for c in verdict(clean).checks)


def test_a_breach_still_reads_breached(clean: dict[str, Any]) -> None:
    clean["guardrails"][0]["breached"] = True
    table = next(s for s in build_sections(clean) if s.anchor == "guardrails").tables[0]
    assert str(table.rows[0].cells[-1]) == "BREACHED"
    assert table.rows[0].tone == "breach"
    assert verdict(clean).level == "alert"


def _effects_notes(report: dict[str, Any]) -> list[str]:
    return [str(n) for n in next(s for s in build_sections(report) if s.anchor == "effects").notes]


def test_intervals_that_disagree_about_zero_are_explained(clean: dict[str, Any]) -> None:
    assert _effects_notes(clean) == [], "every sample row's two intervals agree"
    row = clean["metrics"][2]  # revenue, whatsapp
    row.update(effect_size_ci_lower=0.022, effect_size_ci_upper=1.924,
               rel_effect_size_ci_lower=-0.011, rel_effect_size_ci_upper=0.512)
    (note,) = _effects_notes(clean)
    assert note.startswith("revenue (whatsapp vs holdout): the absolute interval excludes zero "
                           "but the relative one includes it.")
    assert "delta-method" in note
    assert "wider" in note
    markdown = render_markdown(clean)
    assert "Note: `revenue` (whatsapp vs holdout): the absolute interval excludes zero" in markdown
    row.update(effect_size_ci_lower=-0.1, rel_effect_size_ci_lower=0.01)
    (note,) = _effects_notes(clean)
    assert "the relative interval excludes zero but the absolute one includes it" in note
    assert "wider" not in note


def test_summary_text_and_html_come_from_the_verdict() -> None:
    report = sample_report()
    summary = summarize(report)
    text = summary.as_text()
    assert str(summary) == text
    assert text.splitlines()[0] == "br-winback-2026-11 as of 2026-11-09 09:00 UTC"
    assert text.splitlines()[1] == summary.verdict.headline
    for alert in report["alerts"]:
        assert alert["message"] in text
    for warning in report["warnings"]:
        assert warning in text
    html = summary._repr_html_()
    assert 'class="verdict alert"' in html
    assert "4.81 USD [3.42 USD, 8.18 USD]" in html
    assert "<script" not in html
    data = summary.to_dict()
    assert data["level"] == "alert"
    assert [w["kind"] for w in data["warnings"]] == [d["kind"] for d in report["warning_details"]]
    assert data["cost_per_incremental_conversion"][0]["cost_per_incremental_conversion"] == 4.8128
    assert summary.one_line().startswith("br-winback-2026-11 as of 2026-11-09 09:00 UTC: ALERT (")


def test_the_status_fact_does_not_say_a_bare_ok_beside_warnings(clean: dict[str, Any]) -> None:
    from threadlift.report.tables import context

    clean["status"], clean["warnings"] = "ok", []
    assert ("status", "ok") in context(clean).facts
    clean["warnings"] = ["one", "two"]
    assert ("status", "ok with 2 warnings") in context(clean).facts
