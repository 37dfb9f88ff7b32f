-- Which version of an SOP new cases start on, as decided over time (see
-- migrations/sqlite/0003: the same table). Append-only.
CREATE TABLE sop_releases (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sop_id       TEXT        NOT NULL,
    version      BIGINT      NOT NULL,
    effective_at TIMESTAMPTZ,
    effective_on DATE,
    source       TEXT        NOT NULL,
    released_by  TEXT        NOT NULL,
    reason       TEXT        NOT NULL CHECK (length(trim(reason)) > 0),
    recorded_at  TIMESTAMPTZ NOT NULL,
    CHECK ((effective_at IS NULL) <> (effective_on IS NULL)),
    FOREIGN KEY (sop_id, version) REFERENCES sop_versions (sop_id, version)
);

CREATE INDEX sop_releases_by_sop ON sop_releases (sop_id, id);

CREATE TRIGGER sop_releases_append_only BEFORE UPDATE OR DELETE ON sop_releases
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();
