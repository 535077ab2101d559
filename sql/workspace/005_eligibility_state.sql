-- purpose: the per-contact eligibility state `assign` reads instead of aggregating the
--          event logs: for every contact id seen in contacts, consents, feedback or a
--          131050 failure, whether it is a workspace contact and every eligibility event
--          about it (consent grants and revokes, marketing-stop failures, feedback times),
--          so eligibility at any time is computed from one row. Maintained by
--          threadlift.assign.eligibility (load updates the contacts it touched; `assign`
--          rebuilds it when the checksums of its sources no longer match).
-- grain:   eligibility_state: one row per contact_id;
--          eligibility_state_sources: one row per source (contacts, consents, feedback,
--          stops) with the row count and checksum the state was built from.
-- readers: unaffected: only `assign` and `load` use these tables, and they open the workspace
--          read-write (so they migrate it first).
-- params:  none. Applied once by threadlift.workspace when schema_version < 5.

CREATE TABLE IF NOT EXISTS eligibility_state (
    contact_id VARCHAR NOT NULL,
    in_contacts BOOLEAN NOT NULL,     -- listed in contacts (the default audience)
    -- One consent grant in plain columns (most contacts have exactly one, and columns
    -- are far cheaper to test than list elements), the other grants in more_grants.
    grant_channel VARCHAR,
    grant_scope VARCHAR,
    grant_sender_id VARCHAR,
    grant_ts TIMESTAMP,
    more_grants STRUCT(channel VARCHAR, sender_id VARCHAR, scope VARCHAR, ts TIMESTAMP)[],
    revokes STRUCT(channel VARCHAR, sender_id VARCHAR, scope VARCHAR, ts TIMESTAMP)[],
    stops STRUCT(channel VARCHAR, sender_id VARCHAR, ts TIMESTAMP)[],   -- 131050 failures of its messages
    feedback TIMESTAMP[]              -- block / report / opt_out times, any channel
);

CREATE TABLE IF NOT EXISTS eligibility_state_sources (
    source VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    checksum HUGEINT NOT NULL         -- sum of hash() of the eligibility columns of its rows
);
