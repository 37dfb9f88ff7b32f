-- Event rows, compacted (see src/codec.rs). The payload is stored as bytes in the codec the row
-- names: 0 is the JSON text as it is (every row moved here from before), 1 is that text
-- compressed with zstd and the event format's dictionary (rows written from now on). The hash
-- chain still covers the JSON text, which reading gives back exactly.
--
-- The hashes are stored as their 32 bytes instead of hex. A row's prev_hash is stored only where
-- it is not the hash of the row before it (the genesis hash for a first row): reading takes it
-- from there. Rows moved here keep theirs where it differs, so a chain that did not link before
-- still does not.
--
-- WITHOUT ROWID: the (case_id, seq) primary key is the table itself, no second b-tree.
--
-- The table is rebuilt, and the outbox with it: the outbox refers to events, and SQLite cannot
-- drop a table referred to while foreign keys are on (they cannot be switched off inside the
-- transaction a migration runs in). Both tables are created anew under temporary names, the
-- new outbox referring to the new events, the old ones dropped, the new ones renamed (which
-- rewrites the outbox's reference).

CREATE TABLE events_compact (
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    recorded_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    user_name   TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    codec       INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    prev_hash   BLOB,
    hash        BLOB    NOT NULL,
    -- The optimistic-concurrency check: one event per (case, seq).
    PRIMARY KEY (case_id, seq)
) STRICT, WITHOUT ROWID;

-- A hash that is not hex (only a damaged row holds one) is kept as its text's bytes: it reads
-- back changed, and verification reports it.
INSERT INTO events_compact (case_id, seq, recorded_at, kind, user_name, role, codec, payload,
                            prev_hash, hash)
SELECT e.case_id, e.seq, e.recorded_at, e.kind, e.user_name, e.role, 0, CAST(e.payload AS BLOB),
       CASE WHEN e.prev_hash IS coalesce(
                     (SELECT p.hash FROM events p WHERE p.case_id = e.case_id AND p.seq < e.seq
                      ORDER BY p.seq DESC LIMIT 1),
                     '0000000000000000000000000000000000000000000000000000000000000000')
            THEN NULL
            ELSE coalesce(unhex(e.prev_hash), CAST(e.prev_hash AS BLOB)) END,
       coalesce(unhex(e.hash), CAST(e.hash AS BLOB))
FROM events e;

-- As in 0001; only its reference is to the new table.
CREATE TABLE outbox_compact (
    -- AUTOINCREMENT: ids are never reused, so a stale worker cannot touch a newer row.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    adapter         TEXT    NOT NULL,
    payload         TEXT    NOT NULL CHECK (json_valid(payload)),
    status          TEXT    NOT NULL
        CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'incident')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    claimed_by      TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    FOREIGN KEY (case_id, seq) REFERENCES events_compact (case_id, seq)
) STRICT;

INSERT INTO outbox_compact (id, case_id, seq, idempotency_key, adapter, payload, status, attempts,
                            next_attempt_at, claimed_by, lease_until, last_error, created_at,
                            updated_at)
SELECT id, case_id, seq, idempotency_key, adapter, payload, status, attempts, next_attempt_at,
       claimed_by, lease_until, last_error, created_at, updated_at
FROM outbox;

-- The ids the old outbox gave out, deleted rows' included, stay given out.
-- (The rename below renames its sequence too.)
DELETE FROM sqlite_sequence WHERE name = 'outbox_compact';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'outbox_compact', seq FROM sqlite_sequence WHERE name = 'outbox';

DROP TABLE outbox;
DROP TABLE events;
ALTER TABLE events_compact RENAME TO events;
ALTER TABLE outbox_compact RENAME TO outbox;

CREATE INDEX outbox_by_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, seq);

-- The triggers of 0001 and 0006, on the new table: append-only, except that an erasure
-- replaces an erased case's payload (and may write it in another codec); nothing else of the
-- row may change.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT (NEW.case_id IS OLD.case_id AND NEW.seq IS OLD.seq
          AND NEW.recorded_at IS OLD.recorded_at AND NEW.kind IS OLD.kind
          AND NEW.user_name IS OLD.user_name AND NEW.role IS OLD.role
          AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
          AND EXISTS (SELECT 1 FROM erasures WHERE erasures.case_id = OLD.case_id))
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
