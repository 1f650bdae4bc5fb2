//! Offline signing helpers for tests and demos (feature `testing`): never for production use.
//!
//! [`TestPki`] is a complete offline Sigstore (fake Fulcio CA + fake Rekor log) with the
//! `trusted_root.json` that trusts it; [`KeyPair`] is a cosign key pair; [`sig_artifact`],
//! [`bundle_artifact`] and [`referrers_index`] produce the exact manifests and blobs cosign
//! stores, ready to push to any registry or OCI layout, or to store in tagcore's in-memory
//! registry ([`Artifact::store_in`]; registry-hub's `RemoteRegistry::push_blob` and `put_manifest` upload
//! artifacts to a real registry). Helpers panic on internal failures (they are test code).
//!
//! ```
//! use cosign_verify::testing::{CertificateProfile, TestPki, image_artifact, sig_artifact};
//!
//! let pki = TestPki::new();
//! let image = image_artifact("staging", "demo");
//! let profile = CertificateProfile::github("nearai/cloud-api", "build.yml", "refs/heads/main", &"a".repeat(40));
//! let layer = pki.sign_keyless(&profile, "127.0.0.1:5000/nearai/cloud-api", &image.digest());
//! let sig = sig_artifact(&image.digest(), &[layer]);
//! assert_eq!(sig.tag, Some(image.digest().signature_tag()));
//! std::fs::write(std::env::temp_dir().join("trusted_root.json"), pki.trusted_root_json()).unwrap();
//! ```

mod artifact;
mod ctlog;
mod pki;
mod policy;
mod profile;
mod rekor2;
mod signer;
mod tsa;

pub use artifact::{
    Artifact, SigLayer, bundle_artifact, bundle_artifact_for, image_artifact, in_toto_statement,
    memory_registry, referrers_index, sig_artifact, simple_signing_payload,
};
pub use ctlog::FakeCtLog;
pub use pki::{FakeFulcio, FakeRekor, KeyPair, KeylessSigner, SIGNING_TIME, TestPki};
pub use policy::TestPolicy;
pub use profile::{CertificateProfile, ExtensionValue, GITHUB_ISSUER};
pub use rekor2::FakeRekorV2;
pub use tsa::FakeTsa;
