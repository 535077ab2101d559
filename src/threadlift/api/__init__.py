"""The assignment HTTP API: the sending system asks "which arm is this contact in?" before it sends.

Modules:

- :mod:`threadlift.api.settings` — :class:`~threadlift.api.settings.ApiSettings` (pydantic-settings).
- :mod:`threadlift.api.security` — API keys stored hashed, read and write scopes.
- :mod:`threadlift.api.snapshot` — the served snapshot of the workspace: built from a short
  read-only copy, with eligibility of every known contact precomputed by
  :func:`threadlift.assign.eligibility_snapshot`, swapped atomically, loaded by every worker.
- :mod:`threadlift.api.exposures` — the durable exposure log and its import into the workspace.
- :mod:`threadlift.api.models` — request and response bodies (separate from domain objects).
- :mod:`threadlift.api.app` — :func:`~threadlift.api.app.create_app` and
  :func:`~threadlift.api.app.serve` (what ``threadlift serve`` runs).

Nothing heavy is imported here, so ``threadlift --help`` stays fast; import the modules.
"""
