//! Encryption at rest of a state's secrets, under a key from a passphrase or from AWS KMS.
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
//!
//! Instead of a passphrase, the key can be a data key of a [`KeyService`] (AWS KMS, which
//! this crate only knows through the trait: the CLI registers the implementation with
//! [`set_key_service`]). The header then records `kdf: "aws-kms"`, the KMS key's ARN and the
//! data key wrapped by KMS, bound to the state's lineage by the encryption context
//! ([`LINEAGE_CONTEXT`]); opening the state asks KMS to unwrap it.

use crate::{ResourceState, StateKey, StateValue};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

/// The variable that holds the passphrase of an encrypted state.
pub const PASSPHRASE_VARIABLE: &str = "DBPLAN_STATE_PASSPHRASE";
/// The variable that holds the new passphrase for `dbplan state rekey`.
pub const NEW_PASSPHRASE_VARIABLE: &str = "DBPLAN_STATE_NEW_PASSPHRASE";

/// The variable that names the AWS KMS key (id, ARN or alias) of `dbplan state encrypt`.
pub const KMS_KEY_VARIABLE: &str = "DBPLAN_STATE_KMS_KEY";
/// The variable that names the new AWS KMS key for `dbplan state rekey` and rotation.
pub const NEW_KMS_KEY_VARIABLE: &str = "DBPLAN_STATE_NEW_KMS_KEY";
/// The encryption context's entry that binds a wrapped data key to its state's lineage.
pub const LINEAGE_CONTEXT: &str = "dbplan-state-lineage";

/// PBKDF2 iterations for a new key.
pub const ITERATIONS: u32 = 600_000;
/// More than this is refused when read back: a damaged header must not hang the reader.
const MAX_ITERATIONS: u32 = 100_000_000;
const SALT_LEN: usize = 16;
const TAG: &str = "$dbplan-encrypted";
const VERSION: &str = "v1";
const ALGORITHM: &str = "aes-256-gcm";
const KDF: &str = "pbkdf2-hmac-sha256";
const KMS: &str = "aws-kms";
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

    /// Whether both are the same passphrase.
    pub(crate) fn same_as(&self, other: &Passphrase) -> bool {
        self.0 == other.0
    }

    /// The passphrase in the environment variable `variable`; `None` when it is unset or empty.
    pub fn from_env(variable: &str) -> Option<Passphrase> {
        use std::os::unix::ffi::OsStringExt as _;
        std::env::var_os(variable).and_then(|value| Passphrase::new(value.into_vec()))
    }
}

