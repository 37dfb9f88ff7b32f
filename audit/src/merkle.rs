//! The log's Merkle tree, RFC 9162 §2.1: leaf hash SHA-256(0x00 || leaf), node hash
//! SHA-256(0x01 || left || right), the left subtree of n leaves holding the largest power of
//! two below n. The store keeps the leaf hashes and the roots of the perfect subtrees
//! (`log_nodes`); here is what is computed from them: roots, the new nodes a checkpoint adds,
//! and inclusion and consistency proofs (RFC 9162 §2.1.3.1 and §2.1.4.1). Proofs are checked
//! with the `ct-merkle` crate (an independent implementation of the same RFC), which is what
//! an auditor's check runs, so what this module produces is judged by code it does not share.

use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::{Digest, Sha256};
use sopflow_store::Node;
use sopflow_store::log::Hash;

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two below `n` (n ≥ 2): the size of the left subtree.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Where the roots of perfect subtrees come from: level 0 is a leaf's hash, level l ≥ 1 the
/// root over leaves `[idx << l, (idx + 1) << l)`.
pub trait Subtrees {
    fn get(&self, level: u32, idx: u64) -> Option<Hash>;
}

/// A perfect subtree the computation needed and did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored tree lacks the subtree at level {level}, index {idx}")]
pub struct Missing {
    pub level: u32,
    pub idx: u64,
}

/// The root over leaves `[start, end)`, built from perfect subtrees. `start` is aligned as the
/// RFC's recursion aligns it (a multiple of the largest power of two ≤ end - start).
fn range_hash(t: &dyn Subtrees, start: u64, end: u64) -> Result<Hash, Missing> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        let idx = start >> level;
        return t.get(level, idx).ok_or(Missing { level, idx });
    }
    let k = split(n);
    Ok(node_hash(
        &range_hash(t, start, start + k)?,
        &range_hash(t, start + k, end)?,
    ))
}

/// The root of the tree of the first `size` leaves.
pub fn root(t: &dyn Subtrees, size: u64) -> Result<Hash, Missing> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(t, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves: PATH(m, D[n]) of
/// RFC 9162 §2.1.3.1, from the leaf's sibling up. `index < size`.
pub fn inclusion_proof(t: &dyn Subtrees, index: u64, size: u64) -> Result<Vec<Hash>, Missing> {
    fn path(
        t: &dyn Subtrees,
        m: u64,
        start: u64,
        end: u64,
        out: &mut Vec<Hash>,
    ) -> Result<(), Missing> {
        let n = end - start;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            path(t, m, start, start + k, out)?;
            out.push(range_hash(t, start + k, end)?);
        } else {
            path(t, m - k, start + k, end, out)?;
            out.push(range_hash(t, start, start + k)?);
        }
        Ok(())
    }
    let mut out = Vec::new();
    if index < size {
        path(t, index, 0, size, &mut out)?;
    }
    Ok(out)
}

/// The consistency proof from the tree of `old` leaves to the tree of `new`: PROOF(m, D[n])
/// of RFC 9162 §2.1.4.1. `0 < old <= new`.
pub fn consistency_proof(t: &dyn Subtrees, old: u64, new: u64) -> Result<Vec<Hash>, Missing> {
    fn subproof(
        t: &dyn Subtrees,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), Missing> {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(range_hash(t, start, end)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            subproof(t, m, start, start + k, whole, out)?;
            out.push(range_hash(t, start + k, end)?);
        } else {
            subproof(t, m - k, start + k, end, false, out)?;
            out.push(range_hash(t, start, start + k)?);
        }
        Ok(())
    }
    let mut out = Vec::new();
    if 0 < old && old < new {
        subproof(t, old, 0, new, true, &mut out)?;
    }
    Ok(out)
}

