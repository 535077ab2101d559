-- purpose: whether a consent event is for the experiment's channel and a scope covering
--          its category (the category itself or 'all').
-- grain:   a scalar TEMP macro, _tl_consent_matches(channel, scope, wanted_channel,
--          wanted_category), inlined where it is used.
-- params:  none.
CREATE OR REPLACE TEMP MACRO _tl_consent_matches(channel, scope, wanted_channel, wanted_category) AS
    channel = CAST(wanted_channel AS VARCHAR)
    AND scope IN (CAST(wanted_category AS VARCHAR), 'all')
