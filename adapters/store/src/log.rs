//! The transparency log's storage (migration 0006): its leaves, the roots of its perfect
//! subtrees and its signed checkpoints. The tree itself (proofs, roots, signatures) is the
//! audit crate's; here are what the leaves say, the order they get, and the rows.
//!
//! # Leaves
//!
//! A leaf's hash is SHA-256(0x00 || text) (RFC 9162 §2.1.1), where text is a compact JSON
//! array naming what the leaf stands for:
//!
//! - an event: `["event", case_id, seq, event_hash]`: the event's chain hash covers its
//!   content (personal values by their salted hashes), so an erasure leaves it unchanged;
//! - an access-log row: `["access", id, at, user_name, role, action, scope, revealed, reason]`;
//! - an erasure: `["erasure", id, case_id, at, user_name, role, source, reason, events]`.
//!
//! Times are the store's fixed-width UTC text (`2025-01-31T08:00:00.000000Z`).
//!
//! # Order
//!
//! Leaves are added by the transaction that writes what they stand for, as its last write
//! ([`Tx::add_leaves`]): it raises the `log_size` row, which stays locked until commit, so
//! indices are gap-free and unique and follow commit order on either backend and with any
//! number of processes. Nothing else is computed per command: the tree's inner nodes are
//! computed when checkpointing ([`Store::store_checkpoint`]).

use std::collections::HashMap;

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::audit::AuditAccess;
use crate::dialect::sql;
use crate::error::{Error, Result};
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::{Ts, text};

/// Leaves read per round trip when walking the log.
pub const LEAF_PAGE: u32 = 5_000;

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// What a leaf stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    Event,
    Access,
    Erasure,
}

impl LeafKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeafKind::Event => "event",
            LeafKind::Access => "access",
            LeafKind::Erasure => "erasure",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "event" => LeafKind::Event,
            "access" => LeafKind::Access,
            "erasure" => LeafKind::Erasure,
            other => return Err(Error::Invalid(format!("unknown leaf kind {other:?}"))),
        })
    }
}

/// A leaf to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeaf {
    pub kind: LeafKind,
    pub case_id: Option<String>,
    pub seq: Option<u64>,
    pub ref_id: Option<i64>,
    pub leaf_hash: Hash,
}

impl NewLeaf {
    pub fn event(case_id: &str, seq: u64, event_hash: &str) -> Self {
        Self {
            kind: LeafKind::Event,
            case_id: Some(case_id.to_owned()),
            seq: Some(seq),
            ref_id: None,
            leaf_hash: leaf_hash(event_leaf(case_id, seq, event_hash).as_bytes()),
        }
    }
}

/// A stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub idx: i64,
    pub kind: LeafKind,
    pub case_id: Option<String>,
    pub seq: Option<u64>,
    pub ref_id: Option<i64>,
    pub leaf_hash: Hash,
}

#[derive(sqlx::FromRow)]
struct LeafRow {
    idx: i64,
    kind: String,
    case_id: Option<String>,
    seq: Option<i64>,
    ref_id: Option<i64>,
    leaf_hash: Vec<u8>,
}

impl TryFrom<LeafRow> for Leaf {
    type Error = Error;

    fn try_from(row: LeafRow) -> Result<Self> {
        Ok(Leaf {
            idx: row.idx,
            kind: LeafKind::parse(&row.kind)?,
            case_id: row.case_id,
            seq: row.seq.map(crate::seq::read).transpose()?,
            ref_id: row.ref_id,
            leaf_hash: hash_of(&row.leaf_hash, "leaf", row.idx)?,
        })
    }
}

fn hash_of(bytes: &[u8], what: &str, idx: i64) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Invalid(format!("{what} {idx}: a hash of {} bytes", bytes.len())))
}

/// SHA-256(0x00 || leaf): the hash of a leaf (RFC 9162 §2.1.1).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// The text of an event's leaf.
pub fn event_leaf(case_id: &str, seq: u64, event_hash: &str) -> String {
    json!(["event", case_id, seq, event_hash]).to_string()
}

