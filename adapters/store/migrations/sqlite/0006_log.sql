-- The transparency log over the record (RFC 9162 shape): one leaf per event of every case, per
-- row of the access log and per erasure, in the order they were committed. Signed checkpoints
-- (tree size, root, time) prove later that what they cover has not changed; `sopflow audit
-- verify` recomputes the tree from the stored content. See src/log.rs and the audit crate.

-- How many leaves the log has. A transaction that adds leaves raises it as its last write
-- before commit: the row stays locked until then, so the leaves' indices are gap-free, unique
-- and in commit order, whatever the number of processes.
CREATE TABLE log_size (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0)
) STRICT;

INSERT INTO log_size (id, size) VALUES (1, 0);

-- A leaf: what it stands for and its hash, SHA-256(0x00 || leaf text). The text is not kept:
-- it is rebuilt from what it names (src/log.rs), which is the point.
CREATE TABLE log_leaves (
    idx       INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
    kind      TEXT    NOT NULL CHECK (kind IN ('event', 'access', 'erasure')),
    case_id   TEXT,    -- events and erasures
    seq       INTEGER, -- events
    ref_id    INTEGER, -- access rows and erasures: their id
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    CHECK ((kind = 'event') = (seq IS NOT NULL)),
    CHECK ((kind = 'event') = (ref_id IS NULL)),
    CHECK (kind = 'access' OR case_id IS NOT NULL),
    UNIQUE (case_id, seq),
    UNIQUE (kind, ref_id)
) STRICT;

CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
BEGIN
    SELECT RAISE(ABORT, 'log_leaves is append-only');
END;

CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
BEGIN
    SELECT RAISE(ABORT, 'log_leaves is append-only');
END;

-- The roots of the tree's perfect subtrees: node (level, idx) covers the leaves
-- [idx * 2^level, (idx + 1) * 2^level). Computed when checkpointing, never changed; proofs
-- are built from them.
CREATE TABLE log_nodes (
    level INTEGER NOT NULL CHECK (level >= 1),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT;

CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
BEGIN
    SELECT RAISE(ABORT, 'log_nodes is append-only');
END;

CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
BEGIN
    SELECT RAISE(ABORT, 'log_nodes is append-only');
END;

-- Up to which tree size the nodes are computed: checkpointers of several processes move it
-- forward only (a conditional update), never holding `log_size`.
CREATE TABLE log_checkpointer (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tree_size INTEGER NOT NULL CHECK (tree_size >= 0)
) STRICT;

INSERT INTO log_checkpointer (id, tree_size) VALUES (1, 0);

-- Signed checkpoints: the note (C2SP signed-note text: origin, tree size, root, time, and
-- an Ed25519 signature by a key kept outside the database) and, beside it, its fields.
CREATE TABLE log_checkpoints (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
    root      BLOB    NOT NULL CHECK (length(root) = 32),
    signed_at TEXT    NOT NULL,
    key_name  TEXT    NOT NULL,
    note      TEXT    NOT NULL
) STRICT;

CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;

CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;

-- Erasures of a closed case's personal data (UU 27/2022): who, when, why, on request or by
-- the retention rule. One per case; append-only, and each is a leaf of the log.
CREATE TABLE erasures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id   TEXT    NOT NULL UNIQUE,
    at        TEXT    NOT NULL,
    user_name TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    source    TEXT    NOT NULL CHECK (source IN ('request', 'retention')),
    reason    TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    -- How many of the case's events had personal values replaced by their salted hashes.
    events    INTEGER NOT NULL CHECK (events >= 0)
) STRICT;

CREATE TRIGGER erasures_no_update BEFORE UPDATE ON erasures
BEGIN
    SELECT RAISE(ABORT, 'erasures is append-only');
END;

CREATE TRIGGER erasures_no_delete BEFORE DELETE ON erasures
BEGIN
    SELECT RAISE(ABORT, 'erasures is append-only');
END;

-- Events stay append-only, with one exception: an erasure replaces the personal values of an
-- erased case's stored JSON by the salted hashes the chain already covers. Nothing else of the
-- row may change (the hashes, who, when), so the chain and the log verify as before.
DROP TRIGGER events_no_update;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT (NEW.case_id IS OLD.case_id AND NEW.seq IS OLD.seq
          AND NEW.recorded_at IS OLD.recorded_at AND NEW.kind IS OLD.kind
          AND NEW.user_name IS OLD.user_name AND NEW.role IS OLD.role
          AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
          AND EXISTS (SELECT 1 FROM erasures WHERE erasures.case_id = OLD.case_id))
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