/// The perfect subtrees a computation reads, found by running it on a source that records
/// what it is asked for (which subtrees a proof reads depends on the sizes, not the hashes):
/// fetch these, then run it again on what was fetched.
pub fn needed<T>(run: impl FnOnce(&dyn Subtrees) -> T) -> Vec<(u32, u64)> {
    struct Recorder(std::cell::RefCell<Vec<(u32, u64)>>);
    impl Subtrees for Recorder {
        fn get(&self, level: u32, idx: u64) -> Option<Hash> {
            self.0.borrow_mut().push((level, idx));
            Some([0; 32])
        }
    }
    let recorder = Recorder(Default::default());
    run(&recorder);
    let mut wanted = recorder.0.into_inner();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

impl Subtrees for std::collections::HashMap<(u32, u64), Hash> {
    fn get(&self, level: u32, idx: u64) -> Option<Hash> {
        std::collections::HashMap::get(self, &(level, idx)).copied()
    }
}

/// The right edge of a growing tree (RFC 9162's "compact range" of `[0, size)`): the roots of
/// the perfect subtrees the leaves so far make, largest first. Leaves are pushed one at a
/// time; each push returns the perfect subtrees (level ≥ 1) it completes, which are what a
/// checkpoint stores.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    edge: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The frontier of the first `size` leaves, from the roots of its perfect subtrees.
    pub fn at(t: &dyn Subtrees, size: u64) -> Result<Self, Missing> {
        let mut edge = Vec::new();
        let mut start = 0;
        for level in (0..64).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                let idx = start >> level;
                edge.push((level, t.get(level, idx).ok_or(Missing { level, idx })?));
                start += width;
            }
        }
        Ok(Self { size, edge })
    }

    /// The perfect subtrees [`Frontier::at`] reads.
    pub fn wanted(size: u64) -> Vec<(u32, u64)> {
        needed(|t| Frontier::at(t, size).map(|_| ()))
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf; returns the subtrees it completes (level ≥ 1).
    pub fn push(&mut self, leaf: Hash) -> Vec<Node> {
        let mut done = Vec::new();
        let mut level = 0;
        let mut hash = leaf;
        // Every subtree this leaf completes ends just after it.
        let end = self.size + 1;
        while let Some(&(top, left)) = self.edge.last() {
            if top != level {
                break;
            }
            self.edge.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            // This subtree's leaves end at `end`: its index is (end >> level) - 1.
            done.push(Node {
                level,
                idx: (end >> level) - 1,
                hash,
            });
        }
        self.edge.push((level, hash));
        self.size += 1;
        done
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.edge.iter().rev();
        let Some(&(_, mut hash)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            hash = node_hash(left, &hash);
        }
        hash
    }
}

fn output(h: &Hash) -> ct_merkle::digest::Output<Sha256> {
    (*h).into()
}

/// Whether `proof` shows that the leaf with text `leaf` is leaf `index` of the tree of `size`
/// leaves whose root is `root` (checked by ct-merkle).
pub fn verify_inclusion(leaf: &[u8], index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    let digests: Vec<_> = proof.iter().map(output).collect();
    RootHash::<Sha256>::new(output(root), size)
        .verify_inclusion(&leaf, index, &InclusionProof::from_digests(digests.iter()))
        .is_ok()
}

/// Whether `proof` shows that the tree of `old` leaves with root `old_root` is a prefix of the
/// tree of `new` leaves with root `new_root` (checked by ct-merkle). Equal sizes need equal
/// roots.
pub fn verify_consistency(
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old == 0 {
        // The empty tree is a prefix of every tree; ct-merkle does not take it.
        return proof.is_empty() && (new > 0 || old_root == new_root);
    }
    let digests: Vec<_> = proof.iter().map(output).collect();
    RootHash::<Sha256>::new(output(new_root), new)
        .verify_consistency(
            &RootHash::new(output(old_root), old),
            &ConsistencyProof::from_digests(digests.iter()),
        )
        .is_ok()
}

/// Lowercase hex of a hash.
pub fn hex(h: &Hash) -> String {
    hex::encode(h)
}

