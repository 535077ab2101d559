"""SMS and e-mail CSV logs: a file that cannot be read is one line saying why and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from threadlift.cli import main

FIXTURE = Path(__file__).parents[1] / "fixtures" / "webhooks" / "synthetic" / "sms_log.csv"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp1252"])
def test_a_csv_in_another_encoding_is_a_one_line_error(tmp_path: Path, encoding: str) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace("spring", "primavera-\u00e9t\u00e9", 1)
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode(encoding))
    done = CliRunner().invoke(main, ["ingest", "--platform", "sms", str(path), "-w", str(tmp_path / "w.duckdb")])
    assert done.exit_code == 2, done.output
    errors = [line for line in done.output.splitlines() if line.strip()]
    assert len(errors) == 1, done.output
    assert errors[0].startswith(f"Error: {path}: not UTF-8 text")
    assert "save the file as UTF-8" in errors[0]
