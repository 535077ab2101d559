"""The full report's floor: hand-written DuckDB SQL for every section of the default report.

``threadlift report`` computes, besides the core sums (units, metric and CUPED sums,
guardrail counts), the funnel, the take-up (complier) sums, the cumulative daily
conversion, the guardrail breakdown by sender and template, the messaging-limit usage,
the 24-hour-window share, the lift by segment (market, pre-period activity), the cost on
the dated rate card and the sender and template quality rows. This script computes the
same numbers with SQL written by hand for the scale benchmark's experiment
(``bench/scale_data.py``: one send channel, one conversion action, no volume tiers, no
free-entry points, no workspace pricing rules), the way an analyst who knows the data
would: one pass over the actions gives every unit's outcomes (read by the metrics, the
segments, the cumulative series, the take-up and the funnel), one pass over the sends
gives every send-based section, and the statistics come from the per-arm sums with the
same formulas (:mod:`threadlift.core.stats`, scipy).

It runs as one whole process, like ``threadlift report``, and writes a JSON of its numbers;
``bench/scale_bench.py --methods threadlift-report,full-floor`` runs both interleaved on
the same workspace and :func:`compare` checks that the floor's numbers are the report's
(so the floor computes the same thing, not less).

Usage::

    python bench/full_floor.py /tmp/tl-bench/10M --out /tmp/floor.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_run import GUARDRAIL_KINDS, _stats_from_sums

CUPED_DAYS = 28
"""The bench experiment's revenue metric's ``cuped_days`` (also the activity lookback)."""

UNITS = """
CREATE TEMP TABLE u AS
SELECT contact_id, arm, assigned_at,
       least(assigned_at + INTERVAL (CAST($window_days AS INTEGER)) DAY, $as_of) AS window_end
FROM assignments
WHERE experiment_id = $experiment_id AND assigned_at <= $as_of
"""

PER_UNIT = """
-- every unit's outcomes in one pass over the actions: in-window count, value and first
-- time; pre-period (CUPED_DAYS) value and count; and its market
CREATE TEMP TABLE pu AS
WITH o AS (
    SELECT u.contact_id,
           count(*) FILTER (WHERE a.ts >= u.assigned_at) AS cnt,
           coalesce(sum(a.value) FILTER (WHERE a.ts >= u.assigned_at), 0) AS val,
           coalesce(sum(a.value) FILTER (WHERE a.ts < u.assigned_at), 0) AS pre_val,
           count(*) FILTER (WHERE a.ts < u.assigned_at) AS pre_cnt,
           min(a.ts) FILTER (WHERE a.ts >= u.assigned_at) AS first_ts
    FROM u JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE a.action = $action
      AND a.ts >= u.assigned_at - INTERVAL (CAST($cuped_days AS INTEGER)) DAY
      AND a.ts < u.window_end
    GROUP BY u.contact_id
)
SELECT u.contact_id, u.arm, u.assigned_at,
       coalesce(o.cnt, 0) AS cnt, coalesce(o.val, 0) AS val, coalesce(o.pre_val, 0) AS pre_val,
       coalesce(o.pre_cnt, 0) AS pre_cnt, o.first_ts,
       coalesce(c.market, 'unknown') AS market
FROM u
LEFT JOIN o ON o.contact_id = u.contact_id
LEFT JOIN contacts AS c ON c.contact_id = u.contact_id
"""

SUMS = """
SELECT arm, {key} AS segment, count(*) AS units,
       count(*) FILTER (WHERE cnt > 0) AS ind_sum,
       sum(val) AS val_sum, sum(val * val) AS val_sq,
       sum(cnt) AS cnt_sum, sum(cnt * cnt) AS cnt_sq, sum(val * cnt) AS val_cnt,
       sum(pre_val) AS pre_val_sum, sum(pre_val * pre_val) AS pre_val_sq,
       sum(val * pre_val) AS val_pre_val
