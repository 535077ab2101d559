-- purpose: the programme's units judged by the assignment contract's eligibility rules
--          (sql/assign/evaluate.sql, written once) at several times, for the attrition
--          and drift checks: a unit eligible at the programme's start and not at a later
--          time has left the programme's reach (revoked consent, a marketing stop, a block,
--          report or opt-out).
-- grain:   named statements, each with its grain below.
-- params:  per statement, below.

-- statement: candidates
-- The candidates sql/assign/evaluate.sql judges: every programme unit, all in the audience.
-- grain:   one row per unit; writes TEMP VIEW _tl_candidates(contact_id, in_audience).
-- params:  none. needs: _programme_holdout_units (analysis/programme/holdout_units.sql).
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT contact_id, true AS in_audience FROM _programme_holdout_units;

-- statement: start
-- An empty table for the evaluations.
-- grain:   writes TEMP TABLE _programme_eligibility(step, contact_id, reason): one row per
--          (step, unit) once filled by #keep.
-- params:  none.
CREATE OR REPLACE TEMP TABLE _programme_eligibility (
    step INTEGER NOT NULL,
    contact_id VARCHAR NOT NULL,
    reason VARCHAR
);

-- statement: keep
-- Keep one evaluation (_tl_evaluation, just written by sql/assign/evaluate.sql) as step $step.
-- grain:   one row per unit, appended to _programme_eligibility; reason NULL when eligible.
-- params:  $step INTEGER.
INSERT INTO _programme_eligibility
SELECT CAST($step AS INTEGER), contact_id, reason FROM _tl_evaluation;

-- statement: attrition
-- Per arm: units, units eligible at step 0 (the programme's start), and of those the units
-- not eligible at step $last, by the first rule they fail then.
-- grain:   one row per (arm, reason); reason NULL on the row of the still eligible.
-- params:  $last INTEGER (the step evaluated at as_of).
SELECT
    u.arm,
    later.reason,
    count(*) AS units
FROM _programme_holdout_units AS u
JOIN _programme_eligibility AS first ON first.contact_id = u.contact_id AND first.step = 0
JOIN _programme_eligibility AS later
  ON later.contact_id = u.contact_id AND later.step = CAST($last AS INTEGER)
WHERE first.reason IS NULL
GROUP BY u.arm, later.reason
ORDER BY u.arm, later.reason NULLS FIRST;
