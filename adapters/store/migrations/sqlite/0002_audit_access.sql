-- Who looked at what with the auditor's tools: every export, and every time personal data was
-- shown unmasked (with the reason given). Append-only like the events: an access log that can
-- be edited proves nothing. Kept apart from the case chains: an export spans many cases, and a
-- closed case takes no more events.
CREATE TABLE audit_access (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT    NOT NULL,
    user_name TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    action    TEXT    NOT NULL, -- 'export', 'replay'
    scope     TEXT    NOT NULL, -- what was read: a case id, or an export's range and format
    revealed  INTEGER NOT NULL CHECK (revealed IN (0, 1)), -- personal data shown unmasked
    reason    TEXT              -- required when revealed
        CHECK (revealed = 0 OR (reason IS NOT NULL AND length(trim(reason)) > 0))
) STRICT;

CREATE INDEX audit_access_by_time ON audit_access (at);

CREATE TRIGGER audit_access_no_update BEFORE UPDATE ON audit_access
BEGIN
    SELECT RAISE(ABORT, 'audit_access is append-only');
END;

CREATE TRIGGER audit_access_no_delete BEFORE DELETE ON audit_access
BEGIN
    SELECT RAISE(ABORT, 'audit_access is append-only');
END;