FROM pu GROUP BY ALL
"""

ACTIVITY = "CASE WHEN pre_cnt = 0 THEN 'none' WHEN pre_cnt = 1 THEN 'some' ELSE 'frequent' END"

SIGNALS = """
CREATE TEMP TABLE sig AS
SELECT DISTINCT contact_id, arm, kind FROM (
    SELECT u.contact_id, u.arm, f.kind
    FROM u JOIN feedback AS f ON f.contact_id = u.contact_id
    WHERE f.channel = $channel AND f.ts >= u.assigned_at AND f.ts < u.window_end
    UNION ALL
    SELECT u.contact_id, u.arm, 'marketing_stop'
    FROM u JOIN consents AS c ON c.contact_id = u.contact_id
    WHERE c.channel = $channel AND c.status = 'revoked' AND c.scope IN ('marketing', 'all')
      AND c.ts >= u.assigned_at AND c.ts < u.window_end
    UNION ALL
    SELECT u.contact_id, u.arm,
           CASE e.error_code WHEN '131050' THEN 'marketing_stop' WHEN '131048' THEN 'spam_rate_limited'
                             WHEN '131049' THEN 'marketing_cap' ELSE 'undeliverable' END
    FROM message_events AS e
    JOIN messages AS m ON m.message_id = e.message_id
    JOIN u ON u.contact_id = m.contact_id
    WHERE e.status = 'failed' AND e.error_code IN ('131050', '131048', '131049', '131026')
      AND m.channel = $channel AND e.ts >= u.assigned_at AND e.ts < u.window_end
)
"""

SENDS = """
-- the experiment's sends in their units' windows, each with its status summary and the
-- contact's last inbound message before it
CREATE TEMP TABLE s AS
WITH sent AS MATERIALIZED (
    SELECT u.arm, m.message_id, m.contact_id, m.channel, m.sender_id, m.template, m.category,
           m.sent_at, u.window_end
    FROM messages AS m JOIN u ON u.contact_id = m.contact_id
    WHERE m.experiment_id = $experiment_id
      AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
),
st AS (
    SELECT e.message_id,
           min(e.ts) FILTER (WHERE e.status IN ('delivered', 'read')) AS delivered_at,
           min(e.ts) FILTER (WHERE e.status = 'read') AS read_at,
           min(e.ts) FILTER (WHERE e.status = 'failed') AS failed_at,
           bool_or(e.billable) AS billable,
           max(e.pricing_category) AS pricing_category
    FROM message_events AS e SEMI JOIN sent ON sent.message_id = e.message_id
    GROUP BY e.message_id
)
SELECT sent.*, i.ts AS last_inbound_at, st.* EXCLUDE (message_id)
FROM sent
ASOF LEFT JOIN inbound AS i
    ON i.contact_id = sent.contact_id AND i.channel = sent.channel
   AND i.sender_id = sent.sender_id AND sent.sent_at >= i.ts
LEFT JOIN st ON st.message_id = sent.message_id
"""

PER_UNIT_SENDS = """
CREATE TEMP TABLE ps AS
SELECT contact_id, arm, min(sent_at) AS first_sent, any_value(window_end) AS window_end,
       coalesce(bool_or(delivered_at <= $as_of), false) AS delivered,
       coalesce(bool_or(read_at <= $as_of), false) AS was_read,
       coalesce(bool_or(failed_at <= $as_of), false) AS failed
FROM s GROUP BY contact_id, arm
"""

FUNNEL = """
WITH replied AS (
    SELECT DISTINCT ps.contact_id
    FROM ps JOIN inbound AS i ON i.contact_id = ps.contact_id
    WHERE i.ts >= ps.first_sent AND i.ts < ps.window_end
)
SELECT pu.arm, count(*) AS units, count(ps.contact_id) AS sent,
       count(*) FILTER (WHERE ps.delivered) AS delivered,
       count(*) FILTER (WHERE ps.was_read) AS "read",
       count(r.contact_id) AS replied,
       count(*) FILTER (WHERE ps.failed AND NOT ps.delivered) AS failed,
       count(*) FILTER (WHERE pu.cnt > 0) AS converted,
       count(*) FILTER (WHERE ps.delivered AND pu.cnt > 0) AS ind_delivered,
       coalesce(sum(pu.val) FILTER (WHERE ps.delivered), 0) AS val_delivered,
       count(*) FILTER (WHERE ps.was_read AND pu.cnt > 0) AS ind_read,
       coalesce(sum(pu.val) FILTER (WHERE ps.was_read), 0) AS val_read
