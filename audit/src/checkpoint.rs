//! Signed checkpoints of the log: (tree size, root, time), signed with an Ed25519 key that
//! lives in a file outside the database, in the text forms of the transparency-log world so
//! that tools other than sopflow can check them:
//!
//! - the checkpoint is a C2SP `tlog-checkpoint` body (origin, tree size, base64 root, then an
//!   extension line `time RFC3339`) in a C2SP `signed-note`: the body, a blank line, and
//!   `— NAME BASE64(key id || signature)`, the key id being the first 4 bytes of
//!   SHA-256(NAME || "\n" || 0x01 || public key) and the signature Ed25519 over the body;
//! - the public key is the note verifier key `NAME+KEYID+BASE64(0x01 || public key)`, one
//!   line to print and publish; the key file holds `PRIVATE+KEY+NAME+KEYID+BASE64(0x01 ||
//!   seed)` and is created readable by its owner only (a key file others can read is refused).
//!
//! [`checkpoint`] computes the tree's new nodes from the last checkpointed size, signs and
//! stores the checkpoint; several processes may run it at once (the store lets one move on).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use sopflow_store::log::{Hash, LEAF_PAGE};
use sopflow_store::{Checkpoint, NewCheckpoint, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AuditError;
use crate::merkle::{Frontier, Subtrees};

/// The key file's first word (as Go's `note` package writes signer keys).
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// Ed25519's algorithm byte in key ids and keys (C2SP signed-note).
const ED25519: u8 = 0x01;
/// What starts a signature line.
const SIGNATURE_DASH: &str = "\u{2014} ";

/// Why a key or a checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("not a key: {0}")]
    BadKey(String),
    #[error("the key file {path} can be read by others (mode {mode:o}): `chmod 600 {path}`")]
    KeyFileOpen { path: String, mode: u32 },
    #[error("not a signed checkpoint: {0}")]
    Malformed(String),
    /// Signed, but not by the key given.
    #[error("signed by another key ({0}), not by {1}")]
    OtherKey(String, String),
    #[error("its signature by {0} does not verify")]
    BadSignature(String),
}

/// A key name: the log's origin. No space, no `+`, no line break (signed-note's rule).
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKey(format!(
            "the name {name:?} must be non-empty, without spaces or `+`"
        )));
    }
    Ok(())
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn hex4(id: [u8; 4]) -> String {
    hex::encode(id)
}

/// The public key that checks checkpoints.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for PublicKey {
    /// The verifier key: `NAME+KEYID+BASE64(0x01 || key)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex4(self.id), B64.encode(bytes))
    }
}

impl PublicKey {
    /// Parses a verifier key (`NAME+KEYID+BASE64`), checking its key id.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        // The name holds no `+`; the base64 key may.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("expected NAME+KEYID+KEY".into()));
        };
        check_name(name)?;
        let bytes = B64
            .decode(b64)
            .map_err(|e| NoteError::BadKey(format!("its key is not base64: {e}")))?;
        let key: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, rest)) => rest
                .try_into()
                .map_err(|_| NoteError::BadKey("an Ed25519 key has 32 bytes".into()))?,
            _ => return Err(NoteError::BadKey("not an Ed25519 key".into())),
        };
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|e| NoteError::BadKey(format!("not an Ed25519 point: {e}")))?;
        let public = Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        };
        if hex4(public.id) != id.to_ascii_lowercase() {
            return Err(NoteError::BadKey(format!(
                "its key id {id} is not the key's ({})",
                hex4(public.id)
            )));
        }
        Ok(public)
    }

    /// The key's name, the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The signing key, held by the process that signs.
pub struct SignerKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        write!(f, "SignerKey({})", self.public())
    }
}

impl SignerKey {
    /// A new key named `name` (the log's origin, e.g. `disdukcapil.pasamanbaratkab.go.id/sopflow`),
    /// from the operating system's randomness.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| NoteError::BadKey(format!("no randomness for a key: {e}")))?;
        Ok(Self::from_seed(name, seed))
    }

    fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey {
            name: self.name.clone(),
            id: key_id(&self.name, &key),
            key,
        }
    }

    /// The key file's text.
    fn to_text(&self) -> String {
        let public = self.public();
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}\n",
            self.name,
            hex4(public.id),
            B64.encode(bytes)
        )
    }

    fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or_else(|| NoteError::BadKey(format!("a key file starts with {PRIVATE_PREFIX}")))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey(
                "expected PRIVATE+KEY+NAME+KEYID+KEY".into(),
            ));
        };
        check_name(name)?;
        let bytes = B64
            .decode(b64)
            .map_err(|e| NoteError::BadKey(format!("its key is not base64: {e}")))?;
        let seed: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, rest)) => rest
                .try_into()
                .map_err(|_| NoteError::BadKey("an Ed25519 key has 32 bytes".into()))?,
            _ => return Err(NoteError::BadKey("not an Ed25519 key".into())),
        };
        let signer = Self::from_seed(name, seed);
        if hex4(signer.public().id) != id.to_ascii_lowercase() {
            return Err(NoteError::BadKey(
                "its key id does not match its key".into(),
            ));
        }
        Ok(signer)
    }

    /// Writes a new key file, readable and writable by its owner only; refuses to overwrite.
    pub fn create_file(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(self.to_text().as_bytes())?;
        file.sync_all()
    }

    /// Reads a key file; refuses one that others than its owner can read.
    pub fn read_file(path: &Path) -> Result<Self, AuditError> {
        let invalid = |e: NoteError| AuditError::Invalid(format!("{}: {e}", path.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path)
                .map_err(|e| AuditError::Invalid(format!("cannot read {}: {e}", path.display())))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(AuditError::Invalid(
                    NoteError::KeyFileOpen {
                        path: path.display().to_string(),
                        mode,
                    }
                    .to_string(),
                ));
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuditError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(invalid)
    }

    /// Signs a checkpoint of the tree of `size` leaves with root `root` at `time`: the note.
    pub fn sign(&self, size: u64, root: &Hash, time: OffsetDateTime) -> String {
        let body = body(&self.name, size, root, time);
        let signature = self.key.sign(body.as_bytes());
        let mut sig = self.public().id.to_vec();
        sig.extend_from_slice(&signature.to_bytes());
        format!(
            "{body}\n{SIGNATURE_DASH}{} {}\n",
            self.name,
            B64.encode(sig)
        )
    }
}

