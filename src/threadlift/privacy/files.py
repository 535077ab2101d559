"""Which of a workspace's files others could read: the workspace, its WAL, the API's state,
a pseudonymised workspace's key file.

threadlift creates them owner-only (the workspace 0600; the ``threadlift`` command narrows
its umask to 0077 while it runs, so a WAL or an output file DuckDB or a command creates is
owner-only too; the API's state directory 0700, its log and snapshot 0600; a key file
0600). A file copied,
restored from a backup or created by another tool may not be; ``threadlift info`` warns.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path


def readable_by_others(
    workspace: Path, state_dir: Path | None = None, key_files: Sequence[Path] = ()
) -> list[tuple[Path, int]]:
    """The workspace's files (the API state directory's, and ``key_files``) with any group
    or other permission, as (path, mode) pairs."""
    state = state_dir if state_dir is not None else workspace.with_name(workspace.name + ".api")
    candidates = [workspace, workspace.with_name(workspace.name + ".wal")]
    candidates.extend(dict.fromkeys(key_files))
    if state.is_dir():
        candidates.append(state)
        candidates.extend(sorted(p for p in state.iterdir() if p.is_file()))
    exposed = []
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            exposed.append((path, mode))
    return exposed
