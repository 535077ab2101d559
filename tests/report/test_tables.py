"""Tests of the table model (threadlift.report.tables): sections, verdict, shared numbers."""

from __future__ import annotations

from typing import Any

import pytest

from report_samples import parse_number, sample_report
from threadlift.analysis.run import CORE_SKIPS, PROGRAMME_SECTIONS
from threadlift.report.tables import (
    CONTEXT_KEYS,
    SECTION_BUILDERS,
    VERDICT_KEYS,
    Section,
    build_page,
    build_sections,
    verdict,
)


@pytest.fixture
def report() -> dict[str, Any]:
    return sample_report()


def _section(report: dict[str, Any], anchor: str) -> Section:
    return next(s for s in build_sections(report) if s.anchor == anchor)


def test_every_report_key_belongs_to_the_context_the_verdict_or_a_section(
    report: dict[str, Any],
) -> None:
    sections = build_sections(report)
    assert len(sections) == len(SECTION_BUILDERS), "the sample has content for every section"
    claimed = [*CONTEXT_KEYS, *VERDICT_KEYS, *(key for s in sections for key in s.keys)]
    assert sorted(claimed) == sorted(report), "each key is shown by exactly one part"
    anchors = [s.anchor for s in sections]
    assert len(set(anchors)) == len(anchors)


def test_every_row_has_one_cell_per_column(report: dict[str, Any]) -> None:
    for section in build_sections(report):
        for table in section.tables:
            assert table.rows, (section.anchor, table.caption)
            for row in table.rows:
                assert len(row.cells) == len(table.columns), (section.anchor, table.caption)


def test_each_table_row_comes_from_one_row_of_the_dict(report: dict[str, Any]) -> None:
    counts = {
        table.caption: len(table.rows) for s in build_sections(report) for table in s.tables
    }
    assert counts["Units assigned to each arm, expected and observed shares"] == len(report["arms"])
    assert counts["Every metric, treatment arm against control (intent to treat)"] == len(
        report["metrics"]
    )
    assert counts["Guardrails: change against the allowed increase"] == len(report["guardrails"])
    assert counts["Guardrail events among the units each sender and template reached"] == len(
        report["guardrail_breakdown"]
    )
    assert counts["Daily numbers: cumulative effect by day since assignment"] == len(
        report["cumulative"]
    )
    assert counts["Effect per stratum (intent to treat within the stratum)"] == len(
        report["window_split"]["metrics"]
    )
    assert counts["Units and sends per stratum and arm"] == len(report["window_split"]["strata"])
    # one return row per arm, whatever its pricing categories
    assert counts["Cost per incremental conversion and return on spend, by arm"] == len(
        {row["arm"] for row in report["cost"]}
    )


def test_window_split_shows_each_arms_own_session_share(report: dict[str, Any]) -> None:
    """With two treatment arms, each lift row carries its own stratum's session share."""
    table = _section(report, "window-split").tables[0]
    headers = [column.header for column in table.columns]
    state_at, arm_at, share_at = (
        headers.index("window at assignment"),
        headers.index("arm vs control"),
        headers.index("session share"),
    )
    strata = {(s["window_state"], s["arm"]): s["session_share"] for s in report["window_split"]["strata"]}
    assert len({strata[("open", arm)] for arm in ("whatsapp", "sms")}) == 2, "the arms differ"
    for row in table.rows:
        state = str(row.cells[state_at])
        arm = str(row.cells[arm_at]).split(" vs ")[0]
        shown, half_unit = parse_number(str(row.cells[share_at]))
        assert abs(shown - strata[(state, arm)]) <= half_unit * (1 + 1e-9), (state, arm)


def test_verdict_is_red_when_a_guardrail_is_breached(report: dict[str, Any]) -> None:
    summary = verdict(report)
    assert summary.alerting
    assert any(check.startswith("Guardrail breached: block_rate for whatsapp") for check in summary.checks)
    assert summary.alerts == tuple(f"{a['kind']}: {a['message']}" for a in report["alerts"])
    assert summary.warnings == tuple(report["warnings"])


def test_verdict_is_green_when_clean(report: dict[str, Any]) -> None:
    report["status"] = "ok"
    report["alerts"] = []
    for row in report["guardrails"]:
        row["breached"] = False
    summary = verdict(report)
    assert not summary.alerting
    assert summary.findings[0].startswith("whatsapp vs holdout: conversion +23.1%")
    assert "The messages raised conversion" in summary.findings[0]
    assert "includes zero" in summary.findings[1]


def test_srm_failure_makes_the_verdict_alert(report: dict[str, Any]) -> None:
    report["status"] = "ok"
    report["guardrails"] = []
    report["srm"] = {"pvalue": 1e-9, "passed": False, "statistic": 51.2, "alpha": 0.001}
    summary = verdict(report)
    assert summary.alerting
    assert "do NOT match" in summary.checks[0]
    assert "<0.0001" in summary.checks[0]


def test_a_core_report_says_which_sections_it_skipped(report: dict[str, Any]) -> None:
    # A core report of a global holdout skips its programme sections as well.
    report["skipped_sections"] = [*CORE_SKIPS, *PROGRAMME_SECTIONS]
    for key in report["skipped_sections"]:
        report[key] = {} if isinstance(report[key], dict) else []
    page = build_page(report)
    skipped = next(c for c in page.verdict.checks if c.startswith("Core report: not computed here"))
    for key in CORE_SKIPS:
        assert key in skipped
    anchors = {s.anchor for s in page.sections}
    # exposures are checked in a core report too: a mismatch is an alert
    assert anchors == {"arms", "balance", "effects", "exposure", "guardrails", "methods"}


def test_empty_report_has_no_sections() -> None:
    page = build_page({})
    assert page.sections == []
    assert page.verdict.findings == ("No metric was measured.",)
    assert "No guardrails defined." in page.verdict.checks
