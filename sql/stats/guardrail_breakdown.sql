-- purpose: guardrail rates among units that received each sender's / template's messages.
-- grain:   one row per (arm, dimension, value, kind); dimension 'sender' or 'template'.
--          units = units of the arm that received >= 1 of the experiment's messages from that
--          sender (with that template) inside their window; events = those with the signal.
-- params:  $experiment_id VARCHAR, $kinds VARCHAR[].
-- needs:   temp tables _units and _signals.
WITH exposed AS (
    SELECT DISTINCT u.contact_id, u.arm, 'sender' AS dimension, coalesce(m.sender_id, '(none)') AS value
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    WHERE m.experiment_id = $experiment_id AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
    UNION
    SELECT DISTINCT u.contact_id, u.arm, 'template' AS dimension, coalesce(m.template, '(free-form)') AS value
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    WHERE m.experiment_id = $experiment_id AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
),
kinds AS (
    SELECT unnest($kinds) AS kind
)
SELECT
    e.arm,
    e.dimension,
    e.value,
    k.kind,
    count(DISTINCT e.contact_id) AS units,
    count(DISTINCT s.contact_id) AS events
FROM exposed AS e
CROSS JOIN kinds AS k
LEFT JOIN _signals AS s ON s.contact_id = e.contact_id AND s.kind = k.kind
GROUP BY e.arm, e.dimension, e.value, k.kind
ORDER BY e.dimension, e.value, k.kind, e.arm
