//! What a fake Fulcio certificate says: its SAN identity, Sigstore extensions, and the
//! deviations from a well-formed Fulcio leaf that refusal tests need.

/// One Sigstore certificate extension value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionValue {
    /// A legacy extension (`.1.1`–`.1.6`): the raw UTF-8 bytes.
    Raw(String),
    /// A v2 extension (`.1.8`–`.1.22`): a DER UTF8String.
    Utf8(String),
}

/// What a fake Fulcio certificate says: SAN identity and Sigstore extensions.
#[derive(Debug, Clone)]
pub struct CertificateProfile {
    /// The SAN, e.g. `https://github.com/o/r/.github/workflows/build.yml@refs/heads/main`; a
    /// value without `://` that contains `@` is written as an e-mail SAN.
    pub identity: String,
    /// Sigstore extensions by last OID component (`1.3.6.1.4.1.57264.1.<n>`).
    pub extensions: Vec<(u64, ExtensionValue)>,
    /// More SANs after the identity (a well-formed Fulcio leaf has none).
    pub extra_sans: Vec<String>,
    /// Whether the leaf carries the codeSigning extended key usage (Fulcio's always do).
    pub code_signing: bool,
    /// Whether the leaf claims to be a CA (Fulcio's never do).
    pub is_ca: bool,
    /// A Sigstore extension (last OID component) written twice.
    pub repeated_extension: Option<u64>,
}

/// GitHub Actions' OIDC issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

impl CertificateProfile {
    /// Returns the profile of a GitHub Actions run of `workflow` (e.g. `build.yml`) in
    /// `repository` (`owner/name`) on `git_ref` at commit `sha`, with both the legacy
    /// (`.1.1`–`.1.6`) and the v2 (`.1.8`–`.1.22`) extensions, as Fulcio issues today.
    pub fn github(repository: &str, workflow: &str, git_ref: &str, sha: &str) -> Self {
        use ExtensionValue::{Raw, Utf8};
        let url = format!("https://github.com/{repository}");
        let workflow_uri = format!("{url}/.github/workflows/{workflow}@{git_ref}");
        let owner = repository.split('/').next().unwrap_or_default();
        Self {
            extra_sans: Vec::new(),
            code_signing: true,
            is_ca: false,
            repeated_extension: None,
            identity: workflow_uri.clone(),
            extensions: vec![
                (1, Raw(GITHUB_ISSUER.into())),
                (2, Raw("push".into())),
                (3, Raw(sha.into())),
                (4, Raw("build".into())),
                (5, Raw(repository.into())),
                (6, Raw(git_ref.into())),
                (8, Utf8(GITHUB_ISSUER.into())),
                (9, Utf8(workflow_uri.clone())),
                (10, Utf8(sha.into())),
                (11, Utf8("github-hosted".into())),
                (12, Utf8(url.clone())),
                (13, Utf8(sha.into())),
                (14, Utf8(git_ref.into())),
                (15, Utf8("123456".into())),
                (16, Utf8(format!("https://github.com/{owner}"))),
                (17, Utf8("7890".into())),
                (18, Utf8(workflow_uri)),
                (19, Utf8(sha.into())),
                (20, Utf8("push".into())),
                (21, Utf8(format!("{url}/actions/runs/1/attempts/1"))),
                (22, Utf8("public".into())),
            ],
        }
    }

    /// Returns this profile without the extension `1.3.6.1.4.1.57264.1.<n>`.
    pub fn without(mut self, n: u64) -> Self {
        self.extensions.retain(|(k, _)| *k != n);
        self
    }

    /// Returns this profile with extension `n` set to `value` (replacing it).
    pub fn with(mut self, n: u64, value: ExtensionValue) -> Self {
        self.extensions.retain(|(k, _)| *k != n);
        self.extensions.push((n, value));
        self
    }

    /// Returns the profile of an e-mail identity (`alice@example.com`) from `issuer`, with only
    /// the issuer extensions (`.1.1` and `.1.8`).
    pub fn email(address: &str, issuer: &str) -> Self {
        Self {
            identity: address.to_owned(),
            extensions: vec![
                (1, ExtensionValue::Raw(issuer.into())),
                (8, ExtensionValue::Utf8(issuer.into())),
            ],
            extra_sans: Vec::new(),
            code_signing: true,
            is_ca: false,
            repeated_extension: None,
        }
    }

    /// Returns this profile with one more SAN.
    pub fn with_extra_san(mut self, san: impl Into<String>) -> Self {
        self.extra_sans.push(san.into());
        self
    }

    /// Returns this profile without the codeSigning extended key usage.
    pub fn without_code_signing(mut self) -> Self {
        self.code_signing = false;
        self
    }

    /// Returns this profile as a CA certificate (basicConstraints CA:TRUE).
    pub fn as_ca(mut self) -> Self {
        self.is_ca = true;
        self
    }

    /// Returns this profile with the extension `n` written twice.
    pub fn with_repeated_extension(mut self, n: u64) -> Self {
        self.repeated_extension = Some(n);
        self
    }
}
