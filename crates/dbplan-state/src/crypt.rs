//! Encryption at rest of a state's secrets, with a passphrase.
//!
//! Off unless turned on (`dbplan state encrypt`). When on, every sensitive value
//! (`StateValue { sensitive: true }`) of a record's `attributes` and `outputs`, and the state's
//! key, are stored as a tagged object instead of the plain value:
//!
//! ```text
//! {"$dbplan-encrypted": "v1", "nonce": "<hex>", "ciphertext": "<hex>"}
//! ```
//!
//! AES-256-GCM with a random 96-bit nonce per value; the associated data binds a value to its
//! resource address, its map and its field name, so a ciphertext moved anywhere else fails to
//! decrypt. The key is PBKDF2-HMAC-SHA256 of the passphrase (`DBPLAN_STATE_PASSPHRASE`) over a
//! random 16-byte salt; the algorithm, the iterations, the salt and a check value (the AEAD of a
//! fixed label) are recorded in the state (the [`Header`]), so a wrong passphrase is told
//! apart from a damaged value. Values in memory (a `Snapshot`) are always plain: only what
//! reaches the disk is sealed, and the record checksums are over what is stored.

use crate::{ResourceState, StateKey, StateValue};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

/// The variable that holds the passphrase of an encrypted state.
pub const PASSPHRASE_VARIABLE: &str = "DBPLAN_STATE_PASSPHRASE";
/// The variable that holds the new passphrase for `dbplan state rekey`.
pub const NEW_PASSPHRASE_VARIABLE: &str = "DBPLAN_STATE_NEW_PASSPHRASE";

/// PBKDF2 iterations for a new key.
pub const ITERATIONS: u32 = 600_000;
/// More than this is refused when read back: a damaged header must not hang the reader.
const MAX_ITERATIONS: u32 = 100_000_000;
const SALT_LEN: usize = 16;
const TAG: &str = "$dbplan-encrypted";
const VERSION: &str = "v1";
const ALGORITHM: &str = "aes-256-gcm";
const KDF: &str = "pbkdf2-hmac-sha256";
const CHECK_LABEL: &[u8] = b"dbplan-state-passphrase-check";

/// A passphrase. `Debug` never shows it, and nothing prints it.
#[derive(Clone)]
pub struct Passphrase(Vec<u8>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl Passphrase {
    /// A passphrase from its text; `None` when it is empty.
    pub fn new(text: impl Into<Vec<u8>>) -> Option<Passphrase> {
        let bytes = text.into();
        (!bytes.is_empty()).then_some(Passphrase(bytes))
    }

    /// The passphrase in the environment variable `variable`; `None` when it is unset or empty.
    pub fn from_env(variable: &str) -> Option<Passphrase> {
        use std::os::unix::ffi::OsStringExt as _;
        std::env::var_os(variable).and_then(|value| Passphrase::new(value.into_vec()))
    }
}

/// Why a value, a key or a passphrase could not be sealed or opened. No variant holds a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CryptError {
    /// The state is encrypted and no passphrase was given.
    Missing,
    /// The passphrase does not open the check value.
    Wrong,
    /// A recorded header, tag or value that cannot be used (damage, or a newer dbplan).
    Damaged(String),
    /// The random source failed.
    Random,
}

impl std::fmt::Display for CryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptError::Missing => write!(f, "no passphrase is set"),
            CryptError::Wrong => write!(f, "the passphrase is wrong"),
            CryptError::Damaged(what) => f.write_str(what),
            CryptError::Random => write!(f, "the random source failed"),
        }
    }
}

/// One sealed value as stored: `{"$dbplan-encrypted": "v1", "nonce": …, "ciphertext": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sealed {
    #[serde(rename = "$dbplan-encrypted")]
    version: String,
    nonce: String,
    ciphertext: String,
}

impl Sealed {
    /// Whether `value` is a sealed value (by its tag; its fields are checked when opened).
    pub(crate) fn is_sealed(value: &serde_json::Value) -> bool {
        value.get(TAG).is_some()
    }
}

/// What the state records about its encryption (meta tree `encryption`, and exports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    algorithm: String,
    kdf: String,
    iterations: u32,
    salt: String,
    /// The AEAD of a fixed label: opens only under the right passphrase.
    check: Sealed,
}

