//! Maps every HTTP status, transport failure and digest mismatch into tagcore's error kinds.
//!
//! This is the only place where a failure gets its [`RegistryErrorKind`]. The rules: 401 is
//! always `Unauthorized` and 403 `Forbidden` (never "not found", even when a registry hides a
//! private repository); 404 is `NotFound`; 429 `RateLimited`; 408, 5xx, connection failures and
//! timeouts `Transient`; 409/412 `Conflict`; other 4xx `InvalidInput`; anything that breaks the
//! protocol `InvalidResponse`. Messages name what was asked and never carry a secret: response
//! bodies are reduced to the registry's error codes and messages, cut short.

use tagcore::{RegistryError, RegistryErrorKind};

use crate::sanitize;

/// Returns the kind for an HTTP status that the caller did not expect.
pub(crate) fn kind_for_status(status: u16) -> RegistryErrorKind {
    match status {
        401 => RegistryErrorKind::Unauthorized,
        403 => RegistryErrorKind::Forbidden,
        404 => RegistryErrorKind::NotFound,
        429 => RegistryErrorKind::RateLimited,
        408 | 500..=599 => RegistryErrorKind::Transient,
        409 | 412 => RegistryErrorKind::Conflict,
        400..=499 => RegistryErrorKind::InvalidInput,
        _ => RegistryErrorKind::InvalidResponse,
    }
}

/// Returns whether a status is worth retrying (on an idempotent request).
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// Returns the error for an unexpected `status` while doing `what` (e.g. "GET manifest
/// docker.io/a/b:prod"), with a short summary of the registry's error body.
pub(crate) fn from_status(status: u16, what: &str, body: &[u8]) -> RegistryError {
    let kind = kind_for_status(status);
    let summary = summarize_body(body);
    let hint = match status {
        401 => " (credentials missing or refused)",
        403 => " (credentials lack permission)",
        _ => "",
    };
    let detail = if summary.is_empty() {
        String::new()
    } else {
        format!(": {summary}")
    };
    RegistryError::new(kind, format!("{what}: HTTP {status}{hint}{detail}"))
}

/// Returns the TLS refusal inside `err` (the peer's certificate failed verification), if any:
/// such a failure is permanent until the trust configuration changes, so it is not retried.
pub(crate) fn tls_refusal(err: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let text = e.to_string();
        if text.contains("invalid peer certificate") {
            return Some(text);
        }
        source = e.source();
    }
    None
}

/// Returns the error for a transport failure (connect, timeout, TLS, body) while doing `what`.
pub(crate) fn from_transport(err: reqwest::Error, what: &str) -> RegistryError {
    if let Some(tls) = tls_refusal(&err).map(|t| sanitize::foreign(&t)) {
        return RegistryError::new(
            RegistryErrorKind::InvalidResponse,
            format!(
                "{what}: the registry's TLS certificate is not trusted ({tls}); give its CA bundle (ca_file)"
            ),
        )
        .with_source(err.without_url());
    }
    let kind = if err.is_builder() {
        RegistryErrorKind::InvalidInput
    } else if err.is_decode() || err.is_redirect() {
        // A refused redirect (HTTPS → HTTP, or too many) will not go better on a retry.
        RegistryErrorKind::InvalidResponse
    } else {
        RegistryErrorKind::Transient
    };
    let reason = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "refused a redirect (HTTPS to plain HTTP, a secret body to another host, or more than 5)"
    } else if err.is_body() || err.is_decode() {
        "failed reading the response"
    } else {
        "request failed"
    };
    RegistryError::new(kind, format!("{what}: {reason}")).with_source(err.without_url())
}

/// Returns an `InvalidResponse` error naming `what` and the broken expectation.
pub(crate) fn invalid(what: &str, problem: impl std::fmt::Display) -> RegistryError {
    RegistryError::new(RegistryErrorKind::InvalidResponse, format!("{what}: {problem}"))
}

/// Returns an `InvalidInput` error naming `what`.
pub(crate) fn invalid_input(what: &str, problem: impl std::fmt::Display) -> RegistryError {
    RegistryError::new(RegistryErrorKind::InvalidInput, format!("{what}: {problem}"))
}

/// Returns a local I/O failure (OCI layout backend) as an error naming `what`.
pub(crate) fn from_io(err: std::io::Error, what: &str) -> RegistryError {
    let kind = match err.kind() {
        std::io::ErrorKind::NotFound => RegistryErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => RegistryErrorKind::Forbidden,
        _ => RegistryErrorKind::Transient,
    };
    RegistryError::new(kind, format!("{what}: {err}")).with_source(err)
}

/// Returns the registry's `{"errors":[{"code","message"}]}` as `CODE message; …`, at most 300
/// characters; other bodies are reduced to their first 120 characters; both neutralised
/// ([`sanitize::foreign`]).
fn summarize_body(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let from_json = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                    let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    format!("{code} {message}").trim().to_owned()
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
    // Every branch goes through the one neutraliser: no control character, no workflow
    // command, no echoed credential reaches a message.
    match from_json {
        Some(t) => sanitize::foreign(&t).chars().take(300).collect(),
        None => sanitize::foreign(&String::from_utf8_lossy(body))
            .chars()
            .take(120)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_are_never_not_found() {
        assert_eq!(kind_for_status(401), RegistryErrorKind::Unauthorized);
        assert_eq!(kind_for_status(403), RegistryErrorKind::Forbidden);
        assert_eq!(kind_for_status(404), RegistryErrorKind::NotFound);
        assert_eq!(kind_for_status(429), RegistryErrorKind::RateLimited);
        assert_eq!(kind_for_status(503), RegistryErrorKind::Transient);
        assert_eq!(kind_for_status(408), RegistryErrorKind::Transient);
        assert_eq!(kind_for_status(409), RegistryErrorKind::Conflict);
        assert_eq!(kind_for_status(400), RegistryErrorKind::InvalidInput);
        assert_eq!(kind_for_status(302), RegistryErrorKind::InvalidResponse);
    }

    #[test]
    fn messages_name_what_and_summarize_registry_errors() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        let e = from_status(404, "GET manifest 127.0.0.1:5000/a/b:prod", body);
        assert_eq!(
            e.to_string(),
            "not found: GET manifest 127.0.0.1:5000/a/b:prod: HTTP 404: MANIFEST_UNKNOWN manifest unknown"
        );
        let e = from_status(401, "HEAD manifest docker.io/a/b:prod", b"");
        assert_eq!(
            e.to_string(),
            "authentication failed: HEAD manifest docker.io/a/b:prod: HTTP 401 (credentials missing or refused)"
        );
    }

    #[test]
    fn registry_json_error_messages_are_neutralised_and_redacted() {
        let body = br#"{"errors":[{"code":"DENIED","message":"no\n::stop-commands::x\r\n::error::ok Authorization: Basic dTpwYXNz"}]}"#;
        let e = from_status(403, "PUT manifest r/a:prod", body);
        assert!(!e.message.contains('\n') && !e.message.contains('\r'), "{e}");
        assert!(!e.message.contains("dTpwYXNz"), "{e}");
        assert!(
            e.message
                .ends_with("DENIED no ::stop-commands::x  ::error::ok Authorization: Basic ***"),
            "{e}"
        );
    }
}
