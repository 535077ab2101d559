-- purpose: the programme's population: its everyone_else units, the scale every part's
--          contribution is expressed on (effect per unit of the programme's population).
-- grain:   one row, one column (units).
-- params:  none.
-- needs:   temp table _programme_holdout_units (analysis/programme/holdout_units.sql).
SELECT count(*) AS units FROM _programme_holdout_units WHERE arm = 'everyone_else'
