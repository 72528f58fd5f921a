//! Encryption at rest: a state's secrets and key never reach its files in plaintext once it is
//! encrypted; the passphrase is needed, and a wrong one is told apart; a plain state stays
//! plain; encrypt, decrypt and rekey rewrite the database and the backups.

// Test helpers fail loudly; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use dbplan_core::{Kind, ResourceAddress};
use dbplan_state::{
    EncryptionChange, Passphrase, ResourceState, SerialChoice, SledStore, StateError, StateStore,
    StateValue,
};
use std::path::{Path, PathBuf};

const SECRET: &str = "canary-7d2e-password";
const PASSPHRASE: &str = "correct horse battery staple";

fn passphrase(text: &str) -> Option<Passphrase> {
    Passphrase::new(text)
}

fn resource(name: &str, secret: &str) -> ResourceState {
    let mut resource =
        ResourceState::new(ResourceAddress::new(Kind::TenantDatabase, name).part("role"));
    resource
        .attributes
        .insert("owner".into(), StateValue::plain(format!("{name}_user")));
    resource
        .outputs
        .insert("password".into(), StateValue::sensitive(secret));
    resource
}

/// A plain state holding `SECRET` (and a second secret), closed (so it has a backup).
fn plain_state(directory: &Path) {
    let store = SledStore::open_with(directory, "test", None).unwrap();
    store.put(&resource("billing", SECRET)).unwrap();
    store
        .put(&resource("orders", "another-secret-value"))
        .unwrap();
    store.close().unwrap();
}

/// Turns encryption on for a plain state, with `PASSPHRASE`.
fn encrypt(directory: &Path) -> dbplan_state::Reencrypted {
    SledStore::change_encryption(
        directory,
        "test",
        None,
        EncryptionChange::Encrypt(passphrase(PASSPHRASE).unwrap()),
    )
    .unwrap()
}

/// The export of an encrypted state to a file (its values stay encrypted), as `state export
/// --out` writes it.
fn export_text(directory: &Path) -> String {
    let read = SledStore::read_with(directory, "test", passphrase(PASSPHRASE))
        .unwrap()
        .unwrap();
    dbplan_state::export::to_state_text(
        &read.snapshot,
        read.key.as_ref().unwrap(),
        read.cipher.as_ref(),
    )
    .unwrap()
}

/// The database's `format_version` (read with sled itself, the state closed).
fn format_of(directory: &Path) -> u64 {
    let db = sled::open(directory.join("db")).unwrap();
    let meta = db.open_tree("meta").unwrap();
    let bytes = meta.get("format_version").unwrap().unwrap();
    u64::from_be_bytes(<[u8; 8]>::try_from(bytes.as_ref()).unwrap())
}

/// The files among `files` that hold `needle`.
fn holding(files: &[PathBuf], needle: &[u8]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|file| {
            std::fs::read(file)
                .unwrap()
                .windows(needle.len())
                .any(|window| window == needle)
        })
        .cloned()
        .collect()
}

/// The state's key, as a plain full export shows it (base64).
fn exported_key(directory: &Path, passphrase: Option<Passphrase>) -> String {
    let read = SledStore::read_with(directory, "test", passphrase)
        .unwrap()
        .unwrap();
    let text = dbplan_state::export::to_text(&read.snapshot, read.key.as_ref()).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    document["state"]["key"].as_str().unwrap().to_owned()
}

