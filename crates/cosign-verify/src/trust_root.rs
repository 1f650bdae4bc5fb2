//! The trust root: Fulcio certificate authorities, transparency-log keys, timestamp authorities
//! and CT logs, each with its validity window, from a `trusted_root.json`.
//!
//! The JSON is parsed into sigstore's protobuf `TrustedRoot` type (protobuf JSON mapping). Every
//! authority and log is trusted only inside its `validFor` window, checked at the signing time
//! (the Rekor integrated time or the RFC 3161 time), never at the wall-clock time: the 2021
//! public-good CA, whose window ended 2022-12-31, vouches for no 2025 signature. An entry
//! without a window start vouches for nothing. A window's end is inclusive.

use std::collections::BTreeMap;
use std::fmt;

use sigstore_protobuf_specs::dev::sigstore::common::v1::TimeRange;
use sigstore_protobuf_specs::dev::sigstore::trustroot::v1::{
    CertificateAuthority, TransparencyLogInstance, TrustedRoot,
};

use crate::key::PublicKey;

/// Sigstore's public-good `trusted_root.json`, pinned. See `trust/README.md` for its provenance.
pub(crate) const PUBLIC_GOOD_TRUSTED_ROOT: &[u8] = include_bytes!("../trust/public-good-trusted_root.json");

/// Why a trust root cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootError {
    /// The JSON is not a `trusted_root.json`.
    #[error("trusted root is not a valid trusted_root.json: {0}")]
    Parse(String),
    /// A log key in it cannot be used.
    #[error("trusted root log key {log_id} is unusable: {reason}")]
    RekorKey {
        /// The hex log id.
        log_id: String,
        /// Why.
        reason: String,
    },
    /// An authority's certificate chain is empty.
    #[error("trusted root authority #{index} ({uri}) has no certificate")]
    Certificate {
        /// Its position in its list.
        index: usize,
        /// Its URI.
        uri: String,
    },
}

/// A validity window in UNIX seconds; `start` is required for the window to contain anything,
/// and `end` is inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    /// The first second of validity; `None` means the entry is never valid.
    pub start: Option<i64>,
    /// The last second of validity; `None` means open-ended.
    pub end: Option<i64>,
}

impl Validity {
    fn from_range(range: Option<&TimeRange>) -> Self {
        Self {
            start: range.and_then(|r| r.start.as_ref()).map(|t| t.seconds),
            end: range.and_then(|r| r.end.as_ref()).map(|t| t.seconds),
        }
    }

    /// Returns whether `time` (UNIX seconds) falls inside the window.
    pub fn contains(&self, time: i64) -> bool {
        self.start.is_some_and(|s| s <= time) && self.end.is_none_or(|e| time <= e)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show =
            |t: Option<i64>| t.map_or("-".to_owned(), |t| tagcore::Timestamp::from_unix(t).to_string());
        match self.start {
            None => f.write_str("no validity start, never valid"),
            Some(_) => write!(f, "valid {} to {}", show(self.start), show(self.end)),
        }
    }
}

/// A transparency log's (Rekor or CT) key and window.
#[derive(Debug, Clone)]
pub struct LogKey {
    /// The log's public key.
    pub key: PublicKey,
    /// When the key may have signed.
    pub validity: Validity,
    /// The log's base URL (its checkpoint origin, without the scheme, for Rekor v2).
    pub base_url: String,
}

/// A certificate authority (Fulcio or a timestamp authority): its chain and window.
#[derive(Debug, Clone)]
pub struct Authority {
    /// Its URI.
    pub uri: String,
    /// The chain as listed, DER: leaf (for a TSA: the signing certificate) first, root last.
    pub chain: Vec<Vec<u8>>,
    /// When it may have issued (or, for a TSA, timestamped).
    pub validity: Validity,
}

impl Authority {
    /// Returns the last certificate of the chain: the trust anchor.
    pub fn anchor(&self) -> &[u8] {
        self.chain.last().map_or(&[], Vec::as_slice)
    }
}

/// Everything a `trusted_root.json` trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    /// Fulcio CAs.
    pub certificate_authorities: Vec<Authority>,
    /// Rekor logs (v1 and v2) by hex log id.
    pub rekor_keys: BTreeMap<String, LogKey>,
    /// Timestamp authorities.
    pub timestamp_authorities: Vec<Authority>,
    /// Certificate-transparency logs by hex log id.
    pub ctlogs: BTreeMap<String, LogKey>,
}

impl TrustRoot {
    /// Returns the pinned public-good trust root.
    pub fn public_good() -> Result<Self, TrustRootError> {
        Self::from_json(PUBLIC_GOOD_TRUSTED_ROOT)
    }

