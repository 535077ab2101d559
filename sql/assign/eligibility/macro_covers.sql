-- purpose: whether an event's sender covers the experiment's sender: a NULL sender on
--          either side covers every sender (sql/assign/evaluate.sql's covers_sender).
-- grain:   a scalar TEMP macro, _tl_covers(sender_id, wanted), inlined where it is used.
-- params:  none.
CREATE OR REPLACE TEMP MACRO _tl_covers(sender_id, wanted) AS
    CAST(wanted AS VARCHAR) IS NULL OR sender_id IS NULL OR sender_id = CAST(wanted AS VARCHAR)
