"""Personal data: erasure of one person and retention limits (docs/privacy.md).

Modules:

* ``erasure`` — ``threadlift forget``: a person out of every table, the raw store, the
  API's exposure log and snapshot, and the bytes of the workspace file;
* ``retention`` — ``threadlift retention``: raw bodies and per-message events older than
  their limit removed, by count and date range in ``retention_log``;
* ``pseudonyms`` — ``threadlift init --pseudonymise``: addresses stored as keyed
  HMAC-SHA256 values, the key kept outside the workspace;
* ``files`` — which workspace, API state and key files others could read.

Content the facts do not need is redacted from raw bodies at ingest
(:mod:`threadlift.ingest.redaction`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadlift.privacy.erasure import Erasure, forget
    from threadlift.privacy.retention import RetentionRun, apply_retention, set_retention

_LAZY = {
    "Erasure": "erasure", "forget": "erasure",
    "RetentionRun": "retention", "apply_retention": "retention", "set_retention": "retention",
}


def __getattr__(name: str) -> Any:
    # ingest imports privacy.pseudonyms; erasure imports the API's modules, which ingest
    # does not need, so the re-exports load on first use
    if name not in _LAZY:
        raise AttributeError(f"module 'threadlift.privacy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"threadlift.privacy.{_LAZY[name]}"), name)


__all__ = ["Erasure", "RetentionRun", "apply_retention", "forget", "set_retention"]
