//! cosign-verify checks that an image digest carries a cosign signature satisfying a policy,
//! and implements `tagcore::Verifier` with it (docs/behaviour.md#signature-verification).
//!
//! # Use
//!
//! ```no_run
//! # async fn demo<R: tagcore::Registry>(registry: R, repo: tagcore::Repository, digest: tagcore::Digest) {
//! use cosign_verify::{CosignVerifier, Material};
//! use tagcore::Verifier as _;
//! use tagcore::policy::{SignaturePolicy, VerifySpec};
//!
//! // The `[verify]` section of docs/policy.md, validated by tagcore (one set of rules).
//! let policy = SignaturePolicy::from_spec(&VerifySpec {
//!     issuer: Some("https://token.actions.githubusercontent.com".into()),
//!     identity_regex: Some(r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/heads/main".into()),
//!     workflow_repository: Some("nearai/cloud-api".into()),
//!     workflow_refs: vec!["refs/heads/main".into()],
//!     ..VerifySpec::default()
//! })
//! .expect("valid policy");
//! // The material it names: no key file, the pinned public-good trust root.
//! let verifier = CosignVerifier::new(registry, &policy, Material::default()).expect("trust root");
//! match verifier.verify(&repo, &digest).await {
//!     Ok(v) => { /* v.identity, v.source_commit, v.layer … */ }
//!     Err(e) => { /* Refused { reasons } lists every reason; Unavailable: could not read */ }
//! }
//! # }
//! ```
//!
//! # A promote, end to end, as a library
//!
//! tagcore drives the operation, registry-hub stores the images (here a local OCI layout, no
//! network) and this crate verifies the signature before `prod` moves. The signed image comes
//! from the offline fake Sigstore of the `testing` feature.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cosign_verify::testing::{CertificateProfile, GITHUB_ISSUER, TestPki, image_artifact, sig_artifact};
//! use cosign_verify::{CosignVerifier, Material, TrustedRootSource};
//! use registry_hub::LayoutRegistry;
//! use tagcore::policy::{ImageSpec, Policy, PolicySpec, VerifySpec};
//! use tagcore::request::{PromoteRequest, PromoteSource, Request};
//! use tagcore::{Engine, Registry as _, Repository, Tag};
//!
//! let dir = tempfile::tempdir()?;
//! let registry = LayoutRegistry::new(dir.path());
//! let repo: Repository = "127.0.0.1:5000/team/app".parse()?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//!
//! // A build pushed to staging and signed by its GitHub workflow (keyless).
//! let pki = TestPki::new();
//! let image = image_artifact("staging", "app");
//! let profile = CertificateProfile::github("team/app", "build.yml", "refs/heads/main", &"a".repeat(40));
//! let layer = pki.sign_keyless(&profile, &repo.to_string(), &image.digest());
//! for artifact in [&image, &sig_artifact(&image.digest(), &[layer])] {
//!     runtime.block_on(async {
//!         for blob in &artifact.blobs {
//!             registry.put_blob(&repo, blob).await?;
//!         }
//!         let tag: Tag = artifact.tag.as_deref().unwrap_or_default().parse()?;
//!         registry.put_manifest(&repo, &tag, &artifact.manifest).await?;
//!         Ok::<_, Box<dyn std::error::Error>>(())
//!     })?;
//! }
//!
//! // The policy: validated once by tagcore, signature rules included.
//! let policy = Policy::from_spec(&PolicySpec {
//!     unit: "app".into(),
//!     images: vec![ImageSpec { repository: repo.to_string(), ..ImageSpec::default() }],
//!     verify: Some(VerifySpec {
//!         issuer: Some(GITHUB_ISSUER.into()),
//!         identity: Some("https://github.com/team/app/.github/workflows/build.yml@refs/heads/main".into()),
//!         workflow_refs: vec!["refs/heads/main".into()],
//!         ..VerifySpec::default()
//!     }),
//!     ..PolicySpec::default()
//! })?;
//! let signature = policy.signature.as_ref().ok_or("the policy verifies")?;
//! let material = Material { key_pem: None, trusted_root: TrustedRootSource::Json(pki.trusted_root_json()) };
//! let verifier = CosignVerifier::new(&registry, signature, material)?;
//!
//! // Promote staging to prod: resolve, verify, plan, write with compare-and-swap, read back.
//! let audit = tagcore::testing::MemoryAudit::new();
//! let engine = Engine::new(&policy, &registry, &verifier, &audit);
//! let request = Request::Promote(PromoteRequest {
//!     source: PromoteSource::Staging,
//!     confirm: None,
//!     expect_digest: None,
//!     allow_older: false,
//! });
//! runtime.block_on(engine.run(&request, "2026-07-09T10:00:00Z".parse()?, false))?;
//! let prod = runtime.block_on(registry.resolve_tag(&repo, &"prod".parse()?))?;
//! assert_eq!(prod, Some(image.digest()));
//! # Ok(())
//! # }
//! ```
//!
//! # What is checked, per signature candidate
//!
//! Signatures are read through the generic `tagcore::Registry` port (so an OCI-layout directory
//! works offline and registry credentials are shared): the layers of the `sha256-<hex>.sig`
//! manifest (cosign's simple-signing layout) and the Sigstore bundles v0.3 attached as OCI
//! referrers (referrers API, else the `sha256-<hex>` tag fallback index; at most 64 of either).
//! Each candidate is checked against *every* constraint, and accepted only if all hold:
//!
//! 1. the payload names the digest being verified (simple-signing `docker-manifest-digest`, or
//!    the single subject of the in-toto statement, predicate `https://sigstore.dev/cosign/sign/v1`),
//!    and the repository being verified or one of the policy's `allowed_references`
//!    (simple-signing `docker-reference`, or the subject `name` when the statement has one:
//!    cosign v3 writes none), with Docker Hub names normalised;
//! 2. keyless: the signature verifies with the certificate's own key; the transparency-log
//!    entry records this payload hash, this signature and this certificate, and is attested by a
//!    trusted log: a Rekor v1 SET (cosign bundle annotation or bundle tlog entry), or a Rekor v2
//!    inclusion proof against a checkpoint signed by the log's key together with an RFC 3161
//!    timestamp from a trusted timestamp authority; bundle tlog entries need an inclusion proof
//!    (bundles v0.2 and later); every attached timestamp must verify; the certificate chains to
//!    a trusted Fulcio CA and is valid for code signing, as an end entity, at *every* attested
//!    time (Rekor integrated time and timestamp times); every CA, log and TSA is trusted only
//!    inside its `validFor` window at that time; the embedded SCT verifies against a CT log of
//!    the trust root when it lists any (switch: `insecure_ignore_sct`); issuer (`.1.8`, else
//!    legacy `.1.1`), identity (exact, or a regex that must compile on its own and is always
//!    anchored as `^(?:…)$`), workflow repository (legacy `.1.5` or v2 `.1.12`) and ref (legacy
//!    `.1.6` or v2 `.1.14`) match; legacy and v2 values must agree when both are present; one
//!    SAN only, no repeated Sigstore extension;
//! 3. key-based: the signature verifies with the policy's PEM key; a Rekor entry, when attached,
//!    must verify and describe the signature (none is required, for air-gapped signing).
//!
//! An accepted signature reports its signing time (`VerifiedSignature::signed_at`: the Rekor
//! integrated time, else the earliest RFC 3161 time) and the certificate's source commit.
//! Any unreadable artifact, unknown media type, missing or malformed field is a refusal reason,
//! never an acceptance. The refusal lists every reason of every candidate.
//!
//! [`VerificationPolicy::verify_bundle`] applies the same constraints to a Sigstore bundle over an
//! arbitrary artifact (`cosign verify-blob --bundle`); the public conformance suite
//! `sigstore/sigstore-conformance` runs through it (`tests/data/conformance/README.md`).
//!
//! # What sigstore 0.15 provides, and what is written here
//!
//! sigstore provides signature verification (`CosignVerificationKey`), the cosign Rekor bundle
//! format (`cosign::bundle::Bundle`), the simple-signing payload type and the protobuf types of
//! bundles and trust roots. Its layer constructors, certificate pool, `CertificateSignature`
//! constructors, `Bundle::new_verified` and in-toto types are crate-private, it knows nothing of
//! Rekor v2, RFC 3161 or SCTs, and its registry client cannot be swapped, so this crate adds:
//! reading both layouts through `tagcore::Registry` (the `sig_tag` and `referrer` modules); the
//! trust root with validity windows; the Fulcio chain check with `rustls-webpki`; the Sigstore
//! OID reader (legacy and v2) with `x509-cert`; the binding of the Rekor entry body (v1 and v2
//! kinds) to the layer; signed-note checkpoints and RFC 9162 inclusion proofs; RFC 3161
//! timestamps with RustCrypto's `cms` and `x509-tsp`; SCTs; and the all-constraints-per-layer
//! rule.
//!
//! # The pinned public-good trust root
//!
//! `trust/public-good-trusted_root.json` is Sigstore's public-good `trusted_root.json` as shipped
//! in the PyPI wheel `sigstore==4.5.1` (wheel sha256
//! `02e000197b34980f1d382741d6f83c2fecbcef7debf7304f36a5253f3c892cd9`), at
//! `sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json` (file sha256
//! `6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66`). `scripts/refresh-trust-root`
//! fetches, checks and replaces it (`trust/README.md`). Users who need a newer root without a new
//! release pass their own file (`TrustedRootSource::Json`, cosign's `--trusted-root` format).
//!
//! # Testing helpers
//!
//! With the `testing` feature, the `testing` module offers an offline fake Fulcio CA, Rekor v1
//! and v2 logs, a CT log and a timestamp authority, cosign key pairs, signature artifacts in
//! cosign's exact formats, a matching `trusted_root.json`, and an in-memory `tagcore::Registry`.
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
pub use policy::{Material, MaterialError, Requirement, TrustedRootSource, VerificationPolicy};
pub use trust_root::{Authority, LogKey, TrustRoot, TrustRootError, Validity};
pub use verifier::CosignVerifier;