/// The text of an access-log row's leaf.
pub fn access_leaf(a: &AuditAccess) -> String {
    json!([
        "access",
        a.id,
        text(a.at),
        a.user_name,
        a.role,
        a.action,
        a.scope,
        a.revealed,
        a.reason
    ])
    .to_string()
}

/// The text of an erasure's leaf.
pub fn erasure_leaf(e: &Erasure) -> String {
    json!([
        "erasure",
        e.id,
        e.case_id,
        text(e.at),
        e.user_name,
        e.role,
        e.source,
        e.reason,
        e.events
    ])
    .to_string()
}

/// A recorded erasure of a case's personal data (see [`Tx::record_erasure`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Erasure {
    pub id: i64,
    pub case_id: String,
    #[sqlx(try_from = "Ts")]
    pub at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    /// `request` (someone asked) or `retention` (the retention rule).
    pub source: String,
    pub reason: String,
    /// How many events had personal values replaced.
    pub events: i64,
}

/// A checkpoint to store: the signed note and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckpoint {
    pub tree_size: i64,
    pub root: Hash,
    pub signed_at: OffsetDateTime,
    pub key_name: String,
    pub note: String,
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Checkpoint {
    pub id: i64,
    pub tree_size: i64,
    pub root: Vec<u8>,
    #[sqlx(try_from = "Ts")]
    pub signed_at: OffsetDateTime,
    pub key_name: String,
    pub note: String,
}

/// The root of a perfect subtree: `level` ≥ 1, covering the leaves
/// `[idx << level, (idx + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub level: u32,
    pub idx: u64,
    pub hash: Hash,
}

/// What the log holds that its content no longer backs, or content it does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unbacked {
    /// A leaf whose event, access row or erasure is gone.
    Leaf(Leaf),
    /// An event with no leaf.
    Event { case_id: String, seq: u64 },
    /// An access row with no leaf.
    Access(i64),
    /// An erasure with no leaf.
    Erasure(i64),
}

impl Tx {
    /// Adds `leaves` at the end of the log and returns the first one's index. Call it as the
    /// transaction's last write: it locks the log's size until commit (see the module doc).
    pub async fn add_leaves(&mut self, leaves: &[NewLeaf]) -> Result<i64> {
        if leaves.is_empty() {
            return self.log_size().await;
        }
        let n =
            i64::try_from(leaves.len()).map_err(|_| Error::Invalid("too many leaves".into()))?;
        let seqs = leaves
            .iter()
            .map(|leaf| leaf.seq.map(crate::seq::bound).transpose())
            .collect::<Result<Vec<_>>>()?;
        on_backend!(Tx, self, |t| {
            let size: i64 = sqlx::query_scalar(
                "UPDATE log_size SET size = size + $1 WHERE id = 1 RETURNING size",
            )
            .bind(n)
            .fetch_one(&mut *t.conn)
            .await?;
            let first = size - n;
            // 6 parameters a leaf: 500 a statement stays under both backends' limits.
            for (chunk_no, (chunk, seqs)) in leaves.chunks(500).zip(seqs.chunks(500)).enumerate() {
                let base = first + (chunk_no * 500) as i64;
                let mut insert = QueryBuilder::<DB>::new(
                    "INSERT INTO log_leaves (idx, kind, case_id, seq, ref_id, leaf_hash) ",
                );
                let rows = chunk.iter().zip(seqs).zip(base..);
                insert.push_values(rows, |mut row, ((leaf, seq), idx)| {
                    row.push_bind(idx)
                        .push_bind(leaf.kind.as_str())
                        .push_bind(leaf.case_id.as_deref())
                        .push_bind(*seq)
                        .push_bind(leaf.ref_id)
                        .push_bind(leaf.leaf_hash.to_vec());
                });
                insert.build().execute(&mut *t.conn).await?;
            }
            Ok(first)
        })
    }

    /// The log's size as this transaction sees it.
    pub async fn log_size(&mut self) -> Result<i64> {
        on_backend!(Tx, self, |t| {
            Ok(sqlx::query_scalar("SELECT size FROM log_size WHERE id = 1")
                .fetch_one(&mut *t.conn)
                .await?)
        })
    }
}

