-- What the front office in the browser needs: passwords and sessions for people (programs keep
-- their bearer tokens), the registration number and tracking code of each case, and an index
-- for the inbox's most-urgent-first order.

-- A PHC string (argon2id, salt and parameters included); NULL: the user has no password.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Browser sessions, shared by every process on the database. Only the SHA-256 of the
-- cookie's token is kept; the CSRF token is the session's own random value.
CREATE TABLE sessions (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    counter      TEXT,            -- the counter (loket) the officer works at, if chosen
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);

-- The office's numbers of a case, written in the transaction that opens it. The registration
-- number is also in the case's history (`case_registered`); the tracking code is not (it is
-- the citizen's key to the status page, not a fact of the case).
CREATE TABLE case_references (
    case_id             TEXT NOT NULL PRIMARY KEY
        REFERENCES cases (case_id) DEFERRABLE INITIALLY DEFERRED,
    registration_number TEXT NOT NULL UNIQUE,
    tracking_code       TEXT NOT NULL UNIQUE,
    created_at          TEXT NOT NULL
) STRICT;

CREATE INDEX cases_open_by_step_due ON cases (current_step, due_at) WHERE status = 'open';
