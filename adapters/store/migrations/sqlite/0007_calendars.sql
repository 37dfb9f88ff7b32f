-- Calendars cases are pinned to: the canonical text of each calendar a case opened under,
-- by the SHA-256 of that text (its content hash, recorded in the case's first event). Written
-- once per hash, never changed: replay and `audit verify` recompute due times on it after
-- the calendar file changed. Same table as migrations/postgres/0007.
CREATE TABLE calendars (
    content_hash TEXT NOT NULL PRIMARY KEY,
    -- The id it was first configured by (people read it; the hash is what pins).
    calendar_id  TEXT NOT NULL,
    canonical    TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE TRIGGER calendars_no_update BEFORE UPDATE ON calendars
BEGIN
    SELECT RAISE(ABORT, 'calendars are immutable');
END;

CREATE TRIGGER calendars_no_delete BEFORE DELETE ON calendars
BEGIN
    SELECT RAISE(ABORT, 'calendars are immutable');
END;
