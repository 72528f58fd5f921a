//! The state's secret key: created with the state, kept only in it (and in its backups and
//! exports, which are the state too), never printed. Saved plans are authenticated with it
//! and secret fingerprints are keyed with it (HMAC-SHA-256), so a leaked plan file neither
//! can be edited unnoticed nor lets anyone test guesses of a password offline.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The prefix of every tag [`StateKey::mac`] makes.
pub const MAC_PREFIX: &str = "hmac-sha256:";

/// 32 random bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct StateKey([u8; 32]);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(…)")
    }
}

impl StateKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<StateKey, std::io::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|error| std::io::Error::other(format!("the random source failed: {error}")))?;
        Ok(StateKey(bytes))
    }

    /// A key from its 32 bytes; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<StateKey> {
        <[u8; 32]>::try_from(bytes).ok().map(StateKey)
    }

    /// The key's bytes, for storing it in the state (and nowhere else).
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `sha256:…` of the key: lets the state's head notice a damaged key without holding it.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"dbplan-state-key-v1");
        hasher.update(self.0);
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }

    /// `hmac-sha256:…` over `parts`, each prefixed with its length so that no two different
    /// lists of parts give the same input, under a `domain` that keeps uses apart (a plan file's
    /// tag can never stand for a secret's fingerprint).
    pub fn mac(&self, domain: &str, parts: &[&[u8]]) -> String {
        let mac = self.hmac(domain, parts);
        format!("{MAC_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether `tag` is [`StateKey::mac`] of `parts`, compared in constant time.
    pub fn verify(&self, domain: &str, parts: &[&[u8]], tag: &str) -> bool {
        let Some(hex) = tag.strip_prefix(MAC_PREFIX) else {
            return false;
        };
        let Some(bytes) = unhex(hex) else {
            return false;
        };
        self.hmac(domain, parts).verify_slice(&bytes).is_ok()
    }

    #[expect(
        clippy::expect_used,
        reason = "HMAC takes a key of any length, so a 32-byte key cannot be refused"
    )]
    fn hmac(&self, domain: &str, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC-SHA-256 accepts a 32-byte key");
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tags_verify_only_with_the_same_key_domain_and_parts() {
        let key = StateKey::generate().unwrap();
        let other = StateKey::generate().unwrap();
        let tag = key.mac("plan", &[b"body"]);
        assert!(tag.starts_with(MAC_PREFIX));
        assert!(key.verify("plan", &[b"body"], &tag));
        assert!(!other.verify("plan", &[b"body"], &tag));
        assert!(!key.verify("secret", &[b"body"], &tag));
        assert!(!key.verify("plan", &[b"bod", b"y"], &tag));
        assert!(!key.verify("plan", &[b"body"], "sha256:00"));
        assert!(!key.verify("plan", &[b"body"], "hmac-sha256:zz"));
        assert_eq!(format!("{key:?}"), "StateKey(…)");
        assert_ne!(key.fingerprint(), other.fingerprint());
    }
}
