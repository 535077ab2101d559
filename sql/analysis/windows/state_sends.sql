-- purpose: per customer-service-window stratum at assignment and arm: units, and how the
--          experiment's in-window messages went out (free-form session messages vs
--          templates), the same classification as window_share.sql.
-- grain:   one row per (window_state, arm) present in _window_state.
-- params:  none.
-- needs:   temp tables _window_state (analysis/windows/state_units.sql) and _sends
--          (analysis/units/sends.sql).
WITH per_unit AS (
    SELECT
        contact_id,
        count(*) AS messages,
        count(*) FILTER (WHERE template IS NULL OR category = 'service') AS session_messages
    FROM _sends
    GROUP BY contact_id
)
SELECT
    w.window_state,
    w.arm,
    count(*) AS units,
    count(p.contact_id) AS units_sent,
    coalesce(sum(p.messages), 0) AS messages,
    coalesce(sum(p.session_messages), 0) AS session_messages,
    coalesce(sum(p.messages - p.session_messages), 0) AS template_messages
FROM _window_state AS w
LEFT JOIN per_unit AS p ON p.contact_id = w.contact_id
GROUP BY w.window_state, w.arm
ORDER BY w.window_state, w.arm
