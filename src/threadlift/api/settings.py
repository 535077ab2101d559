"""Settings of the assignment API, read from arguments or ``THREADLIFT_API_*`` environment variables.

Every field can be given as an environment variable with the prefix ``THREADLIFT_API_``
(``THREADLIFT_API_EXPERIMENTS_DIR``, ``THREADLIFT_API_KEYS_FILE`` …). The workspace
defaults to ``$THREADLIFT_WORKSPACE`` or ``./threadlift.duckdb`` like every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from threadlift.workspace import default_workspace_path

MAX_BATCH = 10_000
"""Most contact ids one batch request may ask about."""

SETTINGS_ENV = "THREADLIFT_API_SETTINGS"
"""Environment variable carrying the whole settings as JSON to uvicorn worker processes."""


class ApiSettings(BaseSettings):
    """What the server serves, who may call it, and its limits."""

    model_config = SettingsConfigDict(env_prefix="THREADLIFT_API_", frozen=True, extra="forbid")

    experiments_dir: Path
    """Directory of experiment files (``*.toml``); every valid one is served."""
    workspace: Path = Field(default_factory=default_workspace_path)
    """The workspace (DuckDB file) eligibility and recorded assignments come from."""
    state_dir: Path | None = None
    """Where the server keeps its snapshot and exposure log (default: ``<workspace>.api/``)."""
    keys_file: Path | None = None
    """File of hashed API keys, one ``NAME SCOPES sha256:HEX`` per line (see :mod:`.security`)."""
    keys: str | None = None
    """Hashed API keys in the same format, lines separated by newlines or ``;`` (env ``THREADLIFT_API_KEYS``)."""
    max_body_bytes: Annotated[int, Field(gt=0)] = 4 * 1024 * 1024
    """Largest request body accepted; larger ones get 413."""
    max_batch: Annotated[int, Field(gt=0, le=MAX_BATCH)] = MAX_BATCH
    """Most contact ids per batch request."""
    max_exposures: Annotated[int, Field(gt=0)] = 1_000
    """Most exposures per ``POST /v1/exposures``."""
    refresh_seconds: Annotated[float, Field(gt=0)] = 2.0
    """How often each worker checks for a new snapshot (and the builder for changed inputs)."""
    max_snapshot_age_seconds: Annotated[float, Field(gt=0)] = 300.0
    """Rebuild at least this often, so time-dependent rules (feedback windows) stay current."""
    startup_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    """How long a worker waits at start for the first snapshot before serving 503."""

    @property
    def resolved_state_dir(self) -> Path:
        """``state_dir``, defaulting to ``<workspace>.api`` next to the workspace."""
        if self.state_dir is not None:
            return self.state_dir
        return self.workspace.with_name(self.workspace.name + ".api")
