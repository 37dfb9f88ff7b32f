//! The log against what it covers and against its signed checkpoints, over the whole store:
//!
//! - leaves and rows that do not back each other: a leaf whose event (of a case no longer
//!   stored), access-log row or erasure is gone; an event, access row or erasure with no leaf;
//! - every leaf, walked in order: no gaps, the size row's count, each access row and erasure
//!   still the one its leaf recorded (events are compared case by case in `verify`);
//! - every stored checkpoint: signed by the log's key (another key is refused), its row as its
//!   note says, its root the root of the log's first `size` leaves recomputed from the leaves
//!   (so a change below a signed size is found even when the stored leaves and nodes were
//!   rewritten to match), and each a prefix of the next by a consistency proof built from the
//!   stored tree (RFC 9162 §2.1.4) and checked by ct-merkle;
//! - checkpoints kept outside (exported notes): each verifies, matches the log and is stored.

use std::collections::{BTreeSet, HashMap, HashSet};

use sopflow_store::log::{Hash, LEAF_PAGE, access_leaf, erasure_leaf, leaf_hash};
use sopflow_store::{Checkpoint, LeafKind, Store, Unbacked};

use crate::AuditError;
use crate::checkpoint::{Signed, fetch_subtrees, open};
use crate::merkle::{Frontier, consistency_proof, needed, verify_consistency};
use crate::verify::{Check, Finding, VerifyOptions, VerifyReport};

/// Unbacked rows reported at most (of each kind).
const UNBACKED_LIMIT: u32 = 1_000;

