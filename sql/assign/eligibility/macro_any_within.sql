-- purpose: whether any time of an eligibility_state list lies in [low, high] (false for a
--          NULL list).
--          A one-element list (the common case) is read directly; only longer lists run
--          a lambda over their elements.
-- grain:   defines a temp scalar macro; no rows.
-- reads:   nothing.
-- params:  none bound; the arguments are an eligibility_state list column and the
--          experiment's window (evaluation time minus the feedback days, evaluation time).
CREATE OR REPLACE TEMP MACRO _tl_any_within(times, low, high) AS
    CASE
        WHEN times IS NULL THEN false
        WHEN len(times) = 1 THEN coalesce(times[1] >= low AND times[1] <= high, false)
        ELSE coalesce(list_bool_or(list_transform(times, lambda t: t <= high AND t >= low)), false)
    END
