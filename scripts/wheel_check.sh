#!/usr/bin/env bash
# Build the wheel from this checkout, install it (not editable) into a fresh virtual
# environment, and run the demo and a report from a folder outside the checkout: what an
# analyst who runs `pip install threadlift` gets. Fails if any file the package needs
# (the SQL, templates) is missing from the wheel.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" "$WORK"/dist/threadlift-*.whl
cd "$WORK"
"$WORK/venv/bin/python" - <<'PY'
import pathlib, threadlift
from threadlift.engines.sqlfiles import sql_dir
where = pathlib.Path(threadlift.__file__).parent
assert sql_dir().is_relative_to(where), f"SQL read from {sql_dir()}, not from the installed package {where}"
print(f"installed threadlift at {where}; SQL at {sql_dir()}")
PY
"$WORK/venv/bin/threadlift" demo --out "$WORK/demo"
"$WORK/venv/bin/threadlift" report "$WORK/demo/experiment.toml" -w "$WORK/demo/demo.duckdb" \
    --out "$WORK/report" --as-of 2026-10-06T09:00:00Z
for file in report.json report.md report.html; do
    test -s "$WORK/report/$file" || { echo "wheel check: $file was not written" >&2; exit 1; }
done
echo "wheel check: the installed wheel ran the demo and a report away from the checkout"
