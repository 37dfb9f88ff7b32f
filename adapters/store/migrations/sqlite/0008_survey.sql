-- Survei Kepuasan Masyarakat (SKM): the citizens' answers, anonymous. A response holds the
-- service (SOP), the service point, the local day and the nine scores (U1-U9 of Permenpan-RB
-- 14/2017), and never the case: which case answered is kept apart, in `survey_answered`, so
-- that a case answers once. Neither table keeps a time of day or an insertion order (random
-- ids, WITHOUT ROWID), so the two cannot be joined back by when they were written.
CREATE TABLE survey_responses (
    id            TEXT    NOT NULL PRIMARY KEY, -- random, 128 bits
    sop_id        TEXT    NOT NULL,
    service_point TEXT    NOT NULL,
    day           TEXT    NOT NULL,             -- YYYY-MM-DD, the service point's local day
    u1 INTEGER NOT NULL CHECK (u1 BETWEEN 1 AND 4),
    u2 INTEGER NOT NULL CHECK (u2 BETWEEN 1 AND 4),
    u3 INTEGER NOT NULL CHECK (u3 BETWEEN 1 AND 4),
    u4 INTEGER NOT NULL CHECK (u4 BETWEEN 1 AND 4),
    u5 INTEGER NOT NULL CHECK (u5 BETWEEN 1 AND 4),
    u6 INTEGER NOT NULL CHECK (u6 BETWEEN 1 AND 4),
    u7 INTEGER NOT NULL CHECK (u7 BETWEEN 1 AND 4),
    u8 INTEGER NOT NULL CHECK (u8 BETWEEN 1 AND 4),
    u9 INTEGER NOT NULL CHECK (u9 BETWEEN 1 AND 4),
    comment       TEXT CHECK (comment IS NULL OR length(comment) <= 500)
) STRICT, WITHOUT ROWID;

CREATE INDEX survey_responses_by_day ON survey_responses (day, sop_id, service_point);

-- The cases that have answered (only that: no time, no link to their response).
CREATE TABLE survey_answered (
    case_id TEXT NOT NULL PRIMARY KEY REFERENCES cases (case_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER survey_responses_no_update BEFORE UPDATE ON survey_responses
BEGIN
    SELECT RAISE(ABORT, 'survey_responses is append-only');
END;
