"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from threadlift.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace in a temporary directory."""
    ws = Workspace.create(tmp_path / "ws.duckdb")
    try:
        yield ws
    finally:
        ws.close()
