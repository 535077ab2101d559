-- purpose: what the privacy commands keep (threadlift.privacy, docs/privacy.md): the record
--          of every erasure (`threadlift forget`), the content hashes of raw bodies erasure
--          dropped (so ingesting the same file again does not bring them back), the
--          retention policy (`threadlift retention set`) and the log of what `retention
--          apply` removed.
-- grain:   erasures: one row per `forget` run, without the identifier (a salted hash);
--          erased_bodies: one row per (platform, body_hash) dropped from raw_bodies;
--          retention_policy: at most one row (the current policy);
--          retention_log: one row per table and `retention apply` run that removed rows.
-- readers: unaffected: reports never read these tables; `ingest` (read-write) reads
--          erased_bodies.
-- params:  none. Applied once by threadlift.workspace when schema_version < 9.

CREATE TABLE IF NOT EXISTS erasures (
    erased_at TIMESTAMP NOT NULL,
    subject_hash VARCHAR NOT NULL,    -- sha256 of the workspace's erasure salt, ":" and the identifier
    reason VARCHAR,
    removed VARCHAR NOT NULL          -- JSON: table (or file) → rows / bodies removed or rewritten
);

CREATE TABLE IF NOT EXISTS erased_bodies (
    platform VARCHAR NOT NULL,
    body_hash UHUGEINT NOT NULL       -- as raw_bodies.body_hash: md5_number of the body as received
);

CREATE TABLE IF NOT EXISTS retention_policy (
    raw_days INTEGER CHECK (raw_days > 0),
    events_days INTEGER CHECK (events_days > 0),
    set_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS retention_log (
    applied_at TIMESTAMP NOT NULL,
    table_name VARCHAR NOT NULL,      -- raw_bodies or message_events
    cutoff TIMESTAMP NOT NULL,        -- rows older than this were removed
    removed BIGINT NOT NULL,
    oldest TIMESTAMP,                 -- the time range of the rows removed
    newest TIMESTAMP
);
