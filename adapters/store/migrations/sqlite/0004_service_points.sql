-- Offices: the service points a deployment serves from, who works where in which role, the
-- service point of each case, the index of the case fields an SOP marks searchable, and the
-- log of queue calls made from counters. Same tables as migrations/postgres/0004.

-- A service point (kantor, kecamatan office, MPP desk) and its counters. `source` says who
-- keeps it: the configuration file (rewritten at each start) or an admin through the API.
CREATE TABLE service_points (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    calendar   TEXT,          -- the calendar it keeps (a file of the calendars folder)
    counters   TEXT NOT NULL CHECK (json_valid(counters)), -- [{"id", "name"}], in order
    source     TEXT NOT NULL CHECK (source IN ('config', 'api')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- A user's roles and where they hold them. A user with no rows holds `users.role` at the
-- deployment's default service point (admins and auditors: at all of them).
CREATE TABLE memberships (
    user_name     TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    service_point TEXT NOT NULL, -- a service point id, or '*': every service point
    PRIMARY KEY (user_name, role, service_point)
) STRICT;

-- Where a case was opened. NULL for cases opened before service points: the runtime assigns
-- them to the default service point when it starts.
ALTER TABLE cases ADD COLUMN service_point TEXT;
CREATE INDEX cases_by_point ON cases (service_point, status);

-- The case fields an SOP marks `x-searchable`, as SHA-256 of field and value (so that no
-- second plain copy of a NIK is kept), written with the command that sets them.
CREATE TABLE case_search (
    case_id    TEXT NOT NULL
        REFERENCES cases (case_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    field      TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    PRIMARY KEY (case_id, field)
) STRICT;
CREATE INDEX case_search_by_value ON case_search (field, value_hash);

-- Every call of a number to a counter, as the case's events record it (a projection, like
-- `cases`): what display boards show and the state of each counter. Numbers and counters only.
-- `seq` names the event that records the call; no foreign key: like `cases`, this is derived
-- data, and verification judges the events, not it.
CREATE TABLE queue_calls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    service_point TEXT    NOT NULL,
    sop_id        TEXT    NOT NULL,
    queue         TEXT    NOT NULL,
    number        TEXT    NOT NULL,
    counter       TEXT,   -- NULL: called without a counter
    kind          TEXT    NOT NULL CHECK (kind IN ('call', 'recall', 'transfer', 'no_show')),
    case_id       TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    at            TEXT    NOT NULL
) STRICT;
CREATE INDEX queue_calls_by_point ON queue_calls (service_point, at);