/// A hash from its lowercase or uppercase hex.
pub fn from_hex(text: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use sopflow_store::log::leaf_hash;

    /// The leaves of RFC 6962's reference tests, and the roots of their first 0..=8.
    const LEAVES: [&[u8]; 8] = [
        b"",
        &[0x00],
        &[0x10],
        &[0x20, 0x21],
        &[0x30, 0x31],
        &[0x40, 0x41, 0x42, 0x43],
        &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        &[
            0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
            0x6e, 0x6f,
        ],
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// A tree built by pushing leaves, its nodes kept as a checkpointer keeps them.
    fn build(leaves: &[Vec<u8>]) -> (HashMap<(u32, u64), Hash>, Frontier) {
        let mut stored = HashMap::new();
        let mut frontier = Frontier::default();
        for (i, leaf) in leaves.iter().enumerate() {
            let h = leaf_hash(leaf);
            stored.insert((0, i as u64), h);
            for node in frontier.push(h) {
                assert!(
                    stored.insert((node.level, node.idx), node.hash).is_none(),
                    "each subtree completes once"
                );
            }
        }
        (stored, frontier)
    }

    fn many(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    #[test]
    fn roots_match_the_rfc_6962_reference_tree() {
        let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|l| l.to_vec()).collect();
        for size in 0..=8 {
            let (stored, frontier) = build(&leaves[..size]);
            assert_eq!(hex(&frontier.root()), ROOTS[size], "frontier, size {size}");
            assert_eq!(
                hex(&root(&stored, size as u64).unwrap()),
                ROOTS[size],
                "stored subtrees, size {size}"
            );
        }
    }

    #[test]
    fn proofs_match_the_rfc_6962_reference_proofs() {
        let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|l| l.to_vec()).collect();
        let (stored, _) = build(&leaves);
        let hexes = |p: Vec<Hash>| p.iter().map(hex).collect::<Vec<_>>();
        assert_eq!(
            hexes(inclusion_proof(&stored, 0, 8).unwrap()),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        assert_eq!(
            hexes(inclusion_proof(&stored, 5, 8).unwrap()),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        assert_eq!(
            hexes(consistency_proof(&stored, 6, 8).unwrap()),
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        assert_eq!(
            hexes(consistency_proof(&stored, 2, 5).unwrap()),
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        );
        assert!(consistency_proof(&stored, 1, 1).unwrap().is_empty());
    }

    #[test]
    fn every_proof_of_every_shape_verifies_with_ct_merkle_and_agrees_with_its_tree() {
        let leaves = many(70);
        let (stored, _) = build(&leaves);
        let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
        for (n, leaf) in leaves.iter().enumerate() {
            reference.push(leaf.clone());
            let size = n as u64 + 1;
            let r = root(&stored, size).unwrap();
            assert_eq!(
                &r[..],
                reference.root().as_bytes().as_slice(),
                "size {size}"
            );
            for i in 0..size {
                let proof = inclusion_proof(&stored, i, size).unwrap();
                assert!(verify_inclusion(&leaves[i as usize], i, size, &proof, &r));
                assert!(
                    !verify_inclusion(b"another leaf", i, size, &proof, &r),
                    "a different leaf does not verify"
                );
                if size > 1 {
                    assert!(!verify_inclusion(
                        &leaves[i as usize],
                        (i + 1) % size,
                        size,
                        &proof,
                        &r
                    ));
                }
            }
            for old in 1..=size {
                let old_root = root(&stored, old).unwrap();
                let proof = consistency_proof(&stored, old, size).unwrap();
                assert!(
                    verify_consistency(old, &old_root, size, &r, &proof),
                    "{old} → {size}"
                );
                let mut forked = old_root;
                forked[0] ^= 1;
                assert!(!verify_consistency(old, &forked, size, &r, &proof));
            }
        }
    }

    #[test]
    fn a_frontier_resumes_from_stored_subtrees_and_proofs_read_only_what_they_need() {
        let leaves = many(45);
        let (stored, whole) = build(&leaves);
        for at in 0..45 {
            let (mut partial, _) = build(&leaves[..at]);
            let mut frontier = Frontier::at(&stored, at as u64).unwrap();
            for (i, leaf) in leaves.iter().enumerate().skip(at) {
                let h = leaf_hash(leaf);
                partial.insert((0, i as u64), h);
                for node in frontier.push(h) {
                    partial.insert((node.level, node.idx), node.hash);
                }
            }
            assert_eq!(frontier.root(), whole.root(), "resumed at {at}");
            assert_eq!(partial, stored, "the same subtrees, resumed at {at}");
        }
        // What `needed` lists is enough, and a missing subtree is named.
        let wanted = needed(|t| inclusion_proof(t, 17, 45));
        let only: HashMap<(u32, u64), Hash> = wanted.iter().map(|k| (*k, stored[k])).collect();
        assert_eq!(
            inclusion_proof(&only, 17, 45).unwrap(),
            inclusion_proof(&stored, 17, 45).unwrap()
        );
        assert!(
            wanted.len() < 12,
            "a proof reads O(log n) subtrees: {wanted:?}"
        );
        let mut lacking = only.clone();
        lacking.remove(&wanted[0]);
        assert!(inclusion_proof(&lacking, 17, 45).is_err());
    }

    #[test]
    fn hex_round_trips() {
        let h = leaf_hash(b"x");
        assert_eq!(from_hex(&hex(&h)), Some(h));
        assert_eq!(from_hex("00"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
    }
}