pub(crate) async fn check_log(
    store: &Store,
    options: &VerifyOptions,
    walked: &HashSet<String>,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    unbacked(store, walked, report).await?;

    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = store.checkpoints(after, 500).await?;
        after = page.last().map_or(after, |c| c.id);
        let done = page.len() < 500;
        stored.extend(page);
        if done {
            break;
        }
    }
    let opened: Vec<(Checkpoint, Option<Result<Signed, String>>)> = stored
        .into_iter()
        .map(|c| {
            let signed = options
                .public_key
                .as_ref()
                .map(|key| open(&c.note, key).map_err(|e| e.to_string()));
            (c, signed)
        })
        .collect();
    let exported: Vec<Result<Signed, String>> = match &options.public_key {
        Some(key) => options
            .exported
            .iter()
            .map(|n| open(n, key).map_err(|e| e.to_string()))
            .collect(),
        None => Vec::new(),
    };
    let mut sizes: BTreeSet<u64> = opened
        .iter()
        .filter_map(|(_, s)| s.as_ref()?.as_ref().ok().map(|s| s.size))
        .collect();
    sizes.extend(
        exported
            .iter()
            .filter_map(|s| s.as_ref().ok().map(|s| s.size)),
    );

    let (count, roots) = walk_leaves(store, &sizes, report).await?;
    report.leaves = count;
    let size_row = u64::try_from(store.log_size().await?).unwrap_or(0);
    if size_row != count {
        report.findings.push(Finding::at(
            "log".into(),
            Check::Log,
            format!("its size row says {size_row} leaves, it holds {count}"),
        ));
    }

    if options.public_key.is_none() {
        if !opened.is_empty() {
            report.findings.push(Finding::at(
                "checkpoints".into(),
                Check::Checkpoint,
                format!(
                    "{} signed checkpoints are stored, but no public key was given to check them \
                     (--public-key)",
                    opened.len()
                ),
            ));
        }
        return Ok(());
    }
    if opened.is_empty() && count > 0 {
        report.findings.push(Finding::at(
            "log".into(),
            Check::Checkpoint,
            format!(
                "the log holds {count} leaves and no signed checkpoint: none was signed, or they \
                 were deleted"
            ),
        ));
    }
    // The last checkpoint that still matched: (id, size, root).
    let mut good: Option<(i64, u64, Hash)> = None;
    for (row, signed) in &opened {
        report.checkpoints += 1;
        let place = format!("checkpoint {}", row.id);
        let signed = match signed {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                report.findings.push(Finding::at(
                    place,
                    Check::Checkpoint,
                    format!("refused: {e}"),
                ));
                continue;
            }
            None => continue,
        };
        if i64::try_from(signed.size).ok() != Some(row.tree_size)
            || signed.root[..] != row.root[..]
            || signed.time != row.signed_at
        {
            report.findings.push(Finding::at(
                place.clone(),
                Check::Checkpoint,
                format!(
                    "its row says size {} at {}, its signed note says size {} at {}",
                    row.tree_size, row.signed_at, signed.size, signed.time
                ),
            ));
        }
        let Some(root) = roots.get(&signed.size) else {
            report.findings.push(Finding::at(
                place,
                Check::Checkpoint,
                format!(
                    "signed at {} over {} leaves, the log holds {count}: leaves were removed",
                    signed.time, signed.size
                ),
            ));
            continue;
        };
        if *root != signed.root {
            let since = match good {
                Some((id, size, _)) => {
                    let cases = cases_in(store, size, signed.size).await?;
                    format!(
                        "; checkpoint {id} (size {size}) still matches, so the change is among \
                         leaves {size}..{}{cases}",
                        signed.size
                    )
                }
                None => String::new(),
            };
            report.findings.push(Finding::at(
                place,
                Check::Checkpoint,
                format!(
                    "the log's first {} leaves no longer hash to the root signed at {}: a leaf \
                     below {} was changed, removed or inserted{since}",
                    signed.size, signed.time, signed.size
                ),
            ));
            continue;
        }
        if let Some((id, size, old_root)) = good
            && size != signed.size
            && !consistent(store, size, &old_root, signed.size, &signed.root).await?
        {
            report.findings.push(Finding::at(
                place.clone(),
                Check::Checkpoint,
                format!(
                    "the stored tree does not prove checkpoint {id} (size {size}) a prefix of \
                     this one: its nodes were changed"
                ),
            ));
        }
        if good.is_none_or(|(_, size, _)| size <= signed.size) {
            good = Some((row.id, signed.size, signed.root));
        }
        report.signed_size = report.signed_size.max(signed.size);
    }

    for (i, signed) in exported.iter().enumerate() {
        let place = format!("exported checkpoint {}", i + 1);
        let signed = match signed {
            Ok(s) => s,
            Err(e) => {
                report.findings.push(Finding::at(
                    place,
                    Check::Checkpoint,
                    format!("refused: {e}"),
                ));
                continue;
            }
        };
        match roots.get(&signed.size) {
            None => report.findings.push(Finding::at(
                place,
                Check::Checkpoint,
                format!(
                    "signed at {} over {} leaves, the log holds {count}: leaves were removed",
                    signed.time, signed.size
                ),
            )),
            Some(root) if *root != signed.root => report.findings.push(Finding::at(
                place,
                Check::Checkpoint,
                format!(
                    "the log's first {} leaves no longer hash to the root signed at {}",
                    signed.size, signed.time
                ),
            )),
            Some(_) => {
                let kept = opened.iter().any(|(row, _)| {
                    i64::try_from(signed.size).ok() == Some(row.tree_size)
                        && row.root[..] == signed.root[..]
                        && row.signed_at == signed.time
                });
                if !kept {
                    report.findings.push(Finding::at(
                        place,
                        Check::Checkpoint,
                        format!(
                            "the checkpoint signed at {} (size {}) is not among the stored ones: \
                             checkpoints were deleted from the database",
                            signed.time, signed.size
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Leaves and rows that do not back each other. Events of the cases walked were compared
/// case by case; here are those of cases the store no longer lists.
async fn unbacked(
    store: &Store,
    walked: &HashSet<String>,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    for u in store.unbacked(UNBACKED_LIMIT).await? {
        let finding = match u {
            Unbacked::Leaf(leaf) => match leaf.kind {
                LeafKind::Event => {
                    let case = leaf.case_id.clone().unwrap_or_default();
                    if walked.contains(&case) {
                        continue;
                    }
                    Finding::case(
                        &case,
                        leaf.seq,
                        Check::Log,
                        format!(
                            "the event is missing, and the case with it: the log recorded it at \
                             leaf {}",
                            leaf.idx
                        ),
                    )
                }
                LeafKind::Access => Finding::at(
                    format!("access {}", leaf.ref_id.unwrap_or_default()),
                    Check::Log,
                    format!(
                        "the access-log row is missing: the log recorded it at leaf {}",
                        leaf.idx
                    ),
                ),
                LeafKind::Erasure => Finding::case(
                    leaf.case_id.as_deref().unwrap_or_default(),
                    None,
                    Check::Log,
                    format!(
                        "the record of its erasure (erasure {}) is missing: the log recorded it at \
                         leaf {}",
                        leaf.ref_id.unwrap_or_default(),
                        leaf.idx
                    ),
                ),
            },
            Unbacked::Event { case_id, seq } => {
                if walked.contains(&case_id) {
                    continue;
                }
                Finding::case(
                    &case_id,
                    Some(seq),
                    Check::Log,
                    "the event is not in the log: it was written around the store".into(),
                )
            }
            Unbacked::Access(id) => Finding::at(
                format!("access {id}"),
                Check::Log,
                "the access-log row is not in the log: it was written around the store".into(),
            ),
            Unbacked::Erasure(id) => Finding::at(
                format!("erasure {id}"),
                Check::Log,
                "the erasure is not in the log: it was written around the store".into(),
            ),
        };
        report.findings.push(finding);
    }
    Ok(())
}

/// Walks every leaf in order: gaps, access rows and erasures against their leaves, and the
/// root at each of `sizes`. Returns the number of leaves and those roots.
async fn walk_leaves(
    store: &Store,
    sizes: &BTreeSet<u64>,
    report: &mut VerifyReport,
) -> Result<(u64, HashMap<u64, Hash>), AuditError> {
    let mut accesses: HashMap<i64, Hash> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.audit_accesses(after, 1_000).await?;
        for a in &page {
            accesses.insert(a.id, leaf_hash(access_leaf(a).as_bytes()));
            after = a.id;
        }
        if page.len() < 1_000 {
            break;
        }
    }
    let mut erasures: HashMap<i64, Hash> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.erasures(after, 1_000).await?;
        for e in &page {
            erasures.insert(e.id, leaf_hash(erasure_leaf(e).as_bytes()));
            after = e.id;
        }
        if page.len() < 1_000 {
            break;
        }
    }
    let mut roots = HashMap::new();
    let mut frontier = Frontier::default();
    if sizes.contains(&0) {
        roots.insert(0, frontier.root());
    }
    let mut next: i64 = 0;
    loop {
        let page = store.leaves(next, LEAF_PAGE).await?;
        for leaf in &page {
            if leaf.idx != next {
                report.findings.push(Finding::at(
                    format!("leaves {next}..{}", leaf.idx),
                    Check::Log,
                    "missing from the log".into(),
                ));
            }
            let expected = match leaf.kind {
                LeafKind::Access => leaf.ref_id.and_then(|id| accesses.get(&id)),
                LeafKind::Erasure => leaf.ref_id.and_then(|id| erasures.get(&id)),
                LeafKind::Event => None,
            };
            if let Some(expected) = expected
                && *expected != leaf.leaf_hash
            {
                let (what, place) = match leaf.kind {
                    LeafKind::Access => ("access-log row", "access"),
                    _ => ("erasure", "erasure"),
                };
                report.findings.push(Finding::at(
                    format!("{place} {}", leaf.ref_id.unwrap_or_default()),
                    Check::Log,
                    format!(
                        "the {what} is not the one the log recorded at leaf {}: it was changed since",
                        leaf.idx
                    ),
                ));
            }
            frontier.push(leaf.leaf_hash);
            if sizes.contains(&frontier.size()) {
                roots.insert(frontier.size(), frontier.root());
            }
            next = leaf.idx + 1;
        }
        if page.len() < LEAF_PAGE as usize {
            break;
        }
    }
    Ok((frontier.size(), roots))
}

/// Whether the stored tree proves the tree of `old` leaves a prefix of that of `new`.
async fn consistent(
    store: &Store,
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
) -> Result<bool, AuditError> {
    let wanted = needed(|t| consistency_proof(t, old, new).map(|_| ()));
    let subtrees = fetch_subtrees(store, &wanted).await?;
    Ok(match consistency_proof(&subtrees, old, new) {
        Ok(proof) => verify_consistency(old, old_root, new, new_root, &proof),
        Err(_) => false,
    })
}

/// ": cases A, B, ..." for the event leaves in `[from, to)` (at most ten named).
async fn cases_in(store: &Store, from: u64, to: u64) -> Result<String, AuditError> {
    let mut names: Vec<String> = Vec::new();
    let mut others = 0;
    let mut next = i64::try_from(from).unwrap_or(i64::MAX);
    let end = i64::try_from(to).unwrap_or(i64::MAX);
    'walk: while next < end {
        let page = store.leaves(next, LEAF_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for leaf in &page {
            if leaf.idx >= end {
                break 'walk;
            }
            next = leaf.idx + 1;
            let name = match (&leaf.kind, &leaf.case_id, leaf.ref_id) {
                (LeafKind::Access, _, Some(id)) => format!("access {id}"),
                (_, Some(case), _) => format!("case {case}"),
                _ => continue,
            };
            if !names.contains(&name) {
                if names.len() < 10 {
                    names.push(name);
                } else {
                    others += 1;
                }
            }
        }
    }
    Ok(match (names.is_empty(), others) {
        (true, _) => String::new(),
        (false, 0) => format!(" ({})", names.join(", ")),
        (false, n) => format!(" ({} and {n} more)", names.join(", ")),
    })
}