/// The checkpoint's body: origin, size, root, and the time as an extension line.
fn body(origin: &str, size: u64, root: &Hash, time: OffsetDateTime) -> String {
    let time = time
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default();
    format!("{origin}\n{size}\n{}\ntime {time}\n", B64.encode(root))
}

/// A checkpoint whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub time: OffsetDateTime,
}

/// Checks a signed checkpoint against `key` and reads it.
pub fn open(note: &str, key: &PublicKey) -> Result<Signed, NoteError> {
    let split = note
        .find("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let (body, signatures) = (&note[..=split], &note[split + 2..]);
    let mut others = Vec::new();
    let mut verified = false;
    for line in signatures.lines().filter(|l| !l.is_empty()) {
        let rest = line
            .strip_prefix(SIGNATURE_DASH)
            .ok_or_else(|| NoteError::Malformed(format!("not a signature line: {line:?}")))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| NoteError::Malformed(format!("not a signature line: {line:?}")))?;
        let bytes = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("a signature that is not base64".into()))?;
        if bytes.len() != 4 + 64 {
            others.push(format!("{name}, a {}-byte signature", bytes.len()));
            continue;
        }
        if name != key.name || bytes[..4] != key.id {
            others.push(format!(
                "{name}+{}",
                hex4([bytes[0], bytes[1], bytes[2], bytes[3]])
            ));
            continue;
        }
        let signature = Signature::from_slice(&bytes[4..])
            .map_err(|_| NoteError::BadSignature(key.to_string()))?;
        key.key
            .verify_strict(body.as_bytes(), &signature)
            .map_err(|_| NoteError::BadSignature(key.to_string()))?;
        verified = true;
    }
    if !verified {
        return Err(match others.is_empty() {
            true => NoteError::Malformed("no signature".into()),
            false => NoteError::OtherKey(others.join(", "), key.to_string()),
        });
    }
    let signed = read_body(body)?;
    if signed.origin != key.name {
        return Err(NoteError::Malformed(format!(
            "a checkpoint of log {:?}, the key is {:?}'s",
            signed.origin, key.name
        )));
    }
    Ok(signed)
}

/// Reads a checkpoint without checking its signature (to know which tree size it names
/// before anything is proved against it; whoever relies on it checks it with [`open`]).
pub fn read_unverified(note: &str) -> Result<Signed, NoteError> {
    let split = note
        .find("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    read_body(&note[..=split])
}

fn read_body(body: &str) -> Result<Signed, NoteError> {
    let mut lines = body.lines();
    let malformed = |what: &str| NoteError::Malformed(what.to_owned());
    let origin = lines.next().ok_or_else(|| malformed("no origin"))?;
    let size = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| malformed("no tree size"))?;
    let root: Hash = lines
        .next()
        .and_then(|l| B64.decode(l).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed("no root hash"))?;
    let time = lines
        .find_map(|l| l.strip_prefix("time "))
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .ok_or_else(|| malformed("no time"))?;
    Ok(Signed {
        origin: origin.to_owned(),
        size,
        root,
        time,
    })
}

/// Reads the roots of the perfect subtrees `wanted` from the store: level 0 from the leaves,
/// the others from the stored nodes. Absent ones are left out (the computation says which).
pub async fn fetch_subtrees(
    store: &Store,
    wanted: &[(u32, u64)],
) -> Result<HashMap<(u32, u64), Hash>, AuditError> {
    let (leaves, nodes): (Vec<_>, Vec<_>) = wanted.iter().partition(|(level, _)| *level == 0);
    let mut found = store.log_nodes(&nodes).await?;
    let indices: Vec<i64> = leaves
        .iter()
        .filter_map(|(_, idx)| i64::try_from(*idx).ok())
        .collect();
    for (idx, hash) in store.leaf_hashes(&indices).await? {
        found.insert((0, u64::try_from(idx).unwrap_or(0)), hash);
    }
    Ok(found)
}

