-- purpose: mark the contacts whose eligibility needs more than their first consent grant.
--          `eventful` is true when a contact has a further grant, a revoke, a 131050 stop
--          or feedback; sql/eligibility/verdicts.sql judges the others (most contacts) from
--          the grant columns alone and reads lists only for these. Rebuilds keep the
--          eventful rows together (sql/eligibility/insert_rows.sql orders by it), so the
--          scans for either kind skip the other's row groups.
-- grain:   eligibility_state as in 005_eligibility_state.sql, plus `eventful`.
-- params:  none. Applied once by threadlift.workspace when schema_version < 6. The state
--          is derived data: it is emptied with its recorded checksums, so the next `load`
--          or `assign` rebuilds it from the canonical tables.

DROP TABLE IF EXISTS eligibility_state;

CREATE TABLE eligibility_state (
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
    feedback TIMESTAMP[],             -- block / report / opt_out times, any channel
    eventful BOOLEAN NOT NULL         -- any of the four lists above is present
);

DELETE FROM eligibility_state_sources;
