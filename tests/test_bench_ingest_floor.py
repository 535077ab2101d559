"""The ingest floor benchmark (``bench/ingest_floor.py``) still writes threadlift's rows.

Its hand-written SQL is the least work for one input; the claim that it is a floor for
the same output holds only while its rows equal what ``ingest_files`` writes, which the
script checks on every run (and exits non-zero when they differ).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "bench" / "ingest_floor.py"


def test_the_floor_writes_the_same_canonical_rows_as_ingest(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--events", "3000", "--repeat", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "the same contacts, identities, messages and events as threadlift" in run.stdout
    assert "[3000, 300, 1000, 3000]" in run.stdout
