-- purpose: units per arm of the analysed experiment.
-- grain:   one row per arm present in _units.
-- params:  none. needs: temp table _units from analysis/units/units.sql.
SELECT arm, count(*) AS units FROM _units GROUP BY arm ORDER BY arm
