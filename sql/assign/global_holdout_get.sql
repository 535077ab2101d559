-- purpose: the workspace's global holdout setting.
-- grain:   at most one row.
-- params:  none.
SELECT salt, basis_points, set_at FROM global_holdout ORDER BY set_at DESC LIMIT 1
