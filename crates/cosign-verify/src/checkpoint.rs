//! Inclusion proofs: the RFC 9162 Merkle audit path from an entry to a tree root, and the signed
//! checkpoint (C2SP signed note) in which the log commits to that root.
//!
//! A checkpoint is `<origin>\n<size>\n<base64 root hash>\n[extension lines]\n\n` followed by
//! signature lines `— <key name> <base64(4-byte key id || signature)>`. Rekor v1 (ECDSA) and
//! Rekor v2 (Ed25519) checkpoints share this format; their trust-root log ids start with the key
//! id the signature lines carry. A checkpoint is accepted when one signature line carries the
//! trusted log's key id and verifies with its key over the note text; other lines (witness
//! cosignatures) are ignored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use crate::key::PublicKey;

/// What a verified checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root_hash: Vec<u8>,
}

/// Returns the checkpoint in the signed note `envelope` once a signature line with key id
/// `log_id[..4]` verifies with `key`, or why it does not.
pub(crate) fn verify_note(envelope: &str, log_id: &[u8], key: &PublicKey) -> Result<Checkpoint, String> {
    let (body, signatures) = envelope
        .split_once("\n\n")
        .ok_or("checkpoint has no signature block")?;
    let text = format!("{body}\n");
    let mut lines = body.split('\n');
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or("checkpoint has no origin line")?;
    let size = lines
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or("checkpoint has no tree size line")?;
    let root_hash = lines
        .next()
        .and_then(|h| BASE64.decode(h).ok())
        .filter(|h| h.len() == 32)
        .ok_or("checkpoint has no root hash line")?;
    let hint = log_id.get(..4).ok_or("trusted log id is shorter than 4 bytes")?;
    let mut matched = false;
    for line in signatures.lines().filter(|l| !l.is_empty()) {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or("checkpoint signature line does not start with an em dash")?;
        let (_name, sig) = rest
            .rsplit_once(' ')
            .ok_or("checkpoint signature line has no signature")?;
        let Ok(raw) = BASE64.decode(sig) else { continue };
        if raw.len() <= 4 || &raw[..4] != hint {
            continue;
        }
        matched = true;
        if key.verifies(&raw[4..], text.as_bytes()) {
            return Ok(Checkpoint {
                origin: origin.to_owned(),
                size,
                root_hash,
            });
        }
    }
    Err(if matched {
        "checkpoint signature does not verify with the trusted log key".into()
    } else {
        "checkpoint carries no signature by the trusted log key".into()
    })
}

/// Returns the RFC 9162 leaf hash of `entry`.
pub(crate) fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Returns whether `path` proves that `leaf` is entry `index` of the tree of `size` entries
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub(crate) fn verify_inclusion(index: u64, size: u64, leaf: [u8; 32], path: &[Vec<u8>], root: &[u8]) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r.as_slice() == root
}

/// Returns the root of the RFC 9162 tree over `leaves` (leaf hashes) and the audit path of
/// leaf `index`; for the test PKI's log.
#[cfg(feature = "testing")]
pub(crate) fn root_and_path(leaves: &[[u8; 32]], index: usize) -> ([u8; 32], Vec<Vec<u8>>) {
    if leaves.len() == 1 {
        return (leaves[0], Vec::new());
    }
    // The largest power of two smaller than the size splits the tree.
    let k = leaves.len().next_power_of_two() / 2;
    let (left, right) = leaves.split_at(k);
    let (l_root, _) = root_and_path(left, 0);
    let (r_root, _) = root_and_path(right, 0);
    let root = node_hash(&l_root, &r_root);
    let path = if index < k {
        let (_, mut p) = root_and_path(left, index);
        p.push(r_root.to_vec());
        p
    } else {
        let (_, mut p) = root_and_path(right, index - k);
        p.push(l_root.to_vec());
        p
    };
    (root, path)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;

    #[test]
    fn notes_need_the_trusted_key_id_and_signature_and_never_panic() {
        let log = crate::testing::FakeRekorV2::new();
        let key = PublicKey::from_spki_der(&log.public_key_der()).unwrap();
        let note = log.checkpoint(3, &[7; 32]);
        let checkpoint = verify_note(&note, &log.log_id(), &key).unwrap();
        assert_eq!((checkpoint.size, checkpoint.root_hash), (3, vec![7; 32]));
        assert_eq!(checkpoint.origin, log.origin());
        let mut other_id = log.log_id();
        other_id[0] ^= 1;
        assert_eq!(
            verify_note(&note, &other_id, &key).unwrap_err(),
            "checkpoint carries no signature by the trusted log key"
        );
        let forged = note.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(
            verify_note(&forged, &log.log_id(), &key).unwrap_err(),
            "checkpoint signature does not verify with the trusted log key"
        );
        // Only the final newline may go; any shorter prefix loses signature bytes or more.
        for i in 0..note.trim_end().len() {
            if note.is_char_boundary(i) {
                assert!(verify_note(&note[..i], &log.log_id(), &key).is_err());
            }
        }
        assert!(verify_note("", &[], &key).is_err());
    }

    #[test]
    fn every_leaf_of_every_small_tree_is_proven_and_nothing_else() {
        for size in 1..=9usize {
            let leaves: Vec<[u8; 32]> = (0..size).map(|i| leaf_hash(&[i as u8])).collect();
            for index in 0..size {
                let (root, path) = root_and_path(&leaves, index);
                assert!(verify_inclusion(
                    index as u64,
                    size as u64,
                    leaves[index],
                    &path,
                    &root
                ));
                let other = (index + 1) % size;
                if other != index {
                    assert!(!verify_inclusion(
                        other as u64,
                        size as u64,
                        leaves[index],
                        &path,
                        &root
                    ));
                }
                assert!(!verify_inclusion(
                    index as u64,
                    size as u64,
                    leaves[index],
                    &path,
                    &[0; 32]
                ));
                assert!(!verify_inclusion(
                    size as u64,
                    size as u64,
                    leaves[index],
                    &path,
                    &root
                ));
                let mut bad = path.clone();
                if let Some(first) = bad.first_mut() {
                    first[0] ^= 1;
                    assert!(!verify_inclusion(
                        index as u64,
                        size as u64,
                        leaves[index],
                        &bad,
                        &root
                    ));
                }
            }
        }
    }
}