FROM pu
LEFT JOIN ps ON ps.contact_id = pu.contact_id
LEFT JOIN replied AS r ON r.contact_id = pu.contact_id
GROUP BY pu.arm ORDER BY pu.arm
"""

CUMULATIVE = """
WITH cohorts AS (
    SELECT arm, assigned_at,
           date_diff('second', assigned_at, first_ts) // 86400 + 1 AS first_day, count(*) AS n
    FROM pu GROUP BY ALL
),
days AS (SELECT unnest(range(1, CAST($window_days AS INTEGER) + 1)) AS day)
SELECT c.arm, d.day, sum(c.n) AS units, coalesce(sum(c.n) FILTER (WHERE c.first_day <= d.day), 0) AS ind_sum
FROM cohorts AS c JOIN days AS d ON c.assigned_at + INTERVAL (CAST(d.day AS INTEGER)) DAY <= $as_of
GROUP BY ALL ORDER BY ALL
"""

WINDOW_SHARE = """
SELECT arm, count(*) AS messages,
       count(*) FILTER (WHERE template IS NOT NULL AND category <> 'service') AS template_messages,
       count(*) FILTER (WHERE template IS NULL OR category = 'service') AS session_messages,
       count(*) FILTER (WHERE last_inbound_at > sent_at - INTERVAL 24 HOUR) AS in_window_messages
FROM s GROUP BY arm ORDER BY arm
"""

BREAKDOWN = """
-- units exposed to each sender / template, and those of them with each signal (sig holds
-- one row per unit and kind, so a count of joined rows counts units)
WITH exposed AS MATERIALIZED (
    SELECT DISTINCT contact_id, arm, 'sender' AS dimension, sender_id AS value FROM s
    UNION ALL
    SELECT DISTINCT contact_id, arm, 'template' AS dimension, template AS value FROM s
),
units AS (SELECT arm, dimension, value, count(*) AS units FROM exposed GROUP BY ALL),
events AS (
    SELECT e.arm, e.dimension, e.value, g.kind, count(*) AS n
    FROM exposed AS e JOIN sig AS g ON g.contact_id = e.contact_id GROUP BY ALL
)
SELECT u.arm, u.dimension, u.value, u.units,
       coalesce(max(v.n) FILTER (WHERE v.kind = 'block'), 0) AS block,
       coalesce(max(v.n) FILTER (WHERE v.kind = 'report'), 0) AS report,
       coalesce(max(v.n) FILTER (WHERE v.kind = 'opt_out'), 0) AS opt_out
