"""The command line: documented commands, one error style, exit codes, scheduled runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from threadlift.cli import main
from threadlift.report.scheduled import worst
from threadlift.workspace import latest_schema_version


def test_every_command_documents_itself_with_an_example() -> None:
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        text = CliRunner().invoke(main, [name, "--help"]).output
        assert "Example" in text, f"`threadlift {name} --help` has no example"
        assert (command.help or "").strip(), f"`threadlift {name}` has no description"


def test_spark_commands_name_the_master_option_alike() -> None:
    for name in ("assign", "report"):
        params = {p.name: p for p in main.commands[name].params}
        assert set(params["spark_master"].opts) == {"--spark-master", "--master"}, name


def test_bad_input_is_a_one_line_error_with_exit_code_2(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["report", str(tmp_path / "missing.toml"), "--out", str(tmp_path),
                                "-w", str(tmp_path / "none.duckdb")])
    assert done.exit_code == 2
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "missing.toml" in lines[0]


def test_a_bad_experiment_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'id = "x"\nchannel = "pigeon"\nassigned_at = 2026-01-01T00:00:00Z\n'
        '[[arms]]\nname = "a"\nweight = 1\n[[arms]]\nname = "b"\nweight = 1\n'
    )
    Path(tmp_path / "ws.duckdb")
    CliRunner().invoke(main, ["init", "-w", str(tmp_path / "ws.duckdb")])
    done = CliRunner().invoke(main, ["report", str(bad), "--out", str(tmp_path / "o"),
                                     "-w", str(tmp_path / "ws.duckdb")])
    assert done.exit_code == 2
    assert "channel" in done.output
    assert "bad.toml" in done.output


def test_worst_exit_code_orders_bug_over_input_over_alert() -> None:
    assert worst([0, 3, 0]) == 3
    assert worst([3, 2, 0]) == 2
    assert worst([2, 1, 3]) == 1
    assert worst([]) == 0


EXPERIMENT = """
id = "{id}"
channel = "whatsapp"
assignment = "external"
assigned_at = 2026-03-02T08:00:00Z
window_days = 7
[[arms]]
name = "control"
weight = 50
holdout = true
[[arms]]
name = "message"
weight = 50
[[metrics]]
name = "conversion"
type = "proportion"
action = "order"
"""


@pytest.fixture
def scheduled(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws.duckdb"
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,market\n" + "".join(f"c{i},BR\n" for i in range(200)))
    assignments = tmp_path / "assignments.csv"
    lines = ["experiment_id,contact_id,arm,assigned_at"]
    for exp_id in ("alpha", "beta"):
        lines += [f"{exp_id},c{i},{'control' if i % 2 else 'message'},2026-03-02T08:00:00Z"
                  for i in range(200)]
    assignments.write_text("\n".join(lines) + "\n")
    orders = tmp_path / "orders.csv"
    orders.write_text("action_id,contact_id,action,ts,value\n" + "".join(
        f"o{i},c{i},order,2026-03-03T10:00:00Z,{i}\n" for i in range(0, 200, 3)))
    for exp_id in ("alpha", "beta"):
        (experiments / f"{exp_id}.toml").write_text(EXPERIMENT.format(id=exp_id))
    runner = CliRunner()
    for args in (["load", "contacts", str(contacts)], ["load", "actions", str(orders)],
                 ["load", "assignments", str(assignments), "--experiment",
                  str(experiments / "alpha.toml"), "--experiment", str(experiments / "beta.toml")]):
        done = runner.invoke(main, [*args, "-w", str(ws)])
        assert done.exit_code == 0, done.output
    return ws, experiments


def test_report_all_writes_dated_reports_and_reruns_identically(
    scheduled: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, experiments = scheduled
    out = tmp_path / "reports"
    args = ["report", "--all", str(experiments), "--out", str(out), "--as-of",
            "2026-03-12T00:00:00Z", "-w", str(ws)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    first = {p: p.read_bytes() for p in sorted(out.rglob("report.*"))}
    assert {p.relative_to(out).parts[:2] for p in first} == {("alpha", "2026-03-12"), ("beta", "2026-03-12")}
    assert len(first) == 6
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0
    assert {p: p.read_bytes() for p in sorted(out.rglob("report.*"))} == first
    report = json.loads((out / "alpha" / "2026-03-12" / "report.json").read_text())
    assert report["as_of"] == "2026-03-12T00:00:00"


def test_report_all_isolates_a_broken_experiment(scheduled: tuple[Path, Path], tmp_path: Path) -> None:
    ws, experiments = scheduled
    shutil.copy(experiments / "beta.toml", experiments / "gamma.toml")
    (experiments / "gamma.toml").write_text("id = \"gamma\"\nthis is not toml = = \n")
    out = tmp_path / "reports"
    done = CliRunner().invoke(main, ["report", "--all", str(experiments), "--out", str(out),
                                     "--as-of", "2026-03-12T00:00:00Z", "-w", str(ws)])
    assert done.exit_code == 2
    assert (out / "alpha" / "2026-03-12" / "report.html").is_file()
    assert (out / "beta" / "2026-03-12" / "report.html").is_file()
    assert "not valid TOML" in (out / "gamma" / "2026-03-12" / "error.txt").read_text()


def test_assign_engine_spark_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(
        'id = "e"\nchannel = "whatsapp"\nassigned_at = 2026-01-01T00:00:00Z\n'
        '[[arms]]\nname = "h"\nweight = 1\nholdout = true\n[[arms]]\nname = "t"\nweight = 9\n'
    )
    runner = CliRunner()
    no_lake = runner.invoke(main, ["assign", str(experiment), "--engine", "spark"])
    assert no_lake.exit_code == 2
    assert "--engine spark needs --lake" in no_lake.output
    out = runner.invoke(main, ["assign", str(experiment), "--engine", "spark", "--lake", str(tmp_path),
                               "--out", str(tmp_path / "a.csv")])
    assert out.exit_code == 2
    assert "--out works with the DuckDB engine only" in out.output
    lake_without_spark = runner.invoke(main, ["assign", str(experiment), "--lake", str(tmp_path),
                                              "-w", str(tmp_path / "ws.duckdb")])
    assert lake_without_spark.exit_code == 2
    assert "--lake is for --engine spark" in lake_without_spark.output


def _newer_workspace(tmp_path: Path) -> Path:
    import duckdb

    path = tmp_path / "newer.duckdb"
    assert CliRunner().invoke(main, ["init", "-w", str(path)]).exit_code == 0
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE threadlift_meta SET value = '999' WHERE key = 'schema_version'")
    return path


def test_commands_that_write_refuse_a_workspace_of_a_newer_schema(tmp_path: Path) -> None:
    path = _newer_workspace(tmp_path)
    before = path.read_bytes()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,market\nc1,BR\n")
    body = tmp_path / "bodies.jsonl"
    body.write_text('{"object": "whatsapp_business_account", "entry": []}\n')
    for args in (["init"], ["load", "contacts", str(contacts)],
                 ["ingest", "--platform", "whatsapp", str(body)], ["info"]):
        done = CliRunner().invoke(main, [*args, "-w", str(path)])
        assert done.exit_code == 2, (args, done.output)
        assert done.output.strip() == (
            f"Error: workspace {path}: this workspace was written by a newer threadlift (schema 999; "
            f"this one knows up to {latest_schema_version()}): upgrade threadlift")
    assert path.read_bytes() == before


def test_a_sqlite_file_as_workspace_is_bad_input(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    done = CliRunner().invoke(main, ["info", "-w", str(path)])
    assert done.exit_code == 2
    assert done.output.startswith(f"Error: {path} is a SQLite database, so it is not a threadlift workspace")


def _ingest(tmp_path: Path, lines: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    import duckdb

    path = tmp_path / "bodies.jsonl"
    path.write_bytes(lines)
    ws = tmp_path / "ws.duckdb"
    done = CliRunner().invoke(main, ["ingest", "--platform", "whatsapp", str(path), "-w", str(ws)])
    with duckdb.connect(str(ws), read_only=True) as con:
        quarantined = [(str(loc), str(reason)) for loc, reason in con.execute(
            "SELECT location, reason FROM quarantine ORDER BY location").fetchall()]
    return done.exit_code, done.output, quarantined


STATUS_BODY = json.dumps(json.loads(
    (Path(__file__).parent / "fixtures" / "webhooks" / "meta_docs_examples" / "wa_status__01.json").read_text()))


def test_ingest_quarantines_a_line_that_is_not_utf8_and_keeps_the_others(tmp_path: Path) -> None:
    other = STATUS_BODY.replace('"sent"', '"delivered"')
    bad = STATUS_BODY.replace("whatsapp_business_account", "whatsapp_business_acc\xf6unt").encode("latin-1")
    code, output, quarantined = _ingest(tmp_path, STATUS_BODY.encode() + b"\n" + bad + b"\n" + other.encode() + b"\n")
    assert code == 0, output
    assert "whatsapp: 1 files, 2 new bodies, 0 duplicates, 1 quarantined" in output
    assert quarantined == [("line 2", "not UTF-8 text (save the file as UTF-8)")]


def test_ingest_quarantines_deeply_nested_json(tmp_path: Path) -> None:
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    code, output, quarantined = _ingest(tmp_path, deep + b"\n" + STATUS_BODY.encode() + b"\n")
    assert code == 0, output
    assert "1 new bodies" in output
    assert [loc for loc, _ in quarantined] == ["line 1 [0]"]
    pretty = tmp_path / "pretty"  # one document over many lines: read in Python
    pretty.mkdir()
    code, output, quarantined = _ingest(pretty, b"[\n" * 100_000 + b"]" * 100_000 + b"\n")
    assert code == 0, output
    assert quarantined == [("line 1", "malformed JSON: nested too deeply to read")]