/// The key of an encrypted state, derived from its passphrase. `Debug` never shows it.
#[derive(Clone)]
pub struct StateCipher {
    key: [u8; 32],
    header: Header,
}

impl std::fmt::Debug for StateCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCipher(…)")
    }
}

/// `domain` and `parts`, each prefixed with its length, so no two lists give the same bytes.
fn associated_data(domain: &str, parts: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for part in std::iter::once(domain).chain(parts.iter().copied()) {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

fn derive(passphrase: &Passphrase, salt: &[u8], iterations: NonZeroU32) -> [u8; 32] {
    let mut key = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        &passphrase.0,
        &mut key,
    );
    key
}

impl StateCipher {
    /// A new key for `passphrase`: a fresh salt, [`ITERATIONS`], and its check value.
    pub(crate) fn create(passphrase: &Passphrase) -> Result<StateCipher, CryptError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| CryptError::Random)?;
        let iterations = NonZeroU32::new(ITERATIONS).ok_or(CryptError::Random)?;
        let key = derive(passphrase, &salt, iterations);
        let placeholder = Sealed {
            version: VERSION.to_owned(),
            nonce: String::new(),
            ciphertext: String::new(),
        };
        let mut cipher = StateCipher {
            key,
            header: Header {
                algorithm: ALGORITHM.to_owned(),
                kdf: KDF.to_owned(),
                iterations: ITERATIONS,
                salt: hex::encode(salt),
                check: placeholder,
            },
        };
        cipher.header.check = cipher.seal(&associated_data("check", &[]), CHECK_LABEL)?;
        Ok(cipher)
    }

    /// The key of a state whose header is `header`, from its passphrase: [`CryptError::Missing`]
    /// without one, [`CryptError::Wrong`] when it does not open the check value.
    pub(crate) fn unlock(
        header: &Header,
        passphrase: Option<&Passphrase>,
    ) -> Result<StateCipher, CryptError> {
        if header.algorithm != ALGORITHM || header.kdf != KDF {
            return Err(CryptError::Damaged(format!(
                "its encryption is {} with {}, and this dbplan knows {ALGORITHM} with {KDF}",
                header.algorithm, header.kdf
            )));
        }
        let iterations = NonZeroU32::new(header.iterations)
            .filter(|count| count.get() <= MAX_ITERATIONS)
            .ok_or_else(|| {
                CryptError::Damaged(format!(
                    "its encryption records {} key derivation iterations",
                    header.iterations
                ))
            })?;
        let salt = hex::decode(&header.salt)
            .ok()
            .filter(|salt| salt.len() == SALT_LEN)
            .ok_or_else(|| CryptError::Damaged("its encryption salt is damaged".to_owned()))?;
        let passphrase = passphrase.ok_or(CryptError::Missing)?;
        let cipher = StateCipher {
            key: derive(passphrase, &salt, iterations),
            header: header.clone(),
        };
        match cipher.open(&associated_data("check", &[]), &header.check) {
            Ok(label) if label == CHECK_LABEL => Ok(cipher),
            _ => Err(CryptError::Wrong),
        }
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    fn aead_key(&self) -> Result<LessSafeKey, CryptError> {
        UnboundKey::new(&AES_256_GCM, &self.key)
            .map(LessSafeKey::new)
            .map_err(|_| CryptError::Damaged("the derived key is not an AES-256 key".to_owned()))
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, CryptError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptError::Random)?;
        let mut in_out = plaintext.to_vec();
        self.aead_key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| CryptError::Damaged("a value could not be encrypted".to_owned()))?;
        Ok(Sealed {
            version: VERSION.to_owned(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(in_out),
        })
    }

    /// The plaintext of `sealed`; any failure (another key, another place, a flipped bit) is
    /// `Damaged`, whose text the caller completes.
    fn open(&self, aad: &[u8], sealed: &Sealed) -> Result<Vec<u8>, CryptError> {
        let fails = || CryptError::Damaged("it fails to decrypt".to_owned());
        if sealed.version != VERSION {
            return Err(CryptError::Damaged(format!(
                "it is sealed in version {}, which this dbplan does not know",
                sealed.version
            )));
        }
        let nonce = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|bytes| <[u8; NONCE_LEN]>::try_from(bytes).ok())
            .ok_or_else(fails)?;
        let mut in_out = hex::decode(&sealed.ciphertext).map_err(|_| fails())?;
        let plain = self
            .aead_key()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| fails())?;
        Ok(plain.to_vec())
    }

    /// The state's key, sealed.
    pub(crate) fn seal_key(&self, key: &StateKey) -> Result<Sealed, CryptError> {
        self.seal(&associated_data("state-key", &[]), key.bytes())
    }

    /// The state's key from its sealed form.
    pub(crate) fn open_key(&self, sealed: &Sealed) -> Result<StateKey, CryptError> {
        let bytes = self
            .open(&associated_data("state-key", &[]), sealed)
            .map_err(|_| CryptError::Damaged("the state's key fails to decrypt".to_owned()))?;
        StateKey::from_bytes(&bytes)
            .ok_or_else(|| CryptError::Damaged("the state's key is not 32 bytes".to_owned()))
    }

    /// `resource` as stored: every sensitive value sealed, bound to its address, map and name.
    pub(crate) fn seal_resource(
        &self,
        resource: &ResourceState,
    ) -> Result<ResourceState, CryptError> {
        let address = resource.address.to_string();
        let seal = |map: &str, values: &BTreeMap<String, StateValue>| {
            values
                .iter()
                .map(|(name, value)| {
                    if !value.sensitive {
                        return Ok((name.clone(), value.clone()));
                    }
                    let plaintext = serde_json::to_vec(&value.value).map_err(|error| {
                        CryptError::Damaged(format!("a value cannot be encoded: {error}"))
                    })?;
                    let sealed = self.seal(
                        &associated_data("value", &[&address, map, name]),
                        &plaintext,
                    )?;
                    let stored = serde_json::to_value(sealed).map_err(|error| {
                        CryptError::Damaged(format!("a value cannot be encoded: {error}"))
                    })?;
                    Ok((name.clone(), StateValue::sensitive(stored)))
                })
                .collect::<Result<BTreeMap<_, _>, CryptError>>()
        };
        Ok(ResourceState {
            attributes: seal("attributes", &resource.attributes)?,
            outputs: seal("outputs", &resource.outputs)?,
            ..resource.clone()
        })
    }

    /// `resource` as read back, every sensitive value opened; an error names the value that
    /// is not sealed, or that fails to decrypt (damaged, or moved from another place).
    pub(crate) fn open_resource(&self, resource: ResourceState) -> Result<ResourceState, String> {
        let address = resource.address.to_string();
        let open = |map: &str, values: BTreeMap<String, StateValue>| {
            values
                .into_iter()
                .map(|(name, value)| {
                    if !value.sensitive {
                        return Ok((name, value));
                    }
                    let place = format!("the sensitive value {map}.{name} of {address}");
                    let sealed: Sealed = serde_json::from_value(value.value)
                        .map_err(|_| format!("{place} is not encrypted"))?;
                    let plaintext = self
                        .open(&associated_data("value", &[&address, map, &name]), &sealed)
                        .map_err(|error| format!("{place}: {error}"))?;
                    let plain: serde_json::Value = serde_json::from_slice(&plaintext)
                        .map_err(|_| format!("{place} decrypts to something that is not JSON"))?;
                    Ok((name, StateValue::sensitive(plain)))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
        };
        Ok(ResourceState {
            attributes: open("attributes", resource.attributes)?,
            outputs: open("outputs", resource.outputs)?,
            ..resource
        })
    }
}

/// Whether any sensitive value of `resource` is stored sealed (a plain state holds none).
pub(crate) fn has_sealed_value(resource: &ResourceState) -> bool {
    resource
        .attributes
        .values()
        .chain(resource.outputs.values())
        .any(|value| value.sensitive && Sealed::is_sealed(&value.value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dbplan_core::ResourceAddress;

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text).unwrap()
    }

    fn resource(address: &str) -> ResourceState {
        let mut resource = ResourceState::new(address.parse::<ResourceAddress>().unwrap());
        resource
            .outputs
            .insert("password".into(), StateValue::sensitive("hunter2-secret"));
        resource
            .outputs
            .insert("username".into(), StateValue::plain("app"));
        resource.attributes.insert(
            "token".into(),
            StateValue::sensitive(serde_json::json!({"a": [1, 2]})),
        );
        resource
    }

    #[test]
    fn values_round_trip_and_only_sensitive_ones_are_sealed() {
        let cipher = StateCipher::create(&passphrase("correct horse")).unwrap();
        let plain = resource("TenantDatabase/billing/role");
        let sealed = cipher.seal_resource(&plain).unwrap();
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("\"$dbplan-encrypted\":\"v1\""), "{text}");
        assert_eq!(sealed.outputs["username"], StateValue::plain("app"));
        assert!(has_sealed_value(&sealed));
        assert!(!has_sealed_value(&plain));
        assert_eq!(cipher.open_resource(sealed).unwrap(), plain);
        // A fresh nonce per value: sealing twice gives two ciphertexts.
        let again = cipher.seal_resource(&plain).unwrap();
        assert_ne!(
            again.outputs["password"],
            cipher.seal_resource(&plain).unwrap().outputs["password"]
        );
    }

    #[test]
    fn a_wrong_passphrase_is_told_apart_and_a_missing_one_too() {
        let cipher = StateCipher::create(&passphrase("right")).unwrap();
        let header = cipher.header().clone();
        assert!(StateCipher::unlock(&header, Some(&passphrase("right"))).is_ok());
        assert_eq!(
            StateCipher::unlock(&header, Some(&passphrase("wrong"))).unwrap_err(),
            CryptError::Wrong
        );
        assert_eq!(
            StateCipher::unlock(&header, None).unwrap_err(),
            CryptError::Missing
        );
        let text = serde_json::to_string(&header).unwrap();
        let mut edited: Header = serde_json::from_str(&text.replace(KDF, "scrypt")).unwrap();
        assert!(matches!(
            StateCipher::unlock(&edited, Some(&passphrase("right"))),
            Err(CryptError::Damaged(_))
        ));
        edited = header.clone();
        edited.iterations = 0;
        assert!(matches!(
            StateCipher::unlock(&edited, Some(&passphrase("right"))),
            Err(CryptError::Damaged(_))
        ));
    }

    #[test]
    fn a_tampered_or_moved_ciphertext_fails_to_decrypt() {
        let cipher = StateCipher::create(&passphrase("p")).unwrap();
        let plain = resource("TenantDatabase/billing/role");
        let sealed = cipher.seal_resource(&plain).unwrap();
        // A flipped bit.
        let mut tampered = sealed.clone();
        let mut value: Sealed =
            serde_json::from_value(tampered.outputs["password"].value.clone()).unwrap();
        let mut bytes = hex::decode(&value.ciphertext).unwrap();
        bytes[0] ^= 1;
        value.ciphertext = hex::encode(bytes);
        tampered.outputs.get_mut("password").unwrap().value = serde_json::to_value(value).unwrap();
        let error = cipher.open_resource(tampered).unwrap_err();
        assert!(error.contains("outputs.password"), "{error}");
        // Moved to another field of the same map.
        let mut moved = sealed.clone();
        let password = moved.outputs["password"].clone();
        moved.outputs.insert("other".into(), password.clone());
        assert!(cipher.open_resource(moved).is_err());
        // Moved to the other map under the same name.
        let mut moved = sealed.clone();
        moved.attributes.insert("password".into(), password.clone());
        assert!(cipher.open_resource(moved).is_err());
        // Moved to another address.
        let mut other = cipher
            .seal_resource(&resource("TenantDatabase/orders/role"))
            .unwrap();
        other.outputs.insert("password".into(), password);
        assert!(cipher.open_resource(other).is_err());
        // A plain value where a sealed one belongs.
        let error = cipher.open_resource(plain).unwrap_err();
        assert!(error.contains("is not encrypted"), "{error}");
        // Another key (same passphrase, another salt).
        let other_cipher = StateCipher::create(&passphrase("p")).unwrap();
        assert!(other_cipher.open_resource(sealed).is_err());
    }

    #[test]
    fn the_state_key_round_trips_and_nothing_secret_is_debug_printed() {
        let cipher = StateCipher::create(&passphrase("p")).unwrap();
        let key = StateKey::generate().unwrap();
        let sealed = cipher.seal_key(&key).unwrap();
        assert_eq!(cipher.open_key(&sealed).unwrap(), key);
        assert_eq!(format!("{cipher:?}"), "StateCipher(…)");
        assert_eq!(format!("{:?}", passphrase("p")), "Passphrase(…)");
        assert!(Passphrase::new("").is_none());
    }
}
