"""The README's examples run: its Python block executes, its CLI tour commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from threadlift.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


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
