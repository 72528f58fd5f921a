//! SQL text built by hand where PostgreSQL takes no parameters (identifiers in DDL, a role's
//! password), with every identifier quoted.

use dbplan_core::ResourceAddress;
use dbplan_provider::ProviderError;

/// Quotes an identifier (`"name"`, with `"` doubled), refusing what no identifier may hold.
/// Validation already rejected hostile names; this is the second line of defence, so that no
/// value can ever end the quoted identifier and start a statement.
pub(crate) fn ident(address: &ResourceAddress, name: &str) -> Result<String, ProviderError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "{name:?} is not a PostgreSQL identifier (1 to 63 bytes, no NUL); fix the manifest"
            ),
            source: None,
        });
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A string literal (`'text'`, with `'` doubled; the server runs with
/// `standard_conforming_strings`, the default since 9.1, so backslashes are plain).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The role password as a SCRAM-SHA-256 verifier, computed here: the statement that sets it
/// carries no plaintext password, so the server's statement log never holds one.
pub(crate) fn password_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// Percent-encodes a URI component (user, password, database). Written by hand: eight lines
/// for the RFC 3986 unreserved set do not justify a dependency.
pub(crate) fn uri_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> ResourceAddress {
        "TenantDatabase/a/role".parse().unwrap()
    }

    #[test]
    fn identifiers_are_quoted_and_quotes_doubled() {
        assert_eq!(ident(&a(), "billing").ok().as_deref(), Some("\"billing\""));
        assert_eq!(
            ident(&a(), "x\"; DROP DATABASE postgres; --")
                .ok()
                .as_deref(),
            Some("\"x\"\"; DROP DATABASE postgres; --\"")
        );
        assert!(ident(&a(), &"a".repeat(64)).is_err());
        assert!(ident(&a(), "").is_err());
        assert!(ident(&a(), "a\0b").is_err());
    }

    #[test]
    fn literals_double_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn verifier_is_scram_and_hides_the_password() {
        let verifier = password_verifier("canary-password-123");
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!verifier.contains("canary-password-123"));
    }

    #[test]
    fn uri_components_are_encoded() {
        assert_eq!(uri_component("a b@c:d/e"), "a%20b%40c%3Ad%2Fe");
        assert_eq!(uri_component("billing_app"), "billing_app");
    }
}
