//! Port errors: what they print, and the cause they keep for the frontend's error chain.

use std::error::Error as _;

use tagcore::{AuditError, AuditErrorKind, RegistryError, RegistryErrorKind, VerifyError};

#[derive(Debug, thiserror::Error)]
#[error("connection reset by peer")]
struct Reset;

#[test]
fn a_registry_error_names_its_kind_and_message_and_keeps_its_cause() {
    let e = RegistryError::new(RegistryErrorKind::Forbidden, "PUT nearai/cloud-api:prod").with_source(Reset);
    let text = e.to_string();
    assert!(text.contains("permission denied"), "{text}");
    assert!(text.contains("PUT nearai/cloud-api:prod"), "{text}");
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("connection reset by peer")
    );
    assert!(
        RegistryError::new(RegistryErrorKind::NotFound, "x")
            .source()
            .is_none()
    );
}

#[test]
fn every_registry_error_kind_has_its_own_words() {
    let kinds = [
        RegistryErrorKind::Unauthorized,
        RegistryErrorKind::Forbidden,
        RegistryErrorKind::NotFound,
        RegistryErrorKind::RateLimited,
        RegistryErrorKind::Transient,
        RegistryErrorKind::Conflict,
        RegistryErrorKind::InvalidResponse,
        RegistryErrorKind::InvalidInput,
        RegistryErrorKind::Unsupported,
    ];
    let words: std::collections::BTreeSet<String> = kinds.iter().map(ToString::to_string).collect();
    assert_eq!(words.len(), kinds.len(), "{words:?}");
    assert!(words.iter().all(|w| !w.is_empty()));
}

#[test]
fn a_verify_error_lists_every_reason_or_says_what_could_not_be_read() {
    let refused = VerifyError::Refused {
        reasons: vec!["wrong issuer".into(), "wrong identity".into()],
    };
    let text = refused.to_string();
    assert!(
        text.contains("wrong issuer") && text.contains("wrong identity"),
        "{text}"
    );
    assert!(refused.source().is_none());
    let unavailable = VerifyError::Unavailable {
        message: "the trust root".into(),
        source: Some(Box::new(Reset)),
    };
    assert!(
        unavailable.to_string().contains("the trust root"),
        "{unavailable}"
    );
    assert_eq!(
        unavailable.source().map(ToString::to_string).as_deref(),
        Some("connection reset by peer")
    );
}

#[test]
fn an_audit_error_prints_its_message_and_keeps_its_cause() {
    let mut e = AuditError::new(AuditErrorKind::Unavailable, "creating release v1.2.3");
    assert_eq!(e.to_string(), "creating release v1.2.3");
    assert!(e.source().is_none());
    e.source = Some(Box::new(Reset));
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("connection reset by peer")
    );
}
