"""The README's examples run: its Python block executes, its CLI tour runs as written with
the installed command and ends in a report with units and conversions, and the files the
tour loads are what ``examples/generate.py`` writes."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from threadlift.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
THREADLIFT = REPO / ".venv" / "bin" / "threadlift"


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    output = capsys.readouterr().out
    assert "conversion" in output
    assert os.path.exists(tmp_path / "demo-out" / "report" / "report.html")


def test_readme_cli_tour_names_real_commands() -> None:
    assert isinstance(main.commands, dict)
    shell = "\n".join(re.findall(r"```(?:sh|bash)\n(.*?)```", README, flags=re.DOTALL))
    used = set(re.findall(r"^\s*threadlift (\w+)", shell, flags=re.MULTILINE))
    assert used, "the README shows no threadlift commands"
    assert used <= set(main.commands), used - set(main.commands)
    for command in used:
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0


def _cli_section() -> str:
    return README.split("## The CLI in five minutes", 1)[1].split("\n## ", 1)[0]


def _tour_commands() -> list[list[str]]:
    """The commands of the CLI section's shell block, comments dropped."""
    (block,) = re.findall(r"```sh\n(.*?)```", _cli_section(), flags=re.DOTALL)
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [argv for argv in commands if argv]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def test_readme_cli_tour_runs_as_written_and_ends_in_a_report(tmp_path: Path) -> None:
    assert THREADLIFT.exists(), f"the tour runs the installed command {THREADLIFT}: run `make test`"
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if k != "THREADLIFT_WORKSPACE"}
    outputs = []
    commands = _tour_commands()
    assert [argv[:2] for argv in commands[:2]] == [["threadlift", "init"], ["threadlift", "load"]]
    for argv in commands:
        assert argv[0] == "threadlift", argv
        done = subprocess.run(
            [str(THREADLIFT), *argv[1:]], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        outputs.append((argv, done.stdout))
    # the loader rejected the order dated 31 November, on its line of the file
    orders_file = tmp_path / "examples" / "orders.csv"
    bad_line = len(orders_file.read_text(encoding="utf-8").splitlines())
    quarantine = next(out for argv, out in outputs if argv[1] == "quarantine")
    assert f"orders.csv:line {bad_line}" in quarantine
    assert "2026-11-31" in quarantine

    report = json.loads((tmp_path / "reports" / "winback" / "report.json").read_text(encoding="utf-8"))
    units = {arm["arm"]: arm["units"] for arm in report["arms"]}
    assignments = _rows(tmp_path / "assignments.csv")
    assert units == dict(Counter(row["arm"] for row in assignments))
    assert units["holdout"] > 0
    assert units["whatsapp"] > 0
    # the send list: every treatment contact (each has a WhatsApp number here), with it
    sends = _rows(tmp_path / "send.csv")
    treated = {row["contact_id"] for row in assignments if row["arm"] == "whatsapp"}
    assert {row["contact_id"] for row in sends} == treated
    assert all(row["address"].startswith("+") for row in sends)

    # conversions counted here from the two CSV files: an order in the 7 days from assignment
    # (the file also holds add_to_cart actions, which the metric does not count)
    window = timedelta(days=report["window_days"])
    orders: dict[str, list[datetime]] = {}
    for row in _rows(orders_file):
        if row["action"] != "order" or row["ts"].startswith("2026-11-31"):
            continue
        orders.setdefault(row["contact_id"], []).append(_timestamp(row["ts"]))
    converted: Counter[str] = Counter()
    for row in assignments:
        start = _timestamp(row["assigned_at"])
        if any(start <= ts < start + window for ts in orders.get(row["contact_id"], [])):
            converted[row["arm"]] += 1
    assert converted["holdout"] > 0
    assert converted["whatsapp"] > 0
    (conversion,) = [m for m in report["metrics"] if m["metric"] == "conversion"]
    assert conversion["control"] == pytest.approx(converted["holdout"] / units["holdout"])
    assert conversion["treatment"] == pytest.approx(converted["whatsapp"] / units["whatsapp"])

    program = json.loads((tmp_path / "reports" / "program" / "report.json").read_text(encoding="utf-8"))
    assert sum(arm["units"] for arm in program["arms"]) > 0


def test_readme_experiment_is_the_example_file() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", _cli_section(), flags=re.DOTALL)
    assert (REPO / "examples" / "winback.toml").read_text(encoding="utf-8") in blocks


def test_example_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("examples_generate", REPO / "examples" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    written = generate.write_examples(tmp_path)
    assert written
    for path in written:
        assert path.read_bytes() == (REPO / "examples" / path.name).read_bytes(), path.name
