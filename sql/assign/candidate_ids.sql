-- purpose: every contact id whose eligibility `assign` decides for one experiment (what
--          the API precomputes): every workspace contact, every contact already assigned
--          to it, and every id its audience returns. Any other id is not_in_audience by
--          sql/assign/evaluate.sql's first rule, so the API answers it from its bucket alone.
-- grain:   one row per distinct contact_id.
-- reads:   contacts, assignments, temp view _tl_audience (created just before by
--          threadlift.assign.assignment.candidate_ids for this experiment).
-- params:  $experiment_id VARCHAR.
SELECT contact_id FROM contacts WHERE contact_id IS NOT NULL
UNION
SELECT contact_id FROM assignments WHERE experiment_id = CAST($experiment_id AS VARCHAR)
UNION
SELECT contact_id FROM _tl_audience
