-- purpose: keep the programme's analysed units (temp table _units of
--          sql/analysis/units/units_global_holdout.sql) under their own name, so the
--          programme sections read them whatever later sections do to _units.
-- grain:   one row per contact_id; writes TEMP TABLE _programme_holdout_units
--          (contact_id, arm, assigned_at): arm is global_holdout or everyone_else.
-- params:  none.
-- needs:   temp table _units from analysis/units/units_global_holdout.sql.
CREATE OR REPLACE TEMP TABLE _programme_holdout_units AS
SELECT contact_id, arm, assigned_at FROM _units