FROM units AS u
LEFT JOIN events AS v ON v.arm = u.arm AND v.dimension = u.dimension AND v.value = u.value
GROUP BY ALL ORDER BY ALL
"""

MESSAGING_LIMIT = """
-- unique contacts delivered to outside a service window in any moving 24 hours: a contact
-- counts at t while t lies in an island of overlapping [send, send + 24h] covers
WITH d AS (
    SELECT m.contact_id, m.sent_at
    FROM messages AS m
    ASOF LEFT JOIN inbound AS i
        ON i.contact_id = m.contact_id AND i.channel = m.channel
       AND i.sender_id = m.sender_id AND m.sent_at >= i.ts
    WHERE m.sender_id = $sender_id AND m.sent_at >= $since AND m.sent_at <= $as_of
      AND m.message_id IN (SELECT message_id FROM message_events WHERE status IN ('delivered', 'read'))
      AND (i.ts IS NULL OR i.ts <= m.sent_at - INTERVAL 24 HOUR)
),
marked AS (
    SELECT sent_at,
           coalesce(lag(sent_at) OVER w < sent_at - INTERVAL 24 HOUR, true) AS opens,
           coalesce(lead(sent_at) OVER w > sent_at + INTERVAL 24 HOUR, true) AS closes
    FROM d WINDOW w AS (PARTITION BY contact_id ORDER BY sent_at)
),
sweep AS (
    SELECT moment, phase, sum(delta) AS delta FROM (
        SELECT sent_at AS moment, 0 AS phase, 1 AS delta FROM marked WHERE opens
        UNION ALL SELECT sent_at, 1, 0 FROM marked
        UNION ALL SELECT sent_at + INTERVAL 24 HOUR, 2, -1 FROM marked WHERE closes
    ) GROUP BY ALL
),
rolling AS (
    SELECT moment, phase, sum(delta) OVER (ORDER BY moment, phase ROWS UNBOUNDED PRECEDING) AS n
    FROM sweep
)
SELECT max(n) AS peak, arg_max(moment, n) AS peak_at FROM rolling WHERE phase = 1
"""

TIER = """
SELECT messaging_limit_tier FROM sender_quality
WHERE sender_id = $sender_id AND messaging_limit_tier IS NOT NULL AND ts <= $peak_at
ORDER BY ts DESC LIMIT 1
"""

COST = """
-- price every send: a WhatsApp message is billed when delivered and the webhook did not
-- say billable = false; market from the E.164 calling code; rate by date
WITH codes AS (SELECT unnest($codes) AS code, unnest($regions) AS region),
digits AS (
    SELECT contact_id, min(regexp_replace(address, '[^0-9]', '', 'g')) AS digits
    FROM identities
    WHERE channel = $channel AND starts_with(address, '+')
      AND contact_id IN (SELECT contact_id FROM ps)
    GROUP BY contact_id
),
rates AS (
    SELECT market, category, price, currency, valid_from,
           lead(valid_from) OVER (PARTITION BY market, category ORDER BY valid_from) AS valid_to
    FROM rate_card WHERE channel = $channel
),
priced AS (
    SELECT s.arm, coalesce(s.pricing_category, s.category) AS category,
           coalesce(c3.region, c2.region, c1.region, ct.market) AS market, s.sent_at,
           s.delivered_at IS NOT NULL AND coalesce(s.billable, true) AS billed
    FROM s
    LEFT JOIN digits AS d ON d.contact_id = s.contact_id
    LEFT JOIN codes AS c1 ON c1.code = substr(d.digits, 1, 1)
    LEFT JOIN codes AS c2 ON c2.code = substr(d.digits, 1, 2)
    LEFT JOIN codes AS c3 ON c3.code = substr(d.digits, 1, 3)
    LEFT JOIN contacts AS ct ON ct.contact_id = s.contact_id
)
SELECT p.arm, p.category, r.currency, count(*) AS messages,
       count(*) FILTER (WHERE p.billed) AS messages_billed,
       coalesce(fsum(r.price) FILTER (WHERE p.billed), 0.0) AS cost
FROM priced AS p
LEFT JOIN rates AS r
  ON r.market = p.market AND r.category = p.category
 AND p.sent_at >= r.valid_from AND (r.valid_to IS NULL OR p.sent_at < r.valid_to)
GROUP BY ALL ORDER BY ALL
"""

TEMPLATES = """
SELECT template, count(*) AS messages FROM messages
WHERE experiment_id = $experiment_id AND template IS NOT NULL GROUP BY ALL ORDER BY ALL
"""

SENDER_QUALITY = """
-- the sender's last quality row before the week ahead of assignment, and every row since
SELECT least(1, (SELECT count(*) FROM sender_quality WHERE sender_id = $sender_id AND ts < $quality_since))
       + (SELECT count(*) FROM sender_quality
          WHERE sender_id = $sender_id AND ts >= $quality_since AND ts <= $as_of) AS count_star
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _sums(row: dict[str, Any]) -> dict[str, float]:
    keys = ("units", "ind_sum", "val_sum", "val_sq", "cnt_sum", "cnt_sq", "val_cnt",
            "pre_val_sum", "pre_val_sq", "val_pre_val")
    return {k: float(row[k] or 0) for k in keys}


