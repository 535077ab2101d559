"""Funnel and take-up counted by hand on a small workspace, with status events on both sides
of the as-of time (the message status summary of ``_sends`` is applied at as_of)."""

from __future__ import annotations

from datetime import datetime, timedelta

from experiments import two_arm_toml
from tables import insert_rows
from threadlift.analysis.complier import takeup_moments
from threadlift.analysis.funnel import FunnelRow, funnel
from threadlift.analysis.units import prepare_sends, prepare_units
from threadlift.engines.duckdb import DuckDBEngine
from threadlift.experiment import parse_experiment
from threadlift.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, 0)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
AS_OF = T0 + timedelta(days=3)
EXPERIMENT = parse_experiment(
    two_arm_toml("f", tables='[[metrics]]\nname = "conversion"\naction = "order"\ntype = "proportion"\n')
)


def test_funnel_and_takeup_count_units_by_their_events_up_to_as_of(workspace: Workspace) -> None:
    treated = ["a", "b", "c", "d", "e", "g"]
    insert_rows(workspace, "assignments", [("f", c, "whatsapp", 5000, T0) for c in treated]
                + [("f", "h", "holdout", 1, T0)])
    sends = [  # message, contact, sent_at
        ("m1", "a", T0 + HOUR), ("m2", "b", T0 + HOUR), ("m3", "c", T0 + HOUR),
        ("m4", "c", T0 + 2 * HOUR), ("m5", "d", T0 + HOUR), ("m6", "e", T0 + HOUR),
        ("m7", "g", T0 + HOUR),
        ("m8", "a", T0 + timedelta(days=8)),  # after a's window: not the experiment's send
    ]
    insert_rows(workspace, "messages", [
        (m, c, "whatsapp", "S1", "f", "whatsapp", None, "promo", "marketing", ts) for m, c, ts in sends
    ])
    insert_rows(workspace, "message_events", [
        ("m1", "delivered", T0 + HOUR + MINUTE, None, None, None),
        ("m1", "read", T0 + 2 * HOUR, None, None, None),
        ("m2", "delivered", T0 + HOUR + MINUTE, None, None, None),
        ("m2", "read", AS_OF + HOUR, None, None, None),            # read after as_of
        ("m3", "failed", T0 + HOUR + MINUTE, "131049", None, None),
        ("m4", "delivered", T0 + 2 * HOUR + MINUTE, None, None, None),  # c: one delivered
        ("m5", "failed", T0 + HOUR + MINUTE, "131026", None, None),     # d: all failed
        ("m6", "delivered", AS_OF + MINUTE, None, None, None),          # e: only after as_of
        ("m7", "read", T0 + HOUR + 5 * MINUTE, None, None, None),       # g: read, no delivered
        ("m8", "delivered", T0 + timedelta(days=8), None, None, None),
    ])
    insert_rows(workspace, "inbound", [
        ("i1", "a", "whatsapp", "S1", T0 + 3 * HOUR, "text", "m1"),    # after a's first send
        ("i2", "b", "whatsapp", "S1", T0 + 30 * MINUTE, "text", None),  # before b's first send
    ])
    insert_rows(workspace, "actions", [
        ("o1", "a", "order", T0 + timedelta(days=1), 10.0),
        ("o2", "g", "order", T0 + timedelta(days=2), 5.0),
        ("o3", "h", "order", T0 + timedelta(days=2), 7.0),
        ("o4", "e", "order", AS_OF + HOUR, 3.0),  # after as_of
    ])
    engine = DuckDBEngine(workspace.con)
    prepare_units(engine, EXPERIMENT, AS_OF)
    prepare_sends(engine, EXPERIMENT)

    rows = {row.arm: row for row in funnel(engine, EXPERIMENT, AS_OF, "order")}
    # delivered: a, b, c (m4), g (read implies delivered); read: a, g (b's read is too late);
    # replied: a; failed: d only (c had a delivery); converted: a, g.
    assert rows["whatsapp"] == FunnelRow("whatsapp", units=6, sent=6, delivered=4, read=2,
                                         replied=1, failed=1, converted=2)
    assert rows["holdout"] == FunnelRow("holdout", units=1, sent=0, delivered=0, read=0,
                                        replied=0, failed=0, converted=1)

    takeup = takeup_moments(engine, EXPERIMENT, AS_OF)
    delivered, read = takeup[("whatsapp", "order", "delivered")], takeup[("whatsapp", "order", "read")]
    assert (delivered.units, delivered.indicator_product, delivered.value_product) == (4.0, 2.0, 15.0)
    assert (read.units, read.indicator_product, read.value_product) == (2.0, 2.0, 15.0)
    assert takeup[("holdout", "order", "delivered")].units == 0.0

    # a later as_of sees b's read and e's delivery
    later = T0 + timedelta(days=5)
    prepare_units(engine, EXPERIMENT, later)
    prepare_sends(engine, EXPERIMENT)
    rows = {row.arm: row for row in funnel(engine, EXPERIMENT, later, "order")}
    assert (rows["whatsapp"].delivered, rows["whatsapp"].read) == (5, 3)


def test_sends_without_the_experiments_id_are_warned_about(workspace: Workspace) -> None:
    from threadlift.analysis.units import untagged_sends_warning

    insert_rows(workspace, "assignments", [("f", "a", "whatsapp", 5000, T0), ("f", "h", "holdout", 1, T0)])
    engine = DuckDBEngine(workspace.con)
    prepare_units(engine, EXPERIMENT, AS_OF)
    prepare_sends(engine, EXPERIMENT)
    assert untagged_sends_warning(engine, EXPERIMENT) is None  # nothing sent: nothing to say
    untagged = [(m, "a", "whatsapp", "S1", None, "whatsapp", None, "promo", "marketing", T0 + HOUR)
                for m in ("m1", "m2")]
    insert_rows(workspace, "messages", untagged)
    prepare_sends(engine, EXPERIMENT)
    warning = untagged_sends_warning(engine, EXPERIMENT)
    assert warning is not None
    assert warning.startswith("2 messages to this experiment's contacts inside their windows carry no experiment_id")
    assert "experiment_id = 'f'" in warning
    insert_rows(workspace, "messages", [("m3", "a", "whatsapp", "S1", "f", "whatsapp", None, "promo",
                                         "marketing", T0 + HOUR)])
    prepare_sends(engine, EXPERIMENT)
    assert untagged_sends_warning(engine, EXPERIMENT) is None  # some are tagged: the sections read them
