-- Survei Kepuasan Masyarakat (SKM): the citizens' answers, anonymous. Same tables as
-- migrations/sqlite/0008: a response holds the SOP, the service point, the local day and the
-- nine scores, never the case; `survey_answered` says only which cases have answered. No time
-- of day and random ids, so the two cannot be joined back by when they were written.
CREATE TABLE survey_responses (
    id            TEXT     NOT NULL PRIMARY KEY,
    sop_id        TEXT     NOT NULL,
    service_point TEXT     NOT NULL,
    day           TEXT     NOT NULL,
    u1 SMALLINT NOT NULL CHECK (u1 BETWEEN 1 AND 4),
    u2 SMALLINT NOT NULL CHECK (u2 BETWEEN 1 AND 4),
    u3 SMALLINT NOT NULL CHECK (u3 BETWEEN 1 AND 4),
    u4 SMALLINT NOT NULL CHECK (u4 BETWEEN 1 AND 4),
    u5 SMALLINT NOT NULL CHECK (u5 BETWEEN 1 AND 4),
    u6 SMALLINT NOT NULL CHECK (u6 BETWEEN 1 AND 4),
    u7 SMALLINT NOT NULL CHECK (u7 BETWEEN 1 AND 4),
    u8 SMALLINT NOT NULL CHECK (u8 BETWEEN 1 AND 4),
    u9 SMALLINT NOT NULL CHECK (u9 BETWEEN 1 AND 4),
    comment       TEXT CHECK (comment IS NULL OR length(comment) <= 500)
);

CREATE INDEX survey_responses_by_day ON survey_responses (day, sop_id, service_point);

CREATE TABLE survey_answered (
    case_id TEXT NOT NULL PRIMARY KEY REFERENCES cases (case_id)
);

CREATE TRIGGER survey_responses_append_only BEFORE UPDATE ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();
