-- purpose: whether the experiment's sends are tagged: messages to its units inside
--          their windows, counted by whether they carry the experiment's id (only
--          tagged ones reach the funnel, take-up, cost and window sections) or none at all
--          (a sends export loaded without its experiment_id column).
-- grain:   one row: tagged, untagged.
-- params:  $experiment_id VARCHAR.
-- needs:   temp table _units from analysis/units/units.sql.
SELECT
    count(*) FILTER (WHERE m.experiment_id = $experiment_id) AS tagged,
    count(*) FILTER (WHERE m.experiment_id IS NULL) AS untagged
FROM _units AS u
JOIN messages AS m ON m.contact_id = u.contact_id
WHERE m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
