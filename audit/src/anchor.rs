//! Anchors: one hash over the heads of all cases, to print, sign or publish. A later
//! `audit verify --anchor FILE` proves that nothing recorded before the anchor changed: each
//! case it lists must still have, at the same place, the event whose hash the anchor kept,
//! and the chain up to it must verify (so every event before it is as it was).

use serde::{Deserialize, Serialize};
use sopflow_engine::case::chain::sha256_hex;
use sopflow_store::Store;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{AuditError, CaseWalk};

/// The `format` of an anchor file.
pub const FORMAT: &str = "sopflow-anchor/1";

/// A case head: the case's last event (its seq) and that event's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnchorHead {
    pub case_id: String,
    pub seq: u64,
    pub head: String,
}

/// An anchor, as exported (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// `sopflow-anchor/1`.
    pub format: String,
    /// SHA-256 (hex) over the heads, sorted by case id: see [`anchor_hash`].
    pub anchor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// How many cases the anchor covers.
    pub cases: u64,
    pub heads: Vec<AnchorHead>,
}

/// SHA-256 over one line `case_id SP seq SP head LF` per case, in bytewise case-id order.
/// Case ids, seqs and hex hashes hold no space or newline, so the text is unambiguous.
pub fn anchor_hash(heads: &[AnchorHead]) -> String {
    let mut sorted: Vec<&AnchorHead> = heads.iter().collect();
    sorted.sort_by(|a, b| a.case_id.as_bytes().cmp(b.case_id.as_bytes()));
    let mut text = String::with_capacity(sorted.len() * 120);
    for h in sorted {
        text.push_str(&h.case_id);
        text.push(' ');
        text.push_str(&h.seq.to_string());
        text.push(' ');
        text.push_str(&h.head);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

impl Anchor {
    /// The anchor of these heads at `now`.
    pub fn new(mut heads: Vec<AnchorHead>, now: OffsetDateTime) -> Self {
        heads.sort_by(|a, b| a.case_id.as_bytes().cmp(b.case_id.as_bytes()));
        Self {
            format: FORMAT.to_owned(),
            anchor: anchor_hash(&heads),
            created_at: now,
            cases: heads.len() as u64,
            heads,
        }
    }

    /// Checks that a file is an anchor and its heads give its hash (an edited list of heads
    /// would otherwise vouch for an edited history). Compare `anchor` with the published one.
    pub fn check_self(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "not an anchor: format {:?}, expected {FORMAT:?}",
                self.format
            ));
        }
        if self.cases != self.heads.len() as u64 {
            return Err(format!(
                "the anchor says {} cases and lists {}",
                self.cases,
                self.heads.len()
            ));
        }
        let mut ids: Vec<&str> = self.heads.iter().map(|h| h.case_id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("the anchor lists a case twice".to_owned());
        }
        let computed = anchor_hash(&self.heads);
        if computed != self.anchor {
            return Err(format!(
                "the anchor's heads hash to {computed}, not to its anchor {}",
                self.anchor
            ));
        }
        Ok(())
    }
}

/// The anchor of the store's case heads now. Holds one line per case (the anchor lists them).
pub async fn make_anchor(store: &Store, now: OffsetDateTime) -> Result<Anchor, AuditError> {
    let mut heads = Vec::new();
    let mut walk = CaseWalk::new(None);
    while let Some(record) = walk.next(store).await? {
        heads.push(AnchorHead {
            seq: record.version,
            case_id: record.case_id,
            head: record.head_hash,
        });
    }
    Ok(Anchor::new(heads, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: &str, seq: u64) -> AnchorHead {
        AnchorHead {
            case_id: id.into(),
            seq,
            head: format!("{seq:064x}"),
        }
    }

    #[test]
    fn the_anchor_hash_ignores_input_order_and_sees_any_change() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let a = Anchor::new(vec![head("b", 2), head("a", 1)], now);
        let b = Anchor::new(vec![head("a", 1), head("b", 2)], now);
        assert_eq!(a.anchor, b.anchor);
        assert_eq!(a.heads[0].case_id, "a");
        assert!(a.check_self().is_ok());
        let moved = Anchor::new(vec![head("a", 1), head("b", 3)], now);
        assert_ne!(a.anchor, moved.anchor);
        let mut edited = a.clone();
        edited.heads[1].seq = 3;
        assert!(edited.check_self().unwrap_err().contains("hash to"));
        let mut twice = a.clone();
        twice.heads[1] = head("a", 1);
        twice.anchor = anchor_hash(&twice.heads);
        assert!(twice.check_self().is_err());
        assert_eq!(Anchor::new(Vec::new(), now).cases, 0);
    }
}
