//! The integrity layer over sled: checksummed records and a checksummed head.
//!
//! sled has been seen to read a damaged log as an older or empty database without an error,
//! so dbplan does not take what sled returns on trust:
//!
//! - every record is stored as `DBR2` + SHA-256(address, JSON) + JSON, so a damaged record or
//!   one filed under another address is noticed when it is read;
//! - the head (lineage, serial, number of records, digest of all records, fingerprint of the
//!   key) is stored checksummed inside sled, in the same transaction as the records, and
//!   mirrored in `head.json`, written atomically after every commit. A sled that comes back
//!   with fewer records, an older serial or another digest than the mirror is damaged.
//!
//! The digest is the XOR of the record hashes: it changes with any record added, removed or
//! altered, and updating it costs one XOR per change instead of hashing the whole state on
//! every write. (Record hashes bind their address, and addresses are unique, so no two records
//! can cancel out.)

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

const RECORD_MAGIC: &[u8; 4] = b"DBR2";
const HEAD_FORMAT: &str = "dbplan-state-head";
const HEAD_VERSION: u64 = 1;

/// The SHA-256 of one record, bound to its address.
pub fn record_hash(address: &str, json: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"dbplan-record-v2");
    hasher.update((address.len() as u64).to_le_bytes());
    hasher.update(address.as_bytes());
    hasher.update(json);
    hasher.finalize().into()
}

/// A record as sled stores it, and its hash.
pub fn encode_record(address: &str, json: &[u8]) -> (Vec<u8>, [u8; 32]) {
    let hash = record_hash(address, json);
    let mut bytes = Vec::with_capacity(RECORD_MAGIC.len() + hash.len() + json.len());
    bytes.extend_from_slice(RECORD_MAGIC);
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(json);
    (bytes, hash)
}

/// The JSON of a stored record and its hash, or what is wrong with it.
pub fn decode_record<'a>(address: &str, bytes: &'a [u8]) -> Result<(&'a [u8], [u8; 32]), String> {
    let rest = bytes
        .strip_prefix(RECORD_MAGIC.as_slice())
        .ok_or_else(|| format!("the record of {address} has no record header"))?;
    let (stored, json) = rest
        .split_at_checked(32)
        .ok_or_else(|| format!("the record of {address} is cut short"))?;
    let hash = record_hash(address, json);
    if stored != hash {
        return Err(format!("the record of {address} fails its checksum"));
    }
    Ok((json, hash))
}

/// The XOR of record hashes (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Adds a record's hash, or takes it out again (XOR is its own inverse).
    pub fn toggle(&mut self, hash: &[u8; 32]) {
        for (byte, other) in self.0.iter_mut().zip(hash) {
            *byte ^= other;
        }
    }

    pub fn render(&self) -> String {
        format!("xor-sha256:{}", hex::encode(self.0))
    }
}

/// What the head records of a state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub lineage: String,
    pub serial: u64,
    pub resources: u64,
    pub digest: String,
    /// The key's fingerprint ([`crate::StateKey::fingerprint`]).
    pub key: String,
}

fn checksum(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

impl Head {
    /// `{"format":"dbplan-state-head","version":1,"head":{…},"checksum":"sha256:…"}`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head = serde_json::json!({
            "lineage": self.lineage,
            "serial": self.serial,
            "resources": self.resources,
            "digest": self.digest,
            "key": self.key,
        });
        let envelope = serde_json::json!({
            "format": HEAD_FORMAT,
            "version": HEAD_VERSION,
            "head": head,
            "checksum": checksum(&head.to_string()),
        });
        let mut text = envelope.to_string();
        text.push('\n');
        text.into_bytes()
    }

    /// Reads a head back, or says what is wrong with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Head, String> {
        let envelope: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|error| format!("it is not JSON ({error})"))?;
        if envelope.get("format").and_then(serde_json::Value::as_str) != Some(HEAD_FORMAT) {
            return Err("it has no `format: dbplan-state-head`".to_owned());
        }
        match envelope.get("version").and_then(serde_json::Value::as_u64) {
            Some(HEAD_VERSION) => {}
            Some(other) => return Err(format!("head version {other} is unknown")),
            None => return Err("it has no version".to_owned()),
        }
        let head = envelope.get("head").ok_or("it has no head")?;
        if envelope.get("checksum").and_then(serde_json::Value::as_str)
            != Some(checksum(&head.to_string()).as_str())
        {
            return Err("it fails its checksum".to_owned());
        }
        serde_json::from_value(head.clone()).map_err(|error| format!("it is unreadable ({error})"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_record_fails_its_checksum_under_another_address_or_with_any_bit_flipped() {
        let (bytes, hash) = encode_record("A/a", br#"{"x":1}"#);
        assert_eq!(decode_record("A/a", &bytes).unwrap().1, hash);
        assert!(decode_record("A/b", &bytes).is_err());
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_record("A/a", &damaged).is_err(), "bit {bit}");
        }
        for length in 0..bytes.len() {
            assert!(decode_record("A/a", &bytes[..length]).is_err(), "{length}");
        }
    }

    #[test]
    fn a_head_round_trips_and_refuses_any_edit() {
        let head = Head {
            lineage: "l".into(),
            serial: 7,
            resources: 2,
            digest: Digest::default().render(),
            key: "sha256:k".into(),
        };
        let bytes = head.to_bytes();
        assert_eq!(Head::from_bytes(&bytes).unwrap(), head);
        let edited = String::from_utf8(bytes)
            .unwrap()
            .replace("\"serial\":7", "\"serial\":8");
        assert!(Head::from_bytes(edited.as_bytes()).is_err());
    }
}
