"""docs/report.schema.json: current with the result types, and every kind of report fits it.

The reports are built by the other analysis tests' builders (the demo, a core report, three
arms with a cost comparison, the program-level holdout, a reported window split, template
history with pauses, an engine without template webhooks) and written as report.json is.
A report with a key missing, a key too many or a value of the wrong type must fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

import threadlift as tl
from analysis import test_cost_comparison, test_global_holdout, test_quality, test_windows
from threadlift.analysis import Analysis, analyze
from threadlift.analysis.schema import main, report_schema, schema_text
from threadlift.assign.assignment import set_global_holdout
from threadlift.datasets.demo import run_demo
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.experiment import parse_experiment
from threadlift.report.write import report_json_text
from threadlift.workspace import Workspace

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"


def written(analysis: Analysis) -> dict[str, Any]:
    """The analysis as report.json holds it (through the writer's JSON text)."""
    loaded: dict[str, Any] = json.loads(report_json_text(analysis.to_dict()))
    return loaded


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out, n_contacts=3_000, seed=3)
    experiment = tl.load_experiment(result.experiment_file)
    with tl.open_workspace(result.workspace) as ws:
        full = analyze(ws, experiment, as_of=result.report_as_of)
        core = analyze(ws, experiment, as_of=result.report_as_of, sections="core")
    return {"full": written(full), "core": written(core)}


def three_arms(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    test_cost_comparison.populate_channels(ws)
    experiment = parse_experiment(test_cost_comparison.EXPERIMENT)
    report = written(analyze(ws, experiment, as_of=test_cost_comparison.T0 + timedelta(days=30)))
    assert len(report["arms"]) == 3
    assert report["cost_comparison"]
    return report


def global_holdout(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    module = test_global_holdout
    module.populate(ws, 2_000, seed=7, base=0.10, lift=0.03)
    set_global_holdout(ws, salt=module.SALT, percent=10)
    experiment = parse_experiment(module.program_toml(10))
    report = written(analyze(ws, experiment, as_of=module.AT + timedelta(days=30)))
    assert report["assignment"] == "global_holdout"
    return report


def window_split(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    test_windows._build(ws, session_messages=True, n=600)
    experiment = parse_experiment(test_windows.EXPERIMENT)
    report = written(analyze(ws, experiment, as_of=test_windows.T0 + timedelta(days=30)))
    assert report["window_split"]["reported"] is True
    assert report["window_split"]["metrics"]
    return report


def template_history(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    test_quality.ingest_template_history(ws, tmp_path)
    experiment = parse_experiment(test_quality.EXPERIMENT)
    report = written(analyze(ws, experiment, as_of=test_quality.T0 + 30 * test_quality.DAY))
    assert any(t["pauses"] for t in report["template_quality"]["templates"])
    return report


def without_template_webhooks(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    test_quality.ingest_template_history(ws, tmp_path)
    engine = test_quality._LakeEngine(DuckDBEngine(ws.con), tmp_path)
    experiment = parse_experiment(test_quality.EXPERIMENT)
    as_of = test_quality.T0 + 30 * test_quality.DAY
    report = written(analyze(ws, experiment, as_of=as_of, engine=engine))
    assert report["template_quality"]["available"] is False
    return report


BUILDERS: dict[str, Callable[[Workspace, Path], dict[str, Any]]] = {
    "three_arms": three_arms,
    "global_holdout": global_holdout,
    "window_split": window_split,
    "template_history": template_history,
    "without_template_webhooks": without_template_webhooks,
}


def test_the_committed_schema_is_what_the_generator_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/report.schema.json is stale: run "
        "`python -m threadlift.analysis.schema > docs/report.schema.json`"
    )
    main()
    assert capsys.readouterr().out == schema_text()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(report_schema())


@pytest.mark.parametrize("sections", ["full", "core"])
def test_the_demo_reports_validate(
    demo: dict[str, dict[str, Any]], validator: Draft202012Validator, sections: str
) -> None:
    validator.validate(demo[sections])


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_other_reports_validate(
    kind: str, workspace: Workspace, tmp_path: Path, validator: Draft202012Validator
) -> None:
    validator.validate(BUILDERS[kind](workspace, tmp_path))


def _objects(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> Iterator[
    tuple[dict[str, Any], dict[str, Any]]
]:
    """Every JSON object in ``value`` with the object schema that describes it."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        matching = [s for s in schema["anyOf"] if Draft202012Validator(
            {**s, "$defs": defs}).is_valid(value)]
        schema = matching[0]
        if "$ref" in schema:
            schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if isinstance(value, dict):
        yield value, schema
        for key, item in value.items():
            yield from _objects(item, schema["properties"][key], defs)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item, schema["items"], defs)


def test_report_keys_come_in_the_schemas_order(demo: dict[str, dict[str, Any]]) -> None:
    schema = report_schema()
    objects = list(_objects(demo["full"], schema, schema["$defs"]))
    assert len(objects) > 50
    for value, object_schema in objects:
        # An empty object (NotComputed) has no properties and so no "required" list.
        assert list(value) == list(object_schema["properties"]) == object_schema.get("required", [])


def _broken(report: dict[str, Any], path: tuple[str | int, ...], change: str) -> dict[str, Any]:
    broken = copy.deepcopy(report)
    parent: Any = broken
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    if change == "missing":
        del parent[key]
    elif change == "extra":
        parent[key]["unexpected"] = 1
    else:
        parent[key] = change
    return broken


@pytest.mark.parametrize(
    ("path", "change"),
    [
        (("srm",), "missing"),
        (("metrics", 0, "pvalue_adjusted"), "missing"),
        (("guardrails", 0, "breached"), "missing"),
        (("template_quality", "templates", 0, "pauses"), "missing"),
        (("metrics", 0, "effect_size"), "0.03"),
        (("arms", 0, "units"), "1541"),
        (("cost", 0, "messages"), "many"),
        (("window_days",), "seven"),
        (("status",), "fine"),
        (("cumulative", 0), "extra"),
        (("srm",), "extra"),
    ],
)
def test_a_broken_report_fails(
    demo: dict[str, dict[str, Any]],
    validator: Draft202012Validator,
    path: tuple[str | int, ...],
    change: str,
) -> None:
    report = demo["full"]
    validator.validate(report)
    with pytest.raises(ValidationError):
        validator.validate(_broken(report, path, change))


def test_an_extra_top_level_key_fails(
    demo: dict[str, dict[str, Any]], validator: Draft202012Validator
) -> None:
    with pytest.raises(ValidationError, match="unexpected"):
        validator.validate({**demo["full"], "unexpected": []})
