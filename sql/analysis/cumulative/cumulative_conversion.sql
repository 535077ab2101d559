-- purpose: cumulative conversion by day since each unit's own assignment, per arm.
-- grain:   one row per (arm, day), day = 1..$days. A unit counts on day d only when its
--          first d days are observable (assigned_at + d days <= $as_of); ind_sum counts those
--          units with an action in their first d days.
-- params:  $action VARCHAR, $days INTEGER, $as_of TIMESTAMP.
-- needs:   temp table _units from analysis/units/units.sql.
WITH days AS (
    SELECT unnest(range(1, CAST($days AS INTEGER) + 1)) AS day
),
first_day AS (
    SELECT
        u.arm,
        u.assigned_at,
        min(date_diff('second', u.assigned_at, a.ts)) // 86400 + 1 AS day
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE a.action = $action AND a.ts >= u.assigned_at AND a.ts < u.window_end
    GROUP BY u.contact_id, u.arm, u.assigned_at
),
cohorts AS (
    SELECT arm, assigned_at, count(*) AS units FROM _units GROUP BY arm, assigned_at
),
observable AS (
    SELECT c.arm, d.day, sum(c.units) AS units
    FROM cohorts AS c
    JOIN days AS d ON c.assigned_at + to_days(CAST(d.day AS INTEGER)) <= $as_of
    GROUP BY c.arm, d.day
),
converted AS (
    SELECT f.arm, d.day, CAST(count(*) AS DOUBLE) AS ind_sum
    FROM first_day AS f
    JOIN days AS d ON f.day <= d.day AND f.assigned_at + to_days(CAST(d.day AS INTEGER)) <= $as_of
    GROUP BY f.arm, d.day
)
SELECT o.arm, o.day, o.units, coalesce(c.ind_sum, 0.0) AS ind_sum
FROM observable AS o
LEFT JOIN converted AS c ON c.arm = o.arm AND c.day = o.day
ORDER BY o.arm, o.day
