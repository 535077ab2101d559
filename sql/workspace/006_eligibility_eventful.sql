-- purpose: mark the contacts whose eligibility needs more than their first consent grant.
--          `eventful` is true when a contact has a further grant, a revoke, a 131050 stop
--          or feedback; sql/assign/eligibility/verdicts.sql judges the others (most contacts) from
--          the grant columns alone and reads lists only for these. Rebuilds keep the
--          eventful rows together (sql/assign/eligibility/insert_rows.sql orders by it), so the
--          scans for either kind skip the other's row groups.
-- grain:   eligibility_state (005_eligibility_state.sql) gains `eventful BOOLEAN NOT NULL`.
-- readers: unaffected: only `assign` and `load` read eligibility_state, and they open the
--          workspace read-write (so they migrate it first).
-- params:  none. Applied once by threadlift.workspace when schema_version < 6. The state
--          is derived data: it is emptied with its recorded checksums, so the next `load`
--          or `assign` rebuilds it from the canonical tables (clustered).

DELETE FROM eligibility_state;

ALTER TABLE eligibility_state ADD COLUMN eventful BOOLEAN NOT NULL DEFAULT false;

-- No default: every writer states it (sql/assign/eligibility/insert_rows.sql).
ALTER TABLE eligibility_state ALTER COLUMN eventful DROP DEFAULT;

DELETE FROM eligibility_state_sources;
