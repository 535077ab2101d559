"""Personal data: erasure of one person and retention limits (docs/privacy.md).

Modules:

* ``erasure`` — ``threadlift forget``: a person out of every table, the raw store, the
  API's exposure log and snapshot, and the bytes of the workspace file;
* ``retention`` — ``threadlift retention``: raw bodies and per-message events older than
  their limit removed, by count and date range in ``retention_log``.

Content the facts do not need is redacted from raw bodies at ingest
(:mod:`threadlift.ingest.redaction`).
"""

from __future__ import annotations

from threadlift.privacy.erasure import Erasure, forget
from threadlift.privacy.retention import RetentionRun, apply_retention, set_retention

__all__ = ["Erasure", "RetentionRun", "apply_retention", "forget", "set_retention"]