/// Signs and stores a checkpoint of the whole log at `now`: the tree's nodes from the last
/// checkpointed size on are computed from the new leaves and stored with it. With
/// `only_if_grown`, nothing is signed when no leaf was added since the last checkpoint.
pub async fn checkpoint(
    store: &Store,
    signer: &SignerKey,
    now: OffsetDateTime,
    only_if_grown: bool,
) -> Result<Option<Checkpoint>, AuditError> {
    loop {
        let from = store.checkpointed_size().await?;
        let to = store.log_size().await?;
        if to < from {
            return Err(AuditError::Corrupt(format!(
                "the log holds {to} leaves, {from} were already checkpointed"
            )));
        }
        if only_if_grown && to == from && store.latest_checkpoint().await?.is_some() {
            return Ok(None);
        }
        let start = u64::try_from(from).unwrap_or(0);
        let subtrees = fetch_subtrees(store, &Frontier::wanted(start)).await?;
        let mut frontier = Frontier::at(&subtrees as &dyn Subtrees, start)
            .map_err(|e| AuditError::Corrupt(format!("cannot resume the log's tree: {e}")))?;
        let mut nodes = Vec::new();
        let mut next = from;
        while next < to {
            let page = store.leaves(next, LEAF_PAGE).await?;
            if page.is_empty() {
                break;
            }
            for leaf in page.iter().take_while(|l| l.idx < to) {
                if leaf.idx != next {
                    return Err(AuditError::Corrupt(format!(
                        "the log has no leaf {next} (the next stored is {})",
                        leaf.idx
                    )));
                }
                nodes.extend(frontier.push(leaf.leaf_hash));
                next += 1;
            }
            if page.last().is_some_and(|l| l.idx >= to - 1) {
                break;
            }
        }
        if next != to {
            return Err(AuditError::Corrupt(format!(
                "the log says {to} leaves, it holds {next}"
            )));
        }
        let root = frontier.root();
        // The time as the store keeps it (microseconds), so the note and the row agree.
        let now = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now);
        let note = signer.sign(frontier.size(), &root, now);
        let new = NewCheckpoint {
            tree_size: to,
            root,
            signed_at: now,
            key_name: signer.public().to_string(),
            note,
        };
        if let Some(id) = store.store_checkpoint(from, &nodes, &new).await? {
            return Ok(Some(Checkpoint {
                id,
                tree_size: new.tree_size,
                root: root.to_vec(),
                signed_at: new.signed_at,
                key_name: new.key_name,
                note: new.note,
            }));
        }
        // Another process checkpointed meanwhile: go on from where it left the tree.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> SignerKey {
        SignerKey::from_seed("example.org/log", [7; 32])
    }

    #[test]
    fn a_note_verifies_with_its_key_only() {
        let s = signer();
        let root = [3u8; 32];
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let note = s.sign(42, &root, at);
        assert!(note.starts_with("example.org/log\n42\n"), "{note}");
        assert!(note.contains("\ntime 2027-01-15T08:00:00Z\n\n\u{2014} example.org/log "));
        let opened = open(&note, &s.public()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((opened.size, opened.root, opened.time), (42, root, at));

        // Another key with the same name: refused as another key.
        let other = SignerKey::from_seed("example.org/log", [8; 32]);
        assert!(matches!(
            open(&note, &other.public()),
            Err(NoteError::OtherKey(..))
        ));
        // An edited body: the signature no longer verifies.
        let edited = note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            open(&edited, &s.public()),
            Err(NoteError::BadSignature(_))
        ));
        // A note signed by another key entirely.
        let theirs = SignerKey::from_seed("mallory", [9; 32]).sign(42, &root, at);
        assert!(matches!(
            open(&theirs, &s.public()),
            Err(NoteError::OtherKey(..))
        ));
    }

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        // Base64 holds `+` now and then: keys of many seeds, some of them with it.
        let mut with_plus = 0;
        for seed in 0..64u8 {
            let s = SignerKey::from_seed("example.org/log", [seed; 32]);
            let text = s.public().to_string();
            with_plus += usize::from(text.matches('+').count() > 2);
            assert_eq!(PublicKey::parse(&text).ok(), Some(s.public()), "{text}");
            let again = SignerKey::parse(&s.to_text()).map(|k| k.public());
            assert_eq!(again.ok(), Some(s.public()));
        }
        assert!(with_plus > 0, "some key's base64 has a `+`");
        let s = signer();
        let public = PublicKey::parse(&s.public().to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(public, s.public());
        let again = SignerKey::parse(&s.to_text()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.public(), s.public());
        // A wrong key id is refused.
        let text = s.public().to_string();
        let mut parts: Vec<&str> = text.splitn(3, '+').collect();
        parts[1] = "00000000";
        assert!(PublicKey::parse(&parts.join("+")).is_err());
        assert!(SignerKey::generate("has space").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_private_and_one_that_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("log.key");
        let s = signer();
        s.create_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert!(s.create_file(&path).is_err(), "never overwritten");
        let read = SignerKey::read_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.public(), s.public());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = SignerKey::read_file(&path)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
    }
}
