-- sopflow store, PostgreSQL. See the crate doc (src/lib.rs) for what each table means.
-- Same tables as migrations/sqlite; times are TIMESTAMPTZ (microseconds, UTC).
-- Unqualified names: the tables go to the first schema of the connection's search_path.

CREATE TABLE sop_versions (
    sop_id       TEXT        NOT NULL,
    version      BIGINT      NOT NULL CHECK (version >= 1),
    content_hash TEXT        NOT NULL,
    yaml         TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sop_id, version),
    UNIQUE (sop_id, content_hash)
);

CREATE FUNCTION sopflow_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows cannot be changed (% refused)', TG_TABLE_NAME, TG_OP;
END
$$;

-- Versions are immutable; deleting one that a case refers to is refused by the foreign key.
CREATE TRIGGER sop_versions_immutable BEFORE UPDATE ON sop_versions
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

-- A projection of the events for listing and claiming; the events are the truth.
CREATE TABLE cases (
    -- Bytewise order, as SQLite's: listing pages come out the same on both backends.
    case_id           TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    sop_id            TEXT        NOT NULL,
    sop_version       BIGINT      NOT NULL,
    status            TEXT        NOT NULL,
    current_step      TEXT,
    version           BIGINT      NOT NULL CHECK (version >= 1),
    head_hash         TEXT        NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    due_at            TIMESTAMPTZ,
    overdue           BOOLEAN     NOT NULL DEFAULT FALSE,
    timer_claimed_by  TEXT,
    timer_lease_until TIMESTAMPTZ,
    FOREIGN KEY (sop_id, sop_version) REFERENCES sop_versions (sop_id, version)
);

CREATE INDEX cases_by_sop_status ON cases (sop_id, status);
CREATE INDEX cases_by_step ON cases (current_step);
CREATE INDEX cases_by_due ON cases (due_at) WHERE due_at IS NOT NULL;

-- The per-case salt of the personal-data hashes that events carry. Kept apart from the events
-- so that retention can erase it without touching the chain. Written in the transaction that
-- creates the case, before the case row: hence the deferred key.
CREATE TABLE case_salts (
    case_id TEXT COLLATE "C" NOT NULL PRIMARY KEY
        REFERENCES cases (case_id) DEFERRABLE INITIALLY DEFERRED,
    salt    TEXT NOT NULL
);

CREATE TABLE events (
    case_id     TEXT        COLLATE "C" NOT NULL REFERENCES cases (case_id),
    seq         BIGINT      NOT NULL CHECK (seq >= 1),
    recorded_at TIMESTAMPTZ NOT NULL,
    kind        TEXT        NOT NULL,
    user_name   TEXT        NOT NULL,
    role        TEXT        NOT NULL,
    -- JSON, not JSONB: JSON keeps the exact text the hash chain covers (JSONB reorders keys,
    -- rewrites numbers and refuses \u0000).
    payload     JSON        NOT NULL,
    prev_hash   TEXT        NOT NULL,
    hash        TEXT        NOT NULL,
    -- The optimistic-concurrency check: one event per (case, seq).
    PRIMARY KEY (case_id, seq)
);

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

CREATE TABLE outbox (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         TEXT        COLLATE "C" NOT NULL,
    seq             BIGINT      NOT NULL,
    idempotency_key TEXT        NOT NULL UNIQUE,
    adapter         TEXT        NOT NULL,
    payload         JSONB       NOT NULL,
    status          TEXT        NOT NULL
        CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'incident')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    lease_until     TIMESTAMPTZ,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (case_id, seq) REFERENCES events (case_id, seq)
);

CREATE INDEX outbox_by_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, seq);

-- Uploaded document scans, addressed by the SHA-256 (hex) of their content. Personal data:
-- outside the event chain, which refers to them by hash.
CREATE TABLE files (
    sha256 TEXT  NOT NULL PRIMARY KEY,
    bytes  BYTEA NOT NULL
);

CREATE TABLE queue_counters (
    queue_key   TEXT   NOT NULL,
    day         TEXT   NOT NULL, -- the office's local day, 'YYYY-MM-DD'
    last_number BIGINT NOT NULL CHECK (last_number >= 1),
    PRIMARY KEY (queue_key, day)
);

CREATE TABLE users (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL UNIQUE,
    role       TEXT        NOT NULL,
    token_hash TEXT        NOT NULL UNIQUE, -- hex SHA-256 of the token; the token is never stored
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE idempotency_keys (
    user_name     TEXT        NOT NULL,
    key           TEXT        NOT NULL,
    request_hash  TEXT        NOT NULL,
    status_code   INTEGER     NOT NULL,
    response_body TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_name, key)
);
