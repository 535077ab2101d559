"""``proportion_test = "prop_test"`` in an experiment file: R's prop.test, checked with scipy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from scipy import stats as sps

from experiments import two_arm_toml
from tables import insert_rows
from threadlift.analysis import analyze
from threadlift.errors import ConfigError
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2025, 9, 1, 9, 0, 0)
N = {"holdout": 300, "whatsapp": 280}
CONVERTED = {"holdout": 21, "whatsapp": 38}


def _toml(*, kind: str = "proportion", extra: str = "", metric_extra: str = "") -> str:
    return two_arm_toml(
        "pt", keys=f"{extra}\n", assigned_at="2025-09-01T09:00:00Z", window_days=14,
        weights=(1, 1),
        tables=f'[[metrics]]\nname = "conversion"\ntype = "{kind}"\naction = "order"\n{metric_extra}\n',
    )


def test_prop_test_matches_scipy_chi_square_with_yates(workspace: Workspace) -> None:
    assignments, actions = [], []
    for arm, n in N.items():
        for i in range(n):
            contact = f"{arm}-{i}"
            assignments.append(("pt", contact, arm, i, T0))
            if i < CONVERTED[arm]:
                actions.append((f"o-{contact}", contact, "order", T0 + timedelta(days=1), 5.0))
    insert_rows(workspace, "assignments", assignments)
    insert_rows(workspace, "actions", actions)
    experiment = parse_experiment(_toml(metric_extra='proportion_test = "prop_test"'))
    [row] = analyze(workspace, experiment, as_of=T0 + timedelta(days=30)).metrics
    table = [
        [CONVERTED["whatsapp"], N["whatsapp"] - CONVERTED["whatsapp"]],
        [CONVERTED["holdout"], N["holdout"] - CONVERTED["holdout"]],
    ]
    expected = sps.chi2_contingency(table, correction=True).pvalue
    assert row.comparison.pvalue == pytest.approx(expected, rel=1e-9)
    assert row.comparison.method.startswith("prop_test")
    welch = parse_experiment(_toml())
    [plain] = analyze(workspace, welch, as_of=T0 + timedelta(days=30)).metrics
    assert plain.comparison.method == "welch_t"
    assert plain.comparison.pvalue != pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "mean", "metric_extra": 'proportion_test = "prop_test"'}, "only to a proportion"),
        (
            {"metric_extra": 'proportion_test = "prop_test"\ncuped_days = 28'},
            "without cuped_days",
        ),
        (
            {"extra": "sequential = true", "metric_extra": 'proportion_test = "prop_test"'},
            "fixed-horizon",
        ),
        ({"metric_extra": 'proportion_test = "fisher"'}, "proportion_test"),
    ],
)
def test_bad_proportion_test_is_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_experiment(_toml(**kwargs))
