-- purpose: a unit's six outcome variables for one action, from its actions in the window
--          (ind: any action, val: the sum of their values, cnt: their number) and the same
--          three over the pre-period before assigned_at (pre_ind, pre_val, pre_cnt: CUPED's
--          covariates). threadlift.analysis.lift maps them to each metric type.
-- grain:   a fragment of a select list (no statement): the aggregates of one unit's group;
--          the including query groups by unit and action (analysis/lift/action_moments.sql,
--          action_moments_one_lookback.sql, analysis/windows/state_moments.sql).
-- reads:   columns ts, value, assigned_at of the including query's windowed actions (alias w).
-- params:  none.
CASE WHEN count(*) FILTER (WHERE w.ts >= w.assigned_at) > 0 THEN 1.0 ELSE 0.0 END AS ind,
coalesce(fsum(w.value) FILTER (WHERE w.ts >= w.assigned_at), 0.0) AS val,
CAST(count(*) FILTER (WHERE w.ts >= w.assigned_at) AS DOUBLE) AS cnt,
CASE WHEN count(*) FILTER (WHERE w.ts < w.assigned_at) > 0 THEN 1.0 ELSE 0.0 END AS pre_ind,
coalesce(fsum(w.value) FILTER (WHERE w.ts < w.assigned_at), 0.0) AS pre_val,
CAST(count(*) FILTER (WHERE w.ts < w.assigned_at) AS DOUBLE) AS pre_cnt
