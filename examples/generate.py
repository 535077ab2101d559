"""Write the small files the README's CLI tour loads (``examples/*.csv``).

They come from the project's one seeded generator
(:func:`threadlift.datasets.synthetic.generate_whatsapp_experiment`): 1,000 contacts of
the WhatsApp experiment ``examples/winback.toml`` describes (its id is the generator's
bucketing salt, so the generated treatment effect lands in the arms ``assign`` gives),
with their WhatsApp numbers, consent events, feedback and orders. The orders file ends
with one row whose date does not exist, so the tour's ``threadlift quarantine`` has a
rejected row to show.

Run from the repository root (the same files come out every time)::

    .venv/bin/python examples/generate.py            # rewrites examples/*.csv
    .venv/bin/python examples/generate.py OTHER_DIR  # writes them elsewhere

``tests/test_readme.py`` checks the committed files are exactly what this writes.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from threadlift.datasets.synthetic import generate_whatsapp_experiment

N_CONTACTS = 1_000
SEED = 18
EXPERIMENT_ID = "br-winback-2026-11"
ASSIGNED_AT = datetime(2026, 11, 2, 9, 0, 0)
"""The experiment of ``examples/winback.toml``: its id (also its salt) and ``assigned_at``."""

FILES = {
    "contacts": "contacts.csv",
    "identities": "identities.csv",
    "consents": "consents.csv",
    "feedback": "feedback.csv",
    "actions": "orders.csv",
}
"""Canonical table → file name."""

BAD_ORDER = "ord-bad-date,cus_0000000001,order,2026-11-31 10:00:00,49.90\n"
"""An order on 31 November: ``threadlift load`` quarantines it with its line and reason."""


def write_examples(directory: Path) -> list[Path]:
    """Write the files of :data:`FILES` into ``directory``; return their paths."""
    data = generate_whatsapp_experiment(
        n_contacts=N_CONTACTS, seed=SEED, experiment_id=EXPERIMENT_ID, assigned_at=ASSIGNED_AT
    )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table, name in FILES.items():
        path = directory / name
        text = data.tables[table].to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S", lineterminator="\n")
        if table == "actions":
            text += BAD_ORDER
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for path in write_examples(target):
        print(path)