impl Store {
    /// The number of committed leaves (every leaf below it is committed: see the module doc).
    pub async fn log_size(&self) -> Result<i64> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_scalar("SELECT size FROM log_size WHERE id = 1")
                .fetch_one(&s.read)
                .await?)
        })
    }

    /// Leaves from index `from`, by index, at most `limit`.
    pub async fn leaves(&self, from: i64, limit: u32) -> Result<Vec<Leaf>> {
        let rows: Vec<LeafRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(
                "SELECT idx, kind, case_id, seq, ref_id, leaf_hash FROM log_leaves
                 WHERE idx >= $1 ORDER BY idx LIMIT $2",
            )
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?
        });
        rows.into_iter().map(Leaf::try_from).collect()
    }

    /// The leaves that name a case (its events, its erasure), by index.
    pub async fn case_leaves(&self, case_id: &str) -> Result<Vec<Leaf>> {
        let rows: Vec<LeafRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(
                "SELECT idx, kind, case_id, seq, ref_id, leaf_hash FROM log_leaves
                 WHERE case_id = $1 ORDER BY idx",
            )
            .bind(case_id)
            .fetch_all(&s.read)
            .await?
        });
        rows.into_iter().map(Leaf::try_from).collect()
    }

    /// The leaves that name any of the cases `case_ids`, by index, in one statement.
    pub async fn leaves_of_cases(&self, case_ids: &[String]) -> Result<Vec<Leaf>> {
        let ids = crate::cases::ids_json(case_ids)?;
        let rows: Vec<LeafRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
                "SELECT idx, kind, case_id, seq, ref_id, leaf_hash FROM log_leaves
                 WHERE case_id IN " json_array("$1") " ORDER BY idx"
            ))
            .bind(&ids)
            .fetch_all(&s.read)
            .await?
        });
        rows.into_iter().map(Leaf::try_from).collect()
    }

    /// The hashes of the leaves at `indices` (those that exist).
    pub async fn leaf_hashes(&self, indices: &[i64]) -> Result<Vec<(i64, Hash)>> {
        let mut found = Vec::with_capacity(indices.len());
        for chunk in indices.chunks(500) {
            let rows: Vec<(i64, Vec<u8>)> = on_backend!(Store, self, |s| {
                let mut q =
                    QueryBuilder::<DB>::new("SELECT idx, leaf_hash FROM log_leaves WHERE idx IN (");
                let mut list = q.separated(", ");
                for idx in chunk {
                    list.push_bind(*idx);
                }
                q.push(")");
                q.build_query_as().fetch_all(&s.read).await?
            });
            for (idx, hash) in rows {
                found.push((idx, hash_of(&hash, "leaf", idx)?));
            }
        }
        Ok(found)
    }

    /// The stored perfect-subtree roots among `wanted` (level, idx); missing ones are absent.
    pub async fn log_nodes(&self, wanted: &[(u32, u64)]) -> Result<HashMap<(u32, u64), Hash>> {
        let mut found = HashMap::with_capacity(wanted.len());
        for chunk in wanted.chunks(200) {
            let rows: Vec<(i32, i64, Vec<u8>)> = on_backend!(Store, self, |s| {
                let mut q =
                    QueryBuilder::<DB>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
                let mut or = q.separated(" OR ");
                for (level, idx) in chunk {
                    or.push("(level = ")
                        .push_bind_unseparated(i32::try_from(*level).unwrap_or(i32::MAX))
                        .push_unseparated(" AND idx = ")
                        .push_bind_unseparated(i64::try_from(*idx).unwrap_or(i64::MAX))
                        .push_unseparated(")");
                }
                q.build_query_as().fetch_all(&s.read).await?
            });
            for (level, idx, hash) in rows {
                let key = (
                    u32::try_from(level).unwrap_or(0),
                    u64::try_from(idx).unwrap_or(0),
                );
                found.insert(key, hash_of(&hash, "node", idx)?);
            }
        }
        Ok(found)
    }

    /// Up to which tree size the stored nodes are computed.
    pub async fn checkpointed_size(&self) -> Result<i64> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query_scalar("SELECT tree_size FROM log_checkpointer WHERE id = 1")
                    .fetch_one(&s.read)
                    .await?,
            )
        })
    }

    /// Stores the nodes computed from tree size `from` up to the checkpoint's, and the
    /// checkpoint, in one transaction. `Ok(None)` when another checkpointer moved past `from`
    /// meanwhile (nothing is stored: compute again from the new size).
    pub async fn store_checkpoint(
        &self,
        from: i64,
        nodes: &[Node],
        checkpoint: &NewCheckpoint,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let id = on_backend!(Tx, &mut tx, |t| {
            let moved = sqlx::query(
                "UPDATE log_checkpointer SET tree_size = $2 WHERE id = 1 AND tree_size = $1",
            )
            .bind(from)
            .bind(checkpoint.tree_size)
            .execute(&mut *t.conn)
            .await?;
            if moved.rows_affected() == 0 {
                return Ok(None);
            }
            for chunk in nodes.chunks(500) {
                let mut insert =
                    QueryBuilder::<DB>::new("INSERT INTO log_nodes (level, idx, hash) ");
                insert.push_values(chunk, |mut row, n| {
                    row.push_bind(i32::try_from(n.level).unwrap_or(i32::MAX))
                        .push_bind(i64::try_from(n.idx).unwrap_or(i64::MAX))
                        .push_bind(n.hash.to_vec());
                });
                // The same node computed twice is the same hash.
                insert.push(" ON CONFLICT (level, idx) DO NOTHING");
                insert.build().execute(&mut *t.conn).await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO log_checkpoints (tree_size, root, signed_at, key_name, note)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(checkpoint.tree_size)
            .bind(checkpoint.root.to_vec())
            .bind(Ts(checkpoint.signed_at))
            .bind(checkpoint.key_name.as_str())
            .bind(checkpoint.note.as_str())
            .fetch_one(&mut *t.conn)
            .await?;
            id
        });
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Stored checkpoints with an id above `after_id`, oldest first, at most `limit`.
    pub async fn checkpoints(&self, after_id: i64, limit: u32) -> Result<Vec<Checkpoint>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, tree_size, root, signed_at, key_name, note FROM log_checkpoints
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The latest stored checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, tree_size, root, signed_at, key_name, note FROM log_checkpoints
                 ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// What the log and the content it covers disagree on, at most `limit` of each kind:
    /// leaves whose event, access row or erasure is gone, and those with no leaf.
    pub async fn unbacked(&self, limit: u32) -> Result<Vec<Unbacked>> {
        let limit = i64::from(limit);
        /// Leaves without content; events (case, seq), access rows and erasures without a leaf.
        type Found = (Vec<LeafRow>, Vec<(String, i64)>, Vec<i64>, Vec<i64>);
        let (leaves, events, accesses, erasures): Found = on_backend!(Store, self, |s| {
            let leaves = sqlx::query_as(
                "SELECT l.idx, l.kind, l.case_id, l.seq, l.ref_id, l.leaf_hash FROM log_leaves l
                 WHERE (l.kind = 'event' AND NOT EXISTS
                           (SELECT 1 FROM events e WHERE e.case_id = l.case_id AND e.seq = l.seq))
                    OR (l.kind = 'access' AND NOT EXISTS
                           (SELECT 1 FROM audit_access a WHERE a.id = l.ref_id))
                    OR (l.kind = 'erasure' AND NOT EXISTS
                           (SELECT 1 FROM erasures x WHERE x.id = l.ref_id))
                 ORDER BY l.idx LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&s.read)
            .await?;
            let events = sqlx::query_as(
                "SELECT e.case_id, e.seq FROM events e
                 WHERE NOT EXISTS
                     (SELECT 1 FROM log_leaves l WHERE l.case_id = e.case_id AND l.seq = e.seq)
                 ORDER BY e.case_id, e.seq LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&s.read)
            .await?;
            let accesses = sqlx::query_scalar(
                "SELECT a.id FROM audit_access a
                 WHERE NOT EXISTS
                     (SELECT 1 FROM log_leaves l WHERE l.kind = 'access' AND l.ref_id = a.id)
                 ORDER BY a.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&s.read)
            .await?;
            let erasures = sqlx::query_scalar(
                "SELECT x.id FROM erasures x
                 WHERE NOT EXISTS
                     (SELECT 1 FROM log_leaves l WHERE l.kind = 'erasure' AND l.ref_id = x.id)
                 ORDER BY x.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&s.read)
            .await?;
            (leaves, events, accesses, erasures)
        });
        let mut out = Vec::new();
        for row in leaves {
            out.push(Unbacked::Leaf(Leaf::try_from(row)?));
        }
        for (case_id, seq) in events {
            let seq = crate::seq::read(seq)?;
            out.push(Unbacked::Event { case_id, seq });
        }
        out.extend(accesses.into_iter().map(Unbacked::Access));
        out.extend(erasures.into_iter().map(Unbacked::Erasure));
        Ok(out)
    }

    /// Gives leaves to what was stored before the log existed (a store created before
    /// migration 0006): its events by time, then its access rows by id. Done once, at
    /// connect, while the log is empty.
    pub(crate) async fn adopt_unlogged(&self) -> Result<()> {
        if self.log_size().await? > 0 {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        /// Events as (case, seq, hash as stored), and access rows.
        type Found = (Vec<(String, i64, Vec<u8>)>, Vec<AuditAccess>);
        let (events, accesses): Found = on_backend!(Tx, &mut tx, |t| {
            // Locked, and read again: another process may have adopted them meanwhile.
            // A log emptied while checkpoints remain is not refilled: verify reports it.
            let size: i64 =
                sqlx::query_scalar(sql!(DB: "SELECT size FROM log_size WHERE id = 1" for_update))
                    .fetch_one(&mut *t.conn)
                    .await?;
            let signed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_checkpoints")
                .fetch_one(&mut *t.conn)
                .await?;
            if size > 0 || signed > 0 {
                return Ok(());
            }
            let events = sqlx::query_as(
                "SELECT case_id, seq, hash FROM events ORDER BY recorded_at, case_id, seq",
            )
            .fetch_all(&mut *t.conn)
            .await?;
            let accesses = sqlx::query_as(
                "SELECT id, at, user_name, role, action, scope, revealed, reason
                     FROM audit_access ORDER BY id",
            )
            .fetch_all(&mut *t.conn)
            .await?;
            (events, accesses)
        });
        if events.is_empty() && accesses.is_empty() {
            return Ok(());
        }
        let mut leaves: Vec<NewLeaf> = events
            .iter()
            .map(|(case_id, seq, hash)| {
                Ok(NewLeaf::event(
                    case_id,
                    crate::seq::read(*seq)?,
                    &crate::codec::hash_hex(hash),
                ))
            })
            .collect::<Result<_>>()?;
        leaves.extend(accesses.iter().map(access_new_leaf));
        tx.add_leaves(&leaves).await?;
        tx.commit().await
    }
}

/// The leaf of a stored access row.
pub(crate) fn access_new_leaf(a: &AuditAccess) -> NewLeaf {
    NewLeaf {
        kind: LeafKind::Access,
        case_id: None,
        seq: None,
        ref_id: Some(a.id),
        leaf_hash: leaf_hash(access_leaf(a).as_bytes()),
    }
}

/// The leaf of a stored erasure.
pub(crate) fn erasure_new_leaf(e: &Erasure) -> NewLeaf {
    NewLeaf {
        kind: LeafKind::Erasure,
        case_id: Some(e.case_id.clone()),
        seq: None,
        ref_id: Some(e.id),
        leaf_hash: leaf_hash(erasure_leaf(e).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_hash_is_sha256_of_zero_and_the_leaf() {
        // RFC 6962's reference vectors: the empty leaf, and the leaf 0x00.
        let hex = |h: Hash| hex::encode(h);
        assert_eq!(
            hex(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hex(leaf_hash(&[0])),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
        );
    }

    #[test]
    fn leaf_texts_are_unambiguous_json() {
        assert_eq!(
            event_leaf("c-1", 3, "ab"),
            r#"["event","c-1",3,"ab"]"#,
            "compact, in this order"
        );
        // A case id with a quote or a newline cannot pass for another leaf.
        let odd = event_leaf("a\",\"b\n", 1, "x");
        let parsed: serde_json::Value = serde_json::from_str(&odd).unwrap_or_default();
        assert_eq!(parsed[1], "a\",\"b\n");
        assert_eq!(parsed.as_array().map(Vec::len), Some(4));
    }
}
