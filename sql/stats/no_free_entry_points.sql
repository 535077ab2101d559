-- purpose: an empty _free_entry for engines whose data hold no message_referrals (a lake
--          of canonical tables): cost.sql then applies no free-entry-point rule, and the
--          analysis says so in its warnings.
-- grain:   creates temp table _free_entry(message_id) with no rows.
-- params:  none. needs: temp table _sends from outcomes/sends.sql.
CREATE OR REPLACE TEMP TABLE _free_entry AS
SELECT message_id FROM _sends WHERE false
