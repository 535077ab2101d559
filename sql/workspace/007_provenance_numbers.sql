-- purpose: keep ingest_provenance keys as numbers: md5_number of the row's natural key
--          (16 bytes) instead of the md5's 32 hex characters, cheaper to write for each of
--          the million rows a large ingest adds (threadlift.ingest.writer.key_expression).
-- grain:   ingest_provenance (003_raw_store.sql): row_key becomes UHUGEINT.
-- readers: unaffected: only `ingest` and `ingest --rebuild` read ingest_provenance, and they
--          open the workspace read-write (so they migrate it first).
-- params:  none. Applied once by threadlift.workspace when schema_version < 7. Stored keys are
--          converted, not recomputed: md5_number reads the 16 bytes of the md5 as a
--          little-endian number, so the hex digits are read pair by pair in reverse.

ALTER TABLE ingest_provenance ALTER COLUMN row_key SET DATA TYPE UHUGEINT
    USING ('0x' || array_to_string(list_reverse(regexp_extract_all(row_key, '..')), ''))::UHUGEINT;
