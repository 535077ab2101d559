-- purpose: the last consent event (grant or revoke) of an eligibility_state list that is at or
--          before `at_time` and covers the wanted channel, category and sender; NULL when none.
--          A one-element list (the common case) is read directly; only longer lists run
--          a lambda over their elements.
-- grain:   defines a temp scalar macro; no rows.
-- reads:   temp macros _tl_consent_matches and _tl_covers (sql/assign/eligibility/macro_*.sql).
-- params:  none bound; the arguments are an eligibility_state list column and the
--          experiment's channel, category, sender and evaluation time.
CREATE OR REPLACE TEMP MACRO _tl_last_consent(
    events, at_time, wanted_channel, wanted_category, wanted_sender
) AS
    CASE
        WHEN events IS NULL THEN NULL
        WHEN len(events) = 1 THEN
            CASE WHEN events[1].ts <= at_time
                      AND _tl_consent_matches(events[1].channel, events[1].scope,
                                              wanted_channel, wanted_category)
                      AND _tl_covers(events[1].sender_id, wanted_sender)
                 THEN events[1].ts END
        ELSE list_max(list_transform(events, lambda x:
            CASE WHEN x.ts <= at_time
                      AND _tl_consent_matches(x.channel, x.scope, wanted_channel, wanted_category)
                      AND _tl_covers(x.sender_id, wanted_sender)
                 THEN x.ts END))
    END
