-- purpose: the last 131050 marketing stop of an eligibility_state list that is at or before
--          `at_time`, on the wanted channel and covering the wanted sender; NULL when none.
--          A one-element list (the common case) is read directly; only longer lists run
--          a lambda over their elements.
-- grain:   defines a temp scalar macro; no rows.
-- reads:   temp macro _tl_covers (sql/assign/eligibility/macro_covers.sql).
-- params:  none bound; the arguments are an eligibility_state list column and the
--          experiment's channel, sender and evaluation time.
CREATE OR REPLACE TEMP MACRO _tl_last_stop(events, at_time, wanted_channel, wanted_sender) AS
    CASE
        WHEN events IS NULL THEN NULL
        WHEN len(events) = 1 THEN
            CASE WHEN events[1].ts <= at_time
                      AND events[1].channel = CAST(wanted_channel AS VARCHAR)
                      AND _tl_covers(events[1].sender_id, wanted_sender)
                 THEN events[1].ts END
        ELSE list_max(list_transform(events, lambda x:
            CASE WHEN x.ts <= at_time AND x.channel = CAST(wanted_channel AS VARCHAR)
                      AND _tl_covers(x.sender_id, wanted_sender)
                 THEN x.ts END))
    END
