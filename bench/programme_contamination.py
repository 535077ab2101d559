"""Does a 0.1 % contamination of a 1M-contact global holdout raise the alert?

The contamination check (``sql/analysis/programme/contamination.sql``) counts held-out
contacts with any programme message in the workspace's ``messages`` table after the
holdout started, and any count above zero is an ALERT. So the check has no statistical
power to speak of: it fires exactly when at least one contaminating message *reaches the
workspace*. **Detection** here means: the alert fires (at least one held-out contact is
counted). What can stop it is the data path:

- a loaded send log (``threadlift load messages``) records every send: detection is certain;
- webhooks alone record a send only when its status webhook arrives: each may be lost
  (``loss``: independently per message) and a whole sending batch may fall into an outage
  of the webhook endpoint (``outage``: per batch, all of its webhooks lost together).

The simulation: 1,000,000 held-out contacts, 1,000 of them (0.1 %) sent one programme
message each, in ``batches`` equal batches. Per scenario, ``trials`` Monte-Carlo draws of
which messages reach the workspace give the detection rate (with a Clopper-Pearson
interval) beside its closed form ``1 − (outage + (1 − outage)·loss^k)^batches``, k messages per
batch. ``sql_trials`` of the draws also run the real query on a DuckDB workspace holding the
1M held-out units and the surviving messages, and must agree with the rule (a check that
the query detects exactly what reaches it, at full scale).

Usage::

    .venv/bin/python bench/programme_contamination.py                 # ~1 minute
    .venv/bin/python bench/programme_contamination.py --trials 20000 --sql-trials 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from threadlift.engines.duckdb import DuckDBEngine
from threadlift.workspace import Workspace

HELD_OUT = 1_000_000
CONTAMINATED = 1_000
"""0.1 % of the held-out contacts."""
START = datetime(2026, 1, 5, 9, 0, 0)
AS_OF = START + timedelta(days=90)


@dataclass(frozen=True)
class Scenario:
    """How the contaminating messages reach the workspace."""

    name: str
    loss: float
    """Probability that one message's webhook is lost (independently)."""
    outage: float
    """Probability that a whole batch's webhooks are lost (endpoint down)."""
    batches: int


SCENARIOS = (
    Scenario("send log loaded (every send recorded)", 0.0, 0.0, 1),
    Scenario("webhooks, 1 % lost", 0.01, 0.0, 1),
    Scenario("webhooks, 99 % lost", 0.99, 0.0, 1),
    Scenario("webhooks, 99.5 % lost", 0.995, 0.0, 1),
    Scenario("webhooks, 99.9 % lost", 0.999, 0.0, 1),
    Scenario("webhooks, one batch, 5 % chance of an outage", 0.01, 0.05, 1),
    Scenario("webhooks, ten batches, 5 % chance of an outage each", 0.01, 0.05, 10),
)


@dataclass(frozen=True)
class Result:
    scenario: str
    trials: int
    detection_rate: float
    ci_lower: float
    ci_upper: float
    closed_form: float
    mean_counted: float
    """Mean number of held-out contacts the check counted (of 1,000)."""
    sql_trials: int
    sql_agrees: bool


def draw(rng: np.random.Generator, s: Scenario, trials: int) -> np.ndarray:
    """Per trial and contaminated contact, whether its message reached the workspace."""
    per_batch = CONTAMINATED // s.batches
    arrived = rng.random((trials, CONTAMINATED)) >= s.loss
    down = rng.random((trials, s.batches)) < s.outage
    arrived &= ~np.repeat(down, per_batch, axis=1)
    return arrived


def closed_form(s: Scenario) -> float:
    per_batch = CONTAMINATED // s.batches
    missed_batch = s.outage + (1 - s.outage) * s.loss**per_batch
    return float(1 - missed_batch**s.batches)


def sql_counts(ws: Workspace, arrived: np.ndarray) -> list[int]:
    """The real contamination query's count for each trial's surviving messages."""
    engine = DuckDBEngine(ws.con)
    counts = []
    for row in arrived:
        ws.con.execute("DELETE FROM messages")
        ids = [f"h{i}" for i in np.flatnonzero(row)]
        if ids:
            ws.con.execute(
                "INSERT INTO messages SELECT 'm' || id, id, 'whatsapp', NULL, NULL, NULL, "
                "'rogue', 'sale', 'marketing', $at FROM unnest($ids) AS t(id)",
                {"ids": ids, "at": START + timedelta(days=20)},
            )
        total = engine.run(
            "analysis/programme/contamination#total", {"as_of": AS_OF, "category": "marketing"}
        ).rows[0]
        assert int(total[0]) == HELD_OUT
        counts.append(int(total[1]))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--sql-trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "bench.duckdb")
        # The programme's held-out units, as sql/analysis/programme/holdout_units.sql keeps them.
        ws.con.execute(
            "CREATE TEMP TABLE _programme_holdout_units AS SELECT 'h' || i AS contact_id, "
            "'global_holdout' AS arm, CAST($at AS TIMESTAMP) AS assigned_at "
            "FROM range($n) AS t(i)",
            {"at": START, "n": HELD_OUT},
        )
        for s in SCENARIOS:
            arrived = draw(rng, s, args.trials)
            counted = arrived.sum(axis=1)
            detected = int((counted > 0).sum())
            lower, upper = proportion_confint(detected, args.trials, method="beta")
            sql = sql_counts(ws, arrived[: args.sql_trials])
            results.append(
                Result(
                    scenario=s.name,
                    trials=args.trials,
                    detection_rate=detected / args.trials,
                    ci_lower=float(lower),
                    ci_upper=float(upper),
                    closed_form=closed_form(s),
                    mean_counted=float(counted.mean()),
                    sql_trials=len(sql),
                    sql_agrees=sql == [int(c) for c in counted[: args.sql_trials]],
                )
            )
        ws.close()
    print(f"{'scenario':<55} {'detected':>9} {'95% CI':>17} {'closed form':>11} {'counted':>8} sql")
    for r in results:
        print(
            f"{r.scenario:<55} {r.detection_rate:>9.4f} [{r.ci_lower:.4f}, {r.ci_upper:.4f}] "
            f"{r.closed_form:>11.4f} {r.mean_counted:>8.1f} "
            f"{'agrees' if r.sql_agrees else 'DISAGREES'} ({r.sql_trials})"
        )
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    print(json.dumps([asdict(r) for r in results]), file=sys.stderr)
    return 0 if all(r.sql_agrees for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
