-- purpose: per-arm counts of units that showed each guardrail signal inside their window.
-- grain:   one row per (arm, kind) with at least one unit; a unit counts once per kind.
-- params:  none. needs: temp table _signals from analysis/guardrails/signals.sql.
-- For a proportion, sum = sum of squares, so ind_sum is the whole sufficient statistic.
SELECT arm, kind, CAST(count(*) AS DOUBLE) AS ind_sum
FROM _signals
GROUP BY arm, kind
ORDER BY arm, kind
