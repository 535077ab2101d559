"""Generate the scale benchmark's data set: the seeded WhatsApp experiment as a Parquet lake.

:func:`threadlift.datasets.synthetic.generate_whatsapp_experiment` builds every table in memory
with numpy and pandas (18 minutes for 10M contacts), so this module writes the same
experiment at any size with DuckDB: the same tables and columns, the same effect model
and parameters (markets, consent states, send failures, delivery and read delays,
feedback, orders with a 30 % conversion lift on delivered contacts), hence the same
closed-form truth (``summary.json``'s ``truth``, from :mod:`threadlift.datasets.synthetic`).

How the draws are made, all deterministic from ``seed``:

* per contact, with numpy (``default_rng([seed, chunk])``): the market, the order rate
  ``λ ~ Gamma(0.4, θ[market])`` and three Poisson counts (orders over the whole 97-day
  span, the extra window orders a delivered template causes, add-to-cart events);
  DuckDB has no Gamma or Poisson sampler. One Poisson count over the whole span with
  uniform times is the same process as ``datasets``' one count per period;
* everything else in SQL, from uniforms ``hash(contact, draw, k, seed) / 2^64`` (normals
  by Box-Muller, exponentials and log-normals by inversion), so every row is a pure
  function of the contact's index and the work runs on every core.

Differences from ``datasets`` that do not change the distributions: contact ids are an
affine permutation of the contact index (unique at any size, no duplicate draws),
message ids are ``wamid.`` + base64 of the contact index and random bytes, action ids
are ``ord_`` / ``cart_`` + contact index + sequence, phone numbers are a per-market
permutation, and event tables are in time order within each part (webhooks by event
time rather than a simulated arrival time). As in ``datasets``, 1.5 % of status
webhooks arrive twice (identical rows), so a loader keeps one (:func:`load_workspace`).

Contacts are generated in chunks of at most ``chunk`` (default 5M) and written as
``<directory>/<table>/part-NNNN.parquet`` (the lake layout of ``docs/engines.md``);
every natural key of a row lies inside one chunk's part. A finished chunk leaves
``.chunk-NNNN.json`` (its row counts), so an interrupted run started again with the same
arguments continues where it stopped.

Usage::

    python bench/scale_data.py --contacts 10000000 --out /tmp/tl-bench/10M/lake \
        [--workspace /tmp/tl-bench/10M/workspace.duckdb]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from threadlift.core.bucketing import arm_ranges
from threadlift.datasets import synthetic as ds
from threadlift.engines.dialects import bucket_sql
from threadlift.workspace import NATURAL_KEYS, Workspace

DAY = 86_400
HOUR = 3_600
TABLES = (
    "contacts", "identities", "consents", "messages", "message_events", "inbound", "actions",
    "feedback", "sender_quality", "rate_card", "assignments",
)
GLOBAL_TABLES = ("sender_quality", "rate_card")
"""Tables that do not depend on the contacts: written once, with part 0."""
DUPLICATED_TABLES = ("message_events",)
"""Tables whose lake files repeat rows (webhooks delivered twice)."""
ORDER_SPAN = (-60 * DAY, 30 * DAY)
"""Orders fall from 60 days before assignment to 30 days after the window."""
CART_SPAN_START = -28 * DAY
CONTACT_MULTIPLIER = 2_654_435_761
"""Contact number = (index · this + offset) mod 10^10: a permutation (odd, not a multiple of 5)."""
PHONE_MULTIPLIER = 3_967_091
"""Coprime to every market's phone-number space (as in ``datasets``)."""


def _sql_text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _case(column: str, values: list[str]) -> str:
    """``CASE column WHEN 0 THEN values[0] …`` for a small integer code."""
    whens = " ".join(f"WHEN {code} THEN {value}" for code, value in enumerate(values))
    return f"CASE {column} {whens} END"


def _pick(draw: str, values: list[str] | tuple[str | None, ...]) -> str:
    """One of ``values`` with equal probability, from the uniform ``draw``."""
    texts = ", ".join(_sql_text(v) for v in values)
    return f"[{texts}][CAST(floor({draw} * {len(values)}) AS INTEGER) + 1]"


