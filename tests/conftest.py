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


def _hypothesis_profile() -> None:
    """Derandomised property tests in CI, so a run is reproducible; random locally."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")


_hypothesis_profile()
