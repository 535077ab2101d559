"""A seeded programme: a global holdout with two experiments run inside it, known effects.

:func:`generate_programme` makes the canonical tables of a messaging programme that has held
out :data:`HOLDOUT_PERCENT` % of its contacts since ``start``. Everyone else receives a
monthly campaign, and two experiments (``welcome-offer`` from day 10, ``winback`` from day
45) each send a message to their treatment arm. Each message raises the chance of one
extra order in the following 30 days by a known amount (``truth``); orders otherwise arrive
at a constant daily rate, from 60 days before the start. A few contacts of either group
revoke their consent over time, at the same rate in both groups.

Arms are decided by the public bucketing contract (:func:`threadlift.bucket`) before any
data is written, so ``threadlift assign`` run on the loaded tables puts every contact where
the generator did. :func:`build_programme_workspace` loads the tables through the ordinary
loader, sets the global holdout and assigns the two experiments: the path real data takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from threadlift.core.bucketing import bucket
from threadlift.experiment import Experiment, parse_experiment

PROGRAMME_ID = "programme"
HOLDOUT_SALT = "programme-holdout"
HOLDOUT_PERCENT = 10
START = datetime(2026, 1, 5, 9, 0, 0)
"""When the global holdout started (the programme's ``assigned_at``)."""
EFFECT_DAYS = 30
"""A message's effect: the chance of one extra order within this many days of it."""
BASE_DAILY_RATE = 0.1 / 30
"""Orders per contact per day without any message."""


def programme_toml(window_days: int = 30) -> str:
    """The programme's experiment file (a global holdout of :data:`HOLDOUT_PERCENT` %)."""
    return "\n".join(
        [
            f'id = "{PROGRAMME_ID}"',
            'channel = "whatsapp"',
            f"assigned_at = {START.isoformat()}Z",
            f"window_days = {window_days}",
            'assignment = "global_holdout"',
            "",
            "[[arms]]",
            'name = "global_holdout"',
            f"weight = {HOLDOUT_PERCENT}",
            "holdout = true",
            "",
            "[[arms]]",
            'name = "everyone_else"',
            f"weight = {100 - HOLDOUT_PERCENT}",
            "",
            "[[metrics]]",
            'name = "conversion"',
            'type = "proportion"',
            'action = "order"',
            "",
        ]
    )


def inner_toml(experiment_id: str, day: int, holdout_weight: int) -> str:
    """An experiment run inside the programme, assigned ``day`` days after its start."""
    at = START + timedelta(days=day)
    return "\n".join(
        [
            f'id = "{experiment_id}"',
            'channel = "whatsapp"',
            f"assigned_at = {at.isoformat()}Z",
            f"window_days = {EFFECT_DAYS}",
            "",
            "[eligibility]",
            "require_consent = false",
            "exclude_feedback_days = 0",
            "",
            "[[arms]]",
            'name = "holdout"',
            f"weight = {holdout_weight}",
            "holdout = true",
            "",
            "[[arms]]",
            'name = "treatment"',
            f"weight = {100 - holdout_weight}",
            "",
            "[[metrics]]",
            'name = "conversion"',
            'type = "proportion"',
            'action = "order"',
            "",
        ]
    )


INNER = (("welcome-offer", 10, 20, 0.03), ("winback", 45, 50, 0.02))
"""The experiments inside: id, start day, holdout percent, true effect of their message."""
CAMPAIGN_EFFECT = 0.01
"""The monthly campaign message's true effect (the chance of one extra order in 30 days)."""
CAMPAIGN_DAYS = (3, 33, 63, 93)


@dataclass(frozen=True)
class ProgrammeData:
    """The generated tables, experiment files and true effects."""

    tables: dict[str, pd.DataFrame]
    programme_toml: str
    inner_tomls: dict[str, str]
    truth: dict[str, float] = field(default_factory=dict)
    as_of: datetime = START


def generate_programme(
    *,
    n_contacts: int = 40_000,
    seed: int = 0,
    days: int = 100,
    revoke_share: float = 0.03,
) -> ProgrammeData:
    """The programme's canonical tables, ``days`` days after its start.

    Args:
        n_contacts: Contacts, all created before the start.
        seed: The random seed.
        days: How long the programme has run at ``as_of``.
        revoke_share: Share of contacts (either group) that revoke consent after the start.
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"p{i:06d}" for i in range(n_contacts)])
    held = np.array([bucket(HOLDOUT_SALT, c) < HOLDOUT_PERCENT * 100 for c in ids])
    as_of = START + timedelta(days=days)
    tomls = {eid: inner_toml(eid, day, hold) for eid, day, hold, _ in INNER}
    messages: list[dict[str, object]] = []
    extra: list[tuple[str, datetime]] = []
    truth: dict[str, float] = {"campaign": CAMPAIGN_EFFECT}

    def send(who: np.ndarray, at: datetime, effect: float, **tags: object) -> None:
        for contact in who:
            messages.append(
                {
                    "message_id": f"m{len(messages):07d}",
                    "contact_id": contact,
                    "channel": "whatsapp",
                    "sender_id": None,
                    "experiment_id": tags.get("experiment_id"),
                    "arm": tags.get("arm"),
                    "campaign_id": tags.get("campaign_id"),
                    "template": tags.get("template"),
                    "category": "marketing",
                    "sent_at": at,
                }
            )
        lucky = who[rng.random(who.size) < effect]
        offsets = rng.uniform(0, EFFECT_DAYS, lucky.size)
        extra.extend(
            (c, at + timedelta(days=float(o))) for c, o in zip(lucky, offsets, strict=True)
        )

    for day in CAMPAIGN_DAYS:
        if day < days:
            send(ids[~held], START + timedelta(days=day), CAMPAIGN_EFFECT,
                 campaign_id="monthly-news", template="news")
    for experiment_id, day, _, effect in INNER:
        if day >= days:
            continue
        experiment = parse_experiment(tomls[experiment_id], source=f"{experiment_id}.toml")
        treated = _treatment(experiment, ids[~held])
        send(treated, START + timedelta(days=day, hours=1), effect,
             experiment_id=experiment_id, arm="treatment", template=experiment_id)
        truth[experiment_id] = effect

    first = START - timedelta(days=60)
    span = (as_of - first).total_seconds() / 86400
    counts = rng.poisson(BASE_DAILY_RATE * span, n_contacts)
    who = np.repeat(ids, counts)
    times = [first + timedelta(days=float(d)) for d in rng.uniform(0, span, who.size)]
    orders = list(zip(who, times, strict=True)) + [(c, t) for c, t in extra if t < as_of]
    actions = pd.DataFrame(
        {
            "action_id": [f"o{i:07d}" for i in range(len(orders))],
            "contact_id": [c for c, _ in orders],
            "action": "order",
            "ts": [t for _, t in orders],
            "value": rng.gamma(2.0, 20.0, len(orders)).round(2),
        }
    )
    revokers = ids[rng.random(n_contacts) < revoke_share]
    revoked_at = [
        START + timedelta(days=float(d)) for d in rng.uniform(1, days - 1, revokers.size)
    ]
    consents = pd.DataFrame(
        {
            "contact_id": np.concatenate([ids, revokers]),
            "channel": "whatsapp",
            "sender_id": None,
            "scope": "marketing",
            "status": ["granted"] * n_contacts + ["revoked"] * revokers.size,
            "ts": [START - timedelta(days=90)] * n_contacts + revoked_at,
            "source": "signup",
        }
    )
    contacts = pd.DataFrame(
        {"contact_id": ids, "market": "BR", "created_at": START - timedelta(days=120)}
    )
    return ProgrammeData(
        tables={
            "contacts": contacts,
            "consents": consents,
            "messages": pd.DataFrame(messages, columns=list(messages[0]) if messages else None),
            "actions": actions,
        },
        programme_toml=programme_toml(),
        inner_tomls=tomls,
        truth=truth,
        as_of=as_of,
    )


def _treatment(experiment: Experiment, candidates: np.ndarray) -> np.ndarray:
    """The candidates the bucketing contract puts in the experiment's treatment arm."""
    treatment = next(r for r in experiment.ranges() if not r.holdout)
    salt = experiment.effective_salt
    return np.array(
        [c for c in candidates if treatment.start <= bucket(salt, c) < treatment.stop]
    )


def build_programme_workspace(ws_path: Path, data: ProgrammeData, directory: Path) -> Experiment:
    """Write the tables as Parquet under ``directory``, load them into a new workspace at
    ``ws_path``, set the global holdout and assign the two experiments inside it.

    Returns:
        The programme's experiment (its file is ``directory/programme.toml``).
    """
    from threadlift.assign.assignment import assign_experiment, set_global_holdout
    from threadlift.experiment import load_experiment
    from threadlift.loading import load_files
    from threadlift.workspace import Workspace

    directory.mkdir(parents=True, exist_ok=True)
    with Workspace.create(ws_path) as ws:
        from threadlift.datasets.demo import DEMO_MARK

        ws.con.execute("INSERT OR REPLACE INTO threadlift_meta VALUES (?, ?)", list(DEMO_MARK))
        for table, frame in data.tables.items():
            path = directory / f"{table}.parquet"
            frame.to_parquet(path, index=False)
            load_files(ws, table, [path])
        set_global_holdout(ws, salt=HOLDOUT_SALT, percent=HOLDOUT_PERCENT)
        for experiment_id, toml in data.inner_tomls.items():
            file = directory / f"{experiment_id}.toml"
            file.write_text(toml, encoding="utf-8")
            assign_experiment(ws, load_experiment(file))
    programme_file = directory / "programme.toml"
    programme_file.write_text(data.programme_toml, encoding="utf-8")
    return load_experiment(programme_file)
