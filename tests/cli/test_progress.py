"""Progress on stderr: drawn on a terminal, nothing at all anywhere else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from threadlift.cli import main
from threadlift.cli import progress as progress_module
from threadlift.cli.progress import Progress

SMS_LOG = Path(__file__).parents[1] / "fixtures" / "webhooks" / "synthetic" / "sms_log.csv"


def _terminal() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=True, width=100), sink


def test_a_terminal_console_shows_stage_count_and_log_lines() -> None:
    console, sink = _terminal()
    with Progress("loading contacts", total=3, unit="files", console=console) as progress:
        assert progress.active
        progress.step("reading a.csv")
        progress.advance()
        progress.log("a.csv: 10 rows")
        progress.step("reading b.csv")
        progress.advance(2)
    assert not progress.active
    drawn = sink.getvalue()
    assert "reading a.csv" in drawn
    assert "reading b.csv" in drawn
    assert "a.csv: 10 rows" in drawn
    assert "3/3 files" in drawn
    assert "\x1b[" in drawn  # drawn with terminal control codes (and erased at the end)


def test_a_step_with_a_total_restarts_the_count() -> None:
    console, sink = _terminal()
    with Progress("ingesting", console=console) as progress:
        progress.advance(5)
        progress.step("mapping", total=40)
        progress.advance(4)
    drawn = sink.getvalue()
    assert "4/40" in drawn
    assert "5" in drawn


def test_nothing_is_written_to_a_console_that_is_not_a_terminal() -> None:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=False)
    with Progress("loading", total=2, unit="files", console=console) as progress:
        assert not progress.active
        progress.step("reading a.csv")
        progress.advance()
    assert sink.getvalue() == ""


def test_by_default_nothing_is_drawn_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "on_terminal", lambda: False)
    assert progress_module.stderr_console() is None
    with Progress("loading", total=1) as progress:
        assert not progress.active
        progress.step("reading")
        progress.advance()


def _contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("contact_id,market\nc1,BR\nc2,US\n", encoding="utf-8")
    return path


def test_load_and_ingest_print_only_their_results_when_not_on_a_terminal(tmp_path: Path) -> None:
    workspace = str(tmp_path / "ws.duckdb")
    path = _contacts(tmp_path)
    done = CliRunner().invoke(main, ["load", "contacts", str(path), "-w", workspace])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        f"{path}: 2 rows, 2 added, 0 already present, 0 quarantined",
        "contacts: 2 rows added, 0 already present, 0 quarantined",
    ]
    done = CliRunner().invoke(main, ["ingest", "--platform", "sms", str(SMS_LOG), "-w", workspace])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0].startswith("sms: 1 files, 6 new bodies, 0 duplicates, ")
    assert all(line.startswith(("sms:", "  ")) for line in done.output.splitlines()), done.output
    assert "\x1b" not in done.output


@pytest.mark.parametrize("command", ["load", "ingest"])
def test_load_and_ingest_draw_their_stages_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    console, sink = _terminal()
    monkeypatch.setattr(progress_module, "stderr_console", lambda: console)
    workspace = str(tmp_path / "ws.duckdb")
    if command == "load":
        args = ["load", "contacts", str(_contacts(tmp_path)), "-w", workspace]
        expected = ["reading contacts.csv", "checking contacts.csv", "1/1 files",
                    "contacts.csv: 2 rows, 2 added"]
    else:
        args = ["ingest", "--platform", "sms", str(SMS_LOG), "-w", workspace]
        expected = ["reading sms_log.csv", "storing new bodies", "mapping sms bodies", "1/1 files"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    drawn = sink.getvalue()
    for text in expected:
        assert text in drawn, (text, drawn)
    assert "\x1b" not in done.output  # the results on stdout stay plain


def test_report_draws_its_sections_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadlift.datasets.demo import run_demo

    demo = run_demo(tmp_path / "demo", n_contacts=2_000, seed=3)
    console, sink = _terminal()
    monkeypatch.setattr(progress_module, "stderr_console", lambda: console)
    done = CliRunner().invoke(main, [
        "report", str(tmp_path / "demo" / "experiment.toml"), "--out", str(tmp_path / "r"),
        "-w", str(tmp_path / "demo" / "demo.duckdb"),
        "--as-of", demo.report_as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
    ])
    assert done.exit_code in (0, 3), done.output
    drawn = sink.getvalue()
    for stage in ("arms", "metric lifts", "guardrails", "funnel", "segments", "cost",
                  "writing report.json"):
        assert stage in drawn, (stage, drawn)
    assert "\x1b" not in done.output
