//! Inclusion proofs of a case's history against a signed checkpoint, checkable by someone who
//! has only the log's public key and the proof (which carries the checkpoint).
//!
//! For each event the proof gives what its hash covers (the previous hash and the event's
//! canonical JSON, personal values as salted hashes: no personal data), the leaf naming the
//! event and its hash, the leaf's index and its audit path (RFC 9162 §2.1.3). To check it:
//!
//! 1. the checkpoint is a signed note by the log's key (C2SP signed-note, Ed25519): it gives
//!    the tree size and root;
//! 2. each event's hash is SHA-256(prev_hash || "\n" || event), and each event's prev_hash is
//!    the hash of the event before it (the first: 64 zeros);
//! 3. each leaf is `["event", case_id, seq, hash]` with that case, seq and hash;
//! 4. SHA-256(0x00 || leaf), with the audit path, gives the checkpoint's root for that index
//!    and size (RFC 9162 §2.1.3.2).
//!
//! [`check`] does all four (`sopflow audit check-proof`); any RFC 9162 verifier does step 4.

use serde::{Deserialize, Serialize};
use sopflow_engine::case::chain::{GENESIS, redacted, sha256_hex};
use sopflow_store::log::event_leaf;
use sopflow_store::{LeafKind, Store};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::checkpoint::{PublicKey, fetch_subtrees, open, read_unverified};
use crate::merkle::{self, from_hex, hex, inclusion_proof, needed};
use crate::{AuditError, SopCache, decode};

/// The `format` of a proof.
pub const FORMAT: &str = "sopflow-inclusion/1";

/// A case's events proved against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseProof {
    /// `sopflow-inclusion/1`.
    pub format: String,
    pub case_id: String,
    /// The signed checkpoint (its note) the proofs lead to.
    pub checkpoint: String,
    pub events: Vec<EventProof>,
    /// The case's events after the checkpoint: not covered by it yet.
    pub not_covered: Vec<u64>,
}

/// One event, its leaf and its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventProof {
    pub seq: u64,
    /// What the event's hash covers: the previous event's hash…
    pub prev_hash: String,
    /// …and the event's canonical JSON, personal values as their salted hashes.
    pub event: String,
    /// The leaf: `["event", case_id, seq, hash]`.
    pub leaf: String,
    /// The leaf's index in the log.
    pub index: u64,
    /// The audit path from the leaf's sibling up (hex).
    pub proof: Vec<String>,
}

/// What a proof that checks shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub case_id: String,
    pub events: usize,
    pub tree_size: u64,
    pub signed_at: OffsetDateTime,
    pub not_covered: usize,
}

/// Proves `case_id`'s events against `checkpoint` (a note, e.g. one published earlier), or
/// against the latest stored checkpoint.
pub async fn prove_case(
    store: &Store,
    case_id: &str,
    checkpoint: Option<&str>,
) -> Result<CaseProof, AuditError> {
    let note = match checkpoint {
        Some(note) => note.to_owned(),
        None => {
            store
                .latest_checkpoint()
                .await?
                .ok_or_else(|| {
                    AuditError::Invalid(
                        "no checkpoint is stored yet: sign one (`sopflow audit checkpoint`)".into(),
                    )
                })?
                .note
        }
    };
    let signed = read_unverified(&note).map_err(|e| AuditError::Invalid(e.to_string()))?;
    let computed = u64::try_from(store.checkpointed_size().await?).unwrap_or(0);
    if signed.size > computed {
        return Err(AuditError::Invalid(format!(
            "the checkpoint covers {} leaves, this log's tree is computed up to {computed}: \
             it is not this log's",
            signed.size
        )));
    }
    let record = store
        .case(case_id)
        .await?
        .ok_or_else(|| AuditError::CaseNotFound(case_id.to_owned()))?;
    let stored = store.events(case_id).await?;
    let events = decode(case_id, &stored)?;
    let mut sops = SopCache::default();
    let sop = sops
        .get(store, &record.sop_id, record.sop_version)
        .await?
        .map_err(AuditError::Corrupt)?;
    let salt = store.case_salt(case_id).await?.unwrap_or_default();
    let leaves = store.case_leaves(case_id).await?;
    let mut proof = CaseProof {
        format: FORMAT.to_owned(),
        case_id: case_id.to_owned(),
        checkpoint: note,
        events: Vec::new(),
        not_covered: Vec::new(),
    };
    for (event, row) in events.iter().zip(&stored) {
        let leaf = leaves
            .iter()
            .find(|l| l.kind == LeafKind::Event && l.seq == Some(row.seq));
        let Some(leaf) = leaf.filter(|l| u64::try_from(l.idx).unwrap_or(u64::MAX) < signed.size)
        else {
            proof.not_covered.push(event.seq);
            continue;
        };
        let index = u64::try_from(leaf.idx).unwrap_or(0);
        let wanted = needed(|t| inclusion_proof(t, index, signed.size).map(|_| ()));
        let subtrees = fetch_subtrees(store, &wanted).await?;
        let path = inclusion_proof(&subtrees, index, signed.size)
            .map_err(|e| AuditError::Corrupt(format!("cannot prove leaf {index}: {e}")))?;
        proof.events.push(EventProof {
            seq: event.seq,
            prev_hash: row.prev_hash.clone(),
            event: redacted(event, sop.sop.personal_fields(), &salt).to_canonical_json(),
            leaf: event_leaf(case_id, row.seq, &row.hash),
            index,
            proof: path.iter().map(hex).collect(),
        });
    }
    Ok(proof)
}

