//! cosign-verify checks that an image digest carries a cosign signature satisfying a policy,
//! and implements `tagcore::Verifier` with it (SPEC §6).
//!
//! # Use
//!
//! ```no_run
//! # async fn demo<R: tagcore::Registry>(registry: R, repo: tagcore::Repository, digest: tagcore::Digest) {
//! use cosign_verify::{CosignVerifier, SignaturePolicy, TrustedRootSource};
//! use tagcore::Verifier as _;
//!
//! let policy = SignaturePolicy {
//!     issuer: Some("https://token.actions.githubusercontent.com".into()),
//!     identity_regex: Some(r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/heads/main".into()),
//!     workflow_repository: Some("nearai/cloud-api".into()),
//!     workflow_refs: vec!["refs/heads/main".into()],
//!     trusted_root: TrustedRootSource::PublicGood,
//!     ..SignaturePolicy::default()
//! };
//! let verifier = CosignVerifier::new(registry, &policy).expect("valid policy");
//! match verifier.verify(&repo, &digest).await {
//!     Ok(v) => { /* v.identity, v.source_commit, v.layer … */ }
//!     Err(e) => { /* Refused { reasons } lists every reason; Unavailable: could not read */ }
//! }
//! # }
//! ```
//!
//! # What is checked, per signature candidate
//!
//! Signatures are read through the generic `tagcore::Registry` port (so an OCI-layout directory
//! works offline and registry credentials are shared): the layers of the `sha256-<hex>.sig`
//! manifest (cosign's simple-signing layout) and the Sigstore bundles v0.3 attached as OCI
//! referrers (referrers API, else the `sha256-<hex>` tag fallback index). Each candidate is
//! checked against *every* constraint, and accepted only if all hold:
//!
//! 1. the payload names the digest being verified (simple-signing `docker-manifest-digest`, or
//!    the single subject of the in-toto statement, predicate `https://sigstore.dev/cosign/sign/v1`);
//! 2. keyless: the signature verifies with the certificate's own key; the Rekor entry (cosign
//!    bundle annotation, or the bundle's tlog entry) is signed by a trusted Rekor key (SET) and
//!    records this payload hash, this signature and this certificate; the certificate chains to
//!    a trusted Fulcio CA and is valid for code signing at the Rekor time; issuer (`.1.8`, else
//!    legacy `.1.1`), identity (exact, or a regex always anchored as `^(?:…)$`), workflow
//!    repository (legacy `.1.5` or v2 `.1.12`) and ref (legacy `.1.6` or v2 `.1.14`) match;
//!    legacy and v2 values must agree when both are present;
//! 3. key-based: the signature verifies with the policy's PEM key; a Rekor entry, when attached,
//!    must verify and describe the signature (none is required, for air-gapped signing).
//!
//! Any unreadable artifact, unknown media type, missing or malformed field is a refusal reason,
//! never an acceptance. The refusal lists every reason of every candidate.
//!
//! # What sigstore 0.15 provides, and what is written here
//!
//! sigstore provides the trust-root JSON parsing (`SigstoreTrustRoot::from_trusted_root_json_unchecked`),
//! signature verification (`CosignVerificationKey`), the cosign Rekor bundle format
//! (`cosign::bundle::Bundle`), the simple-signing payload type, the Sigstore bundle protobuf type
//! and the Rekor inclusion-proof and checkpoint models. Its layer constructors, certificate pool,
//! `CertificateSignature` constructors, `Bundle::new_verified` and in-toto types are
//! crate-private, and its registry client cannot be swapped, so this crate adds: reading both
//! layouts through `tagcore::Registry` (the `sig_tag` and `referrer` modules); the Fulcio
//! chain check with `rustls-webpki`; the Sigstore OID reader (legacy and v2) with `x509-cert`;
//! the binding of the Rekor entry body to the layer; and the all-constraints-per-layer rule.
//!
//! # The pinned public-good trust root
//!
//! `trust/public-good-trusted_root.json` is Sigstore's public-good `trusted_root.json` as shipped
//! in the PyPI wheel `sigstore==4.5.1` (wheel sha256
//! `02e000197b34980f1d382741d6f83c2fecbcef7debf7304f36a5253f3c892cd9`), at
//! `sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json` (file sha256
//! `6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66`). To refresh it:
//! `pip download --no-deps sigstore==<version>`, unzip, copy that file over ours, check its
//! `tlogs`/`certificateAuthorities` diff, run the tests, and update the hashes above. Users who
//! need a newer root without a new release pass their own file (`TrustedRootSource::Json`,
//! cosign's `--trusted-root` format). Only Rekor v1 entries with a SET are accepted; entries of
//! the 2025 Rekor v2 log (no SET, timestamp-authority time) are refused.
//!
//! # Testing helpers
//!
//! With the `testing` feature, the `testing` module offers an offline fake Fulcio CA and Rekor log, cosign
//! key pairs, signature artifacts in cosign's exact formats, a matching `trusted_root.json`, and
//! an in-memory `tagcore::Registry`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod blob;
mod bundle;
mod certificate;
mod checkpoint;
mod constraint;
mod key;
mod layer;
mod oci;
mod policy;
mod reference;
mod referrer;
mod rekor;
mod sct;
mod sig_tag;
mod trust_root;
mod tsa;
mod verifier;

#[cfg(feature = "testing")]
pub mod testing;

pub use certificate::{CertificateIdentity, SigningCertificate};
pub use key::PublicKey;
pub use oci::{
    BUNDLE_ANNOTATION, BUNDLE_V03_MEDIA_TYPE, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
};
pub use policy::{
    IdentityMatcher, KeylessPolicy, Policy, PolicyError, RefPattern, Requirement, SignaturePolicy,
    TrustedRootSource,
};
pub use trust_root::{Authority, LogKey, PUBLIC_GOOD_TRUSTED_ROOT, TrustRoot, TrustRootError, Validity};
pub use verifier::CosignVerifier;
