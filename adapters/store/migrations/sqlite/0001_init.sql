-- sopflow store, SQLite. See the crate doc (src/lib.rs) for what each table means.
-- Times are UTC text of fixed width, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so text order is time order.
-- STRICT tables: SQLite checks the declared types instead of converting silently.

CREATE TABLE sop_versions (
    sop_id       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    content_hash TEXT    NOT NULL,
    yaml         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (sop_id, version),
    UNIQUE (sop_id, content_hash)
) STRICT;

-- Versions are immutable; deleting one that a case refers to is refused by the foreign key.
CREATE TRIGGER sop_versions_immutable BEFORE UPDATE ON sop_versions
BEGIN
    SELECT RAISE(ABORT, 'sop_versions are immutable');
END;

-- A projection of the events for listing and claiming; the events are the truth.
CREATE TABLE cases (
    case_id           TEXT    NOT NULL PRIMARY KEY,
    sop_id            TEXT    NOT NULL,
    sop_version       INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    current_step      TEXT,
    version           INTEGER NOT NULL CHECK (version >= 1),
    head_hash         TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    due_at            TEXT,
    overdue           INTEGER NOT NULL DEFAULT 0 CHECK (overdue IN (0, 1)),
    timer_claimed_by  TEXT,
    timer_lease_until TEXT,
    FOREIGN KEY (sop_id, sop_version) REFERENCES sop_versions (sop_id, version)
) STRICT;

CREATE INDEX cases_by_sop_status ON cases (sop_id, status);
CREATE INDEX cases_by_step ON cases (current_step);
CREATE INDEX cases_by_due ON cases (due_at) WHERE due_at IS NOT NULL;

-- The per-case salt of the personal-data hashes that events carry. Kept apart from the events
-- so that retention can erase it without touching the chain. Written in the transaction that
-- creates the case, before the case row: hence the deferred key.
CREATE TABLE case_salts (
    case_id TEXT NOT NULL PRIMARY KEY
        REFERENCES cases (case_id) DEFERRABLE INITIALLY DEFERRED,
    salt    TEXT NOT NULL
) STRICT;

CREATE TABLE events (
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    recorded_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    user_name   TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    -- The exact JSON text the hash chain covers.
    payload     TEXT    NOT NULL CHECK (json_valid(payload)),
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    -- The optimistic-concurrency check: one event per (case, seq).
    PRIMARY KEY (case_id, seq)
) STRICT;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE outbox (
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
    FOREIGN KEY (case_id, seq) REFERENCES events (case_id, seq)
) STRICT;

CREATE INDEX outbox_by_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, seq);

-- Uploaded document scans, addressed by the SHA-256 (hex) of their content. Personal data:
-- outside the event chain, which refers to them by hash.
CREATE TABLE files (
    sha256 TEXT NOT NULL PRIMARY KEY,
    bytes  BLOB NOT NULL
) STRICT;

CREATE TABLE queue_counters (
    queue_key   TEXT    NOT NULL,
    day         TEXT    NOT NULL, -- the office's local day, 'YYYY-MM-DD'
    last_number INTEGER NOT NULL CHECK (last_number >= 1),
    PRIMARY KEY (queue_key, day)
) STRICT;

CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE, -- hex SHA-256 of the token; the token is never stored
    created_at TEXT    NOT NULL
) STRICT;

CREATE TABLE idempotency_keys (
    user_name     TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status_code   INTEGER NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (user_name, key)
) STRICT;
