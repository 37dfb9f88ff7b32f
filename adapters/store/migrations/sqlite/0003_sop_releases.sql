-- Which version of an SOP new cases start on, as decided over time: every deployment that
-- takes effect, every version an administrator chooses (a rollback), with who, why and from
-- when. The version in force at an instant is the latest decision already in effect then.
-- Append-only: the history of what was in force is part of the record.
CREATE TABLE sop_releases (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sop_id       TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    -- From when: an instant (a release taking effect at once) or a local date (the SOP's
    -- Tanggal Efektif: from midnight at each service point).
    effective_at TEXT,
    effective_on TEXT,
    -- `file:<path>` (the definitions folder), `api` or `cli`.
    source       TEXT    NOT NULL,
    released_by  TEXT    NOT NULL,
    reason       TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    recorded_at  TEXT    NOT NULL,
    CHECK ((effective_at IS NULL) <> (effective_on IS NULL)),
    FOREIGN KEY (sop_id, version) REFERENCES sop_versions (sop_id, version)
) STRICT;

CREATE INDEX sop_releases_by_sop ON sop_releases (sop_id, id);

CREATE TRIGGER sop_releases_no_update BEFORE UPDATE ON sop_releases
BEGIN
    SELECT RAISE(ABORT, 'sop_releases is append-only');
END;

CREATE TRIGGER sop_releases_no_delete BEFORE DELETE ON sop_releases
BEGIN
    SELECT RAISE(ABORT, 'sop_releases is append-only');
END;
