-- purpose: keep the raw store's content hashes as numbers: md5_number of the body text
--          (16 bytes) instead of the md5's 32 hex characters. A large ingest groups a
--          million new hashes and checks them against every stored one; numbers are
--          cheaper to group, compare and write than text (sql/ingest/new_bodies.sql).
-- grain:   raw_bodies (003_raw_store.sql): body_hash becomes UHUGEINT. platform_events
--          keeps the hex digits (a reader's table; the writer converts).
-- readers: unaffected: only `ingest` and `ingest --rebuild` read raw_bodies, and they
--          open the workspace read-write (so they migrate it first).
-- params:  none. Applied once by threadlift.workspace when schema_version < 8. Stored hashes
--          are converted, not recomputed: md5_number reads the 16 bytes of the md5 as a
--          little-endian number, so the hex digits are read pair by pair in reverse.

ALTER TABLE raw_bodies ALTER COLUMN body_hash SET DATA TYPE UHUGEINT
    USING ('0x' || array_to_string(list_reverse(regexp_extract_all(body_hash, '..')), ''))::UHUGEINT;
