-- purpose: whether eligibility_state still matches the canonical tables: the current
--          checksum of each source, the sources that changed since the state was built,
--          and recording the checksums a rebuild matches (threadlift.assign.eligibility).
-- grain:   named statements, each with its own grain below.
-- params:  none.

-- statement: current
-- Row count and checksum of each source of the eligibility state, to tell whether
-- eligibility_state still matches the canonical tables (any insert, delete or
-- update of an eligibility column changes a checksum, up to a 64-bit hash collision).
-- The events are those the state is built from (sql/assign/_eligibility_events.sql),
-- so a change to what counts as an event changes what is fingerprinted too.
-- grain:   writes TEMP TABLE _tl_state_checksums(source, rows, checksum): one row per
--          source with rows: contacts (always), consents, feedback, stops (131050 failures
--          joined to their messages). A source without events has no row
--          (`stale` compares both ways).
-- params:  none.
CREATE OR REPLACE TEMP TABLE _tl_state_checksums AS
SELECT 'contacts' AS source, count(*) AS rows,
       coalesce(sum(hash(contact_id)), 0) AS checksum
FROM contacts
UNION ALL
SELECT source, count(*), sum(hash(contact_id, kind, channel, sender_id, scope, ts))
FROM (
    -- include: assign/_eligibility_events
) AS e
GROUP BY source;

-- statement: stale
-- The sources whose current checksum differs from the one eligibility_state was
-- built with (empty: the state matches the canonical tables). A source present on
-- one side only (emptied, or never recorded) is stale too.
-- grain:   one row per stale source (every source before the first build).
-- reads:   temp table _tl_state_checksums (`current`),
--          eligibility_state_sources.
-- params:  none.
SELECT coalesce(c.source, r.source) AS source
FROM _tl_state_checksums AS c
FULL OUTER JOIN eligibility_state_sources AS r ON r.source = c.source
WHERE c.source IS NULL OR r.source IS NULL OR r.rows <> c.rows OR r.checksum <> c.checksum
ORDER BY 1;

-- statement: forget
-- Forget the recorded source checksums (before recording new ones, or when the
-- state can no longer be trusted).
-- grain:   deletes every row of eligibility_state_sources.
-- params:  none.
DELETE FROM eligibility_state_sources;

-- statement: record
-- Record the source checksums eligibility_state now matches (after `forget`).
-- grain:   one row per source.
-- reads:   temp table _tl_state_checksums (`current`).
-- params:  none.
INSERT INTO eligibility_state_sources
SELECT source, rows, checksum FROM _tl_state_checksums;
