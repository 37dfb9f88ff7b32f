-- Offices: the service points a deployment serves from, who works where in which role, the
-- service point of each case, the index of the case fields an SOP marks searchable, and the
-- log of queue calls made from counters. Same tables as migrations/sqlite/0004, which says
-- what each holds.

CREATE TABLE service_points (
    id         TEXT        NOT NULL PRIMARY KEY,
    name       TEXT        NOT NULL,
    timezone   TEXT        NOT NULL,
    calendar   TEXT,
    counters   JSONB       NOT NULL,
    source     TEXT        NOT NULL CHECK (source IN ('config', 'api')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    user_name     TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    service_point TEXT NOT NULL, -- a service point id, or '*': every service point
    PRIMARY KEY (user_name, role, service_point)
);

ALTER TABLE cases ADD COLUMN service_point TEXT;
CREATE INDEX cases_by_point ON cases (service_point, status);

CREATE TABLE case_search (
    case_id    TEXT COLLATE "C" NOT NULL
        REFERENCES cases (case_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    field      TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    PRIMARY KEY (case_id, field)
);
CREATE INDEX case_search_by_value ON case_search (field, value_hash);

CREATE TABLE queue_calls (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_point TEXT        NOT NULL,
    sop_id        TEXT        NOT NULL,
    queue         TEXT        NOT NULL,
    number        TEXT        NOT NULL,
    counter       TEXT,
    kind          TEXT        NOT NULL CHECK (kind IN ('call', 'recall', 'transfer', 'no_show')),
    case_id       TEXT        COLLATE "C" NOT NULL,
    seq           BIGINT      NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX queue_calls_by_point ON queue_calls (service_point, at);