def _macros(con: duckdb.DuckDBPyConnection, seed: int, assigned_at: str) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO unif(unit, draw, k) AS
            CAST(hash(unit, draw, k, {int(seed)}) >> 11 AS DOUBLE) / 9007199254740992.0;
        CREATE OR REPLACE TEMP MACRO between_(unit, draw, k, low, high) AS
            low + unif(unit, draw, k) * (high - low);
        CREATE OR REPLACE TEMP MACRO gauss(unit, draw, k) AS
            sqrt(-2 * ln(1 - unif(unit, draw, k))) * cos(2 * pi() * unif(unit, draw + 500, k));
        CREATE OR REPLACE TEMP MACRO lognormal(unit, draw, k, mu, sigma) AS
            exp(mu + sigma * gauss(unit, draw, k));
        CREATE OR REPLACE TEMP MACRO expo(unit, draw, k, scale) AS
            -scale * ln(1 - unif(unit, draw, k));
        CREATE OR REPLACE TEMP MACRO truncated_expo(unit, draw, k, scale, upper) AS
            -scale * ln(1 + unif(unit, draw, k) * (exp(-upper / scale) - 1));
        CREATE OR REPLACE TEMP MACRO at_(seconds) AS
            TIMESTAMP '{assigned_at}' + to_seconds(CAST(floor(seconds) AS BIGINT));
        CREATE OR REPLACE TEMP MACRO wamid(unit, slot) AS
            'wamid.HBgL' || to_base64(unhex(
                printf('%010x', unit * 8 + slot) || printf('%016x', hash(unit, slot, {int(seed)}, 1))
                || printf('%010x', hash(unit, slot, {int(seed)}, 2) >> 24)));
        """
    )


def _latent(rng: np.random.Generator, start: int, size: int, market_seen: np.ndarray,
            multipliers: np.ndarray, window_days: int) -> pa.Table:
    """Per contact: market, order rate, Poisson counts and phone-number position."""
    markets = ds.MARKETS
    market = rng.choice(len(markets), size=size, p=[m.share for m in markets])
    weekly = np.array([m.weekly_order_rate for m in markets])[market]
    rate = rng.gamma(ds._ORDER_RATE_SHAPE, weekly / (7 * ds._ORDER_RATE_SHAPE))
    span_days = (ORDER_SPAN[1] - ORDER_SPAN[0]) / DAY + window_days
    n_orders = rng.poisson(rate * span_days)
    n_extra = rng.poisson(rate * window_days * np.maximum(multipliers[market] - 1, 0.0))
    n_carts = rng.poisson(rate * (58 + window_days) / 2)
    position = np.empty(size, dtype=np.int64)
    for code in range(len(markets)):
        members = np.flatnonzero(market == code)
        position[members] = market_seen[code] + np.arange(members.size)
        market_seen[code] += members.size
    return pa.table({
        "i": np.arange(start, start + size, dtype=np.int64),
        "market": market.astype(np.int8),
        "lam": rate,
        "n_orders": n_orders.astype(np.int32),
        "n_extra": n_extra.astype(np.int32),
        "n_carts": n_carts.astype(np.int32),
        "phone_position": position,
    })


def _contacts_sql(seed: int, experiment_id: str, holdout: float, treatment: float) -> str:
    markets = ds.MARKETS
    state_edges = np.cumsum(ds._State.PROBABILITIES)
    state = "CASE " + " ".join(
        f"WHEN unif(i, 2, 0) < {float(edge)!r} THEN {code}"
        for code, edge in enumerate(state_edges[:-1])
    ) + f" ELSE {len(state_edges) - 1} END"
    ranges = arm_ranges([(ds.HOLDOUT_ARM, holdout, True), (ds.TREATMENT_ARM, treatment, False)])
    arm = "CASE " + " ".join(
        f"WHEN bucket < {r.stop} THEN {_sql_text(r.name)}" for r in ranges
    ) + " END"
    offset = (seed * 1_000_003 + 4_242_424_242) % 10**10
    phones = []
    rng = np.random.default_rng([seed, 2**31])
    for code, m in enumerate(markets):
        prefixes = m.mobile_prefixes.split()
        space = 10**m.subscriber_digits
        shift = int(rng.integers(len(prefixes) * space))
        index = f"((phone_position * {PHONE_MULTIPLIER} + {shift}) % {len(prefixes) * space})"
        phones.append(
            f"WHEN {code} THEN '+{m.calling_code}' || {_pick_index(prefixes, f'{index} // {space}')}"
            f" || lpad(CAST({index} % {space} AS VARCHAR), {m.subscriber_digits}, '0')"
        )
    bucket = bucket_sql("duckdb", _sql_text(experiment_id), "contact_id")
    return f"""
        CREATE OR REPLACE TEMP TABLE c AS
        WITH base AS (
            SELECT *,
                'cus_' || lpad(CAST((i * {CONTACT_MULTIPLIER} + {offset}) % 10000000000 AS VARCHAR),
                               10, '0') AS contact_id,
                between_(i, 1, 0, {-6 * 365 * DAY}, {-120 * DAY}) AS created,
                {state} AS state
            FROM latent
        ), bucketed AS (
            SELECT *,
                CASE WHEN state IN (0, 1) THEN CAST({bucket} AS INTEGER) END AS bucket
            FROM base
        )
        SELECT *,
            {_case('market', [_sql_text(m.code) for m in markets])} AS market_code,
            {_case('market', [repr(m.marketing_cap_rate) for m in markets])} AS cap_rate,
            CASE market {' '.join(phones)} END AS address,
            state IN (0, 1) AS eligible,
            CASE WHEN state IN (0, 1) THEN {arm} END AS arm,
            CASE WHEN unif(i, 3, 0) < 0.6 THEN 'marketing' ELSE 'all' END AS scope,
            unif(i, 4, 0) < {ds._UNDELIVERABLE_RATE} AS undeliverable,
            unif(i, 5, 0) < {ds._META_EXPERIMENT_RATE} AS in_meta_experiment,
            0.45 + 0.40 * (1 - exp(-60 * lam)) AS read_propensity,
            order_value_scale(market, gauss(i, 7, 0)) AS basket,
            -- consent times: one grant, or two / three sorted events at least an hour apart
            created + {DAY} AS earliest,
            CASE WHEN state = 6 THEN {-22 * DAY} ELSE {-DAY} END AS latest,
            unif(i, 10, 0) AS c1, unif(i, 11, 0) AS c2, unif(i, 12, 0) AS c3
        FROM bucketed
    """


def _pick_index(values: list[str], index_sql: str) -> str:
    texts = ", ".join(_sql_text(v) for v in values)
    return f"[{texts}][CAST({index_sql} AS INTEGER) + 1]"


def _consent_times_sql() -> str:
    """Per contact, the consent events of its state (``datasets._consents``)."""
    once = "earliest + c1 * greatest(latest - earliest - 3600, 0)"
    two_lo = "least(c1, c2)"
    two_hi = "greatest(c1, c2)"
    three_lo = "least(c1, c2, c3)"
    three_hi = "greatest(c1, c2, c3)"
    three_mid = f"(c1 + c2 + c3 - {three_lo} - {three_hi})"
    spread2 = f"greatest(latest - earliest - {2 * HOUR}, 0)"
    spread3 = f"greatest(latest - earliest - {3 * HOUR}, 0)"
    ours, other = _sql_text(ds.SENDER_ID), _sql_text(ds.OTHER_SENDER_ID)
    return f"""
        CREATE OR REPLACE TEMP TABLE consent_events AS
        SELECT i, contact_id, {ours} AS sender_id, scope, 'granted' AS status, {once} AS ts, 1 AS slot
        FROM c WHERE state IN (0, 7, 6)
        UNION ALL
        SELECT i, contact_id, {other}, scope, 'granted', earliest + unif(i, 13, 0)
               * greatest(latest - earliest - 3600, 0), 2
        FROM c WHERE state = 0 AND unif(i, 14, 0) < 0.03
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'granted', earliest + {two_lo} * {spread2}, 3
        FROM c WHERE state = 3
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'revoked', earliest + {two_hi} * {spread2} + {HOUR}, 4
        FROM c WHERE state = 3
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'granted', earliest + {three_lo} * {spread3}, 5
        FROM c WHERE state = 1
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'revoked',
               earliest + {three_mid} * {spread3} + {HOUR}, 6
        FROM c WHERE state = 1
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'granted',
               earliest + {three_hi} * {spread3} + {2 * HOUR}, 7
        FROM c WHERE state = 1
        UNION ALL
        SELECT i, contact_id, {ours}, 'utility', 'granted', {once}, 8
        FROM c WHERE state = 2 AND unif(i, 15, 0) < 0.25
        UNION ALL
        SELECT i, contact_id, {ours}, scope, 'granted', between_(i, 16, 0, {HOUR}, {10 * DAY}), 9
        FROM c WHERE state = 4
        UNION ALL
        SELECT i, contact_id, {other}, scope, 'granted', {once}, 10
        FROM c WHERE state = 5
    """


def _send_sql(batch: int, source: str, sent_at: str, *, read_scale: str = "1.0",
              undeliverable: str = "undeliverable", in_meta: str = "in_meta_experiment",
              cap_rate: str = "cap_rate", forced: str = "0", silent_stop: str = "false") -> str:
    """One template per row of ``source``; outcome as ``datasets._send`` draws it."""
    b = batch
    return f"""
        WITH raw AS (
            SELECT i, contact_id, read_propensity * {read_scale} AS read_propensity,
                   floor({sent_at}) AS sent_at,
                   CASE WHEN {forced} <> 0 THEN {forced}
                        WHEN {undeliverable} THEN 131026
                        WHEN {in_meta} THEN 130472
                        WHEN {silent_stop} THEN 131050
                        WHEN unif(i, 31, {b}) < {cap_rate} THEN 131049
                        ELSE 0 END AS error_code
            FROM {source}
        ), timed AS (
            SELECT *, sent_at + 2 * unif(i, 32, {b}) AS sent_event_at,
                   least(lognormal(i, 33, {b}, {math.log(3.0)}, 0.8), 600)
                   + CASE WHEN unif(i, 35, {b}) < 0.08
                          THEN least(expo(i, 36, {b}, {3 * HOUR}), {12 * HOUR}) ELSE 0 END AS delay
            FROM raw
        ), delivered AS (
            SELECT *, CASE WHEN error_code = 0 THEN sent_event_at + delay END AS delivered_at
            FROM timed
        ), was_read AS (
            SELECT *, CASE WHEN delivered_at IS NOT NULL AND unif(i, 37, {b}) < read_propensity
                           THEN delivered_at + least(lognormal(i, 38, {b}, {math.log(1200.0)}, 1.6),
                                                     {6 * DAY}) END AS read_at
            FROM delivered
        )
        SELECT i, contact_id, {b} AS batch, wamid(i, {b}) AS message_id, sent_at, sent_event_at,
               error_code, delivered_at, read_at,
               read_at IS NOT NULL AND unif(i, 40, {b}) < 0.04 AS delivered_event_missing
        FROM was_read
    """


def _feedback_sql(window: int, induced: dict[str, float]) -> tuple[str, str]:
    kinds = ds.FEEDBACK_KINDS
    rows = ", ".join(
        f"({k}, {_sql_text(kind)}, {ds._FEEDBACK_DAILY_RATE[kind]!r}, {induced[kind]!r})"
        for k, kind in enumerate(kinds)
    )
    reasons = " ".join(
        f"WHEN {_sql_text(kind)} THEN {_pick('unif(i, 70, slot)', ds._FEEDBACK_REASONS[kind])}"
        for kind in kinds
    )
    pick_kind = _pick("unif(i, {draw}, 0)", kinds)
    return f"""
        CREATE OR REPLACE TEMP TABLE feedback_events AS
        WITH kinds(k, kind, daily_rate, induced) AS (VALUES {rows}),
        chances AS (
            SELECT c.i, c.contact_id, k, kind, f.delivered_at,
                   1 - exp(-daily_rate * {window / DAY}) AS baseline,
                   exp(-daily_rate * {window / DAY}) * induced AS extra,
                   1 - exp(-daily_rate * 30) AS later_chance
            FROM c CROSS JOIN kinds LEFT JOIN first_sends AS f ON f.i = c.i
        ),
        hits AS (
            SELECT *, baseline + CASE WHEN delivered_at IS NOT NULL THEN extra ELSE 0 END AS chance
            FROM chances
        ),
        events AS (
            SELECT i, contact_id, kind, k AS slot,
                   CASE WHEN delivered_at IS NOT NULL AND unif(i, 53, k) * chance < extra
                        THEN delivered_at + truncated_expo(i, 56, k, {6 * HOUR},
                                                           {window} - delivered_at)
                        ELSE between_(i, 59, k, 0, {window}) END AS ts
            FROM hits WHERE unif(i, 50, k) < chance
            UNION ALL
            SELECT i, contact_id, kind, 3 + k, between_(i, 62, k, {window}, {window + 30 * DAY})
            FROM hits WHERE unif(i, 65, k) < later_chance
        )
        SELECT * FROM events
        UNION ALL
        SELECT i, contact_id, {pick_kind.format(draw=66)}, 6,
               between_(i, 67, 0, greatest(created, {-365 * DAY}) + {DAY}, {-100 * DAY})
        FROM c WHERE unif(i, 68, 0) < 0.015
        UNION ALL
        SELECT i, contact_id, {pick_kind.format(draw=69)}, 7,
               between_(i, 71, 0, {-(ds.EXCLUDE_FEEDBACK_DAYS - 5) * DAY}, {-HOUR})
        FROM c WHERE state = 7
    """, f"CASE kind {reasons} END"


TIME_ORDER = {
    "consents": "ts", "messages": "sent_at", "message_events": "ts", "inbound": "ts",
    "actions": "ts", "feedback": "ts",
}
"""Event tables are written in time order, as platforms log them (and as ``datasets`` does)."""


def _write(con: duckdb.DuckDBPyConnection, table: str, sql: str, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if table in TIME_ORDER:
        sql = f"SELECT * FROM ({sql}) ORDER BY {TIME_ORDER[table]}"
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    row = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchone()
    return int(row[0]) if row else 0


def _generate_chunk(con: duckdb.DuckDBPyConnection, out: Path, index: int, latent: pa.Table,
                    *, window_days: int, experiment_id: str, assigned_at: str,
                    contacts_sql: str, induced: dict[str, float]) -> dict[str, int]:
    """Write one chunk's Parquet parts; return its row counts per table."""
    window = window_days * DAY
    con.register("latent", latent)
    con.execute(contacts_sql)
    con.unregister("latent")
    con.execute(_consent_times_sql())
    exp_id = _sql_text(experiment_id)
    # The prior newsletter (21 days before) and the experiment's first template.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE prior_audience AS
        SELECT c.*, CASE WHEN state = 6 THEN 131050 ELSE 0 END AS forced
        FROM c
        WHERE state = 6 OR (state IN (0, 1, 7) AND unif(i, 20, 0) < 0.4 AND EXISTS (
            SELECT 1 FROM consent_events e
            WHERE e.i = c.i AND e.slot IN (1, 7) AND e.ts < {-21 * DAY - HOUR}))
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE prior_sends AS "
        + _send_sql(0, "prior_audience", f"{-21 * DAY} + between_(i, 21, 0, 0, {3 * HOUR})",
                    forced="forced")
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE first_sends AS "
        + _send_sql(1, f"(SELECT * FROM c WHERE arm = {_sql_text(ds.TREATMENT_ARM)})",
                    f"between_(i, 22, 0, 300, {4 * HOUR})",
                    silent_stop=f"unif(i, 41, 1) < {ds._SILENT_STOP_RATE}")
    )
    feedback_sql, reason_sql = _feedback_sql(window, induced)
    con.execute(feedback_sql)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE reminder_audience AS
        WITH suppressed AS (
            SELECT i, min(ts) AS until FROM feedback_events
            WHERE slot IN (0, 2) GROUP BY i
        )
        SELECT c.*, f.reminder_at
        FROM (SELECT i, read_at, {3 * DAY} + between_(i, 24, 0, 0, {3 * HOUR}) AS reminder_at
              FROM first_sends WHERE delivered_at IS NOT NULL) AS f
        JOIN c USING (i) LEFT JOIN suppressed AS s USING (i)
        WHERE (f.read_at IS NULL OR f.read_at >= f.reminder_at)
          AND (s.until IS NULL OR s.until >= f.reminder_at)
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE reminder_sends AS "
        + _send_sql(2, "reminder_audience", "reminder_at", read_scale="0.6",
                    undeliverable="false", in_meta="false", cap_rate="least(cap_rate + 0.05, 1.0)")
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sends AS
        SELECT *, CAST(NULL AS VARCHAR) AS experiment_id, CAST(NULL AS VARCHAR) AS arm, {_sql_text(ds.PRIOR_CAMPAIGN_ID)} AS campaign_id,
               {_sql_text(ds.PRIOR_TEMPLATE)} AS template FROM prior_sends
        UNION ALL
        SELECT *, {exp_id}, {_sql_text(ds.TREATMENT_ARM)}, {_sql_text(ds.CAMPAIGN_ID)},
               {_pick('unif(i, 42, 1)', ds.TEMPLATES)} FROM first_sends
        UNION ALL
        SELECT *, {exp_id}, {_sql_text(ds.TREATMENT_ARM)}, {_sql_text(ds.CAMPAIGN_ID)},
               {_sql_text(ds.REMINDER_TEMPLATE)} FROM reminder_sends
        """
    )
    part = f"part-{index:04d}.parquet"
    sigma = ds._ORDER_VALUE_SIGMA
    ours = _sql_text(ds.SENDER_ID)
    channel = _sql_text(ds.CHANNEL)
    grant = _pick("unif(i, 43, slot)", ds._GRANT_SOURCES)
    revoke = _pick("unif(i, 43, slot)", ds._REVOKE_SOURCES)
    selects = {
        "contacts": "SELECT contact_id, market_code AS market, at_(created) AS created_at FROM c",
        "identities": f"""
            SELECT contact_id, {channel} AS channel, address,
                   CASE WHEN state = 5 THEN {_sql_text(ds.OTHER_SENDER_ID)} ELSE {ours} END AS sender_id
            FROM c""",
        "consents": f"""
            SELECT contact_id, {channel} AS channel, sender_id, scope, status, at_(ts) AS ts,
                   CASE WHEN status = 'granted' THEN {grant} ELSE {revoke} END AS source
            FROM consent_events
            UNION ALL
            SELECT contact_id, {channel}, {ours}, 'marketing', 'revoked', at_(floor(ts) + 1),
                   'opt_out_keyword'
            FROM feedback_events WHERE kind = 'opt_out' AND ts > 0""",
        "messages": f"""
            SELECT message_id, contact_id, {channel} AS channel, {ours} AS sender_id,
                   experiment_id, arm, campaign_id, template, 'marketing' AS category,
                   at_(sent_at) AS sent_at
            FROM sends""",
        "message_events": """
            WITH events AS (
                SELECT i, batch, message_id, 0 AS kind, 'failed' AS status,
                       sent_at + between_(i, 44, batch, 1, 20) AS ts,
                       CAST(error_code AS VARCHAR) AS error_code, false AS priced
                FROM sends WHERE delivered_at IS NULL
                UNION ALL
                SELECT i, batch, message_id, 1, 'sent', sent_event_at, NULL, true
                FROM sends WHERE delivered_at IS NOT NULL
                UNION ALL
                SELECT i, batch, message_id, 2, 'delivered', delivered_at, NULL, true
                FROM sends WHERE delivered_at IS NOT NULL AND NOT delivered_event_missing
                UNION ALL
                SELECT i, batch, message_id, 3, 'read', read_at, NULL, delivered_event_missing
                FROM sends WHERE read_at IS NOT NULL
            ), arrived AS (
                SELECT * FROM events
                UNION ALL
                SELECT * FROM events WHERE unif(i, 45 + kind, batch) < 0.015
            )
            SELECT message_id, status, at_(ts) AS ts, error_code,
                   CASE WHEN priced THEN 'marketing' END AS pricing_category,
                   CASE WHEN priced THEN true END AS billable
            FROM arrived""",
        "inbound": f"""
            WITH replies AS (
                SELECT i, contact_id, 3 + batch AS slot, read_at AS read_at,
                       message_id AS quoted_id, unif(i, 81, batch) < 0.65 AS button,
                       unif(i, 82, batch) < 0.4 AS quoting,
                       least(lognormal(i, 83, batch, {math.log(90.0)}, 1.2), {2 * DAY}) AS delay
                FROM sends WHERE read_at IS NOT NULL AND unif(i, 80, batch) < 0.07
            )
            SELECT wamid(i, slot) AS message_id, contact_id, {channel} AS channel,
                   {ours} AS sender_id, at_(read_at + delay) AS ts,
                   CASE WHEN button THEN 'button' ELSE 'text' END AS type,
                   CASE WHEN button OR quoting THEN quoted_id END AS context_message_id
            FROM replies
            UNION ALL
            SELECT wamid(i, 6), contact_id, {channel}, {ours},
                   at_(between_(i, 86, 0, {-28 * DAY}, {window + 14 * DAY})), 'text', NULL
            FROM c WHERE unif(i, 85, 0) < 0.04""",
        "actions": f"""
            WITH orders AS (
                SELECT i, contact_id, basket, k, between_(i, 90, k, {ORDER_SPAN[0]},
                       {window + ORDER_SPAN[1]}) AS ts
                FROM (SELECT i, contact_id, basket, unnest(range(n_orders)) AS k FROM c)
                UNION ALL
                SELECT i, contact_id, basket, k, delivered_at
                       + truncated_expo(i, 91, k, {1.5 * DAY}, {window} - delivered_at)
                FROM (SELECT i, c.contact_id, basket, f.delivered_at,
                             unnest(range(n_orders, n_orders + n_extra)) AS k
                      FROM c JOIN first_sends AS f USING (i)
                      WHERE f.delivered_at IS NOT NULL AND n_extra > 0)
            )
            SELECT printf('ord_%09d_%03d', i, k) AS action_id, contact_id, 'order' AS action,
                   at_(ts) AS ts,
                   round(basket * exp({-sigma * sigma / 2!r} + {sigma!r} * gauss(i, 92, k)), 2)
                   AS value
            FROM orders
            UNION ALL
            SELECT printf('cart_%09d_%03d', i, k), contact_id, 'add_to_cart',
                   at_(between_(i, 94, k, {CART_SPAN_START}, {window + 30 * DAY})), NULL
            FROM (SELECT i, contact_id, unnest(range(n_carts)) AS k FROM c)""",
        "feedback": f"""
            SELECT contact_id, {channel} AS channel, {ours} AS sender_id, kind, at_(ts) AS ts,
                   {reason_sql} AS reason
            FROM feedback_events""",
        "assignments": f"""
            SELECT {exp_id} AS experiment_id, contact_id, arm, bucket,
                   TIMESTAMP '{assigned_at}' AS assigned_at
            FROM c WHERE eligible""",
    }
    counts = {table: _write(con, table, sql, out / table / part) for table, sql in selects.items()}
    for name in ("c", "consent_events", "prior_audience", "prior_sends", "first_sends",
                 "feedback_events", "reminder_audience", "reminder_sends", "sends"):
        con.execute(f"DROP TABLE {name}")
    return counts


def _order_value_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Per-contact basket scale: the market's mean order value times a log-normal."""
    values = ", ".join(repr(m.order_value) for m in ds.MARKETS)
    sigma = ds._BASKET_SIGMA
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO order_value_scale(market, normal) AS
            [{values}][market + 1] * exp({-sigma * sigma / 2!r} + {sigma!r} * normal)
        """
    )


def generate_lake(
    n_contacts: int, directory: str | Path, *, seed: int = 0, chunk: int = 5_000_000,
    memory_limit: str = "6GB",
) -> dict[str, Any]:
    """Write the experiment with ``n_contacts`` contacts as a Parquet lake; return a summary.

    Args:
        n_contacts: Contacts (about 77 % are eligible and assigned).
        directory: The lake directory (created); ``summary.json`` and
            ``experiment.toml`` are written last.
        seed: Every draw is a function of it.
        chunk: Contacts per part file.
        memory_limit: DuckDB's memory limit while generating (it spills beyond it).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reference = ds.generate_whatsapp_experiment(n_contacts=100, seed=seed)
    window_days = int(reference.truth["window_days"])
    induced = {"block": 0.0015, "report": 0.0006, "opt_out": 0.006}
    multipliers = ds._rate_multipliers(ds._market_lifts(0.30, None), window_days)
    assigned_at = reference.assigned_at.strftime("%Y-%m-%d %H:%M:%S")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET temp_directory = $t", {"t": str(out / ".tmp")})
    con.execute("SET preserve_insertion_order = false")
    _macros(con, seed, assigned_at)
    _order_value_macro(con)
    contacts_sql = _contacts_sql(seed, reference.experiment_id, 10, 90)
    market_seen = np.zeros(len(ds.MARKETS), dtype=np.int64)
    rows: dict[str, int] = {}
    for index, start in enumerate(range(0, n_contacts, chunk)):
        size = min(chunk, n_contacts - start)
        rng = np.random.default_rng([seed, index])
        latent = _latent(rng, start, size, market_seen, multipliers, window_days)
        done = out / f".chunk-{index:04d}.json"
        if done.exists():  # an interrupted run wrote it: the draws above keep the phone numbers
            counts = json.loads(done.read_text(encoding="utf-8"))
        else:
            counts = _generate_chunk(
                con, out, index, latent, window_days=window_days,
                experiment_id=reference.experiment_id, assigned_at=assigned_at,
                contacts_sql=contacts_sql, induced=induced,
            )
            done.write_text(json.dumps(counts), encoding="utf-8")
        for table, count in counts.items():
            rows[table] = rows.get(table, 0) + count
        print(f"  chunk {index}: {start + size:,} contacts, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    for table in GLOBAL_TABLES:
        (out / table).mkdir(parents=True, exist_ok=True)
        reference.tables[table].to_parquet(out / table / "part-0000.parquet", index=False)
        rows[table] = len(reference.tables[table])
    con.close()
    (out / "experiment.toml").write_text(reference.experiment_toml, encoding="utf-8")
    summary = {
        "contacts": n_contacts,
        "chunk": chunk,
        "seed": seed,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
        "truth": reference.truth,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def load_workspace(lake: str | Path, workspace: str | Path) -> dict[str, int]:
    """Load a lake written by :func:`generate_lake` into a new workspace; return row counts.

    The result is what ``threadlift load`` would store from the same files (checked by
    ``tests/test_bench_scale_data.py``): the generator writes no empty or padded text,
    whole-second timestamps and no natural key twice except repeated webhooks, which are
    identical rows inside one part, so inserting the rows as typed and keeping one of
    each repeated ``message_events`` row per part gives the loader's tables without its
    per-row validation, text staging and key lookups.
    """
    lake = Path(lake)
    with Workspace.create(workspace) as ws:
        for table in TABLES:
            folder = lake / table
            if not folder.is_dir():
                continue
            # by name: the lake leaves out the columns it has no values for (tier bounds)
            if table in DUPLICATED_TABLES:
                for part in sorted(folder.glob("*.parquet")):
                    ws.con.execute(
                        f'INSERT INTO "{table}" BY NAME SELECT DISTINCT * '
                        "FROM read_parquet($path)",
                        {"path": str(part)},
                    )
            else:
                ws.con.execute(
                    f'INSERT INTO "{table}" BY NAME SELECT * FROM read_parquet($path)',
                    {"path": str(folder / "*.parquet")},
                )
        ws.con.execute("CHECKPOINT")
        return {t: n for t, n in ws.counts().items() if t in NATURAL_KEYS and n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, help="generate this many contacts into --out")
    parser.add_argument("--out", required=True, help="the lake directory")
    parser.add_argument("--workspace", help="then load the lake into this new workspace file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=5_000_000)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args()
    if args.contacts is None and args.workspace is None:
        parser.error("give --contacts (generate), --workspace (load), or both")
    if args.contacts is not None:
        summary = generate_lake(args.contacts, args.out, seed=args.seed, chunk=args.chunk,
                                memory_limit=args.memory_limit)
        print(json.dumps(summary, indent=1))
    if args.workspace is not None:
        started = time.perf_counter()
        counts = load_workspace(args.out, args.workspace)
        print(json.dumps({"loaded": counts, "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
