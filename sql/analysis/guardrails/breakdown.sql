-- purpose: guardrail rates among units that received each sender's / template's messages.
-- grain:   one row per (arm, dimension, value, kind); dimension 'sender' or 'template'.
--          units = units of the arm that received >= 1 of the experiment's messages from that
--          sender (with that template) inside their window; events = those with the signal.
-- params:  $kinds VARCHAR[].
-- needs:   temp tables _sends (analysis/units/sends.sql) and _signals.
-- A unit's signals are those on the channel of the messages that reached it.
-- Units per group are counted from one distinct row per (unit, group), without the
-- channel, so a plain count counts units; only the few exposed units with a signal are
-- joined to _signals, on the channel of the messages that reached them.
WITH exposed AS (
    SELECT DISTINCT contact_id, arm, 'sender' AS dimension, coalesce(sender_id, '(none)') AS value
    FROM _sends
    UNION ALL
    SELECT DISTINCT contact_id, arm, 'template' AS dimension,
           coalesce(template, '(free-form)') AS value
    FROM _sends
),
kinds AS (
    SELECT unnest($kinds) AS kind
),
exposed_units AS (
    SELECT arm, dimension, value, count(*) AS units
    FROM exposed
    GROUP BY arm, dimension, value
),
signalled AS (
    SELECT DISTINCT s.contact_id, s.arm, s.channel, s.sender_id, s.template
    FROM _sends AS s
    WHERE s.contact_id IN (SELECT contact_id FROM _signals)
),
exposed_events AS (
    SELECT e.arm, e.dimension, e.value, g.kind, count(DISTINCT e.contact_id) AS events
    FROM (
        SELECT contact_id, arm, channel, 'sender' AS dimension,
               coalesce(sender_id, '(none)') AS value
        FROM signalled
        UNION ALL
        SELECT contact_id, arm, channel, 'template' AS dimension,
               coalesce(template, '(free-form)') AS value
        FROM signalled
    ) AS e
    JOIN _signals AS g
      ON g.contact_id = e.contact_id AND g.arm = e.arm AND g.channel = e.channel
    GROUP BY e.arm, e.dimension, e.value, g.kind
)
SELECT
    u.arm,
    u.dimension,
    u.value,
    k.kind,
    u.units,
    coalesce(v.events, 0) AS events
FROM exposed_units AS u
CROSS JOIN kinds AS k
LEFT JOIN exposed_events AS v
    ON v.arm = u.arm AND v.dimension = u.dimension AND v.value = u.value AND v.kind = k.kind
ORDER BY u.dimension, u.value, k.kind, u.arm
