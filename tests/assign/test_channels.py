"""A multi-channel experiment judges eligibility on every channel it sends on.

Cells sent on different channels must hold one population: a contact is eligible only
when it is eligible on each channel (consent, stops), the holdout included, and the
exclusion counts say which channel excluded whom. ``assign``, the API's evaluation and
Spark's (same SQL) agree.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from assign.test_assignment import AT, DAY, add_contacts, consent, failure, make_experiment
from threadlift.assign.assignment import assign_experiment, eligibility_snapshot, sent_channels
from threadlift.errors import NoEligibleContactsError
from threadlift.workspace import Workspace

FOUR_CELLS: list[dict[str, Any]] = [
    {"name": "holdout", "weight": 25, "holdout": True},
    {"name": "whatsapp", "weight": 25},
    {"name": "sms", "weight": 25, "channel": "sms"},
    {"name": "email", "weight": 25, "channel": "email"},
]


def _world(ws: Workspace) -> None:
    """1,000 WhatsApp-only, 1,000 SMS-only and 1,000 all-three contacts, consents per channel."""
    groups = {"wa": ("whatsapp",), "sms": ("sms",), "all": ("whatsapp", "sms", "email")}
    for group, channels in groups.items():
        ids = [f"{group}-{i:04d}" for i in range(1000)]
        add_contacts(ws, *ids)
        ws.con.executemany(
            "INSERT INTO consents VALUES ($1, $2, NULL, 'marketing', 'granted', $3, 'form')",
            [(contact_id, channel, AT - 30 * DAY) for contact_id in ids for channel in channels],
        )


def test_sent_channels_are_the_treatment_arms_with_the_experiment_first() -> None:
    assert sent_channels(make_experiment(arms=FOUR_CELLS)) == ["whatsapp", "sms", "email"]
    assert sent_channels(make_experiment()) == ["whatsapp"]
    only_sms = [{"name": "holdout", "weight": 50, "holdout": True}, {"name": "t", "weight": 50, "channel": "sms"}]
    assert sent_channels(make_experiment(arms=only_sms)) == ["sms"]


def test_four_cells_assign_only_contacts_eligible_on_every_channel(workspace: Workspace) -> None:
    _world(workspace)
    experiment = make_experiment(arms=FOUR_CELLS)
    result = assign_experiment(workspace, experiment)

    assigned = workspace.con.execute(
        "SELECT contact_id, arm FROM assignments WHERE experiment_id = 'exp'"
    ).fetchall()
    assert result.assigned == len(assigned) == 1000
    assert {contact_id.split("-")[0] for contact_id, _ in assigned} == {"all"}
    cells = Counter(arm for _, arm in assigned)
    assert set(cells) == {"holdout", "whatsapp", "sms", "email"}
    assert all(150 < n < 350 for n in cells.values()), cells
    # WhatsApp-only contacts fail on SMS (the first other channel); SMS-only on WhatsApp
    assert result.excluded == {"no_consent on sms": 1000, "no_consent on whatsapp": 1000}

    # the API's evaluation (the log path, sql/assign/evaluate.sql) agrees contact by contact
    ids = [f"{g}-{i:04d}" for g in ("wa", "sms", "all") for i in range(0, 1000, 7)]
    statuses = eligibility_snapshot(workspace, experiment, ids)
    by_id = dict(assigned)
    for status in statuses:
        group = status.contact_id.split("-")[0]
        assert status.eligible == (group == "all"), status
        assert status.arm == by_id.get(status.contact_id)
        assert status.reason == (None if group == "all" else "no_consent")


def test_a_stop_on_one_channel_excludes_from_every_cell(workspace: Workspace) -> None:
    add_contacts(workspace, "a", "b")
    for contact_id in ("a", "b"):
        for channel in ("whatsapp", "sms", "email"):
            consent(workspace, contact_id, AT - 30 * DAY, channel=channel)
    consent(workspace, "b", AT - DAY, "revoked", channel="email")
    failure(workspace, "a", AT - DAY)  # a WhatsApp 131050 marketing stop
    experiment = make_experiment(arms=FOUR_CELLS)
    statuses = {s.contact_id: s for s in eligibility_snapshot(workspace, experiment, ["a", "b"])}
    assert (statuses["a"].reason, statuses["b"].reason) == ("marketing_stopped", "consent_revoked")
    # nobody is eligible: the first run refuses, naming the channel of each exclusion
    with pytest.raises(NoEligibleContactsError) as nobody:
        assign_experiment(workspace, experiment)
    assert nobody.value.excluded == {"marketing_stopped on whatsapp": 1, "consent_revoked on email": 1}
    assert "consent_revoked on email: their latest consent event is a revoke" in str(nobody.value)


def test_one_channel_experiments_keep_their_plain_reasons(workspace: Workspace) -> None:
    add_contacts(workspace, "a", "b")
    consent(workspace, "a", AT - DAY)
    result = assign_experiment(workspace, make_experiment())
    assert (result.assigned, result.excluded) == (1, {"no_consent": 1})
