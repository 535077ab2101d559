-- purpose: remove the workspace's global holdout setting (before setting a new one).
-- grain:   deletes every row of global_holdout.
-- params:  none.
DELETE FROM global_holdout