def floor(data: Path, experiment: Any, as_of: datetime) -> dict[str, Any]:
    """Every section's numbers for the bench experiment, by hand-written SQL."""
    from threadlift.core import stats
    from threadlift.core.markets import calling_code_markets
    from threadlift.core.moments import SufficientStats, proportion_stats

    con = duckdb.connect(str(data / "workspace.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    control = experiment.control_arm
    treatments = [a.name for a in experiment.arms if a.name != control]
    codes, regions = calling_code_markets()
    params: dict[str, Any] = {
        "experiment_id": experiment.id, "as_of": as_of, "window_days": experiment.window_days,
        "action": experiment.metrics[0].action, "cuped_days": CUPED_DAYS,
        "channel": experiment.channel, "sender_id": experiment.sender_id,
        "since": experiment.assigned_at - timedelta(days=1),
        "quality_since": experiment.assigned_at - timedelta(days=7), "codes": codes, "regions": regions,
    }
    out: dict[str, Any] = {}
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        steps[name] = now - started
        started = now

    for name, statement in (("units", UNITS), ("per-unit outcomes", PER_UNIT), ("signals", SIGNALS),
                            ("sends", SENDS), ("per-unit sends", PER_UNIT_SENDS)):
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
        step(name)

    # units, metrics (CUPED), balance, guardrails, SRM
    per_arm = {str(r["arm"]): _sums(r) for r in _rows(con, SUMS.format(key="''"), params)}
    counts = {(str(r[0]), str(r[1])): int(r[2]) for r in
              con.execute("SELECT arm, kind, count(*) FROM sig GROUP BY ALL").fetchall()}
    for arm, sums in per_arm.items():
        sums.update({k: float(counts.get((arm, k), 0)) for k in GUARDRAIL_KINDS})
    core = _stats_from_sums(experiment, per_arm)
    out["arms"] = {arm: int(s["units"]) for arm, s in per_arm.items()}
    out["metrics"] = core["metrics"]
    out["guardrails"] = core["guardrails"]
    out["srm_pvalue"] = core["srm_pvalue"]
    out["balance"] = {arm: s["pre_val_sum"] / s["units"] for arm, s in per_arm.items()}

    step("core sums and tests")
    # funnel and take-up (complier: the ITT effect over the treatment arm's take-up share)
    funnel = {str(r["arm"]): r for r in _rows(con, FUNNEL, params)}
    out["funnel"] = {
        arm: [int(r[k]) for k in ("units", "sent", "delivered", "read", "replied", "failed", "converted")]
        for arm, r in funnel.items()
    }
    complier: dict[str, float] = {}
    for arm in treatments:
        for stage, key in (("delivered", "delivered"), ("read", "read")):
            for metric in experiment.metrics:
                if metric.type == "ratio":
                    continue
                value = "ind" if metric.type == "proportion" else "val"
                main = {a: (per_arm[a]["ind_sum"], per_arm[a]["ind_sum"]) if value == "ind"
                        else (per_arm[a]["val_sum"], per_arm[a]["val_sq"]) for a in (control, arm)}
                estimate = stats.complier_effect(*(
                    SufficientStats(
                        units=int(per_arm[a]["units"]), main_sum=main[a][0], main_sum_squares=main[a][1],
                        denominator_sum=float(funnel[a][key]), denominator_sum_squares=float(funnel[a][key]),
                        main_denominator_sum_product=float(funnel[a][f"{value}_{key}"]),
                    ) for a in (control, arm)), alpha=experiment.alpha)
                complier[f"{metric.name}:{arm}:{stage}"] = estimate.effect_size
    out["complier"] = complier

    step("funnel and take-up")
    # cumulative conversion by day since assignment
    daily = {(str(r["arm"]), int(r["day"])): r for r in _rows(con, CUMULATIVE, params)}
    cumulative: dict[str, list[float]] = {}
    for arm in treatments:
        for day in range(1, experiment.window_days + 1):
            c, t = daily.get((control, day)), daily.get((arm, day))
            if c is None or t is None:
                continue
            test = stats.compare("proportion", proportion_stats(int(c["units"]), float(c["ind_sum"])),
                                 proportion_stats(int(t["units"]), float(t["ind_sum"])),
                                 alpha=experiment.alpha)
            cumulative[f"{arm}:{day}"] = [int(c["units"] + t["units"]), test.effect_size]
    out["cumulative"] = cumulative

    step("cumulative")
    # segments: market and pre-period activity, each segment compared as the whole experiment
    segments: dict[str, Any] = {}
    for dimension, key in (("market", "market"), ("pre_period_activity", ACTIVITY)):
        cells: dict[str, dict[str, dict[str, float]]] = {}
        for r in _rows(con, SUMS.format(key=key), params):
            sums = _sums(r)
            sums.update(dict.fromkeys(GUARDRAIL_KINDS, 0.0))
            cells.setdefault(str(r["segment"]), {})[str(r["arm"])] = sums
        for segment, cell in cells.items():
            if len(cell) < len(experiment.arms) or min(s["units"] for s in cell.values()) < 100:
                continue  # pooled into "other" by the report; compared there only by units
            tests = _stats_from_sums(experiment, cell)["metrics"]
            for name, value in tests.items():
                segments[f"{dimension}:{segment}:{name}"] = value
    out["segments"] = segments

    step("segments")
    out["window_share"] = {str(r["arm"]): [int(v) for v in list(r.values())[1:]]
                           for r in _rows(con, WINDOW_SHARE, params)}
    step("window share")
    out["guardrail_breakdown"] = {
        f"{r['arm']}:{r['dimension']}:{r['value']}:{kind}": [int(r["units"]), int(r[kind])]
        for r in _rows(con, BREAKDOWN, params) for kind in ("block", "report", "opt_out")
    }
    step("guardrail breakdown")
    peak = _rows(con, MESSAGING_LIMIT, params)[0]
    tier = con.execute(TIER, {"sender_id": experiment.sender_id, "peak_at": peak["peak_at"]}).fetchall()
    out["messaging_limits"] = [int(peak["peak"]), peak["peak_at"].isoformat(), tier[0][0] if tier else None]
    step("messaging limits")
    out["cost"] = {f"{r['arm']}:{r['category']}:{r['currency']}": [int(r["messages"]), int(r["messages_billed"]),
                                                                   float(r["cost"])]
                   for r in _rows(con, COST, params)}
    step("cost")
    out["templates"] = {str(r["template"]): int(r["messages"]) for r in _rows(con, TEMPLATES, params)}
    out["sender_quality"] = int(_rows(con, SENDER_QUALITY, params)[0]["count_star"])
    step("quality")
    con.close()
    out["steps"] = steps
    return out


def _close(a: Any, b: Any, tolerance: float = 1e-9) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if not (math.isfinite(a) and math.isfinite(b)):
            return True  # report.json writes non-finite values as null; both sides checked above
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
    return bool(a == b)


def compare(floor_numbers: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Where the floor's numbers differ from ``report.json``'s (empty: they agree)."""
    problems: list[str] = []

    def check(what: str, mine: Any, theirs: Any) -> None:
        if isinstance(mine, list):
            if not isinstance(theirs, list) or len(mine) != len(theirs):
                problems.append(f"{what}: floor {mine} vs report {theirs}")
                return
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                check(f"{what}[{i}]", a, b)
        elif not _close(mine, theirs):
            problems.append(f"{what}: floor {mine} vs report {theirs}")

    for row in report["arms"]:
        check(f"arms {row['arm']}", floor_numbers["arms"].get(row["arm"]), row["units"])
    for row in report["metrics"]:
        check(f"metric {row['metric']}:{row['arm']}", floor_numbers["metrics"][f"{row['metric']}:{row['arm']}"],
              [row["effect_size"], row["pvalue"]])
    for row in report["guardrails"]:
        check(f"guardrail {row['guardrail']}", floor_numbers["guardrails"][f"{row['guardrail']}:{row['arm']}"],
              [row["effect_size"], row["pvalue"]])
    check("srm", floor_numbers["srm_pvalue"], report["srm"]["pvalue"])
    for row in report["balance"]:
        check(f"balance {row['arm']}", [floor_numbers["balance"][row["control_arm"]],
                                        floor_numbers["balance"][row["arm"]]],
              [row["control_mean"], row["treatment_mean"]])
    for row in report["funnel"]:
        check(f"funnel {row['arm']}", floor_numbers["funnel"][row["arm"]],
              [row[k] for k in ("units", "sent", "delivered", "read", "replied", "failed", "converted")])
    for row in report["complier"]:
        check(f"complier {row['metric']}:{row['arm']}:{row['stage']}",
              floor_numbers["complier"].get(f"{row['metric']}:{row['arm']}:{row['stage']}"), row["effect_size"])
    check("complier rows", len(floor_numbers["complier"]), len(report["complier"]))
    for row in report["cumulative"]:
        check(f"cumulative {row['arm']}:{row['day']}", floor_numbers["cumulative"].get(f"{row['arm']}:{row['day']}"),
              [row["units"], row["effect_size"]])
    check("cumulative rows", len(floor_numbers["cumulative"]), len(report["cumulative"]))
    compared = 0
    for row in report["segments"]:
        key = f"{row['dimension']}:{row['segment']}:{row['metric']}:{row['arm']}"
        if key in floor_numbers["segments"]:
            compared += 1
            check(f"segment {key}", floor_numbers["segments"][key], [row["effect_size"], row["pvalue"]])
    check("segments compared", compared, len(floor_numbers["segments"]))
    for row in report["window_share"]:
        check(f"window share {row['arm']}", floor_numbers["window_share"][row["arm"]],
              [row[k] for k in ("messages", "template_messages", "session_messages", "in_window_messages")])
    for row in report["guardrail_breakdown"]:
        check(f"breakdown {row['arm']}:{row['dimension']}:{row['value']}:{row['kind']}",
              floor_numbers["guardrail_breakdown"].get(f"{row['arm']}:{row['dimension']}:{row['value']}:{row['kind']}"),
              [row["units"], row["events"]])
    check("breakdown rows", len(floor_numbers["guardrail_breakdown"]), len(report["guardrail_breakdown"]))
    limit = report["messaging_limits"][0]
    check("messaging limit", floor_numbers["messaging_limits"],
          [limit["peak_unique_contacts"], limit["peak_at"], limit["messaging_limit_tier"]])
    for row in report["cost"]:
        check(f"cost {row['arm']}:{row['category']}", floor_numbers["cost"].get(
            f"{row['arm']}:{row['category']}:{row['currency']}"),
            [row["messages"], row["messages_billed"], row["cost"]])
    check("cost rows", len(floor_numbers["cost"]), len(report["cost"]))
    templates = report["template_quality"].get("templates", [])
    for row in templates:
        check(f"template {row['template']}", floor_numbers["templates"].get(row["template"]), row["messages"])
    check("sender quality rows", floor_numbers["sender_quality"], len(report["sender_quality"]))
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a scale-bench size directory (lake/ and workspace.duckdb)")
    parser.add_argument("--out", type=Path, required=True, help="write the floor's numbers here (JSON)")
    args = parser.parse_args()
    from threadlift.experiment import load_experiment

    experiment = load_experiment(args.data / "lake" / "experiment.toml")
    as_of = experiment.assigned_at + timedelta(days=experiment.window_days + 1)
    started = time.perf_counter()
    numbers = floor(args.data, experiment, as_of)
    numbers["seconds"] = time.perf_counter() - started
    args.out.write_text(json.dumps(numbers, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
