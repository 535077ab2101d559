"""The assignment contract: golden vectors in Python and DuckDB, and its invariants."""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from threadlift.assign.assignment import assign_experiment, eligibility_snapshot
from threadlift.core.bucketing import (
    BUCKETS,
    arm_for_bucket,
    arm_ranges,
    basis_points,
    bucket,
    exact_weight,
)
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "assignment_cases.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = GOLDEN["cases"]
DESIGN_EXPRESSION = "CAST(('0x' || substr(md5(salt || ':' || unit_id), 1, 15)) AS BIGINT) % 10000"


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path_factory.mktemp("assignment") / "ws.duckdb")
    try:
        yield ws
    finally:
        ws.close()


def _golden_relation(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE golden (i INTEGER, salt VARCHAR, unit_id VARCHAR)")
    con.executemany(
        "INSERT INTO golden VALUES ($1, $2, $3)",
        [(i, case["salt"], case["unit_id"]) for i, case in enumerate(CASES)],
    )


def test_golden_file_is_large_and_varied() -> None:
    kinds = {case["kind"] for case in CASES}
    assert len(CASES) >= 300
    assert {"ascii", "accents_nfc", "accents_nfd", "cjk", "emoji", "e164", "bsuid", "long", "empty_salt"} <= kinds
    assert any(case["unit_id"] == "US.13491208655302741918" for case in CASES)
    assert max(len(case["unit_id"]) for case in CASES) >= 65536


def test_golden_md5_and_bucket_agree() -> None:
    for case in CASES:
        assert case["bucket"] == int(case["md5"][:15], 16) % BUCKETS


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}-{i}" for i, c in enumerate(CASES)])
def test_python_bucket_matches_golden(case: dict[str, Any]) -> None:
    assert bucket(case["salt"], case["unit_id"]) == case["bucket"]


def test_duckdb_macro_matches_golden(module_workspace: Workspace) -> None:
    con = module_workspace.con
    _golden_relation(con)
    rows = con.execute(
        "SELECT i, threadlift_bucket(salt, unit_id), md5(salt || ':' || unit_id) FROM golden ORDER BY i"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(c["bucket"], c["md5"]) for c in CASES]


def test_design_expression_matches_golden_in_bare_duckdb() -> None:
    """The contract's expression, as a warehouse would write it, without threadlift's macro."""
    con = duckdb.connect()
    _golden_relation(con)
    rows = con.execute(f"SELECT {DESIGN_EXPRESSION} FROM golden ORDER BY i").fetchall()
    assert [r[0] for r in rows] == [c["bucket"] for c in CASES]


def test_assignment_sql_path_matches_golden(module_workspace: Workspace) -> None:
    """The buckets and arms of the real assignment SQL (sql/assign/evaluate.sql) match the file."""
    _golden_relation(module_workspace.con)
    salts = sorted({case["salt"] for case in CASES})
    arms = [{"name": "holdout", "weight": 10, "holdout": True}, {"name": "t", "weight": 90}]
    for salt in salts:
        experiment = Experiment.model_validate(
            {
                "id": f"golden-{uuid.uuid4()}",
                "channel": "whatsapp",
                "assigned_at": "2026-11-02T09:00:00Z",
                "salt": salt,
                "audience_sql": "SELECT unit_id AS contact_id FROM golden",
                "arms": arms,
                "eligibility": {"require_consent": False, "exclude_feedback_days": 0},
            }
        )
        mine = list({c["unit_id"]: c for c in CASES if c["salt"] == salt}.values())
        statuses = eligibility_snapshot(module_workspace, experiment, [c["unit_id"] for c in mine])
        ranges = experiment.ranges()
        for case, status in zip(mine, statuses, strict=True):
            assert status.bucket == case["bucket"]
            assert status.arm == arm_for_bucket(ranges, case["bucket"])


@pytest.mark.parametrize("arm_case", GOLDEN["arm_cases"])
def test_arm_ranges_match_golden(arm_case: dict[str, Any]) -> None:
    arms = [(a["name"], a["weight"], a.get("holdout", False)) for a in arm_case["arms"]]
    assert [(r.name, r.start, r.stop) for r in arm_ranges(arms)] == [
        (r["name"], r["start"], r["stop"]) for r in arm_case["ranges"]
    ]


def test_float_weights_are_read_as_written() -> None:
    # 0.3 + 0.6 is 0.8999999999999999 in binary floating point: a float boundary would be 8999.
    ranges = arm_ranges([("h", 0.3, True), ("x", 0.6, False), ("y", 0.1, False)])
    assert [(r.start, r.stop) for r in ranges] == [(0, 3000), (3000, 9000), (9000, 10000)]
    assert exact_weight(0.1) == Fraction(1, 10)
    assert basis_points(12.5) == 1250


def test_arm_ranges_refuse_bad_weights() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        arm_ranges([("a", 0, False), ("b", 1, False)])
    with pytest.raises(ValueError, match="finite"):
        arm_ranges([("a", math.inf, False), ("b", 1, False)])
    with pytest.raises(TypeError):
        arm_ranges([("a", True, False), ("b", 1, False)])


def test_arm_for_bucket_outside_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        arm_for_bucket(arm_ranges([("a", 1, False)]), BUCKETS)


# --- properties --------------------------------------------------------------------------

weights = st.integers(min_value=1, max_value=1000)
decimal_weights = st.decimals(min_value="0.01", max_value="1000", places=2).map(str)


@st.composite
def designs(draw: st.DrawFn) -> tuple[Fraction, list[Fraction]]:
    """A holdout weight and 1..5 treatment weights."""
    holdout = exact_weight(draw(decimal_weights))
    treatments = [exact_weight(w) for w in draw(st.lists(decimal_weights, min_size=1, max_size=5))]
    return holdout, treatments


