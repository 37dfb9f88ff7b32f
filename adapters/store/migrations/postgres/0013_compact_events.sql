-- Event rows, compacted (see src/codec.rs), as migrations/sqlite/0013. The payload is stored as
-- bytes in the codec the row names: 0 is the JSON text as it is (every row from before), 1 is
-- that text compressed with zstd and the event format's dictionary (rows written from now on).
-- The hash chain still covers the JSON text, which reading gives back exactly.
--
-- The hashes are stored as their 32 bytes instead of hex. A row's prev_hash is stored only where
-- it is not the hash of the row before it (the genesis hash for a first row): reading takes it
-- from there. Rows from before keep theirs where it differs, so a chain that did not link before
-- still does not.
--
-- The guard of 0006 (sopflow_events_guard) stays as it is: it compares every column but the
-- payload and the codec, which an erasure rewrites.

ALTER TABLE events DISABLE TRIGGER events_append_only;

ALTER TABLE events ALTER COLUMN prev_hash DROP NOT NULL;

UPDATE events e SET prev_hash = NULL
WHERE e.prev_hash = coalesce(
    (SELECT p.hash FROM events p WHERE p.case_id = e.case_id AND p.seq < e.seq
     ORDER BY p.seq DESC LIMIT 1),
    '0000000000000000000000000000000000000000000000000000000000000000');

-- A hash that is not hex (only a damaged row holds one) is kept as its text's bytes: it reads
-- back changed, and verification reports it.
CREATE FUNCTION pg_temp.sopflow_hash_bytes(hash TEXT) RETURNS BYTEA LANGUAGE plpgsql AS $$
BEGIN
    IF hash ~ '^[0-9a-fA-F]*$' AND length(hash) % 2 = 0 THEN
        RETURN decode(hash, 'hex');
    END IF;
    RETURN convert_to(hash, 'UTF8');
END
$$;

ALTER TABLE events
    ADD COLUMN codec SMALLINT NOT NULL DEFAULT 0,
    ALTER COLUMN payload TYPE BYTEA USING convert_to(payload::text, 'UTF8'),
    ALTER COLUMN prev_hash TYPE BYTEA USING pg_temp.sopflow_hash_bytes(prev_hash),
    ALTER COLUMN hash TYPE BYTEA USING pg_temp.sopflow_hash_bytes(hash);

-- Every row names its codec; new ones say which.
ALTER TABLE events ALTER COLUMN codec DROP DEFAULT;

ALTER TABLE events ENABLE TRIGGER events_append_only;
