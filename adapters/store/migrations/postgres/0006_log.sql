-- The transparency log over the record (RFC 9162 shape). Same tables as
-- migrations/sqlite/0006; hashes are BYTEA.

-- How many leaves the log has. A transaction that adds leaves raises it as its last write
-- before commit: the row lock is held until then, so concurrent transactions of any number of
-- processes take gap-free, unique indices in commit order (the lock is taken last, so it is
-- held only for the commit itself).
CREATE TABLE log_size (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size BIGINT  NOT NULL CHECK (size >= 0)
);

INSERT INTO log_size (id, size) VALUES (1, 0);

CREATE TABLE log_leaves (
    idx       BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    kind      TEXT   NOT NULL CHECK (kind IN ('event', 'access', 'erasure')),
    case_id   TEXT   COLLATE "C",
    seq       BIGINT,
    ref_id    BIGINT,
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32),
    CHECK ((kind = 'event') = (seq IS NOT NULL)),
    CHECK ((kind = 'event') = (ref_id IS NULL)),
    CHECK (kind = 'access' OR case_id IS NOT NULL),
    UNIQUE (case_id, seq),
    UNIQUE (kind, ref_id)
);

CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

CREATE TABLE log_nodes (
    level INTEGER NOT NULL CHECK (level >= 1),
    idx   BIGINT  NOT NULL CHECK (idx >= 0),
    hash  BYTEA   NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

CREATE TABLE log_checkpointer (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tree_size BIGINT  NOT NULL CHECK (tree_size >= 0)
);

INSERT INTO log_checkpointer (id, tree_size) VALUES (1, 0);

CREATE TABLE log_checkpoints (
    id        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tree_size BIGINT      NOT NULL CHECK (tree_size >= 0),
    root      BYTEA       NOT NULL CHECK (length(root) = 32),
    signed_at TIMESTAMPTZ NOT NULL,
    key_name  TEXT        NOT NULL,
    note      TEXT        NOT NULL
);

CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

CREATE TABLE erasures (
    id        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id   TEXT        COLLATE "C" NOT NULL UNIQUE,
    at        TIMESTAMPTZ NOT NULL,
    user_name TEXT        NOT NULL,
    role      TEXT        NOT NULL,
    source    TEXT        NOT NULL CHECK (source IN ('request', 'retention')),
    reason    TEXT        NOT NULL CHECK (length(trim(reason)) > 0),
    events    BIGINT      NOT NULL CHECK (events >= 0)
);

CREATE TRIGGER erasures_append_only BEFORE UPDATE OR DELETE ON erasures
    FOR EACH ROW EXECUTE FUNCTION sopflow_refuse_change();

-- Events stay append-only, with one exception: an erasure replaces the personal values of an
-- erased case's stored JSON by the salted hashes the chain already covers; nothing else of the
-- row may change.
CREATE FUNCTION sopflow_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.case_id, NEW.seq, NEW.recorded_at, NEW.kind, NEW.user_name, NEW.role,
            NEW.prev_hash, NEW.hash)
           IS NOT DISTINCT FROM
           (OLD.case_id, OLD.seq, OLD.recorded_at, OLD.kind, OLD.user_name, OLD.role,
            OLD.prev_hash, OLD.hash)
       AND EXISTS (SELECT 1 FROM erasures WHERE erasures.case_id = OLD.case_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events rows cannot be changed (% refused)', TG_OP;
END
$$;

DROP TRIGGER events_append_only ON events;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION sopflow_events_guard();