/// A 32-byte data key in the clear. `Debug` never shows it.
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A data key from its bytes; `None` for any other length than 32.
    pub fn from_bytes(bytes: &[u8]) -> Option<DataKey> {
        <[u8; 32]>::try_from(bytes).ok().map(DataKey)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// A data key a [`KeyService`] made: in the clear (used, never stored), wrapped (stored in the
/// state's header) and the ARN of the key that wraps it.
#[derive(Debug)]
pub struct GeneratedKey {
    pub plaintext: DataKey,
    pub wrapped: Vec<u8>,
    pub key_arn: String,
}

/// A key-wrapping service (AWS KMS): makes data keys wrapped under a named key and unwraps
/// them, each bound to an encryption context. Synchronous: an implementation over an async
/// client runs it where it may block. Errors are one readable sentence, never holding a key.
pub trait KeyService: Send + Sync {
    /// A new AES-256 data key under `key_id` (id, ARN or alias), bound to `context`.
    fn generate(&self, key_id: &str, context: &[(&str, &str)]) -> Result<GeneratedKey, String>;
    /// The data key `wrapped` under `key_arn`, bound to `context`.
    fn unwrap(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &[(&str, &str)],
    ) -> Result<DataKey, String>;
    /// The ARN of `key_id` (id, ARN or alias): whether a state is already under a key.
    fn key_arn(&self, key_id: &str) -> Result<String, String>;
}

/// The process's key service, registered once by the program (the CLI registers AWS KMS).
static KEY_SERVICE: RwLock<Option<Arc<dyn KeyService>>> = RwLock::new(None);

/// Registers (or, with `None`, removes) the key service every state of this process is
/// opened and encrypted with. A state whose key is wrapped by AWS KMS cannot be opened
/// without one.
pub fn set_key_service(service: Option<Arc<dyn KeyService>>) {
    let mut slot = KEY_SERVICE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = service;
}

/// The registered key service, if any.
pub(crate) fn key_service() -> Option<Arc<dyn KeyService>> {
    KEY_SERVICE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
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
    /// The key service is missing or refused (the state's key is wrapped by AWS KMS): a
    /// sentence that names the key and what to set.
    Service(String),
}

impl std::fmt::Display for CryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptError::Missing => write!(f, "no passphrase is set"),
            CryptError::Wrong => write!(f, "the passphrase is wrong"),
            CryptError::Damaged(what) => f.write_str(what),
            CryptError::Random => write!(f, "the random source failed"),
            CryptError::Service(what) => f.write_str(what),
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
    /// `pbkdf2-hmac-sha256` (a passphrase) or `aws-kms`.
    kdf: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    iterations: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    salt: String,
    /// `aws-kms`: the ARN of the KMS key that wraps the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kms_key: Option<String>,
    /// `aws-kms`: the data key wrapped by KMS (its `CiphertextBlob`), hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped_key: Option<String>,
    /// The AEAD of a fixed label: opens only under the right passphrase.
    check: Sealed,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Header {
    /// The AWS KMS key that wraps the state's data key; `None` for a passphrase.
    pub(crate) fn kms_key(&self) -> Option<&str> {
        (self.kdf == KMS)
            .then_some(self.kms_key.as_deref())
            .flatten()
    }
}

/// The key of an encrypted state, derived from its passphrase or unwrapped by KMS. `Debug`
/// never shows it.
#[derive(Clone)]
pub struct StateCipher {
    key: [u8; 32],
    header: Header,
    /// Opened with the new passphrase (`DBPLAN_STATE_NEW_PASSPHRASE`): the state was already
    /// moved to it.
    pub(crate) opened_with_new: bool,
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
                kms_key: None,
                wrapped_key: None,
                check: placeholder,
            },
            opened_with_new: false,
        };
        cipher.header.check = cipher.seal(&associated_data("check", &[]), CHECK_LABEL)?;
        Ok(cipher)
    }

    /// A new key from `service`: a data key under `key_id`, bound to `lineage`, recorded
    /// wrapped with the ARN of the key and the check value.
    pub(crate) fn create_kms(
        service: Option<&dyn KeyService>,
        key_id: &str,
        lineage: &str,
    ) -> Result<StateCipher, CryptError> {
        let service = service.ok_or_else(|| {
            CryptError::Service(format!(
                "this program cannot reach AWS KMS, so it cannot encrypt under {key_id}"
            ))
        })?;
        let generated = service
            .generate(key_id, &[(LINEAGE_CONTEXT, lineage)])
            .map_err(|why| {
                CryptError::Service(format!(
                    "AWS KMS did not make a data key under {key_id}: {why}"
                ))
            })?;
        let mut cipher = StateCipher {
            key: generated.plaintext.0,
            header: Header {
                algorithm: ALGORITHM.to_owned(),
                kdf: KMS.to_owned(),
                iterations: 0,
                salt: String::new(),
                kms_key: Some(generated.key_arn),
                wrapped_key: Some(hex::encode(&generated.wrapped)),
                check: Sealed {
                    version: VERSION.to_owned(),
                    nonce: String::new(),
                    ciphertext: String::new(),
                },
            },
            opened_with_new: false,
        };
        cipher.header.check = cipher.seal(&associated_data("check", &[]), CHECK_LABEL)?;
        Ok(cipher)
    }

    /// The key of a state whose header records an AWS KMS key: its data key unwrapped by
    /// `service`, bound to `lineage`, then checked.
    fn unlock_kms(
        header: &Header,
        service: Option<&dyn KeyService>,
        lineage: &str,
    ) -> Result<StateCipher, CryptError> {
        let (Some(arn), Some(wrapped)) = (&header.kms_key, &header.wrapped_key) else {
            return Err(CryptError::Damaged(
                "its AWS KMS encryption record lacks the key or the wrapped data key".to_owned(),
            ));
        };
        let wrapped = hex::decode(wrapped).map_err(|_| {
            CryptError::Damaged("its wrapped data key is not hexadecimal".to_owned())
        })?;
        let service = service.ok_or_else(|| {
            CryptError::Service(format!(
                "its key is wrapped by the AWS KMS key {arn}, and this program cannot reach AWS KMS"
            ))
        })?;
        let key = service
            .unwrap(arn, &wrapped, &[(LINEAGE_CONTEXT, lineage)])
            .map_err(|why| {
                CryptError::Service(format!(
                    "its key is wrapped by the AWS KMS key {arn}, which did not unwrap it: {why}"
                ))
            })?;
        let cipher = StateCipher {
            key: key.0,
            header: header.clone(),
            opened_with_new: false,
        };
        match cipher.open(&associated_data("check", &[]), &header.check) {
            Ok(label) if label == CHECK_LABEL => Ok(cipher),
            _ => Err(CryptError::Damaged(
                "its AWS KMS data key does not open the key check".to_owned(),
            )),
        }
    }

    /// The key of a state whose header is `header`, from its passphrase: [`CryptError::Missing`]
    /// without one, [`CryptError::Wrong`] when it does not open the check value.
    pub(crate) fn unlock(
        header: &Header,
        passphrase: Option<&Passphrase>,
    ) -> Result<StateCipher, CryptError> {
        if header.algorithm == ALGORITHM && header.kdf == KMS {
            return Err(CryptError::Service(
                "its key is wrapped by AWS KMS, and no key service was given".to_owned(),
            ));
        }
        if header.algorithm != ALGORITHM || header.kdf != KDF {
            return Err(CryptError::Damaged(format!(
                "its encryption is {} with {}, and this dbplan knows {ALGORITHM} with {KDF} or {KMS}",
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
            opened_with_new: false,
        };
        match cipher.open(&associated_data("check", &[]), &header.check) {
            Ok(label) if label == CHECK_LABEL => Ok(cipher),
            _ => Err(CryptError::Wrong),
        }
    }

    /// The key of a state whose header is `header`: unwrapped by `service` when AWS KMS wraps
    /// it (bound to `lineage`), else derived from `passphrase`, or from `new_passphrase` when
    /// the state was already moved to it (a rotation under way).
    pub(crate) fn unlock_any(
        header: &Header,
        passphrase: Option<&Passphrase>,
        new_passphrase: Option<&Passphrase>,
        service: Option<&dyn KeyService>,
        lineage: &str,
    ) -> Result<StateCipher, CryptError> {
        if header.algorithm == ALGORITHM && header.kdf == KMS {
            return Self::unlock_kms(header, service, lineage);
        }
        match (Self::unlock(header, passphrase), new_passphrase) {
            (Err(error @ (CryptError::Wrong | CryptError::Missing)), Some(new)) => {
                match Self::unlock(header, Some(new)) {
                    Ok(mut cipher) => {
                        cipher.opened_with_new = true;
                        Ok(cipher)
                    }
                    Err(_) => Err(error),
                }
            }
            (result, _) => result,
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

    /// A key service that "wraps" by XOR with a fixed byte and the context: enough to check
    /// what the state does with one.
    struct FakeKms;

    impl KeyService for FakeKms {
        fn generate(&self, key_id: &str, context: &[(&str, &str)]) -> Result<GeneratedKey, String> {
            let plain = [9u8; 32];
            Ok(GeneratedKey {
                plaintext: DataKey(plain),
                wrapped: self.wrap(&plain, context),
                key_arn: format!("arn:fake:kms:{key_id}"),
            })
        }
        fn unwrap(
            &self,
            _key_arn: &str,
            wrapped: &[u8],
            context: &[(&str, &str)],
        ) -> Result<DataKey, String> {
            DataKey::from_bytes(&self.wrap(wrapped, context)).ok_or_else(|| "bad".to_owned())
        }
        fn key_arn(&self, key_id: &str) -> Result<String, String> {
            Ok(format!("arn:fake:kms:{key_id}"))
        }
    }

    impl FakeKms {
        fn wrap(&self, bytes: &[u8], context: &[(&str, &str)]) -> Vec<u8> {
            let salt = context
                .iter()
                .map(|(_, value)| value.len() as u8)
                .sum::<u8>();
            bytes.iter().map(|byte| byte ^ 0x5a ^ salt).collect()
        }
    }

    #[test]
    fn a_kms_key_is_recorded_wrapped_and_opens_only_with_the_service_and_its_lineage() {
        let cipher = StateCipher::create_kms(Some(&FakeKms), "alias/state", "lineage-1").unwrap();
        let header = cipher.header().clone();
        assert_eq!(header.kms_key(), Some("arn:fake:kms:alias/state"));
        let text = serde_json::to_string(&header).unwrap();
        assert!(
            text.contains("\"kdf\":\"aws-kms\"") && !text.contains("iterations"),
            "{text}"
        );
        let plain = resource("TenantDatabase/billing/role");
        let sealed = cipher.seal_resource(&plain).unwrap();
        let opened =
            StateCipher::unlock_any(&header, None, None, Some(&FakeKms), "lineage-1").unwrap();
        assert_eq!(opened.open_resource(sealed).unwrap(), plain);
        // No service: a sentence naming the key.
        let Err(CryptError::Service(why)) =
            StateCipher::unlock_any(&header, None, None, None, "lineage-1")
        else {
            panic!("opened without a key service");
        };
        assert!(why.contains("arn:fake:kms:alias/state"), "{why}");
        // Another lineage unwraps to another key, which fails the check.
        assert!(StateCipher::unlock_any(&header, None, None, Some(&FakeKms), "other").is_err());
        // A passphrase header is opened by the new passphrase when the current one fails.
        let moved = StateCipher::create(&passphrase("new")).unwrap();
        let opened = StateCipher::unlock_any(
            moved.header(),
            Some(&passphrase("old")),
            Some(&passphrase("new")),
            None,
            "lineage-1",
        )
        .unwrap();
        assert!(opened.opened_with_new);
    }
}
