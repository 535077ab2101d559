-- purpose: remove an experiment's assignments once archived (new version of its design).
-- grain:   deletes every assignments row of the experiment.
-- params:  $experiment_id VARCHAR.
DELETE FROM assignments WHERE experiment_id = CAST($experiment_id AS VARCHAR)
