"""The full report's floor (``bench/full_floor.py``) computes the numbers the report shows."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from threadlift.analysis import analyze
from threadlift.experiment import load_experiment
from threadlift.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from full_floor import compare, floor
from scale_data import generate_lake, load_workspace


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("full-floor")
    generate_lake(15_000, directory / "lake", seed=5, chunk=15_000)
    load_workspace(directory / "lake", directory / "workspace.duckdb")
    return directory


def test_the_floor_gives_every_number_of_the_default_report(data: Path) -> None:
    experiment = load_experiment(data / "lake" / "experiment.toml")
    as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
    with Workspace.open(data / "workspace.duckdb", read_only=True) as ws:
        report = analyze(ws, experiment, as_of=as_of).to_dict()
    numbers = floor(data, experiment, as_of)
    assert compare(numbers, report) == []
    assert numbers["segments"], "some segments are large enough to be compared"
    assert report["cost"]
    assert report["funnel"]
    assert report["guardrail_breakdown"]
    # the check can fail: one funnel count and one cost off are both reported
    arm = report["funnel"][1]["arm"]
    numbers["funnel"][arm][2] += 1
    key = next(iter(numbers["cost"]))
    numbers["cost"][key][2] *= 1.001
    problems = compare(numbers, report)
    assert len(problems) == 2
    assert problems[0].startswith(f"funnel {arm}[2]")
