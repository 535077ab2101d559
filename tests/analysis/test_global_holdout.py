"""The program-level holdout: the CLI that sets it and the report that compares it.

Counts are checked against the bucketing contract recomputed here with hashlib; the lift
on generated data with a known effect must be recovered within its interval.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from threadlift.analysis import analyze
from threadlift.assign.assignment import assign_experiment, get_global_holdout
from threadlift.cli import main
from threadlift.errors import AssignmentError, ConfigError
from threadlift.experiment import Experiment, parse_experiment
from threadlift.workspace import Workspace

AT = datetime(2026, 11, 2, 9, 0, 0)
SALT = "program-2026"


def hashlib_bucket(salt: str, unit_id: str) -> int:
    """The public bucket, written out independently of threadlift."""
    return int(hashlib.md5(f"{salt}:{unit_id}".encode()).hexdigest()[:15], 16) % 10000


def program_toml(percent: float, **extra: str) -> str:
    lines = [
        'id = "program-2026"',
        'channel = "whatsapp"',
        'assigned_at = 2026-11-02T09:00:00Z',
        'window_days = 14',
        'assignment = "global_holdout"',
        *(f"{k} = {v}" for k, v in extra.items()),
        "[[arms]]", 'name = "global_holdout"', f"weight = {percent}", "holdout = true",
        "[[arms]]", 'name = "everyone_else"', f"weight = {100 - percent}",
        "[[metrics]]", 'name = "conversion"', 'type = "proportion"', 'action = "order"',
        "[[metrics]]", 'name = "revenue"', 'type = "mean"', 'action = "order"',
    ]
    return "\n".join(lines) + "\n"


def populate(ws: Workspace, n: int, seed: int, base: float, lift: float) -> list[str]:
    """``n`` contacts; orders within the window with probability base (+ lift outside the holdout).

    The effect is assigned by the hashlib bucket, so the truth does not depend on threadlift.
    Contacts created after ``AT`` and orders outside the window are added as distractors.
    """
    rng = np.random.default_rng(seed)
    ids = [f"c{i:06d}" for i in range(n)]
    created = [AT - timedelta(days=30)] * n
    late = [f"late{i}" for i in range(50)]
    ws.con.executemany(
        "INSERT INTO contacts VALUES ($1, 'BR', $2)",
        [(c, t) for c, t in zip(ids, created, strict=True)] + [(c, AT + timedelta(days=1)) for c in late],
    )
    orders = []
    for index, contact in enumerate(ids):
        held = hashlib_bucket(SALT, contact) < 1000
        if rng.random() < base + (0 if held else lift):
            orders.append((f"o{index}", contact, "order", AT + timedelta(days=float(rng.uniform(0, 13))), 10.0))
        if rng.random() < 0.2:
            orders.append((f"p{index}", contact, "order", AT - timedelta(days=2), 99.0))
    orders += [(f"l{i}", c, "order", AT + timedelta(days=2), 5.0) for i, c in enumerate(late)]
    ws.con.executemany("INSERT INTO actions VALUES ($1, $2, $3, $4, $5)", orders)
    return ids


@pytest.fixture
def program(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "ws.duckdb"
    Workspace.create(path).close()
    experiment_file = tmp_path / "program.toml"
    experiment_file.write_text(program_toml(10))
    return path, experiment_file


def test_holdout_cli_set_show_clear(program: tuple[Path, Path]) -> None:
    workspace, _ = program
    runner = CliRunner()
    with Workspace.open(workspace) as ws:
        ids = populate(ws, 2000, seed=1, base=0.1, lift=0.0)
    done = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "10", "-w", str(workspace)])
    assert done.exit_code == 0, done.output
    assert "none -> 10 % of contacts" in done.output
    held = sum(hashlib_bucket(SALT, c) < 1000 for c in [*ids, *(f"late{i}" for i in range(50))])
    shown = runner.invoke(main, ["holdout", "show", "-w", str(workspace)])
    assert shown.exit_code == 0, shown.output
    counts = {
        parts[0]: int(parts[1].replace(",", ""))
        for parts in (line.split() for line in shown.output.splitlines())
        if len(parts) == 2 and parts[0] in ("global_holdout", "everyone_else")
    }
    assert counts == {"global_holdout": held, "everyone_else": len(ids) + 50 - held}
    assert "salt 'program-2026'" in shown.output
    again = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "10", "-w", str(workspace)])
    assert "unchanged" in again.output
    bad = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "150", "-w", str(workspace)])
    assert bad.exit_code == 2
    assert "between 0 and 100" in bad.output
    nan = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "ten", "-w", str(workspace)])
    assert nan.exit_code == 2
    assert "not a number" in nan.output
    cleared = runner.invoke(main, ["holdout", "clear", "-w", str(workspace)])
    assert cleared.exit_code == 0
    assert "-> none" in cleared.output
    with Workspace.open(workspace) as ws:
        assert get_global_holdout(ws) is None


def test_changing_it_after_an_experiment_is_assigned_needs_force(
    program: tuple[Path, Path], tmp_path: Path
) -> None:
    workspace, _ = program
    runner = CliRunner()
    assert runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "5",
                                "-w", str(workspace)]).exit_code == 0
    with Workspace.open(workspace) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('a', 'BR', NULL)")
        assign_experiment(ws, Experiment.model_validate({
            "id": "winback", "channel": "whatsapp", "assigned_at": AT,
            "eligibility": {"require_consent": False},
            "arms": [{"name": "holdout", "weight": 1, "holdout": True}, {"name": "t", "weight": 9}],
        }))
    refused = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "8", "-w", str(workspace)])
    assert refused.exit_code == 2
    assert "winback" in refused.output
    assert "--force" in refused.output
    refused_clear = runner.invoke(main, ["holdout", "clear", "-w", str(workspace)])
    assert refused_clear.exit_code == 2
    with Workspace.open(workspace) as ws:
        setting = get_global_holdout(ws)
        assert setting is not None
        assert setting.basis_points == 500
    forced = runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "8", "--force",
                                  "-w", str(workspace)])
    assert forced.exit_code == 0, forced.output
    assert "re-assign them with --new-version" in forced.output
    shown = runner.invoke(main, ["holdout", "show", "-w", str(workspace)])
    assert "assigned under another setting" in shown.output
    assert "winback" in shown.output


def test_report_compares_the_global_holdout_with_everyone_else(program: tuple[Path, Path]) -> None:
    workspace, experiment_file = program
    with Workspace.open(workspace) as ws:
        ids = populate(ws, 20_000, seed=7, base=0.10, lift=0.03)
    CliRunner().invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "10", "-w", str(workspace)])
    experiment = parse_experiment(experiment_file.read_text())
    with Workspace.open(workspace) as ws:
        analysis = analyze(ws, experiment, as_of=AT + timedelta(days=30))
    units = {row.arm: row.units for row in analysis.arms}
    expected_held = sum(hashlib_bucket(SALT, c) < 1000 for c in ids)
    # contacts created after assigned_at are not in the program comparison
    assert units == {"global_holdout": expected_held, "everyone_else": len(ids) - expected_held}
    assert analysis.srm.passed
    conversion = next(m for m in analysis.metrics if m.metric == "conversion")
    c = conversion.comparison
    assert conversion.control_arm == "global_holdout"
    assert conversion.arm == "everyone_else"
    assert c.effect_size_ci_lower < 0.03 < c.effect_size_ci_upper
    assert c.effect_size_ci_lower > 0  # 20,000 contacts detect a 3-point lift
    # the control rate against a count made here from the generated rows
    with Workspace.open(workspace, read_only=True) as ws:
        converted = {
            r[0] for r in ws.con.execute(
                "SELECT DISTINCT contact_id FROM actions WHERE ts >= $a AND ts < $b",
                {"a": AT, "b": AT + timedelta(days=14)},
            ).fetchall()
        }
    held_ids = [i for i in ids if hashlib_bucket(SALT, i) < 1000]
    assert c.control == pytest.approx(sum(i in converted for i in held_ids) / len(held_ids))


def test_report_needs_a_matching_global_holdout(program: tuple[Path, Path], tmp_path: Path) -> None:
    workspace, experiment_file = program
    experiment = parse_experiment(experiment_file.read_text())
    with Workspace.open(workspace) as ws:
        ws.con.execute("INSERT INTO contacts VALUES ('a', 'BR', NULL)")
        with pytest.raises(ConfigError, match="no global holdout"):
            analyze(ws, experiment, as_of=AT + timedelta(days=30))
    runner = CliRunner()
    runner.invoke(main, ["holdout", "set", "--salt", SALT, "--percent", "5", "-w", str(workspace)])
    with Workspace.open(workspace) as ws, pytest.raises(ConfigError, match=r"weighted 5 \(global_holdout\) and 95"):
        analyze(ws, experiment, as_of=AT + timedelta(days=30))
    done = runner.invoke(main, ["assign", str(experiment_file), "-w", str(workspace)])
    assert done.exit_code == 2
    assert "nothing to assign" in done.output
    with Workspace.open(workspace) as ws, pytest.raises(AssignmentError, match="global_holdout"):
        assign_experiment(ws, experiment)


def test_global_holdout_experiments_are_validated() -> None:
    with pytest.raises(ConfigError, match="exactly two arms"):
        parse_experiment(program_toml(10).replace('"everyone_else"', '"rest"'))
    with pytest.raises(ConfigError, match="remove audience_sql"):
        parse_experiment(program_toml(10, audience_sql='"select contact_id from contacts"'))
