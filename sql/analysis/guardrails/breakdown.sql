-- purpose: guardrail rates among units that received each sender's / template's messages.
-- grain:   one row per (arm, dimension, value, kind); dimension 'sender' or 'template'.
--          units = units of the arm that received >= 1 of the experiment's messages from that
--          sender (with that template) inside their window; events = those with the signal.
-- params:  $kinds VARCHAR[].
-- needs:   temp tables _sends (analysis/units/sends.sql) and _signals.
-- A unit's signals are those on the channel of the messages that reached it.
-- One pass over the experiment's messages gives both dimensions; units per group are
-- counted once (not once per kind), and only the few exposed units with a signal are
-- joined to _signals.
WITH sends AS (
    SELECT DISTINCT contact_id, arm, channel, sender_id, template FROM _sends
),
exposed AS (
    SELECT DISTINCT contact_id, arm, channel, 'sender' AS dimension,
           coalesce(sender_id, '(none)') AS value
    FROM sends
    UNION ALL
    SELECT DISTINCT contact_id, arm, channel, 'template' AS dimension,
           coalesce(template, '(free-form)') AS value
    FROM sends
),
kinds AS (
    SELECT unnest($kinds) AS kind
),
exposed_units AS (
    SELECT arm, dimension, value, count(DISTINCT contact_id) AS units
    FROM exposed
    GROUP BY arm, dimension, value
),
exposed_events AS (
    SELECT e.arm, e.dimension, e.value, s.kind, count(DISTINCT e.contact_id) AS events
    FROM exposed AS e
    JOIN _signals AS s
      ON s.contact_id = e.contact_id AND s.arm = e.arm AND s.channel = e.channel
    GROUP BY e.arm, e.dimension, e.value, s.kind
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