def _ranges(holdout: Fraction, treatments: list[Fraction]) -> list[Any]:
    arms: list[tuple[str, Fraction, bool]] = [("holdout", holdout, True)]
    arms += [(f"t{i}", w, False) for i, w in enumerate(treatments)]
    return arm_ranges(arms)


@given(designs())
def test_ranges_tile_the_bucket_space(design: tuple[Fraction, list[Fraction]]) -> None:
    ranges = _ranges(*design)
    assert ranges[0].name == "holdout"
    assert ranges[0].start == 0
    assert ranges[-1].stop == BUCKETS
    for before, after in itertools.pairwise(ranges):
        assert before.stop == after.start
    total = design[0] + sum(design[1])
    for arm_range, weight in zip(ranges, [design[0], *design[1]], strict=True):
        assert abs(arm_range.width - BUCKETS * weight / total) < 1


@given(designs(), st.integers(min_value=0, max_value=4), decimal_weights)
def test_growing_a_treatment_never_moves_anyone_into_the_holdout(
    design: tuple[Fraction, list[Fraction]], which: int, extra: str
) -> None:
    holdout, treatments = design
    which %= len(treatments)
    grown = list(treatments)
    grown[which] += exact_weight(extra)
    before, after = _ranges(holdout, treatments)[0], _ranges(holdout, grown)[0]
    # The holdout share falls, so the holdout shrinks from its top end: everyone in the new
    # holdout was in the old one, and no treatment bucket becomes holdout.
    assert after.start == before.start == 0
    assert after.stop <= before.stop


@given(designs(), st.integers(min_value=0, max_value=4), decimal_weights)
def test_keeping_the_holdout_share_never_moves_a_holdout_contact(
    design: tuple[Fraction, list[Fraction]], which: int, extra: str
) -> None:
    holdout, treatments = design
    which %= len(treatments)
    grown = list(treatments)
    grown[which] += exact_weight(extra)
    # Grow a treatment and scale the holdout weight to keep its share: holdout identical.
    scaled_holdout = holdout * sum(grown) / sum(treatments)
    assert scaled_holdout / (scaled_holdout + sum(grown)) == holdout / (holdout + sum(treatments))
    assert _ranges(scaled_holdout, grown)[0] == _ranges(holdout, treatments)[0]
    # Splitting a treatment into two, or adding an arm carved from the others, likewise.
    split = [*treatments[:which], treatments[which] / 2, treatments[which] / 2, *treatments[which + 1 :]]
    assert _ranges(holdout, split)[0] == _ranges(holdout, treatments)[0]


_contact_ids = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(_contact_ids, min_size=1, max_size=40, unique=True),
    st.lists(_contact_ids, max_size=40, unique=True),
    st.text(max_size=12),
)
def test_sql_assignment_does_not_depend_on_the_audience(
    module_workspace: Workspace, core: list[str], others: list[str], salt: str
) -> None:
    """Assigning ``core`` alone and ``core`` plus ``others`` gives ``core`` the same arms."""
    con = module_workspace.con
    arms = [
        {"name": "holdout", "weight": 10, "holdout": True},
        {"name": "a", "weight": 45},
        {"name": "b", "weight": 45},
    ]
    results = []
    experiment = None
    for audience in (core, core + [o for o in others if o not in core]):
        table = f"aud_{uuid.uuid4().hex}"
        con.execute(f"CREATE TEMP TABLE {table} (contact_id VARCHAR)")
        con.executemany(f"INSERT INTO {table} VALUES ($1)", [(c,) for c in audience])
        experiment = Experiment.model_validate(
            {
                "id": f"prop-{uuid.uuid4()}",
                "channel": "sms",
                "assigned_at": "2026-11-02T09:00:00Z",
                "salt": salt,
                "audience_sql": f"SELECT contact_id FROM {table}",
                "arms": arms,
                "eligibility": {"require_consent": False, "exclude_feedback_days": 0},
            }
        )
        assign_experiment(module_workspace, experiment)
        rows = con.execute(
            "SELECT contact_id, arm FROM assignments WHERE experiment_id = $e", {"e": experiment.id}
        ).fetchall()
        results.append(dict(rows))
    assert experiment is not None
    ranges = experiment.ranges()
    expected = {c: arm_for_bucket(ranges, bucket(salt, c)) for c in core}
    assert {c: results[0][c] for c in core} == expected
    assert {c: results[1][c] for c in core} == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=16), designs())
def test_arm_shares_match_weights(
    module_workspace: Workspace, salt: str, design: tuple[Fraction, list[Fraction]]
) -> None:
    """Over 50,000 ids each arm's count is binomial with the share of its bucket range."""
    ranges = _ranges(*design)
    n = 50_000
    counts = dict(
        module_workspace.con.execute(
            """
            SELECT arm, count(*) FROM (
                SELECT threadlift_bucket($salt, 'contact-' || CAST(i AS VARCHAR)) AS b
                FROM range($n) AS t(i)
            ) JOIN (SELECT unnest($names) AS arm, unnest($starts) AS s, unnest($stops) AS e)
              ON b >= s AND b < e
            GROUP BY arm
            """,
            {
                "salt": salt,
                "n": n,
                "names": [r.name for r in ranges],
                "starts": [r.start for r in ranges],
                "stops": [r.stop for r in ranges],
            },
        ).fetchall()
    )
    assert sum(counts.values()) == n
    for arm_range in ranges:
        if arm_range.width == 0:
            assert counts.get(arm_range.name, 0) == 0
            continue
        result = binomtest(counts.get(arm_range.name, 0), n, arm_range.width / BUCKETS)
        assert result.pvalue > 1e-6, (arm_range, counts)
