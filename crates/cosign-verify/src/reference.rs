//! The repository a signature payload names (simple-signing `docker-reference`, or an in-toto
//! subject `name`), compared with the repository being verified.
//!
//! Names are normalised with tagcore's Docker rules before comparing: `index.docker.io`,
//! `registry-1.docker.io` and `docker.io` are one registry, and a one-component Docker Hub path
//! lives under `library/`. A tag or digest suffix on the named reference is ignored: the digest
//! itself is checked separately.

use std::str::FromStr as _;

use tagcore::Repository;

/// Returns the repository of `reference` (`host/path`, `host/path:tag` or `host/path@digest`),
/// normalised, or why it is not one.
pub(crate) fn repository_of(reference: &str) -> Result<Repository, String> {
    let without_digest = reference.split_once('@').map_or(reference, |(r, _)| r);
    let (head, last) = without_digest
        .rsplit_once('/')
        .map_or(("", without_digest), |(h, l)| (h, l));
    let last = last.split_once(':').map_or(last, |(name, _)| name);
    let name = if head.is_empty() {
        last.to_owned()
    } else {
        format!("{head}/{last}")
    };
    Repository::from_str(&name).map_err(|e| e.to_string())
}

/// Checks that the payload's `named` reference is `verified` or one of `allowed`; `None` (a
/// Sigstore bundle whose in-toto subject carries no name, as cosign v3 writes) passes.
pub(crate) fn check(
    named: Option<&str>,
    verified: &Repository,
    allowed: &[Repository],
) -> Result<(), String> {
    let Some(named) = named else { return Ok(()) };
    let repository = repository_of(named)
        .map_err(|e| format!("payload names the reference {named:?}, which is not a repository: {e}"))?;
    if repository == *verified || allowed.contains(&repository) {
        return Ok(());
    }
    let mut accepted = vec![verified.to_string()];
    accepted.extend(allowed.iter().map(ToString::to_string));
    Err(format!(
        "payload is a signature for the repository {repository}, not {} (allowed references: {})",
        verified,
        accepted.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(s: &str) -> Repository {
        Repository::from_str(s).unwrap()
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        for name in [
            "ubuntu",
            "docker.io/ubuntu",
            "docker.io/library/ubuntu",
            "index.docker.io/library/ubuntu",
            "registry-1.docker.io/library/ubuntu:24.04",
            "index.docker.io/library/ubuntu@sha256:0000",
        ] {
            assert_eq!(
                repository_of(name).unwrap(),
                repo("docker.io/library/ubuntu"),
                "{name}"
            );
        }
        assert_eq!(
            repository_of("index.docker.io/nearai/cloud-api").unwrap(),
            repo("nearai/cloud-api")
        );
        assert_eq!(
            repository_of("127.0.0.1:5000/nearai/cloud-api:prod").unwrap(),
            Repository::new("127.0.0.1:5000", "nearai/cloud-api").unwrap()
        );
    }

    #[test]
    fn another_repository_is_refused_unless_allowed() {
        let verified = repo("nearai/cloud-api");
        assert!(check(Some("index.docker.io/nearai/cloud-api"), &verified, &[]).is_ok());
        assert!(check(None, &verified, &[]).is_ok());
        let err = check(Some("ghcr.io/nearai/cloud-api"), &verified, &[]).unwrap_err();
        assert_eq!(
            err,
            "payload is a signature for the repository ghcr.io/nearai/cloud-api, not \
             docker.io/nearai/cloud-api (allowed references: docker.io/nearai/cloud-api)"
        );
        assert!(
            check(
                Some("ghcr.io/nearai/cloud-api"),
                &verified,
                &[repo("ghcr.io/nearai/cloud-api")]
            )
            .is_ok()
        );
        assert!(check(Some("Not/Valid!"), &verified, &[]).is_err());
    }
}
