//! Neutralises foreign text (registry, Hub and GitHub answers) before it is shown anywhere.
//!
//! Two dangers: a CI runner reads a line that starts with `::` (or the older `##[`) as a workflow
//! command (`::stop-commands::…` would hide every later `::error::`), and a page may echo the
//! request's credentials (a proxy reflecting `Authorization`). [`foreign`] makes a one-line,
//! redacted string of any foreign text; [`printable`] makes text about to be printed safe line
//! by line while keeping its own line breaks.

/// Returns `text` as one line with every control character (line breaks included) and every
/// bidirectional or line-separator character removed, credentials redacted (see [`redact`]),
/// and a leading workflow-command marker neutralised.
pub fn foreign(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !is_hidden(*c))
        .collect();
    neutralize_line(&redact(&flat))
}

/// Returns `text` with its line breaks kept, every other control or hidden character removed,
/// and each line that starts (after blanks) with `::` or `##[` neutralised, so that no line of it
/// is a workflow command.
pub fn printable(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split('\n')
        .map(|line| {
            let clean: String = line
                .chars()
                .map(|c| if c == '\t' || c == '\r' { ' ' } else { c })
                .filter(|c| !is_hidden(*c))
                .collect();
            neutralize_line(&clean)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Returns `text` with credentials replaced by `***`: the value after `Basic ` or `Bearer `
/// (any case), and anything shaped like a JWT (`eyJ…` with two dots).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let token = token68(word);
        if (hide_next || looks_like_jwt(token)) && !token.is_empty() {
            out.push_str(&word.replacen(token, "***", 1));
            hide_next = false;
            continue;
        }
        let lower = word
            .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_ascii_lowercase();
        hide_next = ends_with_word(&lower, "basic") || ends_with_word(&lower, "bearer");
        out.push_str(word);
    }
    out
}

/// Returns the first run of credential characters in `word` (RFC 7235 token68).
fn token68(word: &str) -> &str {
    let is_token =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=');
    let Some(start) = word.find(is_token) else {
        return "";
    };
    let rest = &word[start..];
    let end = rest.find(|c: char| !is_token(c)).unwrap_or(rest.len());
    &rest[..end]
}

/// Returns whether `word` is `scheme`, or ends with it after a non-alphanumeric character
/// (`"Authorization":"Basic`).
fn ends_with_word(word: &str, scheme: &str) -> bool {
    word.strip_suffix(scheme)
        .is_some_and(|head| head.chars().last().is_none_or(|c| !c.is_ascii_alphanumeric()))
}

fn looks_like_jwt(word: &str) -> bool {
    word.len() > 20
        && word.starts_with("eyJ")
        && word.matches('.').count() == 2
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'='))
}

/// Control characters, the Unicode line and paragraph separators, and bidirectional overrides
/// (which can make a line read differently than it is).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}')
}

fn neutralize_line(line: &str) -> String {
    let start = line.len() - line.trim_start().len();
    let (blank, rest) = line.split_at(start);
    if rest.starts_with("::") || rest.starts_with("##[") {
        // A space after the first character: still readable, never a command.
        let mut chars = rest.chars();
        let first = chars.next().map(String::from).unwrap_or_default();
        format!("{blank}{first} {}", chars.as_str())
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_text_becomes_one_inert_line() {
        assert_eq!(
            foreign("denied\n::stop-commands::x\r\n::error::fake\u{1b}[2K"),
            "denied ::stop-commands::x  ::error::fake[2K"
        );
        assert_eq!(foreign("::error::x"), ": :error::x");
        assert_eq!(foreign("  ##[error]x"), "  # #[error]x");
        assert_eq!(foreign("a\u{202E}b\u{2028}c"), "abc");
    }

    #[test]
    fn printable_keeps_lines_and_neutralizes_each() {
        assert_eq!(
            printable("ok: line\n::stop-commands::t\n  ::error::y\r\nend\u{7}"),
            "ok: line\n: :stop-commands::t\n  : :error::y\nend"
        );
    }

    #[test]
    fn credentials_are_redacted() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZw";
        assert_eq!(
            redact(&format!(
                "echo: Authorization: Basic dXNlcjpwYXNz and {jwt}, bearer abc.def"
            )),
            "echo: Authorization: Basic *** and ***, bearer ***"
        );
        assert_eq!(redact("Authorization:Bearer xyz"), "Authorization:Bearer ***");
        assert_eq!(
            redact(r#"{"Authorization":"Basic dXNlcjpwYXNz"}"#),
            r#"{"Authorization":"Basic ***"}"#
        );
        assert_eq!(redact("Unbasic word"), "Unbasic word");
        assert_eq!(redact("a basic idea"), "a basic ***");
        assert_eq!(redact("plain text"), "plain text");
    }
}
