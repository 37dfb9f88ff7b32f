-- Who looked at what with the auditor's tools: every export, and every time personal data was
-- shown unmasked (with the reason given). Append-only like the events: an access log that can
-- be edited proves nothing. Kept apart from the case chains: an export spans many cases, and a
-- closed case takes no more events. Same table as migrations/sqlite/0002.
CREATE TABLE audit_access (
    id        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    user_name TEXT        NOT NULL,
    role      TEXT        NOT NULL,
    action    TEXT        NOT NULL, -- 'export', 'replay'
    scope     TEXT        NOT NULL, -- what was read: a case id, or an export's range and format
    revealed  BOOLEAN     NOT NULL, -- personal data shown unmasked
    reason    TEXT                  -- required when revealed
        CHECK (NOT revealed OR (reason IS NOT NULL AND length(trim(reason)) > 0))
);

CREATE INDEX audit_access_by_time ON audit_access (at);

CREATE TRIGGER audit_access_append_only BEFORE UPDATE OR DELETE ON audit_access
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();
