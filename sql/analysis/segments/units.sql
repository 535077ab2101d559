-- purpose: each analysed unit's segment in every segment dimension of the report, fixed
--          before treatment: the contact's market, its pre-period activity, or a label
--          from _segment_labels (a contacts column or the experiment's segment query, read
--          as of assigned_at by threadlift.analysis.segments). A unit without a label is in
--          segment 'unknown'. create builds the built-in dimensions (every engine); on
--          DuckDB, conflicts and labelled then add one declared dimension at a time.
-- grain:   one row per (unit, dimension) in temp table _segment_units.
-- params:  per statement, below; values always bound.
-- needs:   temp table _units from analysis/units/units.sql.

-- statement: create
-- params:  $market_dimensions VARCHAR[] (the dimensions by the contact's market: an
--          attribute of contacts without history, known before assignment);
--          $activity_dimensions VARCHAR[] (the pre-period activity dimensions);
--          $action_list VARCHAR[] (the metrics' actions); $lookback INTEGER (days before each
--          unit's own assigned_at: the longest cuped_days, the window of CUPED's covariates).
-- Pre-period activity: none (no action in [assigned_at - lookback, assigned_at)), some
-- (one), frequent (two or more).
CREATE OR REPLACE TEMP TABLE _segment_units AS
WITH market_dimensions AS (
    SELECT DISTINCT unnest($market_dimensions) AS dimension
),
activity_dimensions AS (
    SELECT DISTINCT unnest($activity_dimensions) AS dimension
),
markets AS (
    SELECT contact_id, min(market) AS market FROM contacts GROUP BY contact_id
),
counts AS (
    SELECT u.contact_id, count(*) AS actions
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE list_contains($action_list, a.action)
      AND a.ts >= u.assigned_at - to_days(CAST($lookback AS INTEGER))
      AND a.ts < u.assigned_at
    GROUP BY u.contact_id
)
SELECT
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.window_end,
    CAST(d.dimension AS VARCHAR) AS dimension,
    coalesce(m.market, 'unknown') AS segment
FROM _units AS u
CROSS JOIN market_dimensions AS d
LEFT JOIN markets AS m ON m.contact_id = u.contact_id
UNION ALL
SELECT
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.window_end,
    CAST(d.dimension AS VARCHAR) AS dimension,
    CASE
        WHEN c.actions IS NULL THEN 'none'
        WHEN c.actions = 1 THEN 'some'
        ELSE 'frequent'
    END AS segment
FROM _units AS u
CROSS JOIN activity_dimensions AS d
LEFT JOIN counts AS c ON c.contact_id = u.contact_id

-- statement: conflicts
-- params:  none.
-- reads:   temp table _segment_labels(contact_id, segment) of one dimension.
-- The analysed units the labels give more than one segment (a unit is in one segment).
SELECT count(*) AS units
FROM (
    SELECT l.contact_id
    FROM _segment_labels AS l
    JOIN _units AS u ON u.contact_id = l.contact_id
    GROUP BY l.contact_id
    HAVING count(DISTINCT l.segment) > 1
) AS repeated

-- statement: labelled
-- params:  $dimension VARCHAR.
-- reads:   temp table _segment_labels(contact_id, segment) of this dimension (one segment
--          per unit: see conflicts).
INSERT INTO _segment_units
SELECT
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.window_end,
    $dimension AS dimension,
    coalesce(l.segment, 'unknown') AS segment
FROM _units AS u
LEFT JOIN (
    SELECT contact_id, min(segment) AS segment FROM _segment_labels GROUP BY contact_id
) AS l ON l.contact_id = u.contact_id
