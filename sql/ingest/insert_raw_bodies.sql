-- purpose: append the new bodies of this call to the raw store.
-- grain:   one row per new distinct body.
-- params:  none. needs: temp view _bodies (bodies.sql).
INSERT INTO raw_bodies (platform, body_hash, received_at, source, location, body, ingested_at, seq)
SELECT platform, body_hash, received_at, source, location, body, now()::TIMESTAMP, seq
FROM _bodies;