#[test]
fn once_encrypted_no_file_of_the_state_nor_its_export_holds_a_secret_or_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    plain_state(&state);
    // The check below can see a secret: a plain state holds it in its database and backup.
    assert!(
        !holding(
            &dbplan_testkit::files_under(&state).unwrap(),
            SECRET.as_bytes()
        )
        .is_empty()
    );
    let key = exported_key(&state, None);
    let before = SledStore::read_with(&state, "test", None).unwrap().unwrap();

    let done = encrypt(&state);
    assert_eq!(done.serial, before.snapshot.serial + 1);
    assert!(done.backups_rewritten >= 1);
    assert!(done.backups_left.is_empty());
    assert!(done.kept_aside.is_empty(), "{:?}", done.kept_aside);
    // Format 3, so a dbplan without encryption refuses it as newer.
    assert_eq!(format_of(&state), 3);

    // Reading gives the plain values and the same key back.
    let after = SledStore::read_with(&state, "test", passphrase(PASSPHRASE))
        .unwrap()
        .unwrap();
    assert_eq!(after.snapshot.resources, before.snapshot.resources);
    assert_eq!(after.key, before.key);
    assert!(after.cipher.is_some());

    // Writes keep it encrypted.
    let store = SledStore::open_with(&state, "test", passphrase(PASSPHRASE)).unwrap();
    assert!(store.is_encrypted());
    store
        .put(&resource("payments", "third-secret-value"))
        .unwrap();
    store.close().unwrap();

    // An export to a file keeps the values encrypted, and imports with the passphrase.
    let read = SledStore::read_with(&state, "test", passphrase(PASSPHRASE))
        .unwrap()
        .unwrap();
    let text = export_text(&state);
    let export = dir.path().join("export.json");
    std::fs::write(&export, &text).unwrap();

    let mut files = dbplan_testkit::files_under(&state).unwrap();
    assert!(files.iter().any(|file| file.ends_with("head.json")));
    assert!(files.iter().any(|file| file.starts_with(state.join("db"))));
    assert!(
        files
            .iter()
            .any(|file| file.starts_with(state.join("backups")))
    );
    files.push(export.clone());
    let raw_key = base64::engine::general_purpose::STANDARD
        .decode(&key)
        .unwrap();
    for needle in [
        SECRET.as_bytes(),
        b"another-secret-value",
        b"third-secret-value",
        key.as_bytes(),
        raw_key.as_slice(),
        PASSPHRASE.as_bytes(),
    ] {
        let found = holding(&files, needle);
        assert!(
            found.is_empty(),
            "{} found in {found:?}",
            String::from_utf8_lossy(needle)
        );
    }

    // Version 2, so a dbplan without encryption refuses it as newer; a version 1 document
    // with an encryption header is refused.
    assert!(text.contains("\"version\": 2"), "{text}");
    let as_version_1 = text.replacen("\"version\": 2", "\"version\": 1", 1);
    let refused = dbplan_state::export::from_text(&as_version_1).unwrap_err();
    assert!(refused.contains("encryption header"), "{refused}");
    let exported = dbplan_state::export::from_text(&text).unwrap();
    assert!(exported.is_sealed());
    let elsewhere = dir.path().join("elsewhere");
    assert!(matches!(
        SledStore::replace_with(
            &elsewhere,
            "test",
            &exported,
            SerialChoice::Keep,
            false,
            None
        ),
        Err(StateError::PassphraseMissing { .. })
    ));
    SledStore::replace_with(
        &elsewhere,
        "test",
        &exported,
        SerialChoice::Keep,
        false,
        passphrase(PASSPHRASE),
    )
    .unwrap();
    let imported = SledStore::read_with(&elsewhere, "test", passphrase(PASSPHRASE))
        .unwrap()
        .unwrap();
    assert_eq!(imported.snapshot, read.snapshot);
    assert!(
        imported.cipher.is_some(),
        "an encrypted export stays encrypted"
    );
    assert!(
        holding(
            &dbplan_testkit::files_under(&elsewhere).unwrap(),
            SECRET.as_bytes()
        )
        .is_empty()
    );
}

#[test]
fn an_encrypted_state_needs_its_passphrase_and_a_wrong_one_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    plain_state(&state);
    encrypt(&state);

    let missing = SledStore::read_with(&state, "test", None).unwrap_err();
    assert!(
        matches!(missing, StateError::PassphraseMissing { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("set DBPLAN_STATE_PASSPHRASE"));
    let missing = SledStore::open_with(&state, "test", None).unwrap_err();
    assert!(matches!(missing, StateError::PassphraseMissing { .. }));

    let wrong = SledStore::read_with(&state, "test", passphrase("not it")).unwrap_err();
    assert!(
        matches!(wrong, StateError::WrongPassphrase { .. }),
        "{wrong}"
    );
    assert!(!wrong.to_string().contains("not it"));
    let wrong = SledStore::open_with(&state, "test", passphrase("not it")).unwrap_err();
    assert!(matches!(wrong, StateError::WrongPassphrase { .. }));

    // Nor can it be replaced (import, restore) without its passphrase, even by a plain export.
    let plain = dir.path().join("plain");
    plain_state(&plain);
    let read = SledStore::read_with(&plain, "test", None).unwrap().unwrap();
    let text = dbplan_state::export::to_text(&read.snapshot, read.key.as_ref()).unwrap();
    let exported = dbplan_state::export::from_text(&text).unwrap();
    let refused =
        SledStore::replace_with(&state, "test", &exported, SerialChoice::Keep, true, None)
            .unwrap_err();
    assert!(
        matches!(refused, StateError::PassphraseMissing { .. }),
        "{refused}"
    );

    // Turning it on twice is refused, and says what to use instead.
    let twice = SledStore::change_encryption(
        &state,
        "test",
        passphrase(PASSPHRASE),
        EncryptionChange::Encrypt(passphrase(PASSPHRASE).unwrap()),
    )
    .unwrap_err();
    assert!(twice.to_string().contains("rekey"), "{twice}");
}

#[test]
fn a_plain_state_stays_plain_across_writes_even_with_a_passphrase_set() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    plain_state(&state);
    let store = SledStore::open_with(&state, "test", passphrase(PASSPHRASE)).unwrap();
    assert!(!store.is_encrypted());
    store
        .put(&resource("payments", "third-secret-value"))
        .unwrap();
    store.close().unwrap();
    let read = SledStore::read_with(&state, "test", None).unwrap().unwrap();
    assert!(read.cipher.is_none());
    assert_eq!(read.snapshot.resources.len(), 3);
    let files = dbplan_testkit::files_under(&state).unwrap();
    assert!(!holding(&files, b"third-secret-value").is_empty());
    assert!(holding(&files, b"$dbplan-encrypted").is_empty());
    assert_eq!(format_of(&state), 2);
    // Decrypting a plain state is refused.
    let refused =
        SledStore::change_encryption(&state, "test", None, EncryptionChange::Decrypt).unwrap_err();
    assert!(refused.to_string().contains("not encrypted"), "{refused}");
}

