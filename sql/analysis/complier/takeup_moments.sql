-- purpose: take-up (delivered, read) moments for complier (instrumental-variable) estimates.
-- grain:   one row per (arm, action): units that took up, and the outcome summed over them.
-- params:  $as_of TIMESTAMP, $actions VARCHAR[].
-- needs:   temp tables _units and _sends (analysis/units/sends.sql: its event times).
-- Take-up of a unit = at least one of the experiment's messages sent inside its window was
-- delivered (read implies delivered) / read, by status events up to as_of. Outcomes are
-- counted in the unit's window as in analysis/lift/action_moments.sql (ind = acted, val = value).
WITH takeup AS (
    SELECT
        contact_id,
        arm,
        coalesce(bool_or(delivered_at <= $as_of), false) AS delivered,
        coalesce(bool_or(read_at <= $as_of), false) AS was_read
    FROM _sends
    GROUP BY contact_id, arm
),
outcome AS (
    SELECT u.contact_id, a.action, 1.0 AS ind, coalesce(fsum(a.value), 0.0) AS val
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE list_contains($actions, a.action)
      AND a.ts >= u.assigned_at AND a.ts < u.window_end
    GROUP BY u.contact_id, a.action
),
arm_takeup AS (
    SELECT
        arm,
        CAST(count(*) FILTER (WHERE delivered) AS DOUBLE) AS delivered_units,
        CAST(count(*) FILTER (WHERE was_read) AS DOUBLE) AS read_units
    FROM takeup
    GROUP BY arm
),
arm_outcome AS (
    SELECT
        t.arm,
        o.action,
        coalesce(fsum(o.ind) FILTER (WHERE t.delivered), 0.0) AS ind_delivered_sum_product,
        coalesce(fsum(o.val) FILTER (WHERE t.delivered), 0.0) AS val_delivered_sum_product,
        coalesce(fsum(o.ind) FILTER (WHERE t.was_read), 0.0) AS ind_read_sum_product,
        coalesce(fsum(o.val) FILTER (WHERE t.was_read), 0.0) AS val_read_sum_product
    FROM takeup AS t
    JOIN outcome AS o ON o.contact_id = t.contact_id
    GROUP BY t.arm, o.action
),
arms AS (
    SELECT DISTINCT arm FROM _units
)
SELECT
    arms.arm,
    actions.action,
    coalesce(tk.delivered_units, 0.0) AS delivered_units,
    coalesce(tk.read_units, 0.0) AS read_units,
    coalesce(ao.ind_delivered_sum_product, 0.0) AS ind_delivered_sum_product,
    coalesce(ao.val_delivered_sum_product, 0.0) AS val_delivered_sum_product,
    coalesce(ao.ind_read_sum_product, 0.0) AS ind_read_sum_product,
    coalesce(ao.val_read_sum_product, 0.0) AS val_read_sum_product
FROM arms
CROSS JOIN (SELECT DISTINCT unnest($actions) AS action) AS actions
LEFT JOIN arm_takeup AS tk ON tk.arm = arms.arm
LEFT JOIN arm_outcome AS ao ON ao.arm = arms.arm AND ao.action = actions.action
ORDER BY arms.arm, actions.action
