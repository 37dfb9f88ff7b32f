-- Calendars cases are pinned to, by the SHA-256 of their canonical text (see
-- migrations/sqlite/0007: the same table). Written once per hash, never changed.
CREATE TABLE calendars (
    content_hash TEXT        NOT NULL PRIMARY KEY,
    calendar_id  TEXT        NOT NULL,
    canonical    TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TRIGGER calendars_immutable BEFORE UPDATE OR DELETE ON calendars
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();