#[test]
fn rekey_changes_the_passphrase_and_salt_and_decrypt_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    plain_state(&state);
    let before = SledStore::read_with(&state, "test", None).unwrap().unwrap();
    encrypt(&state);
    let salt = |state: &Path, passphrase: Option<Passphrase>| {
        let read = SledStore::read_with(state, "test", passphrase)
            .unwrap()
            .unwrap();
        let text = dbplan_state::export::to_state_text(
            &read.snapshot,
            read.key.as_ref().unwrap(),
            read.cipher.as_ref(),
        )
        .unwrap();
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        document["state"]["encryption"]["salt"].clone()
    };
    let first_salt = salt(&state, passphrase(PASSPHRASE));

    let rekeyed = SledStore::change_encryption(
        &state,
        "test",
        passphrase(PASSPHRASE),
        EncryptionChange::Rekey(passphrase("a new one").unwrap()),
    )
    .unwrap();
    assert!(
        rekeyed.backups_left.is_empty(),
        "{:?}",
        rekeyed.backups_left
    );
    assert!(matches!(
        SledStore::read_with(&state, "test", passphrase(PASSPHRASE)),
        Err(StateError::WrongPassphrase { .. })
    ));
    assert_ne!(salt(&state, passphrase("a new one")), first_salt);
    // Every backup is under the new key too.
    for backup in SledStore::backups(&state).unwrap() {
        let exported = dbplan_state::export::read_backup(&backup).unwrap();
        assert!(exported.is_sealed());
        assert!(
            SledStore::replace_with(
                &dir.path().join(format!("probe-{}", backup.serial)),
                "test",
                &exported,
                SerialChoice::Keep,
                false,
                passphrase("a new one"),
            )
            .is_ok(),
            "backup {} opens with the new passphrase",
            backup.serial
        );
    }

    SledStore::change_encryption(
        &state,
        "test",
        passphrase("a new one"),
        EncryptionChange::Decrypt,
    )
    .unwrap();
    let after = SledStore::read_with(&state, "test", None).unwrap().unwrap();
    assert!(after.cipher.is_none());
    assert_eq!(format_of(&state), 2);
    assert_eq!(after.snapshot.resources, before.snapshot.resources);
    assert_eq!(after.key, before.key);
    for backup in SledStore::backups(&state).unwrap() {
        assert!(
            !dbplan_state::export::read_backup(&backup)
                .unwrap()
                .is_encrypted()
        );
    }
}

#[test]
fn a_ciphertext_moved_to_another_resource_fails_to_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    plain_state(&state);
    encrypt(&state);
    let text = export_text(&state);
    // Swap the two passwords and checksum the document again, as someone editing it would.
    let mut document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let resources = &mut document["state"]["resources"];
    let billing = resources["TenantDatabase/billing/role"]["outputs"]["password"].take();
    let orders = resources["TenantDatabase/orders/role"]["outputs"]["password"].take();
    resources["TenantDatabase/billing/role"]["outputs"]["password"] = orders;
    resources["TenantDatabase/orders/role"]["outputs"]["password"] = billing;
    use sha2::Digest as _;
    let body = document["state"].to_string();
    document["checksum"] = format!("sha256:{}", hex::encode(sha2::Sha256::digest(body))).into();
    let exported = dbplan_state::export::from_text(&document.to_string()).unwrap();
    let error = SledStore::replace_with(
        &dir.path().join("elsewhere"),
        "test",
        &exported,
        SerialChoice::Keep,
        false,
        passphrase(PASSPHRASE),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("fails to decrypt"), "{error}");
}