    /// Returns the trust root described by the `trusted_root.json` bytes `json`.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustRootError> {
        let root: TrustedRoot =
            serde_json::from_slice(json).map_err(|e| TrustRootError::Parse(e.to_string()))?;
        if !root
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(TrustRootError::Parse(format!(
                "media type {:?} is not a Sigstore trusted root",
                root.media_type
            )));
        }
        Ok(Self {
            certificate_authorities: authorities(&root.certificate_authorities)?,
            rekor_keys: logs(&root.tlogs, false)?,
            timestamp_authorities: authorities(&root.timestamp_authorities)?,
            ctlogs: logs(&root.ctlogs, true)?,
        })
    }

    /// Returns the Fulcio CAs whose window contains `time`.
    pub fn fulcio_at(&self, time: i64) -> impl Iterator<Item = &Authority> {
        self.certificate_authorities
            .iter()
            .filter(move |a| a.validity.contains(time))
    }
}

fn authorities(list: &[CertificateAuthority]) -> Result<Vec<Authority>, TrustRootError> {
    list.iter()
        .enumerate()
        .map(|(index, ca)| {
            let chain: Vec<Vec<u8>> = ca
                .cert_chain
                .as_ref()
                .map(|c| c.certificates.iter().map(|c| c.raw_bytes.clone()).collect())
                .unwrap_or_default();
            if chain.is_empty() {
                return Err(TrustRootError::Certificate {
                    index,
                    uri: ca.uri.clone(),
                });
            }
            Ok(Authority {
                uri: ca.uri.clone(),
                chain,
                validity: Validity::from_range(ca.valid_for.as_ref()),
            })
        })
        .collect()
}

/// Returns the usable logs of `list` by hex log id; with `skip_unusable`, a key that cannot be
/// read (e.g. a PKCS#1 RSA CT log key) is left out instead of refusing the whole root.
fn logs(
    list: &[TransparencyLogInstance],
    skip_unusable: bool,
) -> Result<BTreeMap<String, LogKey>, TrustRootError> {
    let mut out = BTreeMap::new();
    for log in list {
        let log_id = log
            .log_id
            .as_ref()
            .map(|l| hex::encode(&l.key_id))
            .ok_or_else(|| TrustRootError::Parse(format!("log {} has no log id", log.base_url)))?;
        let public_key = log.public_key.as_ref();
        let der =
            public_key
                .and_then(|k| k.raw_bytes.as_deref())
                .ok_or_else(|| TrustRootError::RekorKey {
                    log_id: log_id.clone(),
                    reason: "no public key bytes".into(),
                })?;
        let key = match PublicKey::from_spki_der(der) {
            Ok(key) => key,
            Err(_) if skip_unusable => continue,
            Err(reason) => return Err(TrustRootError::RekorKey { log_id, reason }),
        };
        let validity = Validity::from_range(public_key.and_then(|k| k.valid_for.as_ref()));
        out.insert(
            log_id,
            LogKey {
                key,
                validity,
                base_url: log.base_url.clone(),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-06-01T00:00:00Z.
    const IN_2025: i64 = 1_748_736_000;

    #[test]
    fn loads_the_pinned_public_good_root() {
        let root = TrustRoot::public_good().unwrap();
        assert_eq!(root.certificate_authorities.len(), 2);
        assert_eq!(root.timestamp_authorities.len(), 1);
        assert_eq!(root.ctlogs.len(), 2);
        // rekor.sigstore.dev's log id (base64 wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=).
        let id = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";
        let log = root.rekor_keys.get(id).expect("rekor.sigstore.dev key");
        assert_eq!(log.key.fingerprint(), format!("sha256:{id}"));
        assert_eq!(root.rekor_keys.len(), 2, "Rekor v1 and the 2025 Rekor v2 log");
    }

    #[test]
    fn the_2021_public_good_ca_is_not_trusted_for_a_2025_signature() {
        let root = TrustRoot::public_good().unwrap();
        let old = &root.certificate_authorities[0];
        assert_eq!(old.validity.end, Some(1_672_531_199), "2022-12-31T23:59:59Z");
        assert!(old.validity.contains(1_640_995_200), "trusted in 2022");
        let at_2025: Vec<_> = root.fulcio_at(IN_2025).collect();
        assert_eq!(at_2025.len(), 1);
        assert_ne!(at_2025[0].chain, old.chain);
    }

    #[test]
    fn windows_need_a_start_and_include_their_end() {
        let w = Validity {
            start: Some(10),
            end: Some(20),
        };
        assert!(!w.contains(9) && w.contains(10) && w.contains(20) && !w.contains(21));
        assert!(
            !Validity {
                start: None,
                end: None
            }
            .contains(0)
        );
        assert!(
            Validity {
                start: Some(0),
                end: None
            }
            .contains(i64::MAX)
        );
    }

    #[test]
    fn refuses_json_that_is_not_a_trusted_root() {
        let err = TrustRoot::from_json(b"{\"tlogs\": 3}").unwrap_err();
        assert!(matches!(err, TrustRootError::Parse(_)), "{err}");
        assert!(TrustRoot::from_json(b"not json").is_err());
        assert!(TrustRoot::from_json(b"{\"mediaType\": \"x\"}").is_err());
    }
}
