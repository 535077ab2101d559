-- purpose: whether the experiment's sends are tagged with its id (only tagged ones reach
--          the funnel, take-up, cost and window sections): `any_tagged` asks _sends, and
--          only when it is empty does `untagged` count the messages to its units inside
--          their windows that carry no experiment_id (a sends export loaded without that
--          column), so a report with tagged sends scans messages no further.
-- grain:   named statements, each with its own grain below.
-- params:  per statement, below.

-- statement: any_tagged
-- Whether any tagged send of the experiment falls inside a unit's window.
-- grain:   one row, one boolean.
-- needs:   temp table _sends from analysis/units/sends.sql.
-- params:  none.
SELECT EXISTS (SELECT 1 FROM _sends) AS any_tagged;

-- statement: untagged
-- Messages to the experiment's units inside their windows that carry no experiment_id.
-- grain:   one row: untagged.
-- needs:   temp table _units from analysis/units/units.sql.
-- params:  none.
SELECT count(*) AS untagged
FROM _units AS u
JOIN messages AS m ON m.contact_id = u.contact_id
WHERE m.experiment_id IS NULL
  AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end;