/// Checks a proof with the log's public key only: the checkpoint's signature, each event's
/// hash from what it covers and its link to the one before, each leaf, each audit path.
pub fn check(proof: &CaseProof, key: &PublicKey) -> Result<Checked, String> {
    if proof.format != FORMAT {
        return Err(format!("not a proof: format {:?}", proof.format));
    }
    let signed = open(&proof.checkpoint, key).map_err(|e| format!("the checkpoint: {e}"))?;
    let mut previous: Option<(u64, String)> = None;
    for e in &proof.events {
        let at = |what: String| format!("event {}: {what}", e.seq);
        let hash = {
            let mut text = e.prev_hash.clone().into_bytes();
            text.push(b'\n');
            text.extend_from_slice(e.event.as_bytes());
            sha256_hex(&text)
        };
        let expected_prev = match &previous {
            None if e.seq == 1 => Some(GENESIS.to_owned()),
            Some((seq, h)) if *seq + 1 == e.seq => Some(h.clone()),
            _ => None,
        };
        if let Some(expected) = expected_prev
            && expected != e.prev_hash
        {
            return Err(at(
                "its previous hash is not the hash of the event before it".into(),
            ));
        }
        let content: serde_json::Value =
            serde_json::from_str(&e.event).map_err(|err| at(format!("not JSON: {err}")))?;
        if content.get("seq").and_then(serde_json::Value::as_u64) != Some(e.seq) {
            return Err(at("its content is another event".into()));
        }
        let leaf: serde_json::Value = serde_json::from_str(&e.leaf)
            .map_err(|err| at(format!("its leaf is not JSON: {err}")))?;
        let names = leaf.as_array().is_some_and(|l| {
            l.len() == 4
                && l[0] == "event"
                && l[1] == proof.case_id.as_str()
                && l[2].as_u64() == Some(e.seq)
                && l[3] == hash.as_str()
        });
        if !names {
            return Err(at(format!(
                "its leaf {} does not name this case, event and hash {hash}",
                e.leaf
            )));
        }
        let path: Vec<_> = e
            .proof
            .iter()
            .map(|h| from_hex(h).ok_or_else(|| at(format!("{h:?} is not a hash"))))
            .collect::<Result<_, _>>()?;
        if !merkle::verify_inclusion(e.leaf.as_bytes(), e.index, signed.size, &path, &signed.root) {
            return Err(at(format!(
                "its audit path does not lead from leaf {} to the checkpoint's root",
                e.index
            )));
        }
        previous = Some((e.seq, hash));
    }
    Ok(Checked {
        case_id: proof.case_id.clone(),
        events: proof.events.len(),
        tree_size: signed.size,
        signed_at: signed.time,
        not_covered: proof.not_covered.len(),
    })
}
