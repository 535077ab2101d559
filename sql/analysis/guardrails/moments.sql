-- purpose: per-arm counts of units that showed each guardrail signal inside their window,
--          on each channel the arm is read on.
-- grain:   one row per (arm, channel, kind) with at least one unit; a unit counts once per
--          channel and kind.
-- params:  none. needs: temp table _signals from analysis/guardrails/signals.sql.
-- For a proportion, sum = sum of squares, so ind_sum is the whole sufficient statistic.
SELECT arm, channel, kind, CAST(count(*) AS DOUBLE) AS ind_sum
FROM _signals
GROUP BY arm, channel, kind
ORDER BY arm, channel, kind
