"""Run the notebooks top to bottom and store them with their outputs.

The notebooks are committed with their outputs, so GitHub and a reader without a kernel
see the charts and tables. After changing a notebook (or what it shows), refresh them::

    .venv/bin/python notebooks/execute.py                 # every notebook
    .venv/bin/python notebooks/execute.py quickstart      # one

Every notebook seeds its data, so a re-run writes the same outputs (cell timings are not
recorded). ``tests/test_notebooks.py`` executes them too and checks the stored outputs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent
TIMEOUT_SECONDS = 600


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """``path`` executed in ``workdir``, outputs in place; raises on the first failing cell."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_SECONDS,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    args = parser.parse_args(argv)
    paths = sorted(FOLDER.glob("*.ipynb"))
    if args.names:
        known = {path.stem: path for path in paths}
        unknown = [name for name in args.names if name not in known]
        if unknown:
            print(f"Error: no notebook named {', '.join(unknown)} in {FOLDER}; "
                  f"choose from {', '.join(known)}", file=sys.stderr)
            return 2
        paths = [known[name] for name in args.names]
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="threadlift-notebook-") as workdir:
            notebook = execute(path, Path(workdir))
        nbformat.write(notebook, path)
        print(f"executed {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
