-- purpose: set the workspace's global holdout: contacts whose bucket under $salt is below
--          $basis_points are assigned to no experiment.
-- grain:   one row.
-- params:  $salt VARCHAR, $basis_points INTEGER, $set_at TIMESTAMP.
INSERT INTO global_holdout VALUES (CAST($salt AS VARCHAR), CAST($basis_points AS INTEGER), $set_at)
